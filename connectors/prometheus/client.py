"""A small HTTP client for Prometheus-style JSON APIs, with errors mapped at the boundary.

`HttpApi` owns transport concerns: base URL, bearer or basic auth, TLS, extra headers, a
wall-clock time budget per request and a cap on response size. Every `httpx` failure
becomes an `assistant.errors` exception whose message names the backend, the URL and what
to do. `PromApi` adds the Prometheus envelope (`{"status": ..., "data": ...}`) and the
query endpoints; the Alertmanager connector uses `HttpApi` directly.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from assistant.errors import BackendError, BackendTimeout, BackendUnavailable, ConfigError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_SNIPPET = 300


def _snippet(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text[:_SNIPPET] + (" ..." if len(text) > _SNIPPET else "")


@dataclass(frozen=True)
class HttpConfig:
    """Where and how to reach one backend. `setting` names the config section in messages."""

    url: str
    setting: str
    label: str
    timeout_s: float = 10.0
    bearer_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    ca_file: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_bytes: int = DEFAULT_MAX_BYTES


class HttpApi:
    """JSON over HTTP with a hard time budget per request and a response-size cap."""

    def __init__(self, config: HttpConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        url = config.url.rstrip("/")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ConfigError(
                f"{config.setting}.url {config.url!r} is not a valid URL: {exc}"
            ) from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(
                f"{config.setting}.url {config.url!r} must look like http://host:port"
            )
        if config.bearer_token and (config.username or config.password):
            raise ConfigError(
                f"set either {config.setting}.bearer_token or {config.setting}.username/"
                "password, not both"
            )
        headers = {"User-Agent": "opsa", "Accept": "application/json", **config.headers}
        if config.bearer_token:
            headers["Authorization"] = f"Bearer {config.bearer_token}"
        auth = httpx.BasicAuth(config.username, config.password or "") if config.username else None
        self._client = httpx.Client(
            base_url=url,
            headers=headers,
            auth=auth,
            verify=self._verify(config),
            timeout=httpx.Timeout(config.timeout_s),
            transport=transport,
            follow_redirects=True,
        )

    @staticmethod
    def _verify(config: HttpConfig) -> ssl.SSLContext | bool:
        if not config.verify_tls:
            return False
        if config.ca_file:
            try:
                return ssl.create_default_context(cafile=config.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"{config.setting}.ca_file {config.ca_file!r} cannot be loaded: {exc}"
                ) from exc
        return True

    @property
    def url(self) -> str:
        return str(self._client.base_url).rstrip("/")

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        what: str = "",
    ) -> tuple[int, Any]:
        """Send one request; return (status code, decoded JSON body).

        `what` describes the request in error messages (e.g. the PromQL text). Any status
        is returned when the body is JSON; the caller maps API-level errors.
        """
        cfg = self.config
        where = f"{cfg.label} at {self.url}{path}"
        about = f" ({what})" if what else ""
        deadline = time.monotonic() + cfg.timeout_s
        t0 = time.perf_counter()
        try:
            with self._client.stream(
                method, path, params=params, data=data, json=json_body
            ) as resp:
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > cfg.max_bytes:
                        raise BackendError(
                            f"{where} returned more than {cfg.max_bytes // (1024 * 1024)} MiB"
                            f"{about}; narrow the query (add matchers, an aggregation, or a "
                            "shorter range / larger step)"
                        )
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("time budget spent while reading the body")
                    chunks.append(chunk)
                body = b"".join(chunks)
                status = resp.status_code
        except httpx.ConnectTimeout as exc:
            raise BackendUnavailable(
                f"cannot reach {where}: connection timed out after {cfg.timeout_s:g}s; "
                f"check {cfg.setting}.url and that the server is up"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendTimeout(
                f"{where} did not answer within {cfg.timeout_s:g}s{about}; narrow the query "
                f"or raise {cfg.setting}.timeout_s"
            ) from exc
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.ProxyError) as exc:
            raise BackendUnavailable(
                f"cannot reach {where}: {exc or type(exc).__name__}; check {cfg.setting}.url "
                "and that the server is up"
            ) from exc
        except httpx.TransportError as exc:
            raise BackendError(
                f"connection to {where} failed mid-request{about}: "
                f"{exc or type(exc).__name__}; the server may have crashed or a proxy cut it"
            ) from exc
        log.debug(
            "%s %s -> %s, %d bytes in %.1f ms",
            method,
            path,
            status,
            len(body),
            (time.perf_counter() - t0) * 1000,
        )
        if status in (401, 403):
            raise BackendError(
                f"{where} refused the request with HTTP {status}: {_snippet(body)}; check "
                f"{cfg.setting}.bearer_token or username/password"
            )
        if status == 204 or not body.strip():
            if 200 <= status < 300:
                return status, None
            raise BackendError(f"{where} answered HTTP {status} with an empty body{about}")
        try:
            decoded = json.loads(body)
        except ValueError:
            if status == 404:
                raise BackendError(
                    f"{where} does not exist (HTTP 404); is {cfg.setting}.url the API root "
                    "(without /api/v1)?"
                ) from None
            kind = f"HTTP {status}" if status >= 400 else "a body that is not JSON"
            raise BackendError(
                f"{where} answered with {kind}{about}: {_snippet(body)!r}; is "
                f"{cfg.setting}.url a {cfg.label} API?"
            ) from None
        return status, decoded


def _ts(t: datetime) -> str:
    return f"{t.timestamp():.3f}"


class PromApi:
    """The Prometheus HTTP API v1 (also served by VictoriaMetrics, Thanos, Mimir)."""

    def __init__(self, http: HttpApi) -> None:
        self.http = http

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        path: str,
        params: Any = None,
        *,
        form: Mapping[str, Any] | None = None,
        what: str = "",
    ) -> tuple[Any, list[str]]:
        """GET (or POST `form`) `path`; return the envelope's data and warnings."""
        method = "POST" if form is not None else "GET"
        status, body = self.http.request(method, path, params=params, data=form, what=what)
        label = self.http.config.label
        where = f"{label} at {self.http.url}{path}"
        if not isinstance(body, dict) or "status" not in body:
            raise BackendError(
                f"{where} answered HTTP {status} with JSON that is not a Prometheus API "
                f"response: {_snippet(json.dumps(body))!r}"
            )
        if body["status"] != "success":
            err = str(body.get("error") or "no error text")
            etype = str(body.get("errorType") or "")
            about = f" {what}" if what else ""
            if etype == "timeout" or (status == 503 and "timeout" in err.lower()):
                raise BackendTimeout(
                    f"{where} gave up on the query{about}: {err}; narrow the query or the "
                    "time range"
                )
            if status in (400, 422) or etype in ("bad_data", "execution", "422"):
                raise BackendError(f"{label} rejected the query{about}: {err}")
            raise BackendError(f"{where} failed (HTTP {status}, {etype or 'error'}){about}: {err}")
        if status >= 300:
            raise BackendError(f"{where} answered HTTP {status}: {_snippet(json.dumps(body))}")
        warnings = [str(w) for w in body.get("warnings") or []]
        return body.get("data"), warnings

    def _timeout(self) -> str:
        return f"{max(1, int(self.http.config.timeout_s))}s"

    def query(self, expr: str, at: datetime) -> tuple[Any, list[str]]:
        """An instant query at `at`."""
        form = {"query": expr, "time": _ts(at), "timeout": self._timeout()}
        return self.call("/api/v1/query", form=form, what=expr)

    def query_range(
        self, expr: str, start: datetime, end: datetime, step_s: int
    ) -> tuple[Any, list[str]]:
        """A range query over [start, end] every `step_s` seconds."""
        form = {
            "query": expr,
            "start": _ts(start),
            "end": _ts(end),
            "step": str(step_s),
            "timeout": self._timeout(),
        }
        return self.call("/api/v1/query_range", form=form, what=expr)

    def list_call(self, path: str, params: Any = None) -> list[Any]:
        data, _ = self.call(path, params)
        if data is None:
            return []
        if not isinstance(data, list):
            raise BackendError(
                f"{self.http.config.label} at {self.http.url}{path} returned "
                f"{type(data).__name__} where a list was expected"
            )
        return data
