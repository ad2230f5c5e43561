"""Auth settings become libgit2's plain login, host key check and redactor."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from orchestrator.gitbus._libgit2.remote import SshLogin, TokenLogin
from orchestrator.gitbus.access import remote_for
from orchestrator.gitbus.auth import HttpsAuth, Secret, SshAuth

TOKEN = "ghp_exampleTokenValue123"


def key_line() -> tuple[str, bytes]:
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + os.urandom(32)
    return "ssh-ed25519 " + base64.b64encode(blob).decode(), hashlib.sha256(blob).digest()


def test_https_login_keeps_the_token_wrapped_and_redacts_it() -> None:
    url = f"https://agent:{TOKEN}@git.example.com/r.git"
    remote = remote_for(url, HttpsAuth(username="agent", token=Secret(TOKEN)))
    assert remote.safe_url == "https://git.example.com/r.git"
    assert isinstance(remote.login, TokenLogin)
    assert isinstance(remote.login.token, Secret)
    assert remote.login.token.reveal() == TOKEN
    said = remote.redact(f"failed to fetch {url} with {TOKEN}")
    assert TOKEN not in said
    assert "https://git.example.com/r.git" in said
    assert TOKEN not in repr(remote)


def test_ssh_host_keys_are_checked_against_the_configured_file(tmp_path: Path) -> None:
    key, fp = key_line()
    _, other_fp = key_line()
    known = tmp_path / "known_hosts"
    known.write_text(f"[git.example.com]:2222 {key}\n")
    auth = SshAuth(private_key_path=tmp_path / "id", known_hosts=known)
    remote = remote_for("ssh://git@git.example.com:2222/r.git", auth)
    assert remote.login == SshLogin(username="git", private_key_path=tmp_path / "id")
    check = remote.host_key
    assert check is not None
    # The configured host and port count, whatever name libgit2 connected to.
    assert check("10.0.0.7", fp) is None
    refusal = check("10.0.0.7", other_fp)
    assert refusal is not None
    assert "mismatch" in refusal
    assert str(known) in refusal
    known.unlink()
    assert "unknown host" in (check("10.0.0.7", fp) or "")


def test_host_key_check_can_be_turned_off_and_defaults_to_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = SshAuth(private_key_path=tmp_path / "id", check_host_key=False)
    assert remote_for("git@git.example.com:r.git", off).host_key is None
    key, fp = key_line()
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_text(f"git.example.com {key}\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    check = remote_for("git@git.example.com:r.git", None).host_key
    assert check is not None
    assert check("git.example.com", fp) is None
    assert remote_for("git@git.example.com:r.git", None).login is None
