"""The lock (requirements/constraints.txt) is what every install uses, and it fits pyproject.toml.

`make lock` writes the lock; these tests catch a dependency added to pyproject.toml without
re-locking, a pin that no longer satisfies its range, an install path that bypasses the lock,
and a test environment that was not built from it.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "requirements" / "constraints.txt"


def _locked() -> dict[str, Requirement]:
    pins: dict[str, Requirement] = {}
    for raw in LOCK.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1, f"{line!r} is not an exact pin"
        assert specifiers[0].operator == "==", f"{line!r} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = requirement
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    tools = (ROOT / "requirements" / "tools.in").read_text().splitlines()
    lines += [t.split("#", 1)[0].strip() for t in tools if t.split("#", 1)[0].strip()]
    return [Requirement(line) for line in lines]


def _pinned_version(requirement: Requirement) -> Version:
    return Version(next(iter(requirement.specifier)).version)


LOCKED = _locked()


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_declared_dependency_is_pinned_within_its_range(requirement: Requirement) -> None:
    name = canonicalize_name(requirement.name)
    assert name in LOCKED, f"{requirement} is not in {LOCK.name}: run `make lock`"
    pinned = _pinned_version(LOCKED[name])
    assert requirement.specifier.contains(pinned, prereleases=True), (
        f"{LOCK.name} pins {name}=={pinned}, outside {requirement}: run `make lock`"
    )


def test_the_test_environment_is_the_locked_one() -> None:
    """Every locked package that applies here is installed at exactly its pinned version."""
    environment = default_environment()
    wrong = []
    for name, requirement in LOCKED.items():
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            continue  # locked for the build environment or a platform extra, not installed here
        if installed != _pinned_version(requirement):
            wrong.append(f"{name} {installed} (locked {_pinned_version(requirement)})")
    assert not wrong, "installed outside the lock: " + ", ".join(wrong)


@pytest.mark.parametrize("path", ["Makefile", "Dockerfile"])
def test_every_install_path_uses_the_lock(path: str) -> None:
    text = (ROOT / path).read_text()
    assert "PIP_CONSTRAINT" in text
    assert "requirements/constraints.txt" in text or "constraints.txt" in text
