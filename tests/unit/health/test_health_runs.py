"""Verification runs: render, label, create once, outcome, outputs, retention, wait."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from orchestrator.errors import (
    ClusterUnreachable,
    HealthWaitCancelled,
    KubeError,
    VerificationFailed,
)
from orchestrator.health import RunOutcome, RunResult, RunTemplate, ensure_run, run_outcome
from orchestrator.health.runs import (
    ANNOTATION_DELIVERY,
    ANNOTATION_REVISION,
    LABEL_ENVIRONMENT,
    LABEL_REVISION,
    LABEL_RUN,
    find_runs,
    prune_runs,
    render_run,
    revision_label,
    run_labels,
    run_result,
    runs_to_prune,
    wait_for_runs,
)
from orchestrator.manifests.params import Parameters

from .health_fakes import FakeClock, FakeCluster

SHA1 = "3f786850e387550fdab836ed7e6dc881de23001b"
SHA1_NEXT = "89e6c98d92887913cadf06b2adb97f26cde4849b"
SHA256 = "a" * 64


def job_template(**extra: Any) -> RunTemplate:
    template: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"namespace": "verify", "labels": {"team": "payments"}},
        "spec": {
            "backoffLimit": "$(params.retries)$",
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "smoke",
                            "image": "curl",
                            "args": [
                                "$(params.url)$/healthz?rev=$(revision)$",
                                "--env=$(environment)$",
                                "--delivery=$(delivery)$",
                            ],
                        }
                    ],
                }
            },
        },
    }
    return RunTemplate.model_validate({"name": "smoke", "template": template, **extra})


PARAMS = {"url": "https://shop.staging", "retries": 2}


def ensure(cluster: FakeCluster, template: RunTemplate, revision: str = SHA1) -> dict[str, Any]:
    return ensure_run(
        cluster,
        template,
        environment="staging",
        revision=revision,
        delivery="checkout",
        params=PARAMS,
        field_manager="orchestrator",
    )


def job_status(state: str) -> dict[str, Any]:
    if state == "complete":
        return {
            "succeeded": 1,
            "completionTime": "2026-01-01T00:01:00Z",
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": "Complete", "status": "True"},
            ],
        }
    if state == "failed":
        return {
            "failed": 1,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        }
    return {"active": 1}


# --- rendering ---------------------------------------------------------------------------


def test_render_fills_every_placeholder_and_labels_the_run() -> None:
    body = render_run(
        job_template(),
        environment="staging",
        revision=SHA1,
        delivery="checkout",
        params=PARAMS,
    )
    assert body["spec"]["backoffLimit"] == 2  # a whole-value placeholder keeps its type
    args = body["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == [
        f"https://shop.staging/healthz?rev={SHA1}",
        "--env=staging",
        "--delivery=checkout",
    ]
    meta = body["metadata"]
    assert meta["generateName"] == "smoke-"
    assert "name" not in meta
    assert meta["labels"] == {
        "team": "payments",
        "app.kubernetes.io/managed-by": "orchestrator",
        LABEL_RUN: "smoke",
        LABEL_ENVIRONMENT: "staging",
        LABEL_REVISION: SHA1,
    }
    assert meta["annotations"] == {ANNOTATION_REVISION: SHA1, ANNOTATION_DELIVERY: "checkout"}


def test_render_leaves_the_template_untouched() -> None:
    template = job_template()
    render_run(template, environment="staging", revision=SHA1, delivery="d", params=PARAMS)
    assert template.template["spec"]["backoffLimit"] == "$(params.retries)$"
    assert "generateName" not in template.template["metadata"]


def test_a_missing_parameter_is_named_with_its_field() -> None:
    with pytest.raises(VerificationFailed) as failed:
        render_run(
            job_template(),
            environment="staging",
            revision=SHA1,
            delivery="checkout",
            params=Parameters(
                values={"retries": 1}, sources=("deliver/.orchestrator/params/staging.yaml",)
            ),
        )
    message = str(failed.value)
    assert message.startswith("cannot create verification run smoke: run template smoke: ")
    assert "spec.template.spec.containers[0].args[0]: no value for $(params.url)$" in message
    assert "(parameters come from deliver/.orchestrator/params/staging.yaml)" in message


def test_selected_fields_fill_the_template() -> None:
    template = RunTemplate.model_validate(
        {
            "name": "probe",
            "template": {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"namespace": "verify"},
                "spec": {"endpoint": "$(selected.data.url)$", "whole": "$(selected.data)$"},
            },
            "selector": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "matchLabels": {"app": "shop"},
            },
        }
    )
    selected = {"metadata": {"name": "endpoints"}, "data": {"url": "http://shop"}}
    body = render_run(template, environment="e", revision=SHA1, delivery="d", selected=selected)
    assert body["spec"] == {"endpoint": "http://shop", "whole": {"url": "http://shop"}}

    with pytest.raises(
        VerificationFailed,
        match=r"no value for \$\(selected\.data\.url\)\$: selected\.data has no key 'url'",
    ):
        render_run(template, environment="e", revision=SHA1, delivery="d", selected={"data": {}})


def test_tekton_placeholders_pass_through() -> None:
    template = RunTemplate.model_validate(
        {
            "name": "pipeline",
            "template": {
                "apiVersion": "tekton.dev/v1",
                "kind": "TaskRun",
                "metadata": {"namespace": "verify"},
                "spec": {"script": "echo $(params.x) $(revision)$"},
            },
        }
    )
    body = render_run(template, environment="e", revision="r1", delivery="d")
    assert body["spec"]["script"] == "echo $(params.x) r1"


def test_a_filled_value_cannot_inject_another_placeholder() -> None:
    body = render_run(
        job_template(),
        environment="staging",
        revision=SHA1,
        delivery="$(params.url)$",
        params=PARAMS,
    )
    args = body["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[2] == "--delivery=$(params.url)$"


# --- labels ----------------------------------------------------------------------------


def test_revision_labels_fit_the_63_character_limit() -> None:
    assert revision_label(SHA1) == SHA1  # a SHA-1 fits whole
    assert revision_label(SHA256) == "a" * 40  # a SHA-256 is cut; the annotation keeps it whole
    assert revision_label("v1.2.3") == "v1.2.3"
    with pytest.raises(ValueError, match="cannot be a label value"):
        revision_label("feature/x")


def test_environment_must_be_a_label_value() -> None:
    assert run_labels("smoke", environment="prod-eu", revision=SHA1)[LABEL_ENVIRONMENT] == "prod-eu"
    with pytest.raises(ValueError, match="environment"):
        run_labels("smoke", environment="prod eu", revision=SHA1)


# --- create, never update ----------------------------------------------------------------


def test_a_run_is_created_once_per_revision_and_never_updated() -> None:
    cluster = FakeCluster()
    template = job_template()

    first = ensure(cluster, template)
    again = ensure(cluster, template)
    second = ensure(cluster, template, revision=SHA1_NEXT)

    assert first["metadata"]["name"] == again["metadata"]["name"]
    assert second["metadata"]["name"] != first["metadata"]["name"]
    assert len(cluster.created) == 2
    assert [c["metadata"]["labels"][LABEL_REVISION] for c in cluster.created] == [SHA1, SHA1_NEXT]
    assert all(c["metadata"]["name"].startswith("smoke-") for c in cluster.created)


def test_runs_are_kept_apart_by_environment() -> None:
    cluster = FakeCluster()
    template = job_template()
    ensure(cluster, template)
    ensure_run(
        cluster,
        template,
        environment="production",
        revision=SHA1,
        delivery="checkout",
        params=PARAMS,
        field_manager="orchestrator",
    )
    assert len(cluster.created) == 2
    assert len(find_runs(cluster, template, environment="staging", revision=SHA1)) == 1


def test_a_sha256_prefix_match_is_not_the_same_revision() -> None:
    cluster = FakeCluster()
    template = job_template()
    ensure(cluster, template, revision=SHA256)
    ensure(cluster, template, revision="a" * 40 + "b" * 24)  # same label, different revision
    assert len(cluster.created) == 2


def test_the_selector_picks_the_newest_match() -> None:
    cluster = FakeCluster()
    for name, url in (("old", "http://old"), ("new", "http://new")):
        cluster.put(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "verify", "labels": {"app": "shop"}},
                "data": {"url": url},
            }
        )
    template = job_template(
        selector={"apiVersion": "v1", "kind": "ConfigMap", "matchLabels": {"app": "shop"}}
    )
    template.template["metadata"]["annotations"] = {"endpoint": "$(selected.data.url)$"}
    run = ensure(cluster, template)
    assert run["metadata"]["annotations"]["endpoint"] == "http://new"


def test_a_selector_without_a_match_is_a_clear_error() -> None:
    template = job_template(
        selector={"apiVersion": "v1", "kind": "ConfigMap", "matchLabels": {"app": "shop", "x": "1"}}
    )
    with pytest.raises(VerificationFailed) as failed:
        ensure(FakeCluster(), template)
    assert str(failed.value) == (
        "cannot create verification run smoke: its selector found no ConfigMap labelled "
        "app=shop,x=1 in namespace verify"
    )


def test_a_rejected_run_is_a_verification_failure() -> None:
    class Rejecting(FakeCluster):
        def create(self, obj: Any, *, field_manager: str) -> dict[str, Any]:
            raise KubeError("create: Job.batch is invalid: spec.template: Required value")

    with pytest.raises(VerificationFailed, match="Required value"):
        ensure(Rejecting(), job_template())


# --- outcomes and outputs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "outcome", "message"),
    [
        ([{"type": "Complete", "status": "True"}], RunOutcome.PASSED, "Complete=True"),
        (
            [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
            RunOutcome.PASSED,
            "Succeeded=True: Succeeded",
        ),
        (
            [
                {
                    "type": "Succeeded",
                    "status": "False",
                    "reason": "TaskRunTimeout",
                    "message": "ran 1h",
                }
            ],
            RunOutcome.FAILED,
            "Succeeded=False: TaskRunTimeout: ran 1h",
        ),
        (
            [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}],
            RunOutcome.FAILED,
            "Failed=True: BackoffLimitExceeded",
        ),
        (
            [{"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded"}],
            RunOutcome.FAILED,
            "FailureTarget=True: DeadlineExceeded",
        ),
        (
            [{"type": "Complete", "status": "True"}, {"type": "Failed", "status": "True"}],
            RunOutcome.FAILED,
            "Failed=True",
        ),
        (
            [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
            RunOutcome.PENDING,
            "Succeeded=Unknown: Running",
        ),
        (
            [{"type": "Complete", "status": "False"}],
            RunOutcome.PENDING,
            "running: no Succeeded or Complete condition yet",
        ),
        ([], RunOutcome.PENDING, "running: no Succeeded or Complete condition yet"),
    ],
)
def test_run_outcome(conditions: list[dict[str, str]], outcome: RunOutcome, message: str) -> None:
    assert run_outcome({"status": {"conditions": conditions}}) == (outcome, message)


def run(name: str, revision: str, state: str, *, created: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "verify",
            "creationTimestamp": f"2026-01-01T00:00:{created:02d}Z",
            "labels": {LABEL_RUN: "smoke", LABEL_ENVIRONMENT: "staging", LABEL_REVISION: revision},
            "annotations": {ANNOTATION_REVISION: revision},
        },
        "status": job_status(state),
    }


def test_outputs_are_read_from_the_succeeded_run() -> None:
    template = job_template(
        outputs={"succeeded": "status.succeeded", "done": ".status.completionTime"}
    )
    result = run_result(template, [run("smoke-b", SHA1, "complete", created=2)], revision=SHA1)
    assert result == RunResult(
        name="smoke",
        outcome=RunOutcome.PASSED,
        message="Complete=True",
        run_name="smoke-b",
        namespace="verify",
        api_version="batch/v1",
        kind="Job",
        revision=SHA1,
        outputs={"succeeded": 1, "done": "2026-01-01T00:01:00Z"},
    )
    assert result.as_record()["outputs"] == {"succeeded": 1, "done": "2026-01-01T00:01:00Z"}
    assert str(result.ref) == "Job/verify/smoke-b"


def test_the_newest_run_decides_and_outputs_come_from_the_newest_success() -> None:
    template = job_template(outputs={"succeeded": "status.succeeded"})
    runs = [run("smoke-c", SHA1, "running", created=3), run("smoke-b", SHA1, "complete", created=2)]
    result = run_result(template, runs, revision=SHA1)
    assert result.outcome is RunOutcome.PENDING
    assert result.run_name == "smoke-c"
    assert result.outputs == {"succeeded": 1}

    runs = [run("smoke-c", SHA1, "complete", created=3), run("smoke-b", SHA1, "failed", created=2)]
    assert run_result(template, runs, revision=SHA1).outcome is RunOutcome.PASSED


def test_a_passed_run_without_a_declared_output_fails() -> None:
    template = job_template(outputs={"digest": "status.results[0].value"})
    result = run_result(template, [run("smoke-b", SHA1, "complete", created=2)], revision=SHA1)
    assert result.outcome is RunOutcome.FAILED
    assert (
        result.message
        == "Complete=True, but cannot read output digest (status.results[0].value: no value)"
    )


# --- retention ---------------------------------------------------------------------------


def test_retention_keeps_the_newest_finished_runs_and_never_the_current_revision() -> None:
    runs = [
        run("r1", "rev1", "complete", created=1),
        run("r2", "rev2", "failed", created=2),
        run("r3", "rev3", "complete", created=3),
        run("r4", "rev4", "running", created=4),  # pending: never pruned
        run("r5", "rev5", "complete", created=5),
        run("r6", "rev6", "complete", created=6),
    ]
    doomed = runs_to_prune(runs, retention=2, revision="rev5")
    assert [r["metadata"]["name"] for r in doomed] == ["r1", "r2", "r3"]  # oldest first

    doomed = runs_to_prune(runs, retention=1, revision="rev5")
    assert [r["metadata"]["name"] for r in doomed] == ["r1", "r2", "r3"]  # r5 is current

    assert runs_to_prune(runs, retention=10, revision="rev6") == []


def test_prune_runs_deletes_in_the_cluster() -> None:
    cluster = FakeCluster()
    template = job_template(retention=1)
    for index, revision in enumerate(("rev1", "rev2", "rev3"), start=1):
        cluster.put(run(f"smoke-{index}", revision, "complete", created=index))
    assert prune_runs(cluster, template, environment="staging", revision="rev3") == [
        "smoke-1",
        "smoke-2",
    ]
    assert cluster.deleted == ["smoke-1", "smoke-2"]


def test_a_failed_delete_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    class Stubborn(FakeCluster):
        def delete(self, **kwargs: Any) -> bool:
            raise KubeError("delete: conflict")

    cluster = Stubborn()
    cluster.put(run("smoke-1", "rev1", "complete", created=1))
    cluster.put(run("smoke-2", "rev2", "complete", created=2))
    assert (
        prune_runs(cluster, job_template(retention=1), environment="staging", revision="rev2") == []
    )
    assert "cannot delete old verification run Job/verify/smoke-1" in caplog.text


# --- waiting -------------------------------------------------------------------------------


def wait(
    cluster: FakeCluster, clock: FakeClock, *templates: RunTemplate, **kwargs: Any
) -> list[RunResult]:
    return wait_for_runs(
        cluster,
        templates,
        environment="staging",
        revision=SHA1,
        delivery="checkout",
        params=PARAMS,
        field_manager="orchestrator",
        interval=2,
        clock=clock,
        sleep=clock.sleep,
        **kwargs,
    )


def finish(cluster: FakeCluster, state: str, index: int = 0) -> None:
    cluster.patch_status(cluster.created[index]["metadata"]["name"], job_status(state))


def test_wait_passes_when_the_run_succeeds_and_records_outputs() -> None:
    cluster, clock = FakeCluster(), FakeClock()
    clock.at(5, lambda: finish(cluster, "complete"))
    seen: list[list[RunOutcome]] = []
    results = wait(
        cluster,
        clock,
        job_template(outputs={"succeeded": "status.succeeded"}),
        progress=lambda rs: seen.append([r.outcome for r in rs]),
    )
    assert [r.outcome for r in results] == [RunOutcome.PASSED]
    assert results[0].outputs == {"succeeded": 1}
    assert results[0].run_name == cluster.created[0]["metadata"]["name"]
    assert seen[0] == [RunOutcome.PENDING]
    assert clock.now == 6


def test_wait_fails_fast_with_every_runs_record() -> None:
    cluster, clock = FakeCluster(), FakeClock()
    slow = job_template()
    quick = RunTemplate.model_validate(
        {**job_template().model_dump(by_alias=True), "name": "quick"}
    )
    clock.at(3, lambda: finish(cluster, "failed", index=1))

    with pytest.raises(VerificationFailed) as failed:
        wait(cluster, clock, slow, quick)

    assert clock.now == 4
    name = cluster.created[1]["metadata"]["name"]
    assert str(failed.value) == (
        f"run quick (Job/verify/{name}): Failed: "
        "Failed=True: BackoffLimitExceeded: Job has reached the specified backoff limit"
    )
    assert [r["outcome"] for r in failed.value.records] == ["Pending", "Failed"]
    assert [r["name"] for r in failed.value.records] == ["smoke", "quick"]


def test_wait_gives_up_after_the_templates_timeout() -> None:
    cluster, clock = FakeCluster(), FakeClock()
    with pytest.raises(
        VerificationFailed, match=r"run smoke \(Job/verify/smoke-\d+\) did not finish within 30s"
    ):
        wait(cluster, clock, job_template(timeoutSeconds=30))
    assert clock.now == 30


def test_a_deleted_run_is_created_again() -> None:
    cluster, clock = FakeCluster(), FakeClock()

    def delete_then_finish() -> None:
        first = cluster.created[0]["metadata"]["name"]
        cluster.remove(api_version="batch/v1", kind="Job", name=first, namespace="verify")
        clock.at(clock.now + 4, lambda: finish(cluster, "complete", index=1))

    clock.at(3, delete_then_finish)
    results = wait(cluster, clock, job_template())
    assert len(cluster.created) == 2
    assert results[0].run_name == cluster.created[1]["metadata"]["name"]


def test_finished_runs_are_pruned_after_the_wait() -> None:
    cluster, clock = FakeCluster(), FakeClock()
    for index, revision in enumerate(("rev1", "rev2"), start=1):
        cluster.put(run(f"smoke-old{index}", revision, "complete", created=index))
    clock.at(1, lambda: finish(cluster, "complete", index=0))
    wait(cluster, clock, job_template(retention=2))
    assert cluster.deleted == ["smoke-old1"]


def test_an_unreachable_server_while_waiting_is_pending() -> None:
    cluster, clock = FakeCluster(), FakeClock()

    def outage() -> None:
        cluster.read_error = ClusterUnreachable("connection refused")

    def recovery() -> None:
        cluster.read_error = None
        finish(cluster, "complete")

    clock.at(1, outage)
    clock.at(5, recovery)
    messages: list[str] = []
    results = wait(
        cluster, clock, job_template(), progress=lambda rs: messages.append(rs[0].message)
    )
    assert results[0].outcome is RunOutcome.PASSED
    assert "cannot be read: connection refused" in messages


def test_wait_is_cancelled_by_a_newer_revision() -> None:
    cluster, clock = FakeCluster(), FakeClock()
    newer = threading.Event()
    clock.at(7, newer.set)
    with pytest.raises(HealthWaitCancelled, match=r"after 8\.0s"):
        wait(cluster, clock, job_template(), cancel=newer)


def test_no_templates_means_nothing_to_wait_for() -> None:
    assert wait(FakeCluster(), FakeClock()) == []


# --- runs that read Secrets ----------------------------------------------------------------

SECRET_VALUE = "hunter2-must-not-leak"


def _secret_reading_template() -> RunTemplate:
    template = job_template(
        selector={"apiVersion": "v1", "kind": "Secret", "matchLabels": {"app": "shop"}},
        outputs={"token": "metadata.annotations.token"},
    )
    template.template["metadata"]["annotations"] = {"token": "$(selected.data.token)$"}
    return template


def _cluster_with_secret(cluster: FakeCluster | None = None) -> FakeCluster:
    cluster = cluster if cluster is not None else FakeCluster()
    cluster.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "verify", "labels": {"app": "shop"}},
            "data": {"token": SECRET_VALUE},
        }
    )
    return cluster


def test_a_run_that_reads_a_secret_keeps_its_outputs_out_of_the_record() -> None:
    cluster, clock = _cluster_with_secret(), FakeClock()
    clock.at(3, lambda: finish(cluster, "complete"))

    (result,) = wait(cluster, clock, _secret_reading_template())

    assert cluster.created[0]["metadata"]["annotations"]["token"] == SECRET_VALUE
    assert result.outcome is RunOutcome.PASSED
    assert result.outputs == {"token": "withheld: the run reads a Secret"}
    assert SECRET_VALUE not in repr(result.as_record())
    assert SECRET_VALUE not in str(result)


def test_a_rejected_secret_reading_run_does_not_quote_the_server() -> None:
    class Rejecting(FakeCluster):
        def create(self, obj: Any, *, field_manager: str) -> dict[str, Any]:
            token = obj["metadata"]["annotations"]["token"]
            raise KubeError(f'create: Job.batch is invalid: annotations: Invalid value: "{token}"')

    cluster = _cluster_with_secret(Rejecting())
    with pytest.raises(VerificationFailed) as failed:
        ensure(cluster, _secret_reading_template())
    assert SECRET_VALUE not in str(failed.value)
    assert "withheld" in str(failed.value)
