"""Verification runs as real Jobs: created per revision, outcome and outputs read, pruned.

The Jobs' pods run on the harness's kwok node: without annotation they succeed;
`orchestrator.dev/test-outcome: fail` makes them exit 1 (e2e/controlplane/kwok-stages.yaml).
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import VerificationFailed
from orchestrator.health import ClusterAccess, RunOutcome, RunTemplate, ensure_run, wait_for_runs
from orchestrator.health.runs import LABEL_ENVIRONMENT, LABEL_REVISION, LABEL_RUN
from orchestrator.kube.client import KubeClient

FIELD_MANAGER = "orchestrator-health-test"
REV1 = "3f786850e387550fdab836ed7e6dc881de23001b"
REV2 = "89e6c98d92887913cadf06b2adb97f26cde4849b"


def job_template(
    namespace: str, *, name: str = "smoke", outcome: str | None = None, **extra: Any
) -> RunTemplate:
    pod_meta = {"annotations": {"orchestrator.dev/test-outcome": outcome}} if outcome else {}
    return RunTemplate.model_validate(
        {
            "name": name,
            "template": {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"namespace": namespace},
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "metadata": pod_meta,
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {
                                    "name": "check",
                                    "image": "curlimages/curl",
                                    "args": ["$(params.url)$", "--revision=$(revision)$"],
                                }
                            ],
                        },
                    },
                },
            },
            "timeoutSeconds": 60,
            **extra,
        }
    )


def wait(access: ClusterAccess, template: RunTemplate, *, revision: str = REV1) -> list[Any]:
    return wait_for_runs(
        access,
        [template],
        environment="staging",
        revision=revision,
        delivery="checkout",
        params={"url": "http://shop.staging"},
        field_manager=FIELD_MANAGER,
        interval=0.5,
    )


def jobs(kube: KubeClient, namespace: str, template: str = "smoke") -> list[dict[str, Any]]:
    return kube.list(
        api_version="batch/v1",
        kind="Job",
        namespace=namespace,
        label_selector=f"{LABEL_RUN}={template}",
    )


def test_a_succeeding_job_passes_and_its_outputs_are_read(
    kube: KubeClient, access: ClusterAccess, namespace: str
) -> None:
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "target", "namespace": namespace, "labels": {"role": "smoke"}},
            "data": {"host": "shop.staging.svc"},
        },
        field_manager=FIELD_MANAGER,
    )
    template = job_template(
        namespace,
        selector={"apiVersion": "v1", "kind": "ConfigMap", "matchLabels": {"role": "smoke"}},
        outputs={"succeeded": "status.succeeded", "finished": "status.completionTime"},
    )
    template.template["spec"]["template"]["spec"]["containers"][0]["args"].append(
        "--host=$(selected.data.host)$"
    )

    (result,) = wait(access, template)

    assert result.outcome is RunOutcome.PASSED, result.message
    assert result.message.startswith("Complete=True")
    assert result.outputs["succeeded"] == 1
    assert isinstance(result.outputs["finished"], str)
    assert result.outputs["finished"].endswith("Z")
    (job,) = jobs(kube, namespace)
    assert job["metadata"]["name"] == result.run_name
    assert job["metadata"]["name"].startswith("smoke-")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "http://shop.staging",
        f"--revision={REV1}",
        "--host=shop.staging.svc",
    ]
    assert result.as_record()["outputs"] == result.outputs


def test_a_failing_job_blocks_the_gate(
    kube: KubeClient, access: ClusterAccess, namespace: str
) -> None:
    template = job_template(namespace, outcome="fail")

    with pytest.raises(VerificationFailed) as failed:
        wait(access, template)

    (job,) = jobs(kube, namespace)
    name = job["metadata"]["name"]
    message = str(failed.value)
    assert message.startswith(f"run smoke (Job/{namespace}/{name}): Failed: ")
    assert "BackoffLimitExceeded" in message
    assert [r["outcome"] for r in failed.value.records] == ["Failed"]


def test_a_second_revision_creates_a_second_run_and_old_ones_are_pruned(
    kube: KubeClient, access: ClusterAccess, namespace: str
) -> None:
    template = job_template(namespace, retention=1)
    (first,) = wait(access, template, revision=REV1)
    before = kube.get(api_version="batch/v1", kind="Job", name=first.run_name, namespace=namespace)
    assert before is not None

    again = ensure_run(
        access,
        template,
        environment="staging",
        revision=REV1,
        delivery="checkout",
        params={"url": "http://shop.staging"},
        field_manager=FIELD_MANAGER,
    )
    assert again["metadata"]["name"] == first.run_name  # same revision: found, not created

    second = ensure_run(
        access,
        template,
        environment="staging",
        revision=REV2,
        delivery="checkout",
        params={"url": "http://shop.staging"},
        field_manager=FIELD_MANAGER,
    )
    assert second["metadata"]["name"] != first.run_name
    by_name = {j["metadata"]["name"]: j for j in jobs(kube, namespace)}
    assert set(by_name) == {first.run_name, second["metadata"]["name"]}
    untouched = by_name[first.run_name]
    assert untouched["metadata"]["labels"][LABEL_REVISION] == REV1
    assert untouched["metadata"]["labels"][LABEL_ENVIRONMENT] == "staging"
    assert untouched["metadata"]["generation"] == before["metadata"]["generation"]
    assert untouched["metadata"]["managedFields"] == before["metadata"]["managedFields"]

    (result,) = wait(access, template, revision=REV2)

    assert result.outcome is RunOutcome.PASSED
    assert result.run_name == second["metadata"]["name"]
    remaining = [j["metadata"]["name"] for j in jobs(kube, namespace)]
    assert remaining == [second["metadata"]["name"]]  # retention 1: REV1's run is gone
