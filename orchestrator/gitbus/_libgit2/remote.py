"""Where a cache clone's remote is and how to log in, as plain values for libgit2.

The bus turns its settings into these; libgit2 gets secrets only through
`reveal()` at the moment it asks, and every message about the remote goes
through `redact` first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit


class Revealable(Protocol):
    """A wrapped secret: the transport alone unwraps it."""

    def reveal(self) -> str:
        """The secret itself."""
        ...


HostKeyCheck = Callable[[str, bytes], str | None]
"""(host libgit2 connected to, SHA-256 of its key) -> None if trusted, else why not."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SshLogin:
    """SSH public-key login: a key file or OpenSSH key text in memory."""

    username: str
    private_key_path: Path | None = None
    private_key: Revealable | None = None
    public_key_path: Path | None = None
    passphrase: Revealable | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenLogin:
    """HTTPS login with a user name and a token as password."""

    username: str
    token: Revealable


Login = SshLogin | TokenLogin | None


def _unchanged(text: str) -> str:
    return text


@dataclass(frozen=True, kw_only=True, slots=True)
class Remote:
    """One remote: `url` is handed to libgit2, `safe_url` goes into every error.

    `host_key` None means SSH host keys are not checked (TLS certificates
    always are, by libgit2).
    """

    url: str = field(repr=False)
    safe_url: str
    login: Login = field(default=None, repr=False)
    host_key: HostKeyCheck | None = field(default=None, repr=False)
    redact: Callable[[str], str] = field(default=_unchanged, repr=False)

    @property
    def local_path(self) -> Path | None:
        """The directory a path or file:// URL names; None for a network URL."""
        return local_path(self.url)


def local_path(url: str) -> Path | None:
    """The directory a path or file:// URL names; None for a network URL."""
    if url.startswith("file://"):
        return Path(url[len("file://") :])
    if "://" in url:
        return None
    head = url.split("/", 1)[0]
    if ":" in head:
        return None  # scp-like ssh: [user@]host:path
    return Path(url)


def host_port(url: str) -> tuple[str | None, int | None]:
    """Host and port a network URL names (scp-like ssh included); (None, None) otherwise."""
    if "://" in url:
        try:
            parts = urlsplit(url)
            return parts.hostname, parts.port
        except ValueError:
            return None, None
    if local_path(url) is None:
        host = url.split(":", 1)[0].rsplit("@", 1)[-1]
        return host, None
    return None, None
