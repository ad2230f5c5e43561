"""Note entries read as gates: the commit statuses and pull request a forge should show.

Pure: a typed note entry in, plain values out. Each entry says how far a revision
got in one environment, so it settles the gates it passed (success), the one it
failed at (failure), and, for a closed promotion gate, the promotion as pending
with the reason and the time it opens. Gates an entry says nothing about are left
as they are: a later entry never takes back an earlier gate's verdict unless it
names that gate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.forge.protocol import CommitStatus, StatusState
from orchestrator.record import Entry, Phase, Stage

PR_PREFIX = "refs/heads/pr/"
PASSED_RUNS = frozenset({"Passed", "Succeeded", "Success"})

# The stages before the apply went through: a failure there fails `apply`.
_BEFORE_APPLY = frozenset(
    {
        Stage.ARTIFACT,
        Stage.POLICY,
        Stage.SIGNATURE,
        Stage.BUILD,
        Stage.NOT_ALLOWED,
        Stage.APPLY,
        Stage.PRUNE,
    }
)

# A status of one gate in the entry's environment: (gate, state, description).
StatusOf = Callable[[str, StatusState, str], CommitStatus]


def context(env: str, gate: str) -> str:
    """`orchestrator/<env>/<gate>`: the name branch protection requires."""
    return f"orchestrator/{env}/{gate}"


@dataclass(frozen=True, kw_only=True)
class PullRequestWanted:
    """A pushed promotion branch the forge should show as a pull request."""

    head: str  # pr/<next>/<feature>
    base: str  # <next>
    commit: str  # the promotion commit: the pull request's head
    title: str
    body: str


def gate_statuses(entry: Entry, *, target_url: str = "") -> tuple[CommitStatus, ...]:
    """The statuses `entry` settles on its revision in its environment."""
    env = entry.environment
    if not env:
        return ()

    def status(gate: str, state: StatusState, description: str) -> CommitStatus:
        return CommitStatus(
            context=context(env, gate),
            state=state,
            description=description,
            target_url=target_url,
        )

    if entry.phase == Phase.DRIFT_CORRECTED:
        return (status("apply", StatusState.SUCCESS, "re-applied after drift"),)
    if entry.phase in (Phase.HEALTHY, Phase.WAITING, Phase.PROMOTED):
        return _passed(entry, status)
    if entry.phase == Phase.FAILED:
        return _failed(entry, status)
    return ()  # RolledBack, Superseded: the Failed entry before them said it


def _verified(entry: Entry, status: StatusOf) -> list[CommitStatus]:
    ok = StatusState.SUCCESS
    return [
        status("apply", ok, "applied"),
        status("health", ok, entry.health or "healthy"),
        status("soak", ok, "stayed healthy through the soak time"),
    ]


def _passed(entry: Entry, status: StatusOf) -> tuple[CommitStatus, ...]:
    """Healthy, Waiting, Promoted: every gate up to the promotion passed."""
    passed = [*_verified(entry, status), *_run_statuses(entry, status)]
    if entry.phase == Phase.WAITING:
        # The gate's reason says when it opens ("... next opens <time>", "... until <time>").
        reason = entry.message or entry.gate or "a promotion gate is closed"
        passed.append(status("promotion", StatusState.PENDING, reason))
    elif entry.phase == Phase.PROMOTED:
        targets = ", ".join(p.target for p in entry.promotions) or "its targets"
        passed.append(status("promotion", StatusState.SUCCESS, f"promoted to {targets}"))
    return tuple(passed)


def _failed(entry: Entry, status: StatusOf) -> tuple[CommitStatus, ...]:
    """A Failed entry fails the gate of its stage; the gates before it passed."""
    stage, reason = entry.stage, entry.message or entry.error
    ok, bad = StatusState.SUCCESS, StatusState.FAILURE
    if stage in _BEFORE_APPLY:
        return (status("apply", bad, f"{stage}: {reason}"),)
    if stage == Stage.HEALTH:
        return (status("apply", ok, "applied"), status("health", bad, reason))
    if stage == Stage.VERIFICATION:
        runs = _run_statuses(entry, status) or [status("verification", bad, reason)]
        return (*_verified(entry, status), *runs)
    if stage in (Stage.PROMOTION, Stage.CONFLICT):
        return (status("promotion", bad, f"{stage}: {reason}"),)
    return ()


def _run_statuses(entry: Entry, status: StatusOf) -> list[CommitStatus]:
    out = []
    for run in entry.runs:
        if not run.name:
            continue
        passed = run.outcome in PASSED_RUNS
        state = StatusState.SUCCESS if passed else StatusState.FAILURE
        described = run.outcome + (f": {run.message}" if run.message else "")
        out.append(status(f"verification/{run.name}", state, described))
    return out


def pull_requests(entry: Entry, *, pipeline_url: str = "") -> tuple[PullRequestWanted, ...]:
    """The pull requests a Promoted entry's pushed `pr/<next>/<feature>` branches ask for."""
    if entry.phase != Phase.PROMOTED:
        return ()
    wanted = []
    for promotion in entry.promotions:
        ref = promotion.ref or ""
        if not (promotion.pushed and promotion.commit and ref.startswith(PR_PREFIX)):
            continue  # a direct promotion (mode auto) has no pull request
        head = ref.removeprefix("refs/heads/")
        wanted.append(
            PullRequestWanted(
                head=head,
                base=promotion.target,
                commit=promotion.commit,
                title=_title(entry, target=promotion.target),
                body=_body(entry, pipeline_url=pipeline_url),
            )
        )
    return tuple(wanted)


def _title(entry: Entry, *, target: str) -> str:
    what = entry.delivery or entry.revision[:12]
    return f"Promote {what} to {target}"


def _body(entry: Entry, *, pipeline_url: str) -> str:
    lines = [
        f"Promotes **{entry.delivery or 'a delivery'}** from `{entry.environment}`, "
        f"verified there at `{entry.revision}` by {entry.agent or 'its agent'}.",
        "",
        f"- Health: {entry.health or 'healthy'}",
    ]
    for run in entry.runs:
        outputs = run.raw.get("outputs")
        shown = ""
        if isinstance(outputs, dict) and outputs:
            shown = " (" + ", ".join(f"{k}: {v}" for k, v in sorted(outputs.items())) + ")"
        lines.append(f"- Verification `{run.name}`: {run.outcome}{shown}")
    if pipeline_url:
        lines += ["", f"Pipeline: {pipeline_url}"]
    lines += ["", "The gates are the `orchestrator/…` commit statuses on this pull request."]
    return "\n".join(lines)
