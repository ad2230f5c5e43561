"""One delivery across every environment: `orchestrator status --feature NAME`.

Built from the pipeline view (Git alone): per environment, the newest revision that
delivers the feature and what its agent said (verified on its own or covered by a
newer revision, where it was promoted to, whether that landed), or the candidate
branch still waiting for a merge. The JSON shape is documented in docs/status.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.status.model import PipelineView, PromotionLink, status_of

FEATURE_SCHEMA = "orchestrator.feature/v1"


@dataclass(frozen=True, slots=True)
class FeatureStop:
    """Where the feature stands in one environment.

    `state`: `merged` (a revision of the environment branch delivers it),
    `waiting` (a candidate branch awaits a merge) or `absent`.
    """

    environment: str
    state: str
    revision: str | None = None
    current: bool = False
    phase: str | None = None
    stage: str | None = None
    message: str | None = None
    health: str | None = None
    verified_on: str | None = None
    conflicts: tuple[str, ...] = ()
    candidate: str | None = None
    promotions: tuple[PromotionLink, ...] = ()

    @property
    def status(self) -> str:
        return status_of(self.phase) if self.state == "merged" else self.state

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "state": self.state,
            "revision": self.revision,
            "current": self.current,
            "phase": self.phase,
            "status": self.status,
            "stage": self.stage,
            "message": self.message,
            "health": self.health,
            "verified_on": self.verified_on,
            "conflicts": list(self.conflicts),
            "candidate": self.candidate,
            "promotions": [p.to_json() for p in self.promotions],
        }


@dataclass(frozen=True, slots=True)
class FeatureView:
    feature: str
    environments: tuple[FeatureStop, ...]

    def to_json(self) -> dict[str, Any]:
        return {"feature": self.feature, "environments": [e.to_json() for e in self.environments]}


def feature_view(view: PipelineView, feature: str) -> FeatureView:
    """Where `feature` is in each environment of `view`, in promotion order."""
    stops = []
    for env in view.environments:
        merged = next((d for d in env.deliveries if d.names(feature)), None)
        waiting = next((c for c in env.candidates if c.delivery == feature), None)
        if merged is not None:
            stops.append(
                FeatureStop(
                    environment=env.name,
                    state="merged",
                    revision=merged.revision,
                    current=merged.current,
                    phase=merged.phase,
                    stage=merged.stage,
                    message=merged.message,
                    health=merged.health,
                    verified_on=merged.verified_on,
                    conflicts=merged.conflicts,
                    candidate=waiting.ref if waiting is not None else None,
                    promotions=merged.promotions,
                )
            )
        elif waiting is not None:
            stops.append(
                FeatureStop(
                    environment=env.name,
                    state="waiting",
                    revision=waiting.revision,
                    candidate=waiting.ref,
                )
            )
        else:
            stops.append(FeatureStop(environment=env.name, state="absent"))
    return FeatureView(feature=feature, environments=tuple(stops))
