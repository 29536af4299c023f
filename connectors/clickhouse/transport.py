"""The default transport: `clickhouse-connect` over HTTP, with errors mapped at the boundary.

An executor is any ``Callable[[str], list[tuple]]`` that runs one SELECT and returns its
rows; tests pass one backed by chDB.
"""

from __future__ import annotations

import logging
import re
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
    "Connection reset", "Connection aborted", "RemoteDisconnected", "Broken pipe",
)
_UNREACHABLE_REASONS = (  # marker -> the reason a person is told, first match wins
    ("Connection refused", "connection refused"),
    ("Name or service not known", "unknown host name"),
    ("nodename nor servname", "unknown host name"),
    ("Temporary failure in name resolution", "host name lookup failed"),
    ("Connection reset", "the connection was reset before a reply"),
    ("Connection aborted", "the connection was closed before a reply"),
    ("RemoteDisconnected", "the connection was closed before a reply"),
    ("Broken pipe", "the connection was closed while sending"),
)
_NOT_CLICKHOUSE_MARKERS = ("Unexpected response to server version query",)
_HTTP_STATUS = re.compile(r"HTTP status (\d{3})")
_CODE = re.compile(r"Code: \d+")

# clickhouse-connect logs each failed request at ERROR; with no logging configured (the CLI)
# Python would print those lines on stderr beside our one-line error. The error we raise
# carries the same text; a configured handler (the server's) still receives the records.
logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())


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
        except (ValueError, LookupError, EOFError, TypeError, OSError) as exc:
            # the reply could not be decoded (a truncated or foreign body, a proxy's page)
            raise BackendError(
                f"the reply from ClickHouse at {self.url} could not be read "
                f"({type(exc).__name__}: {_short(str(exc), 200)}); is the URL ClickHouse's "
                "HTTP port (8123/8443), with no proxy rewriting replies?"
            ) from exc

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
    short = _short(text, 400)
    if any(m in text for m in _AUTH_MARKERS):
        return BackendError(
            f"ClickHouse at {url} refused the credentials of user {username!r}: {short}. "
            "Check OPSA_CLICKHOUSE__USERNAME / __PASSWORD"
        )
    if any(m in text for m in _UNREACHABLE_MARKERS):
        reason = next((why for m, why in _UNREACHABLE_REASONS if m in text), short[:200])
        return BackendUnavailable(
            f"cannot reach ClickHouse at {url} ({reason}). Is the server running and "
            "the URL (OPSA_CLICKHOUSE__URL) right?"
        )
    if any(m in text for m in _NOT_CLICKHOUSE_MARKERS):
        return BackendError(
            f"the server at {url} does not answer as ClickHouse does ({short[:160]}); is the "
            "URL (OPSA_CLICKHOUSE__URL) ClickHouse's HTTP port (8123/8443)?"
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
    status = _HTTP_STATUS.search(text)
    if status and not _CODE.search(text):  # an HTTP failure that is not ClickHouse's own
        return BackendError(
            f"ClickHouse at {url} failed with HTTP {status[1]} and no ClickHouse error "
            f"({short[:200]}); is the server overloaded, or a proxy in the way?"
        )
    return BackendError(f"ClickHouse at {url} rejected the query: {short}")


def _short(text: str, limit: int) -> str:
    """`text` on one line, without control characters, cut to `limit` characters."""
    clean = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."
