"""POST /reconcile: "reconcile now", asked by `orchestrator reconcile ENV`.

A push webhook only polls, and a poll does nothing when the branch has not moved;
an operator asking for a reconcile wants the current revision applied again as
well (after fixing a cluster by hand, or to retry a failure at once), as
`flux reconcile` does. The request is signed with the webhook secret (HMAC-SHA256
of the body, as for /hooks/git), names the environment, and carries its time: a
request older than `MAX_AGE_SECONDS` is refused, so a captured one cannot be
replayed later. A standby answers that it is one, since its runs would be skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Final

from orchestrator.web.transport import Handler, Request, Response, Routes
from orchestrator.web.webhook import GENERIC_SIGNATURE_HEADER, sign, signature_valid

log = logging.getLogger(__name__)

RECONCILE_PATH: Final = "/reconcile"
MAX_AGE_SECONDS: Final = 300.0

# request() asks for a run now and says (triggered, why not).
ReconcileRequest = Callable[[], tuple[bool, str]]


def reconcile_body(environment: str, *, now: datetime | None = None) -> bytes:
    """The JSON body a client signs: the environment and the time of asking."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return json.dumps({"environment": environment, "requested_at": moment.isoformat()}).encode()


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", GENERIC_SIGNATURE_HEADER: sign(secret, body)}


def _parse(body: bytes) -> tuple[str, datetime]:
    try:
        payload = json.loads(body.decode("utf-8"))
        environment = payload["environment"]
        when = datetime.fromisoformat(payload["requested_at"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a reconcile request: {type(exc).__name__}") from None
    if not isinstance(environment, str) or when.tzinfo is None:
        raise ValueError("not a reconcile request: environment or time malformed")
    return environment, when


def reconcile_handler(
    *,
    secret: str,
    environment: str,
    request: ReconcileRequest,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Handler:
    """The handler of POST /reconcile for the agent of `environment`."""
    if not secret:
        raise ValueError("reconcile requests need a secret; use reconcile_disabled without one")

    def handle(req: Request) -> Response:
        signature = req.header(GENERIC_SIGNATURE_HEADER)
        if not signature or not signature_valid(secret, req.body, signature):
            log.warning("reconcile: rejected a request with a missing or bad signature")
            return Response.text(HTTPStatus.UNAUTHORIZED, "missing or bad signature")
        try:
            asked_for, when = _parse(req.body)
        except ValueError as exc:
            return Response.text(HTTPStatus.BAD_REQUEST, str(exc))
        if abs((clock() - when).total_seconds()) > MAX_AGE_SECONDS:
            return Response.text(
                HTTPStatus.UNAUTHORIZED,
                f"request time {when.isoformat()} is more than {MAX_AGE_SECONDS:g}s "
                "from the agent's clock",
            )
        if asked_for != environment:
            return Response.text(
                HTTPStatus.CONFLICT, f"this agent serves {environment}, not {asked_for}"
            )
        triggered, reason = request()
        log.info("reconcile requested: %s", "triggered" if triggered else reason)
        body = {"environment": environment, "triggered": triggered, "reason": reason}
        return Response.json(HTTPStatus.ACCEPTED if triggered else HTTPStatus.CONFLICT, body)

    return handle


def reconcile_disabled(_: Request) -> Response:
    return Response.text(
        HTTPStatus.NOT_FOUND, "reconcile requests disabled (no webhook secret configured)"
    )


def register(
    routes: Routes,
    *,
    secret: str | None,
    environment: str,
    is_leader: Callable[[], bool],
    trigger: Callable[[str], bool],
    force: Callable[[], None] | None = None,
) -> None:
    """Add POST /reconcile: `force` marks the next poll as a reconcile even on an unmoved tip."""
    if not secret:
        routes.add(RECONCILE_PATH, reconcile_disabled, methods=("POST",))
        return

    def request() -> tuple[bool, str]:
        if not is_leader():
            return False, "this replica is a standby; only the leader reconciles"
        if force is not None:
            force()
        if not trigger(environment):
            return False, "the agent is shutting down"
        return True, f"reconciling {environment} now"

    handler = reconcile_handler(secret=secret, environment=environment, request=request)
    routes.add(RECONCILE_PATH, handler, methods=("POST",))
