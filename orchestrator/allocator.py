"""The C allocator's settings for the agent: a long-running process with many threads.

glibc gives threads their own malloc arenas (up to eight per core) and keeps
each arena's freed memory for its next allocations. The agent starts a thread
per job and pools of eight for dry runs, applies and live listings, so a
reconcile's short-lived buffers (API responses, their decoded JSON) spread
over a dozen arenas, each holding on to its share. With two arenas the same
work reuses the same memory: 7 MB less resident memory with 5,000 objects
(docs/benchmarks.md). Threads seldom wait for an arena, since the GIL already
keeps most of Python's allocations from running in parallel.

Other C libraries (musl, macOS) have no `mallopt`; there nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

# From glibc's <malloc.h>.
_M_ARENA_MAX = -8
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; call before the process starts threads.

    Returns whether the cap was set: not when the operator set MALLOC_ARENA_MAX
    (theirs stands), nor on a C library without mallopt.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_ARENA_MAX, arenas))
    log.debug("malloc arenas capped at %d: %s", arenas, done)
    return done
