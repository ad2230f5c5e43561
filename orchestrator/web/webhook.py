"""POST /hooks/git: a signed push notification turns into an immediate poll.

Verification is a list of `Verifier`s, one per signature format: GitHub's
`X-Hub-Signature-256`, the generic `X-Orchestrator-Signature`, Gitea's and
Forgejo's `X-Gitea-Signature`/`X-Forgejo-Signature` (the same HMAC without a
prefix) and GitLab's `X-Gitlab-Token` (the shared secret itself). A merged pull
(merge) request triggers a poll of its target branch, like a push to it.
A request must carry at least one format it is checked against, and one valid
signature; signatures are compared in constant time, and bodies and secrets are
never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, Protocol
from urllib.parse import parse_qs

from orchestrator.errors import WebhookRejected
from orchestrator.forge.webhooks import refs_named
from orchestrator.web.transport import Handler, Request, Response

log = logging.getLogger(__name__)

HOOK_PATH: Final = "/hooks/git"
GITHUB_SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
GENERIC_SIGNATURE_HEADER: Final = "X-Orchestrator-Signature"
GITHUB_EVENT_HEADER: Final = "X-GitHub-Event"
SIGNATURE_PREFIX: Final = "sha256="

# trigger(ref) requests a poll, True if one was.
Trigger = Callable[[str | None], bool]


def sign(secret: str | bytes, body: bytes) -> str:
    """The signature header value a sender computes: `sha256=<hex HMAC-SHA256 of body>`."""
    key = secret.encode() if isinstance(secret, str) else secret
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_valid(
    secret: str | bytes, body: bytes, header_value: str, *, prefix: str = SIGNATURE_PREFIX
) -> bool:
    """Constant-time check of one `<prefix><hex>` header value (`sha256=<hex>` by default)."""
    if not header_value.startswith(prefix):
        return False
    given = header_value[len(prefix) :].strip().lower()
    expected = sign(secret, body)[len(SIGNATURE_PREFIX) :]
    return hmac.compare_digest(given.encode(), expected.encode())


class Signed(Protocol):
    """What a verifier sees of a request: its headers and its body (a `Request` is one)."""

    @property
    def body(self) -> bytes: ...

    def header(self, name: str) -> str | None: ...


class Verifier(Protocol):
    """One signature format: whether a request carries it, and whether that is valid.

    Verifiers depend on nothing here but `Signed`'s shape, so a forge's own format
    is written next to the forge and handed to `webhook_handler`.
    """

    def present(self, request: Signed) -> bool: ...

    def valid(self, secret: str, request: Signed) -> bool: ...


@dataclass(frozen=True)
class HmacHeader:
    """`<header>: <prefix><hex HMAC-SHA256 of the body>`: GitHub's `sha256=` form by
    default; Gitea's `X-Gitea-Signature` is the same without a prefix."""

    header: str
    prefix: str = SIGNATURE_PREFIX

    def present(self, request: Signed) -> bool:
        return bool(request.header(self.header))

    def valid(self, secret: str, request: Signed) -> bool:
        value = request.header(self.header) or ""
        return signature_valid(secret, request.body, value, prefix=self.prefix)


@dataclass(frozen=True)
class SharedToken:
    """`<header>: <the secret itself>`: GitLab's `X-Gitlab-Token` (GitLab does not sign)."""

    header: str

    def present(self, request: Signed) -> bool:
        return bool(request.header(self.header))

    def valid(self, secret: str, request: Signed) -> bool:
        given = (request.header(self.header) or "").encode()
        return hmac.compare_digest(given, secret.encode())


DEFAULT_VERIFIERS: Final[tuple[Verifier, ...]] = (
    HmacHeader(GITHUB_SIGNATURE_HEADER),
    HmacHeader(GENERIC_SIGNATURE_HEADER),
    HmacHeader("X-Gitea-Signature", prefix=""),
    HmacHeader("X-Forgejo-Signature", prefix=""),
    SharedToken("X-Gitlab-Token"),
)
# The event headers, and the event names that mean "a branch moved" besides a push.
EVENT_HEADERS: Final = (GITHUB_EVENT_HEADER, "X-Gitea-Event", "X-Forgejo-Event", "X-Gitlab-Event")
PUSH_EVENTS: Final = frozenset({"push", "Push Hook"})
MERGE_EVENTS: Final = {"pull_request": "github", "Merge Request Hook": "gitlab"}


class PayloadError(ValueError):
    """The signed body is not a push payload we understand."""


def push_ref(request: Request) -> str | None:
    """The pushed ref of a GitHub push or a generic `{"ref": ...}` payload; None if absent.

    GitHub sends JSON, or a form with the JSON in `payload` when the hook is set
    to application/x-www-form-urlencoded. An empty body means "poll everything".
    """
    body = request.body
    if not body.strip():
        return None
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if content_type == "application/x-www-form-urlencoded":
            text = parse_qs(text).get("payload", [""])[0]
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"not a JSON payload: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise PayloadError("the payload is not a JSON object")
    ref = payload.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or not ref:
        raise PayloadError("'ref' must be a non-empty string")
    return ref


def webhook_disabled(_: Request) -> Response:
    """Without a secret nothing could be verified, so the hook does not exist."""
    return Response.text(HTTPStatus.NOT_FOUND, "webhook disabled (no secret configured)")


def verify(secret: str, request: Signed, verifiers: Sequence[Verifier]) -> Response | None:
    """None when one of the request's signatures is valid; else the 401 to answer."""
    carried = [v for v in verifiers if v.present(request)]
    if not carried:
        return Response.text(HTTPStatus.UNAUTHORIZED, "missing signature")
    if not any(v.valid(secret, request) for v in carried):
        log.warning("webhook: rejected a request with a bad signature")
        return Response.text(HTTPStatus.UNAUTHORIZED, "bad signature")
    return None


def webhook_handler(
    secret: str, trigger: Trigger, *, verifiers: Sequence[Verifier] = DEFAULT_VERIFIERS
) -> Handler:
    """POST /hooks/git: a signed push notification turns into an immediate poll."""
    if not secret:
        raise ValueError("the webhook needs a secret; use webhook_disabled without one")

    def hook(request: Request) -> Response:
        refused = verify(secret, request, verifiers)
        if refused is not None:
            return refused
        event = next((e for h in EVENT_HEADERS if (e := request.header(h))), None)
        if event == "ping":
            return Response.json(HTTPStatus.OK, {"pong": True})
        if event in MERGE_EVENTS:
            return _merged(request, event, trigger)
        if event is not None and event not in PUSH_EVENTS:
            return Response.json(HTTPStatus.ACCEPTED, {"triggered": False, "event": event})
        try:
            ref = push_ref(request)
        except PayloadError as exc:
            return Response.text(HTTPStatus.BAD_REQUEST, str(exc))
        triggered = trigger(ref)
        log.info("webhook: push to %s, poll %s", ref or "(any ref)", triggered and "requested")
        return Response.json(HTTPStatus.ACCEPTED, {"ref": ref, "triggered": bool(triggered)})

    return hook


def _merged(request: Request, event: str, trigger: Trigger) -> Response:
    """A merged pull/merge request moved its target branch: poll that (others: nothing)."""
    try:
        refs = refs_named(MERGE_EVENTS[event], headers=request.headers, body=request.body)
    except WebhookRejected as exc:
        return Response.text(HTTPStatus.BAD_REQUEST, str(exc))
    triggered = [ref for ref in refs if trigger(ref)]
    if refs:
        log.info("webhook: merged into %s, poll %s", ", ".join(refs), "requested")
    return Response.json(
        HTTPStatus.ACCEPTED, {"refs": list(refs), "triggered": bool(triggered), "event": event}
    )
