"""RunTemplate catches at policy load what would otherwise break a delivery later."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from orchestrator.health import RunTemplate


def template(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"namespace": "verify"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "curl"}]}}},
    }
    body.update(changes)
    return body


def test_a_valid_template_with_every_field() -> None:
    run = RunTemplate.model_validate(
        {
            "name": "smoke",
            "template": template(spec={"args": ["$(revision)$", "$(selected.data.url)$"]}),
            "selector": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "matchLabels": {"app.kubernetes.io/name": "shop"},
            },
            "outputs": {"digest": 'status.results[?(@.name=="digest")].value'},
            "timeoutSeconds": 120,
            "retention": 5,
        }
    )
    assert (run.api_version, run.kind, run.namespace) == ("batch/v1", "Job", "verify")
    assert run.selector is not None
    assert run.selector.label_selector == "app.kubernetes.io/name=shop"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"metadata": {"namespace": "v", "name": "x"}}, "must not set metadata.name"),
        (
            {"metadata": {"namespace": "v", "generateName": "x-"}},
            "must not set metadata.generateName",
        ),
        ({"metadata": {"namespace": "$(params.ns)$"}}, "metadata.namespace must be literal"),
        ({"kind": "$(params.kind)$"}, "kind must be literal"),
        ({"metadata": {}}, "needs metadata.namespace"),
        ({"spec": {"x": "$(revison)$"}}, r"unknown placeholder \$\(revison\)\$"),
        ({"spec": {"x": "$(workload.spec.image)$"}}, "unknown placeholder"),
        (
            {"spec": {"x": "$(selected.data.url)$"}},
            "uses \\$\\(selected...\\)\\$ but names no selector",
        ),
    ],
)
def test_template_mistakes_are_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        RunTemplate.model_validate({"name": "smoke", "template": template(**changes)})


def test_output_paths_and_selector_labels_are_checked() -> None:
    with pytest.raises(ValidationError, match="outputs"):
        RunTemplate.model_validate(
            {"name": "smoke", "template": template(), "outputs": {"x": "status.[*]"}}
        )
    with pytest.raises(ValidationError, match="not a valid label value"):
        RunTemplate.model_validate(
            {
                "name": "smoke",
                "template": template(),
                "selector": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "matchLabels": {"a": "b,c=d"},
                },
            }
        )
