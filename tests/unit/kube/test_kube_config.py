"""Which cluster a command talks to: explicit file, $KUBECONFIG, in-cluster, ~/.kube/config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.errors import ClusterUnreachable
from orchestrator.kube.config import resolve_cluster

IN_POD = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("apiVersion: v1\nkind: Config\n")
    return path


def test_explicit_kubeconfig_wins_over_everything(tmp_path: Path, home: Path) -> None:
    explicit = _file(tmp_path / "explicit")
    env = {"KUBECONFIG": str(_file(tmp_path / "env")), **IN_POD}
    _file(home / ".kube" / "config")
    source = resolve_cluster(kubeconfig=explicit, context="c", environ=env, home=home)
    assert source.files == (explicit,)
    assert source.context == "c"


def test_missing_explicit_kubeconfig_is_an_error_not_a_fallback(tmp_path: Path, home: Path) -> None:
    _file(home / ".kube" / "config")
    with pytest.raises(ClusterUnreachable, match=r"kubeconfig .*/nope does not exist"):
        resolve_cluster(kubeconfig=tmp_path / "nope", context=None, environ={}, home=home)


def test_kubeconfig_env_is_used_off_cluster(tmp_path: Path, home: Path) -> None:
    a, b = _file(tmp_path / "a"), _file(tmp_path / "b")
    env = {"KUBECONFIG": os.pathsep.join([str(a), str(tmp_path / "absent"), str(b)])}
    source = resolve_cluster(kubeconfig=None, context=None, environ=env, home=home)
    assert source.files == (a, b)  # merged in order; a missing entry is skipped, as kubectl does
    assert source.origin == "$KUBECONFIG"
    assert not source.in_cluster


def test_kubeconfig_env_beats_in_cluster(tmp_path: Path, home: Path) -> None:
    a = _file(tmp_path / "a")
    source = resolve_cluster(
        kubeconfig=None, context=None, environ={"KUBECONFIG": str(a), **IN_POD}, home=home
    )
    assert source.files == (a,)


def test_kubeconfig_env_naming_no_file_is_an_error(tmp_path: Path, home: Path) -> None:
    _file(home / ".kube" / "config")
    with pytest.raises(ClusterUnreachable, match=r"\$KUBECONFIG names no existing file"):
        resolve_cluster(
            kubeconfig=None,
            context=None,
            environ={"KUBECONFIG": str(tmp_path / "gone")},
            home=home,
        )


def test_in_cluster_before_home_config(home: Path) -> None:
    _file(home / ".kube" / "config")
    source = resolve_cluster(kubeconfig=None, context=None, environ=IN_POD, home=home)
    assert source.in_cluster
    assert source.origin == "in-cluster"


def test_a_context_skips_in_cluster(home: Path) -> None:
    config = _file(home / ".kube" / "config")
    source = resolve_cluster(kubeconfig=None, context="prod", environ=IN_POD, home=home)
    assert source.files == (config,)
    assert source.context == "prod"


def test_a_context_in_a_pod_without_kubeconfig_says_so(home: Path) -> None:
    with pytest.raises(ClusterUnreachable, match="--context prod needs a kubeconfig"):
        resolve_cluster(kubeconfig=None, context="prod", environ=IN_POD, home=home)


def test_home_config_last(home: Path) -> None:
    config = _file(home / ".kube" / "config")
    assert resolve_cluster(kubeconfig=None, context=None, environ={}, home=home).files == (config,)


def test_nothing_configured_is_one_line_naming_what_was_tried(home: Path) -> None:
    with pytest.raises(ClusterUnreachable) as caught:
        resolve_cluster(kubeconfig=None, context=None, environ={}, home=home)
    message = str(caught.value)
    assert "\n" not in message
    for tried in ("KUBERNETES_SERVICE_HOST", "$KUBECONFIG", str(home / ".kube" / "config")):
        assert tried in message
    assert "--kubeconfig" in message
