"""Parsed files by content, so a new revision re-parses only the files it changed.

The agent loads the whole delivery again for every new revision, and most
revisions change a handful of files. A file's parse depends only on its bytes,
its format, the limits and the loader, so those are the key (the content hash
is what Git's blob id is, without the header). What is kept is the documents
in `marshal` form, which copies them back in C (later stages may change what
they get), compressed with zlib at its fastest level (a third of the memory
for the benchmark's ConfigMaps, for about 4 microseconds a file on a hit),
and what parsing charged the budget, which a hit charges again: a hit leaves
the budget exactly as a parse would. Only files that parsed are
kept; a file with an error is parsed (and reported) every time.

The cache is bounded by the bytes it holds and drops the least recently used
files first.
"""

from __future__ import annotations

import hashlib
import marshal
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from orchestrator.manifests.limits import Budget, MiB

CAPACITY_BYTES = 32 * MiB


@dataclass(frozen=True, slots=True)
class _Entry:
    documents: bytes
    nodes: int
    chars: int
    aliases: int


class ParseCache:
    """A bounded least-recently-used map from a file's parse key to its parsed documents."""

    def __init__(self, *, capacity_bytes: int = CAPACITY_BYTES) -> None:
        self.capacity_bytes = capacity_bytes
        self._entries: OrderedDict[tuple[Hashable, ...], _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def parse(
        self,
        data: bytes,
        *,
        kind: Hashable,
        budget: Budget,
        parse: Callable[[], list[Any]],
    ) -> list[Any]:
        """`parse()`'s documents for `data`, from the cache when the same file parsed before."""
        key = (hashlib.sha1(data, usedforsecurity=False).digest(), len(data), kind, budget.limits)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if entry is not None:
            budget.aliases += entry.aliases
            budget.spend(nodes=entry.nodes, chars=entry.chars)
            # Only bytes this process wrote with marshal.dumps are ever read back.
            documents: list[Any] = marshal.loads(zlib.decompress(entry.documents))  # noqa: S302
            return documents
        nodes, chars, aliases = budget.nodes, budget.chars, budget.aliases
        documents = parse()
        entry = _Entry(
            documents=zlib.compress(marshal.dumps(documents), 1),
            nodes=budget.nodes - nodes,
            chars=budget.chars - chars,
            aliases=budget.aliases - aliases,
        )
        self._keep(key, entry)
        return documents

    def _keep(self, key: tuple[Hashable, ...], entry: _Entry) -> None:
        size = len(entry.documents)
        with self._lock:
            self.misses += 1
            if size > self.capacity_bytes or key in self._entries:
                return
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.capacity_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.documents)

    def clear(self) -> None:
        """Forget every file (benchmarks measure a cold load this way)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes
