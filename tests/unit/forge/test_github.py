"""The GitHub adapter against exchanges written from GitHub's REST documentation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.forge.replay import TOKEN, ReplayTransport, adapter, check, scenarios

BASE_URL = "https://api.github.com"


@pytest.mark.parametrize("scenario", scenarios("github"))
def test_documented_exchange(scenario: dict[str, Any], tmp_path: Path) -> None:
    transport = ReplayTransport(scenario["exchanges"], base_url=BASE_URL)
    forge = adapter(
        "github", base_url=BASE_URL, repository="acme/bus", transport=transport, tmp_path=tmp_path
    )
    check(scenario, forge, transport)


def test_requests_carry_githubs_headers_and_the_token_only_there(tmp_path: Path) -> None:
    exchange = {
        "request": {
            "method": "GET",
            "path": "/repos/acme/bus/pulls",
            "query": {"state": "open", "head": "acme:x", "per_page": "100", "page": "1"},
        },
        "response": {"status": 200, "json": []},
    }
    transport = ReplayTransport([exchange], base_url=BASE_URL)
    forge = adapter(
        "github", base_url=BASE_URL, repository="acme/bus", transport=transport, tmp_path=tmp_path
    )
    assert forge.find_pull_request(head="x") is None
    (request,) = transport.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert TOKEN not in request.url
    assert TOKEN not in repr(request)
    assert TOKEN not in repr(forge)


def test_a_repository_must_be_owner_and_name(tmp_path: Path) -> None:
    transport = ReplayTransport([], base_url=BASE_URL)
    with pytest.raises(ValueError, match="owner/name"):
        adapter(
            "github", base_url=BASE_URL, repository="bus", transport=transport, tmp_path=tmp_path
        )
