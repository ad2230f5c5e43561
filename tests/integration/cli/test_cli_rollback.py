"""`orchestrator rollback`: a real agent, a real bus, and the command line in between."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from tests.integration.agent.test_pr_flow import Flow, _app, flow  # noqa: F401 - fixture

pytestmark = pytest.mark.slow


def _rollback(flow: Flow, to: str) -> tuple[int, str]:  # noqa: F811 - the fixture's type
    result = CliRunner().invoke(
        main,
        ["rollback", "staging", "--repo", str(flow.bus.bare), "--to", to, "-o", "json"],
    )
    return result.exit_code, result.output


def test_rollback_restores_a_verified_delivery_and_refuses_anything_else(
    flow: Flow,  # noqa: F811 - the fixture imported above
) -> None:
    flow.agent("staging").start()
    good = flow.bus.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns)},
        message="Deliver feature-a\n\nDelivery: feature-a",
    )
    flow.wait_phase("staging", good, "Healthy")
    broken = flow.bus.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns, name="stuck", broken=True)},
        message="Deliver feature-b\n\nDelivery: feature-b",
    )
    flow.wait_phase("staging", broken, "Failed")
    stray = flow.bus.commit(
        "stray", {"manifests/app.yaml": _app(flow.app_ns)}, message="never on staging"
    )

    code, out = _rollback(flow, broken)
    assert code == 1
    assert f"staging@{broken[:12]} is not verified (its note says Failed)" in out
    code, out = _rollback(flow, stray)
    assert code == 1
    assert "was never the tip of staging" in out
    assert flow.bus.tip("staging") == broken  # nothing was written

    code, out = _rollback(flow, good)
    assert code == 0, out
    result = json.loads(out)
    assert (result["pushed"], result["restored"], result["delivery"]) == (True, good, "feature-a")
    commit = flow.bus.tip("staging")
    assert result["commit"] == commit
    assert flow.bus.show(commit, "manifests/app.yaml") == flow.bus.show(good, "manifests/app.yaml")
    assert ("Rollback-To", f"staging@{good}") in flow.bus.trailers(commit)
    # The agent takes it like any delivery: applied, checked, verified.
    healthy = flow.wait_phase("staging", commit, "Healthy")
    assert healthy["delivery"] == "feature-a"

    code, out = _rollback(flow, good)  # again: the branch already holds it
    assert code == 0
    assert json.loads(out)["pushed"] is False
