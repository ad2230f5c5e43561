"""A checkout is read with the rules of `CacheRepo.read_files`: one directory, no links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.errors import ReadLimitExceeded, UnsafePath
from orchestrator.gitbus.directory import read_directory
from orchestrator.gitbus.limits import ReadLimits

LIMITS = ReadLimits(max_file_bytes=100, max_revision_bytes=150)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]\n")
    (tmp_path / "deploy" / "sub").mkdir(parents=True)
    (tmp_path / "deploy" / "a.yaml").write_text("a: 1\n")
    (tmp_path / "deploy" / "sub" / "b.yaml").write_text("b: 2\n")
    (tmp_path / "other.yaml").write_text("c: 3\n")
    return tmp_path


def test_only_the_directory_asked_for_is_read(checkout: Path) -> None:
    files = read_directory(checkout, directory="deploy", limits=LIMITS)
    assert files == {"a.yaml": b"a: 1\n", "sub/b.yaml": b"b: 2\n"}


def test_the_checkouts_git_directory_is_not_part_of_the_tree(checkout: Path) -> None:
    assert set(read_directory(checkout, limits=LIMITS)) == {
        "other.yaml",
        "deploy/a.yaml",
        "deploy/sub/b.yaml",
    }


def test_a_missing_directory_reads_as_no_files(checkout: Path) -> None:
    assert read_directory(checkout, directory="absent", limits=LIMITS) == {}


@pytest.mark.parametrize("directory", ["../x", "/etc", "deploy/../../x", "a\\b"])
def test_a_directory_leaving_the_checkout_is_refused(checkout: Path, directory: str) -> None:
    with pytest.raises(UnsafePath, match="leaves the repository"):
        read_directory(checkout, directory=directory, limits=LIMITS)


def test_links_are_refused_by_name_wherever_they_are(checkout: Path, tmp_path: Path) -> None:
    os.symlink("/etc", checkout / "deploy" / "sub" / "etc")
    with pytest.raises(UnsafePath, match=r"^deploy/sub/etc is a symlink$"):
        read_directory(checkout, directory="deploy", limits=LIMITS)
    os.symlink(checkout / "deploy", checkout / "linked")
    with pytest.raises(UnsafePath, match=r"^linked is a symlink$"):
        read_directory(checkout, directory="linked/sub", limits=LIMITS)


def test_special_files_are_refused_without_being_opened(checkout: Path) -> None:
    os.mkfifo(checkout / "deploy" / "pipe")  # opening it for reading would block
    with pytest.raises(UnsafePath, match="deploy/pipe is a special file"):
        read_directory(checkout, directory="deploy", limits=LIMITS)


def test_sizes_are_held_to_the_read_limits(checkout: Path) -> None:
    (checkout / "deploy" / "big.yaml").write_bytes(b"#" * 101)
    with pytest.raises(ReadLimitExceeded, match=r"deploy/big.yaml: is 101 bytes, over .* of 100"):
        read_directory(checkout, directory="deploy", limits=LIMITS)
    (checkout / "deploy" / "big.yaml").write_bytes(b"#" * 75)
    (checkout / "deploy" / "big2.yaml").write_bytes(b"#" * 75)
    with pytest.raises(ReadLimitExceeded, match=r"trust\.max_revision_bytes"):
        read_directory(checkout, directory="deploy", limits=LIMITS)
