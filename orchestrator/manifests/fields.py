"""Field paths inside an object, written the way people read them (`spec.ports[0].name`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def field_path(trail: Iterable[str | int]) -> str:
    """Join mapping keys and list indexes; keys with dots or slashes are bracketed."""
    out: list[str] = []
    for step in trail:
        if isinstance(step, int):
            out.append(f"[{step}]")
        elif _PLAIN_KEY.fullmatch(step):
            out.append(f".{step}" if out else step)
        else:
            out.append(f"[{step!r}]")
    return "".join(out) or "(top level)"
