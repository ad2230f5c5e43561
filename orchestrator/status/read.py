"""Reading the pipeline from Git alone: `orchestrator status` and the page.

Everything agents say is on the bus (branches, trailers, notes), so anyone with a
clone can see every environment without cluster access. One poll brings the cache
up to date (environment branches, candidate branches, every environment's notes
ref); everything after that is local object reads, bounded per environment, so a
page that polls every few seconds costs one ref listing when nothing moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import PurePosixPath

from orchestrator.errors import GitError, PolicyError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import NoteDocument
from orchestrator.gitbus.repo import CacheRepo, CommitInfo
from orchestrator.gitbus.trailers import DELIVERY, DeliveryTrailers
from orchestrator.promote.policy.schema import POLICY_PATH, Policy, parse_policy
from orchestrator.promote.revision.source import (
    delivered_trailers,
    is_ancestor_or_unknown,
    parse_delivery_trailers,
)
from orchestrator.promote.write.suspension import suspension_at
from orchestrator.record.questions import delivery_name
from orchestrator.status.model import (
    CandidateView,
    DeliveryView,
    EnvironmentView,
    Origin,
    PipelineView,
    PromotionLink,
)
from orchestrator.status.notes import summarize
from orchestrator.status.order import edges as promotion_edges
from orchestrator.status.order import promotion_order

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
_POLICY = PurePosixPath(POLICY_PATH)


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
    edges = promotion_edges(names, policies)
    if wanted is not None:
        order = "given"
    else:
        names, order = promotion_order(names, edges, warnings)
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
        said = summarize(note)
        delivery = delivery_name(said.delivery, trailers.delivery, revision=sha)
        committed = _commit_time(info)
        return DeliveryView(
            environment=env,
            revision=sha,
            delivery=delivery,
            subject=_subject(info),
            current=current,
            committed_at=protocol.utc_timestamp(committed),
            age_seconds=self._age(said.updated_at, committed),
            phase=said.phase,
            stage=said.stage,
            message=said.message,
            health=said.health,
            gate=said.gate,
            agent=said.agent,
            started=said.started,
            updated_at=said.updated_at,
            entries=said.entries,
            source_commit=trailers.source_commit,
            promoted_from=_origin(trailers),
            promotions=said.promotions,
            verified_on=said.verified_on,
            conflicts=said.conflicts,
            carries=said.carries or _all_deliveries(self.repo, info),
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
