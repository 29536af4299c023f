"""The default transport: `clickhouse-connect` over HTTP, with errors mapped at the boundary.

An executor is any ``Callable[[str], list[tuple]]`` that runs one SELECT and returns its
rows; tests pass one backed by chDB.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import BackendError, BackendTimeout, BackendUnavailable, ConfigError

_AUTH_MARKERS = ("Code: 516", "AUTHENTICATION_FAILED", "Authentication failed", "Code: 192")
_TIMEOUT_MARKERS = ("Code: 159", "TIMEOUT_EXCEEDED", "timed out", "Read timed out")
_TOO_BIG_MARKERS = ("Code: 396", "TOO_MANY_ROWS_OR_BYTES", "Limit for result exceeded")
_UNREACHABLE_MARKERS = (
    "Connection refused", "Failed to establish", "Name or service not known",
    "Max retries exceeded", "nodename nor servname", "Temporary failure in name resolution",
)


class HttpExecutor:
    """Runs SQL on a ClickHouse server through clickhouse-connect (created on first use)."""

    def __init__(
        self,
        url: str,
        *,
        username: str = "default",
        password: str | None = None,
        database: str = "default",
        verify_tls: bool = True,
        timeout_s: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"clickhouse url {url!r} must look like http(s)://host:8123; "
                "set OPSA_CLICKHOUSE__URL"
            )
        self.url = url
        self._host = parts.hostname
        self._secure = parts.scheme == "https"
        self._port = parts.port or (8443 if self._secure else 8123)
        self._username = username
        self._password = password
        self._database = database
        self._verify = verify_tls
        self._timeout_s = timeout_s
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            from clickhouse_connect.driver.exceptions import ClickHouseError
        except ImportError as exc:
            raise ConfigError(
                "the clickhouse connector needs clickhouse-connect; "
                "run: pip install 'ops-assistant[clickhouse]'"
            ) from exc
        try:
            client = self._get_client()
            return [tuple(r) for r in client.query(sql).result_rows]
        except ClickHouseError as exc:
            raise self._map_error(exc) from exc

    def _get_client(self) -> Any:
        import clickhouse_connect

        with self._lock:
            if self._client is None:
                self._client = clickhouse_connect.get_client(
                    host=self._host, port=self._port, username=self._username,
                    password=self._password or "", database=self._database,
                    secure=self._secure, verify=self._verify,
                    connect_timeout=min(self._timeout_s, 10.0),
                    send_receive_timeout=self._timeout_s + 2.0,
                    autogenerate_session_id=False,
                )
            return self._client

    def _map_error(self, exc: Exception) -> BackendError:
        return map_error(exc, self.url, self._username, self._timeout_s)


def map_error(
    exc: Exception, url: str, username: str, timeout_s: float, max_result_bytes: int | None = None
) -> BackendError:
    """The `assistant.errors` type for a ClickHouse failure, classified by its text."""
    text = str(exc)
    short = " ".join(text.split())[:400]
    if any(m in text for m in _AUTH_MARKERS):
        return BackendError(
            f"ClickHouse at {url} refused the credentials of user {username!r}: {short}. "
            "Check OPSA_CLICKHOUSE__USERNAME / __PASSWORD"
        )
    if any(m in text for m in _UNREACHABLE_MARKERS):
        return BackendUnavailable(
            f"cannot reach ClickHouse at {url}: {short}. Is the server running and "
            "the URL (OPSA_CLICKHOUSE__URL) right?"
        )
    if any(m in text for m in _TIMEOUT_MARKERS):
        return BackendTimeout(
            f"ClickHouse at {url} did not answer within {timeout_s:g}s; narrow the time "
            "range or add a service/host filter, or raise OPSA_CLICKHOUSE__TIMEOUT_S"
        )
    if any(m in text for m in _TOO_BIG_MARKERS):
        limit = f" ({max_result_bytes:,} bytes)" if max_result_bytes else ""
        return BackendError(
            f"the ClickHouse result is larger than clickhouse.max_result_bytes{limit}; "
            "narrow the time range, add a filter or a larger step, or raise "
            "OPSA_CLICKHOUSE__MAX_RESULT_BYTES"
        )
    return BackendError(f"ClickHouse at {url} rejected the query: {short}")
