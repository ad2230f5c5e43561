"""load_manifests end to end on fixture trees: selection, formats, lists, scope, errors."""

from __future__ import annotations

import pytest

from orchestrator.errors import (
    InvalidObject,
    ManifestError,
    ManifestErrors,
    ManifestParseError,
)
from orchestrator.manifests import load_manifests
from orchestrator.objectref import ObjectRef

from .manifests_fixtures import fixture, refs, tree

BASIC = [
    # files by path, documents in file order
    "ConfigMap/shop/web-config",
    "ServiceAccount/shop/web",
    "Deployment/shop/web",
    "Service/shop/web",
    "Secret/shop/web-settings",
    "ClusterRoleBinding/system:shop-viewer",
    "ClusterRole/system:shop-viewer",
    "PriorityClass/shop-critical",
    "CustomResourceDefinition/widgets.example.com",
    "CustomResourceDefinition/gadgets.example.com",
    "Widget/shop/blue",
    "Gadget/Big-Gadget",
    "Namespace/shop",
    "Role/shop/web-reader",
    "RoleBinding/shop/web-reader",
    "ValidatingWebhookConfiguration/shop-validate",
    "MutatingWebhookConfiguration/shop-mutate",
    "ValidatingAdmissionPolicyBinding/shop-policy",
    "ValidatingAdmissionPolicy/shop-policy",
]


def test_loads_a_delivery_in_source_order(yaml_loader: str) -> None:
    manifests = load_manifests(tree("basic"), root="deliver", default_namespace="shop")
    assert refs(manifests) == BASIC


def test_each_manifest_names_its_file_and_api_version() -> None:
    loaded = load_manifests(tree("basic"), root="deliver", default_namespace="shop")
    manifests = {str(m.ref): m for m in loaded}
    deployment = manifests["Deployment/shop/web"]
    assert deployment.path == "deliver/app/deployment.yaml"
    assert deployment.api_version == "apps/v1"
    assert deployment.ref == ObjectRef(
        group="apps", kind="Deployment", namespace="shop", name="web"
    )
    assert deployment.body["spec"]["replicas"] == 2
    assert manifests["Secret/shop/web-settings"].path == "deliver/app/settings.json"
    assert manifests["Role/shop/web-reader"].path == "deliver/rbac-list.yaml"


def test_files_outside_root_hidden_or_not_yaml_are_not_read() -> None:
    files = tree("basic")
    # Each of these would fail to load if it were read.
    assert "outside/stray.yaml" in files
    assert "deliver/.github/workflow.yaml" in files
    assert "deliver/notes.txt" in files
    paths = {m.path for m in load_manifests(files, root="deliver", default_namespace="shop")}
    assert paths == {
        "deliver/namespace.yaml",
        "deliver/crds/widgets.yaml",
        "deliver/app/deployment.yaml",
        "deliver/app/config.yml",
        "deliver/app/settings.json",
        "deliver/rbac-list.yaml",
        "deliver/cluster/rbac.yaml",
        "deliver/webhooks.yaml",
        "deliver/custom.yaml",
    }


@pytest.mark.parametrize("root", ["deliver", "deliver/", "./deliver", "/deliver"])
def test_root_spellings_mean_the_same_directory(root: str) -> None:
    assert refs(load_manifests(tree("basic"), root=root, default_namespace="shop")) == BASIC


def test_root_may_not_leave_the_repository() -> None:
    with pytest.raises(ManifestError, match="inside the repository"):
        load_manifests(tree("basic"), root="deliver/../../etc")


def test_whole_repository_as_root_reads_outside_too() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifests(tree("basic"), root="", default_namespace="shop")
    assert "outside/stray.yaml" in str(caught.value)


def test_a_prefix_of_a_directory_name_is_not_the_directory() -> None:
    files = {"deliverables/x.yaml": b"not: [valid"}
    assert load_manifests({**tree("basic"), **files}, root="deliver", default_namespace="shop")


def test_json_and_yaml_of_the_same_object_are_the_same_manifest() -> None:
    json_manifest = load_manifests({"a.json": fixture("basic/deliver/app/settings.json")})[0]
    yaml_text = (
        b"apiVersion: v1\nkind: Secret\nstringData: {token: not-a-real-token}\n"
        b"metadata: {namespace: shop, name: web-settings}\n"
    )
    yaml_manifest = load_manifests({"a.yaml": yaml_text})[0]
    assert json_manifest.body == yaml_manifest.body
    assert json_manifest.digest == yaml_manifest.digest


def test_list_expands_nested_and_typed_lists() -> None:
    manifests = load_manifests({"l.yaml": fixture("valid/nested-list.yaml")})
    assert refs(manifests) == ["ConfigMap/shop/one", "ConfigMap/shop/two", "ConfigMap/shop/three"]


def test_scalars_are_read_as_kubernetes_reads_them(yaml_loader: str) -> None:
    (manifest,) = load_manifests({"s.yaml": fixture("valid/yaml11-scalars.yaml")})
    assert manifest.body["data"] == {
        "date": "2024-05-01",
        "time": "2024-05-01T10:00:00Z",
        "equals": "=",
        "quoted": "yes",
    }
    assert manifest.body["spec"] == {"enabled": True, "octal": 0o755, "number": 1000}


def test_merge_keys_work(yaml_loader: str) -> None:
    (manifest,) = load_manifests({"m.yaml": fixture("valid/merge-keys.yaml")})
    assert manifest.body["data"]["derived"] == {"mode": "production", "level": "debug"}


def test_aliases_do_not_share_objects_in_the_result(yaml_loader: str) -> None:
    (manifest,) = load_manifests({"a.yaml": fixture("limits/aliases.yaml")})
    containers = manifest.body["spec"]["template"]["spec"]["containers"]
    assert containers[1]["env"] == containers[2]["env"]
    assert containers[1]["env"] is not containers[2]["env"]


class TestNamespaces:
    def test_namespaced_objects_get_the_default_namespace(self) -> None:
        files = {"c.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
        (manifest,) = load_manifests(files, default_namespace="shop")
        assert str(manifest.ref) == "ConfigMap/shop/c"
        assert manifest.body["metadata"]["namespace"] == "shop"

    def test_no_default_namespace_is_an_error_naming_the_object(self) -> None:
        files = {"c.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
        with pytest.raises(InvalidObject, match="no default namespace") as caught:
            load_manifests(files)
        assert caught.value.path == "c.yaml"
        assert str(caught.value.ref) == "ConfigMap/c"

    def test_scope_of_custom_resources_comes_from_their_crd_in_the_delivery(self) -> None:
        manifests = load_manifests(tree("basic"), root="deliver", default_namespace="shop")
        by_kind = {m.ref.kind: m for m in manifests}
        assert by_kind["Widget"].ref.namespace == "shop"
        assert by_kind["Gadget"].ref.namespace == ""

    def test_unknown_kinds_keep_what_they_say(self) -> None:
        files = {
            "x.yaml": b"apiVersion: other.io/v1\nkind: Thing\nmetadata: {name: t}\n---\n"
            b"apiVersion: other.io/v1\nkind: Thing\nmetadata: {name: u, namespace: elsewhere}\n"
        }
        manifests = load_manifests(files, default_namespace="shop")
        assert refs(manifests) == ["Thing/t", "Thing/elsewhere/u"]

    def test_the_callers_scope_decides_for_kinds_it_knows(self) -> None:
        files = {"x.yaml": b"apiVersion: other.io/v1\nkind: Thing\nmetadata: {name: t}\n"}

        def discovery(ref: ObjectRef) -> bool | None:
            return True if ref.group == "other.io" else None

        manifests = load_manifests(files, default_namespace="shop", namespaced=discovery)
        assert refs(manifests) == ["Thing/shop/t"]

    def test_cluster_scoped_custom_resource_with_namespace_is_an_error(self) -> None:
        files = {
            **tree("basic"),
            "deliver/z.yaml": b"apiVersion: example.com/v1\nkind: Gadget\n"
            b"metadata: {name: g, namespace: shop}\n",
        }
        with pytest.raises(InvalidObject, match="cluster-scoped"):
            load_manifests(files, root="deliver", default_namespace="shop")


class TestErrors:
    def test_every_bad_file_is_reported_at_once(self) -> None:
        files = {
            "a.yaml": fixture("parse/syntax-error.yaml"),
            "b.yaml": fixture("invalid/missing-kind.yaml"),
            "c.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: shop}\n",
            "d.yaml": fixture("invalid/bad-namespace.yaml"),
        }
        with pytest.raises(ManifestErrors) as caught:
            load_manifests(files)
        errors = caught.value.errors
        assert [(type(e), e.path) for e in errors] == [
            (ManifestParseError, "a.yaml"),
            (InvalidObject, "b.yaml"),
            (InvalidObject, "d.yaml"),
        ]
        message = str(caught.value)
        assert message.startswith(".: 3 problems:")
        assert "a.yaml: line 4" in message
        assert "b.yaml: document 1: kind is missing" in message
        assert "d.yaml: ConfigMap/Shop/settings" in message

    def test_one_problem_is_raised_as_itself(self) -> None:
        with pytest.raises(InvalidObject) as caught:
            load_manifests({"b.yaml": fixture("invalid/missing-kind.yaml")})
        assert not isinstance(caught.value, ManifestErrors)

    def test_errors_in_later_documents_say_which_document(self) -> None:
        files = {"m.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- 1\n"}
        with pytest.raises(InvalidObject, match=r"m\.yaml: document 2: is a list"):
            load_manifests(files)

    def test_empty_delivery_is_empty(self) -> None:
        assert load_manifests({}) == []
        assert load_manifests({"e.yaml": b"", "f.yaml": b"---\n---\n"}) == []
