"""Credentials for the remote, as plain data that cannot leak.

Secrets are wrapped so that repr, str, f-strings, logging and exception text
show `***`; only `reveal()` gives the value, and only `repo` calls it, at the
moment libgit2 asks. Host keys are checked against a known_hosts file here (not
by libgit2, which only looks in ~/.ssh), so a cluster agent can pin the Git
server's key in its own settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"


class Secret:
    """A string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it is handed to the transport."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(Secret)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class SshAuth:
    """SSH public-key login; host key checking is on unless explicitly turned off.

    Exactly one of `private_key_path` and `private_key` (OpenSSH text in memory)
    is set. `known_hosts` None means ~/.ssh/known_hosts.
    """

    username: str = "git"
    private_key_path: Path | None = None
    private_key: Secret | None = None
    public_key_path: Path | None = None
    passphrase: Secret | None = None
    known_hosts: Path | None = None
    check_host_key: bool = True

    def __post_init__(self) -> None:
        if (self.private_key_path is None) == (self.private_key is None):
            raise ValueError("SshAuth needs exactly one of private_key_path and private_key")
        if not self.username or any(c in self.username for c in "@:/ \n"):
            raise ValueError(f"invalid ssh username {self.username!r}")

    def known_hosts_file(self) -> Path:
        """The known_hosts file host keys are checked against."""
        return self.known_hosts or Path.home() / ".ssh" / "known_hosts"


@dataclass(frozen=True, slots=True)
class HttpsAuth:
    """HTTP(S) basic authentication with a user name and a token (or password)."""

    username: str
    token: Secret

    def __post_init__(self) -> None:
        if not self.username or ":" in self.username:
            raise ValueError("invalid https username")


Auth = SshAuth | HttpsAuth | None


# --- URLs -----------------------------------------------------------------------------

_HTTP_USERINFO = re.compile(r"(?P<keep>https?://)[^/@\s]*@", re.IGNORECASE)
_PASSWORD_USERINFO = re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*):[^/@\s]*@")


def strip_credentials(url: str) -> str:
    """The URL as it may appear in logs, errors and notes.

    HTTP(S) URLs lose all user info (a token is often passed as the user
    name) and their query; other schemes keep a user name but never a password.
    """
    if "://" not in url:
        return url  # a path, or scp-like `user@host:path`: no place for a password
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") and parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = "" if scheme in ("http", "https") else parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub(text: str, *, url: str = "", secrets: Iterable[Secret | None] = ()) -> str:
    """Text with the URL's credentials and every given secret removed."""
    if url:
        text = text.replace(url, strip_credentials(url))
    for secret in secrets:
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), REDACTED)
    text = _HTTP_USERINFO.sub(lambda m: m.group("keep"), text)
    return _PASSWORD_USERINFO.sub(lambda m: m.group("keep") + "@", text)


# --- known_hosts -------------------------------------------------------------------------


class HostKeyStatus(Enum):
    """Outcome of checking a server's host key against known_hosts."""

    TRUSTED = "trusted"
    UNKNOWN_HOST = "unknown host"
    MISMATCH = "host key mismatch"
    REVOKED = "revoked host key"


@dataclass(frozen=True, slots=True)
class _KnownHost:
    marker: str
    hosts: str
    key_sha256: bytes


def _parse_known_hosts(text: str) -> list[_KnownHost]:
    entries: list[_KnownHost] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        marker = ""
        if fields[0].startswith("@"):
            marker, fields = fields[0], fields[1:]
        if len(fields) < 3:
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except (binascii.Error, ValueError):
            continue
        entries.append(_KnownHost(marker, fields[0], hashlib.sha256(blob).digest()))
    return entries


def _wildcard(pattern: str) -> re.Pattern[str]:
    """OpenSSH host patterns know only `*` and `?`; brackets are literal ([host]:port)."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.compile(f"^{regex}$")


def _host_matches(patterns: str, name: str) -> bool:
    if patterns.startswith("|1|"):
        try:
            _, _, salt_b64, digest_b64 = patterns.split("|", 3)
            salt = base64.b64decode(salt_b64)
            digest = base64.b64decode(digest_b64)
        except (ValueError, binascii.Error):
            return False
        mine = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(mine, digest)
    matched = False
    for item in patterns.split(","):
        negated = item.startswith("!")
        if _wildcard(item[1:] if negated else item).match(name.lower()):
            if negated:
                return False
            matched = True
    return matched


def known_host_name(host: str, port: int | None) -> str:
    """How known_hosts names a host: `host`, or `[host]:port` off port 22."""
    return host if port in (None, 22) else f"[{host}]:{port}"


def check_host_key(
    known_hosts_text: str, *, host: str, port: int | None, key_sha256: bytes
) -> HostKeyStatus:
    """Check a host key (by its SHA-256 fingerprint) the way OpenSSH reads known_hosts.

    Plain and hashed (`|1|salt|hmac`) host names, comma lists, `*`/`?`
    wildcards, `!` negation and `@revoked` lines are understood;
    `@cert-authority` lines are ignored (certificates are not supported).
    """
    name = known_host_name(host, port)
    entries = _parse_known_hosts(known_hosts_text)
    for entry in entries:
        if entry.marker == "@revoked" and hmac.compare_digest(entry.key_sha256, key_sha256):
            return HostKeyStatus.REVOKED
    seen_host = False
    for entry in entries:
        if entry.marker or not _host_matches(entry.hosts, name):
            continue
        seen_host = True
        if hmac.compare_digest(entry.key_sha256, key_sha256):
            return HostKeyStatus.TRUSTED
    return HostKeyStatus.MISMATCH if seen_host else HostKeyStatus.UNKNOWN_HOST
