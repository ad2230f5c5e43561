"""Nothing outside `orchestrator.record` and `orchestrator.gitbus` reads a note entry's raw fields.

The typed view (`record.Entry`) is the one place that knows the JSON names of a
note entry; a `.fields[...]` or `.fields.get(...)` anywhere else would bring a
second spelling back. import-linter checks imports, not attribute reads, so this
test walks the syntax tree of every module that can see a note entry: the
packages above the bus. `kube`, `manifests` and the modules below them cannot
import the bus (the layers contract), so their own `fields` mean something else.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "orchestrator"

# Packages that may hold a note entry: everything above the bus except the record itself.
READERS = ("agent", "cli", "health", "promote", "report", "status", "web")
BELOW_THE_BUS = frozenset({"errors.py", "objectref.py"})
# Modules still reading raw fields, each with its reason. Keep this list empty.
ALLOWED: frozenset[str] = frozenset()


def _modules() -> list[Path]:
    found: list[Path] = []
    for package in READERS:
        found.extend(sorted((ROOT / package).rglob("*.py")))
    # The root modules above the bus (settings, wiring, ...); errors and objectref sit below it.
    found.extend(p for p in sorted(ROOT.glob("*.py")) if p.name not in BELOW_THE_BUS)
    return found


def raw_field_reads(source: str) -> list[int]:
    """Line numbers where `source` reads an attribute called `fields`."""
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr == "fields"
    )


def test_the_check_sees_a_raw_read() -> None:
    assert raw_field_reads("x = entry.fields.get('stage')\ny = e.fields['message']\n") == [1, 2]
    assert raw_field_reads("x = Entry.of(entry).stage\n") == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_raw_note_fields_outside_record(path: Path) -> None:
    name = path.relative_to(ROOT).as_posix()
    if name in ALLOWED:
        return
    lines = raw_field_reads(path.read_text())
    assert not lines, (
        f"orchestrator/{name} reads raw note fields at line(s) {lines}: "
        "use orchestrator.record.Entry (or add the question to orchestrator/record)"
    )


def test_every_allowed_module_exists() -> None:
    """An allowlist entry for a module that moved or was converted must go."""
    missing = sorted(name for name in ALLOWED if not (ROOT / name).exists())
    assert not missing, f"remove from ALLOWED: {missing}"
