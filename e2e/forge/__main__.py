"""Command line for people: build Gitea, or run one until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from e2e.buildcache import BuildError
from e2e.forge.binary import ensure_gitea
from e2e.forge.server import ADMIN_USER, GiteaError, GiteaServer


def _build(args: argparse.Namespace) -> int:
    binary = ensure_gitea()
    print(f"gitea        {binary.executable}")
    print(f"static root  {binary.static_root}")
    return 0


def _up(args: argparse.Namespace) -> int:
    server = GiteaServer(binary=ensure_gitea(), directory=Path(args.dir).resolve())

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.start()
        print(f"gitea at {server.url}  (user {ADMIN_USER}, password {server.password})")
        print(f"API token: {server.token}")
        print("running; press Ctrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m e2e.forge", description="A throwaway Gitea on 127.0.0.1."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or find) the cached Gitea binary")
    build.set_defaults(func=_build)
    up = sub.add_parser("up", help="run a Gitea with an admin user until interrupted")
    up.add_argument("--dir", required=True, help="its data, configuration and log go here")
    up.set_defaults(func=_up)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except (BuildError, GiteaError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
