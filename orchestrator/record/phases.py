"""The words of a note entry: where a revision stands (`Phase`) and why it failed (`Stage`).

Every reader and writer of the bus spells phases through these enums, and the
groups of phases that answer a question ("verified?", "did the reconcile
succeed?") are defined once, here.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Where a revision stands in one environment (the `phase` of a note entry)."""

    FAILED = "Failed"  # a stage failed; `stage` and `message` say which and why
    HEALTHY = "Healthy"  # applied, healthy, soaked and verified
    WAITING = "Waiting"  # healthy, but a gate keeps the promotion back
    PROMOTED = "Promoted"  # healthy, and the promotion commits are on the bus
    ROLLED_BACK = "RolledBack"  # failed, and the last healthy revision was re-applied
    DRIFT_CORRECTED = "DriftCorrected"  # the cluster had drifted and was re-applied
    # A newer revision that contains this commit settles it: either that revision
    # was verified (`verifiedOn`), its verdict covering this commit too, or the
    # target already holds that revision's promotion (`supersededBy`), so this
    # one's would replay older content.
    SUPERSEDED = "Superseded"


class Stage(StrEnum):
    """The failure reasons, one per pipeline stage."""

    ARTIFACT = "ArtifactFailed"
    POLICY = "PolicyInvalid"
    SIGNATURE = "SignatureFailed"
    BUILD = "BuildFailed"
    NOT_ALLOWED = "NotAllowed"
    APPLY = "ApplyFailed"
    PRUNE = "PruneFailed"
    HEALTH = "HealthCheckFailed"
    VERIFICATION = "VerificationFailed"
    PROMOTION = "PromotionFailed"
    CONFLICT = "PromotionConflict"  # the delivery's change does not apply on the target


# The agent found the revision good here: applied, healthy, soaked and verified.
VERIFIED_PHASES = frozenset({Phase.HEALTHY, Phase.WAITING, Phase.PROMOTED, Phase.DRIFT_CORRECTED})
# A later one of these takes an earlier verification back.
UNVERIFIED_PHASES = frozenset({Phase.FAILED, Phase.ROLLED_BACK})
# A reconcile that ended in one of these did its job (a superseded revision's
# verdict is the newer one's).
SUCCESS_PHASES = VERIFIED_PHASES | {Phase.SUPERSEDED}
# Failures of the promotion itself: the revision was verified before them.
PROMOTION_STAGES = frozenset({Stage.PROMOTION, Stage.CONFLICT})

# The stages whose failure rolls back (when the policy asks for it), and that a
# drift run retries first: what the cluster says can change from one look to the next.
ROLLBACK_STAGES = frozenset({Stage.APPLY, Stage.PRUNE, Stage.HEALTH, Stage.VERIFICATION})


def retry_drift_failure(*, stage: Stage, verified: bool, attempt: int, retries: int) -> bool:
    """Whether a failed run should look again before it counts (and rolls back).

    Only for a revision this agent already verified here (a drift run, or the
    same revision after a restart): a moment of Unknown health or a hiccup of
    the API server must not undo a delivery that was fine. A new revision fails
    at once, since nothing was known good about it.
    """
    return verified and stage in ROLLBACK_STAGES and attempt < retries
