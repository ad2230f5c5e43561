"""Manual promotion of a revision an agent already verified (`orchestrator promote`).

Only a revision whose note in the source environment says it was verified (Healthy,
Waiting or Promoted) can be promoted by hand: the command moves a decision forward
(skipping a closed window, re-pushing a deleted candidate branch), it never skips
verification.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from orchestrator.errors import GateClosed, PromotionError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.protocol import Identity, NoteEntry
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer
from orchestrator.gitbus.trailers import DeliveryTrailers
from orchestrator.promote.gates import evaluate
from orchestrator.promote.promotion import PromotionRequest, PromotionResult, promote
from orchestrator.promote.source import environment_policy_at

VERIFIED_PHASES = frozenset({"Healthy", "Waiting", "Promoted", "DriftCorrected"})
# A later one of these overrides an earlier verdict: the revision is no longer trusted.
UNVERIFIED_PHASES = frozenset({"Failed", "RolledBack"})


def verified_entry(repo: CacheRepo, *, environment: str, revision: str, action: str) -> NoteEntry:
    """The entry in which `environment`'s agent last verified `revision`.

    PromotionError when its latest verdict is not a verification (or there is none):
    a later Failed or RolledBack takes an earlier Healthy back.
    """
    repo.refresh(protocol.notes_ref(environment))
    note = repo.read_note(env=environment, commit=revision)
    entries = list(note.entries) if note else []
    verdicts = [e for e in entries if e.phase in VERIFIED_PHASES or e.phase in UNVERIFIED_PHASES]
    if not verdicts or verdicts[-1].phase not in VERIFIED_PHASES:
        said = verdicts[-1].phase if verdicts else "nothing"
        raise PromotionError(
            f"{environment}@{revision[:12]} is not verified (its note says {said}); "
            f"only a revision the agent found healthy can be {action}"
        )
    return [e for e in verdicts if e.phase in VERIFIED_PHASES][-1]


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
        verdict = evaluate(env_policy.gates, datetime.now(UTC))
        if not verdict.open:
            raise GateClosed(f"{verdict.reason} (use --ignore-gates to promote anyway)")
    trailers = DeliveryTrailers.from_message(repo.commit_info(revision).message)
    feature = str(last.fields.get("delivery") or trailers.delivery or f"rev-{revision[:12]}")
    return promote(
        repo,
        PromotionRequest(
            source_env=source_env,
            source_commit=revision,
            feature=feature,
            target_env=target_env,
            mode=mode or env_policy.promotion.mode,
            paths=tuple(env_policy.promoted_paths),
            health=str(last.fields.get("health") or "Healthy"),
            verified_by=last.agent,
            origin_commit=trailers.source_commit,
        ),
        author=author,
        signer=signer,
    )
