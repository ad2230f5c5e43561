"""The product end to end: three clusters, one bare repository, agents as real processes.

Build publishes feature-a; a maintainer merges it into staging; the staging agent
applies it, waits for health and a verification Job, notes Healthy and pushes
pr/production/feature-a; the maintainer merges that; production applies it. Every
assertion reads Git (branches, trailers, notes) or the clusters' live objects.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from tests.support.agents import AgentProcess, eventually
from tests.support.workrepo import WorkRepo, git

pytestmark = pytest.mark.slow


def _policy(app_ns: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "orchestrator.dev/v1alpha1",
            "kind": "PromotionPolicy",
            "environments": {
                "staging": {
                    "promotion": {"to": ["production"], "mode": "pr"},
                    "health": {"timeout": "90s"},
                    "allow": {"clusterScoped": True},
                    "verification": [
                        {
                            "name": "smoke",
                            "template": {
                                "apiVersion": "batch/v1",
                                "kind": "Job",
                                "metadata": {"namespace": app_ns},
                                "spec": {
                                    "backoffLimit": 0,
                                    "template": {
                                        "spec": {
                                            "restartPolicy": "Never",
                                            "containers": [
                                                {
                                                    "name": "smoke",
                                                    "image": "busybox",
                                                    "args": [
                                                        "check",
                                                        "$(revision)$",
                                                        "$(params.smoke-url)$",
                                                    ],
                                                }
                                            ],
                                        }
                                    },
                                },
                            },
                            "outputs": {"finished": "status.completionTime"},
                        }
                    ],
                },
                "production": {"health": {"timeout": "90s"}, "allow": {"clusterScoped": True}},
            },
        }
    )


def _app(app_ns: str, *, name: str = "web", broken: bool = False) -> str:
    pod_meta: dict[str, Any] = {"labels": {"app": name}}
    spec: dict[str, Any] = {
        "replicas": "$(params.replicas)$",
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": pod_meta,
            "spec": {"containers": [{"name": name, "image": "registry.example/web:1.0"}]},
        },
    }
    if broken:
        # kwok keeps these pods from ever becoming ready; the deadline makes it certain.
        pod_meta["annotations"] = {"orchestrator.dev/test-outcome": "never-ready"}
        spec["progressDeadlineSeconds"] = 4
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app_ns}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": app_ns},
            "spec": spec,
        },
    ]
    return yaml.safe_dump_all(docs)


class Bus(WorkRepo):
    def note(self, env: str, sha: str) -> dict[str, Any] | None:
        try:
            text = git("notes", f"--ref=refs/notes/orchestrator/{env}", "show", sha, cwd=self.bare)
        except AssertionError:
            return None
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    def phases(self, env: str, sha: str) -> list[str]:
        note = self.note(env, sha)
        return [e["phase"] for e in note["entries"]] if note else []

    def entry(self, env: str, sha: str, phase: str) -> dict[str, Any] | None:
        note = self.note(env, sha)
        found = [e for e in (note or {}).get("entries", []) if e["phase"] == phase]
        return found[-1] if found else None


def _admin_post(cluster: Cluster, path: str, body: dict[str, Any]) -> None:
    resp = cluster.admin().request("POST", path, body)
    assert resp.ok or resp.status == 409, resp.body


def _get(cluster: Cluster, path: str) -> dict[str, Any] | None:
    resp = cluster.admin().request("GET", path)
    return resp.body if resp.status == 200 else None


def _available(cluster: Cluster, ns: str, name: str) -> dict[str, Any] | None:
    dep = _get(cluster, f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    if dep is None:
        return None
    status = dep.get("status", {})
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    ok = conditions.get("Available") == "True" and status.get("readyReplicas") == 2
    return dep if ok else None


class Flow:
    """One bus, the agents' namespaces, and the agents of one test."""

    def __init__(self, *, clusters: dict[str, Cluster], root: Path) -> None:
        self.clusters = clusters
        self.root = root
        self.uid = uuid.uuid4().hex[:8]
        self.agent_ns = f"agents-{self.uid}"
        self.app_ns = f"app-{self.uid}"
        (root / "bus").mkdir()
        self.bus = Bus(root / "bus")
        self.agents: list[AgentProcess] = []
        for cluster in clusters.values():
            _admin_post(
                cluster,
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.agent_ns}},
            )
        policy = _policy(self.app_ns)
        # The verification run's target comes from the delivery's parameter file.
        params = f"smoke-url: http://web.{self.app_ns}\n"
        for env in ("production", "staging"):
            self.bus.commit(
                env,
                {
                    ".orchestrator/policy.yaml": policy,
                    "manifests/README": "delivered config\n",
                    "manifests/.orchestrator/params/staging.yaml": params,
                },
                message=f"Set up {env}",
            )

    def agent(
        self, env: str, *, role: str = "deliver", replica: str = "", **settings: str
    ) -> AgentProcess:
        cluster = self.clusters[env]
        name = f"{env}{replica}-{self.uid}"
        env_vars = {
            "ORCHESTRATOR_GIT__URL": str(self.bus.bare),
            "ORCHESTRATOR_GIT__CACHE_DIR": str(self.root / "cache" / name),
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
            "ORCHESTRATOR_GIT__AUTHOR_EMAIL": f"{env}@agents.test",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": env,
            "ORCHESTRATOR_AGENT__ROLE": role,
            "ORCHESTRATOR_AGENT__IDENTITY": f"{env}{replica}-agent",
            "ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS": "20",
            "ORCHESTRATOR_AGENT__PARAMS": json.dumps({"replicas": 2}),
            "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
            "ORCHESTRATOR_CLUSTER__NAMESPACE": self.agent_ns,
            "ORCHESTRATOR_SERVER__PORT": "0",
            # The delivery creates its Namespace; the policy narrows this per environment.
            "ORCHESTRATOR_TRUST__CEILING__CLUSTER_SCOPED": "true",
            **settings,
        }
        agent = AgentProcess(name=name, settings=env_vars, log_dir=self.root)
        self.agents.append(agent)
        return agent

    def logs(self) -> str:
        return "\n".join(f"=== {a.name}\n{a.log()[-3000:]}" for a in self.agents)

    def publish(self, feature: str, manifests: str, *, file: str = "app.yaml") -> None:
        """What a supply chain does: a labelled ConfigMap in the build cluster."""
        _admin_post(
            self.clusters["build"],
            f"/api/v1/namespaces/{self.agent_ns}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"render-{feature}",
                    "labels": {
                        "orchestrator.dev/publish": "true",
                        "orchestrator.dev/feature": feature,
                    },
                    "annotations": {"orchestrator.dev/source-commit": "a" * 40},
                },
                "data": {file: manifests},
            },
        )

    def wait_branch(self, branch: str, timeout: float = 60) -> str:
        eventually(
            f"branch {branch}",
            lambda: self.bus.has_remote_branch(branch),
            timeout=timeout,
            logs=self.logs,
        )
        return self.bus.tip(branch)

    def wait_phase(self, env: str, sha: str, phase: str, timeout: float = 120) -> dict[str, Any]:
        return eventually(
            f"{env} note {phase} on {sha[:12]}",
            lambda: self.bus.entry(env, sha, phase),
            timeout=timeout,
            logs=self.logs,
        )

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()


@pytest.fixture
def flow(clusters: dict[str, Cluster], tmp_path: Path) -> Iterator[Flow]:
    f = Flow(clusters=clusters, root=tmp_path)
    try:
        yield f
    finally:
        f.close()


def test_feature_travels_from_build_to_production(flow: Flow) -> None:
    build = flow.agent("build", role="build", ORCHESTRATOR_AGENT__PUBLISH_TO="staging").start()
    staging = flow.agent("staging").start()
    production = flow.agent("production").start()

    flow.publish("feature-a", _app(flow.app_ns))
    candidate = flow.wait_branch("pr/staging/feature-a")
    assert ("Delivery", "feature-a") in flow.bus.trailers(candidate)
    assert ("Source-Commit", "a" * 40) in flow.bus.trailers(candidate)

    merged = flow.bus.merge("pr/staging/feature-a", into="staging")
    promoted = flow.wait_phase("staging", merged, "Promoted")

    # The staging cluster runs it, and the verification Job passed with its output read.
    dep = _available(flow.clusters["staging"], flow.app_ns, "web")
    assert dep is not None
    healthy = flow.bus.entry("staging", merged, "Healthy")
    assert healthy is not None
    assert healthy["health"] == "Healthy (2/2)"
    assert healthy["delivery"] == "feature-a"
    assert {o["object"] for o in healthy["objects"]} == {
        f"Namespace/{flow.app_ns}",
        f"Deployment/{flow.app_ns}/web",
    }
    (run,) = healthy["runs"]
    assert run["outcome"] == "Passed"
    assert run["outputs"]["finished"]
    job = _get(
        flow.clusters["staging"], f"/apis/batch/v1/namespaces/{flow.app_ns}/jobs/{run['run']}"
    )
    assert job is not None
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "check",
        merged,
        f"http://web.{flow.app_ns}",
    ]

    # The promotion commit, with the protocol's trailers.
    target = flow.wait_branch("pr/production/feature-a")
    assert promoted["promotions"] == [
        {
            "target": "production",
            "ref": "refs/heads/pr/production/feature-a",
            "commit": target,
            "pushed": True,
        }
    ]
    assert flow.bus.trailers(target) == [
        ("Delivery", "feature-a"),
        ("Source-Commit", "a" * 40),
        ("Promoted-From", f"staging@{merged}"),
        ("Verified-By", "staging-agent"),
        ("Health", "Healthy (2/2)"),
    ]
    assert flow.bus.show(target, ".orchestrator/policy.yaml") == flow.bus.show(
        "production", ".orchestrator/policy.yaml"
    )

    released = flow.bus.merge("pr/production/feature-a", into="production")
    in_production = flow.wait_phase("production", released, "Healthy")
    assert in_production["delivery"] == "feature-a"
    assert _available(flow.clusters["production"], flow.app_ns, "web") is not None
    assert (
        _get(flow.clusters["build"], f"/apis/apps/v1/namespaces/{flow.app_ns}/deployments/web")
        is None
    )

    # The staging agent's pipeline page shows the same Git data as `orchestrator status`.
    url = re.search(r"serving HTTP on (http://127\.0\.0\.1:\d+)", staging.log())
    assert url is not None
    with urllib.request.urlopen(f"{url.group(1)}/api/pipeline", timeout=10) as resp:
        view = json.load(resp)
    shown = {
        (env["name"], d["delivery"], d["phase"])
        for env in view["environments"]
        for d in env["deliveries"]
        if d["current"]
    }
    assert ("staging", "feature-a", "Promoted") in shown
    assert ("production", "feature-a", "Healthy") in shown

    for agent in (build, staging, production):
        assert agent.stop() == 0, agent.log()[-2000:]


def test_unhealthy_delivery_is_recorded_and_not_promoted(flow: Flow) -> None:
    flow.agent("staging").start()
    commit = flow.bus.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns, name="stuck", broken=True)},
        message="Deliver feature-b\n\nDelivery: feature-b",
    )
    failed = flow.wait_phase("staging", commit, "Failed")
    assert failed["stage"] == "HealthCheckFailed"
    assert f"Deployment/{flow.app_ns}/stuck" in failed["message"]
    assert "progress deadline" in failed["message"].lower()
    assert failed["delivery"] == "feature-b"
    assert not flow.bus.has_remote_branch("pr/production/feature-b")


@pytest.mark.parametrize("point", ["after-apply", "after-health", "after-promotion-push"])
def test_a_crash_anywhere_still_promotes_exactly_once(flow: Flow, point: str) -> None:
    crashing = flow.agent("staging").start(ORCHESTRATOR_FAILPOINTS=point)
    commit = flow.bus.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns)},
        message="Deliver feature-c\n\nDelivery: feature-c",
    )
    assert crashing.wait_exit(timeout=120) == -9, crashing.log()[-2000:]

    flow.agent("staging", replica="-restarted").start()
    flow.wait_phase("staging", commit, "Promoted")
    promotions = git(
        "log",
        "--format=%(trailers:key=Promoted-From,valueonly)",
        "refs/heads/pr/production/feature-c",
        cwd=flow.bus.bare,
    ).split()
    assert promotions.count(f"staging@{commit}") == 1


def test_two_replicas_only_the_leader_works_and_the_other_takes_over(flow: Flow) -> None:
    lease = {
        "ORCHESTRATOR_LEADER__ENABLED": "true",
        "ORCHESTRATOR_LEADER__LEASE_DURATION_SECONDS": "4",
        "ORCHESTRATOR_LEADER__RENEW_INTERVAL_SECONDS": "1",
        "ORCHESTRATOR_LEADER__RENEW_DEADLINE_SECONDS": "3",
        "ORCHESTRATOR_LEADER__RETRY_PERIOD_SECONDS": "1",
    }
    first = flow.agent("staging", replica="-1", **lease).start()
    second = flow.agent("staging", replica="-2", **lease).start()
    one = flow.bus.commit(
        "staging", {"manifests/app.yaml": _app(flow.app_ns)}, message="one\n\nDelivery: feature-d"
    )
    entry = flow.wait_phase("staging", one, "Promoted")
    leader, standby = (first, second) if entry["agent"] == "staging-1-agent" else (second, first)
    agents_that_wrote = {e["agent"] for e in (flow.bus.note("staging", one) or {})["entries"]}
    assert agents_that_wrote == {entry["agent"]}

    leader.kill()
    # Its own file: feature-e's promotion is its own change, and feature-d's is unmerged.
    two = flow.bus.commit(
        "staging",
        {"manifests/app.yaml": None, "manifests/app2.yaml": _app(flow.app_ns, name="web2")},
        message="two\n\nDelivery: feature-e",
    )
    taken_over = flow.wait_phase("staging", two, "Promoted", timeout=60)
    assert taken_over["agent"] != entry["agent"]
    assert standby.running


def _secret(app_ns: str, value: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": app_ns},
            "stringData": {"password": value},
        }
    )


def test_guard_rails_stop_a_delivery_before_anything_is_applied(flow: Flow) -> None:
    """A broken policy, then an object outside the allowance: noted, nothing applied."""
    agent = flow.agent("staging").start()
    broken = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": (
                "apiVersion: orchestrator.dev/v1alpha1\nkind: PromotionPolicy\n"
                "environments: {staging: {promotion: {mode: sometimes}}}\n"
            )
        },
        message="A policy typo",
    )
    failed = flow.wait_phase("staging", broken, "Failed")
    assert failed["stage"] == "PolicyInvalid"
    assert "environments.staging.promotion.mode" in failed["message"]

    strict = _policy(flow.app_ns).replace(
        "allow:\n      clusterScoped: true",
        f"allow:\n      clusterScoped: true\n      namespaces: [{flow.app_ns}]",
    )
    assert strict != _policy(flow.app_ns)
    outside = f"{flow.app_ns}-other"
    refused = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": strict,
            "manifests/app.yaml": _app(flow.app_ns),
            "manifests/other.yaml": yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "x", "namespace": outside},
                }
            ),
        },
        message="Deliver something outside the allowance",
    )
    failed = flow.wait_phase("staging", refused, "Failed")
    assert failed["stage"] == "NotAllowed"
    assert f"ConfigMap/{outside}/x: namespace {outside} is not allowed" in failed["message"]
    assert "manifests/other.yaml" in failed["message"]
    assert (
        _get(flow.clusters["staging"], f"/apis/apps/v1/namespaces/{flow.app_ns}/deployments/web")
        is None
    )
    assert agent.running


def test_secret_values_never_reach_notes_or_logs(flow: Flow) -> None:
    agent = flow.agent("staging").start()
    value = f"s3cr3t-{flow.uid}"
    commit = flow.bus.commit(
        "staging",
        {
            "manifests/app.yaml": _app(flow.app_ns),
            "manifests/secret.yaml": _secret(flow.app_ns, value),
        },
        message="Deliver with a Secret",
    )
    flow.wait_phase("staging", commit, "Promoted")
    assert (
        _get(flow.clusters["staging"], f"/api/v1/namespaces/{flow.app_ns}/secrets/creds")
        is not None
    )
    notes = git("log", "-p", "refs/notes/orchestrator/staging", cwd=flow.bus.bare)
    assert f"Secret/{flow.app_ns}/creds" in notes
    assert value not in notes
    assert value not in agent.log()
    # No trailer names a delivery here: the name derives from the commit id.
    assert flow.bus.has_remote_branch(f"pr/production/rev-{commit[:12]}")


def test_drift_is_corrected_and_a_failure_rolls_back(flow: Flow) -> None:
    # force: take back fields someone changed by hand (without it that is a reported conflict).
    policy = _policy(flow.app_ns).replace(
        "  staging:\n", "  staging:\n    rollback: true\n    apply: {force: true}\n", 1
    )
    assert "rollback: true" in policy
    flow.bus.commit("staging", {".orchestrator/policy.yaml": policy}, message="Enable rollback")
    flow.agent("staging", ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS="2").start()
    good = flow.bus.commit(
        "staging", {"manifests/app.yaml": _app(flow.app_ns)}, message="good\n\nDelivery: good"
    )
    flow.wait_phase("staging", good, "Promoted")

    # Someone scales the Deployment by hand; the drift job puts it back.
    patched = (
        flow.clusters["staging"]
        .admin()
        .request(
            "PATCH",
            f"/apis/apps/v1/namespaces/{flow.app_ns}/deployments/web",
            {"spec": {"replicas": 5}},
            content_type="application/merge-patch+json",
        )
    )
    assert patched.ok, patched.body
    corrected = flow.wait_phase("staging", good, "DriftCorrected", timeout=60)
    assert f"Deployment/{flow.app_ns}/web" in corrected["message"]
    dep = _get(flow.clusters["staging"], f"/apis/apps/v1/namespaces/{flow.app_ns}/deployments/web")
    assert dep is not None
    assert dep["spec"]["replicas"] == 2

    bad = flow.bus.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns, broken=True)},
        message="bad\n\nDelivery: bad",
    )
    rolled = flow.wait_phase("staging", bad, "RolledBack")
    assert rolled["rolledBackTo"] == good
    assert flow.bus.entry("staging", bad, "Failed")["stage"] == "HealthCheckFailed"  # type: ignore[index]
    eventually(
        "the good Deployment back",
        lambda: _available(flow.clusters["staging"], flow.app_ns, "web"),
        timeout=60,
        logs=flow.logs,
    )
    assert not flow.bus.has_remote_branch("pr/production/bad")


def test_only_commits_signed_by_a_trusted_key_are_delivered(flow: Flow, tmp_path: Path) -> None:
    key = tmp_path / "release_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", str(key)], check=True
    )
    public = (tmp_path / "release_key.pub").read_text().split()
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"release@example.com {public[0]} {public[1]}\n")
    # The cluster side names the trusted key; the policy picks it by principal.
    trusted = _policy(flow.app_ns).replace(
        "  staging:\n", "  staging:\n    trust:\n      signers: ['release@example.com']\n", 1
    )
    flow.agent("staging", ORCHESTRATOR_TRUST__ALLOWED_SIGNERS_FILE=str(allowed)).start()
    unsigned = flow.bus.commit(
        "staging",
        {".orchestrator/policy.yaml": trusted, "manifests/app.yaml": _app(flow.app_ns)},
        message="unsigned\n\nDelivery: unsigned",
    )
    failed = flow.wait_phase("staging", unsigned, "Failed")
    assert failed["stage"] == "SignatureFailed"
    assert "not signed" in failed["message"]
    assert (
        _get(flow.clusters["staging"], f"/apis/apps/v1/namespaces/{flow.app_ns}/deployments/web")
        is None
    )

    # The signed delivery replaces the unsigned one's file: its own change then applies on
    # production, which never got the unsigned file.
    signed = flow.bus.commit(
        "staging",
        {"manifests/app.yaml": None, "manifests/signed.yaml": _app(flow.app_ns, name="signed")},
        message="signed\n\nDelivery: signed",
        ssh_signing_key=key,
    )
    flow.wait_phase("staging", signed, "Promoted")
    assert _available(flow.clusters["staging"], flow.app_ns, "signed") is not None


def test_a_closed_gate_is_looked_at_again_the_moment_it_opens(flow: Flow) -> None:
    """A promotion held by a freeze goes out when the freeze ends, not at the next drift run."""
    now = datetime.now(UTC)
    ends = now.replace(microsecond=0) + timedelta(seconds=25)
    # A freeze that began at the top of this minute and lasts until `ends`.
    freeze = {"schedule": f"{now.minute} {now.hour} * * *", "duration": f"{now.second + 25}s"}
    policy = yaml.safe_load(_policy(flow.app_ns))
    staging = policy["environments"]["staging"]
    del staging["verification"]
    staging["gates"] = {"freezes": [freeze]}
    # Drift runs are ten minutes apart: only the freeze's end can bring the promotion.
    flow.agent("staging", ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS="600").start()
    sha = flow.bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": yaml.safe_dump(policy),
            "manifests/config.yaml": yaml.safe_dump_all(
                [
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": flow.app_ns}},
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "settings", "namespace": flow.app_ns},
                        "data": {"colour": "blue"},
                    },
                ]
            ),
        },
        message="Deliver during a freeze",
    )

    waiting = flow.wait_phase("staging", sha, "Waiting", timeout=20)
    assert "freeze" in waiting["gate"]
    assert datetime.now(UTC) < ends, "the delivery took longer than the freeze lasts"

    promoted = flow.wait_phase("staging", sha, "Promoted", timeout=60)
    at = datetime.fromisoformat(promoted["at"])
    assert ends <= at < ends + timedelta(seconds=15), (at, ends)
    assert flow.bus.has_remote_branch(f"pr/production/rev-{sha[:12]}")
