"""Webhook deliveries in the forges' own formats: who may trigger a poll, and of what.

A delivery only ever makes the agent look sooner (it never carries data the agent
trusts), but an unauthenticated one would let anyone make it poll without end, so
each is checked the way its forge signs it:

- Gitea/Forgejo: `X-Gitea-Signature`, the hex HMAC-SHA256 of the body;
- GitHub: `X-Hub-Signature-256`, `sha256=` and the same HMAC;
- GitLab: `X-Gitlab-Token`, the shared secret itself (GitLab does not sign).

Comparisons are constant-time and the body is refused above a size cap before
anything is computed over it. Everything here is pure: bytes and headers in,
refs or WebhookRejected out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from orchestrator.errors import WebhookRejected

MAX_BODY_BYTES = 1024 * 1024
BRANCH_PREFIX = "refs/heads/"


def verify(kind: str, *, headers: Mapping[str, str], body: bytes, secret: bytes) -> None:
    """Accept the delivery or raise WebhookRejected (never says what the secret is)."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(f"webhook body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    if not secret:
        raise WebhookRejected("no webhook secret is configured; deliveries are refused")
    given = _lower(headers)
    if kind in ("gitea", "forgejo"):
        _check_hmac(
            given.get("x-gitea-signature") or given.get("x-forgejo-signature"), body, secret
        )
    elif kind == "github":
        signature = given.get("x-hub-signature-256", "")
        if not signature.startswith("sha256="):
            raise WebhookRejected("X-Hub-Signature-256 is missing or not sha256=")
        _check_hmac(signature.removeprefix("sha256="), body, secret)
    elif kind == "gitlab":
        token = given.get("x-gitlab-token")
        if token is None or not hmac.compare_digest(token.encode(), secret):
            raise WebhookRejected("X-Gitlab-Token is missing or wrong")
    else:
        raise WebhookRejected(f"unknown forge {kind!r}")


def _check_hmac(signature: str | None, body: bytes, secret: bytes) -> None:
    if not signature:
        raise WebhookRejected("the delivery carries no signature")
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
        raise WebhookRejected("the delivery's signature does not match")


def refs_named(kind: str, *, headers: Mapping[str, str], body: bytes) -> tuple[str, ...]:
    """The branch refs a verified push or merged-pull-request event says have moved.

    A push names its ref; a merged pull/merge request names its target branch (the
    one the merge moved). Any other event names nothing.
    """
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise WebhookRejected("the delivery is not JSON") from None
    if not isinstance(data, dict):
        return ()
    given = _lower(headers)
    if kind == "gitlab":
        return _gitlab_refs(given.get("x-gitlab-event", ""), data)
    return _hub_refs(given.get("x-gitea-event") or given.get("x-github-event") or "", data)


def _gitlab_refs(event: str, data: dict[str, Any]) -> tuple[str, ...]:
    if event == "Push Hook":
        return _branch(data.get("ref"))
    attrs = data.get("object_attributes")
    if event != "Merge Request Hook" or not isinstance(attrs, dict):
        return ()
    if attrs.get("action") == "merge" or attrs.get("state") == "merged":
        return _branch(attrs.get("target_branch"))
    return ()


def _hub_refs(event: str, data: dict[str, Any]) -> tuple[str, ...]:
    """Gitea and GitHub: the same event names and payload shapes."""
    if event == "push":
        return _branch(data.get("ref"))
    pull = data.get("pull_request")
    if event != "pull_request" or data.get("action") != "closed" or not isinstance(pull, dict):
        return ()
    base = pull.get("base")
    if pull.get("merged") is True and isinstance(base, dict):
        return _branch(base.get("ref"))
    return ()


def _branch(value: Any) -> tuple[str, ...]:
    """`refs/heads/<name>` for a ref or bare branch name; nothing for tags or junk."""
    if not isinstance(value, str) or not value:
        return ()
    if value.startswith("refs/"):
        return (value,) if value.startswith(BRANCH_PREFIX) else ()
    return (BRANCH_PREFIX + value,)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
