"""Every merged delivery gets a verdict and its own promotion: real agents, clusters, Git.

Several features merged into staging before its agent verified the first one: each
merge carries a note (its own verdict, or `Superseded` naming the revision whose
verdict covers it), each delivery gets its own candidate branch with only its change,
a change that does not apply on production is recorded without blocking the others,
a crash in the middle of a batch still gives one promotion commit per delivery, and
snapshot mode names every delivery it carries.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from tests.integration.agent.test_pr_flow import Flow, _app, _policy
from tests.support.agents import ORCHESTRATOR, AgentProcess, eventually
from tests.support.workrepo import git

pytestmark = pytest.mark.slow


@pytest.fixture
def flow(clusters: dict[str, Cluster], tmp_path: Path) -> Iterator[Flow]:
    f = Flow(clusters=clusters, root=tmp_path)
    try:
        yield f
    finally:
        f.close()


def _fast_policy(app_ns: str, *, soak: str = "0s", unit: str | None = None) -> str:
    """The flow's policy without the verification Job; optionally soaking, or a snapshot."""
    policy = yaml.safe_load(_policy(app_ns))
    staging = policy["environments"]["staging"]
    del staging["verification"]
    staging["health"]["soak"] = soak
    if unit is not None:
        staging["promotion"]["unit"] = unit
    return str(yaml.safe_dump(policy))


def _config(app_ns: str, name: str, value: str, *, namespace: bool = False) -> str:
    docs: list[dict[str, Any]] = []
    if namespace:
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app_ns}})
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": app_ns},
            "data": {"value": value},
        }
    )
    return yaml.safe_dump_all(docs)


def _files(flow: Flow, rev: str) -> set[str]:
    out = git("ls-tree", "-r", "--name-only", rev, "--", "manifests", cwd=flow.bus.bare)
    return {line for line in out.splitlines() if not line.startswith("manifests/.orchestrator/")}


def _commits_beyond(flow: Flow, branch: str, base: str) -> list[str]:
    return git("rev-list", f"refs/heads/{base}..refs/heads/{branch}", cwd=flow.bus.bare).split()


def _baseline(flow: Flow, policy: str, **files: str) -> tuple[AgentProcess, str]:
    """Staging's policy (and files) committed, and its agent's first verdict on them."""
    changes = {".orchestrator/policy.yaml": policy, **files}
    sha = flow.bus.commit("staging", changes, message="Staging baseline")
    agent = flow.agent("staging").start()
    flow.wait_phase("staging", sha, "Promoted")
    return agent, sha


def _deliver(flow: Flow, feature: str, files: dict[str, str | None]) -> str:
    return flow.bus.commit(
        "staging", dict(files), message=f"Deliver {feature}\n\nDelivery: {feature}"
    )


def _status(flow: Flow, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(ORCHESTRATOR), "status", "--repo", str(flow.bus.bare), "-o", "json", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_two_features_approved_a_second_apart_get_two_promotions(flow: Flow) -> None:
    """The issue's scenario: published, approved 1 s apart, 3 s soak, PR mode."""
    ns_a, ns_b = f"{flow.app_ns}-a", f"{flow.app_ns}-b"
    flow.bus.commit(
        "staging",
        {".orchestrator/policy.yaml": _fast_policy(flow.app_ns, soak="3s")},
        message="Soak",
    )
    flow.agent("build", role="build", ORCHESTRATOR_AGENT__PUBLISH_TO="staging").start()
    staging = flow.agent("staging").start()
    flow.agent("production").start()
    flow.wait_phase("staging", flow.bus.tip("staging"), "Promoted")
    flow.wait_phase("production", flow.bus.tip("production"), "Healthy")

    # Each feature renders its own file (a publication replaces the delivery directory).
    for feature, ns in (("feature-a", ns_a), ("feature-b", ns_b)):
        flow.publish(feature, _app(ns), file=f"{feature}.yaml")
    flow.wait_branch("pr/staging/feature-a")
    flow.wait_branch("pr/staging/feature-b")
    merged_a = flow.bus.merge("pr/staging/feature-a", into="staging")
    eventually(
        "staging to start on feature-a", lambda: f"{merged_a[:12]}: applying" in staging.log()
    )
    merged_b = flow.bus.merge("pr/staging/feature-b", into="staging")

    flow.wait_phase("staging", merged_b, "Promoted")
    superseded = flow.wait_phase("staging", merged_a, "Superseded")
    assert superseded["verifiedOn"] == merged_b
    assert superseded["delivery"] == "feature-a"
    assert merged_b[:12] in superseded["message"]
    promoted_a = flow.wait_phase("staging", merged_a, "Promoted")
    assert promoted_a["promotions"][0]["ref"] == "refs/heads/pr/production/feature-a"

    for feature, other in (("feature-a", "feature-b"), ("feature-b", "feature-a")):
        tip = flow.wait_branch(f"pr/production/{feature}")
        files = _files(flow, tip)
        assert f"manifests/{feature}.yaml" in files
        assert f"manifests/{other}.yaml" not in files
        assert flow.bus.trailers(tip) == [
            ("Delivery", feature),
            ("Source-Commit", "a" * 40),
            ("Promoted-From", f"staging@{merged_b}"),
            ("Verified-By", "staging-agent"),
            ("Health", "Healthy (4/4)"),
        ]
        assert len(_commits_beyond(flow, f"pr/production/{feature}", "production")) == 1

    # Both deliveries reach production and are healthy there, each on its own merge.
    released_a = flow.bus.merge("pr/production/feature-a", into="production")
    released_b = flow.bus.merge("pr/production/feature-b", into="production")
    flow.wait_phase("production", released_b, "Healthy")
    # A note of its own too: its own verdict, or Superseded, written right after b's.
    eventually(
        f"a note on {released_a[:12]}",
        lambda: flow.bus.note("production", released_a),
        timeout=30,
        logs=flow.logs,
    )

    view = _status(flow)
    shown = {
        (d["revision"], d["phase"], d["verified_on"])
        for env in view["environments"]
        if env["name"] == "staging"
        for d in env["deliveries"]
    }
    assert (merged_a, "Promoted", merged_b) in shown
    feature = _status(flow, "--feature", "feature-a")["feature"]
    stops = {s["environment"]: s for s in feature["environments"]}
    assert stops["staging"]["revision"] == merged_a
    assert stops["staging"]["verified_on"] == merged_b
    assert stops["staging"]["promotions"][0]["ref"] == "refs/heads/pr/production/feature-a"
    assert stops["production"]["revision"] == released_a


def test_a_conflicting_delivery_is_recorded_and_the_others_are_promoted(flow: Flow) -> None:
    shared = "manifests/shared.yaml"
    flow.bus.commit(
        "production", {shared: _config(flow.app_ns, "shared", "v1", namespace=True)}, message="v1"
    )
    staging, _ = _baseline(
        flow,
        _fast_policy(flow.app_ns),
        **{shared: _config(flow.app_ns, "shared", "v1", namespace=True)},
    )
    # Production changes the shared file on its own (a hotfix straight on production).
    flow.bus.commit(
        "production",
        {shared: _config(flow.app_ns, "shared", "hotfix", namespace=True)},
        message="Hotfix",
    )
    a = _deliver(flow, "feature-a", {"manifests/a.yaml": _config(flow.app_ns, "a", "1")})
    b = _deliver(flow, "feature-b", {shared: _config(flow.app_ns, "shared", "b", namespace=True)})
    c = _deliver(flow, "feature-c", {"manifests/c.yaml": _config(flow.app_ns, "c", "1")})

    flow.wait_phase("staging", c, "Healthy")
    conflict = flow.wait_phase("staging", b, "Failed")
    assert conflict["stage"] == "PromotionConflict"
    assert conflict["conflicts"] == [shared]
    assert shared in conflict["message"]
    assert flow.wait_phase("staging", a, "Promoted")
    assert flow.wait_phase("staging", c, "Promoted")
    assert not flow.bus.has_remote_branch("pr/production/feature-b")
    assert _files(flow, flow.bus.tip("pr/production/feature-a")) == {
        "manifests/README",
        shared,
        "manifests/a.yaml",
    }
    tip_c = flow.bus.tip("pr/production/feature-c")
    assert "manifests/a.yaml" not in _files(flow, tip_c)
    assert "hotfix" in flow.bus.show(tip_c, shared)  # production's own version stays

    # The metric counts the conflict, and status shows it on feature-b's merge.
    url = re.search(r"serving HTTP on (http://127\.0\.0\.1:\d+)", staging.log())
    assert url is not None
    with urllib.request.urlopen(f"{url.group(1)}/metrics", timeout=10) as resp:
        metrics = resp.read().decode()
    assert re.search(r'orchestrator_promotions_total\{[^}]*result="conflict"[^}]*\} [1-9]', metrics)
    view = _status(flow, "--env", "staging")
    (shown,) = [d for d in view["environments"][0]["deliveries"] if d["revision"] == b]
    assert shown["stage"] == "PromotionConflict"
    assert shown["conflicts"] == [shared]


@pytest.mark.parametrize(
    "point", ["after-health", "after-note", "after-promotion-push", "after-delivery-note"]
)
def test_a_crash_in_the_middle_of_a_batch_promotes_each_delivery_once(
    flow: Flow, point: str
) -> None:
    first, _ = _baseline(flow, _fast_policy(flow.app_ns))
    assert first.stop() == 0
    ns = {"manifests/ns.yaml": _config(flow.app_ns, "base", "1", namespace=True)}
    a = _deliver(flow, "feature-a", {**ns, "manifests/a.yaml": _config(flow.app_ns, "a", "1")})
    b = _deliver(flow, "feature-b", {"manifests/b.yaml": _config(flow.app_ns, "b", "1")})

    crashing = flow.agent("staging", replica="-crashing").start(ORCHESTRATOR_FAILPOINTS=point)
    assert crashing.wait_exit(timeout=120) == -9, crashing.log()[-2000:]
    flow.agent("staging", replica="-restarted").start()
    flow.wait_phase("staging", b, "Promoted")
    flow.wait_phase("staging", a, "Promoted")
    assert flow.bus.entry("staging", a, "Superseded") is not None
    for feature, sha in (("feature-a", a), ("feature-b", b)):
        commits = _commits_beyond(flow, f"pr/production/{feature}", "production")
        assert len(commits) == 1, (feature, commits)
        assert ("Delivery", feature) in flow.bus.trailers(commits[0])
        assert ("Promoted-From", f"staging@{b}") in flow.bus.trailers(commits[0])
        promoted = [e for e in flow.bus.note("staging", sha)["entries"] if e["phase"] == "Promoted"]  # type: ignore[index]
        assert {p["commit"] for e in promoted for p in e["promotions"]} == {commits[0]}


def test_snapshot_mode_names_every_delivery_it_carries(flow: Flow) -> None:
    first, _ = _baseline(flow, _fast_policy(flow.app_ns, unit="snapshot"))
    assert first.stop() == 0
    ns = {"manifests/ns.yaml": _config(flow.app_ns, "base", "1", namespace=True)}
    a = _deliver(flow, "feature-a", {**ns, "manifests/a.yaml": _config(flow.app_ns, "a", "1")})
    b = _deliver(flow, "feature-b", {"manifests/b.yaml": _config(flow.app_ns, "b", "1")})
    flow.agent("staging", replica="-2").start()

    flow.wait_phase("staging", b, "Promoted")
    snapshot = flow.wait_branch("pr/production/feature-b")
    assert not flow.bus.has_remote_branch("pr/production/feature-a")
    trailers = flow.bus.trailers(snapshot)
    assert [v for k, v in trailers if k == "Delivery"] == ["feature-a", "feature-b"]
    assert ("Promoted-From", f"staging@{b}") in trailers
    assert {"manifests/a.yaml", "manifests/b.yaml"} <= _files(flow, snapshot)
    carried = flow.wait_phase("staging", a, "Promoted")
    assert carried["deliveries"] == ["feature-a", "feature-b"]
    assert carried["promotions"][0]["commit"] == snapshot
    assert carried["verifiedOn"] == b
