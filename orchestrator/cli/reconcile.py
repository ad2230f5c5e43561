"""`orchestrator reconcile ENV`: ask an environment's agent to reconcile now."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import click

from orchestrator.cli.common import output_option
from orchestrator.errors import OrchestratorError
from orchestrator.gitbus.protocol import check_env
from orchestrator.web.reconcile import RECONCILE_PATH, reconcile_body, signed_headers

AGENT_URL_ENV = "ORCHESTRATOR_AGENT_URL"
SECRET_ENV = "ORCHESTRATOR_SERVER__WEBHOOK_SECRET"  # noqa: S105 (a variable name)
SECRET_FILE_ENV = "ORCHESTRATOR_SERVER__WEBHOOK_SECRET_FILE"  # noqa: S105
DEFAULT_AGENT_URL = "http://127.0.0.1:8080"


def webhook_secret(secret_file: Path | None) -> str:
    """The agent's webhook secret, from where the agent itself reads it."""
    if secret_file is None and os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = secret_file or (
        Path(os.environ[SECRET_FILE_ENV]) if SECRET_FILE_ENV in os.environ else None
    )
    if path is None:
        raise OrchestratorError(
            f"no webhook secret: pass --secret-file, or set {SECRET_ENV} or {SECRET_FILE_ENV} "
            "(the agent's server.webhook_secret)"
        )
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        raise OrchestratorError(f"cannot read the webhook secret {path}: {exc.strerror}") from None
    if not secret:
        raise OrchestratorError(f"the webhook secret file {path} is empty")
    return secret


def post_reconcile(
    *, agent: str, environment: str, secret: str, timeout: float
) -> dict[str, object]:
    """POST a signed request; the agent's JSON answer, or OrchestratorError saying why not."""
    body = reconcile_body(environment)
    url = agent.rstrip("/") + RECONCILE_PATH
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{agent!r} is not an http:// or https:// URL", param_hint="--agent"
        )
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=body, headers=signed_headers(secret, body), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer: dict[str, object] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace").strip()
        with contextlib.suppress(ValueError, AttributeError):
            text = str(json.loads(text).get("reason", text))
        raise OrchestratorError(f"{url}: {exc.code}: {text}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OrchestratorError(f"{url}: {reason}") from None


@click.command("reconcile")
@click.argument("environment")
@click.option(
    "--agent",
    "agent_url",
    default=lambda: os.environ.get(AGENT_URL_ENV, DEFAULT_AGENT_URL),
    show_default=f"${AGENT_URL_ENV}, else {DEFAULT_AGENT_URL}",
    help="Base URL of the environment's agent (its HTTP server).",
)
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"File holding the agent's webhook secret (default: ${SECRET_ENV}, "
    f"else the file ${SECRET_FILE_ENV} names).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the agent's answer.",
)
@output_option
def command(
    environment: str, agent_url: str, secret_file: Path | None, timeout: float, output: str
) -> None:
    """Make ENV's agent fetch its branch and reconcile the tip now.

    Unlike a push webhook, the tip is applied again even if it did not move
    (after a fix in the cluster, or to retry a failure without waiting for the
    drift interval). The request is signed with the agent's webhook secret and
    carries its time, so no one signs anything by hand and a captured request
    cannot be replayed later. A standby replica says so (exit 1): ask the leader.
    The command returns once the agent has accepted; `orchestrator wait` follows
    the outcome.
    """
    check_env(environment)
    answer = post_reconcile(
        agent=agent_url,
        environment=environment,
        secret=webhook_secret(secret_file),
        timeout=timeout,
    )
    if output == "json":
        click.echo(json.dumps(answer))
    else:
        click.echo(f"{environment}: {answer.get('reason', 'reconcile requested')}")
