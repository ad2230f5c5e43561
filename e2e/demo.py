"""The demo: three local clusters, one bare repository, three agents, the PR flow end to end.

    python -m e2e.demo [--workdir DIR] [--keep-running] [--forge gitea]

1. builds (first run only) and starts the clusters build, staging and production;
2. creates the shared repository with the staging and production branches and their
   promotion policy;
3. starts one `orchestrator agent` per cluster;
4. acts as a supply chain: renders feature-a and feature-b (two apps) into labelled
   ConfigMaps in the build cluster, which the build agent publishes as
   pr/staging/feature-a and pr/staging/feature-b;
5. acts as a maintainer: approves (merges) both into staging a second apart; the
   staging agent applies the newest revision, checks health, runs a verification Job,
   notes the older merge as Superseded by the verified one, and promotes each feature
   on its own, to pr/production/feature-a and pr/production/feature-b; approves both
   into production;
6. prints the pipeline, where each feature is, and where to look.

With `--forge gitea` the repository lives on a local Gitea (e2e/forge/demo.py): each
promotion becomes a pull request with every gate as a commit status and the production
agent's preview, and the demo merges it through Gitea's API; Gitea's webhook tells the
production agent.

Everything it starts is stopped on exit. With --workdir the bare repository stays at
DIR/repo.git, so `orchestrator status --repo DIR/repo.git` works afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

from e2e.controlplane import Cluster, ControlPlane, ensure_binaries
from e2e.forge.demo import ForgeBus

T = TypeVar("T")
ENVIRONMENTS = ("build", "staging", "production")
AGENT_NAMESPACE = "orchestrator-system"
APP_NAMESPACE = "hello"
# Two features flow side by side: each its own app, namespace and rendered file.
FEATURES = {"feature-a": ("hello", APP_NAMESPACE), "feature-b": ("greeter", "greeter")}
ORCHESTRATOR = Path(sys.executable).with_name("orchestrator")
# The gates a promotion's pull request must show green before it may be merged.
STAGING_GATES = [
    f"orchestrator/staging/{gate}"
    for gate in ("apply", "health", "soak", "verification/smoke", "promotion")
]
# Brings the local view of the bus up to date before a look (a Gitea-hosted bus).
_sync: list[Callable[[], None]] = []


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def detail(message: str) -> None:
    print(f"    {message}", flush=True)


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float = 180.0) -> T:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise SystemExit(f"demo: gave up waiting for {what} after {timeout:.0f}s{shown}")


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Demo Maintainer",
        "GIT_AUTHOR_EMAIL": "maintainer@demo.local",
        "GIT_COMMITTER_NAME": "Demo Maintainer",
        "GIT_COMMITTER_EMAIL": "maintainer@demo.local",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"demo: git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def orchestrator(*args: str, check: bool = True) -> str:
    done = subprocess.run([str(ORCHESTRATOR), *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"demo: orchestrator {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


def policy() -> str:
    smoke_job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"namespace": APP_NAMESPACE},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "smoke",
                            "image": "curlimages/curl:8.10.1",
                            "args": ["-fsS", "http://hello.hello.svc/?rev=$(revision)$"],
                        }
                    ],
                }
            },
        },
    }
    return yaml.safe_dump(
        {
            "apiVersion": "orchestrator.dev/v1alpha1",
            "kind": "PromotionPolicy",
            "environments": {
                "staging": {
                    "promotion": {"to": ["production"], "mode": "pr"},
                    "health": {"timeout": "2m", "soak": "5s"},
                    "verification": [
                        {
                            "name": "smoke",
                            "template": smoke_job,
                            "outputs": {"finished": "status.completionTime"},
                        }
                    ],
                    "allow": {"clusterScoped": True},
                },
                "production": {"health": {"timeout": "2m"}, "allow": {"clusterScoped": True}},
            },
        },
        sort_keys=False,
    )


def rendered_app(feature: str = "feature-a") -> str:
    """What a supply chain would render for `feature`: its own app in its own namespace."""
    app, namespace = FEATURES[feature]
    labels = {"app": app}
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, "namespace": namespace},
            "spec": {
                "replicas": "$(params.replicas)$",
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": app, "image": "nginx:1.27"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"port": 80}]},
        },
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def seed_repository(repo: Path, scratch: Path, *, push_to: str = "") -> None:
    if not push_to:
        git("init", "--quiet", "--bare", "--initial-branch=main", str(repo), cwd=scratch)
    work = scratch / "seed"
    git("init", "--quiet", "--initial-branch=staging", str(work), cwd=scratch)
    (work / ".orchestrator").mkdir()
    (work / ".orchestrator" / "policy.yaml").write_text(policy())
    (work / "manifests").mkdir()
    (work / "manifests" / "README.md").write_text("Delivered configuration lives here.\n")
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "Set up the environments and their promotion policy", cwd=work)
    remote = push_to or str(repo)
    git("push", "--quiet", remote, "staging:staging", "staging:production", cwd=work)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Agent:
    def __init__(
        self,
        *,
        env: str,
        cluster: Cluster,
        url: str,
        workdir: Path,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.env = env
        self.port = free_port()
        self.log = workdir / "logs" / f"{env}-agent.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.settings = {
            "ORCHESTRATOR_GIT__URL": url,
            "ORCHESTRATOR_GIT__CACHE_DIR": str(workdir / "cache" / env),
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
            "ORCHESTRATOR_GIT__AUTHOR_NAME": f"{env} agent",
            "ORCHESTRATOR_GIT__AUTHOR_EMAIL": f"{env}-agent@demo.local",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": env,
            "ORCHESTRATOR_AGENT__IDENTITY": f"{env}-agent",
            "ORCHESTRATOR_AGENT__PARAMS": json.dumps({"replicas": 2 if env == "staging" else 3}),
            "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(cluster.kubeconfig),
            "ORCHESTRATOR_CLUSTER__NAMESPACE": AGENT_NAMESPACE,
            "ORCHESTRATOR_SERVER__PORT": str(self.port),
            # The demo delivers its Namespace, so the cluster allows cluster-scoped kinds.
            "ORCHESTRATOR_TRUST__CEILING__CLUSTER_SCOPED": "true",
            **(extra or {}),
        }
        if env == "build":
            self.settings["ORCHESTRATOR_AGENT__ROLE"] = "build"
            self.settings["ORCHESTRATOR_AGENT__PUBLISH_TO"] = "staging"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(ORCHESTRATOR), "agent"],
                env={**env, **self.settings},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def note_phases(repo: Path, env: str, rev: str) -> list[dict[str, Any]]:
    for sync in _sync:
        sync()
    done = subprocess.run(
        ["git", "notes", f"--ref=refs/notes/orchestrator/{env}", "show", rev],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return []
    entries: list[dict[str, Any]] = json.loads(done.stdout).get("entries", [])
    return entries


def branch_tip(repo: Path, branch: str) -> str | None:
    for sync in _sync:
        sync()
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def follow(repo: Path, env: str, rev: str, *, until: str, timeout: float = 240) -> dict[str, Any]:
    """Wait for a phase in `env`'s note on `rev`, printing each new entry as it appears."""
    shown = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = note_phases(repo, env, rev)
        for entry in entries[shown:]:
            extra = entry.get("health") or entry.get("message") or entry.get("gate") or ""
            detail(f"{env} agent noted {entry['phase']}: {extra}")
        shown = len(entries)
        for entry in entries:
            if entry["phase"] == until:
                return entry
            if entry["phase"] == "Failed":
                raise SystemExit(
                    f"demo: {env} failed at {entry.get('stage')}: {entry.get('message')}"
                )
        time.sleep(0.5)
    raise SystemExit(f"demo: {env} did not reach {until} on {rev[:12]} within {timeout:.0f}s")


@contextmanager
def stopped_on_exit(stack: ExitStack) -> Iterator[None]:
    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        say("cleaning up: stopping agents and clusters")
        stack.close()


def publish_features(build: Cluster, repo: Path) -> None:
    """What a supply chain does: one labelled ConfigMap per feature in the build cluster."""
    for feature, (app, _) in FEATURES.items():
        say(f"supply chain: rendering {feature} into a labelled ConfigMap in the build cluster")
        resp = build.admin().request(
            "POST",
            f"/api/v1/namespaces/{AGENT_NAMESPACE}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"{app}-{feature}",
                    "labels": {
                        "orchestrator.dev/publish": "true",
                        "orchestrator.dev/feature": feature,
                    },
                    "annotations": {"orchestrator.dev/source-commit": "c0ffee" + "0" * 34},
                },
                # Its own file: a publication replaces the delivery directory's files.
                "data": {f"{app}.yaml": rendered_app(feature)},
            },
        )
        if not resp.ok:
            raise SystemExit(f"demo: cannot create the rendered ConfigMap: {resp.body}")
    for feature in FEATURES:
        branch = f"pr/staging/{feature}"

        def published(branch: str = branch) -> str | None:
            return branch_tip(repo, branch)

        candidate = wait_for(branch, published)
        detail(f"build agent published {branch} at {candidate[:12]}")


def approve_side_by_side(repo: Path, remote: str) -> dict[str, str]:
    """Both features into staging a second apart: the second lands while the first soaks."""
    revs: dict[str, str] = {}
    for feature in FEATURES:
        if revs:
            time.sleep(1.0)
        say(f"maintainer: approving pr/staging/{feature} into staging")
        orchestrator("approve", "--repo", remote, "--env", "staging", "--feature", feature)
        revs[feature] = branch_tip(repo, "staging") or ""
        detail(f"staging is now {revs[feature][:12]}")
    return revs


def start_forge(workdir: Path, *, repo: Path, stack: ExitStack) -> ForgeBus:
    """A Gitea hosting the bus; `repo` becomes the demo's local mirror of it."""
    say("starting Gitea on 127.0.0.1 (built once, then cached in ~/.cache/orchestrator)")
    forge = ForgeBus.start(workdir, mirror=repo)
    stack.callback(forge.stop)
    _sync.append(forge.sync)
    os.environ.update(forge.git_settings())  # for the maintainer's `approve`
    detail(f"gitea {forge.server.url}  (user admin, password {forge.server.password})")
    return forge


def start_agents(
    clusters: dict[str, Cluster], *, url: str, workdir: Path, forge: ForgeBus | None
) -> dict[str, Agent]:
    """One agent per cluster; with a forge, staging and production mirror to it."""
    agents = {}
    for env in ENVIRONMENTS:
        extra = forge.agent_settings(webhook=env == "production") if forge else {}
        if forge is not None and env == "build":
            extra = forge.git_settings()
        agents[env] = Agent(env=env, cluster=clusters[env], url=url, workdir=workdir, extra=extra)
    return agents


def release_through_forge(forge: ForgeBus) -> None:
    """The reviewer's part: each promotion's pull request, green and previewed, merged."""
    for feature in FEATURES:
        head = f"pr/production/{feature}"
        say(f"reviewer: waiting for the pull request from {head} to turn green")
        pull = forge.green(head, [*STAGING_GATES, "orchestrator/production/preview"])
        detail(f"#{pull['number']} {pull['title']}  {pull['html_url']}")
        for context, status in sorted(forge.statuses(pull["head"]["sha"]).items()):
            detail(f"  {status['status']:<8} {context}: {status['description']}")
        preview = [c for c in forge.comments(pull["number"]) if "Preview in" in c]
        for line in preview[0].splitlines() if preview else []:
            if line.startswith(("###", "**")) or "<code>" in line:
                shown = line.replace("- <details><summary><code>", "- ").split("</code>")[0]
                detail(f"  | {shown}")
        say(f"reviewer: merging #{pull['number']} through Gitea's API")
        forge.merge(pull["number"])


def run(workdir: Path, *, keep_running: bool, forge_kind: str = "") -> None:
    started = time.monotonic()
    repo = workdir / "repo.git"
    if repo.exists():
        shutil.rmtree(repo)
    scratch = workdir / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    with ExitStack() as stack, stopped_on_exit(stack):
        say("control plane binaries (built once, then cached in ~/.cache/orchestrator)")
        binaries = ensure_binaries(progress=detail)
        say("starting clusters build, staging, production on 127.0.0.1")
        plane = stack.enter_context(ControlPlane(directory=workdir / "clusters", binaries=binaries))
        clusters = plane.start(list(ENVIRONMENTS))
        for name, cluster in clusters.items():
            detail(f"{name:<11} {cluster.server}  kubeconfig {cluster.kubeconfig}")
            resp = cluster.admin().request(
                "POST",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": AGENT_NAMESPACE}},
            )
            if not resp.ok and resp.status != 409:
                raise SystemExit(f"demo: cannot create {AGENT_NAMESPACE}: {resp.body}")

        forge = start_forge(workdir, repo=repo, stack=stack) if forge_kind else None
        url = forge.url if forge else str(repo)
        say(f"creating the shared repository {url}")
        seed_repository(repo, scratch, push_to=forge.push_url if forge else "")
        detail("branches staging and production, each with .orchestrator/policy.yaml")
        if forge is not None:
            forge.require_statuses("production", STAGING_GATES)
            detail(f"production requires {', '.join(STAGING_GATES)} on a pull request")

        say("starting one agent per cluster")
        agents = start_agents(clusters, url=url, workdir=workdir, forge=forge)
        for agent in agents.values():
            agent.start()
            stack.callback(agent.stop)
            detail(f"{agent.env:<11} agent  {agent.url}  log {agent.log}")
        if forge is not None:
            forge.hook(agents["production"].port)

        publish_features(clusters["build"], repo)
        staging_revs = approve_side_by_side(repo, url)
        say("staging agent: one verdict for the newest revision, covering both merges")
        staging_rev = staging_revs["feature-b"]
        follow(repo, "staging", staging_rev, until="Promoted")
        for feature, rev in staging_revs.items():
            promoted = follow(repo, "staging", rev, until="Promoted")
            for promotion in promoted.get("promotions", []):
                branch = promotion["ref"].removeprefix("refs/heads/")
                detail(f"{feature}: promoted on its own to {branch} at {promotion['commit'][:12]}")

        if forge is not None:
            release_through_forge(forge)
        for feature in FEATURES if forge is None else ():
            say(f"maintainer: approving pr/production/{feature} into production")
            orchestrator(
                "approve", "--repo", str(repo), "--env", "production", "--feature", feature
            )
        production_rev = branch_tip(repo, "production") or ""
        follow(repo, "production", production_rev, until="Healthy")

        elapsed = time.monotonic() - started
        say(f"feature-a and feature-b are Healthy in production ({elapsed:.0f}s)")
        print(orchestrator("status", "--repo", str(repo), check=False), flush=True)
        print(
            orchestrator("status", "--repo", str(repo), "--feature", "feature-a", check=False),
            flush=True,
        )
        say("where to look")
        for cluster in clusters.values():
            detail(f"kubectl --kubeconfig {cluster.kubeconfig} get deploy -A")
        detail(f"git --git-dir {repo} log --oneline --all --graph")
        notes = "notes --ref=refs/notes/orchestrator/staging"
        detail(f"git --git-dir {repo} {notes} show {staging_rev[:12]}")
        detail(
            f"pipeline page: {agents['staging'].url}/   metrics: {agents['staging'].url}/metrics"
        )
        if keep_running:
            say("running; press Ctrl-C to stop and clean up")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m e2e.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--workdir", type=Path, help="keep DIR/repo.git (and logs) after the demo")
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="after the flow, keep everything up until Ctrl-C",
    )
    parser.add_argument(
        "--forge",
        choices=["gitea"],
        default="",
        help="host the repository on a local forge: pull requests, statuses, previews",
    )
    args = parser.parse_args(argv)
    try:
        if args.workdir is not None:
            workdir = args.workdir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
            try:
                run(workdir, keep_running=args.keep_running, forge_kind=args.forge)
            finally:
                for leftover in ("clusters", "cache", "scratch", "forge"):
                    shutil.rmtree(workdir / leftover, ignore_errors=True)
            say(f"kept {workdir / 'repo.git'}: orchestrator status --repo {workdir / 'repo.git'}")
        else:
            with tempfile.TemporaryDirectory(prefix="orchestrator-demo-") as tmp:
                run(Path(tmp), keep_running=args.keep_running, forge_kind=args.forge)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
