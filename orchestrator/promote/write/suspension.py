"""Suspend and resume an environment, recorded in Git so every replica and reader sees it.

The record is the branch `control/<env>` (docs/protocol.md, "Suspension"): one commit
per suspend or resume, so its log says who held the environment, when and why. While
the tip's tree holds `suspended.json`, the environment is suspended: its agent
applies nothing and promotes nothing, whichever replica leads. Resuming removes
the file. Writing the state that is already there changes nothing (the tree is the
same, so the compare-and-swap push is a no-op); concurrent writers rebuild on the
tip they lose to, like every other write on the bus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import UnsafePath
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo, PushResult
from orchestrator.gitbus.signing import Signer

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class Suspension:
    """An environment held by an operator: who, since when, why, and the commit saying so."""

    environment: str
    by: str
    at: str
    reason: str
    commit: str

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "by": self.by,
            "at": self.at,
            "reason": self.reason,
            "commit": self.commit,
        }

    def describe(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"{self.environment} is suspended by {self.by} since {self.at}{why}"


def suspension_at(repo: CacheRepo, tip: str | None, *, environment: str) -> Suspension | None:
    """What the control branch's tip `tip` says (already in the cache); None: not suspended."""
    if tip is None:
        return None
    try:
        raw = repo.read_files(tip).get(protocol.SUSPENDED_FILE)
    except UnsafePath:
        raw = b"{}"  # a link or a submodule where the record should be: still a hold
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    info = repo.commit_info(tip)
    return Suspension(
        environment=environment,
        by=str(record.get("by") or f"{info.author.name} <{info.author.email}>"),
        at=str(record.get("at") or protocol.utc_timestamp(info.author.when)),
        reason=str(record.get("reason") or ""),
        commit=tip,
    )


def read_suspension(repo: CacheRepo, *, environment: str) -> Suspension | None:
    """Fetch the control branch and say whether `environment` is suspended."""
    tip = repo.refresh(protocol.control_ref(environment))
    return suspension_at(repo, tip, environment=environment)


def set_suspended(
    repo: CacheRepo,
    *,
    environment: str,
    suspend: bool,
    author: Identity,
    reason: str = "",
    signer: Signer | None = None,
) -> PushResult:
    """Suspend (or resume) `environment`: a compare-and-swap commit on `control/<env>`."""
    ref = protocol.control_ref(environment)
    reason = " ".join(reason.split())[:MAX_REASON]
    by = f"{author.name} <{author.email}>"

    def rebuild(tip: str | None) -> str | None:
        held = suspension_at(repo, tip, environment=environment) is not None
        if held == suspend:
            return tip  # already in that state: nothing to write
        record = {"by": by, "at": protocol.utc_timestamp(), "reason": reason}
        content = (json.dumps(record, indent=2) + "\n").encode() if suspend else None
        verb = "Suspend" if suspend else "Resume"
        return repo.create_commit(
            parent=tip,
            subject=f"{verb} {environment}",
            body=reason,
            trailers=[(protocol.SUSPENDED, "true" if suspend else "false")],
            author=author,
            changes={protocol.SUSPENDED_FILE: content},
            signer=signer,
        )

    return repo.push_with_retry(ref=ref, rebuild=rebuild)
