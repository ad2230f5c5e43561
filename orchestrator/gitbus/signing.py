"""Commit signatures made and checked the way git itself does.

Signing runs `ssh-keygen -Y sign -n git` (or `gpg -bsau`) on the commit
buffer, exactly what `git commit -S` runs, and the armored result goes into
the commit's `gpgsig` header, so `git verify-commit` and this module agree.
Verification mirrors git's: find the principals allowed for the signing key in
an allowed-signers file, then `ssh-keygen -Y verify` as each. Every external
call has a fixed argument list; secrets go through files in a private temp
directory or the askpass environment, never through argv.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from orchestrator.errors import SignatureError, UntrustedSignature
from orchestrator.gitbus.auth import Secret, scrub

SSH_ARMOR = "-----BEGIN SSH SIGNATURE-----"
GPG_ARMOR = "-----BEGIN PGP SIGNATURE-----"
NAMESPACE = "git"
_TIMEOUT = 60
_ASKPASS_ENV = "ORCHESTRATOR_ASKPASS_SECRET"


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """Who signed: the allowed-signers principal (SSH) or key fingerprint (GPG)."""

    kind: str
    signer: str
    key: str


class Signer(Protocol):
    """Turns a commit buffer into an armored detached signature."""

    def sign(self, payload: bytes) -> str:
        """Armored signature of `payload`."""
        ...


class Verifier(Protocol):
    """Checks an armored signature over a commit buffer; raises if not trusted."""

    def verify(self, *, payload: bytes, signature: str) -> VerifiedSignature:
        """The verified signer, or UntrustedSignature."""
        ...


def _run(
    args: list[str],
    *,
    stdin: bytes,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[Secret | None] = (),
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            args, input=stdin, capture_output=True, env=env, timeout=_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SignatureError(scrub(f"{args[0]} failed: {exc}", secrets=secrets)) from None


def _private_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="orchestrator-sign-")


def _write_private(path: Path, data: str | bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    return path


@dataclass(frozen=True, slots=True)
class SshSigner:
    """Signs with an SSH private key from a file or from memory, optionally encrypted."""

    key_path: Path | None = None
    key: Secret | None = None
    passphrase: Secret | None = None

    def __post_init__(self) -> None:
        if (self.key_path is None) == (self.key is None):
            raise ValueError("SshSigner needs exactly one of key_path and key")

    def sign(self, payload: bytes) -> str:
        """`ssh-keygen -Y sign -n git` over `payload`, as `git commit -S` runs it."""
        with _private_dir() as tmp:
            key_file = self.key_path
            if self.key is not None:
                key_text = self.key.reveal()
                key_file = _write_private(
                    Path(tmp) / "key", key_text if key_text.endswith("\n") else key_text + "\n"
                )
            env = dict(os.environ)
            if self.passphrase is not None:
                askpass = _write_private(
                    Path(tmp) / "askpass", f'#!/bin/sh\nprintf "%s\\n" "${_ASKPASS_ENV}"\n'
                )
                askpass.chmod(0o700)
                env.update(
                    {
                        "SSH_ASKPASS": str(askpass),
                        "SSH_ASKPASS_REQUIRE": "force",
                        "DISPLAY": env.get("DISPLAY", ":0"),
                        _ASKPASS_ENV: self.passphrase.reveal(),
                    }
                )
            args = ["ssh-keygen", "-q", "-Y", "sign", "-n", NAMESPACE, "-f", str(key_file)]
            done = _run(args, stdin=payload, env=env, secrets=[self.key, self.passphrase])
        if done.returncode != 0 or SSH_ARMOR not in done.stdout.decode(errors="replace"):
            detail = scrub(done.stderr.decode(errors="replace").strip(), secrets=[self.passphrase])
            raise SignatureError(f"ssh-keygen could not sign: {detail or 'no signature'}")
        return done.stdout.decode()


_GOOD_SSH = re.compile(r'Good "[^"]*" signature for (?P<who>.+) with (?P<key>\S+ key \S+)')


@dataclass(frozen=True, slots=True)
class SshVerifier:
    """Checks SSH signatures against an allowed-signers file (git's gpg.ssh.allowedSignersFile)."""

    allowed_signers: Path

    def verify(self, *, payload: bytes, signature: str) -> VerifiedSignature:
        """The principal whose allowed key made `signature` over `payload`."""
        if not signature.lstrip().startswith(SSH_ARMOR):
            raise UntrustedSignature("not an SSH signature")
        if not self.allowed_signers.is_file():
            raise SignatureError(f"allowed signers file {self.allowed_signers} does not exist")
        with _private_dir() as tmp:
            sig_file = _write_private(Path(tmp) / "sig", signature)
            found = _run(
                [
                    "ssh-keygen",
                    "-Y",
                    "find-principals",
                    "-f",
                    str(self.allowed_signers),
                    "-s",
                    str(sig_file),
                ],
                stdin=b"",
            )
            principals = [p for p in found.stdout.decode(errors="replace").splitlines() if p]
            if found.returncode != 0 or not principals:
                raise UntrustedSignature("signing key is not in the allowed signers")
            for principal in principals:
                done = _run(
                    [
                        "ssh-keygen",
                        "-Y",
                        "verify",
                        "-n",
                        NAMESPACE,
                        "-f",
                        str(self.allowed_signers),
                        "-I",
                        principal,
                        "-s",
                        str(sig_file),
                    ],
                    stdin=payload,
                )
                match = _GOOD_SSH.search(done.stdout.decode(errors="replace"))
                if done.returncode == 0 and match:
                    return VerifiedSignature(kind="ssh", signer=principal, key=match["key"])
        raise UntrustedSignature("signature does not verify for any allowed principal")


@dataclass(frozen=True, slots=True)
class GpgSigner:
    """Signs with a secret key already in a GnuPG home (no passphrase prompt)."""

    key_id: str
    gnupg_home: Path | None = None

    def sign(self, payload: bytes) -> str:
        """`gpg -bsau <key>` over `payload`, as `git commit -S` runs it."""
        env = dict(os.environ)
        if self.gnupg_home is not None:
            env["GNUPGHOME"] = str(self.gnupg_home)
        done = _run(
            ["gpg", "--batch", "--no-tty", "--status-fd=2", "-bsau", self.key_id],
            stdin=payload,
            env=env,
        )
        if done.returncode != 0 or GPG_ARMOR not in done.stdout.decode(errors="replace"):
            raise SignatureError(f"gpg could not sign: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode()


@dataclass(frozen=True, slots=True)
class GpgVerifier:
    """Accepts GPG signatures whose primary or signing key fingerprint is allowed."""

    allowed_fingerprints: frozenset[str]
    gnupg_home: Path | None = None

    def verify(self, *, payload: bytes, signature: str) -> VerifiedSignature:
        """The fingerprint of the allowed key that made `signature`."""
        if not signature.lstrip().startswith(GPG_ARMOR):
            raise UntrustedSignature("not a GPG signature")
        env = dict(os.environ)
        if self.gnupg_home is not None:
            env["GNUPGHOME"] = str(self.gnupg_home)
        allowed = {f.upper() for f in self.allowed_fingerprints}
        with _private_dir() as tmp:
            sig_file = _write_private(Path(tmp) / "sig.asc", signature)
            done = _run(
                ["gpg", "--batch", "--no-tty", "--status-fd=1", "--verify", str(sig_file), "-"],
                stdin=payload,
                env=env,
            )
        for line in done.stdout.decode(errors="replace").splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[:2] == ["[GNUPG:]", "VALIDSIG"]:
                keys = {fields[2].upper(), fields[-1].upper()}
                if done.returncode == 0 and keys & allowed:
                    return VerifiedSignature(kind="gpg", signer=fields[-1], key=fields[2])
        raise UntrustedSignature("no valid signature by an allowed GPG key")


@dataclass(frozen=True, slots=True)
class AnyVerifier:
    """Dispatches on the signature's armor: SSH and GPG signatures side by side."""

    ssh: SshVerifier | None = None
    gpg: Verifier | None = None  # a GpgVerifier or a GpgKeysVerifier

    def verify(self, *, payload: bytes, signature: str) -> VerifiedSignature:
        """Verify with whichever verifier understands this signature format."""
        text = signature.lstrip()
        if text.startswith(SSH_ARMOR) and self.ssh is not None:
            return self.ssh.verify(payload=payload, signature=signature)
        if text.startswith(GPG_ARMOR) and self.gpg is not None:
            return self.gpg.verify(payload=payload, signature=signature)
        raise UntrustedSignature("signature format is not accepted")


@dataclass(frozen=True, slots=True)
class GpgKeysVerifier:
    """Accepts GPG signatures by keys from an armored public-key bundle (as Flux's verify).

    The keys are imported into a private, throwaway GnuPG home for each check,
    so nothing the agent trusts lives in a keyring that could drift.
    `fingerprints` narrows the bundle to these keys (None: every key in it).
    """

    armored_keys: bytes
    fingerprints: frozenset[str] | None = None

    def verify(self, *, payload: bytes, signature: str) -> VerifiedSignature:
        """The fingerprint of the trusted key that made `signature`."""
        with _private_dir() as home:
            env = {**os.environ, "GNUPGHOME": home}
            done = _run(
                ["gpg", "--batch", "--no-tty", "--import"], stdin=self.armored_keys, env=env
            )
            if done.returncode != 0:
                raise SignatureError("the trusted GPG public keys cannot be imported")
            listed = _run(
                ["gpg", "--batch", "--no-tty", "--with-colons", "--list-keys"], stdin=b"", env=env
            )
            found = {
                line.split(":")[9].upper()
                for line in listed.stdout.decode(errors="replace").splitlines()
                if line.startswith("fpr:") and len(line.split(":")) > 9
            }
            wanted = found if self.fingerprints is None else found & self.fingerprints
            if not wanted:
                raise UntrustedSignature("no trusted GPG key is selected")
            verifier = GpgVerifier(allowed_fingerprints=frozenset(wanted), gnupg_home=Path(home))
            return verifier.verify(payload=payload, signature=signature)
