"""Credentials and host keys as libgit2 asks for them, against real SSH and HTTP servers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.errors import (
    AuthenticationFailed,
)
from orchestrator.gitbus.auth import HttpsAuth, Secret, SshAuth
from orchestrator.gitbus.repo import CacheRepo
from tests.integration.gitbus.gitbus_seed import DEV, seed
from tests.integration.gitbus.gitbus_servers import (
    HttpServer,
    RemoteFactory,
    SshServer,
)


def ssh_auth(ssh: SshServer, **overrides: object) -> SshAuth:
    fields: dict[str, object] = {
        "username": ssh.user,
        "private_key_path": ssh.user_key,
        "known_hosts": ssh.known_hosts,
    }
    fields.update(overrides)
    return SshAuth(**fields)  # type: ignore[arg-type]


def test_ssh_key_variants(make_remote: RemoteFactory, ssh_server: SshServer) -> None:
    remote = make_remote("ssh")
    tip = seed(remote)
    pp = ssh_server.passphrase
    variants = {
        "file": ssh_auth(ssh_server),
        "file+passphrase": ssh_auth(
            ssh_server, private_key_path=ssh_server.passphrase_key, passphrase=Secret(pp)
        ),
        "memory": ssh_auth(
            ssh_server, private_key_path=None, private_key=Secret(ssh_server.user_key.read_text())
        ),
        "memory+passphrase": ssh_auth(
            ssh_server,
            private_key_path=None,
            private_key=Secret(ssh_server.passphrase_key.read_text()),
            passphrase=Secret(pp),
        ),
    }
    for name, auth in variants.items():
        cache = remote.cache(name, auth=auth)
        assert cache.poll([DEV]).tips == {DEV: tip}, name


def test_ssh_refused_key_and_wrong_passphrase(
    make_remote: RemoteFactory, ssh_server: SshServer
) -> None:
    remote = make_remote("ssh")
    stranger = remote.cache(
        "stranger", auth=ssh_auth(ssh_server, private_key_path=ssh_server.stranger_key)
    )
    with pytest.raises(AuthenticationFailed):
        stranger.poll([DEV])
    wrong = "not-the-passphrase-9f3a"
    for name, auth in {
        "file": ssh_auth(
            ssh_server, private_key_path=ssh_server.passphrase_key, passphrase=Secret(wrong)
        ),
        "memory": ssh_auth(
            ssh_server,
            private_key_path=None,
            private_key=Secret(ssh_server.passphrase_key.read_text()),
            passphrase=Secret(wrong),
        ),
    }.items():
        cache = remote.cache(f"wrong-{name}", auth=auth)
        with pytest.raises(AuthenticationFailed) as info:
            cache.poll([DEV])
        assert wrong not in str(info.value)
        assert "PRIVATE KEY" not in str(info.value)


def test_known_hosts_is_checked(
    make_remote: RemoteFactory, ssh_server: SshServer, tmp_path: Path
) -> None:
    remote = make_remote("ssh")
    tip = seed(remote)
    host_line = ssh_server.known_hosts.read_text().split()
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    other_pub = Path(f"{other}.pub").read_text().split()

    mismatch = tmp_path / "kh_mismatch"
    mismatch.write_text(f"{host_line[0]} {other_pub[0]} {other_pub[1]}\n")
    with pytest.raises(AuthenticationFailed, match="mismatch"):
        remote.cache("mismatch", auth=ssh_auth(ssh_server, known_hosts=mismatch)).poll([DEV])

    empty = tmp_path / "kh_empty"
    empty.write_text("")
    with pytest.raises(AuthenticationFailed, match="unknown host"):
        remote.cache("unknown", auth=ssh_auth(ssh_server, known_hosts=empty)).poll([DEV])

    wrong_port = tmp_path / "kh_port"
    wrong_port.write_text(f"127.0.0.1 {host_line[1]} {host_line[2]}\n")  # port 22 entry only
    with pytest.raises(AuthenticationFailed):
        remote.cache("port", auth=ssh_auth(ssh_server, known_hosts=wrong_port)).poll([DEV])

    hashed = tmp_path / "kh_hashed"
    shutil.copy(ssh_server.known_hosts, hashed)
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert hashed.read_text().startswith("|1|")
    cache = remote.cache("hashed", auth=ssh_auth(ssh_server, known_hosts=hashed))
    assert cache.poll([DEV]).tips == {DEV: tip}

    unchecked = remote.cache(
        "unchecked", auth=ssh_auth(ssh_server, known_hosts=mismatch, check_host_key=False)
    )
    assert unchecked.poll([DEV]).tips == {DEV: tip}


def test_https_token(make_remote: RemoteFactory, http_server: HttpServer) -> None:
    remote = make_remote("http")
    tip = seed(remote)
    wrong = "wrong-token-7c1d"
    bad = remote.cache("bad", auth=HttpsAuth(username=http_server.user, token=Secret(wrong)))
    with pytest.raises(AuthenticationFailed) as info:
        bad.poll([DEV])
    assert wrong not in str(info.value)
    anonymous = CacheRepo.open(remote.caches / "anon", remote_url=remote.url, auth=None)
    with pytest.raises(AuthenticationFailed):
        anonymous.poll([DEV])
    good = remote.cache("good")
    assert good.poll([DEV]).tips == {DEV: tip}
    assert http_server.token not in repr(good.remote) + repr(remote.auth)
