"""Staging and production agents with the bus hosted on a real Gitea.

The agents fetch and push the bus over Gitea's HTTP git URL with a token, and are
configured with Gitea as their forge: the staging agent's promotion becomes one
pull request whose head carries every gate as a commit status; merging it through
Gitea's API reaches the production agent through Gitea's webhook; a Gitea that stops
mid-flow does not stop the delivery, and what it missed is caught up afterwards.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.controlplane import Cluster
from e2e.controlplane.cluster import free_port
from e2e.forge import ADMIN_USER, GiteaServer
from tests.support.agents import AgentProcess, eventually
from tests.support.tcp_relay import Relay
from tests.support.workrepo import git

pytestmark = pytest.mark.slow

HEAD = "pr/production/feature-a"
GATES = ("apply", "health", "soak", "verification/smoke", "promotion")
STAGING_CONTEXTS = {f"orchestrator/staging/{gate}" for gate in GATES}


def _policy(app_ns: str, *, soak: str = "0s", auto_merge: bool = False) -> str:
    smoke = {
        "name": "smoke",
        "template": {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"namespace": app_ns},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "smoke", "image": "busybox", "args": ["check"]}],
                    }
                },
            },
        },
    }
    return yaml.safe_dump(
        {
            "apiVersion": "orchestrator.dev/v1alpha1",
            "kind": "PromotionPolicy",
            "environments": {
                "staging": {
                    "promotion": {"to": ["production"], "mode": "pr", "autoMerge": auto_merge},
                    "health": {"timeout": "90s", "soak": soak},
                    "allow": {"clusterScoped": True},
                    "verification": [smoke],
                },
                "production": {"health": {"timeout": "90s"}, "allow": {"clusterScoped": True}},
            },
        }
    )


def _app(app_ns: str, *, password: str = "") -> str:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": app_ns},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.example/web:1.0"}]},
            },
        },
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app_ns}}
    docs: list[dict[str, Any]] = [namespace, deployment]
    if password:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": app_ns},
            "stringData": {"password": password},
        }
        docs.append(secret)
    return yaml.safe_dump_all(docs)


class GiteaFlow:
    """A bus repository on the Gitea, a maintainer's clone of it, and the agents."""

    def __init__(
        self, *, gitea: GiteaServer, clusters: dict[str, Cluster], root: Path, token: str
    ) -> None:
        self.gitea = gitea
        self.clusters = clusters
        self.root = root
        self.uid = uuid.uuid4().hex[:8]
        self.agent_ns = f"agents-{self.uid}"
        self.app_ns = f"app-{self.uid}"
        name = f"bus-{self.uid}"
        answer = gitea.api("POST", "/user/repos", {"name": name, "auto_init": False})
        assert answer.status == 201, answer.data
        self.full_name = f"{ADMIN_USER}/{name}"
        self.repo_api = f"/repos/{self.full_name}"
        self.token_file = root / "forge-token"
        self.token_file.write_text(token + "\n")
        self.work = root / "work"
        git("init", "--quiet", "--initial-branch=staging", str(self.work), cwd=root)
        git("remote", "add", "origin", gitea.git_url(self.full_name), cwd=self.work)
        self.webhook_secret = secrets.token_hex(16)
        self.agents: list[AgentProcess] = []
        for cluster in clusters.values():
            resp = cluster.admin().request(
                "POST",
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.agent_ns}},
            )
            assert resp.ok or resp.status == 409, resp.body

    # -- the maintainer's side -------------------------------------------------------

    def commit(self, branch: str, files: dict[str, str], *, message: str, base: str = "") -> str:
        git("fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*", cwd=self.work)
        start = f"origin/{branch}" if self._has(branch) else (f"origin/{base}" if base else "")
        if start:
            git("checkout", "--quiet", "-B", branch, start, cwd=self.work)
        else:
            git("checkout", "--quiet", "--orphan", branch, cwd=self.work)
            git("rm", "-rf", "--quiet", "--ignore-unmatch", ".", cwd=self.work)
        for path, content in files.items():
            (self.work / path).parent.mkdir(parents=True, exist_ok=True)
            (self.work / path).write_text(content)
            git("add", path, cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def _has(self, branch: str) -> bool:
        return bool(git("branch", "-r", "--list", f"origin/{branch}", cwd=self.work))

    def phases(self, env: str, sha: str) -> list[str]:
        """The phases the env's note on `sha` holds, read through the Gitea."""
        try:
            git("fetch", "--quiet", "origin", "+refs/notes/*:refs/notes/*", cwd=self.work)
            text = git("notes", f"--ref=refs/notes/orchestrator/{env}", "show", sha, cwd=self.work)
        except AssertionError:
            return []
        return [entry["phase"] for entry in json.loads(text)["entries"]]

    def setup(self, policy: str) -> None:
        for env in ("staging", "production"):
            self.commit(
                env,
                {".orchestrator/policy.yaml": policy, "manifests/README": "delivered config\n"},
                message=f"Set up {env}",
                base="staging" if env == "production" else "",
            )

    # -- the forge's side ----------------------------------------------------------------

    def open_pulls(self) -> list[dict[str, Any]]:
        answer = self.gitea.api("GET", f"{self.repo_api}/pulls?state=open")
        assert answer.status == 200, answer.data
        pulls: list[dict[str, Any]] = answer.data
        return pulls

    def pull(self, number: int) -> dict[str, Any]:
        answer = self.gitea.api("GET", f"{self.repo_api}/pulls/{number}")
        assert answer.status == 200, answer.data
        pull: dict[str, Any] = answer.data
        return pull

    def statuses(self, sha: str) -> dict[str, str]:
        """The latest state of each context on `sha`, as Gitea shows it."""
        answer = self.gitea.api("GET", f"{self.repo_api}/commits/{sha}/status")
        if answer.status != 200:
            return {}
        return {s["context"]: s["status"] for s in answer.data.get("statuses") or []}

    def comments(self, number: int) -> list[str]:
        answer = self.gitea.api("GET", f"{self.repo_api}/issues/{number}/comments")
        assert answer.status == 200, answer.data
        return [str(c["body"]) for c in answer.data]

    def branch_tip(self, branch: str) -> str:
        answer = self.gitea.api("GET", f"{self.repo_api}/branches/{branch}")
        assert answer.status == 200, answer.data
        sha: str = answer.data["commit"]["id"]
        return sha

    def hook(self, port: int) -> None:
        """Gitea's own webhook to the production agent, in Gitea's own format."""
        config = {
            "url": f"http://127.0.0.1:{port}/hooks/git",
            "content_type": "json",
            "secret": self.webhook_secret,
        }
        answer = self.gitea.api(
            "POST",
            f"{self.repo_api}/hooks",
            {"type": "gitea", "active": True, "events": ["push", "pull_request"], "config": config},
        )
        assert answer.status == 201, answer.data

    def protect_production(self) -> None:
        """Branch protection that requires every staging gate on a pull request's head."""
        rule = {
            "rule_name": "production",
            "enable_status_check": True,
            "status_check_contexts": sorted(STAGING_CONTEXTS),
        }
        answer = self.gitea.api("POST", f"{self.repo_api}/branch_protections", rule)
        assert answer.status == 201, answer.data

    # -- the agents ------------------------------------------------------------------------

    def agent(self, env: str, **settings: str) -> AgentProcess:
        name = f"{env}-{self.uid}"
        env_vars = {
            "ORCHESTRATOR_GIT__URL": f"{self.gitea.url}/{self.full_name}.git",
            "ORCHESTRATOR_GIT__USERNAME": ADMIN_USER,
            "ORCHESTRATOR_GIT__TOKEN_FILE": str(self.token_file),
            "ORCHESTRATOR_GIT__CACHE_DIR": str(self.root / "cache" / name),
            "ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS": "1",
            "ORCHESTRATOR_GIT__AUTHOR_EMAIL": f"{env}@agents.test",
            "ORCHESTRATOR_AGENT__ENVIRONMENT": env,
            "ORCHESTRATOR_AGENT__IDENTITY": f"{env}-agent",
            "ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS": "5",
            "ORCHESTRATOR_CLUSTER__KUBECONFIG": str(self.clusters[env].kubeconfig),
            "ORCHESTRATOR_CLUSTER__NAMESPACE": self.agent_ns,
            "ORCHESTRATOR_SERVER__PORT": "0",
            "ORCHESTRATOR_TRUST__CEILING__CLUSTER_SCOPED": "true",
            "ORCHESTRATOR_FORGE__KIND": "gitea",
            "ORCHESTRATOR_FORGE__API_URL": self.gitea.api_url,
            "ORCHESTRATOR_FORGE__REPOSITORY": self.full_name,
            "ORCHESTRATOR_FORGE__TOKEN_FILE": str(self.token_file),
            "ORCHESTRATOR_FORGE__RETRY_INITIAL_SECONDS": "0.5",
            "ORCHESTRATOR_FORGE__RETRY_MAX_SECONDS": "2",
            **settings,
        }
        agent = AgentProcess(name=name, settings=env_vars, log_dir=self.root)
        self.agents.append(agent)
        return agent.start()

    def production_agent(self) -> AgentProcess:
        """Polls only every minute: a quick delivery can only be the webhook's doing."""
        port = free_port()
        agent = self.agent(
            "production",
            ORCHESTRATOR_GIT__POLL_INTERVAL_SECONDS="60",
            ORCHESTRATOR_AGENT__DRIFT_INTERVAL_SECONDS="300",
            ORCHESTRATOR_SERVER__PORT=str(port),
            ORCHESTRATOR_SERVER__WEBHOOK_SECRET=self.webhook_secret,
        )
        eventually("production agent serving", lambda: "serving HTTP" in agent.log(), timeout=60)
        self.hook(port)
        return agent

    def logs(self) -> str:
        return "\n".join(f"=== {a.name}\n{a.log()[-3000:]}" for a in self.agents)

    def deployment(self, env: str) -> dict[str, Any] | None:
        path = f"/apis/apps/v1/namespaces/{self.app_ns}/deployments/web"
        resp = self.clusters[env].admin().request("GET", path)
        return resp.body if resp.status == 200 else None

    def wait_pull(self, timeout: float = 120) -> dict[str, Any]:
        found: list[dict[str, Any]] = eventually(
            f"an open pull request from {HEAD}",
            lambda: [p for p in self.open_pulls() if p["head"]["ref"] == HEAD],
            timeout=timeout,
            logs=self.logs,
        )
        return found[0]

    def wait_green(self, sha: str, contexts: set[str], timeout: float = 120) -> dict[str, str]:
        def green() -> dict[str, str] | None:
            shown = self.statuses(sha)
            return shown if {c for c, s in shown.items() if s == "success"} >= contexts else None

        return eventually(
            f"{sorted(contexts)} success on {sha[:12]}", green, timeout=timeout, logs=self.logs
        )

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()


@pytest.fixture
def flow(
    gitea: GiteaServer, agent_token: str, clusters: dict[str, Cluster], tmp_path: Path
) -> Iterator[GiteaFlow]:
    f = GiteaFlow(gitea=gitea, clusters=clusters, root=tmp_path, token=agent_token)
    try:
        yield f
    finally:
        f.close()


def _assert_previewed(flow: GiteaFlow, pull: dict[str, Any], *, password: str) -> None:
    """The production agent previewed the candidate against its own cluster."""
    head = pull["head"]["sha"]
    flow.wait_green(head, {"orchestrator/production/preview"})
    assert flow.statuses(head)["orchestrator/production/preview"] == "success"
    (comment,) = eventually(
        "the preview comment",
        lambda: [c for c in flow.comments(pull["number"]) if "Preview in `production`" in c],
        timeout=60,
        logs=flow.logs,
    )
    assert "**3 to create**" in comment
    for name in (f"Deployment/{flow.app_ns}/web", f"Secret/{flow.app_ns}/creds"):
        assert name in comment
    for secret in (password, base64.b64encode(password.encode()).decode()):
        assert secret not in comment


def test_a_promotion_is_one_green_pull_request_and_its_merge_reaches_production_by_webhook(
    flow: GiteaFlow,
) -> None:
    flow.setup(_policy(flow.app_ns))
    flow.protect_production()
    staging = flow.agent("staging")
    production = flow.production_agent()
    password = f"hunter2-{flow.uid}"
    delivered = flow.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns, password=password)},
        message="feature-a\n\nDelivery: feature-a",
    )

    pull = flow.wait_pull()
    assert pull["base"]["ref"] == "production"
    assert pull["title"] == "Promote feature-a to production"
    assert delivered in pull["body"]
    head = pull["head"]["sha"]
    shown = flow.wait_green(head, STAGING_CONTEXTS)
    assert {c: s for c, s in shown.items() if c in STAGING_CONTEXTS} == dict.fromkeys(
        STAGING_CONTEXTS, "success"
    )
    # The revision the staging agent handled carries the same gates.
    flow.wait_green(delivered, STAGING_CONTEXTS)

    _assert_previewed(flow, pull, password=password)

    # A restart of the staging agent neither opens a second pull request nor loses one.
    staging.stop()
    flow.agent("staging")
    time.sleep(5)
    assert [p["number"] for p in flow.open_pulls()] == [pull["number"]]

    assert flow.deployment("production") is None
    answer = flow.gitea.api(
        "POST", f"{flow.repo_api}/pulls/{pull['number']}/merge", {"Do": "merge"}
    )
    merged_at = time.monotonic()
    assert answer.status == 200, answer.data
    eventually(
        "the merge applied in production",
        lambda: flow.deployment("production"),
        timeout=30,
        interval=0.1,
        logs=flow.logs,
    )
    applied_after = time.monotonic() - merged_at
    assert applied_after <= 2.0, f"applied {applied_after:.1f}s after the merge"
    # Gitea's pull request event named the merged-into branch (its push event follows).
    eventually(
        "the merged-PR event at the production agent",
        lambda: "webhook: merged into refs/heads/production, poll requested" in production.log(),
        timeout=10,
    )

    released = flow.branch_tip("production")
    eventually(
        "production Healthy",
        lambda: "Healthy" in flow.phases("production", released),
        timeout=120,
        logs=flow.logs,
    )
    production_gates = {f"orchestrator/production/{g}" for g in ("apply", "health", "soak")}
    flow.wait_green(released, production_gates)


def test_a_forge_outage_does_not_stop_the_delivery_and_the_gates_catch_up(
    flow: GiteaFlow,
) -> None:
    # A soak keeps the staging agent busy while Gitea (forge and bus) is stopped.
    flow.setup(_policy(flow.app_ns, soak="4s"))
    staging = flow.agent("staging")
    delivered = flow.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns)},
        message="feature-a\n\nDelivery: feature-a",
    )
    eventually(
        "feature-a applied in staging",
        lambda: flow.deployment("staging"),
        timeout=60,
        interval=0.1,
        logs=flow.logs,
    )
    flow.gitea.stop()
    try:
        # The delivery goes on: healthy in the staging cluster while Gitea is away ...
        eventually(
            "feature-a available in staging",
            lambda: (flow.deployment("staging") or {}).get("status", {}).get("readyReplicas") == 2,
            timeout=60,
            logs=flow.logs,
        )
        # ... and the agent got to the end of it and found Gitea gone.
        eventually(
            "the staging agent meeting the outage",
            lambda: "cannot write the note" in staging.log(),
            timeout=60,
            logs=flow.logs,
        )
        assert staging.running
    finally:
        flow.gitea.start()

    pull = flow.wait_pull(timeout=120)
    flow.wait_green(pull["head"]["sha"], STAGING_CONTEXTS)
    flow.wait_green(delivered, STAGING_CONTEXTS)
    assert len([p for p in flow.open_pulls() if p["head"]["ref"] == HEAD]) == 1
    assert "Promoted" in flow.phases("staging", delivered)


def test_a_forge_api_that_does_not_answer_never_holds_the_delivery_back(flow: GiteaFlow) -> None:
    # The bus stays reachable; only the forge's API is away (a relay not yet connected).
    flow.setup(_policy(flow.app_ns))
    relay = Relay(flow.gitea.port)
    staging = flow.agent(
        "staging", ORCHESTRATOR_FORGE__API_URL=f"http://127.0.0.1:{relay.port}/api/v1"
    )
    delivered = flow.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns)},
        message="feature-a\n\nDelivery: feature-a",
    )
    eventually(
        "feature-a Promoted in staging",
        lambda: "Promoted" in flow.phases("staging", delivered),
        timeout=120,
        logs=flow.logs,
    )
    assert flow.branch_tip(HEAD)  # the promotion went out all the same
    assert flow.open_pulls() == []
    assert flow.statuses(delivered) == {}
    eventually("the mirror retrying", lambda: "will catch up" in staging.log(), timeout=30)

    relay.connect()
    try:
        pull = flow.wait_pull(timeout=60)
        flow.wait_green(pull["head"]["sha"], STAGING_CONTEXTS, timeout=60)
        flow.wait_green(delivered, STAGING_CONTEXTS, timeout=60)
        # The worker says so once its whole catch-up is through (the forge still there).
        eventually("the mirror caught up", lambda: "back; caught up" in staging.log(), timeout=30)
    finally:
        relay.cut()


def test_an_agent_restarted_after_a_forge_outage_catches_up_from_its_notes(
    flow: GiteaFlow,
) -> None:
    flow.setup(_policy(flow.app_ns))
    relay = Relay(flow.gitea.port)  # the forge's API is away while the agent delivers
    api = {"ORCHESTRATOR_FORGE__API_URL": f"http://127.0.0.1:{relay.port}/api/v1"}
    first = flow.agent("staging", **api)
    delivered = flow.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns)},
        message="feature-a\n\nDelivery: feature-a",
    )
    eventually(
        "feature-a Promoted in staging",
        lambda: "Promoted" in flow.phases("staging", delivered),
        timeout=120,
        logs=flow.logs,
    )
    eventually("the mirror retrying", lambda: "will catch up" in first.log(), timeout=30)
    assert first.stop() == 0  # what it could not show dies with it

    relay.connect()
    try:
        flow.agent("staging", **api)
        pull = flow.wait_pull(timeout=60)
        flow.wait_green(pull["head"]["sha"], STAGING_CONTEXTS, timeout=60)
        flow.wait_green(delivered, STAGING_CONTEXTS, timeout=60)
    finally:
        relay.cut()
    assert [p["head"]["ref"] for p in flow.open_pulls()] == [HEAD]


def test_auto_merge_merges_the_green_pull_request(flow: GiteaFlow) -> None:
    flow.setup(_policy(flow.app_ns, auto_merge=True))
    flow.protect_production()
    flow.agent("staging")
    flow.production_agent()
    flow.commit(
        "staging",
        {"manifests/app.yaml": _app(flow.app_ns)},
        message="feature-a\n\nDelivery: feature-a",
    )
    pull = flow.wait_pull()
    merged = eventually(
        "the pull request merged by the staging agent",
        lambda: flow.pull(pull["number"]).get("merged"),
        timeout=120,
        logs=flow.logs,
    )
    assert merged is True
    eventually(
        "feature-a in production", lambda: flow.deployment("production"), timeout=60, logs=flow.logs
    )
