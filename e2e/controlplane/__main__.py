"""Command line for people: start clusters, print where their kubeconfigs are, stop them."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from e2e.buildcache import BuildError
from e2e.controlplane.binaries import ensure_binaries
from e2e.controlplane.cluster import ControlPlane, ControlPlaneError, stop_detached


def _up(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.clusters.split(",") if n.strip()]
    directory = Path(args.dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    binaries = ensure_binaries()
    plane = ControlPlane(directory=directory, binaries=binaries, detached=args.detach)
    started = time.monotonic()
    print(f"starting {len(names)} cluster(s) in {directory} ...", flush=True)
    clusters = plane.start(names)
    print(f"ready in {time.monotonic() - started:.1f}s", flush=True)
    for name, cluster in clusters.items():
        print(f"  {name:<12} {cluster.server}  KUBECONFIG={cluster.kubeconfig}")
    if args.detach:
        print(f"detached; stop with: python -m e2e.controlplane down --dir {directory}")
        return 0

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print("running; press Ctrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        plane.stop()
    return 0


def _down(args: argparse.Namespace) -> int:
    names = stop_detached(Path(args.dir).resolve())
    print(f"stopped: {', '.join(names)}" if names else "nothing was running there")
    return 0


def _build(args: argparse.Namespace) -> int:
    binaries = ensure_binaries()
    for name, path in vars(binaries).items():
        print(f"{name:<24} {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m e2e.controlplane",
        description="Real Kubernetes control planes (etcd, kube-apiserver, controller manager, "
        "scheduler, kwok) on 127.0.0.1, one set per named cluster.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start clusters and keep them running until interrupted")
    up.add_argument("--clusters", default="build,staging,production", help="comma-separated names")
    up.add_argument("--dir", required=True, help="writes DIR/<name>.kubeconfig and state here")
    up.add_argument("--detach", action="store_true", help="return once ready; stop with `down`")
    up.set_defaults(func=_up)
    down = sub.add_parser("down", help="stop clusters started with `up --detach`")
    down.add_argument("--dir", required=True)
    down.set_defaults(func=_down)
    build = sub.add_parser("build", help="build (or find) the binaries and print their paths")
    build.set_defaults(func=_build)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except (BuildError, ControlPlaneError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
