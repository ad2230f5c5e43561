"""`wait`'s verdict on what the notes say: reached, failed or still pending."""

from __future__ import annotations

import dataclasses

import pytest

from orchestrator.cli.wait import verdict
from orchestrator.status.model import DeliveryView, EnvironmentView, PromotionLink

NEW = "b" * 40
OLD = "a" * 40


def delivery(
    sha: str, *, feature: str, phase: str | None, current: bool, **extra: str
) -> DeliveryView:
    return DeliveryView(
        environment="staging",
        revision=sha,
        delivery=feature,
        subject="s",
        current=current,
        committed_at="2026-12-03T10:00:00Z",
        age_seconds=1,
        phase=phase,
        **extra,  # type: ignore[arg-type]
    )


def env(*deliveries: DeliveryView) -> EnvironmentView:
    return EnvironmentView(name="staging", branch="staging", tip=NEW, deliveries=deliveries)


@pytest.mark.parametrize(
    ("phase", "target", "result"),
    [
        ("Healthy", "Healthy", "reached"),
        ("Promoted", "Healthy", "reached"),
        ("Waiting", "Healthy", "reached"),
        ("Healthy", "Promoted", "pending"),
        ("Waiting", "Promoted", "pending"),
        ("Promoted", "Promoted", "reached"),
        ("Failed", "Healthy", "failed"),
        ("RolledBack", "Promoted", "failed"),
        ("DriftCorrected", "Healthy", "reached"),
        ("DriftCorrected", "Promoted", "pending"),
        ("Superseded", "Healthy", "reached"),
        ("Superseded", "Promoted", "failed"),
        (None, "Healthy", "pending"),
    ],
)
def test_phase_against_target(phase: str | None, target: str, result: str) -> None:
    view = env(delivery(NEW, feature="f", phase=phase, current=True))
    assert verdict(view, revision=NEW[:7], feature=None, target=target).result == result


def test_a_feature_means_its_newest_merge() -> None:
    view = env(
        delivery(NEW, feature="f", phase=None, current=True),
        delivery(OLD, feature="f", phase="Healthy", current=False),
    )
    found = verdict(view, revision=None, feature="f", target="Healthy")
    assert found.result == "pending"
    assert found.delivery is not None
    assert found.delivery.revision == NEW


def test_a_failure_names_stage_and_message() -> None:
    view = env(
        delivery(NEW, feature="f", phase="Failed", current=True, stage="BuildFailed", message="x")
    )
    assert verdict(view, revision=None, feature="f", target="Healthy").detail == (
        "Failed (BuildFailed: x)"
    )


def test_a_missing_delivery_is_pending_and_says_so() -> None:
    found = verdict(env(), revision=None, feature="g", target="Healthy")
    assert found.result == "pending"
    assert found.detail == "delivery g is not on staging yet"


def test_a_superseded_revision_says_what_the_tip_is() -> None:
    view = env(
        delivery(NEW, feature="g", phase="Healthy", current=True),
        delivery(OLD, feature="f", phase=None, current=False),
    )
    found = verdict(view, revision=OLD, feature=None, target="Healthy")
    assert found.result == "pending"
    assert "the tip is now bbbbbbbbbbbb" in found.detail


def test_drift_corrected_after_a_promotion_still_counts_as_promoted() -> None:
    link = PromotionLink(
        target="production",
        ref="refs/heads/pr/production/f",
        commit=OLD,
        pushed=True,
        state="waiting",
    )
    corrected = delivery(NEW, feature="f", phase="DriftCorrected", current=True)
    view = env(dataclasses.replace(corrected, promotions=(link,)))
    assert verdict(view, revision=None, feature="f", target="Promoted").result == "reached"
