"""`$(params.x)$` substitution: filled, typed, missing, nested in strings, not injectable."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import (
    InvalidObject,
    ManifestErrors,
    ManifestParseError,
    MissingParameter,
)
from orchestrator.manifests import load_manifests, params_file

from .manifests_fixtures import tree

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: s}\n"


def load(environment: str = "staging", **kwargs: Any) -> dict[str, dict[str, Any]]:
    manifests = load_manifests(tree("params"), root="deliver", environment=environment, **kwargs)
    return {m.ref.kind: m.body for m in manifests}


def test_the_environments_file_fills_placeholders() -> None:
    deployment = load()["Deployment"]
    assert deployment["metadata"]["name"] == "shop-web"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/web:1.2.3"


def test_a_whole_value_placeholder_keeps_the_parameters_type() -> None:
    deployment = load()["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["metadata"]["labels"] == {"team": "payments", "tier": "frontend"}


def test_placeholders_inside_strings_take_the_values_text() -> None:
    container = load()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == [
        "--db=db.staging.internal:5432",  # nested keys, a number
        "--debug=false",  # booleans as YAML/JSON write them
        "--ratio=0.25",
    ]


def test_a_value_cannot_inject_structure() -> None:
    loaded = load()
    assert set(loaded) == {"Deployment", "ConfigMap"}
    assert loaded["ConfigMap"]["data"]["payload"] == "x\nkind: Secret\nmetadata: {name: evil}"


def test_filled_values_are_not_scanned_again() -> None:
    assert load()["ConfigMap"]["data"]["indirect"] == "$(params.image)$"


def test_other_template_syntaxes_are_left_alone() -> None:
    data = load()["ConfigMap"]["data"]
    assert data["tekton"] == "echo $(params.message)"
    assert data["workload"] == "$(workload.metadata.name)$"


def test_each_environment_reads_its_own_file() -> None:
    rest = {"labels": {}, "db": {"host": "db", "port": 1}, "debug": True, "ratio": 1}
    deployment = load("production", params={**rest, "payload": "", "indirect": ""})["Deployment"]
    assert deployment["spec"]["replicas"] == 10
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/web:1.2.0"


def test_settings_override_the_file_name_by_name() -> None:
    loaded = load(params={"image": "mirror.local/web:1.2.3", "labels": {"team": "ops"}})
    container = loaded["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mirror.local/web:1.2.3"
    assert loaded["Deployment"]["metadata"]["labels"] == {"team": "ops"}  # shallow: replaced
    assert loaded["Deployment"]["spec"]["replicas"] == 3  # from the file


def test_without_an_environment_only_settings_count() -> None:
    files = {"a.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata: {name: $(params.ns)$}\n"}
    assert load_manifests(files, params={"ns": "shop"})[0].body["metadata"]["name"] == "shop"


def test_missing_parameter_names_file_object_field_and_placeholder() -> None:
    with pytest.raises(ManifestErrors) as caught:
        load_manifests(tree("params-missing"), root="deliver", environment="staging")
    errors = caught.value.errors
    assert all(isinstance(e, MissingParameter) for e in errors)
    assert {e.path for e in errors} == {"deliver/app.yaml"}
    assert {str(e.ref) for e in errors} == {"ConfigMap/shop/settings"}
    messages = [str(e) for e in errors]
    assert messages == [
        "deliver/app.yaml: ConfigMap/shop/settings: data.region: no value for "
        "$(params.region)$ (parameters come from "
        "deliver/.orchestrator/params/staging.yaml)",
        "deliver/app.yaml: ConfigMap/shop/settings: data.host: no value for "
        "$(params.db.host)$: params.db has no key 'host' (parameters come from "
        "deliver/.orchestrator/params/staging.yaml)",
    ]


def test_missing_file_is_named_as_absent() -> None:
    with pytest.raises(ManifestErrors) as caught:
        load_manifests(
            tree("params-missing"), root="deliver", environment="prod", params={"region": "1"}
        )
    assert "deliver/.orchestrator/params/prod.yaml (absent) and agent settings" in str(caught.value)


def test_one_missing_parameter_is_raised_as_itself() -> None:
    with pytest.raises(MissingParameter, match=r"\$\(params\.region\)\$"):
        load_manifests(
            tree("params-missing"),
            root="deliver",
            environment="staging",
            params={"db": {"host": "h"}},
        )


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("x-$(params.labels)$", InvalidObject, "is a mapping; it can fill a whole value"),
        ("x-$(params.list)$", InvalidObject, "is a list"),
        ("x-$(params.nothing)$", InvalidObject, "is null"),
        ("$(params.bad name)$", InvalidObject, "malformed placeholder $(params.bad name)$"),
        ("$(params.)$", InvalidObject, "malformed placeholder"),
        ("$(params.labels.team.x)$", MissingParameter, "params.labels.team has no key 'x'"),
    ],
)
def test_placeholders_that_cannot_be_filled(
    value: str, error: type[Exception], message: str
) -> None:
    text = f"{HEAD}data: {{k: '{value}'}}\n"
    params = {"labels": {"team": "a"}, "list": [1], "nothing": None}
    with pytest.raises(error) as caught:
        load_manifests({"c.yaml": text.encode()}, params=params)
    assert message in str(caught.value)
    assert "data.k" in str(caught.value)


def test_placeholders_in_keys_are_refused() -> None:
    text = f"{HEAD}data: {{$(params.k)$: v}}\n".encode()
    with pytest.raises(InvalidObject, match="filled in values only"):
        load_manifests({"c.yaml": text}, params={"k": "key"})


def test_typed_values_are_copies() -> None:
    text = f"{HEAD}data: {{a: $(params.m)$, b: $(params.m)$}}\n".encode()
    params = {"m": {"x": "1"}}
    (manifest,) = load_manifests({"c.yaml": text}, params=params)
    assert manifest.body["data"]["a"] == manifest.body["data"]["b"] == {"x": "1"}
    assert manifest.body["data"]["a"] is not manifest.body["data"]["b"]
    assert manifest.body["data"]["a"] is not params["m"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"- a\n- b\n", "mapping of names to values"),
        (b"a: 1\n---\nb: 2\n", "one YAML document"),
        (b"bad name: 1\n", "not 'bad name'"),
        (b"a: [unclosed\n", "line 2"),
    ],
)
def test_unreadable_parameter_file(content: bytes, message: str) -> None:
    files = {**tree("params"), "deliver/.orchestrator/params/staging.yaml": content}
    with pytest.raises(ManifestParseError) as caught:
        load_manifests(files, root="deliver", environment="staging")
    assert caught.value.path == "deliver/.orchestrator/params/staging.yaml"
    assert message in str(caught.value)


def test_parameter_file_convention() -> None:
    assert params_file(root="deliver", environment="prod-eu") == (
        "deliver/.orchestrator/params/prod-eu.yaml"
    )
    assert params_file(root="", environment="dev") == ".orchestrator/params/dev.yaml"


@pytest.mark.parametrize("environment", ["../prod", "a/b", "", ".hidden"])
def test_environment_names_that_cannot_name_a_file(environment: str) -> None:
    with pytest.raises(ValueError, match="environment name"):
        params_file(root="deliver", environment=environment)


def test_settings_parameters_must_be_json_shaped() -> None:
    with pytest.raises(ManifestParseError, match="agent settings"):
        load_manifests({}, params={"when": object()})
