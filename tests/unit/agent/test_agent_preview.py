"""Previews of candidates: refused ones say why, each commit once, gone ones forgotten."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.agent.preview import Previewer, candidates_pattern, job_name
from orchestrator.agent.reconcile import Reconciler
from orchestrator.forge import CommitStatus, StatusState
from orchestrator.settings import Settings
from tests.support.memory_ports import MemoryCluster, MemoryGit, policy, settings

HEAD = "pr/staging/feature-a"


@dataclass
class Tips:
    tips: dict[str, str]


@dataclass
class Candidates:
    """The clone's candidate refs, as `CacheRepo.poll` reports them."""

    tips: dict[str, str] = field(default_factory=dict)
    watched: list[list[str]] = field(default_factory=list)

    def poll(self, watch: list[str]) -> Tips:
        self.watched.append(watch)
        return Tips(dict(self.tips))


@dataclass
class Shown:
    previews: list[dict[str, Any]] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)

    def show_preview(self, **preview: Any) -> None:
        self.previews.append(preview)

    def forget_preview(self, head: str) -> None:
        self.forgotten.append(head)


def _previewer(git: MemoryGit, candidates: Candidates, shown: Shown) -> Previewer:
    reconciler = Reconciler(
        settings=Settings.model_validate(settings()), git=git, cluster=MemoryCluster()
    )
    return Previewer(
        reconciler=reconciler,
        repo=candidates,  # type: ignore[arg-type]
        kube=None,  # type: ignore[arg-type]
        gates=shown,  # type: ignore[arg-type]
        namespace="orchestrator-system",
    )


def test_a_candidate_outside_the_allowance_is_previewed_as_refused_once_per_commit() -> None:
    git = MemoryGit()
    candidate = git.commit(1, feature="feature-a", policy=policy(allow={"kinds": ["Deployment"]}))
    candidates, shown = Candidates({f"refs/heads/{HEAD}": candidate}), Shown()
    previewer = _previewer(git, candidates, shown)
    previewer.poll(None)  # type: ignore[arg-type]
    previewer.poll(None)  # type: ignore[arg-type]
    assert candidates.watched[0] == [candidates_pattern("staging")] == ["refs/heads/pr/staging/*"]
    (preview,) = shown.previews
    status: CommitStatus = preview["status"]
    assert (preview["head"], preview["sha"]) == (HEAD, candidate)
    assert status.context == "orchestrator/staging/preview"
    assert status.state == StatusState.FAILURE
    assert "NotAllowed" in status.description
    assert "would refuse this candidate" in preview["body"]

    candidates.tips.clear()  # merged, and the branch deleted
    previewer.poll(None)  # type: ignore[arg-type]
    assert shown.forgotten == [HEAD]
    assert job_name("staging") == "pr/staging"
