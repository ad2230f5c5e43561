"""The GitLab adapter against exchanges written from GitLab's REST documentation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.forge.replay import TOKEN, ReplayTransport, adapter, check, scenarios

BASE_URL = "https://gitlab.example.com/api/v4"


@pytest.mark.parametrize("scenario", scenarios("gitlab"))
def test_documented_exchange(scenario: dict[str, Any], tmp_path: Path) -> None:
    transport = ReplayTransport(scenario["exchanges"], base_url=BASE_URL)
    forge = adapter(
        "gitlab", base_url=BASE_URL, repository="acme/bus", transport=transport, tmp_path=tmp_path
    )
    check(scenario, forge, transport)


def test_the_token_travels_as_private_token_only(tmp_path: Path) -> None:
    exchange = {
        "request": {
            "method": "GET",
            "path": "/api/v4/projects/acme%2Fbus/merge_requests",
            "query": {"state": "opened", "source_branch": "x", "per_page": "100", "page": "1"},
        },
        "response": {"status": 200, "json": []},
    }
    transport = ReplayTransport([exchange], base_url=BASE_URL)
    forge = adapter(
        "gitlab", base_url=BASE_URL, repository="acme/bus", transport=transport, tmp_path=tmp_path
    )
    assert forge.find_pull_request(head="x") is None
    (request,) = transport.requests
    assert request.headers["PRIVATE-TOKEN"] == TOKEN
    assert "Authorization" not in request.headers
    assert TOKEN not in repr(forge)
