"""How the bus reaches its remote: the configured credentials and host key policy.

libgit2 gets the login as plain values whose secrets stay wrapped until it
asks, and the host key check as a callable, so pinning the Git server's key in
the agent's own known_hosts file works although libgit2 knows only ~/.ssh.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.gitbus._libgit2.remote import (
    HostKeyCheck,
    Login,
    Remote,
    SshLogin,
    TokenLogin,
    host_port,
)
from orchestrator.gitbus.auth import (
    Auth,
    HostKeyStatus,
    HttpsAuth,
    SshAuth,
    check_host_key,
    scrub,
    strip_credentials,
)


def remote_for(url: str, auth: Auth) -> Remote:
    """The remote at `url` with `auth`'s login, host key check and message scrubbing."""
    secrets = []
    if isinstance(auth, SshAuth):
        secrets = [auth.passphrase, auth.private_key]
    elif isinstance(auth, HttpsAuth):
        secrets = [auth.token]

    def redact(text: str) -> str:
        return scrub(text, url=url, secrets=secrets)

    return Remote(
        url=url,
        safe_url=strip_credentials(url),
        login=_login(auth),
        host_key=_host_key_check(url, auth),
        redact=redact,
    )


def _login(auth: Auth) -> Login:
    if isinstance(auth, SshAuth):
        return SshLogin(
            username=auth.username,
            private_key_path=auth.private_key_path,
            private_key=auth.private_key,
            public_key_path=auth.public_key_path,
            passphrase=auth.passphrase,
        )
    if isinstance(auth, HttpsAuth):
        return TokenLogin(username=auth.username, token=auth.token)
    return None


def _host_key_check(url: str, auth: Auth) -> HostKeyCheck | None:
    """The SSH host key check for `url`; None where the settings turn it off."""
    if isinstance(auth, SshAuth) and not auth.check_host_key:
        return None
    configured_host, port = host_port(url)

    def check(host: str, key_sha256: bytes) -> str | None:
        known_hosts = (
            auth.known_hosts_file()
            if isinstance(auth, SshAuth)
            else Path.home() / ".ssh" / "known_hosts"
        )
        try:
            text = known_hosts.read_text(errors="replace")
        except OSError:
            text = ""
        status = check_host_key(
            text, host=configured_host or host, port=port, key_sha256=key_sha256
        )
        if status is HostKeyStatus.TRUSTED:
            return None
        return f"{status.value} for {host} (checked against {known_hosts})"

    return check
