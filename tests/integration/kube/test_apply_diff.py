"""Diff of live vs. dry-run desired state, with Secret values masked."""

from __future__ import annotations

import json

from orchestrator.kube import diff_delivery, render_json, render_text

from .conftest import Env, load


def test_diff_shows_changes_and_masks_secret_values(env: Env) -> None:
    env.deliver(load("secret", namespace=env.namespace))
    desired = load("secret-updated", namespace=env.namespace)

    diffs = diff_delivery(
        env.client,
        desired,
        field_manager=env.options.field_manager,
        inventory=env.store.read(),
    )

    by_kind = {d.ref.kind: d for d in diffs}
    assert by_kind["ConfigMap"].action == "update"
    assert "-  colour: blue" in by_kind["ConfigMap"].diff
    assert "+  colour: green" in by_kind["ConfigMap"].diff
    secret = by_kind["Secret"]
    assert secret.action == "update"
    assert "password: '*** (before)'" in secret.diff
    assert "password: '*** (after)'" in secret.diff
    assert "+  token: '***'" in secret.diff  # stringData arrives as data, masked
    text = render_text(diffs)
    payload = render_json(diffs)
    for plain in (
        "hunter2",
        "aHVudGVyMg==",
        "Y29ycmVjdC1ob3JzZQ==",
        "correct-horse",
        "plain-text-token",
        "YWRtaW4=",
    ):
        assert plain not in text
        assert plain not in payload
    for stripped in ("managedFields", "resourceVersion", "creationTimestamp", "uid:"):
        assert stripped not in text
    parsed = json.loads(payload)
    assert {item["object"] for item in parsed} == {str(d.ref) for d in diffs}
    assert all({"action", "diff", "live", "desired"} <= set(item) for item in parsed)
    # Nothing was written: the live objects still hold the old values.
    config = env.get("ConfigMap", "app-config")
    assert config is not None
    assert config["data"]["colour"] == "blue"


def test_diff_lists_what_pruning_would_delete(env: Env) -> None:
    env.deliver(load("basic", namespace=env.namespace))

    diffs = diff_delivery(
        env.client,
        load("keep", namespace=env.namespace),
        field_manager=env.options.field_manager,
        inventory=env.store.read(),
    )

    deleted = {d.ref.name + "/" + d.ref.kind for d in diffs if d.action == "delete"}
    assert deleted == {"app-config/ConfigMap", "shop/Service", "shop/Deployment"}
    created = {d.ref.name for d in diffs if d.action == "create"}
    assert created == {"kept", "pruned"}
