"""The same Kind/namespace/name twice is an error naming both files."""

from __future__ import annotations

import pytest

from orchestrator.errors import DuplicateObject, ManifestErrors
from orchestrator.manifests import load_manifests

from .manifests_fixtures import fixture, tree


def test_duplicates_name_both_files() -> None:
    with pytest.raises(ManifestErrors) as caught:
        load_manifests(tree("duplicates"), root="deliver", default_namespace="shop")
    errors = caught.value.errors
    assert all(isinstance(e, DuplicateObject) for e in errors)
    assert [str(e) for e in errors] == [
        # b.yaml's ConfigMap gets the default namespace, so it is a.yaml's object again.
        "deliver/b.yaml: ConfigMap/shop/settings: defined twice: also in deliver/a.yaml",
        "deliver/c.yaml: Secret/shop/token: defined twice: also earlier in this file",
    ]


def test_same_name_in_another_namespace_kind_or_group_is_not_a_duplicate() -> None:
    files = {"c.yaml": fixture("duplicates/deliver/c.yaml")}
    with pytest.raises(DuplicateObject) as caught:
        load_manifests(files)
    assert str(caught.value.ref) == "Secret/shop/token"


def test_another_default_namespace_makes_them_different_objects() -> None:
    files = tree("duplicates")
    del files["deliver/c.yaml"]
    manifests = load_manifests(files, root="deliver", default_namespace="staging")
    assert [str(m.ref) for m in manifests] == [
        "ConfigMap/shop/settings",
        "ConfigMap/staging/settings",
    ]


def test_versions_of_one_group_are_the_same_object() -> None:
    files = {
        "v1.yaml": b"apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\n"
        b"metadata: {name: web, namespace: shop}\n",
        "v2.yaml": b"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        b"metadata: {name: web, namespace: shop}\n",
    }
    with pytest.raises(DuplicateObject, match=r"also in v1\.yaml") as caught:
        load_manifests(files)
    assert caught.value.path == "v2.yaml"
