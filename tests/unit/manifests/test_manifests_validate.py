"""Object validation: each invalid fixture fails with its reason; valid edge cases load."""

from __future__ import annotations

import pytest

from orchestrator.errors import InvalidObject
from orchestrator.manifests import load_manifests

from .manifests_fixtures import fixture

# (fixture under invalid/, Kind/namespace/name when it can be named, message fragment)
INVALID = [
    ("missing-api-version.yaml", "ConfigMap/shop/settings", "apiVersion is missing"),
    ("bad-api-version.yaml", "Deployment/shop/web", "apiVersion 'Apps/V1' is not"),
    ("missing-kind.yaml", None, "document 1: kind is missing"),
    ("bad-kind.yaml", "Config Map/shop/settings", "kind 'Config Map' is not a valid kind"),
    ("missing-metadata.yaml", None, "metadata is missing"),
    ("missing-name.yaml", None, "metadata.name is missing"),
    ("generate-name.yaml", None, "server-side apply cannot use generateName"),
    ("name-not-string.yaml", None, "metadata.name 1234 is not a string; quote it"),
    ("empty-name.yaml", "ConfigMap/shop/", "metadata.name is empty"),
    ("name-too-long.yaml", None, "longer than 253 characters"),
    ("name-not-subdomain.yaml", "ConfigMap/shop/My_Settings", "must be a DNS subdomain"),
    ("namespace-name-with-dot.yaml", "Namespace/shop.eu", "must be a DNS label"),
    ("service-name-starts-with-digit.yaml", "Service/shop/1web", "must be a DNS-1035 label"),
    ("name-with-slash.yaml", "Widget/shop/blue/green", "cannot be '.' or '..' or contain '/'"),
    ("bad-namespace.yaml", "ConfigMap/Shop/settings", "metadata.namespace 'Shop' must be"),
    ("cluster-scoped-with-namespace.yaml", "ClusterRole/shop/viewer", "is cluster-scoped"),
    (
        "label-not-string.yaml",
        "ConfigMap/shop/settings",
        "values must be strings (quote them): version",
    ),
    ("crd-wrong-name.yaml", None, "must be named widgets.example.com"),
    ("not-a-mapping.yaml", None, "document 1: is a list, not an object"),
    ("list-without-items.yaml", None, "a List needs `items`"),
    ("list-item-not-a-mapping.yaml", None, "document 1, items[0]: is a str"),
]


@pytest.mark.parametrize(("name", "ref", "message"), INVALID)
def test_invalid_object_is_refused_with_its_reason(
    name: str, ref: str | None, message: str
) -> None:
    path = f"invalid/{name}"
    with pytest.raises(InvalidObject) as caught:
        load_manifests({path: fixture(path)})
    error = caught.value
    assert error.path == path
    assert message in str(error)
    if ref is not None:
        assert str(error.ref) == ref


VALID = [
    ("rbac-name-with-colon.yaml", ["ClusterRole/system:viewer"]),
    ("custom-resource-uppercase-name.yaml", ["Widget/shop/Blue_Widget"]),
    ("nested-list.yaml", ["ConfigMap/shop/one", "ConfigMap/shop/two", "ConfigMap/shop/three"]),
]


@pytest.mark.parametrize(("name", "refs"), VALID)
def test_valid_edge_case_loads(name: str, refs: list[str]) -> None:
    path = f"valid/{name}"
    assert [str(m.ref) for m in load_manifests({path: fixture(path)})] == refs


def test_all_problems_of_an_object_are_named_together() -> None:
    text = b"apiVersion: Bad/Version\nkind: 9\nmetadata: []\n"
    with pytest.raises(InvalidObject) as caught:
        load_manifests({"x.yaml": text})
    message = str(caught.value)
    assert "apiVersion 'Bad/Version'" in message
    assert "kind is missing or not a string" in message
    assert "metadata is missing or not a mapping" in message


@pytest.mark.parametrize(
    "name",
    ["a" * 253, "a.b-c.d", "0abc", "x"],
)
def test_dns_subdomain_names_that_are_valid(name: str) -> None:
    text = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: '{name}', namespace: s}}\n"
    assert load_manifests({"s.yaml": text.encode()})


@pytest.mark.parametrize(
    "name",
    ["a" * 254, "-a", "a-", "A", "a_b", "a..b", "ä"],
)
def test_dns_subdomain_names_that_are_not(name: str) -> None:
    text = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: '{name}', namespace: s}}\n"
    with pytest.raises(InvalidObject, match=r"metadata\.name"):
        load_manifests({"s.yaml": text.encode()})


@pytest.mark.parametrize(
    ("api_version", "ok"),
    [
        ("v1", True),
        ("apps/v1", True),
        ("example.com/v1alpha1", True),
        ("cert-manager.io/v1", True),
        ("V1", False),
        ("/v1", False),
        ("apps/", False),
        ("a/b/v1", False),
        ("example.com/v1_beta", False),
    ],
)
def test_api_version_form(api_version: str, ok: bool) -> None:
    text = f"apiVersion: '{api_version}'\nkind: Thing\nmetadata: {{name: t, namespace: s}}\n"
    files = {"t.yaml": text.encode()}
    if ok:
        assert load_manifests(files)
    else:
        with pytest.raises(InvalidObject, match="apiVersion"):
            load_manifests(files)
