"""Manual promotion of a revision an agent already verified (`orchestrator promote`).

Only a revision whose note in the source environment says it was verified (Healthy,
Waiting or Promoted) can be promoted by hand: the command moves a decision forward
(skipping a closed window, re-pushing a deleted candidate branch), it never skips
verification. The gate and the request are decided by `promote.planning`, as the
agent decides them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from orchestrator.errors import GateClosed, PromotionError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.gitbus.trailers import DeliveryTrailers
from orchestrator.promote.planning.decide import gate_verdict, request_for
from orchestrator.promote.revision.source import environment_policy_at
from orchestrator.promote.write.promotion import PromotionResult, promote
from orchestrator.record import Entry, entries_of
from orchestrator.record.questions import delivery_name, latest_verdict_phase, verification


def verified_entry(repo: CacheRepo, *, environment: str, revision: str, action: str) -> Entry:
    """The entry in which `environment`'s agent last verified `revision`.

    PromotionError when its latest verdict is not a verification (or there is none):
    a later Failed or RolledBack takes an earlier Healthy back.
    """
    repo.refresh(protocol.notes_ref(environment))
    entries = entries_of(repo.read_note(env=environment, commit=revision))
    verified = verification(entries)
    if verified is None:
        raise PromotionError(
            f"{environment}@{revision[:12]} is not verified "
            f"(its note says {latest_verdict_phase(entries)}); "
            f"only a revision the agent found healthy can be {action}"
        )
    return verified


def promote_verified(
    repo: CacheRepo,
    *,
    source_env: str,
    target_env: str,
    revision: str | None,
    author: Identity,
    mode: Literal["pr", "auto"] | None = None,
    ignore_gates: bool = False,
    signer: Signer | None = None,
) -> PromotionResult:
    """Promote `revision` (default: the source branch tip) if its note says it was verified."""
    tip = repo.refresh(protocol.env_branch(source_env))
    if revision is None:
        if tip is None:
            raise PromotionError(f"{protocol.env_branch(source_env)} does not exist")
        revision = tip
    revision = repo.resolve(revision)
    last = verified_entry(repo, environment=source_env, revision=revision, action="promoted")
    env_policy = environment_policy_at(repo, revision, environment=source_env)
    if not ignore_gates:
        verdict = gate_verdict(env_policy, datetime.now(UTC))
        if not verdict.open:
            raise GateClosed(f"{verdict.reason} (use --ignore-gates to promote anyway)")
    trailers = DeliveryTrailers.from_message(repo.commit_info(revision).message)
    request = request_for(
        env_policy,
        source_env=source_env,
        revision=revision,
        feature=delivery_name(last.delivery, trailers.delivery, revision=revision),
        target=target_env,
        health=last.health,
        verified_by=last.agent,
        origin_commit=trailers.source_commit,
        mode=mode,
    )
    return promote(repo, request, author=author, signer=signer)
