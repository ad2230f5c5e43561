"""How a delivery is applied (field manager, force, concurrency, CRD waits)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    """How a delivery is applied.

    field_manager: the server-side apply field manager; one per environment
        (`ApplyOptions.for_environment("prod")` gives `orchestrator-prod`), so
        two environments sharing a cluster never take each other's fields.
    force: take over fields another manager owns (the policy's `force`). Off,
        such a conflict refuses the whole delivery with FieldConflict.
    concurrency: requests in flight at once, for dry-runs, applies and the
        live listing (8 by default: enough to hide latency, little enough
        not to crowd other clients of the API server).
    crd_timeout: seconds to wait for the delivery's CRDs to be Established
        and their kinds to appear in discovery (60 by default).
    poll_interval: seconds between two looks while waiting (0.2).
    """

    field_manager: str
    force: bool = False
    concurrency: int = 8
    crd_timeout: float = 60.0
    poll_interval: float = 0.2

    def __post_init__(self) -> None:
        if not self.field_manager:
            raise ValueError("field_manager must not be empty")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.crd_timeout <= 0 or self.poll_interval <= 0:
            raise ValueError("crd_timeout and poll_interval must be positive")

    @classmethod
    def for_environment(
        cls,
        environment: str,
        *,
        force: bool = False,
        concurrency: int = 8,
        crd_timeout: float = 60.0,
    ) -> ApplyOptions:
        return cls(
            field_manager=f"orchestrator-{environment}",
            force=force,
            concurrency=concurrency,
            crd_timeout=crd_timeout,
        )
