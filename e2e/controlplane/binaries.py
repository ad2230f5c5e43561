"""Find or build the control-plane binaries, cached outside the repository.

kube-apiserver, kube-controller-manager, kube-scheduler and kubectl come from one
pinned `k8s.io/kubernetes` release, etcd from `go.etcd.io/etcd/server/v3` and kwok
from `sigs.k8s.io/kwok`. Both Kubernetes and etcd carry `replace` directives in
their go.mod, which `go install pkg@version` refuses; so a wrapper module is
generated that requires them and maps every Kubernetes staging module to its
published `v0.<minor>.<patch>` tag, and the binaries are built inside it with
`go build`. kwok has no replace directives and installs with `go install`.

The cache key is the version, so a warm start builds nothing. A binary found in
`$KUBEBUILDER_ASSETS` (the envtest convention) is used instead of building it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from e2e.buildcache import BuildError, cache_root, locked, run

KUBERNETES_VERSION = "v1.34.3"
ETCD_VERSION = "v3.6.4"
KWOK_VERSION = "v0.7.0"

# Every module under kubernetes' staging/src/k8s.io for this release. k8s.io/kubernetes
# requires them at v0.0.0 and replaces them with local paths, so a dependent module
# must replace each with its published tag.
STAGING_MODULES = (
    "api",
    "apiextensions-apiserver",
    "apimachinery",
    "apiserver",
    "cli-runtime",
    "client-go",
    "cloud-provider",
    "cluster-bootstrap",
    "code-generator",
    "component-base",
    "component-helpers",
    "controller-manager",
    "cri-api",
    "cri-client",
    "csi-translation-lib",
    "dynamic-resource-allocation",
    "endpointslice",
    "externaljwt",
    "kms",
    "kube-aggregator",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "metrics",
    "mount-utils",
    "pod-security-admission",
    "sample-apiserver",
    "sample-cli-plugin",
    "sample-controller",
)

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
ALL_BINARIES = (*KUBERNETES_COMMANDS, "etcd", "kwok")


@dataclass(frozen=True)
class Binaries:
    """Paths of one consistent set of control-plane executables."""

    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    etcd: Path
    kwok: Path

    @classmethod
    def from_dir(cls, directory: Path) -> Binaries:
        return cls(**{name.replace("-", "_"): directory / name for name in ALL_BINARIES})


def wrapper_go_mod() -> str:
    """The generated go.mod that makes the Kubernetes and etcd commands buildable."""
    minor = KUBERNETES_VERSION.removeprefix("v1.")
    lines = [
        "module orchestrator.local/controlplane",
        "",
        "go 1.24.0",
        "",
        "godebug default=go1.24",
        "",
        "require (",
        f"\tk8s.io/kubernetes {KUBERNETES_VERSION}",
        f"\tgo.etcd.io/etcd/server/v3 {ETCD_VERSION}",
        ")",
        "",
        "replace (",
        *(f"\tk8s.io/{m} => k8s.io/{m} v0.{minor}" for m in STAGING_MODULES),
        ")",
        "",
    ]
    return "\n".join(lines)


_TOOLS_GO = """//go:build tools

// Package tools pins the commands this module exists to build.
package tools

import (
\t_ "go.etcd.io/etcd/server/v3"
\t_ "k8s.io/kubernetes/cmd/kube-apiserver"
\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"
\t_ "k8s.io/kubernetes/cmd/kube-scheduler"
\t_ "k8s.io/kubernetes/cmd/kubectl"
)
"""


def _version_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.removeprefix("v").split(".")[:2]
    values = {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    pkgs = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    flags = [f"-X {pkg}.{key}={value}" for pkg in pkgs for key, value in values.items()]
    return " ".join(["-s", "-w", *flags])


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain ('go') is not on PATH; it is needed to build kube-apiserver, "
            "etcd and kwok (or set KUBEBUILDER_ASSETS to a directory holding them)"
        )
    return go


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOFLAGS", "-mod=mod")
    return env


def _build_kubernetes_and_etcd(dest: Path, *, progress: Callable[[str], None]) -> None:
    src = cache_root() / "src" / f"kubernetes-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(wrapper_go_mod())
    (src / "tools.go").write_text(_TOOLS_GO)
    env = _build_env()
    go = _go()
    progress(f"resolving modules for Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION}")
    run([go, "mod", "tidy"], cwd=src, env=env, what="building the wrapper module")
    targets = {
        "etcd": ("go.etcd.io/etcd/server/v3", "-s -w"),
        **{
            cmd: (f"k8s.io/kubernetes/cmd/{cmd}", _version_ldflags()) for cmd in KUBERNETES_COMMANDS
        },
    }
    for name, (pkg, ldflags) in targets.items():
        if (dest / name).exists():
            continue
        progress(f"go build {name} (first run only; takes minutes)")
        tmp = dest / f".{name}.tmp"
        cmd = [go, "build", "-trimpath", "-tags", "grpcnotrace", "-ldflags", ldflags]
        run([*cmd, "-o", str(tmp), pkg], cwd=src, env=env, what=f"building {name}")
        tmp.rename(dest / name)


def _build_kwok(dest: Path, *, progress: Callable[[str], None]) -> None:
    progress(f"go install kwok {KWOK_VERSION} (first run only)")
    env = _build_env()
    gobin = dest / ".kwok-gobin"
    env["GOBIN"] = str(gobin)
    env.pop("GOFLAGS", None)
    cmd = [
        _go(),
        "install",
        "-trimpath",
        "-ldflags",
        "-s -w",
        f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",
    ]
    run(cmd, cwd=dest, env=env, what="building kwok")
    (gobin / "kwok").rename(dest / "kwok")
    gobin.rmdir()


def _stderr_progress(message: str) -> None:
    print(f"controlplane: {message}", file=sys.stderr, flush=True)


def ensure_binaries(*, progress: Callable[[str], None] = _stderr_progress) -> Binaries:
    """Return the binaries, building whatever the cache and KUBEBUILDER_ASSETS lack."""
    key = f"kubernetes-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}"
    dest = cache_root() / "bin" / key
    dest.mkdir(parents=True, exist_ok=True)
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    chosen = {}
    for name in ALL_BINARIES:
        from_assets = Path(assets) / name if assets else None
        if from_assets is not None and os.access(from_assets, os.X_OK):
            chosen[name] = from_assets
        else:
            chosen[name] = dest / name
    missing = [name for name, path in chosen.items() if not path.exists()]
    if missing:
        with locked(dest / ".lock"):
            missing = [name for name, path in chosen.items() if not path.exists()]
            if set(missing) - {"kwok"}:
                _build_kubernetes_and_etcd(dest, progress=progress)
            if "kwok" in missing:
                _build_kwok(dest, progress=progress)
    return Binaries(**{name.replace("-", "_"): path for name, path in chosen.items()})
