"""How much one delivery may cost the agent before it refuses to read on.

The repository is written by people and build systems the agent does not
control, so every resource a file can make the loader spend has a ceiling, and
crossing one is a `ManifestLimitExceeded` that names the file and the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from orchestrator.errors import ManifestLimitExceeded

MiB = 1024 * 1024

# The YAML composer is recursive (three Python frames per nesting level) and
# Python stops at 1,000 frames; 200 levels keeps a safe margin below that.
DEPTH_CEILING = 200


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Ceilings for loading one delivery; the defaults fit real deliveries with room to spare.

    max_file_bytes (4 MiB): etcd keeps an object to about 1.5 MiB, and a file
        may bundle several large ones (CRD bundles of operators run to 1-2 MiB).
        4 MiB admits those while bounding what one file makes the parser build.
        Scalar text that aliases or parameters expand to counts against it too,
        so a file can never *say* more than 4 MiB of text.
    max_documents (1,000 per file): generated bundles (`helm template`, operator
        installs) hold tens to a few hundred documents; a thousand leaves room
        and stops a stream of empty `---` documents early.
    max_objects (10,000 per delivery, after `kind: List` expansion): each object
        is one server-side apply request and one inventory entry; at the
        client's rate limits 10,000 objects already take minutes, and a
        delivery that large should be split.
    max_nodes (1,000,000 per file): YAML nodes a full walk of the file would
        visit, an alias counting the whole subtree it stands for each time it
        is used. Ordinary manifests take 7-10 bytes a node, so a 4 MiB file
        holds about half a million; a "billion laughs" file crosses the line
        after about fifty alias events, long before anything is expanded.
    max_aliases (1,000 per file): kubectl and generators never write aliases,
        hand-written files use a handful for shared labels; more is a sign of
        an attack, and the error then names the cause.
    max_depth (100 levels): objects nest 10-20 levels; CRD schemas are the
        deepest (two levels per nested field) and stay well under 100. The
        composer recurses per level, so this also keeps the stack bounded
        (at most DEPTH_CEILING).
    """

    max_file_bytes: int = 4 * MiB
    max_documents: int = 1_000
    max_objects: int = 10_000
    max_nodes: int = 1_000_000
    max_aliases: int = 1_000
    max_depth: int = 100

    def __post_init__(self) -> None:
        for name in (
            "max_file_bytes",
            "max_documents",
            "max_objects",
            "max_nodes",
            "max_aliases",
            "max_depth",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
        if self.max_depth > DEPTH_CEILING:
            raise ValueError(f"Limits.max_depth must be at most {DEPTH_CEILING}")


class Budget:
    """What one file may still spend; parsing and parameter substitution share it.

    Sharing is the point: parameters filled into a file must not let it grow
    past what the file could have said directly.
    """

    def __init__(self, limits: Limits, *, path: str) -> None:
        self.limits = limits
        self.path = path
        self.nodes = 0
        self.chars = 0
        self.aliases = 0

    def spend(self, *, nodes: int = 0, chars: int = 0, line: int | None = None) -> None:
        """Count nodes and scalar characters; raise as soon as either ceiling is crossed.

        Called for every node of every file, so the common path is two additions and a test.
        """
        self.nodes += nodes
        self.chars += chars
        if self.nodes > self.limits.max_nodes or self.chars > self.limits.max_file_bytes:
            self._overspent(line)

    def _overspent(self, line: int | None) -> NoReturn:
        if self.nodes > self.limits.max_nodes:
            self.fail(
                f"expands to more than {self.limits.max_nodes:,} nodes "
                "(an alias counts everything it stands for, each time it is used)",
                line=line,
            )
        self.fail(
            f"expands to more than {self.limits.max_file_bytes:,} characters of text "
            "(through aliases or parameters)",
            line=line,
        )

    def alias(self, *, line: int | None = None) -> None:
        """Count one alias reference."""
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            self.fail(f"uses more than {self.limits.max_aliases:,} aliases", line=line)

    def fail(self, message: str, *, line: int | None = None) -> NoReturn:
        """Raise the limit error for this file (at `line`, when known)."""
        where = f"line {line}: " if line is not None else ""
        raise ManifestLimitExceeded(f"{where}{message}", path=self.path)
