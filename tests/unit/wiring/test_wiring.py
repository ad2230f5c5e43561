"""Settings in, connections out: one cache-path scheme, one signer, for agents and the CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

from orchestrator.gitbus.signing import SshSigner
from orchestrator.settings import GitSettings, Settings
from orchestrator.wiring import author, cache_path, read_limits, signer

URL = "ssh://git@example.com/fleet.git"


def _settings(tmp_path: Path, environment: str) -> Settings:
    return Settings.model_validate(
        {
            "git": {"url": URL, "cache_dir": tmp_path},
            "agent": {"environment": environment},
            "trust": {"max_file_bytes": 1000, "max_revision_bytes": 5000},
        }
    )


def test_a_cache_clone_per_url_and_per_scope(tmp_path: Path) -> None:
    staging = cache_path(tmp_path, url=URL, scope="staging")
    production = cache_path(tmp_path, url=URL, scope="production")
    unscoped = cache_path(tmp_path, url=URL)
    assert len({staging, production, unscoped}) == 3
    assert staging.parent == tmp_path
    # The paths existing caches already live at: renaming them would refetch everything.
    assert unscoped.name == hashlib.sha256(URL.encode()).hexdigest()[:16]
    assert staging.name == hashlib.sha256(f"{URL}\0staging".encode()).hexdigest()[:16]


def test_the_signer_is_the_configured_key_or_none(tmp_path: Path) -> None:
    assert signer(GitSettings(url=URL)) is None
    key = tmp_path / "id_ed25519"
    found = signer(GitSettings(url=URL, signing_key_file=key))
    assert isinstance(found, SshSigner)
    assert found.key_path == key


def test_author_and_read_limits_come_from_the_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "staging")
    assert author(settings.git).email == "orchestrator@localhost"
    limits = read_limits(settings)
    assert (limits.max_file_bytes, limits.max_revision_bytes) == (1000, 5000)
