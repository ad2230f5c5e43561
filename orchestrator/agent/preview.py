"""Preview candidates for this environment before they are merged.

The target environment's agent is the one that knows its own policy, allowance and
cluster, so it previews each `pr/<env>/<feature>` candidate: the same admission a
delivery passes (signature, policy, allowance, build), then a server-side dry run
against its cluster. The verdict goes to the forge as `orchestrator/<env>/preview`
and as one comment on the pull request, through the forge mirror's worker, so a
forge that is away never holds this agent back. Runs as a scheduler job: never at
the same time as a reconcile, so it shares the agent's clone and cluster client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from orchestrator.agent.reconcile import Reconciler
from orchestrator.agent.scheduler import RunContext, Work
from orchestrator.agent.stages import StageFailed
from orchestrator.errors import KubeError
from orchestrator.gitbus import protocol
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.kube.client import KubeClient
from orchestrator.kube.diff import ObjectDiff, diff_delivery
from orchestrator.kube.inventory import InventoryStore
from orchestrator.report import Reporter
from orchestrator.report.forge_gates import ForgeGates
from orchestrator.report.preview import marker, preview_comment, preview_status
from orchestrator.settings import Settings

log = logging.getLogger("orchestrator.agent")


def candidates_pattern(env: str) -> str:
    """The refs of the candidates for `env`: `refs/heads/pr/<env>/*`."""
    return f"{protocol.BRANCH_PREFIX}pr/{env}/*"


def job_name(env: str) -> str:
    """The scheduler job (and webhook route) of the previews: `pr/<env>`."""
    return f"pr/{env}"


@dataclass
class Previewer:
    """Previews each candidate commit once; a new commit on a candidate is previewed again."""

    reconciler: Reconciler
    repo: CacheRepo
    kube: KubeClient
    gates: ForgeGates
    namespace: str
    pipeline_url: str = ""
    seen: dict[str, str] = field(default_factory=dict)  # ref -> the commit last previewed

    @property
    def env(self) -> str:
        return self.reconciler.env

    def poll(self, _ctx: RunContext) -> None:
        tips = self.repo.poll([candidates_pattern(self.env)]).tips
        for ref in set(self.seen) - set(tips):
            del self.seen[ref]  # merged or deleted: nothing to preview any more
            self.gates.forget_preview(ref.removeprefix(protocol.BRANCH_PREFIX))
        for ref, sha in sorted(tips.items()):
            if self.seen.get(ref) != sha:
                self.preview(ref.removeprefix(protocol.BRANCH_PREFIX), sha)
                self.seen[ref] = sha

    def preview(self, head: str, sha: str) -> None:
        """Admit the candidate as a delivery would be, dry-run it, and show the verdict."""
        diffs: list[ObjectDiff] = []
        refused = ""
        try:
            policy, _delivery, manifests = self.reconciler.admit(sha)
            inventory = InventoryStore.for_environment(
                self.kube, namespace=self.namespace, environment=self.env
            ).read()
            diffs = diff_delivery(
                self.kube,
                manifests,
                field_manager=f"orchestrator-{self.env}",
                force=policy.apply.force,
                inventory=inventory,
            )
        except StageFailed as exc:
            refused = str(exc)
        except KubeError as exc:
            refused = f"dry run failed: {exc}"
        status = preview_status(
            self.env, diffs=diffs, refused=refused, target_url=self.pipeline_url
        )
        log.info("%s: preview of %s: %s", sha[:12], head, status.description)
        body = preview_comment(self.env, sha=sha, diffs=diffs, refused=refused)
        self.gates.show_preview(
            head=head, sha=sha, status=status, marker=marker(self.env), body=body
        )


def preview_polls(
    settings: Settings,
    *,
    reconciler: Reconciler,
    repo: CacheRepo,
    kube: KubeClient,
    reporter: Reporter,
) -> dict[str, Work]:
    """The preview job for the scheduler, when a forge is configured and previews are on."""
    if reporter.forge is None or not settings.forge.preview:
        return {}
    previewer = Previewer(
        reconciler=reconciler,
        repo=repo,
        kube=kube,
        gates=reporter.forge,
        namespace=settings.cluster.namespace,
        pipeline_url=settings.forge.pipeline_url,
    )
    return {job_name(settings.agent.environment): previewer.poll}
