"""A candidate's preview as a status and a comment: what would change, Secrets masked."""

from __future__ import annotations

from typing import Any

from orchestrator.forge import StatusState
from orchestrator.kube.diff import ObjectDiff, compare
from orchestrator.objectref import ObjectRef
from orchestrator.report.preview import MAX_DIFF_LINES, marker, preview_comment, preview_status

SHA = "c" * 40


def _secret(password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop"},
        "data": {"password": password},
    }


def _config(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {"mode": value},
    }


def _diffs() -> list[ObjectDiff]:
    secret, config = ObjectRef.of(_secret("")), ObjectRef.of(_config(""))
    return [
        compare(secret, live=_secret("b2xkLXBhc3M="), desired=_secret("bmV3LXBhc3M=")),
        compare(config, live=None, desired=_config("fast")),
        compare(ObjectRef("apps", "Deployment", "shop", "old"), live=_config("x"), desired=None),
    ]


def test_the_comment_lists_what_merging_would_create_change_and_delete() -> None:
    body = preview_comment("production", sha=SHA, diffs=_diffs())
    assert "Preview in `production` of `cccccccccccc`" in body
    assert "**1 to create**" in body
    assert "**1 to change**" in body
    assert "**1 to delete**" in body
    assert "ConfigMap/shop/settings" in body
    assert "+  mode: fast" in body


def test_secret_values_never_reach_the_comment() -> None:
    body = preview_comment("production", sha=SHA, diffs=_diffs())
    assert "Secret/shop/creds" in body
    for value in ("b2xkLXBhc3M=", "bmV3LXBhc3M=", "old-pass", "new-pass"):
        assert value not in body


def test_the_status_says_what_would_change_or_why_the_candidate_is_refused() -> None:
    ok = preview_status("production", diffs=_diffs())
    assert ok.context == "orchestrator/production/preview"
    assert ok.state == StatusState.SUCCESS
    assert ok.description == "1 to create, 1 to change, 1 to delete"

    refused = preview_status("production", refused="NotAllowed: Secret/shop/x: kind not allowed")
    assert refused.state == StatusState.FAILURE
    assert "NotAllowed" in refused.description
    body = preview_comment("production", sha=SHA, refused="NotAllowed: Secret/shop/x")
    assert "would refuse this candidate" in body


def test_a_long_diff_is_cut_and_one_marker_per_environment() -> None:
    big = _config("\n".join(f"line {i}" for i in range(200)))
    (diff,) = [compare(ObjectRef.of(big), live=None, desired=big)]
    body = preview_comment("production", sha=SHA, diffs=[diff])
    assert "more lines" in body
    assert body.count("line ") <= MAX_DIFF_LINES + 1
    assert marker("production") != marker("staging")
