"""`orchestrator status` on a prepared bus: the table, the JSON, and failures without tracebacks."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.status.render import age
from tests.support.pipeline_bus import PipelineBus, build_bus
from tests.support.signals import default_sigint
from tests.support.workrepo import WorkRepo

ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")

DELIVERY_KEYS = {
    "environment", "revision", "short", "delivery", "subject", "current", "phase", "status",
    "stage", "message", "health", "gate", "agent", "started", "updated_at", "committed_at",
    "age_seconds", "entries", "source_commit", "promoted_from", "promotions", "verified_on",
    "conflicts", "carries",
}  # fmt: skip
CANDIDATE_KEYS = {
    "environment", "delivery", "ref", "revision", "short", "subject", "committed_at",
    "age_seconds", "source_commit", "promoted_from",
}  # fmt: skip
PROMOTION_KEYS = {"target", "ref", "commit", "pushed", "state", "landed"}
ENVIRONMENTS = ("staging", "production")


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> PipelineBus:
    return build_bus(tmp_path_factory.mktemp("status-bus"))


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's command keeps its cache clone under its own temporary directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _env(cache_home: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(cache_home), "COLUMNS": "80"}


def _status(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["status", *args])
    return result.exit_code, result.stdout, result.stderr


def test_table_shows_environments_deliveries_phases_and_promotions(
    bus: PipelineBus, cache_home: Path
) -> None:
    """The real command, as a person runs it (output piped: plain columns, one row each)."""
    done = subprocess.run(
        [str(ORCHESTRATOR), "status", "--repo", bus.remote],
        env=_env(cache_home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b[" not in out
    assert not set("│┃━─┏└") & set(out)  # no box drawing for grep and awk
    rows = [line for line in out.splitlines() if line.split(" ", 1)[0] in ENVIRONMENTS]
    cells = [re.split(r"\s{2,}", row.strip()) for row in rows]
    deliveries = [c[:5] for c in cells if not c[2].startswith("pr/")]
    assert deliveries == [
        ["staging", "feature-b", "Promoted", "Healthy (3/3)", bus.s2[:7]],
        ["staging", "feature-a", "Promoted", "Healthy (3/3)", f"{bus.s1[:7]} (old)"],
        ["production", "feature-a", "Healthy", "Healthy (3/3)", bus.p1[:7]],
    ]
    assert f"→ production: pr/production/feature-b@{bus.promo_b[:7]} (waiting)" in out
    assert f"→ production: pr/production/feature-a@{bus.promo_a[:7]} (delivered)" in out
    assert f"← staging@{bus.s1[:7]}" in out
    assert "Waiting for a merge" in out
    candidates = [c for c in cells if c[2].startswith("pr/")]
    assert [c[:3] for c in candidates] == [
        ["staging", "feature-c", "pr/staging/feature-c"],
        ["production", "feature-b", "pr/production/feature-b"],
    ]
    assert candidates[1][5] == f"staging@{bus.s2[:7]}"
    # The promotion and where it came from share the delivery's one line.
    (feature_a_in_staging,) = [r for r in rows if f"{bus.s1[:7]} (old)" in r]
    assert f"pr/production/feature-a@{bus.promo_a[:7]} (delivered)" in feature_a_in_staging
    assert "hint:" not in out
    assert "main" not in {c[0] for c in cells}


def test_ages_are_short_like_kubectl() -> None:
    assert [age(s) for s in (0, 59, 60, 3599, 3600, 86399, 86400 * 3)] == [
        "0s", "59s", "1m", "59m", "1h", "23h", "3d",
    ]  # fmt: skip


def test_json_has_the_documented_shape(bus: PipelineBus, cache_home: Path) -> None:
    code, out, err = _status("--repo", bus.remote, "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"schema", "remote", "generated_at", "order", "warnings", "environments"}
    assert doc["schema"] == "orchestrator.pipeline/v1"
    assert doc["order"] == "policy"
    assert doc["warnings"] == []
    assert [e["name"] for e in doc["environments"]] == ["staging", "production"]
    staging, production = doc["environments"]
    assert set(staging) == {
        "name", "branch", "tip", "promotes_to", "deliveries", "candidates", "suspended",
    }  # fmt: skip
    assert staging["suspended"] is None
    assert staging["tip"] == bus.s2
    for delivery in staging["deliveries"] + production["deliveries"]:
        assert set(delivery) == DELIVERY_KEYS
        for promotion in delivery["promotions"]:
            assert set(promotion) == PROMOTION_KEYS
    for candidate in staging["candidates"] + production["candidates"]:
        assert set(candidate) == CANDIDATE_KEYS
    assert [(d["delivery"], d["phase"], d["status"]) for d in staging["deliveries"]] == [
        ("feature-b", "Promoted", "healthy"),
        ("feature-a", "Promoted", "healthy"),
    ]
    (promotion,) = staging["deliveries"][1]["promotions"]
    assert promotion["state"] == "delivered"
    assert promotion["landed"] == bus.p1
    assert production["deliveries"][0]["promoted_from"] == {
        "environment": "staging",
        "revision": bus.s1,
    }
    assert [c["delivery"] for c in production["candidates"]] == ["feature-b"]


def test_feature_option_follows_one_delivery_across_environments(
    bus: PipelineBus, cache_home: Path
) -> None:
    code, out, err = _status("--repo", bus.remote, "-o", "json", "--feature", "feature-a")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "orchestrator.feature/v1"
    assert doc["feature"]["feature"] == "feature-a"
    staging, production = doc["feature"]["environments"]
    assert (staging["environment"], staging["state"], staging["revision"]) == (
        "staging",
        "merged",
        bus.s1,
    )
    assert staging["phase"] == "Promoted"
    (promotion,) = staging["promotions"]
    assert (promotion["state"], promotion["landed"]) == ("delivered", bus.p1)
    assert (production["state"], production["revision"], production["phase"]) == (
        "merged",
        bus.p1,
        "Healthy",
    )

    code, out, err = _status("--repo", bus.remote, "-o", "json", "--feature", "feature-b")
    staging, production = json.loads(out)["feature"]["environments"]
    assert (staging["state"], staging["revision"]) == ("merged", bus.s2)
    assert (production["state"], production["candidate"]) == (
        "waiting",
        "refs/heads/pr/production/feature-b",
    )
    code, out, err = _status("--repo", bus.remote, "-o", "json", "--feature", "feature-c")
    staging, production = json.loads(out)["feature"]["environments"]
    assert (staging["state"], production["state"]) == ("waiting", "absent")

    code, out, err = _status("--repo", bus.remote, "--feature", "feature-b")
    assert code == 0, err
    assert "Delivery feature-b" in out
    assert "waiting: pr/production/feature-b" in out
    code, _, err = _status("--repo", bus.remote, "--feature", "no/such")
    assert code == 2
    assert "--feature" in err


def test_env_option_selects_and_orders(bus: PipelineBus, cache_home: Path) -> None:
    code, out, err = _status("--repo", bus.remote, "-o", "json", "--env", "production,staging")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["order"] == "given"
    assert [e["name"] for e in doc["environments"]] == ["production", "staging"]


def test_invalid_env_is_a_usage_error(bus: PipelineBus, cache_home: Path) -> None:
    code, _, err = _status("--repo", bus.remote, "--env", "Not_An_Env")
    assert code == 2
    assert "invalid environment name" in err


def test_a_repository_that_is_not_there_fails_in_one_line(tmp_path: Path, cache_home: Path) -> None:
    done = subprocess.run(
        [str(ORCHESTRATOR), "status", "--repo", str(tmp_path / "missing.git")],
        env=_env(cache_home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "missing.git" in lines[0]


def test_watch_prints_until_interrupted(bus: PipelineBus, cache_home: Path) -> None:
    """--watch -o json prints one document per read; Ctrl-C ends it quietly."""
    process = subprocess.Popen(
        [str(ORCHESTRATOR), "status", "--repo", bus.remote, "-o", "json", "--watch",
         "--interval", "0.5"],
        env=_env(cache_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # noqa: PLW1509 - one signal() call before exec
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        second = json.loads(process.stdout.readline())
        assert first["environments"][0]["tip"] == second["environments"][0]["tip"] == bus.s2
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in err


def test_an_empty_repository_gets_a_hint_not_an_empty_table(
    tmp_path: Path, cache_home: Path
) -> None:
    empty = WorkRepo(tmp_path)
    code, out, err = _status("--repo", str(empty.bare))
    assert code == 0, err
    assert "hint: no environments yet" in out

    empty.commit(
        "staging", {".orchestrator/policy.yaml": "environments: {staging: {}}\n"}, message="x"
    )
    code, out, err = _status("--repo", str(empty.bare))
    assert code == 0, err
    assert "hint: no deliveries yet: publish one (orchestrator publish --env staging" in out


def test_repo_defaults_from_the_environment(
    bus: PipelineBus, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_REPO", bus.remote)
    code, out, err = _status("-o", "json")
    assert code == 0, err
    assert json.loads(out)["remote"].endswith(Path(bus.remote).name)
    monkeypatch.delenv("ORCHESTRATOR_REPO")
    code, _, err = _status("-o", "json")
    assert code == 2
    assert "Missing option '--repo'" in err
