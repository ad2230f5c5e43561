"""The port's plain values: status descriptions fit every forge, markers stay invisible."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import ForgeAuthFailed
from orchestrator.forge import CommitStatus, StatusState, connect
from orchestrator.forge.http import Request, Response, TokenFile
from orchestrator.forge.protocol import DESCRIPTION_LIMIT, marker_tag, with_marker


def test_a_long_description_is_cut_to_the_smallest_forge_limit() -> None:
    status = CommitStatus(context="c", state=StatusState.PENDING, description="x" * 500)
    assert len(status.description) == DESCRIPTION_LIMIT
    assert status.description.endswith("…")


def test_a_status_needs_a_context() -> None:
    with pytest.raises(ValueError, match="context"):
        CommitStatus(context="", state=StatusState.SUCCESS)


def test_the_marker_is_an_html_comment_added_once() -> None:
    body = with_marker("2 to change", "orchestrator/production/preview")
    assert body == "<!-- orchestrator/production/preview -->\n2 to change"
    assert with_marker(body, "orchestrator/production/preview") == body


def test_a_marker_cannot_close_its_comment() -> None:
    with pytest.raises(ValueError, match="marker"):
        marker_tag("evil --> <script>")


def test_the_token_file_is_read_when_used_and_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "token"
    token = TokenFile(path)
    with pytest.raises(ForgeAuthFailed, match="cannot read"):
        token.read()
    path.write_text("\n")
    with pytest.raises(ForgeAuthFailed, match="empty"):
        token.read()
    path.write_text("rotated-secret\n")
    assert token.read() == "rotated-secret"
    assert "rotated-secret" not in repr(token)


def test_an_unknown_forge_kind_is_refused(tmp_path: Path) -> None:
    def transport(request: Request) -> Response:
        raise AssertionError("no request expected")

    with pytest.raises(ValueError, match="unknown forge 'bitbucket'"):
        connect(
            kind="bitbucket",
            api_url="https://x",
            repository="a/b",
            token_file=tmp_path / "t",
            transport=transport,
        )
