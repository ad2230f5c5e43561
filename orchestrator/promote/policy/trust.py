"""Who may sign what an environment applies: the cluster's keys, narrowed by the policy.

The trusted keys come from the agent's settings (files mounted from a Secret
or ConfigMap), never from the revision being checked: a commit that could
name its own signers would vouch for itself. The signature of a revision is
checked before any byte of its tree is read. The policy on the branch may then
select a subset of those signers (`trust.signers`), never add one.

Only the revision the agent applies (the branch tip) is checked: its
signature covers the commit's tree id, so it fixes every byte that is
applied, however the tree came about. A merge of unsigned feature commits is
therefore delivered when the merge commit itself is signed by a trusted key.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.errors import PolicyError, SignatureError
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import (
    AnyVerifier,
    GpgKeysVerifier,
    SshVerifier,
    VerifiedSignature,
)
from orchestrator.promote.policy.schema import POLICY_PATH

_KEY_TYPE = re.compile(r"^(?:ssh-|ecdsa-sha2-|sk-ssh-|sk-ecdsa-)\S+$")
_FINGERPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")
_FIELD = "trust.signers"


@dataclass(frozen=True, slots=True)
class SignerLine:
    """One allowed-signers line: principals, then options, key type and key."""

    principals: tuple[str, ...]
    rest: str  # options (if any), key type, key, comment: as written
    key: tuple[str, str]  # (key type, base64 key)

    @classmethod
    def parse(cls, line: str) -> SignerLine | None:
        """The line's parts; None for a comment, a blank or an unreadable line."""
        text = line.strip()
        if not text or text.startswith("#"):
            return None
        principals, _, rest = text.partition(" ")
        tokens = rest.split()
        for index, token in enumerate(tokens[:-1]):
            if _KEY_TYPE.match(token):
                return cls(tuple(principals.split(",")), rest.strip(), (token, tokens[index + 1]))
        return None

    def render(self, principals: Sequence[str]) -> str:
        return f"{','.join(principals)} {self.rest}"


@dataclass(frozen=True, kw_only=True, slots=True)
class TrustRoot:
    """The keys this agent trusts; empty means the cluster requires no signature."""

    ssh_lines: tuple[str, ...] = ()
    gpg_keys: bytes = b""
    gpg_fingerprints: frozenset[str] | None = None  # None: every key in gpg_keys

    @classmethod
    def from_files(
        cls, *, allowed_signers_file: Path | None, gpg_public_keys_file: Path | None
    ) -> TrustRoot:
        """Read the files the settings name (again on every call, so rotation needs no restart)."""
        try:
            lines = allowed_signers_file.read_text().splitlines() if allowed_signers_file else []
            keys = gpg_public_keys_file.read_bytes() if gpg_public_keys_file else b""
        except OSError as exc:
            raise SignatureError(f"cannot read the trusted keys: {exc}") from None
        return cls(ssh_lines=tuple(line for line in lines if SignerLine.parse(line)), gpg_keys=keys)

    @property
    def required(self) -> bool:
        return bool(self.ssh_lines or self.gpg_keys)


def verify_revision(repo: CacheRepo, revision: str, *, root: TrustRoot) -> VerifiedSignature:
    """Who signed `revision`, if `root` trusts them; UnsignedCommit or UntrustedSignature."""
    with tempfile.TemporaryDirectory(prefix="orchestrator-signers-") as tmp:
        ssh = None
        if root.ssh_lines:
            allowed = Path(tmp) / "allowed_signers"
            allowed.write_text("\n".join(root.ssh_lines) + "\n")
            ssh = SshVerifier(allowed_signers=allowed)
        gpg = GpgKeysVerifier(root.gpg_keys, root.gpg_fingerprints) if root.gpg_keys else None
        return repo.verify_commit(revision, verifier=AnyVerifier(ssh=ssh, gpg=gpg))


def narrow(root: TrustRoot, selection: Sequence[str], *, environment: str) -> TrustRoot:
    """The signers of `root` that the policy's `trust.signers` selects; PolicyError if it
    names one the cluster does not trust.

    An entry is a principal (`release@example.com`), a whole allowed-signers
    line (principal and key must both be trusted), or a GPG key fingerprint.
    """
    field = f"environments.{environment}.{_FIELD}"
    if not root.required:
        raise PolicyError(
            POLICY_PATH,
            [
                f"{field}: the agent's settings trust no signers (trust.allowed_signers_file, "
                "trust.gpg_public_keys_file); a policy can only choose among those"
            ],
        )
    trusted = [line for line in map(SignerLine.parse, root.ssh_lines) if line is not None]
    lines: list[str] = []
    fingerprints: set[str] = set()
    problems: list[str] = []
    for index, entry in enumerate(selection):
        if _FINGERPRINT.match(entry.strip()) and root.gpg_keys:
            fingerprints.add(entry.strip().upper())
            continue
        chosen = _select(trusted, entry)
        if not chosen:
            problems.append(
                f"{field}[{index}]: {entry.split()[0] if entry.split() else entry!r} is not "
                "among the signers the agent trusts (trust.allowed_signers_file)"
            )
        lines.extend(chosen)
    if problems:
        raise PolicyError(POLICY_PATH, problems)
    return replace(
        root,
        ssh_lines=tuple(dict.fromkeys(lines)),
        gpg_keys=root.gpg_keys if fingerprints else b"",
        gpg_fingerprints=frozenset(fingerprints) if fingerprints else None,
    )


def _select(trusted: Sequence[SignerLine], entry: str) -> list[str]:
    wanted = SignerLine.parse(entry)
    if wanted is None:
        principal = entry.strip()
        return [line.render([principal]) for line in trusted if principal in line.principals]
    return [
        line.render(wanted.principals)
        for line in trusted
        if line.key == wanted.key and set(wanted.principals) <= set(line.principals)
    ]
