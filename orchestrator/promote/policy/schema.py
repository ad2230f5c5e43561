"""The platform team's promotion policy: a versioned file on each environment branch.

The agent reads `.orchestrator/policy.yaml` from the tip it is about to deliver, so
changing production's policy takes a production merge. A policy that does not
validate stops that environment's reconcile; it never falls back to "allow all".
`docs/policy.md` is the reference for every field.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrator.errors import ManifestError, PolicyError
from orchestrator.health.rules import HealthRules
from orchestrator.health.run_template import RunTemplate
from orchestrator.manifests.limits import Budget, Limits
from orchestrator.manifests.parse import parse_file
from orchestrator.objectref import ObjectRef
from orchestrator.promote.policy import cron

POLICY_PATH = ".orchestrator/policy.yaml"
POLICY_DIR = POLICY_PATH.partition("/")[0]
API_VERSION = "orchestrator.dev/v1alpha1"
# A policy is a page of settings and a few run templates; these leave it ample room
# (a 500-line policy is about 2,000 nodes) while refusing a bomb before it costs anything.
POLICY_LIMITS = Limits(
    max_file_bytes=1024 * 1024,
    max_documents=1,
    max_objects=1,
    max_nodes=100_000,
    max_aliases=100,
    max_depth=64,
)
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(value: Any) -> float:
    """Seconds from `90`, `"90s"`, `"5m"` or `"1h30m"`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 5m, 1h30m, 45s")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    text = str(value).strip()
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h30m, 45s")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def check_delivery_dir(value: str) -> str:
    """A directory of the branch a delivery may live in or promote: `a/b`, never the root.

    The root, `.`, `..` or the policy directory would let one environment's
    promotion copy over, or delete, the target environment's own policy.
    """
    text = value.strip()
    if text.startswith("/") or "\\" in text:
        raise ValueError(f"{value!r} must be a relative directory like manifests or apps/shop")
    parts = text.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"{value!r} must name a directory below the branch root "
            "(not the root itself, and without . or .. parts)"
        )
    if parts[0] == POLICY_DIR:
        raise ValueError(f"{value!r} is the policy's own directory ({POLICY_DIR})")
    return "/".join(parts)


class Promotion(_Model):
    """Where a verified revision goes next."""

    to: list[str] = Field(default_factory=list, description="next environments (fan-out)")
    mode: Literal["pr", "auto"] = Field(
        default="pr", description="pr: push <next>/<feature> for a merge; auto: push <next>"
    )
    paths: list[str] = Field(
        default_factory=list, description="paths copied to the next environment (default: path)"
    )
    unit: Literal["delivery", "snapshot"] | None = Field(
        default=None,
        description=(
            "delivery: one promotion per merged delivery, its own change only (default for pr); "
            "snapshot: the verified state as a whole, naming every delivery (default for auto)"
        ),
    )
    auto_merge: bool = Field(
        default=False,
        alias="autoMerge",
        description="with a forge (mode pr): merge the promotion's pull request once every "
        "status on its head is success",
    )

    @property
    def effective_unit(self) -> Literal["delivery", "snapshot"]:
        """`unit`, or the default of the mode: a PR per delivery, a snapshot when automatic."""
        if self.unit is not None:
            return self.unit
        return "delivery" if self.mode == "pr" else "snapshot"

    @field_validator("paths")
    @classmethod
    def _directories(cls, value: list[str]) -> list[str]:
        return [check_delivery_dir(item) for item in value]


class HealthPolicy(_Model):
    timeout_seconds: float = Field(default=300.0, alias="timeout")
    soak_seconds: float = Field(default=0.0, alias="soak")
    rules: HealthRules = Field(default_factory=lambda: HealthRules(()))

    @field_validator("timeout_seconds", "soak_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class Window(_Model):
    """A cron schedule that opens a window lasting `duration`."""

    schedule: str = Field(description="cron expression: minute hour day month day-of-week")
    duration_seconds: float = Field(alias="duration")
    timezone: str = "UTC"

    @field_validator("duration_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        cron.trigger(value, timezone="UTC")  # the gates' own parser: refused now, not later
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value


class Gates(_Model):
    windows: list[Window] = Field(
        default_factory=list, description="promotion only inside one of these (none: always)"
    )
    freezes: list[Window] = Field(
        default_factory=list, description="no promotion inside any of these"
    )


class Allow(_Model):
    """What this environment may apply. Empty lists mean no restriction of that kind."""

    namespaces: list[str] = Field(default_factory=list, description="glob patterns")
    kinds: list[str] = Field(
        default_factory=list, description="Kind or group/Kind, e.g. apps/Deployment, ConfigMap"
    )
    cluster_scoped: bool = Field(default=False, alias="clusterScoped")

    def refusal(self, ref: ObjectRef, *, namespaced: bool) -> str | None:
        """Why `ref` is outside this environment's allowance, or None."""
        if not namespaced and not self.cluster_scoped:
            return f"{ref}: cluster-scoped kinds are not allowed in this environment"
        if self.kinds:
            names = {ref.kind, f"{ref.group}/{ref.kind}" if ref.group else ref.kind}
            if not names & set(self.kinds):
                return f"{ref}: kind {ref.kind} is not in the allowed kinds"
        if (
            namespaced
            and self.namespaces
            and not any(fnmatch.fnmatchcase(ref.namespace, p) for p in self.namespaces)
        ):
            return f"{ref}: namespace {ref.namespace} is not allowed"
        return None


class ApplyPolicy(_Model):
    prune: bool = True
    force: bool = Field(default=False, description="take over fields owned by other managers")


class Trust(_Model):
    signers: list[str] = Field(
        default_factory=list,
        description="allowed-signers lines (principal key-type key); empty: no signature needed",
    )


class EnvironmentPolicy(_Model):
    path: str = Field(default="manifests", description="where the delivery lives on the branch")
    promotion: Promotion = Field(default_factory=Promotion)
    health: HealthPolicy = Field(default_factory=HealthPolicy)
    verification: list[RunTemplate] = Field(default_factory=list)
    gates: Gates = Field(default_factory=Gates)
    allow: Allow = Field(default_factory=Allow)
    apply: ApplyPolicy = Field(default_factory=ApplyPolicy)
    trust: Trust = Field(default_factory=Trust)
    rollback: bool = Field(
        default=False, description="re-apply the last healthy revision when a delivery fails"
    )

    @field_validator("path")
    @classmethod
    def _directory(cls, value: str) -> str:
        return check_delivery_dir(value)

    @property
    def promoted_paths(self) -> list[str]:
        return self.promotion.paths or [self.path]


class Policy(_Model):
    api_version: Literal["orchestrator.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["PromotionPolicy"]
    environments: dict[str, EnvironmentPolicy]

    @model_validator(mode="after")
    def _targets_exist(self) -> Policy:
        for name, env in self.environments.items():
            for target in env.promotion.to:
                if target not in self.environments:
                    raise ValueError(
                        f"environments.{name}.promotion.to: unknown environment {target!r}"
                    )
                if target == name:
                    raise ValueError(f"environments.{name}.promotion.to: promotes to itself")
        return self

    def environment(self, name: str) -> EnvironmentPolicy:
        try:
            return self.environments[name]
        except KeyError:
            raise PolicyError(POLICY_PATH, [f"no entry for environment {name!r}"]) from None


def parse_policy(data: bytes, *, path: str = POLICY_PATH) -> Policy:
    """Validate the policy file; every problem is named with its field path.

    Read with the manifests' counting loader under POLICY_LIMITS: the file
    comes from a branch anyone with push access can write, and is parsed
    before any of its checks can help, so an alias bomb or a deep nest is a
    refusal within milliseconds, never hours of CPU.
    """
    budget = Budget(POLICY_LIMITS, path=path)
    try:
        documents = parse_file(data, path=path, budget=budget)
    except ManifestError as exc:
        raise PolicyError(path, [_without_path(str(exc), path)]) from None
    if len(documents) != 1:
        raise PolicyError(path, ["must be one YAML document"])
    raw = documents[0]
    if not isinstance(raw, dict):
        raise PolicyError(path, ["must be a YAML mapping with apiVersion, kind and environments"])
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise PolicyError(path, problems) from None


def _without_path(message: str, path: str) -> str:
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
