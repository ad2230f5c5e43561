"""Children that get SIGINT the way a terminal's Ctrl-C delivers it.

A shell starts background jobs with SIGINT ignored, and children inherit that:
a test suite launched that way (`make test &`, some CI runners) would see a
Ctrl-C test hang instead of fail or pass. Tests that send SIGINT start their
child with the default disposition, as an interactive shell would.
"""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """A `preexec_fn`: SIGINT back to its default before the child starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
