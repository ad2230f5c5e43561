"""The composition root: settings in, the Git and cluster connections out.

The agent and the CLI connect the same way (the same credentials, the same
signer, one cache-path scheme), so both build their connections here and
neither reaches into the other for them.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from orchestrator.gitbus.auth import Auth, HttpsAuth, Secret, SshAuth
from orchestrator.gitbus.limits import ReadLimits
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.signing import Signer, SshSigner
from orchestrator.kube.client import KubeClient
from orchestrator.settings import GitSettings, Settings

# What this logs is the agent's start-up ("cluster ... (from ...)"): under its logger.
log = logging.getLogger("orchestrator.agent")


def git_auth(git: GitSettings) -> Auth:
    """Credentials for the remote, from the git settings (secrets read from their files)."""
    if git.ssh_key_file is not None:
        passphrase = git.passphrase_value()
        return SshAuth(
            username=git.username,
            private_key_path=git.ssh_key_file,
            passphrase=Secret(passphrase) if passphrase else None,
            known_hosts=git.known_hosts_file,
            check_host_key=not git.insecure_skip_host_key_check,
        )
    token = git.token_value()
    if token:
        return HttpsAuth(username=git.username, token=Secret(token))
    return None


def signer(git: GitSettings) -> Signer | None:
    """The commit signer `git.signing_key_file` asks for, if any (agents and the CLI alike)."""
    if git.signing_key_file is None:
        return None
    return SshSigner(key_path=git.signing_key_file)


def author(git: GitSettings) -> Identity:
    """Who the agent's commits and notes are by."""
    return Identity(name=git.author_name, email=git.author_email)


def read_limits(settings: Settings) -> ReadLimits:
    """The trust settings' read limits, for every read of a revision this agent makes."""
    return ReadLimits(
        max_file_bytes=settings.trust.max_file_bytes,
        max_revision_bytes=settings.trust.max_revision_bytes,
    )


def cache_path(cache_dir: Path, *, url: str, scope: str | None = None) -> Path:
    """One cache clone per remote URL (and per scope, such as an agent's environment)."""
    key = url if scope is None else f"{url}\0{scope}"
    return cache_dir / hashlib.sha256(key.encode()).hexdigest()[:16]


def open_cache(git: GitSettings, *, path: Path, limits: ReadLimits | None = None) -> CacheRepo:
    """The cache clone at `path` of `git.url`, with the settings' credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return CacheRepo.open(path, remote_url=git.url, auth=git_auth(git), limits=limits)


def open_repo(settings: Settings, *, purpose: str = "") -> CacheRepo:
    """The agent's cache clone; a `purpose` (a reader on another thread) gets its own.

    A second reader polling the agent's clone would swallow the agent's next change.
    """
    git = settings.git
    path = cache_path(git.cache_dir, url=git.url, scope=settings.agent.environment)
    if purpose:
        path = path.with_name(f"{path.name}-{purpose}")
    return open_cache(git, path=path, limits=read_limits(settings))


def connect_cluster(settings: Settings) -> KubeClient:
    """`cluster.kubeconfig`, else $KUBECONFIG, else in-cluster, else ~/.kube/config."""
    return KubeClient.connect(
        kubeconfig=settings.cluster.kubeconfig, context=settings.cluster.context
    )


def open_cluster(settings: Settings) -> KubeClient:
    """The agent's cluster client, saying at start which cluster and from where."""
    kube = connect_cluster(settings)
    log.info("cluster %s (from %s)", kube.server, kube.origin)
    return kube
