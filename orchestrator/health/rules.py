"""Custom health rules from the promotion policy, in Cartographer's `healthRule` form.

A platform team writes, per kind, one of:

    healthRule: {alwaysHealthy: {}}
    healthRule: {singleConditionType: Ready}
    healthRule:
      multiMatch:
        healthy:                       # ALL of these must hold
          matchConditions: [{type: Ready, status: "True"}]
          matchFields: [{key: status.phase, operator: In, values: [Running]}]
        unhealthy:                     # ANY of these fails the object
          matchFields:
            - key: status.phase
              operator: In
              values: [Failed]
              messagePath: status.message

and the policy lists them by kind (`HealthRules`):

    - apiVersion: serving.knative.dev/v1     # or `group: serving.knative.dev`
      kind: Service
      healthRule: {singleConditionType: Ready}

An entry may instead carry Flux's CEL expressions beside the kind, exactly as
a Kustomization's `healthCheckExprs` entry (`orchestrator.health.cel_rules`):

    - apiVersion: cert-manager.io/v1
      kind: Certificate
      failed: "status.conditions.exists(e, e.type == 'Ready' && e.status == 'False')"
      current: "status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')"

These models only describe and validate; `orchestrator.health.rule_eval`
applies them. They are self-contained so the policy model can embed
`HealthRules` as a field. Field paths (`key`, `messagePath`) follow
`orchestrator.health.fieldpath` and are checked when the policy loads.

Departures from Cartographer, each to catch a mistake at load time instead of
at 3 a.m.: unknown keys are errors; `multiMatch.healthy` must name at least
one requirement (an empty one would make every object healthy);
`multiMatch.unhealthy` may be left out; In/NotIn need `values`, and
Exists/DoesNotExist must not have any (Cartographer documents this, we
enforce it). YAML's unquoted `True`/`False` in a condition status and scalar
`values` are read as the strings they look like.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from orchestrator.health.cel_rules import CelRule, check_expression
from orchestrator.health.fieldpath import FieldPath, scalar_text

__all__ = [
    "ConditionRequirement",
    "FieldRequirement",
    "HealthRule",
    "HealthRules",
    "KindHealthRule",
    "MatchRule",
    "MultiMatchRule",
]

ConditionStatus = Literal["True", "False", "Unknown"]
Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
RuleForm = Literal["alwaysHealthy", "singleConditionType", "multiMatch"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _field_path(value: str) -> str:
    FieldPath.parse(value)  # raises ValueError, which pydantic reports with the location
    return value


class ConditionRequirement(_Model):
    """A condition of `type` with exactly this `status`."""

    type: str = Field(min_length=1)
    status: ConditionStatus

    @field_validator("status", mode="before")
    @classmethod
    def _yaml_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "True" if value else "False"
        return value


class FieldRequirement(_Model):
    """The value at `key` related to `values` by `operator` (Cartographer's matchFields)."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()
    message_path: str | None = Field(default=None, alias="messagePath")

    @field_validator("key")
    @classmethod
    def _key_is_path(cls, value: str) -> str:
        return _field_path(value)

    @field_validator("message_path")
    @classmethod
    def _message_is_path(cls, value: str | None) -> str | None:
        return None if value is None else _field_path(value)

    @field_validator("values", mode="before")
    @classmethod
    def _scalars_as_text(cls, value: Any) -> Any:
        # YAML reads `values: [3, true]` as numbers and bools; mean the text they show.
        if not isinstance(value, list | tuple):
            return value
        return [text if (text := scalar_text(v)) is not None else v for v in value]

    @model_validator(mode="after")
    def _values_fit_operator(self) -> FieldRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class MatchRule(_Model):
    """A set of requirements on conditions and fields (Cartographer's HealthMatchRule)."""

    match_conditions: tuple[ConditionRequirement, ...] = Field(default=(), alias="matchConditions")
    match_fields: tuple[FieldRequirement, ...] = Field(default=(), alias="matchFields")

    @property
    def empty(self) -> bool:
        return not self.match_conditions and not self.match_fields


class MultiMatchRule(_Model):
    """Healthy when every `healthy` requirement holds; failed when any `unhealthy` one does."""

    healthy: MatchRule
    unhealthy: MatchRule = MatchRule()

    @model_validator(mode="after")
    def _healthy_not_empty(self) -> MultiMatchRule:
        if self.healthy.empty:
            raise ValueError("multiMatch.healthy needs at least one matchCondition or matchField")
        return self


class HealthRule(_Model):
    """Exactly one of `alwaysHealthy`, `singleConditionType`, `multiMatch`."""

    always_healthy: dict[str, Any] | None = Field(default=None, alias="alwaysHealthy")
    single_condition_type: str | None = Field(
        default=None, alias="singleConditionType", min_length=1
    )
    multi_match: MultiMatchRule | None = Field(default=None, alias="multiMatch")

    @model_validator(mode="after")
    def _exactly_one_form(self) -> HealthRule:
        given = self._given_forms()
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                "a healthRule takes exactly one of alwaysHealthy, singleConditionType, "
                f"multiMatch (found: {found})"
            )
        return self

    def _given_forms(self) -> list[RuleForm]:
        # `alwaysHealthy:` with nothing after it is YAML null, and still means the form.
        return [
            alias
            for name, alias in _FORMS.items()
            if name in self.model_fields_set
            and (name == "always_healthy" or getattr(self, name) is not None)
        ]

    @property
    def form(self) -> RuleForm:
        """Which of the three forms this rule is written in."""
        return self._given_forms()[0]


_FORMS: dict[str, RuleForm] = {
    "always_healthy": "alwaysHealthy",
    "single_condition_type": "singleConditionType",
    "multi_match": "multiMatch",
}


class KindHealthRule(_Model):
    """The rule for one kind, named by `apiVersion` (any version) or by `group`.

    The rule is either a `healthRule` or Flux's CEL expressions (`current`,
    `inProgress`, `failed`) beside the kind, so that a Flux Kustomization's
    `healthCheckExprs` entries can be pasted as they are.
    """

    api_version: str | None = Field(default=None, alias="apiVersion", min_length=1)
    group: str | None = None
    kind: str = Field(min_length=1)
    health_rule: HealthRule | None = Field(default=None, alias="healthRule")
    current: str | None = None
    in_progress: str | None = Field(default=None, alias="inProgress")
    failed: str | None = None

    @model_validator(mode="after")
    def _one_group_source(self) -> KindHealthRule:
        if (self.api_version is None) == (self.group is None):
            raise ValueError(
                'name the kind\'s API group with exactly one of apiVersion or group ("" is core)'
            )
        return self

    @model_validator(mode="after")
    def _one_rule_form(self) -> KindHealthRule:
        expressions = {
            "current": self.current,
            "inProgress": self.in_progress,
            "failed": self.failed,
        }
        given = {name: text for name, text in expressions.items() if text is not None}
        if self.health_rule is not None and given:
            raise ValueError(
                f"health rule for {self.name}: give either healthRule or CEL expressions "
                "(current, inProgress, failed), not both"
            )
        if self.health_rule is None and self.current is None:
            raise ValueError(
                f"health rule for {self.name}: needs a healthRule, or a CEL `current` expression "
                "(inProgress and failed are optional, as in Flux)"
            )
        for field, text in given.items():
            try:
                check_expression(text)
            except ValueError as exc:
                raise ValueError(f"health rule for {self.name}: {field}: {exc}") from None
        return self

    @property
    def name(self) -> str:
        """`group/Kind` (just `Kind` for the core group), to name the rule in messages."""
        group, kind = self.group_kind
        return f"{group}/{kind}" if group else kind

    @property
    def rule(self) -> HealthRule | CelRule:
        """What decides this kind's health: the healthRule, or the CEL expressions."""
        if self.health_rule is not None:
            return self.health_rule
        assert self.current is not None  # validation guarantees one form
        return CelRule(
            name=self.name, current=self.current, in_progress=self.in_progress, failed=self.failed
        )

    @property
    def group_kind(self) -> tuple[str, str]:
        """(group, kind); a rule covers every version of its kind."""
        if self.group is not None:
            return self.group, self.kind
        version = self.api_version or ""
        return (version.rpartition("/")[0] if "/" in version else ""), self.kind


class HealthRules(RootModel[tuple[KindHealthRule, ...]]):
    """The policy's rules, at most one per kind; a rule replaces the built-in check."""

    model_config = ConfigDict(frozen=True)

    root: tuple[KindHealthRule, ...] = ()

    @model_validator(mode="after")
    def _one_rule_per_kind(self) -> HealthRules:
        seen: set[tuple[str, str]] = set()
        for entry in self.root:
            if entry.group_kind in seen:
                group, kind = entry.group_kind
                raise ValueError(f"two health rules for kind {kind} in group {group!r}")
            seen.add(entry.group_kind)
        return self

    def rule_for(self, group: str, kind: str) -> HealthRule | CelRule | None:
        """The policy's rule for a kind, or None to use the built-in check."""
        for entry in self.root:
            if entry.group_kind == (group, kind):
                return entry.rule
        return None
