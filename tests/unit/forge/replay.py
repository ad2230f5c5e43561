"""Replay documented HTTP exchanges against a forge adapter, with no server.

A scenario (YAML, in fixtures/<forge>/) names an adapter call, every request the
adapter must make in order (method, path, query, JSON body) with the answer the
forge's documentation gives, and the call's outcome. The fake transport fails the
test on any request that is not the next expected one, and on any left unmade.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator import errors
from orchestrator.forge import connect
from orchestrator.forge.http import Request, Response
from orchestrator.forge.protocol import CommitStatus, Forge, StatusState

FIXTURES = Path(__file__).with_name("fixtures")
TOKEN = "fixture-token-0123456789"


class ReplayTransport:
    """Answers each request with the next documented response, checking the request."""

    def __init__(self, exchanges: list[dict[str, Any]], *, base_url: str) -> None:
        self.exchanges = list(exchanges)
        self.base_path = urllib.parse.urlsplit(base_url).path.rstrip("/")
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        assert self.exchanges, f"unexpected extra request {request.method} {request.url}"
        expected = self.exchanges.pop(0)
        want, answer = expected["request"], expected["response"]
        url = urllib.parse.urlsplit(request.url)
        got = {
            "method": request.method,
            "path": url.path,
            "query": dict(urllib.parse.parse_qsl(url.query)),
            "json": json.loads(request.body) if request.body else None,
        }
        assert got == {
            "method": want["method"],
            "path": want["path"],
            "query": want.get("query", {}),
            "json": want.get("json"),
        }
        body = json.dumps(answer["json"]).encode() if "json" in answer else b""
        return Response(status=answer["status"], body=body)


def scenarios(forge: str) -> list[Any]:
    """Every scenario of one forge, as pytest params named after the file and scenario."""
    params = []
    for path in sorted((FIXTURES / forge).glob("*.yaml")):
        for scenario in yaml.safe_load(path.read_text()):
            params.append(pytest.param(scenario, id=f"{path.stem}: {scenario['name']}"))
    return params


def adapter(
    kind: str, *, base_url: str, repository: str, transport: ReplayTransport, tmp_path: Path
) -> Forge:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    return connect(
        kind=kind,
        api_url=base_url,
        repository=repository,
        token_file=token_file,
        transport=transport,
    )


def run(forge: Forge, call: Mapping[str, Any]) -> Any:
    """Call the adapter as the scenario says and turn the outcome into plain data."""
    args = dict(call.get("args") or {})
    if "status" in args:
        raw = args.pop("status")
        status = CommitStatus(**{**raw, "state": StatusState(raw["state"])})
        return forge.set_status(args["sha"], status)
    op = call["op"]
    if op == "statuses":
        return {k: _plain(v) for k, v in forge.statuses(args["sha"]).items()}
    if op in ("upsert_comment", "merge"):
        number = args.pop("number")
        return _plain(getattr(forge, op)(number, **args))
    return _plain(getattr(forge, op)(**args))


def check(scenario: Mapping[str, Any], forge: Forge, transport: ReplayTransport) -> None:
    if "raises" in scenario:
        error = getattr(errors, scenario["raises"])
        with pytest.raises(error) as caught:
            run(forge, scenario["call"])
        assert TOKEN not in str(caught.value)
    else:
        assert run(forge, scenario["call"]) == scenario["result"]
    assert not transport.exchanges, "documented requests were not made"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: str(v) if isinstance(v, StatusState) else v for k, v in vars(value).items()}
    return value
