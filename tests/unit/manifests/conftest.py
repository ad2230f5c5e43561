from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.manifests import parse


@pytest.fixture(params=sorted(parse.YAML_LOADERS))
def yaml_loader(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with each YAML loader this machine has (libyaml-backed and pure Python)."""
    previous = parse.yaml_loader
    parse.yaml_loader = parse.YAML_LOADERS[request.param]
    try:
        yield request.param
    finally:
        parse.yaml_loader = previous
