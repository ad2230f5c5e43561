"""Credentials, host key check and push reports for one network operation.

pygit2 hands certificate_check callbacks `None` instead of the host key, and
libgit2 only compares it with ~/.ssh/known_hosts. To check the key against the
bus's own known_hosts we take over the cffi entry point pygit2 registered and
read the SHA-256 fingerprint from libgit2's git_cert_hostkey (stable layout
since libgit2 1.1: cert_type int, type flags int, md5[16], sha1[20],
sha256[32]). Payloads that are not ours go to pygit2's original callback unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import pygit2

from orchestrator.errors import AuthenticationFailed, PushRejected
from orchestrator.gitbus._libgit2.remote import Remote, SshLogin, TokenLogin

_ZERO = "0" * 40

_PYGIT2_CERTIFICATE_CB = pygit2.callbacks._certificate_check_cb
_HOSTKEY_LAYOUT_BYTES = 76
_HOSTKEY_FLAGS = slice(4, 8)
_HOSTKEY_SHA256 = slice(44, 76)
_CERT_SSH_SHA256 = 1 << 2

_Credential = pygit2.Username | pygit2.UserPass | pygit2.Keypair | pygit2.KeypairFromMemory


@pygit2.ffi.def_extern(name="_certificate_check_cb")  # type: ignore[untyped-decorator]
def _certificate_check(cert: Any, valid: int, host: Any, handle: Any) -> int:
    payload = pygit2.ffi.from_handle(handle)
    if not isinstance(payload, Callbacks):
        result: int = _PYGIT2_CERTIFICATE_CB(cert, valid, host, handle)
        return result
    try:
        return payload.check_certificate(cert, bool(valid), pygit2.ffi.string(host).decode())
    except BaseException as exc:  # noqa: BLE001 - nothing may unwind into C
        payload.host_key_error = f"host key check failed: {type(exc).__name__}"
        return int(pygit2.C.GIT_ECERTIFICATE)


class Callbacks(pygit2.RemoteCallbacks):
    """What libgit2 asks the caller during one fetch, ls-remote or push.

    `expected` maps refs to the tip a push was built on (None: absent), for the
    compare-and-swap check in push_negotiation. After the operation
    `host_key_error` says why a host key was refused and `rejections` what the
    server said about each ref it did not update.
    """

    def __init__(self, remote: Remote, *, expected: Mapping[str, str | None] | None = None) -> None:
        super().__init__()
        self._remote = remote
        self._expected = dict(expected or {})
        self._credential_calls = 0
        self.host_key_error: str | None = None
        self.rejections: dict[str, str] = {}

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: int
    ) -> _Credential:
        allowed = pygit2.enums.CredentialType(allowed_types)
        login = self._remote.login
        if isinstance(login, SshLogin):
            user = username_from_url or login.username
            if allowed == pygit2.enums.CredentialType.USERNAME:
                return pygit2.Username(user)
            self._count_attempt()
            passphrase = login.passphrase.reveal() if login.passphrase is not None else ""
            if login.private_key is not None:
                if not allowed & pygit2.enums.CredentialType.SSH_MEMORY:
                    self._fail("this libgit2 cannot use an in-memory SSH key")
                return pygit2.KeypairFromMemory(user, None, login.private_key.reveal(), passphrase)
            if allowed & pygit2.enums.CredentialType.SSH_KEY:
                public = str(login.public_key_path) if login.public_key_path else None
                return pygit2.Keypair(user, public, str(login.private_key_path), passphrase)
        if (
            isinstance(login, TokenLogin)
            and allowed & pygit2.enums.CredentialType.USERPASS_PLAINTEXT
        ):
            self._count_attempt()
            return pygit2.UserPass(login.username, login.token.reveal())
        return self._fail("the remote asks for credentials that are not configured")

    def _count_attempt(self) -> None:
        # libgit2 asks again after a refused login; a second ask means refused.
        self._credential_calls += 1
        if self._credential_calls > 1:
            self._fail("the remote refused the configured credentials")

    def _fail(self, message: str) -> NoReturn:
        raise AuthenticationFailed(message, remote=self._remote.safe_url)

    def check_certificate(self, cert: Any, valid: bool, host: str) -> int:
        """0 to go on, GIT_ECERTIFICATE to stop (libgit2's contract)."""
        cert_type = pygit2.ffi.cast("git_cert *", cert).cert_type
        if cert_type != pygit2.C.GIT_CERT_HOSTKEY_LIBSSH2:
            if valid:
                return 0
            self.host_key_error = "TLS certificate is not valid"
            return int(pygit2.C.GIT_ECERTIFICATE)
        check = self._remote.host_key
        if check is None:
            return 0
        raw = bytes(
            pygit2.ffi.buffer(pygit2.ffi.cast("unsigned char *", cert), _HOSTKEY_LAYOUT_BYTES)
        )
        flags = int.from_bytes(raw[_HOSTKEY_FLAGS], "little")
        if not flags & _CERT_SSH_SHA256:
            self.host_key_error = "libgit2 gave no SHA-256 host key fingerprint"
            return int(pygit2.C.GIT_ECERTIFICATE)
        refusal = check(host, raw[_HOSTKEY_SHA256])
        if refusal is None:
            return 0
        self.host_key_error = refusal
        return int(pygit2.C.GIT_ECERTIFICATE)

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        for update in updates:
            expected = self._expected.get(update.dst_refname, _ZERO) or _ZERO
            if str(update.src) != expected and str(update.src) != str(update.dst):
                raise PushRejected(
                    f"{update.dst_refname} is at {update.src}, expected {expected}",
                    remote=self._remote.safe_url,
                )

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is not None:
            self.rejections[refname] = message
