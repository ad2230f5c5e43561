"""Which URLs are local paths (pushed by hand) and which host a network URL names."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.gitbus._libgit2.remote import Remote, TokenLogin, host_port, local_path


@pytest.mark.parametrize(
    ("url", "path", "where"),
    [
        ("/srv/git/r.git", Path("/srv/git/r.git"), (None, None)),
        ("relative/r.git", Path("relative/r.git"), (None, None)),
        ("file:///srv/git/r.git", Path("/srv/git/r.git"), (None, None)),
        ("git@git.example.com:team/r.git", None, ("git.example.com", None)),
        ("git.example.com:r.git", None, ("git.example.com", None)),
        ("ssh://git@git.example.com:2222/r.git", None, ("git.example.com", 2222)),
        ("https://agent:tok@git.example.com/r.git", None, ("git.example.com", None)),
        ("git://127.0.0.1:9418/r.git", None, ("127.0.0.1", 9418)),
        ("https://git.example.com:notaport/r.git", None, (None, None)),
    ],
)
def test_local_paths_and_hosts(
    url: str, path: Path | None, where: tuple[str | None, int | None]
) -> None:
    assert local_path(url) == path
    assert host_port(url) == where


def test_a_remote_never_shows_its_url_or_login() -> None:
    class Token:
        def reveal(self) -> str:
            return "tok"

    remote = Remote(
        url="https://agent:tok@git.example.com/r.git",
        safe_url="https://git.example.com/r.git",
        login=TokenLogin(username="agent", token=Token()),
    )
    assert "tok" not in repr(remote)
    assert "https://git.example.com/r.git" in repr(remote)
    assert remote.local_path is None
