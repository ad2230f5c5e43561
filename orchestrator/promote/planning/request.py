"""What a promotion commit says: a verified revision on its way to the next environment.

The plan (`planning.decide`) is made of these; the write side (`write.promotion`)
turns one into a commit. Its subject and trailers are the bus protocol of a
promotion (docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orchestrator.gitbus import protocol
from orchestrator.gitbus.trailers import DELIVERY, DeliveryTrailers


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    """A verified revision of `source_env` on its way to `target_env`."""

    source_env: str
    source_commit: str
    feature: str
    target_env: str
    mode: Literal["pr", "auto"]
    paths: tuple[str, ...]
    health: str
    verified_by: str
    origin_commit: str | None = None
    # A snapshot names every delivery it carries, oldest first (empty: just `feature`).
    carries: tuple[str, ...] = ()

    @property
    def target_ref(self) -> str:
        if self.mode == "pr":
            return protocol.feature_branch(self.target_env, self.feature)
        return protocol.env_branch(self.target_env)

    @property
    def subject(self) -> str:
        return f"Promote {self.feature} from {self.source_env} to {self.target_env}"

    def trailers(self) -> list[tuple[str, str]]:
        """The protocol trailers; a snapshot has one Delivery line per carried delivery."""
        pairs = DeliveryTrailers(
            delivery=self.feature,
            source_commit=self.origin_commit,
            promoted_from=(self.source_env, self.source_commit),
            verified_by=self.verified_by,
            health=self.health,
        ).pairs()
        names = [name for name in self.carries if name != self.feature] + [self.feature]
        if len(names) == 1:
            return pairs
        rest = [(key, value) for key, value in pairs if key != DELIVERY]
        return [(DELIVERY, name) for name in dict.fromkeys(names)] + rest
