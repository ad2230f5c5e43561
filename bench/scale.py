"""Scale: 20 agents promoting into one bare repository over git:// at the same moment,
then a burst of 100 deliveries merged into one environment.

    python bench/scale.py [--agents 20] [--burst 100]

One cluster of the e2e harness shared by 20 independent environments
(`s0`..`s19`, each its own agent namespace and application namespace), one
bare repository served by `git daemon` on 127.0.0.1 (git://, receive-pack
enabled), and 20 `orchestrator agent` subprocesses. The policy promotes each
`s<i>` to `p<i>` in PR mode (one promotion per delivery).

Fan-out: after every agent has reconciled the set-up commit, one `git push`
moves all 20 environment branches to a new commit each (a ConfigMap, healthy
the moment it exists) at once, and the script measures, per environment, the
time from that push to `pr/p<i>/<feature>` appearing in the bare repository.
It then waits a while longer and counts the promotion branches per target:
each must exist exactly once. CAS retries are read from every agent's
`/metrics` (`orchestrator_push_retries_total`).

Burst: 100 feature branches (a ConfigMap each) are merged into `s0` one after
another as fast as `git push` goes, as a pull request host merging a queue
would, and the script measures until every one of the 100 merge commits has a
note of `s0`'s agent (its own verdict, or `Superseded` naming the revision
that covered it) and every delivery has its own `pr/p0/<feature>` branch with
exactly one commit: the time to drain the burst.

The last line is `promotions=<n>/<agents> duplicates=<d> p99_s=<x> rss_mb=<y>`
(the fan-out's figures); the burst's and the CAS retries' come before it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from e2e.controlplane import ControlPlane, ensure_binaries  # noqa: E402
from orchestrator.kube.client import KubeClient  # noqa: E402

ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")
GIT_DAEMON = "/usr/lib/git-core/git-daemon"
FEATURE = "scale-1"
BURST_ENV, BURST_TARGET = "s0", "p0"
PUSH_RETRIES = re.compile(r"^orchestrator_push_retries_total\{[^}]*\} ([0-9.e+]+)$", re.MULTILINE)


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def policy(agents: int) -> str:
    lines = ["apiVersion: orchestrator.dev/v1alpha1", "kind: PromotionPolicy", "environments:"]
    for i in range(agents):
        lines.append(f"  s{i}:")
        lines.append(f"    promotion: {{to: [p{i}], mode: pr}}")
        lines.append("    health: {timeout: 300s}")
        lines.append(f"  p{i}: {{}}")
    return "\n".join(lines) + "\n"


def refs(bare: Path, pattern: str) -> dict[str, str]:
    out = git("for-each-ref", "--format=%(refname) %(objectname)", pattern, cwd=bare)
    pairs = (line.split(" ", 1) for line in out.splitlines() if line)
    return dict(pairs)  # type: ignore[arg-type]


def start_daemon(base: Path, stack: ExitStack) -> int:
    port = free_port()
    proc = subprocess.Popen(
        [
            GIT_DAEMON,
            "--export-all",
            "--enable=receive-pack",
            "--reuseaddr",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(lambda: (proc.terminate(), proc.wait(10)))
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return port
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("git daemon did not start") from None
            time.sleep(0.05)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def set_up_repo(root: Path, agents: int) -> tuple[Path, Path]:
    bare, work = root / "repos" / "bus.git", root / "work"
    bare.parent.mkdir()
    git("init", "--quiet", "--bare", str(bare), cwd=root)
    git("init", "--quiet", "--initial-branch=main", str(work), cwd=root)
    (work / ".orchestrator").mkdir()
    (work / ".orchestrator" / "policy.yaml").write_text(policy(agents))
    (work / "manifests").mkdir()
    (work / "manifests" / "README").write_text("scale bench\n")
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "set up", cwd=work)
    specs = [f"main:s{i}" for i in range(agents)] + [f"main:p{i}" for i in range(agents)]
    git("push", "--quiet", str(bare), *specs, cwd=work)
    return bare, work


def delivery_commits(work: Path, agents: int) -> list[str]:
    """One commit per environment on top of the set-up commit: its own ConfigMap."""
    base = git("rev-parse", "HEAD", cwd=work)
    specs = []
    for i in range(agents):
        git("checkout", "--quiet", "-B", f"s{i}", base, cwd=work)
        (work / "manifests" / "app.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg, namespace: app-{i}}}\n"
            f"data: {{env: s{i}}}\n"
        )
        git("add", ".", cwd=work)
        git("commit", "--quiet", "-m", f"{FEATURE}\n\nDelivery: {FEATURE}", cwd=work)
        specs.append(f"s{i}:s{i}")
    return specs


def start_agents(
    root: Path, *, agents: int, url: str, kubeconfig: str, stack: ExitStack
) -> list[tuple[subprocess.Popen[bytes], int]]:
    """The agents, each with the port of its HTTP server (for /metrics)."""
    procs = []
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
    for i in range(agents):
        env = {
            **base_env,
            "ORCHESTRATOR_GIT__URL": url,
            "ORCHESTRATOR_GIT__CACHE_DIR": str(root / f"cache-{i}"),
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "2",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": f"s{i}",
            "ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS": "3600",
            "ORCHESTRATOR_CLUSTER__KUBECONFIG": kubeconfig,
            "ORCHESTRATOR_CLUSTER__NAMESPACE": f"agent-{i}",
            "ORCHESTRATOR_SERVER__PORT": str(port := free_port()),
        }
        log = (root / f"agent-{i}.log").open("wb")
        proc = subprocess.Popen(
            [str(ORCHESTRATOR), "agent"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        procs.append((proc, port))

        def stop(proc: subprocess.Popen[bytes] = proc, log: object = log) -> None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()  # type: ignore[attr-defined]

        stack.callback(stop)
    return procs


def wait_until(what: str, check: object, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} did not happen within {timeout:.0f}s")
        time.sleep(0.1)


def push_retries(port: int) -> int:
    """The agent's `orchestrator_push_retries_total`: compare-and-swap pushes it lost."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        found = PUSH_RETRIES.search(answer.read().decode())
    return int(float(found.group(1))) if found else 0


def burst_merges(work: Path, count: int) -> list[tuple[str, str]]:
    """`count` feature branches merged one after another into the burst environment's
    branch, as a pull request host makes them: (feature, merge commit), oldest first."""
    merges = []
    git("checkout", "--quiet", BURST_ENV, cwd=work)
    for k in range(count):
        feature = f"burst-{k}"
        git("checkout", "--quiet", "-b", feature, BURST_ENV, cwd=work)
        (work / "manifests" / f"{feature}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {feature}, namespace: app-0}}\n"
            f"data: {{n: '{k}'}}\n"
        )
        git("add", ".", cwd=work)
        git("commit", "--quiet", "-m", f"Add {feature}\n\nDelivery: {feature}", cwd=work)
        git("checkout", "--quiet", BURST_ENV, cwd=work)
        git("merge", "--quiet", "--no-ff", "-m", f"Merge {feature}", feature, cwd=work)
        merges.append((feature, git("rev-parse", "HEAD", cwd=work)))
    return merges


def noted(bare: Path, env: str) -> dict[str, str]:
    """Commit -> note blob of every note `env`'s agent wrote."""
    ref = f"refs/notes/orchestrator/{env}"
    if not refs(bare, ref):
        return {}
    out = git("notes", f"--ref={ref}", "list", cwd=bare)
    return {commit: blob for blob, commit in (line.split() for line in out.splitlines())}


def last_phase(bare: Path, blob: str) -> str:
    entries = json.loads(git("cat-file", "-p", blob, cwd=bare))["entries"]
    return str(entries[-1]["phase"]) if entries else "?"


def run_burst(bare: Path, work: Path, *, count: int, timeout: float) -> dict[str, float]:
    """Merge `count` deliveries into the burst environment; wait for every verdict and
    promotion. Returns the figures for the key=value line."""
    merges = burst_merges(work, count)
    started = time.monotonic()
    for _, merge in merges:  # one push per merge, as fast as they go
        git("push", "--quiet", str(bare), f"{merge}:refs/heads/{BURST_ENV}", cwd=work)
    pushed = time.monotonic() - started
    shas = {merge for _, merge in merges}
    prefix = f"refs/heads/pr/{BURST_TARGET}/"
    wanted = {f"{prefix}{feature}" for feature, _ in merges}
    at: dict[str, float] = {}

    def drained() -> bool:
        if "verdicts" not in at and shas <= set(noted(bare, BURST_ENV)):
            at["verdicts"] = time.monotonic() - started
        if "promotions" not in at and wanted <= set(refs(bare, prefix)):
            at["promotions"] = time.monotonic() - started
        return len(at) == 2

    try:
        wait_until("the burst to drain", drained, timeout=timeout)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
    time.sleep(5)  # a late second promotion commit would show up here
    notes = noted(bare, BURST_ENV)
    phases: dict[str, int] = {}
    for sha in shas & set(notes):
        phase = last_phase(bare, notes[sha])
        phases[phase] = phases.get(phase, 0) + 1
    branches = refs(bare, prefix)
    target = f"refs/heads/{BURST_TARGET}"
    once = sum(
        1
        for ref in wanted & set(branches)
        if git("rev-list", "--count", f"{target}..{ref}", cwd=bare) == "1"
    )
    print(f"\nburst: {count} deliveries merged into {BURST_ENV} in {pushed:.1f}s ({count} pushes)")
    print(f"  last word per merge commit: {dict(sorted(phases.items()))}")
    for what in ("verdicts", "promotions"):
        took = at.get(what)
        print(f"  every {what[:-1]} in: " + (f"{took:.1f}s" if took is not None else "not all"))
    print(f"  pr/{BURST_TARGET}/<feature> branches with exactly one commit: {once}/{count}")
    return {
        "verdicts": len(shas & set(notes)),
        "promoted_once": once,
        "drain_s": max(at.values()) if len(at) == 2 else float("nan"),
    }


def fan_out(bare: Path, work: Path, *, agents: int, timeout: float) -> dict[int, float]:
    """One push moving every environment branch; seconds to each `pr/p<i>/<feature>`."""
    specs = delivery_commits(work, agents)
    git("push", "--quiet", str(bare), *specs, cwd=work)
    pushed = time.monotonic()
    landed: dict[int, float] = {}

    def all_landed() -> bool:
        found = refs(bare, "refs/heads/pr/")
        for i in range(agents):
            if i not in landed and f"refs/heads/pr/p{i}/{FEATURE}" in found:
                landed[i] = time.monotonic() - pushed
        return len(landed) == agents

    try:
        wait_until("every promotion", all_landed, timeout=timeout)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
    time.sleep(10)  # a late second promotion would show up here
    return landed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--burst", type=int, default=100, help="deliveries merged into s0")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    n = args.agents

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        bare, work = set_up_repo(root, n)
        port = start_daemon(bare.parent, stack)
        plane = stack.enter_context(ControlPlane(directory=root / "cp", binaries=ensure_binaries()))
        cluster = plane.start(["scale"])["scale"]
        admin = KubeClient.from_kubeconfig(cluster.kubeconfig)
        stack.callback(admin.close)
        for i in range(n):
            for ns in (f"agent-{i}", f"app-{i}"):
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                admin.apply(body, field_manager="bench")
        print(f"starting {n} agents ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        agents = start_agents(
            root,
            agents=n,
            url=f"git://127.0.0.1:{port}/bus.git",
            kubeconfig=str(cluster.kubeconfig),
            stack=stack,
        )
        wait_until(
            "every agent's first note",
            lambda: len(refs(bare, "refs/notes/orchestrator/")) >= n,
            timeout=args.timeout,
        )
        print(
            f"  all noted the set-up commit in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
            flush=True,
        )

        landed = fan_out(bare, work, agents=n, timeout=args.timeout)
        found = refs(bare, "refs/heads/pr/")
        per_target = [
            sum(1 for r in found if r.startswith(f"refs/heads/pr/p{i}/")) for i in range(n)
        ]
        duplicates = sum(max(0, count - 1) for count in per_target)
        rss = max(rss_mb(proc.pid) for proc, _ in agents if proc.poll() is None)
        retries_fan_out = sum(push_retries(web) for _, web in agents)
        times = sorted(landed.values())
        p50 = statistics.median(times) if times else float("nan")
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))] if times else float("nan")
        print()
        print(f"{n} agents, one bare repository over git://, one push moving {n} branches")
        worst = max(times, default=0.0)
        print(f"commit-to-promotion (s): p50 {p50:.2f}  p99 {p99:.2f}  max {worst:.2f}")
        print(f"promotion branches per target: {per_target}")
        print(f"largest agent RSS after promotion: {rss:.1f} MB")

        burst = run_burst(bare, work, count=args.burst, timeout=args.timeout)
        burst_rss = rss_mb(agents[0][0].pid) if agents[0][0].poll() is None else float("nan")
        print(f"  RSS of {BURST_ENV}'s agent after the burst: {burst_rss:.1f} MB")
        retries = sum(push_retries(web) for _, web in agents)
        print(
            f"\nCAS retries (orchestrator_push_retries_total, all agents): fan-out "
            f"{retries_fan_out}, after the burst {retries}"
        )

    print(
        f"drain_s={burst['drain_s']:.1f} verdicts={burst['verdicts']:.0f}/{args.burst} "
        f"promoted_once={burst['promoted_once']:.0f}/{args.burst}"
    )
    print(f"cas_retries={retries}")
    print(f"promotions={len(landed)}/{n} duplicates={duplicates} p99_s={p99:.2f} rss_mb={rss:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
