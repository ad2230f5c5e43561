"""The policy may pick among the signers the cluster trusts, never add one."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import PolicyError, SignatureError
from orchestrator.promote.policy.trust import SignerLine, TrustRoot, narrow
from orchestrator.promote.revision.source import checked_delivery

FIXTURES = Path(__file__).with_name("fixtures")
RELEASE_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIReleaseKeyReleaseKeyReleaseKeyRelease"


@pytest.fixture
def root() -> TrustRoot:
    return TrustRoot.from_files(
        allowed_signers_file=FIXTURES / "allowed_signers", gpg_public_keys_file=None
    )


def test_the_root_reads_signer_lines_and_skips_comments(root: TrustRoot) -> None:
    assert root.required
    assert len(root.ssh_lines) == 2
    assert not TrustRoot().required


def test_a_missing_key_file_is_a_signature_error(tmp_path: Path) -> None:
    with pytest.raises(SignatureError, match="cannot read the trusted keys"):
        TrustRoot.from_files(allowed_signers_file=tmp_path / "nope", gpg_public_keys_file=None)


def test_a_principal_selects_only_its_own_lines_and_only_itself(root: TrustRoot) -> None:
    chosen = narrow(root, ["release@example.com"], environment="production")
    assert chosen.ssh_lines == (f"release@example.com ssh-ed25519 {RELEASE_KEY}",)
    ops = narrow(root, ["ops@example.com"], environment="production")
    assert len(ops.ssh_lines) == 2
    assert all(line.startswith("ops@example.com ") for line in ops.ssh_lines)
    assert 'namespaces="git"' in ops.ssh_lines[1]


def test_a_whole_line_must_match_a_trusted_key(root: TrustRoot) -> None:
    same = narrow(root, [f"release@example.com ssh-ed25519 {RELEASE_KEY}"], environment="p")
    assert same.ssh_lines == (f"release@example.com ssh-ed25519 {RELEASE_KEY}",)
    with pytest.raises(PolicyError) as caught:
        narrow(root, ["release@example.com ssh-ed25519 AAAAOtherKey"], environment="p")
    assert "environments.p.trust.signers[0]: 'release@example.com' is not among" in str(
        caught.value
    )


def test_an_unknown_signer_is_refused_naming_the_field(root: TrustRoot) -> None:
    with pytest.raises(PolicyError) as caught:
        narrow(root, ["release@example.com", "intruder@example.com"], environment="staging")
    assert caught.value.problems == [
        "environments.staging.trust.signers[1]: 'intruder@example.com' is not among the "
        "signers the agent trusts (trust.allowed_signers_file)"
    ]


def test_a_policy_cannot_bring_signers_to_a_cluster_that_trusts_none() -> None:
    with pytest.raises(PolicyError, match="the agent's settings trust no signers"):
        narrow(TrustRoot(), ["release@example.com"], environment="staging")


def test_signer_lines_parse_with_options_and_ignore_noise() -> None:
    line = SignerLine.parse('a,b cert-authority,namespaces="git" ssh-ed25519 AAAAK comment')
    assert line is not None
    assert line.principals == ("a", "b")
    assert line.key == ("ssh-ed25519", "AAAAK")
    assert SignerLine.parse("# comment") is None
    assert SignerLine.parse("no key here") is None


@pytest.mark.parametrize("name", ["feature-a", "Feature_1.2", "a"])
def test_valid_delivery_names_pass(name: str) -> None:
    assert checked_delivery(name) == name


@pytest.mark.parametrize(
    "name", ["$(params.x)$", "a b", "-rm", ".hidden", "a..b", "x" * 201, "a/b", "a\nb", ""]
)
def test_invalid_delivery_names_are_refused_naming_the_trailer(name: str) -> None:
    with pytest.raises(ValueError, match=r"Delivery trailer .* is not a valid delivery name"):
        checked_delivery(name)
