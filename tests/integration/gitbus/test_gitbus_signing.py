"""Signed commits: our verification and `git verify-commit` always agree."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.errors import SignatureError, UnsignedCommit, UntrustedSignature
from orchestrator.gitbus import protocol
from orchestrator.gitbus.auth import Secret
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.signing import (
    AnyVerifier,
    GpgSigner,
    GpgVerifier,
    SshSigner,
    SshVerifier,
)
from orchestrator.promote.policy.trust import TrustRoot, narrow, verify_revision
from tests.integration.gitbus.gitbus_servers import Remote, RemoteFactory, git, need_binary

AGENT = Identity("Agent", "agent@example.com", datetime(2024, 5, 1, tzinfo=UTC))
DEV = protocol.env_branch("dev")
PASSPHRASE = "signing passphrase 42"


def keygen(path: Path, passphrase: str = "") -> Path:
    need_binary("ssh-keygen")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", path.name, "-f", str(path)],
        check=True,
    )
    return path


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    return {
        "alice": keygen(tmp_path / "alice"),
        "bob": keygen(tmp_path / "bob", PASSPHRASE),
        "mallory": keygen(tmp_path / "mallory"),
    }


@pytest.fixture
def allowed(tmp_path: Path, keys: dict[str, Path]) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(
        "".join(
            f"{who}@example.com {Path(f'{keys[who]}.pub').read_text()}" for who in ("alice", "bob")
        )
    )
    return path


def git_verify(remote: Remote, commit: str, allowed: Path, env: dict[str, str]) -> tuple[bool, str]:
    done = git(
        "-c",
        "gpg.format=ssh",
        "-c",
        f"gpg.ssh.allowedSignersFile={allowed}",
        "verify-commit",
        "-v",
        commit,
        cwd=remote.path,
        env=env,
        check=False,
    )
    return done.returncode == 0, done.stderr.decode()


def push_signed(remote: Remote, signer: SshSigner | GpgSigner | None, subject: str) -> str:
    cache = remote.cache("writer")
    result = cache.push_with_retry(
        ref=DEV,
        rebuild=lambda tip: cache.create_commit(
            parent=tip,
            subject=subject,
            author=AGENT,
            changes={subject: b"x"},
            signer=signer,
            trailers=[("Delivery", subject)],
        ),
    )
    assert result.commit is not None
    return result.commit


def test_ssh_signatures_agree_with_git(
    make_remote: RemoteFactory, keys: dict[str, Path], allowed: Path, cli_env: dict[str, str]
) -> None:
    remote = make_remote("git")
    verifier = SshVerifier(allowed)
    signers = {
        "alice-file": (SshSigner(key_path=keys["alice"]), "alice@example.com"),
        "bob-memory-passphrase": (
            SshSigner(key=Secret(keys["bob"].read_text()), passphrase=Secret(PASSPHRASE)),
            "bob@example.com",
        ),
    }
    for name, (signer, principal) in signers.items():
        commit = push_signed(remote, signer, name)
        reader = remote.cache(f"reader-{name}")
        reader.poll([DEV])
        info = reader.commit_info(commit)
        assert info.signed
        assert info.trailers == (("Delivery", name),)
        verified = reader.verify_commit(commit, verifier=verifier)
        assert verified.signer == principal
        assert verified.kind == "ssh"
        ok, output = git_verify(remote, commit, allowed, cli_env)
        assert ok, output
        assert f'Good "git" signature for {principal}' in output
        shown = git(
            "-c",
            f"gpg.ssh.allowedSignersFile={allowed}",
            "log",
            "-1",
            "--show-signature",
            commit,
            cwd=remote.path,
            env=cli_env,
        ).stdout.decode()
        assert f'Good "git" signature for {principal}' in shown


def test_unsigned_untrusted_and_tampered(
    make_remote: RemoteFactory, keys: dict[str, Path], allowed: Path, cli_env: dict[str, str]
) -> None:
    remote = make_remote("path")
    verifier = SshVerifier(allowed)
    reader = remote.cache("reader")

    unsigned = push_signed(remote, None, "unsigned")
    reader.poll([DEV])
    with pytest.raises(UnsignedCommit):
        reader.verify_commit(unsigned, verifier=verifier)
    assert not git_verify(remote, unsigned, allowed, cli_env)[0]

    stranger = push_signed(remote, SshSigner(key_path=keys["mallory"]), "stranger")
    reader.poll([DEV])
    with pytest.raises(UntrustedSignature):
        reader.verify_commit(stranger, verifier=verifier)
    assert not git_verify(remote, stranger, allowed, cli_env)[0]

    # same signature, different content: rewrite the message under the gpgsig header
    good = push_signed(remote, SshSigner(key_path=keys["alice"]), "good")
    reader.poll([DEV])
    assert reader.verify_commit(good, verifier=verifier).signer == "alice@example.com"
    raw = git("cat-file", "commit", good, cwd=remote.path).stdout
    forged_raw = raw.replace(b"\ngood\n", b"\nforged\n")
    assert forged_raw != raw
    forged = git("hash-object", "-t", "commit", "-w", "--stdin", cwd=remote.path, stdin=forged_raw)
    forged_sha = forged.stdout.decode().strip()
    git("update-ref", DEV, forged_sha, cwd=remote.path, env=cli_env)
    reader.poll([DEV])
    with pytest.raises(UntrustedSignature):
        reader.verify_commit(forged_sha, verifier=verifier)
    assert not git_verify(remote, forged_sha, allowed, cli_env)[0]


def test_signer_errors_hide_the_passphrase(keys: dict[str, Path]) -> None:
    wrong = "wrong passphrase 0x51"
    with pytest.raises(SignatureError) as info:
        SshSigner(key_path=keys["bob"], passphrase=Secret(wrong)).sign(b"payload")
    assert wrong not in str(info.value)


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    need_binary("gpg")
    home = tmp_path / "gpg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    try:
        subprocess.run(
            [
                "gpg",
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                "Agent <agent@example.com>",
                "ed25519",
                "sign",
                "never",
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        listing = subprocess.run(
            ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
            env=env,
            check=True,
            capture_output=True,
        ).stdout.decode()
        fingerprint = re.findall(r"^fpr:+([0-9A-F]{40}):", listing, re.MULTILINE)[0]
        yield home, fingerprint
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True)


def test_gpg_signatures_agree_with_git(
    make_remote: RemoteFactory, gnupg: tuple[Path, str], allowed: Path, cli_env: dict[str, str]
) -> None:
    home, fingerprint = gnupg
    remote = make_remote("path")
    commit = push_signed(remote, GpgSigner(key_id=fingerprint, gnupg_home=home), "gpg")
    reader = remote.cache("reader")
    reader.poll([DEV])
    verifier = AnyVerifier(
        ssh=SshVerifier(allowed), gpg=GpgVerifier(frozenset({fingerprint}), home)
    )
    assert reader.verify_commit(commit, verifier=verifier).key == fingerprint
    with pytest.raises(UntrustedSignature):
        reader.verify_commit(commit, verifier=GpgVerifier(frozenset({"0" * 40}), home))
    with pytest.raises(UntrustedSignature):
        reader.verify_commit(commit, verifier=SshVerifier(allowed))
    done = git(
        "verify-commit",
        commit,
        cwd=remote.path,
        env=dict(cli_env, GNUPGHOME=str(home)),
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()


def test_gpg_keys_from_an_armored_bundle_are_the_trust_root(
    make_remote: RemoteFactory, gnupg: tuple[Path, str], tmp_path: Path
) -> None:
    """As Flux's verify: the agent holds public keys only, in a file from its settings."""
    home, fingerprint = gnupg
    armored = subprocess.run(
        ["gpg", "--batch", "--armor", "--export", fingerprint],
        env={"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    ).stdout
    keys = tmp_path / "trusted.asc"
    keys.write_bytes(armored)
    remote = make_remote("path")
    commit = push_signed(remote, GpgSigner(key_id=fingerprint, gnupg_home=home), "gpg")
    reader = remote.cache("reader")
    reader.poll([DEV])
    root = TrustRoot.from_files(allowed_signers_file=None, gpg_public_keys_file=keys)
    assert verify_revision(reader, commit, root=root).key == fingerprint
    chosen = narrow(root, [fingerprint.lower()], environment="dev")
    assert verify_revision(reader, commit, root=chosen).key == fingerprint
    other = narrow(root, ["0" * 40], environment="dev")
    with pytest.raises(UntrustedSignature):
        verify_revision(reader, commit, root=other)
    unsigned = push_signed(remote, None, "unsigned")
    reader.poll([DEV])
    with pytest.raises(UnsignedCommit):
        verify_revision(reader, unsigned, root=root)
