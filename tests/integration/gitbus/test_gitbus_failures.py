"""Each failure surfaces as its own exception from the project's tree, with no secrets."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.errors import (
    AuthenticationFailed,
    GitError,
    PushRefused,
    PushRejected,
    RemoteUnreachable,
    RepositoryCorrupt,
    UnsafePath,
)
from orchestrator.gitbus import protocol
from orchestrator.gitbus.auth import HttpsAuth, Secret, SshAuth
from orchestrator.gitbus.protocol import Identity
from orchestrator.gitbus.repo import CacheRepo
from orchestrator.gitbus.retry import RetryPolicy
from tests.integration.gitbus.gitbus_servers import (
    HttpServer,
    Remote,
    RemoteFactory,
    SshServer,
    free_port,
    git,
)

AGENT = Identity("Agent", "agent@example.com", datetime(2024, 5, 1, tzinfo=UTC))
DEV = protocol.env_branch("dev")


def seed(remote: Remote, files: dict[str, bytes | None] | None = None) -> str:
    cache = remote.cache("seed")
    result = cache.push_with_retry(
        ref=DEV,
        rebuild=lambda tip: cache.create_commit(
            parent=tip, subject="seed", author=AGENT, changes=files or {"a.txt": b"a"}
        ),
    )
    assert result.commit is not None
    return result.commit


# --- unreachable --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["git", "ssh", "http"])
def test_closed_port_is_unreachable(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    port = free_port()  # nothing listens here
    auth = None
    if kind == "ssh":
        ssh: SshServer = request.getfixturevalue("ssh_server")
        auth = SshAuth(
            username=ssh.user, private_key_path=ssh.user_key, known_hosts=ssh.known_hosts
        )
        url = f"ssh://{ssh.user}@127.0.0.1:{port}/x.git"
    elif kind == "http":
        url = f"http://agent:tok3n-in-url@127.0.0.1:{port}/x.git"
    else:
        url = f"git://127.0.0.1:{port}/x.git"
    cache = CacheRepo.open(tmp_path / "c", remote_url=url, auth=auth)
    with pytest.raises(RemoteUnreachable) as info:
        cache.poll([DEV])
    assert "tok3n-in-url" not in str(info.value)
    assert "tok3n-in-url" not in info.value.remote
    assert "127.0.0.1" in info.value.remote


def test_missing_repositories_are_unreachable(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    daemon = request.getfixturevalue("git_daemon")
    for url in (str(tmp_path / "nope.git"), f"file://{tmp_path}/nope.git", daemon.url("nope.git")):
        cache = CacheRepo.open(tmp_path / f"c{abs(hash(url))}", remote_url=url)
        with pytest.raises(RemoteUnreachable):
            cache.list_remote()


# --- authentication -------------------------------------------------------------------


def ssh_auth(ssh: SshServer, **overrides: object) -> SshAuth:
    fields: dict[str, object] = {
        "username": ssh.user,
        "private_key_path": ssh.user_key,
        "known_hosts": ssh.known_hosts,
    }
    fields.update(overrides)
    return SshAuth(**fields)  # type: ignore[arg-type]


def test_ssh_key_variants(make_remote: RemoteFactory, ssh_server: SshServer) -> None:
    remote = make_remote("ssh")
    tip = seed(remote)
    pp = ssh_server.passphrase
    variants = {
        "file": ssh_auth(ssh_server),
        "file+passphrase": ssh_auth(
            ssh_server, private_key_path=ssh_server.passphrase_key, passphrase=Secret(pp)
        ),
        "memory": ssh_auth(
            ssh_server, private_key_path=None, private_key=Secret(ssh_server.user_key.read_text())
        ),
        "memory+passphrase": ssh_auth(
            ssh_server,
            private_key_path=None,
            private_key=Secret(ssh_server.passphrase_key.read_text()),
            passphrase=Secret(pp),
        ),
    }
    for name, auth in variants.items():
        cache = remote.cache(name, auth=auth)
        assert cache.poll([DEV]).tips == {DEV: tip}, name


def test_ssh_refused_key_and_wrong_passphrase(
    make_remote: RemoteFactory, ssh_server: SshServer
) -> None:
    remote = make_remote("ssh")
    stranger = remote.cache(
        "stranger", auth=ssh_auth(ssh_server, private_key_path=ssh_server.stranger_key)
    )
    with pytest.raises(AuthenticationFailed):
        stranger.poll([DEV])
    wrong = "not-the-passphrase-9f3a"
    for name, auth in {
        "file": ssh_auth(
            ssh_server, private_key_path=ssh_server.passphrase_key, passphrase=Secret(wrong)
        ),
        "memory": ssh_auth(
            ssh_server,
            private_key_path=None,
            private_key=Secret(ssh_server.passphrase_key.read_text()),
            passphrase=Secret(wrong),
        ),
    }.items():
        cache = remote.cache(f"wrong-{name}", auth=auth)
        with pytest.raises(AuthenticationFailed) as info:
            cache.poll([DEV])
        assert wrong not in str(info.value)
        assert "PRIVATE KEY" not in str(info.value)


def test_known_hosts_is_checked(
    make_remote: RemoteFactory, ssh_server: SshServer, tmp_path: Path
) -> None:
    remote = make_remote("ssh")
    tip = seed(remote)
    host_line = ssh_server.known_hosts.read_text().split()
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    other_pub = Path(f"{other}.pub").read_text().split()

    mismatch = tmp_path / "kh_mismatch"
    mismatch.write_text(f"{host_line[0]} {other_pub[0]} {other_pub[1]}\n")
    with pytest.raises(AuthenticationFailed, match="mismatch"):
        remote.cache("mismatch", auth=ssh_auth(ssh_server, known_hosts=mismatch)).poll([DEV])

    empty = tmp_path / "kh_empty"
    empty.write_text("")
    with pytest.raises(AuthenticationFailed, match="unknown host"):
        remote.cache("unknown", auth=ssh_auth(ssh_server, known_hosts=empty)).poll([DEV])

    wrong_port = tmp_path / "kh_port"
    wrong_port.write_text(f"127.0.0.1 {host_line[1]} {host_line[2]}\n")  # port 22 entry only
    with pytest.raises(AuthenticationFailed):
        remote.cache("port", auth=ssh_auth(ssh_server, known_hosts=wrong_port)).poll([DEV])

    hashed = tmp_path / "kh_hashed"
    shutil.copy(ssh_server.known_hosts, hashed)
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert hashed.read_text().startswith("|1|")
    cache = remote.cache("hashed", auth=ssh_auth(ssh_server, known_hosts=hashed))
    assert cache.poll([DEV]).tips == {DEV: tip}

    unchecked = remote.cache(
        "unchecked", auth=ssh_auth(ssh_server, known_hosts=mismatch, check_host_key=False)
    )
    assert unchecked.poll([DEV]).tips == {DEV: tip}


def test_https_token(make_remote: RemoteFactory, http_server: HttpServer) -> None:
    remote = make_remote("http")
    tip = seed(remote)
    wrong = "wrong-token-7c1d"
    bad = remote.cache("bad", auth=HttpsAuth(username=http_server.user, token=Secret(wrong)))
    with pytest.raises(AuthenticationFailed) as info:
        bad.poll([DEV])
    assert wrong not in str(info.value)
    anonymous = CacheRepo.open(remote.caches / "anon", remote_url=remote.url, auth=None)
    with pytest.raises(AuthenticationFailed):
        anonymous.poll([DEV])
    good = remote.cache("good")
    assert good.poll([DEV]).tips == {DEV: tip}
    assert http_server.token not in repr(good.remote) + repr(remote.auth)


# --- push refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["git", "ssh", "http"])
def test_server_side_refusal_is_refused_for_good_and_not_retried(
    make_remote: RemoteFactory, kind: str
) -> None:
    remote = make_remote(kind)
    base = seed(remote)
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    cache = remote.cache()
    cache.poll([DEV])
    new = cache.create_commit(parent=base, subject="x", author=AGENT, changes={"b": b"b"})
    with pytest.raises(PushRefused, match="hook declined"):
        cache.push(ref=DEV, expected=base, new=new)
    assert cache.local_tip(DEV) == base

    # Retrying cannot get past a hook: the first refusal is the answer, without backoff.
    attempts: list[str | None] = []

    def rebuild(tip: str | None) -> str:
        attempts.append(tip)
        return new

    with pytest.raises(PushRefused, match="hook declined"):
        cache.push_with_retry(
            ref=DEV, rebuild=rebuild, retry=RetryPolicy(attempts=5, base_delay=0.5)
        )
    assert attempts == [base]
    assert git("rev-parse", DEV, cwd=remote.path).stdout.decode().strip() == base


def test_non_fast_forward_is_rejected(make_remote: RemoteFactory) -> None:
    remote = make_remote("path")
    base = seed(remote)
    cache = remote.cache()
    cache.poll([DEV])
    unrelated = cache.create_commit(parent=None, subject="root", author=AGENT, changes={"z": b"z"})
    with pytest.raises(PushRejected):
        cache.push(ref=DEV, expected=base, new=unrelated)


# --- the cache itself ---------------------------------------------------------------------


def test_shallow_cache_is_refused(
    make_remote: RemoteFactory, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    remote = make_remote("path")
    first = seed(remote)
    cache = remote.cache("c")
    cache.push_with_retry(
        ref=DEV,
        rebuild=lambda t: cache.create_commit(
            parent=t, subject="2", author=AGENT, changes={"b": b"2"}
        ),
    )
    shallow = remote.caches / "shallow"
    git(
        "clone",
        "-q",
        "--bare",
        "--depth=1",
        "--branch=dev",
        f"file://{remote.path}",
        str(shallow),
        env=cli_env,
    )
    assert (shallow / "shallow").is_file()
    git("config", "orchestrator.remote", remote.url, cwd=shallow, env=cli_env)
    with pytest.raises(RepositoryCorrupt, match="shallow"):
        CacheRepo.open(shallow, remote_url=remote.url)
    assert first


def test_corrupt_caches_are_refused(make_remote: RemoteFactory) -> None:
    remote = make_remote("path")
    seed(remote)
    cache = remote.cache("c")
    cache.poll([DEV])
    for pack in (cache.path / "objects" / "pack").glob("*"):
        pack.unlink()
    for loose in (cache.path / "objects").glob("??/*"):
        loose.unlink()
    with pytest.raises(RepositoryCorrupt, match="missing object"):
        remote.cache("c")

    garbage = remote.caches / "garbage"
    garbage.mkdir()
    (garbage / "HEAD").write_text("not a ref\n")
    with pytest.raises(RepositoryCorrupt):
        CacheRepo.open(garbage, remote_url=remote.url)

    with pytest.raises(RepositoryCorrupt, match="belongs to"):
        CacheRepo.open(remote.caches / "seed", remote_url=remote.url + "-other")


def test_missing_object_inside_a_commit(make_remote: RemoteFactory) -> None:
    remote = make_remote("path")
    cache = remote.cache("c")
    commit = cache.create_commit(
        parent=None, subject="x", author=AGENT, changes={"d/f.txt": b"unique content 81723"}
    )
    blob_sha = git("hash-object", "--stdin", stdin=b"unique content 81723").stdout.decode().strip()
    (cache.path / "objects" / blob_sha[:2] / blob_sha[2:]).unlink()
    with pytest.raises(RepositoryCorrupt):
        cache.read_files(commit)


# --- unsafe trees --------------------------------------------------------------------------


def make_tree(cwd: Path, entries: list[tuple[str, str, str, str]]) -> str:
    lines = "".join(f"{mode} {kind} {sha}\t{name}\n" for mode, kind, sha, name in entries)
    return git("mktree", cwd=cwd, stdin=lines.encode()).stdout.decode().strip()


def test_symlinks_submodules_and_escapes_are_refused(
    make_remote: RemoteFactory, cli_env: dict[str, str]
) -> None:
    remote = make_remote("path")
    repo = remote.path
    blob = git("hash-object", "-w", "--stdin", cwd=repo, stdin=b"data").stdout.decode().strip()
    target = (
        git("hash-object", "-w", "--stdin", cwd=repo, stdin=b"/etc/passwd").stdout.decode().strip()
    )
    link_dir = make_tree(
        repo, [("100644", "blob", blob, "ok.yaml"), ("120000", "blob", target, "evil.yaml")]
    )
    module_dir = make_tree(repo, [("160000", "commit", blob.replace(blob[0], "a", 1), "sub")])
    clean_dir = make_tree(repo, [("100644", "blob", blob, "ok.yaml")])
    root = make_tree(
        repo,
        [
            ("040000", "tree", link_dir, "linked"),
            ("040000", "tree", module_dir, "module"),
            ("040000", "tree", clean_dir, "clean"),
            ("120000", "blob", target, "alias"),
            ("100644", "blob", blob, "file.txt"),
        ],
    )
    commit = (
        git("commit-tree", root, "-m", "crafted", cwd=repo, env=cli_env).stdout.decode().strip()
    )
    git("update-ref", DEV, commit, cwd=repo, env=cli_env)
    cache = remote.cache()
    cache.poll([DEV])
    assert cache.read_files(DEV, directory="clean") == {"ok.yaml": b"data"}
    for directory in (
        "linked",
        "module",
        "",
        "alias",
        "file.txt",
        "../clean",
        "/clean",
        "clean/../linked",
    ):
        with pytest.raises(UnsafePath):
            cache.read_files(DEV, directory=directory)
    assert cache.read_files(DEV, directory="absent") == {}

    # an entry named ".." can only be made by writing the tree object by hand
    raw = b"100644 ..\0" + bytes.fromhex(blob)
    dotdot = git("hash-object", "-t", "tree", "-w", "--literally", "--stdin", cwd=repo, stdin=raw)
    escape_root = make_tree(repo, [("040000", "tree", dotdot.stdout.decode().strip(), "deploy")])
    escape = (
        git("commit-tree", escape_root, "-m", "escape", cwd=repo, env=cli_env)
        .stdout.decode()
        .strip()
    )
    git("update-ref", DEV, escape, cwd=repo, env=cli_env)
    cache.poll([DEV])
    with pytest.raises(UnsafePath):
        cache.read_files(DEV, directory="deploy")


def test_errors_are_git_errors_with_stripped_remote(make_remote: RemoteFactory) -> None:
    remote = make_remote("http")
    url = remote.url.replace("http://", "http://agent:leaky-token-5521@")
    cache = CacheRepo.open(remote.caches / "x", remote_url=url, auth=None)
    with pytest.raises(GitError) as info:
        cache.fetch([protocol.env_branch("nope")])
    assert "leaky-token-5521" not in str(info.value)
    assert "leaky-token-5521" not in cache.remote
    config = (remote.caches / "x" / "config").read_text()
    assert "leaky-token-5521" not in config
