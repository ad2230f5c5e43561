"""Reading a delivery from a commit; a path that is not there is an error, not 'nothing'."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ManifestError, PolicyError
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.promote.revision.source import environment_policy_at, manifests_at, params_at
from tests.support.workrepo import WorkRepo

POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging: {{path: {path}}}
"""
APP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: app}\n"


@pytest.fixture
def bus(tmp_path: Path) -> WorkRepo:
    (tmp_path / "bus").mkdir()
    return WorkRepo(tmp_path / "bus")


def _read(bus: WorkRepo, tmp_path: Path, rev: str) -> list[str]:
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    cache.refresh("refs/heads/staging")
    policy = environment_policy_at(cache, rev, environment="staging")
    manifests = manifests_at(cache, rev, environment="staging", policy=policy, params={})
    return [str(m.ref) for m in manifests]


def test_reads_policy_and_manifests_of_a_commit(bus: WorkRepo, tmp_path: Path) -> None:
    rev = bus.commit(
        "staging",
        {".orchestrator/policy.yaml": POLICY.format(path="deploy"), "deploy/app.yaml": APP},
        message="x",
    )
    assert _read(bus, tmp_path, rev) == ["ConfigMap/app/cfg"]


def test_a_path_typo_is_an_error_not_an_empty_delivery(bus: WorkRepo, tmp_path: Path) -> None:
    """An empty delivery would prune everything the environment applied before."""
    rev = bus.commit(
        "staging",
        {".orchestrator/policy.yaml": POLICY.format(path="deplyo"), "deploy/app.yaml": APP},
        message="typo",
    )
    with pytest.raises(ManifestError, match=r"deplyo: no files at .*path does not exist"):
        _read(bus, tmp_path, rev)


def test_a_missing_policy_is_named(bus: WorkRepo, tmp_path: Path) -> None:
    rev = bus.commit("staging", {"deploy/app.yaml": APP}, message="no policy")
    with pytest.raises(
        PolicyError, match=r"\.orchestrator/policy\.yaml: invalid policy: missing at"
    ):
        _read(bus, tmp_path, rev)


def test_parameters_come_from_the_delivery_file_then_the_settings(
    bus: WorkRepo, tmp_path: Path
) -> None:
    rev = bus.commit(
        "staging",
        {
            ".orchestrator/policy.yaml": POLICY.format(path="deploy"),
            "deploy/app.yaml": APP,
            "deploy/.orchestrator/params/staging.yaml": "image: web:2\nregion: us\n",
            "deploy/.orchestrator/params/production.yaml": "image: web:1\n",
        },
        message="params",
    )
    cache = CacheRepo.open(tmp_path / "cache", remote_url=str(bus.bare))
    cache.refresh("refs/heads/staging")
    policy = environment_policy_at(cache, rev, environment="staging")

    params = params_at(cache, rev, environment="staging", policy=policy, overrides={"region": "eu"})

    assert dict(params.values) == {"image": "web:2", "region": "eu"}
    assert params.sources == ("deploy/.orchestrator/params/staging.yaml", "agent settings")
    bare = params_at(cache, rev, environment="qa", policy=policy, overrides={})
    assert dict(bare.values) == {}
