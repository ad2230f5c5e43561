"""Secrets never show; URLs lose credentials; known_hosts is read like OpenSSH does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from pathlib import Path

import pytest

from orchestrator.errors import GitError
from orchestrator.gitbus.auth import (
    HostKeyStatus,
    HttpsAuth,
    Secret,
    SshAuth,
    check_host_key,
    scrub,
    strip_credentials,
)

TOKEN = "ghp_exampleTokenValue123"


def test_secret_never_prints(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(TOKEN)
    auth = HttpsAuth(username="agent", token=secret)
    ssh = SshAuth(
        private_key=Secret("-----BEGIN OPENSSH PRIVATE KEY-----x"), passphrase=Secret(TOKEN)
    )
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("auth %s %r %s", auth, auth, ssh)
    shown = [
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        repr(auth),
        str(ssh),
        caplog.text,
    ]
    assert all(TOKEN not in text and "PRIVATE KEY" not in text for text in shown)
    assert secret.reveal() == TOKEN
    assert secret == Secret(TOKEN)
    assert secret != Secret("other")
    assert TOKEN not in str(GitError(f"failed: {auth}", remote="https://h/x"))


def test_auth_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SshAuth()
    with pytest.raises(ValueError, match="exactly one"):
        SshAuth(private_key_path=Path("/k"), private_key=Secret("k"))
    with pytest.raises(ValueError, match="invalid https username"):
        HttpsAuth(username="a:b", token=Secret("t"))
    assert SshAuth(private_key_path=Path("/k")).check_host_key is True


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://agent:tok@git.example.com/r.git", "https://git.example.com/r.git"),
        ("https://tok@git.example.com/r.git?access_token=tok", "https://git.example.com/r.git"),
        ("HTTP://a:b@[::1]:8080/r", "http://[::1]:8080/r"),
        ("ssh://git:pw@git.example.com:2222/r.git", "ssh://git@git.example.com:2222/r.git"),
        ("ssh://git@git.example.com/r.git", "ssh://git@git.example.com/r.git"),
        ("git://git.example.com/r.git", "git://git.example.com/r.git"),
        ("git@git.example.com:r.git", "git@git.example.com:r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
        ("file:///srv/git/r.git", "file:///srv/git/r.git"),
        ("https://[not-an-ip/", "<unparseable url>"),
    ],
)
def test_strip_credentials(url: str, safe: str) -> None:
    assert strip_credentials(url) == safe


def test_scrub_removes_urls_and_secrets() -> None:
    url = "https://agent:tok@h.example/r.git"
    text = f"fatal: {url} said no; also https://x:{TOKEN}@other/ and raw {TOKEN}"
    clean = scrub(text, url=url, secrets=[Secret(TOKEN), None])
    assert "tok@" not in clean
    assert TOKEN not in clean
    assert "https://h.example/r.git" in clean


def key_line() -> tuple[str, bytes]:
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + os.urandom(32)
    return "ssh-ed25519 " + base64.b64encode(blob).decode(), hashlib.sha256(blob).digest()


def hashed(name: str) -> str:
    salt = os.urandom(20)
    mac = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(mac).decode()}"


def test_known_hosts_matching() -> None:
    key, fp = key_line()
    other, other_fp = key_line()

    def status(
        text: str, host: str = "git.example.com", port: int | None = None, fp: bytes = fp
    ) -> HostKeyStatus:
        return check_host_key(text, host=host, port=port, key_sha256=fp)

    assert status(f"git.example.com {key}\n") is HostKeyStatus.TRUSTED
    assert status(f"# comment\n\nalias,git.example.com {key} c\n") is HostKeyStatus.TRUSTED
    assert status(f"*.example.com {key}\n") is HostKeyStatus.TRUSTED
    assert status(f"*.example.com,!git.example.com {key}\n") is HostKeyStatus.UNKNOWN_HOST
    assert status(f"git.example.com {other}\n") is HostKeyStatus.MISMATCH
    assert status(f"git.example.com {other}\ngit.example.com {key}\n") is HostKeyStatus.TRUSTED
    assert status(f"elsewhere {key}\n") is HostKeyStatus.UNKNOWN_HOST
    assert status(f"{hashed('git.example.com')} {key}\n") is HostKeyStatus.TRUSTED
    assert status(f"{hashed('other.example.com')} {key}\n") is HostKeyStatus.UNKNOWN_HOST
    assert status(f"[git.example.com]:2222 {key}\n", port=2222) is HostKeyStatus.TRUSTED
    assert status(f"git.example.com {key}\n", port=2222) is HostKeyStatus.UNKNOWN_HOST
    assert (
        status(f"{hashed('[127.0.0.1]:2222')} {key}\n", host="127.0.0.1", port=2222)
        is HostKeyStatus.TRUSTED
    )
    assert status(f"git.example.com {key}\n@revoked * {key}\n") is HostKeyStatus.REVOKED
    assert status(f"@cert-authority * {key}\n") is HostKeyStatus.UNKNOWN_HOST
    assert (
        status("garbage line\ngit.example.com ssh-ed25519 !!notbase64\n")
        is HostKeyStatus.UNKNOWN_HOST
    )
    assert status(f"git.example.com {key}\n", fp=other_fp) is HostKeyStatus.MISMATCH
