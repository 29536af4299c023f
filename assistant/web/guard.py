"""Who may call the API and how much: bearer tokens, a per-caller rate limit, a body limit.

Tokens come from `api_tokens` (`OPSA_API_TOKENS`, comma-separated). With no token
configured the API is open to loopback clients only (and `opsa serve` refuses to bind a
non-loopback address without tokens), so a default install is never an open endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.web.errors import ApiError, error_body

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback(host: str | None) -> bool:
    return host is not None and (host in LOOPBACK or host.startswith("127."))


@dataclass
class Caller:
    """The authenticated caller: a key for rate limiting, never the token itself."""

    key: str
    token: bool


class TokenAuth:
    """Checks `Authorization: Bearer <token>` against the configured tokens."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = [t.encode() for t in tokens if t]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def check(self, authorization: str | None, client_host: str | None) -> Caller:
        if not self._tokens:
            if is_loopback(client_host):
                return Caller(key=f"ip:{client_host}", token=False)
            raise ApiError(401, "no API tokens are configured, so only loopback clients may "
                           "call the API; set OPSA_API_TOKENS on the server",
                           headers={"WWW-Authenticate": "Bearer"})
        if not authorization:
            raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>'",
                           headers={"WWW-Authenticate": "Bearer"})
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "the Authorization header must be 'Bearer <token>'",
                           headers={"WWW-Authenticate": "Bearer"})
        given = value.strip().encode()
        # Compare with every token (constant time each) so timing does not reveal which.
        ok = False
        for token in self._tokens:
            ok |= hmac.compare_digest(given, token)
        if not ok:
            raise ApiError(401, "invalid bearer token",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return Caller(key="tok:" + hashlib.sha256(given).hexdigest()[:16], token=True)


class RateLimiter:
    """A token bucket per caller: `per_minute` requests, refilled continuously."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)

    def take(self, key: str, what: str = "requests", spend: bool = True) -> None:
        """Spend one of `what` for `key` (or, with `spend=False`, only check that one is
        left), or raise a 429 `ApiError` with Retry-After."""
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / rate)
                raise ApiError(429, f"rate limit of {self.per_minute} {what} per minute "
                               f"exceeded; retry in {wait} s",
                               headers={"Retry-After": str(wait)})
            self._buckets[key] = (tokens - 1.0 if spend else tokens, now)
            if len(self._buckets) > 10_000:  # forget idle callers (full buckets)
                full = [k for k, (t, _) in self._buckets.items() if t >= self.per_minute - 1]
                for k in full:
                    del self._buckets[k]


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` gets 413 before any handler runs."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await _send_json(send, 400, error_body("bad_request",
                                                       "Content-Length is not a number"))
                return
            if too_big:
                await self._reject(send, int(declared))
                return
        # Chunked (or lying) bodies: read up to the limit, then replay them to the app.
        chunks: list[Message] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._reject(send, size)
                return
            chunks.append(message)
            more = bool(message.get("more_body"))

        replay = iter(chunks)

        async def replay_receive() -> Message:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, replay_receive, send)

    async def _reject(self, send: Send, size: int) -> None:
        await _send_json(send, 413, error_body(
            "payload_too_large",
            f"request body of {size} bytes is over the limit of {self.max_bytes} bytes "
            "(setting max_body_bytes)"))


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": data})



_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _host_name(host: str) -> str:
    """`127.0.0.1:8080` -> `127.0.0.1`, `[::1]:80` -> `::1`, `Example.com` -> `example.com`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class CrossSiteCheck:
    """Refuses what a web page on another site could make a browser send to the API.

    * `Host` must name a loopback host while no token is configured (loopback-only mode),
      so a DNS-rebound name cannot reach the API through the user's browser;
    * an `Origin` other than the server's own and the configured CORS origins is refused;
    * requests that write (POST, ...) must be JSON: a cross-site form or `text/plain` POST,
      which a browser sends without a CORS preflight, never reaches a handler.
    """

    def __init__(self, tokens_enabled: bool, cors_origins: list[str]) -> None:
        self.tokens_enabled = tokens_enabled
        self.origins = {o.rstrip("/").lower() for o in cors_origins}

    def check_host(self, headers: dict[str, str]) -> None:
        """Before authentication: loopback mode answers loopback names only."""
        host = headers.get("host", "")
        if not self.tokens_enabled and not is_loopback(_host_name(host)):
            raise ApiError(403, f"Host {host[:100]!r} is not a loopback name; with no API "
                           "tokens configured the API answers only on localhost "
                           "(set OPSA_API_TOKENS to serve other names)", code="forbidden")

    def check_request(self, method: str, headers: dict[str, str]) -> None:
        """After authentication: the origin, and JSON bodies for writes."""
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self.origins:
            same = origin.lower().partition("://")[2].rstrip("/") == host.lower()
            if not same:
                raise ApiError(403, f"cross-site request from origin {origin[:100]!r} refused; "
                               "add it to cors_origins to allow it", code="forbidden")
        if method in _WRITE_METHODS:
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json" and not (ctype.startswith("application/")
                                                     and ctype.endswith("+json")):
                raise ApiError(415, f"the body must be JSON (Content-Type: application/json), "
                               f"not {ctype or 'none'!r}", code="unsupported_media_type")
