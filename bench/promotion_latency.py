"""Commit-to-promotion latency of a staging agent: interval polling vs. the push webhook.

    python bench/promotion_latency.py [--rounds 5] [--poll-interval 15]

One real cluster (the e2e harness), one bare repository, one `orchestrator agent`
subprocess for staging, whose policy promotes to production in PR mode. Each round
commits a new delivery (a ConfigMap: healthy the moment it exists, so the figure is
the bus plus the apply, not a rollout) and measures the time until
pr/production/<feature> appears on the remote:

- poll: the agent notices by its interval poll (default interval, 15 s);
- webhook: the same agent, sent a signed GitHub push event right after the push.

It also reports the agent's own reconcile time (from its /metrics), which is the
"apply time" part of the target: webhook latency under 2 s plus apply time.
The last line is `webhook_latency_s=<x> poll_latency_s=<y>` (medians).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from e2e.controlplane import ControlPlane, ensure_binaries  # noqa: E402
from orchestrator.web.webhook import GITHUB_EVENT_HEADER, GITHUB_SIGNATURE_HEADER, sign  # noqa: E402

ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")
SECRET = "bench-webhook-secret"
POLICY = """apiVersion: orchestrator.dev/v1alpha1
kind: PromotionPolicy
environments:
  staging:
    promotion: {to: [production], mode: pr}
    health: {timeout: 60s}
  production: {}
"""


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def remote_has(bare: Path, ref: str) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", ref], cwd=bare, capture_output=True, check=False
    )
    return done.returncode == 0


def wait_ref(bare: Path, ref: str, *, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if remote_has(bare, ref):
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit(f"bench: {ref} did not appear within {timeout:.0f}s")


def reconcile_seconds(port: int) -> tuple[float, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith("orchestrator_reconcile_duration_seconds_sum"):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith("orchestrator_reconcile_duration_seconds_count"):
            count += float(line.rsplit(" ", 1)[1])
    return total, int(count)


def post_push(port: int) -> None:
    body = json.dumps({"ref": "refs/heads/staging"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hooks/git",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            GITHUB_EVENT_HEADER: "push",
            GITHUB_SIGNATURE_HEADER: sign(SECRET, body),
        },
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        if resp.status != 202:
            raise SystemExit(f"bench: webhook answered {resp.status}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll-interval", type=float, default=15.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        root = Path(tmp)
        bare, work = root / "repo.git", root / "work"
        git("init", "--quiet", "--bare", str(bare), cwd=root)
        git("init", "--quiet", "--initial-branch=staging", str(work), cwd=root)
        (work / ".orchestrator").mkdir()
        (work / ".orchestrator" / "policy.yaml").write_text(POLICY)
        (work / "manifests").mkdir()
        (work / "manifests" / "README").write_text("bench\n")
        git("add", ".", cwd=work)
        git("commit", "--quiet", "-m", "set up", cwd=work)
        git("push", "--quiet", str(bare), "staging:staging", "staging:production", cwd=work)

        print("starting one cluster ...", file=sys.stderr, flush=True)
        with ControlPlane(directory=root / "cp", binaries=ensure_binaries()) as plane:
            cluster = plane.start(["staging"])["staging"]
            cluster.admin().request(
                "POST",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}},
            )
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
            env.update(
                {
                    "ORCHESTRATOR_GIT__URL": str(bare),
                    "ORCHESTRATOR_GIT__CACHE_DIR": str(root / "cache"),
                    "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": str(args.poll_interval),
                    "ORCHESTRATOR_AGENT__ENVIRONMENT": "staging",
                    "ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS": "3600",
                    "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
                    "ORCHESTRATOR_CLUSTER__NAMESPACE": "bench",
                    "ORCHESTRATOR_SERVER__PORT": str(port),
                    "ORCHESTRATOR_SERVER__WEBHOOK_SECRET": SECRET,
                }
            )
            log = (root / "agent.log").open("wb")
            agent = subprocess.Popen(
                [str(ORCHESTRATOR), "agent"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                wait_ref(bare, "refs/notes/orchestrator/staging", timeout=60)
                results: dict[str, list[float]] = {"poll": [], "webhook": []}
                for index in range(args.rounds * 2):
                    mode = "webhook" if index % 2 else "poll"
                    feature = f"f{index}-{mode}"
                    meta = f"metadata: {{name: {feature}, namespace: bench}}\n"
                    (work / "manifests" / "cm.yaml").write_text(
                        f"apiVersion: v1\nkind: ConfigMap\n{meta}data: {{round: '{index}'}}\n"
                    )
                    git("add", ".", cwd=work)
                    git("commit", "--quiet", "-m", f"{feature}\n\nDelivery: {feature}", cwd=work)
                    # Let a poll land first so each poll round waits a fair, random share.
                    time.sleep(0.5 + (index * 1.7) % args.poll_interval if mode == "poll" else 0.5)
                    git("push", "--quiet", str(bare), "staging:staging", cwd=work)
                    pushed = time.monotonic()
                    if mode == "webhook":
                        post_push(port)
                    done = wait_ref(
                        bare, f"refs/heads/pr/production/{feature}", timeout=args.poll_interval * 4
                    )
                    results[mode].append(done - pushed)
                    print(f"  {mode:<8} round {index // 2 + 1}: {done - pushed:6.2f}s", flush=True)
                total, count = reconcile_seconds(port)
            finally:
                agent.send_signal(signal.SIGTERM)
                agent.wait(30)
                log.close()

    apply_s = total / count if count else float("nan")
    webhook = statistics.median(results["webhook"])
    poll = statistics.median(results["poll"])
    print()
    print(f"{'mode':<10}{'median s':>10}{'max s':>10}")
    for mode in ("webhook", "poll"):
        print(f"{mode:<10}{statistics.median(results[mode]):>10.2f}{max(results[mode]):>10.2f}")
    print(f"agent reconcile time (apply, health, note, promotion push), mean: {apply_s:.2f}s")
    print(f"poll interval: {args.poll_interval:g}s; target: webhook < 2s + apply time")
    print(f"webhook_latency_s={webhook:.2f} poll_latency_s={poll:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
