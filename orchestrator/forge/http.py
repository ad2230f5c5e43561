"""JSON over HTTP for the forge adapters: bounded, timed, and careful with the token.

The token is read from a mounted file on every call (a rotated Secret takes effect
without a restart) and only ever travels in a request header: it is not in any
message, repr or exception. Redirects are not followed, because following one
would hand the token to whatever host the redirect names. Answers are read up to
a limit, so a misbehaving forge cannot exhaust the agent's memory.

The transport is injected: adapters take any callable from Request to Response,
which lets unit tests replay documented exchanges without a server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orchestrator.errors import (
    ForgeAuthFailed,
    ForgeError,
    ForgeNotFound,
    ForgeResponseInvalid,
    ForgeUnreachable,
)

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# Pages read when searching a list: a bound, so a huge list costs at most this many calls.
MAX_PAGES = 20
# How much of a forge's error answer a message quotes.
_QUOTE_LIMIT = 300


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: bytes | None = None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""


class Transport(Protocol):
    def __call__(self, request: Request) -> Response: ...


class TokenFile:
    """A token in a file (a mounted Secret); read when used, never shown."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str:
        try:
            token = self.path.read_text().strip()
        except OSError as exc:
            raise ForgeAuthFailed(
                f"cannot read the forge token file {self.path}: {exc.strerror}"
            ) from None
        if not token:
            raise ForgeAuthFailed(f"the forge token file {self.path} is empty")
        return token

    def __repr__(self) -> str:
        return f"TokenFile({str(self.path)!r})"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """The real transport: urllib with a timeout, a read limit and no redirects."""

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __call__(self, request: Request) -> Response:
        if urllib.parse.urlsplit(request.url).scheme not in ("http", "https"):
            raise ForgeUnreachable(f"{request.method} {_path(request.url)}: not an http(s) URL")
        req = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            request.url, data=request.body, headers=dict(request.headers), method=request.method
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as answer:
                return Response(status=answer.status, body=self._read(answer))
        except urllib.error.HTTPError as exc:
            with exc:
                return Response(status=exc.code, body=self._read(exc))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ForgeUnreachable(f"{request.method} {_path(request.url)}: {reason}") from None

    def _read(self, stream: Any) -> bytes:
        data: bytes = stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise ForgeResponseInvalid(f"answer larger than {self.max_bytes} bytes")
        return data


def _path(url: str) -> str:
    """A URL without scheme, host, credentials or query: what an error may name."""
    return urllib.parse.urlsplit(url).path


class JsonApi:
    """One forge's REST API: base URL, authentication header, and error mapping."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Callable[[], Mapping[str, str]],
        transport: Transport,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._transport = transport
        self._headers = dict(extra_headers or {})

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Any:
        """The decoded JSON answer of a 2xx; a ForgeError subclass for anything else."""
        return self.decode(method, path, self.send(method, path, query=query, payload=payload))

    def decode(self, method: str, path: str, response: Response) -> Any:
        """What `call` makes of an answer, for answers fetched with `send`."""
        if not 200 <= response.status < 300:
            raise self.error(method, path, response)
        if not response.body:
            return None
        try:
            return json.loads(response.body)
        except ValueError:
            raise ForgeResponseInvalid(
                f"{method} {path}: answer is not JSON", api=self.base_url, status=response.status
            ) from None

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Response:
        """The raw answer, whatever its status (for calls whose refusals mean something)."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: str(v) for k, v in query.items()})
        headers = {"Accept": "application/json", **self._headers, **self._auth()}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        try:
            return self._transport(Request(method=method, url=url, headers=headers, body=body))
        except ForgeError as exc:
            if not exc.api:
                raise type(exc)(str(exc), api=self.base_url, status=exc.status) from None
            raise

    def pages(
        self,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        size_param: str = "per_page",
        size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, up to MAX_PAGES pages (`page` counts from 1)."""
        for page in range(1, MAX_PAGES + 1):
            params = {**(query or {}), size_param: size, "page": page}
            items = self.call("GET", path, query=params)
            if not isinstance(items, list):
                raise ForgeResponseInvalid(f"GET {path}: expected a list", api=self.base_url)
            yield from (item for item in items if isinstance(item, dict))
            if len(items) < size:
                return

    def error(self, method: str, path: str, response: Response) -> ForgeError:
        """The exception for a non-2xx answer, quoting the forge's own message."""
        text = f"{method} {path}: HTTP {response.status}"
        said = forge_message(response.body)
        if said:
            text += f": {said}"
        kind: type[ForgeError] = ForgeError
        if response.status in (401, 403):
            kind = ForgeAuthFailed
        elif response.status == 404:
            kind = ForgeNotFound
        elif response.status >= 500 or response.status == 429:
            kind = ForgeUnreachable
        return kind(text, api=self.base_url, status=response.status)


def forge_message(body: bytes) -> str:
    """What the forge said about a refusal, shortened ("message" in every forge's errors)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:_QUOTE_LIMIT].decode(errors="replace").strip()
    said = data.get("message") or data.get("error") if isinstance(data, dict) else data
    return str(said)[:_QUOTE_LIMIT] if said else ""


def quote(value: str) -> str:
    """A path segment: branch names and repository paths may hold '/'."""
    return urllib.parse.quote(value, safe="")


def require(data: Any, name: str, kind: type) -> Any:
    """`data[name]` if the answer has it with the expected type, else ForgeResponseInvalid."""
    if not isinstance(data, dict) or not isinstance(data.get(name), kind):
        raise ForgeResponseInvalid(f"answer lacks {name!r} ({kind.__name__})")
    return data[name]
