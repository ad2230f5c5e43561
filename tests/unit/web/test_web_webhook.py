"""The push webhook, without sockets: signatures, payloads, events."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from orchestrator.web.transport import Request
from orchestrator.web.webhook import (
    HmacHeader,
    sign,
    signature_valid,
    verify,
    webhook_disabled,
    webhook_handler,
)

SECRET = "It's a Secret to Everybody"


class Triggers:
    def __init__(self, answer: bool = True) -> None:
        self.refs: list[str | None] = []
        self.answer = answer

    def __call__(self, ref: str | None) -> bool:
        self.refs.append(ref)
        return self.answer


def post(body: bytes, **headers: str) -> Request:
    return Request(method="POST", path="/hooks/git", headers=headers, body=body)


def github_push(ref: str = "refs/heads/staging") -> bytes:
    return json.dumps({"ref": ref, "before": "0" * 40, "after": "1" * 40}).encode()


def test_signature_matches_githubs_documented_example() -> None:
    # The test vector from GitHub's "Validating webhook deliveries" documentation.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(SECRET, b"Hello, World!") == expected
    assert signature_valid(SECRET, b"Hello, World!", expected)
    assert signature_valid(SECRET, b"Hello, World!", expected.upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize("header", ["X-Hub-Signature-256", "X-Orchestrator-Signature"])
def test_a_good_signature_triggers_a_poll_of_the_pushed_ref(header: str) -> None:
    triggers = Triggers()
    body = github_push()
    response = webhook_handler(SECRET, triggers)(post(body, **{header: sign(SECRET, body)}))
    assert response.status == 202
    assert json.loads(response.body) == {"ref": "refs/heads/staging", "triggered": True}
    assert triggers.refs == ["refs/heads/staging"]


def test_header_names_are_case_insensitive() -> None:
    triggers = Triggers()
    body = github_push()
    response = webhook_handler(SECRET, triggers)(
        post(body, **{"x-hub-signature-256": sign(SECRET, body)})
    )
    assert response.status == 202


@pytest.mark.parametrize(
    "signature",
    [
        sign("another secret", github_push()),
        sign(SECRET, github_push("refs/heads/production")),  # signed a different body
        "sha256=" + "0" * 64,
        "sha256=not-hex",
        "sha1=" + "0" * 40,
        sign(SECRET, github_push()).removeprefix("sha256="),  # no prefix
        "",
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_triggered(signature: str) -> None:
    triggers = Triggers()
    headers = {"X-Hub-Signature-256": signature} if signature else {}
    response = webhook_handler(SECRET, triggers)(post(github_push(), **headers))
    assert response.status == 401
    assert triggers.refs == []


def test_a_missing_signature_is_refused() -> None:
    triggers = Triggers()
    response = webhook_handler(SECRET, triggers)(post(github_push()))
    assert response.status == 401
    assert b"missing" in response.body
    # GitHub's legacy SHA-1 header alone is not accepted either.
    response = webhook_handler(SECRET, triggers)(
        post(github_push(), **{"X-Hub-Signature": "sha1=" + "0" * 40})
    )
    assert response.status == 401
    assert triggers.refs == []


def test_one_valid_signature_among_two_headers_is_enough() -> None:
    triggers = Triggers()
    body = github_push()
    headers = {
        "X-Hub-Signature-256": "sha256=" + "0" * 64,
        "X-Orchestrator-Signature": sign(SECRET, body),
    }
    assert webhook_handler(SECRET, triggers)(post(body, **headers)).status == 202


def test_the_webhook_is_disabled_without_a_secret() -> None:
    assert webhook_disabled(post(github_push())).status == 404
    with pytest.raises(ValueError, match="secret"):
        webhook_handler("", Triggers())


def test_a_generic_payload_and_an_empty_one() -> None:
    triggers = Triggers()
    hook = webhook_handler(SECRET, triggers)
    body = b'{"ref": "production"}'
    assert hook(post(body, **{"X-Orchestrator-Signature": sign(SECRET, body)})).status == 202
    assert hook(post(b"", **{"X-Orchestrator-Signature": sign(SECRET, b"")})).status == 202
    body = b'{"repository": "x"}'
    assert hook(post(body, **{"X-Orchestrator-Signature": sign(SECRET, body)})).status == 202
    assert triggers.refs == ["production", None, None]


def test_a_form_encoded_github_payload() -> None:
    triggers = Triggers()
    body = urlencode({"payload": github_push().decode()}).encode()
    request = post(
        body,
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Hub-Signature-256": sign(SECRET, body),
            "X-GitHub-Event": "push",
        },
    )
    assert webhook_handler(SECRET, triggers)(request).status == 202
    assert triggers.refs == ["refs/heads/staging"]


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"ref": 3}', b'{"ref": ""}', b"\xff\xfe"]
)
def test_a_signed_but_unreadable_payload_is_a_bad_request(body: bytes) -> None:
    triggers = Triggers()
    response = webhook_handler(SECRET, triggers)(
        post(body, **{"X-Orchestrator-Signature": sign(SECRET, body)})
    )
    assert response.status == 400
    assert triggers.refs == []


def test_github_ping_and_other_events_do_not_trigger() -> None:
    triggers = Triggers()
    hook = webhook_handler(SECRET, triggers)
    body = b'{"zen": "Keep it logically awesome."}'
    signed = {"X-Hub-Signature-256": sign(SECRET, body)}
    assert hook(post(body, **signed, **{"X-GitHub-Event": "ping"})).status == 200
    response = hook(post(body, **signed, **{"X-GitHub-Event": "issues"}))
    assert response.status == 202
    assert json.loads(response.body)["triggered"] is False
    assert triggers.refs == []


def test_the_response_says_when_no_poll_watches_the_ref() -> None:
    body = github_push("refs/heads/someone-elses-branch")
    response = webhook_handler(SECRET, Triggers(answer=False))(
        post(body, **{"X-Hub-Signature-256": sign(SECRET, body)})
    )
    assert response.status == 202
    assert json.loads(response.body)["triggered"] is False


class _TokenHeader:
    """A signature format of another shape: the secret itself in a header."""

    def present(self, request: Request) -> bool:
        return request.header("X-Token") is not None

    def valid(self, secret: str, request: Request) -> bool:
        return request.header("X-Token") == secret


def test_more_signature_formats_plug_in() -> None:
    triggers = Triggers()
    hook = webhook_handler(SECRET, triggers, verifiers=(HmacHeader("X-Sig"), _TokenHeader()))
    assert hook(post(github_push(), **{"X-Token": SECRET})).status == 202
    assert hook(post(github_push(), **{"X-Sig": sign(SECRET, github_push())})).status == 202
    assert hook(post(github_push(), **{"X-Token": "guess"})).status == 401
    # A format not in the list is not looked at, so it is as good as missing.
    body = github_push()
    refused = verify(SECRET, post(body, **{"X-Hub-Signature-256": sign(SECRET, body)}), [])
    assert refused is not None
    assert refused.body == b"missing signature\n"
    assert triggers.refs == ["refs/heads/staging", "refs/heads/staging"]


def test_an_unprefixed_hmac_header_as_gitea_sends() -> None:
    body = github_push()
    gitea = HmacHeader("X-Gitea-Signature", prefix="")
    unprefixed = sign(SECRET, body).removeprefix("sha256=")
    assert gitea.valid(SECRET, post(body, **{"X-Gitea-Signature": unprefixed}))
    assert not gitea.valid(SECRET, post(body, **{"X-Gitea-Signature": "0" * 64}))
    assert not gitea.valid("other", post(body, **{"X-Gitea-Signature": unprefixed}))


def _hex(body: bytes) -> str:
    return sign(SECRET, body).removeprefix("sha256=")


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"X-Gitea-Event": "push", "X-Gitea-Signature": "gitea"}, github_push()),
        ({"X-Forgejo-Event": "push", "X-Forgejo-Signature": "gitea"}, github_push()),
        ({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}, github_push()),
    ],
)
def test_the_forges_own_formats_trigger_a_poll(headers: dict[str, str], body: bytes) -> None:
    signed = {k: _hex(body) if v == "gitea" else v for k, v in headers.items()}
    triggers = Triggers()
    response = webhook_handler(SECRET, triggers)(post(body, **signed))
    assert response.status == 202, response.body
    assert triggers.refs == ["refs/heads/staging"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Gitea-Event": "push", "X-Gitea-Signature": "0" * 64},
        {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "not the secret"},
    ],
)
def test_a_forge_format_with_a_wrong_secret_is_refused(headers: dict[str, str]) -> None:
    triggers = Triggers()
    response = webhook_handler(SECRET, triggers)(post(github_push(), **headers))
    assert response.status == 401
    assert triggers.refs == []


def _merged_pull(*, merged: bool) -> bytes:
    pull = {"merged": merged, "base": {"ref": "production"}, "head": {"ref": "pr/production/a"}}
    return json.dumps({"action": "closed", "pull_request": pull}).encode()


@pytest.mark.parametrize("event_header", ["X-GitHub-Event", "X-Gitea-Event"])
def test_a_merged_pull_request_polls_its_target_branch(event_header: str) -> None:
    triggers = Triggers()
    body = _merged_pull(merged=True)
    headers = {event_header: "pull_request", "X-Hub-Signature-256": sign(SECRET, body)}
    response = webhook_handler(SECRET, triggers)(post(body, **headers))
    assert response.status == 202
    assert triggers.refs == ["refs/heads/production"]

    closed = _merged_pull(merged=False)
    headers = {event_header: "pull_request", "X-Hub-Signature-256": sign(SECRET, closed)}
    webhook_handler(SECRET, triggers)(post(closed, **headers))
    assert triggers.refs == ["refs/heads/production"]  # closed unmerged: nothing moved


def test_a_merged_gitlab_merge_request_polls_its_target_branch() -> None:
    triggers = Triggers()
    body = json.dumps(
        {"object_attributes": {"action": "merge", "target_branch": "production"}}
    ).encode()
    headers = {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": SECRET}
    response = webhook_handler(SECRET, triggers)(post(body, **headers))
    assert response.status == 202
    assert triggers.refs == ["refs/heads/production"]
