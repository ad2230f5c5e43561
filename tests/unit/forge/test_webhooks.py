"""Webhook deliveries in each forge's format: accepted only when signed as that forge signs."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from orchestrator.errors import WebhookRejected
from orchestrator.forge.webhooks import MAX_BODY_BYTES, refs_named, verify

SECRET = b"s3cret-of-the-hook"
PUSH = json.dumps({"ref": "refs/heads/staging", "after": "6dcb09b5"}).encode()


def _hex(body: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_gitea_signature_is_the_hex_hmac_of_the_body() -> None:
    verify("gitea", headers={"X-Gitea-Signature": _hex(PUSH)}, body=PUSH, secret=SECRET)
    verify("forgejo", headers={"x-forgejo-signature": _hex(PUSH)}, body=PUSH, secret=SECRET)


def test_github_signature_carries_the_sha256_prefix() -> None:
    headers = {"X-Hub-Signature-256": f"sha256={_hex(PUSH)}"}
    verify("github", headers=headers, body=PUSH, secret=SECRET)
    with pytest.raises(WebhookRejected, match="sha256="):
        verify("github", headers={"X-Hub-Signature-256": _hex(PUSH)}, body=PUSH, secret=SECRET)


def test_gitlab_token_is_the_shared_secret() -> None:
    verify("gitlab", headers={"X-Gitlab-Token": SECRET.decode()}, body=PUSH, secret=SECRET)
    with pytest.raises(WebhookRejected):
        verify("gitlab", headers={"X-Gitlab-Token": "guess"}, body=PUSH, secret=SECRET)


@pytest.mark.parametrize(
    ("kind", "headers"),
    [
        ("gitea", {"X-Gitea-Signature": _hex(PUSH, b"other")}),
        ("gitea", {"X-Gitea-Signature": _hex(PUSH + b" ")}),
        ("gitea", {}),
        ("github", {"X-Hub-Signature-256": f"sha256={_hex(PUSH, b'other')}"}),
        ("github", {"X-Gitea-Signature": _hex(PUSH)}),
        ("gitlab", {}),
    ],
    ids=["wrong secret", "other body", "unsigned", "github wrong", "wrong header", "no token"],
)
def test_a_wrong_or_missing_signature_is_refused(kind: str, headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify(kind, headers=headers, body=PUSH, secret=SECRET)
    assert SECRET.decode() not in str(caught.value)


def test_an_oversized_body_is_refused_before_any_check() -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    with pytest.raises(WebhookRejected, match="exceeds"):
        verify("gitea", headers={"X-Gitea-Signature": _hex(body)}, body=body, secret=SECRET)


def test_no_configured_secret_refuses_everything() -> None:
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        verify("gitea", headers={"X-Gitea-Signature": _hex(PUSH, b"")}, body=PUSH, secret=b"")


def test_an_unknown_forge_is_refused() -> None:
    with pytest.raises(WebhookRejected, match="unknown forge"):
        verify("bitbucket", headers={}, body=PUSH, secret=SECRET)


def _merged(base: str, *, merged: bool) -> bytes:
    pull = {"number": 7, "merged": merged, "base": {"ref": base}, "head": {"ref": "pr/x/y"}}
    return json.dumps({"action": "closed", "number": 7, "pull_request": pull}).encode()


@pytest.mark.parametrize(
    ("kind", "headers", "body", "refs"),
    [
        ("gitea", {"X-Gitea-Event": "push"}, PUSH, ("refs/heads/staging",)),
        ("github", {"X-GitHub-Event": "push"}, PUSH, ("refs/heads/staging",)),
        (
            "gitea",
            {"X-Gitea-Event": "pull_request"},
            _merged("production", merged=True),
            ("refs/heads/production",),
        ),
        (
            "github",
            {"X-GitHub-Event": "pull_request"},
            _merged("production", merged=True),
            ("refs/heads/production",),
        ),
        ("github", {"X-GitHub-Event": "pull_request"}, _merged("production", merged=False), ()),
        ("github", {"X-GitHub-Event": "push"}, b'{"ref": "refs/tags/v1"}', ()),
        ("github", {"X-GitHub-Event": "ping"}, b'{"zen": "Keep it logically awesome."}', ()),
        ("gitlab", {"X-Gitlab-Event": "Push Hook"}, PUSH, ("refs/heads/staging",)),
        (
            "gitlab",
            {"X-Gitlab-Event": "Merge Request Hook"},
            json.dumps(
                {
                    "object_kind": "merge_request",
                    "object_attributes": {
                        "action": "merge",
                        "state": "merged",
                        "target_branch": "production",
                        "source_branch": "pr/production/feature-a",
                    },
                }
            ).encode(),
            ("refs/heads/production",),
        ),
        (
            "gitlab",
            {"X-Gitlab-Event": "Merge Request Hook"},
            b'{"object_attributes": {"action": "open", "target_branch": "production"}}',
            (),
        ),
    ],
    ids=[
        "gitea push",
        "github push",
        "gitea merged",
        "github merged",
        "closed unmerged",
        "tag push",
        "ping",
        "gitlab push",
        "gitlab merged",
        "gitlab opened",
    ],
)
def test_refs_named_by_push_and_merged_events(
    kind: str, headers: dict[str, str], body: bytes, refs: tuple[str, ...]
) -> None:
    assert refs_named(kind, headers=headers, body=body) == refs


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(WebhookRejected, match="not JSON"):
        refs_named("gitea", headers={"X-Gitea-Event": "push"}, body=b"ref=refs/heads/x")
