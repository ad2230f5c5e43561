"""Apply order: definitions, cluster-scoped, namespaced, webhooks; deterministic inside."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.manifests import Manifest, Stages, load_manifests, stages
from orchestrator.objectref import ObjectRef

from .manifests_fixtures import refs, tree

DELIVERY = load_manifests(tree("basic"), root="deliver", default_namespace="shop")


def test_stages_of_a_delivery() -> None:
    ordered = stages(DELIVERY)
    assert isinstance(ordered, Stages)
    assert [refs(stage) for stage in ordered] == [
        [
            "CustomResourceDefinition/gadgets.example.com",
            "CustomResourceDefinition/widgets.example.com",
            "Namespace/shop",
        ],
        [
            "PriorityClass/shop-critical",
            "ClusterRole/system:shop-viewer",
            "ClusterRoleBinding/system:shop-viewer",
            "Gadget/Big-Gadget",  # custom kinds after the listed ones
        ],
        [
            "ServiceAccount/shop/web",
            "Role/shop/web-reader",
            "RoleBinding/shop/web-reader",
            "Secret/shop/web-settings",
            "ConfigMap/shop/web-config",
            "Service/shop/web",
            "Deployment/shop/web",
            "Widget/shop/blue",
        ],
        [
            "ValidatingAdmissionPolicy/shop-policy",
            "ValidatingAdmissionPolicyBinding/shop-policy",
            "MutatingWebhookConfiguration/shop-mutate",
            "ValidatingWebhookConfiguration/shop-validate",
        ],
    ]


def test_named_stages() -> None:
    ordered = stages(DELIVERY)
    assert refs(ordered.definitions)[-1] == "Namespace/shop"
    assert refs(ordered.webhooks)[0] == "ValidatingAdmissionPolicy/shop-policy"
    assert sum(len(stage) for stage in ordered) == len(DELIVERY)


@given(st.permutations(DELIVERY))
def test_order_does_not_depend_on_input_order(shuffled: list[Manifest]) -> None:
    assert stages(shuffled) == stages(DELIVERY)


def manifest(kind: str, name: str, *, namespace: str = "", api_version: str = "v1") -> Manifest:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return Manifest.of({"apiVersion": api_version, "kind": kind, "metadata": meta}, path="x.yaml")


def test_same_kind_sorts_by_namespace_then_name() -> None:
    items = [
        manifest("ConfigMap", "b", namespace="a"),
        manifest("ConfigMap", "a", namespace="b"),
        manifest("ConfigMap", "a", namespace="a"),
    ]
    assert refs(stages(items).namespaced) == [
        "ConfigMap/a/a",
        "ConfigMap/a/b",
        "ConfigMap/b/a",
    ]


def test_unknown_kinds_without_namespace_ask_the_callers_scope() -> None:
    thing = manifest("Thing", "t", api_version="other.io/v1")
    assert refs(stages([thing]).cluster) == ["Thing/t"]

    def discovery(ref: ObjectRef) -> bool | None:
        return ref.group == "other.io"

    assert refs(stages([thing], namespaced=discovery).namespaced) == ["Thing/t"]


def test_api_services_wait_for_their_backends() -> None:
    api = manifest("APIService", "v1beta1.metrics.k8s.io", api_version="apiregistration.k8s.io/v1")
    assert refs(stages([api]).webhooks) == ["APIService/v1beta1.metrics.k8s.io"]
