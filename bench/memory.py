"""Memory of one agent managing 5,000 objects: peak and steady RSS over cold apply, no-op, drift.

    python bench/memory.py [--objects 5000] [--drift-interval 20]

One cluster of the e2e harness, one bare repository, one `orchestrator agent`
subprocess for environment `bench`. The delivery is `--objects` ConfigMaps
(about 400 bytes of data each, 250 per namespace; the namespaces are made
beforehand), one file per object. Phases, each waited for through the agent's
own signals:

  cold    the first revision: load, dry run and apply of every object
          (done when the agent's reconcile counter moves)
  no-op   a new revision that changes nothing the agent applies (a README):
          load again, prove every object unchanged
  drift   50 ConfigMaps deleted behind the agent's back; its drift run
          (every `--drift-interval` seconds) re-applies them (done when all
          50 exist again)

After each phase the script waits a few seconds and reads the agent's
/proc/<pid>/status: VmRSS (steady: what it holds between reconciles) and
VmHWM (peak so far). The last line is `rss_mb=<x> peak_rss_mb=<y>`: the
largest steady RSS after any phase, and the peak. Target: steady <= 100 MB.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from e2e.controlplane import ControlPlane, ensure_binaries  # noqa: E402
from orchestrator.kube.client import KubeClient  # noqa: E402

ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")
PER_NAMESPACE = 250
DRIFTED = 50
POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  bench:
    health: {timeout: 600s}
"""


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def write_delivery(directory: Path, count: int) -> list[str]:
    """`count` ConfigMaps as files; returns their namespaces (made beforehand, since the
    default allowance of an environment has no cluster-scoped kinds)."""
    directory.mkdir(parents=True)
    namespaces = [f"mem-{i}" for i in range(max(1, count // PER_NAMESPACE))]
    for i in range(count):
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"cm-{i:05d}",
                "namespace": namespaces[i % len(namespaces)],
                "labels": {"app": f"cm-{i:05d}", "bench": "memory"},
            },
            "data": {"index": str(i), "settings.yaml": f"level: info\nindex: {i}\n" * 16},
        }
        (directory / f"cm-{i:05d}.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return namespaces


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def reconciles(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return -1
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("orchestrator_reconcile_duration_seconds_count")
        )
    )


def wait_for(what: str, check: object, *, timeout: float, agent: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if agent.poll() is not None:
            raise SystemExit(f"bench: the agent exited ({agent.returncode}) waiting for {what}")
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"bench: {what} did not happen within {timeout:.0f}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--drift-interval", type=float, default=20.0)
    args = parser.parse_args()
    rows: list[tuple[str, float, float, float]] = []

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        root = Path(tmp)
        bare, work = root / "repo.git", root / "work"
        git("init", "--quiet", "--bare", str(bare), cwd=root)
        git("init", "--quiet", "--initial-branch=bench", str(work), cwd=root)
        (work / ".orchestrator").mkdir()
        (work / ".orchestrator" / "policy.yaml").write_text(POLICY)
        namespaces = write_delivery(work / "manifests", args.objects)
        (work / "README").write_text("bench\n")
        git("add", ".", cwd=work)
        git("commit", "--quiet", "-m", "5,000 objects", cwd=work)

        print("starting one cluster ...", file=sys.stderr, flush=True)
        with ControlPlane(directory=root / "cp", binaries=ensure_binaries()) as plane:
            cluster = plane.start(["bench"])["bench"]
            admin = KubeClient.from_kubeconfig(cluster.kubeconfig)
            for ns in ["agent", *namespaces]:
                admin.apply(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                    field_manager="bench",
                )
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
            env.update(
                {
                    "ORCHESTRATOR_GIT__URL": str(bare),
                    "ORCHESTRATOR_GIT__CACHE_DIR": str(root / "cache"),
                    "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "2",
                    "ORCHESTRATOR_AGENT__ENVIRONMENT": "bench",
                    "ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS": str(args.drift_interval),
                    "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
                    "ORCHESTRATOR_CLUSTER__NAMESPACE": "agent",
                    "ORCHESTRATOR_SERVER__PORT": str(port),
                }
            )
            log = (root / "agent.log").open("wb")
            agent = subprocess.Popen(
                [str(ORCHESTRATOR), "agent"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                wait_for(
                    "the agent's /metrics", lambda: reconciles(port) >= 0, timeout=60, agent=agent
                )
                rows.append(("started", 0.0, *memory_mb(agent.pid)))

                def phase(name: str, check: object, *, timeout: float = 1200) -> None:
                    took = wait_for(name, check, timeout=timeout, agent=agent)
                    time.sleep(5)
                    rows.append((name, took, *memory_mb(agent.pid)))
                    print(
                        f"  {name}: {took:.1f}s  rss/peak {rows[-1][2]:.0f}/{rows[-1][3]:.0f} MB",
                        file=sys.stderr,
                        flush=True,
                    )

                before = reconciles(port)
                git("push", "--quiet", str(bare), "bench:bench", cwd=work)
                last = (
                    namespaces[(args.objects - 1) % len(namespaces)],
                    f"cm-{args.objects - 1:05d}",
                )

                def applied() -> bool:
                    return reconciles(port) > before and bool(
                        admin.get(
                            api_version="v1", kind="ConfigMap", name=last[1], namespace=last[0]
                        )
                    )

                phase("cold apply", applied)

                before = reconciles(port)
                (work / "README").write_text("bench, again\n")
                git("commit", "--quiet", "-am", "a change the agent does not apply", cwd=work)
                git("push", "--quiet", str(bare), "bench:bench", cwd=work)
                phase("no-op (new revision)", lambda: reconciles(port) > before)

                drifted = [(namespaces[i % len(namespaces)], f"cm-{i:05d}") for i in range(DRIFTED)]
                for ns, name in drifted:
                    admin.delete(api_version="v1", kind="ConfigMap", name=name, namespace=ns)

                def healed() -> bool:
                    return all(
                        admin.get(api_version="v1", kind="ConfigMap", name=name, namespace=ns)
                        for ns, name in drifted
                    )

                phase("drift run", healed, timeout=args.drift_interval * 6 + 600)
            finally:
                agent.send_signal(signal.SIGTERM)
                agent.wait(60)
                log.close()
                admin.close()

    print()
    print(f"one agent, {args.objects:,} objects ({len(namespaces)} namespaces)")
    print(f"{'phase':<22}{'took s':>8}{'rss MB':>9}{'peak MB':>9}")
    for name, took, rss, peak in rows:
        print(f"{name:<22}{took:>8.1f}{rss:>9.1f}{peak:>9.1f}")
    steady = max(rss for _, _, rss, _ in rows)
    peak = max(p for _, _, _, p in rows)
    print(f"rss_mb={steady:.1f} peak_rss_mb={peak:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
