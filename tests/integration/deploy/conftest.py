"""Helpers for the tests of `deploy/`: render an overlay with the harness's kubectl, apply it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster, ensure_binaries

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
OVERLAYS = ("build", "staging", "production")


class Kubectl:
    """The harness's kubectl (v1.34, with `kubectl kustomize` built in)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(
        self,
        *args: str,
        cluster: Cluster | None = None,
        kubeconfig: Path | None = None,
        stdin: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        config = kubeconfig or (cluster.kubeconfig if cluster is not None else None)
        env = {**os.environ, "KUBECONFIG": str(config) if config else os.devnull}
        result = subprocess.run(
            [str(self.path), *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def kustomize(self, directory: Path) -> list[dict[str, Any]]:
        """The objects `kubectl kustomize DIR` renders, in its order."""
        out = self.run("kustomize", str(directory)).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]


def dump(objects: Sequence[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False)


def named(objects: Sequence[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.fixture(scope="session")
def kubectl(cluster: Cluster) -> Kubectl:
    """Needs a cluster first: starting one is what builds the binaries on a fresh machine."""
    return Kubectl(ensure_binaries().kubectl)
