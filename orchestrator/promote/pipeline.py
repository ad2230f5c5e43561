"""The whole pipeline as plain data, read from Git alone: `orchestrator status` and the page.

Everything agents say is on the bus (branches, trailers, notes), so anyone with a
clone can see every environment without cluster access. One poll brings the cache
up to date (environment branches, candidate branches, every environment's notes
ref); everything after that is local object reads, bounded per environment, so a
page that polls every few seconds costs one ref listing when nothing moved.

`PipelineView.to_json()` is the stable, documented shape (`docs/status.md`) that
both the CLI's `-o json` and the page's `/api/pipeline` serve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from orchestrator.errors import GitError, PolicyError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import NoteDocument, NoteEntry
from orchestrator.gitbus.repo import CacheRepo, CommitInfo
from orchestrator.gitbus.trailers import DELIVERY, DeliveryTrailers
from orchestrator.promote.policy import POLICY_PATH, Policy, parse_policy
from orchestrator.promote.source import (
    delivered_trailers,
    is_ancestor_or_unknown,
    parse_delivery_trailers,
)
from orchestrator.promote.suspension import Suspension, suspension_at

__all__ = [
    "SCHEMA",
    "CandidateView",
    "DeliveryView",
    "EnvironmentView",
    "Origin",
    "PipelineView",
    "PromotionLink",
    "Status",
    "read_pipeline",
    "status_of",
]

SCHEMA = "orchestrator.pipeline/v1"
DEFAULT_HISTORY = 10
# Refs one poll mirrors: every single-component branch (environments), every
# candidate branch, every environment's notes. Branches with other shapes
# (feature/x, release/1.2) are not protocol refs and are never fetched.
WATCH = (
    protocol.BRANCH_PREFIX + "*",
    f"{protocol.BRANCH_PREFIX}{protocol.CANDIDATE_PREFIX}/*/*",
    protocol.NOTES_GLOB,
    protocol.CONTROL_GLOB,
)
# How far into a merge's second-parent side to look for the Delivery trailer.
_SHORT = 7
_POLICY = PurePosixPath(POLICY_PATH)

JSON = dict[str, Any]


class Status:
    """The colour of a phase: one word the table and the page agree on."""

    HEALTHY = "healthy"
    PROGRESSING = "progressing"
    FAILED = "failed"
    UNKNOWN = "unknown"


# Agent phases (agent/record.py) and the lower-case words of docs/protocol.md.
_STATUS_OF_PHASE = {
    "healthy": Status.HEALTHY,
    "promoted": Status.HEALTHY,
    "driftcorrected": Status.HEALTHY,
    "superseded": Status.HEALTHY,  # settled by a newer revision that contains it
    "verified": Status.HEALTHY,
    "waiting": Status.PROGRESSING,
    "progressing": Status.PROGRESSING,
    "received": Status.PROGRESSING,
    "applied": Status.PROGRESSING,
    "failed": Status.FAILED,
    "rolledback": Status.FAILED,
    "unhealthy": Status.FAILED,
}


def status_of(phase: str | None) -> str:
    """Colour word of a phase; no note yet means the agent has still to act."""
    if phase is None:
        return Status.PROGRESSING
    return _STATUS_OF_PHASE.get(phase.lower(), Status.UNKNOWN)


# --- the read model ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Origin:
    """Where promoted content was verified: the Promoted-From trailer."""

    environment: str
    revision: str

    def to_json(self) -> JSON:
        return {"environment": self.environment, "revision": self.revision}


@dataclass(frozen=True, slots=True)
class PromotionLink:
    """A promotion a delivery produced, and whether it has landed on the target.

    `state` is `delivered` (the target branch holds it; `landed` is the target's
    revision when it is in view), `waiting` (a candidate branch awaits a merge) or
    `unknown` (the branch is gone, or older than the history read).
    """

    target: str
    ref: str
    commit: str | None
    pushed: bool
    state: str = "unknown"
    landed: str | None = None

    def to_json(self) -> JSON:
        return {
            "target": self.target,
            "ref": self.ref,
            "commit": self.commit,
            "pushed": self.pushed,
            "state": self.state,
            "landed": self.landed,
        }


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One revision of an environment branch and what its agent last said about it."""

    environment: str
    revision: str
    delivery: str
    subject: str
    current: bool
    committed_at: str
    age_seconds: int
    phase: str | None = None
    stage: str | None = None
    message: str | None = None
    health: str | None = None
    gate: str | None = None
    agent: str | None = None
    started: str | None = None
    updated_at: str | None = None
    entries: int = 0
    source_commit: str | None = None
    promoted_from: Origin | None = None
    promotions: tuple[PromotionLink, ...] = ()
    verified_on: str | None = None  # the newer revision whose verdict covers this one
    conflicts: tuple[str, ...] = ()  # paths its change conflicts on in a target
    carries: tuple[str, ...] = ()  # every delivery it names (a snapshot names several)

    @property
    def status(self) -> str:
        return status_of(self.phase)

    def names(self, feature: str) -> bool:
        """True if this revision delivers `feature` (itself, or in a snapshot)."""
        return feature == self.delivery or feature in self.carries

    def to_json(self) -> JSON:
        return {
            "environment": self.environment,
            "revision": self.revision,
            "short": self.revision[:_SHORT],
            "delivery": self.delivery,
            "subject": self.subject,
            "current": self.current,
            "phase": self.phase,
            "status": self.status,
            "stage": self.stage,
            "message": self.message,
            "health": self.health,
            "gate": self.gate,
            "agent": self.agent,
            "started": self.started,
            "updated_at": self.updated_at,
            "committed_at": self.committed_at,
            "age_seconds": self.age_seconds,
            "entries": self.entries,
            "source_commit": self.source_commit,
            "promoted_from": self.promoted_from.to_json() if self.promoted_from else None,
            "promotions": [p.to_json() for p in self.promotions],
            "verified_on": self.verified_on,
            "conflicts": list(self.conflicts),
            "carries": list(self.carries),
        }


@dataclass(frozen=True, slots=True)
class CandidateView:
    """A `pr/<env>/<feature>` branch whose tip the environment has not merged yet."""

    environment: str
    delivery: str
    ref: str
    revision: str
    subject: str
    committed_at: str
    age_seconds: int
    source_commit: str | None = None
    promoted_from: Origin | None = None

    def to_json(self) -> JSON:
        return {
            "environment": self.environment,
            "delivery": self.delivery,
            "ref": self.ref,
            "revision": self.revision,
            "short": self.revision[:_SHORT],
            "subject": self.subject,
            "committed_at": self.committed_at,
            "age_seconds": self.age_seconds,
            "source_commit": self.source_commit,
            "promoted_from": self.promoted_from.to_json() if self.promoted_from else None,
        }


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    """One environment: its branch tip first, then older revisions with notes."""

    name: str
    branch: str
    tip: str | None
    promotes_to: tuple[str, ...] = ()
    deliveries: tuple[DeliveryView, ...] = ()
    candidates: tuple[CandidateView, ...] = ()
    suspended: Suspension | None = None

    @property
    def current(self) -> DeliveryView | None:
        first = self.deliveries[0] if self.deliveries else None
        return first if first is not None and first.current else None

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "branch": self.branch,
            "tip": self.tip,
            "promotes_to": list(self.promotes_to),
            "deliveries": [d.to_json() for d in self.deliveries],
            "candidates": [c.to_json() for c in self.candidates],
            "suspended": self.suspended.to_json() if self.suspended else None,
        }


@dataclass(frozen=True, slots=True)
class PipelineView:
    """Every environment in promotion order, as one remote said at `generated_at`."""

    remote: str
    generated_at: str
    order: str
    environments: tuple[EnvironmentView, ...]
    warnings: tuple[str, ...] = ()

    def environment(self, name: str) -> EnvironmentView:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def to_json(self) -> JSON:
        return {
            "schema": SCHEMA,
            "remote": self.remote,
            "generated_at": self.generated_at,
            "order": self.order,
            "warnings": list(self.warnings),
            "environments": [e.to_json() for e in self.environments],
        }


# --- reading -----------------------------------------------------------------------


def read_pipeline(
    repo: CacheRepo,
    *,
    environments: Sequence[str] | None = None,
    history: int = DEFAULT_HISTORY,
    now: datetime | None = None,
) -> PipelineView:
    """Poll the remote once and build the view from the cache; no cluster involved.

    Without `environments`, every branch named like an environment that has a
    notes ref or a policy file is one, ordered along the policies' promotion
    chain (alphabetically when no policy can be read). `history` bounds the
    first-parent commits read per environment.
    """
    wanted = [protocol.check_env(e) for e in environments] if environments is not None else None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    tips = dict(repo.poll(WATCH).tips)
    reader = _Reader(repo=repo, tips=tips, now=moment, history=max(1, history))
    problems: dict[str, str] = {}
    policies = reader.policies(problems)
    names = wanted if wanted is not None else reader.discover(policies)
    warnings = [f"{name}: {problems[name]}" for name in names if name in problems]
    edges = _edges(names, policies)
    if wanted is not None:
        order = "given"
    else:
        names, order = _promotion_order(names, edges, warnings)
    for name in names:
        if protocol.env_branch(name) not in tips:
            warnings.append(f"{name}: no branch {protocol.env_branch(name)} on the remote")
    views = [reader.environment(name, promotes_to=edges.get(name, ())) for name in names]
    views = _link_promotions(repo, views, tips)
    return PipelineView(
        remote=repo.remote,
        generated_at=protocol.utc_timestamp(moment),
        order=order,
        environments=tuple(views),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, slots=True)
class _Reader:
    repo: CacheRepo
    tips: Mapping[str, str]
    now: datetime
    history: int

    def env_names(self) -> list[str]:
        names = []
        for ref in self.tips:
            parsed = protocol.parse_branch(ref)
            if parsed is not None and parsed[1] is None:
                names.append(parsed[0])
        return sorted(names)

    def policies(self, problems: dict[str, str]) -> dict[str, Policy | None]:
        """Each environment branch's own policy file, if it has one (None: it is broken)."""
        found: dict[str, Policy | None] = {}
        for name in self.env_names():
            tip = self.tips[protocol.env_branch(name)]
            try:
                files = self.repo.read_files(tip, directory=str(_POLICY.parent))
            except GitError as exc:
                problems[name] = f"cannot read {POLICY_PATH}: {exc}"
                continue
            data = files.get(_POLICY.name)
            if data is None:
                continue
            try:
                found[name] = parse_policy(data)
            except PolicyError as exc:
                # Present but broken still marks an environment; it just adds no order.
                found[name] = None
                first = str(exc).partition("\n")[0]
                problems[name] = f"policy ignored for ordering: {first}"
        return found

    def discover(self, policies: Mapping[str, Policy | None]) -> list[str]:
        """Branches an agent writes notes for, or that carry a policy (readable or not)."""
        return [
            name
            for name in self.env_names()
            if protocol.notes_ref(name) in self.tips or name in policies
        ]

    def environment(self, name: str, *, promotes_to: Sequence[str]) -> EnvironmentView:
        branch = protocol.env_branch(name)
        tip = self.tips.get(branch)
        deliveries: list[DeliveryView] = []
        if tip is not None:
            for sha in self._first_parents(tip):
                note = self.repo.read_note(env=name, commit=sha)
                if note is None and sha != tip:
                    continue
                deliveries.append(self._delivery(name, sha, note=note, current=sha == tip))
        return EnvironmentView(
            name=name,
            branch=branch,
            tip=tip,
            promotes_to=tuple(promotes_to),
            deliveries=tuple(deliveries),
            candidates=tuple(self._candidates(name, tip)),
            suspended=suspension_at(
                self.repo, self.tips.get(protocol.control_ref(name)), environment=name
            ),
        )

    def _first_parents(self, tip: str) -> list[str]:
        out = [tip]
        info = self.repo.commit_info(tip)
        while len(out) < self.history and info.parents:
            try:
                info = self.repo.commit_info(info.parents[0])
            except GitError:
                break  # history beyond what the cache holds
            out.append(info.sha)
        return out

    def _age(self, when: str | None, fallback: datetime) -> int:
        moment = _parse_time(when) or fallback
        return max(0, int((self.now - moment).total_seconds()))

    def _delivery(
        self, env: str, sha: str, *, note: NoteDocument | None, current: bool
    ) -> DeliveryView:
        info = self.repo.commit_info(sha)
        trailers = delivered_trailers(self.repo, info)
        latest = _latest(note)
        fields: Mapping[str, Any] = latest.fields if latest is not None else {}
        delivery = _text(fields.get("delivery")) or trailers.delivery or f"rev-{sha[:12]}"
        updated = latest.at if latest is not None and latest.at else None
        committed = _commit_time(info)
        return DeliveryView(
            environment=env,
            revision=sha,
            delivery=delivery,
            subject=_subject(info),
            current=current,
            committed_at=protocol.utc_timestamp(committed),
            age_seconds=self._age(updated, committed),
            phase=latest.phase if latest is not None else None,
            stage=_text(fields.get("stage")),
            message=_text(fields.get("message")) or _text(fields.get("error")),
            health=_health(fields.get("health")),
            gate=_text(fields.get("gate")),
            agent=(latest.agent or None) if latest is not None else None,
            started=_text(fields.get("started")),
            updated_at=updated,
            entries=len(note.entries) if note is not None else 0,
            source_commit=trailers.source_commit,
            promoted_from=_origin(trailers),
            promotions=_promotions(note),
            verified_on=_text(fields.get("verifiedOn")),
            conflicts=_words(fields.get("conflicts")),
            carries=_words(fields.get("deliveries")) or _all_deliveries(self.repo, info),
        )

    def _candidates(self, env: str, env_tip: str | None) -> list[CandidateView]:
        prefix = f"{protocol.BRANCH_PREFIX}{protocol.CANDIDATE_PREFIX}/{env}/"
        out = []
        for ref in sorted(r for r in self.tips if r.startswith(prefix)):
            parsed = protocol.parse_branch(ref)
            if parsed is None or parsed[1] is None:
                continue
            sha = self.tips[ref]
            if env_tip is not None and is_ancestor_or_unknown(self.repo, sha, env_tip):
                continue  # merged; the branch is just not deleted yet
            info = self.repo.commit_info(sha)
            trailers = parse_delivery_trailers(info.message)
            committed = _commit_time(info)
            out.append(
                CandidateView(
                    environment=env,
                    delivery=trailers.delivery or parsed[1],
                    ref=ref,
                    revision=sha,
                    subject=_subject(info),
                    committed_at=protocol.utc_timestamp(committed),
                    age_seconds=self._age(None, committed),
                    source_commit=trailers.source_commit,
                    promoted_from=_origin(trailers),
                )
            )
        return out


# --- ordering ----------------------------------------------------------------------


def _edges(
    names: Sequence[str], policies: Mapping[str, Policy | None]
) -> dict[str, tuple[str, ...]]:
    """`promotion.to` per environment, each from its own branch's policy if it has an entry.

    The policy is read per branch (a production change takes a production merge),
    so an environment's own branch is the authority on where it promotes to; any
    other readable policy that names it fills in when its own branch cannot.
    """
    edges: dict[str, tuple[str, ...]] = {}
    for name in names:
        own = policies.get(name)
        sources = [own] if own is not None else []
        sources += [p for env, p in sorted(policies.items()) if env != name and p is not None]
        for policy in sources:
            if name in policy.environments:
                edges[name] = tuple(policy.environments[name].promotion.to)
                break
    return edges


def _promotion_order(
    names: Sequence[str], edges: Mapping[str, Sequence[str]], warnings: list[str]
) -> tuple[list[str], str]:
    """Environments by their longest distance from a chain's start, then by name.

    Fan-out targets share a column rank; environments outside any chain come
    first with the starts. A cycle (or no readable policy) falls back to names.
    """
    present = set(names)
    targets = {n: [t for t in edges.get(n, ()) if t in present and t != n] for n in names}
    if not any(targets.values()):
        return sorted(names), "alphabetical"
    incoming = dict.fromkeys(names, 0)
    for n in names:
        for t in targets[n]:
            incoming[t] += 1
    rank = dict.fromkeys(names, 0)
    ready = sorted(n for n in names if incoming[n] == 0)
    done = 0
    while ready:
        node = ready.pop(0)
        done += 1
        for t in targets[node]:
            rank[t] = max(rank[t], rank[node] + 1)
            incoming[t] -= 1
            if incoming[t] == 0:
                ready.append(t)
        ready.sort()
    if done < len(names):
        warnings.append("the promotion chain has a cycle; environments are shown by name")
        return sorted(names), "alphabetical"
    return sorted(names, key=lambda n: (rank[n], n)), "policy"


# --- linking promotions to where they landed ---------------------------------------


def _link_promotions(
    repo: CacheRepo, views: Sequence[EnvironmentView], tips: Mapping[str, str]
) -> list[EnvironmentView]:
    """Resolve each promotion to the target revision or candidate that carries it."""
    by_env = {v.name: v for v in views}
    out = []
    for view in views:
        deliveries = []
        for delivery in view.deliveries:
            links = tuple(
                _resolve(repo, link, source=delivery, target=by_env.get(link.target), tips=tips)
                for link in delivery.promotions
            )
            deliveries.append(replace(delivery, promotions=links))
        out.append(replace(view, deliveries=tuple(deliveries)))
    return out


def _resolve(
    repo: CacheRepo,
    link: PromotionLink,
    *,
    source: DeliveryView,
    target: EnvironmentView | None,
    tips: Mapping[str, str],
) -> PromotionLink:
    origin = Origin(source.environment, source.revision)
    if target is not None:
        for landed in target.deliveries:
            if landed.promoted_from == origin or landed.revision == link.commit:
                return replace(link, state="delivered", landed=landed.revision)
        for candidate in target.candidates:
            if candidate.promoted_from == origin or candidate.revision == link.commit:
                return replace(link, state="waiting")
    target_tip = tips.get(protocol.BRANCH_PREFIX + link.target)
    if link.commit is not None and target_tip is not None:
        if is_ancestor_or_unknown(repo, link.commit, target_tip):
            return replace(link, state="delivered")
        if tips.get(link.ref) == link.commit:
            return replace(link, state="waiting")
    return link


# --- small readers -----------------------------------------------------------------


def _latest(note: NoteDocument | None) -> NoteEntry | None:
    return note.latest() if note is not None else None


def _promotions(note: NoteDocument | None) -> tuple[PromotionLink, ...]:
    """Promotions recorded on a revision; a later entry's word on a target wins.

    A fan-out that failed half-way records the targets it reached, and the retry
    records the rest, so the union over all entries is what was produced.
    """
    found: dict[str, PromotionLink] = {}
    for entry in note.entries if note is not None else ():
        raw = entry.fields.get("promotions")
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict):
                continue
            target, ref = item.get("target"), item.get("ref")
            if not isinstance(target, str) or not isinstance(ref, str):
                continue
            commit = item.get("commit")
            found[target] = PromotionLink(
                target=target,
                ref=ref,
                commit=commit if isinstance(commit, str) else None,
                pushed=bool(item.get("pushed")),
            )
    return tuple(found[t] for t in sorted(found))


def _origin(trailers: DeliveryTrailers) -> Origin | None:
    if trailers.promoted_from is None:
        return None
    return Origin(*trailers.promoted_from)


def _subject(info: CommitInfo) -> str:
    return info.message.strip().split("\n", 1)[0]


def _commit_time(info: CommitInfo) -> datetime:
    when = info.committer.when
    return when.astimezone(UTC) if when is not None else datetime.now(UTC)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _words(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _all_deliveries(repo: CacheRepo, info: CommitInfo) -> tuple[str, ...]:
    """Every Delivery trailer of the commit (or of the candidate a merge brought in).

    A snapshot promotion names several; one name says nothing `delivery` does not.
    """

    def names(of: CommitInfo) -> list[str]:
        return [v for k, v in of.trailers if k.lower() == DELIVERY.lower()]

    found = names(info)
    if not found and len(info.parents) > 1:
        try:
            found = names(repo.commit_info(info.parents[1]))
        except GitError:
            found = []
    return tuple(dict.fromkeys(found)) if len(found) > 1 else ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _health(value: Any) -> str | None:
    """The agent writes a one-line summary; the protocol example maps object -> word."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict) and value:
        healthy = sum(1 for v in value.values() if str(v).lower() == "healthy")
        return f"{healthy}/{len(value)} healthy"
    return None
