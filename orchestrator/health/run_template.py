"""A verification run as the policy describes it (Cartographer's Runnable, simplified).

A run is an immutable resource (a Job, a Tekton TaskRun, anything with a
`Succeeded`-style condition) created anew for every delivered revision and never
updated. The template may use `$(...)$` placeholders:

    $(revision)$  $(environment)$  $(delivery)$  $(params.<name>)$  $(selected.<path>)$

`selector` picks an existing resource (by label) whose fields the template may read
as `$(selected.<field path>)$`. `outputs` names fields read from the most recent
succeeded run's status and recorded in the note.

Checked when the policy loads, so a mistake stops the policy rather than the
delivery that first uses it: placeholders name one of the five roots above (a
typo would otherwise reach the cluster as literal text; Tekton's own
`$(params.x)`, without the closing `$`, is left alone); `$(selected...)$` needs
a selector; `apiVersion`, `kind` and `metadata.namespace` are literal, because
they say where earlier runs are looked up before anything is rendered; the run
is named by `generateName`, so the template sets neither name nor generateName;
`outputs` are valid field paths (`orchestrator.health.fieldpath`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orchestrator.health.fieldpath import FieldPath

__all__ = ["PLACEHOLDER_ROOTS", "RunSelector", "RunTemplate"]

# What `$(<root>...)$` may start with; `orchestrator.health.runs` supplies the values.
PLACEHOLDER_ROOTS = ("delivery", "environment", "params", "revision", "selected")

_ANY_PLACEHOLDER = re.compile(r"\$\(([^)]*)\)\$")
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_LABEL_KEY = re.compile(
    r"^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RunSelector(_Model):
    """An existing resource the template may read from (the newest match is used).

    An empty `namespace` means the run's own namespace.
    """

    api_version: str = Field(alias="apiVersion", min_length=1)
    kind: str = Field(min_length=1)
    namespace: str = ""
    match_labels: dict[str, str] = Field(alias="matchLabels", min_length=1)

    @field_validator("match_labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not _LABEL_KEY.match(key):
                raise ValueError(f"{key!r} is not a valid label key")
            if not _LABEL_VALUE.match(item):
                raise ValueError(f"{item!r} (label {key}) is not a valid label value")
        return value

    @property
    def reads_secrets(self) -> bool:
        """Whether it picks core Secrets, whose data a template could copy into a run."""
        return self.api_version == "v1" and self.kind == "Secret"

    @property
    def label_selector(self) -> str:
        """The selector as the API takes it: `a=1,b=2`, sorted for stable requests."""
        return ",".join(f"{key}={value}" for key, value in sorted(self.match_labels.items()))


class RunTemplate(_Model):
    """One verification run that gates promotion."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    template: dict[str, Any]
    selector: RunSelector | None = None
    outputs: dict[str, str] = Field(
        default_factory=dict, description="output name -> field path in the run object"
    )
    timeout_seconds: float = Field(default=600.0, gt=0, alias="timeoutSeconds")
    retention: int = Field(default=3, ge=1, description="finished runs kept per template")

    @field_validator("template")
    @classmethod
    def _is_an_object(cls, value: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in ("apiVersion", "kind") if not isinstance(value.get(k), str)]
        if missing:
            raise ValueError(f"template needs {' and '.join(missing)}")
        meta = value.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("namespace"), str):
            raise ValueError("template needs metadata.namespace (runs are namespaced)")
        for field in ("name", "generateName"):
            if field in meta:
                raise ValueError(
                    f"template must not set metadata.{field}: a run is created per revision "
                    "with generateName '<run name>-'"
                )
        for where, text in (
            ("apiVersion", value["apiVersion"]),
            ("kind", value["kind"]),
            ("metadata.namespace", meta["namespace"]),
        ):
            if "$(" in text:
                raise ValueError(
                    f"template {where} must be literal: earlier runs are looked up by it"
                )
        for text in _strings(value):
            for match in _ANY_PLACEHOLDER.finditer(text):
                root = match.group(1).partition(".")[0]
                if root not in PLACEHOLDER_ROOTS:
                    known = ", ".join(f"$({r}...)$" for r in PLACEHOLDER_ROOTS)
                    raise ValueError(f"unknown placeholder {match.group(0)} (known: {known})")
        return value

    @field_validator("outputs")
    @classmethod
    def _output_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value.values():
            FieldPath.parse(path)  # ValueError names the position of the mistake
        return value

    @model_validator(mode="after")
    def _selected_needs_selector(self) -> RunTemplate:
        if self.selector is None and any(
            match.group(1).partition(".")[0] == "selected"
            for text in _strings(self.template)
            for match in _ANY_PLACEHOLDER.finditer(text)
        ):
            raise ValueError("the template uses $(selected...)$ but names no selector")
        return self

    @property
    def api_version(self) -> str:
        return str(self.template["apiVersion"])

    @property
    def kind(self) -> str:
        return str(self.template["kind"])

    @property
    def namespace(self) -> str:
        return str(self.template["metadata"]["namespace"])


def _strings(value: Any) -> Iterator[str]:
    """Every string value (not key) in a plain structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
