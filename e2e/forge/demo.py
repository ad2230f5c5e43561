"""The demo's forge: the shared repository on a local Gitea, and the reviewer's side of it.

With `--forge gitea` the demo keeps its bus on a Gitea started on 127.0.0.1: agents
push and fetch over its HTTP git URL with a token, open a pull request per
promotion, post every gate as a commit status, and the production agent previews
each candidate and hears merges through Gitea's webhook. The demo reads the bus
through a local mirror it fetches before each look.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.forge.binary import ensure_gitea
from e2e.forge.server import ADMIN_USER, GiteaServer

# The scopes docs/forges.md asks for: pull requests, statuses, merges, comments.
AGENT_SCOPES = ["write:repository", "write:issue"]


@dataclass
class ForgeBus:
    """The bus repository on a Gitea, with the settings agents and the CLI need for it."""

    server: GiteaServer
    full_name: str
    token_file: Path
    mirror: Path
    webhook_secret: str

    @classmethod
    def start(cls, workdir: Path, *, mirror: Path) -> ForgeBus:
        server = GiteaServer(binary=ensure_gitea(), directory=workdir / "forge").start()
        name = f"bus-{secrets.token_hex(3)}"
        answer = server.api("POST", "/user/repos", {"name": name, "auto_init": False})
        if answer.status != 201:
            server.stop()
            raise SystemExit(f"demo: cannot create the Gitea repository: {answer.data}")
        token_file = workdir / "forge-token"
        token_file.write_text(server.create_token(AGENT_SCOPES) + "\n")
        subprocess.run(
            ["git", "init", "--quiet", "--bare", str(mirror)], check=True, capture_output=True
        )
        return cls(
            server=server,
            full_name=f"{ADMIN_USER}/{name}",
            token_file=token_file,
            mirror=mirror,
            webhook_secret=secrets.token_hex(16),
        )

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        """The HTTP clone URL agents and the CLI use (the token comes from a file)."""
        return f"{self.server.url}/{self.full_name}.git"

    @property
    def push_url(self) -> str:
        """The same with the admin's credentials in it, for the demo's own seed push."""
        return self.server.git_url(self.full_name)

    def git_settings(self) -> dict[str, str]:
        return {
            "ORCHESTRATOR_GIT__USERNAME": ADMIN_USER,
            "ORCHESTRATOR_GIT__TOKEN_FILE": str(self.token_file),
        }

    def agent_settings(self, *, webhook: bool) -> dict[str, str]:
        settings = {
            **self.git_settings(),
            "ORCHESTRATOR_FORGE__KIND": "gitea",
            "ORCHESTRATOR_FORGE__API_URL": self.server.api_url,
            "ORCHESTRATOR_FORGE__REPOSITORY": self.full_name,
            "ORCHESTRATOR_FORGE__TOKEN_FILE": str(self.token_file),
        }
        if webhook:
            settings["ORCHESTRATOR_SERVER__WEBHOOK_SECRET"] = self.webhook_secret
        return settings

    def sync(self) -> None:
        """Bring the local mirror up to date (branches and notes) before the demo looks."""
        subprocess.run(
            [
                *("git", "--git-dir", str(self.mirror), "fetch", "--quiet", "--prune"),
                self.push_url,
                "+refs/heads/*:refs/heads/*",
                "+refs/notes/*:refs/notes/*",
            ],
            check=False,
            capture_output=True,
        )

    def hook(self, port: int) -> None:
        """Gitea's own webhook (push and pull request events) to an agent on `port`."""
        config = {
            "url": f"http://127.0.0.1:{port}/hooks/git",
            "content_type": "json",
            "secret": self.webhook_secret,
        }
        hook = {"type": "gitea", "active": True, "events": ["push", "pull_request"]}
        answer = self.server.api(
            "POST", f"/repos/{self.full_name}/hooks", {**hook, "config": config}
        )
        if answer.status != 201:
            raise SystemExit(f"demo: cannot add the webhook: {answer.data}")

    def require_statuses(self, branch: str, contexts: list[str]) -> None:
        """Branch protection: merging into `branch` needs every context green on the head."""
        rule = {"rule_name": branch, "enable_status_check": True, "status_check_contexts": contexts}
        answer = self.server.api("POST", f"/repos/{self.full_name}/branch_protections", rule)
        if answer.status != 201:
            raise SystemExit(f"demo: cannot protect {branch}: {answer.data}")

    def pull(self, head: str) -> dict[str, Any] | None:
        answer = self.server.api("GET", f"/repos/{self.full_name}/pulls?state=open")
        pulls: list[dict[str, Any]] = answer.data if answer.status == 200 else []
        return next((p for p in pulls if p["head"]["ref"] == head), None)

    def statuses(self, sha: str) -> dict[str, dict[str, Any]]:
        answer = self.server.api("GET", f"/repos/{self.full_name}/commits/{sha}/status")
        found = (answer.data or {}).get("statuses") or [] if answer.status == 200 else []
        return {s["context"]: s for s in found}

    def green(self, head: str, contexts: list[str], *, timeout: float = 240) -> dict[str, Any]:
        """The open pull request from `head` once every one of `contexts` is success on it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pull = self.pull(head)
            if pull is not None:
                shown = self.statuses(pull["head"]["sha"])
                if all(shown.get(c, {}).get("status") == "success" for c in contexts):
                    return pull
            time.sleep(1.0)
        raise SystemExit(f"demo: the pull request from {head} did not turn green in {timeout:.0f}s")

    def merge(self, number: int, *, timeout: float = 60) -> None:
        """Merge through the API; right after another merge into the same base Gitea is
        still checking this one ("Please try again later"), so ask again for a while."""
        path = f"/repos/{self.full_name}/pulls/{number}/merge"
        deadline = time.monotonic() + timeout
        while True:
            answer = self.server.api("POST", path, {"Do": "merge"})
            if answer.status == 200:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: merging #{number} failed: {answer.data}")
            time.sleep(1.0)

    def comments(self, number: int) -> list[str]:
        answer = self.server.api("GET", f"/repos/{self.full_name}/issues/{number}/comments")
        return [str(c["body"]) for c in answer.data] if answer.status == 200 else []
