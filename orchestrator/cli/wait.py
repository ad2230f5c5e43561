"""`orchestrator wait ENV`: block until a delivery reaches a phase, for CI pipelines.

Reads Git only (the environment's notes), like `status`: a pipeline step needs
the repository's address, not the cluster's credentials.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Final

import click

from orchestrator.cli.common import open_remote, output_option, repo_option
from orchestrator.cli.main import EXIT_FAILED, EXIT_TIMEOUT
from orchestrator.gitbus import protocol
from orchestrator.promote.policy.schema import parse_duration
from orchestrator.record import SUCCESS_PHASES, UNVERIFIED_PHASES, Phase
from orchestrator.status.model import DeliveryView, EnvironmentView
from orchestrator.status.read import read_pipeline

# What each --for accepts: a later phase on the way includes the earlier ones.
# DriftCorrected follows a healthy delivery that was re-applied; it hides the phase
# before it, so for Promoted the promotion commits decide.
TARGETS: Final[dict[str, frozenset[Phase]]] = {
    Phase.HEALTHY: SUCCESS_PHASES,
    Phase.WAITING: frozenset({Phase.WAITING, Phase.PROMOTED}),
    Phase.PROMOTED: frozenset({Phase.PROMOTED}),
}
FAILED_PHASES: Final = UNVERIFIED_PHASES
_HISTORY: Final = 50


@dataclass(frozen=True, slots=True)
class Verdict:
    """Where the awaited delivery stands: reached, failed, or pending (and why)."""

    result: str  # "reached" | "failed" | "pending"
    delivery: DeliveryView | None
    detail: str


def find(env: EnvironmentView, *, revision: str | None, feature: str | None) -> DeliveryView | None:
    """The awaited delivery: a revision (sha or prefix), else a feature's newest merge."""
    for delivery in env.deliveries:  # newest first
        if revision is not None and delivery.revision.startswith(revision):
            return delivery
        if revision is None and delivery.delivery == feature:
            return delivery
    return None


def verdict(
    env: EnvironmentView, *, revision: str | None, feature: str | None, target: str
) -> Verdict:
    """Reached when the agent's latest phase counts as `target`; failed on Failed/RolledBack."""
    found = _verdict(env, revision=revision, feature=feature, target=target)
    if found.result == "pending" and env.suspended is not None:
        return Verdict("pending", found.delivery, f"{found.detail} ({env.suspended.describe()})")
    return found


def _verdict(
    env: EnvironmentView, *, revision: str | None, feature: str | None, target: str
) -> Verdict:
    delivery = find(env, revision=revision, feature=feature)
    if delivery is None:
        what = f"revision {revision}" if revision else f"delivery {feature}"
        return Verdict("pending", None, f"{what} is not on {env.name} yet")
    promoted = delivery.phase == Phase.DRIFT_CORRECTED and any(
        p.commit for p in delivery.promotions
    )
    if delivery.phase in TARGETS[target] or (promoted and target != Phase.HEALTHY):
        return Verdict("reached", delivery, delivery.phase or "")
    if delivery.phase == Phase.SUPERSEDED:
        # Healthy, but a newer revision was promoted first: this one never will be.
        return Verdict("failed", delivery, f"Superseded ({delivery.message or 'a newer revision'})")
    if delivery.phase in FAILED_PHASES:
        why = ": ".join(p for p in (delivery.stage, delivery.message) if p)
        return Verdict("failed", delivery, f"{delivery.phase}" + (f" ({why})" if why else ""))
    if not delivery.current and delivery.phase is None and env.tip is not None:
        return Verdict("pending", delivery, f"not reconciled; the tip is now {env.tip[:12]}")
    return Verdict("pending", delivery, delivery.phase or "not reconciled yet")


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """`90`, `90s`, `5m`, `1h30m` as seconds."""
    text = value.strip()
    try:
        return float(text) if text.replace(".", "", 1).isdigit() else parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _report(verdict_: Verdict, *, environment: str, waited: float, output: str) -> None:
    delivery = verdict_.delivery
    if output == "json":
        document = {
            "environment": environment,
            "result": verdict_.result,
            "detail": verdict_.detail,
            "waited_seconds": round(waited, 1),
            "delivery": delivery.to_json() if delivery else None,
        }
        click.echo(json.dumps(document, indent=2))
        return
    where = (
        f"{environment}@{delivery.revision[:7]} ({delivery.delivery})" if delivery else environment
    )
    line = f"{where}: {verdict_.detail} after {waited:.0f}s"
    if verdict_.result == "reached":
        click.echo(line)
    else:
        label = "timed out" if verdict_.result == "pending" else "failed"
        click.secho(f"{label}: {line}", fg="red", err=True)


@click.command("wait")
@click.argument("environment")
@repo_option
@click.option("--revision", help="Commit of ENV's branch (sha or prefix) to wait for.")
@click.option("--feature", help="Delivery name: wait for its newest merge into ENV.")
@click.option(
    "--for",
    "target",
    type=click.Choice(sorted(str(phase) for phase in TARGETS)),
    default=str(Phase.HEALTHY),
    show_default=True,
    help="Phase to wait for; a later one counts (Promoted is also Healthy).",
)
@click.option(
    "--timeout",
    metavar="DURATION",
    default="5m",
    callback=_duration,
    show_default=True,
    help="Give up after this long (90, 90s, 5m, 1h).",
)
@click.option(
    "--interval",
    metavar="DURATION",
    default="2",
    callback=_duration,
    show_default=True,
    help="Time between reads of the repository.",
)
@output_option
def command(
    environment: str,
    remote: str,
    revision: str | None,
    feature: str | None,
    target: str,
    timeout: float,
    interval: float,
    output: str,
) -> None:
    """Block until a delivery reaches a phase in ENV; for CI pipelines.

    Without --revision or --feature, waits for ENV's branch tip as it is when the
    command starts. Reads only Git (the agent's notes), so it needs no cluster
    access. Exit 0 when the phase is reached, 1 when the agent noted Failed or
    RolledBack, 4 on timeout (the delivery was not reconciled in time).
    """
    protocol.check_env(environment)
    if revision and feature:
        raise click.UsageError("give --revision or --feature, not both")
    repo = open_remote(remote)
    started = time.monotonic()

    def read() -> EnvironmentView:
        view = read_pipeline(repo, environments=[environment], history=_HISTORY)
        return view.environment(environment)

    env = read()
    if revision is None and feature is None:
        if env.tip is None:
            raise click.UsageError(f"{protocol.env_branch(environment)} does not exist")
        revision = env.tip
    while True:
        found = verdict(env, revision=revision, feature=feature, target=target)
        waited = time.monotonic() - started
        if found.result != "pending" or waited >= timeout:
            break
        time.sleep(min(interval, max(0.0, timeout - waited)))
        env = read()
    _report(found, environment=environment, waited=waited, output=output)
    if found.result == "failed":
        sys.exit(EXIT_FAILED)
    if found.result == "pending":
        sys.exit(EXIT_TIMEOUT)
