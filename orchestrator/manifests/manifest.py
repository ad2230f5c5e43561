"""One object of a delivery, as loaded from Git and ready to apply."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from orchestrator.objectref import ObjectRef


def canonical_json(body: dict[str, Any]) -> bytes:
    """Sorted keys, compact separators, UTF-8: the same object always gives the same bytes."""
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest_of(body: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON; YAML formatting and key order do not change it."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """An object of the delivery after parameters and the default namespace were filled in.

    `body` is what gets applied; treat it as read-only, since `digest` (which
    the apply engine stores to skip unchanged objects) was computed from it.
    """

    ref: ObjectRef
    body: dict[str, Any] = field(hash=False, repr=False)
    path: str
    api_version: str
    digest: str

    @classmethod
    def of(cls, body: dict[str, Any], *, path: str) -> Manifest:
        """Derive ref, apiVersion and digest from a validated body."""
        return cls(
            ref=ObjectRef.of(body),
            body=body,
            path=path,
            api_version=str(body["apiVersion"]),
            digest=digest_of(body),
        )
