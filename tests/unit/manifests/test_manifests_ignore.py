""".orchestratorignore: gitignore semantics, per directory, under the delivery root.

Every ignored file in the fixture is invalid YAML, so reading one fails the load.
"""

from __future__ import annotations

import pytest

from orchestrator.errors import ManifestParseError
from orchestrator.manifests import load_manifests

from .manifests_fixtures import tree


def loaded_paths(files: dict[str, bytes]) -> set[str]:
    return {m.path for m in load_manifests(files, root="deliver")}


def test_ignore_files_select_what_git_would() -> None:
    assert loaded_paths(tree("ignore")) == {
        "deliver/plain.yaml",
        "deliver/secret.yaml",  # sub/.orchestratorignore applies only below sub/
        "deliver/generated/keep.yaml",  # `generated/*` then `!generated/keep.yaml`
        "deliver/sub/top-only.yaml",  # `/top-only.yaml` is anchored to deliver/
        "deliver/sub/b.local.yaml",  # the deeper file's negation wins
        "deliver/sub/deeper/c.local.yaml",  # ... in its whole subtree
    }


@pytest.mark.parametrize(
    "path",
    [
        "deliver/drafts/draft.yaml",  # directory pattern
        "deliver/generated/drop.yaml",  # directory contents pattern
        "deliver/vendor/keep.yaml",  # no negation out of an ignored directory
        "deliver/a.local.yaml",  # name pattern
        "deliver/top-only.yaml",  # anchored pattern
        "deliver/sub/secret.yaml",  # pattern of the deeper ignore file
    ],
)
def test_ignored_file_would_fail_if_read(path: str) -> None:
    files = tree("ignore")
    del files["deliver/.orchestratorignore"]
    del files["deliver/sub/.orchestratorignore"]
    with pytest.raises(ManifestParseError):
        load_manifests({path: files[path]})


def test_ignore_file_above_the_root_does_not_apply() -> None:
    files = tree("ignore")
    assert files[".orchestratorignore"].strip().endswith(b"*.yaml")
    assert "deliver/plain.yaml" in loaded_paths(files)


def test_an_unreadable_ignore_file_is_an_error_and_its_directory_is_not_applied() -> None:
    files = {
        "deliver/.orchestratorignore": b"\\\n",
        "deliver/a.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    }
    with pytest.raises(ManifestParseError, match="not a valid ignore file") as caught:
        load_manifests(files, root="deliver")
    assert caught.value.path == "deliver/.orchestratorignore"
