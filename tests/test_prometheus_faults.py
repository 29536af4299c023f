"""Faults at the Prometheus boundary: each becomes a clear, typed error, and the connector
keeps answering afterwards. A real HTTP server on loopback plays the broken backend."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from servers import free_port

from assistant.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    UnknownEntityError,
)
from assistant.ir import LogQuery, Matcher, MetricQuery, TimeRange
from assistant.settings import PrometheusSettings
from connectors.prometheus import PrometheusConnector

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = TimeRange(start=END - timedelta(hours=1), end=END)
Q = MetricQuery(metric="node_load1", time_range=HOUR)

Reply = tuple[int, str, bytes]  # status, content type, body
Behaviour = Callable[[str, dict[str, list[str]]], Reply]


def ok(data: Any) -> Reply:
    return 200, "application/json", json.dumps({"status": "success", "data": data}).encode()


def matrix(n_series: int, n_points: int) -> dict[str, Any]:
    t0 = HOUR.start.timestamp()
    return {
        "resultType": "matrix",
        "result": [
            {
                "metric": {"__name__": "node_load1", "host": f"h{i:04d}"},
                "values": [[t0 + 15 * j, str(i + j)] for j in range(n_points)],
            }
            for i in range(n_series)
        ],
    }


class FakeBackend:
    """A loopback HTTP server whose answers come from `behaviour(path, params)`."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = lambda path, params: ok({"resultType": "matrix", "result": []})
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                path, _, qs = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode() if length else ""
                params = parse_qs(qs) | parse_qs(form)
                fake.requests.append((path, params, dict(self.headers.items())))
                status, ctype, body = fake.behaviour(path, params)
                if status == -1:  # trickle: a byte at a time, forever (until the client quits)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    try:
                        for _ in range(200):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.1)
                    except OSError:
                        pass  # the client gave up, as it should
                    return
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # the client may have timed out and closed the socket first
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend() -> Iterator[FakeBackend]:
    fake = FakeBackend()
    try:
        yield fake
    finally:
        fake.close()


def connector(url: str, **kw: Any) -> PrometheusConnector:
    kw.setdefault("timeout_s", 2.0)
    return PrometheusConnector(PrometheusSettings(url=url, **kw))


def test_unreachable_url_is_backend_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailable, match=r"cannot reach Prometheus at .*prometheus\.url"):
        connector(url).run(Q)


def test_http_500_carries_the_server_text(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: (500, "text/plain", b"internal meltdown in shard 7")
    with pytest.raises(BackendError, match=r"HTTP 500.*internal meltdown in shard 7") as err:
        connector(backend.url).run(Q)
    assert not isinstance(err.value, BackendUnavailable | BackendTimeout)


def test_garbage_body_is_a_backend_error(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: (200, "text/html", b"<html>hello, I am a router</html>")
    with pytest.raises(BackendError, match=r"not JSON.*I am a router"):
        connector(backend.url).run(Q)


def test_json_that_is_not_a_prometheus_envelope(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: (200, "application/json", b'{"hello": "world"}')
    with pytest.raises(BackendError, match=r"not a Prometheus API response"):
        connector(backend.url).run(Q)


def test_bad_query_reports_the_server_error(backend: FakeBackend) -> None:
    body = {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unclosed"}
    backend.behaviour = lambda p, q: (400, "application/json", json.dumps(body).encode())
    with pytest.raises(BackendError, match=r"rejected the query node_load1: 1:5: parse error"):
        connector(backend.url).run(Q)


def test_server_side_timeout_is_backend_timeout(backend: FakeBackend) -> None:
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in expr eval"}
    backend.behaviour = lambda p, q: (503, "application/json", json.dumps(body).encode())
    with pytest.raises(BackendTimeout, match=r"query timed out"):
        connector(backend.url).run(Q)


def test_hanging_server_fires_the_time_budget(backend: FakeBackend) -> None:
    def hang(path: str, params: dict[str, list[str]]) -> Reply:
        time.sleep(3)
        return ok({"resultType": "matrix", "result": []})

    backend.behaviour = hang
    t0 = time.monotonic()
    with pytest.raises(BackendTimeout, match=r"did not answer within 0\.5s"):
        connector(backend.url, timeout_s=0.5).run(Q)
    assert time.monotonic() - t0 < 2.0


def test_trickling_server_cannot_outlast_the_budget(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: (-1, "", b"")
    t0 = time.monotonic()
    with pytest.raises(BackendTimeout):
        connector(backend.url, timeout_s=0.5).run(Q)
    assert time.monotonic() - t0 < 2.0


def test_connector_still_answers_after_a_failure(backend: FakeBackend) -> None:
    def flaky(path: str, params: dict[str, list[str]]) -> Reply:
        if "rate" in params.get("query", [""])[0]:
            time.sleep(2)
        return ok(matrix(1, 3))

    backend.behaviour = flaky
    conn = connector(backend.url, timeout_s=0.5)
    with pytest.raises(BackendTimeout):
        conn.run(MetricQuery(metric="node_load1", function="rate", time_range=HOUR))
    res = conn.run(Q)
    assert [v for _, v in res.series[0].points] == [0.0, 1.0, 2.0]


def test_huge_result_is_capped_and_marked(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: ok(matrix(1000, 5))
    res = connector(backend.url, max_series=10).run(Q)
    assert len(res.series) == 10
    assert res.truncated and res.total == 1000
    assert any("10 of 1000 series" in w for w in res.warnings)
    assert [s.labels["host"] for s in res.series] == [f"h{i:04d}" for i in range(10)]


def test_point_cap_drops_whole_series(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: ok(matrix(5, 20))
    res = connector(backend.url, max_points=50).run(Q)
    assert [len(s.points) for s in res.series] == [20, 20]
    assert res.truncated and res.total == 5


def test_untruncated_result_is_not_marked(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: ok(matrix(3, 4))
    res = connector(backend.url).run(Q)
    assert not res.truncated and res.total == 3 and res.warnings == []
    assert res.series[2].points[3] == (HOUR.start + timedelta(seconds=45), 5.0)
    assert "__name__" not in res.series[0].labels


def test_oversized_body_is_refused_not_truncated(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: ok(matrix(200, 50))
    conn = PrometheusConnector(PrometheusSettings(url=backend.url), max_bytes=64 * 1024)
    with pytest.raises(BackendError, match=r"more than 0 MiB.*narrow the query"):
        conn.run(Q)


def _unknown_metric_backend(path: str, params: dict[str, list[str]]) -> Reply:
    if path == "/api/v1/label/__name__/values":
        return ok(["node_load1", "node_memory_usage_percent"])
    if path == "/api/v1/label/host/values":
        return ok(["web-01", "web-02"])
    return ok({"resultType": "matrix", "result": []})


def test_unknown_metric_suggests_names(backend: FakeBackend) -> None:
    backend.behaviour = _unknown_metric_backend
    with pytest.raises(UnknownEntityError, match=r"no metric named 'node_load'.*node_load1"):
        connector(backend.url).run(MetricQuery(metric="node_load", time_range=HOUR))


def test_unknown_label_value_suggests_values(backend: FakeBackend) -> None:
    backend.behaviour = _unknown_metric_backend
    q = MetricQuery(
        metric="node_load1", matchers=(Matcher(label="host", value="web-1"),), time_range=HOUR
    )
    with pytest.raises(UnknownEntityError, match=r"'web-1'.*web-01"):
        connector(backend.url).run(q)


def test_known_metric_without_samples_is_an_empty_result(backend: FakeBackend) -> None:
    backend.behaviour = _unknown_metric_backend
    res = connector(backend.url).run(Q)
    assert res.series == [] and res.total == 0
    assert res.warnings == ["no samples of node_load1 match the query in the time range"]


def test_auth_and_headers_are_sent(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: ok(matrix(1, 1))
    connector(backend.url, bearer_token="s3cret", headers={"X-Scope-OrgID": "team-a"}).run(Q)
    _, params, headers = backend.requests[-1]
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["X-Scope-OrgID"] == "team-a"
    assert params["query"] == ["node_load1"]
    assert params["step"] == ["15"]
    assert float(params["start"][0]) == HOUR.start.timestamp()
    connector(backend.url, username="ops", password="pw").run(Q)
    assert backend.requests[-1][2]["Authorization"] == httpx.BasicAuth("ops", "pw")._auth_header


def test_instant_query_evaluates_at_the_end(backend: FakeBackend) -> None:
    vec = {"resultType": "vector", "result": [{"metric": {"host": "a"}, "value": [1, "2.5"]}]}
    backend.behaviour = lambda p, q: ok(vec)
    res = connector(backend.url).run(
        MetricQuery(metric="node_load1", function="avg_over_time", mode="instant", time_range=HOUR)
    )
    path, params, _ = backend.requests[-1]
    assert path == "/api/v1/query"
    assert float(params["time"][0]) == END.timestamp()
    assert params["query"] == ["avg_over_time(node_load1[3600s])"]
    assert res.series[0].points[0][1] == 2.5


def test_unauthorized_names_the_setting(backend: FakeBackend) -> None:
    backend.behaviour = lambda p, q: (401, "text/plain", b"missing token")
    with pytest.raises(BackendError, match=r"HTTP 401.*prometheus.bearer_token"):
        connector(backend.url).run(Q)


def test_logs_are_not_supported() -> None:
    conn = connector("http://127.0.0.1:1")
    lq = LogQuery(time_range=HOUR, text="error")
    assert not conn.supports(lq) and conn.supports(Q)
    with pytest.raises(BackendError, match=r"metric queries only, not log queries"):
        conn.run(lq)
    with pytest.raises(BackendError, match=r"metric queries only"):
        conn.native(lq)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"url": "not a url"}, "must look like http://host:port"),
        ({"url": "http://x:1", "bearer_token": "t", "username": "u"}, "not both"),
        ({"url": "https://x:1", "ca_file": "/nonexistent/ca.pem"}, "cannot be loaded"),
    ],
)
def test_bad_config_is_a_config_error(kw: dict[str, Any], msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        PrometheusConnector(PrometheusSettings(**kw))


def test_registry_and_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.settings import load_settings
    from connectors.registry import connector_class

    monkeypatch.setenv("OPSA_PROMETHEUS__URL", "http://127.0.0.1:19999")
    monkeypatch.setenv("OPSA_PROMETHEUS__MAX_SERIES", "7")
    monkeypatch.setenv("OPSA_NOW", "2026-11-20T12:00:00Z")
    cls = connector_class("prometheus")
    assert cls is PrometheusConnector
    conn = PrometheusConnector.from_settings(load_settings())
    assert conn.api.http.url == "http://127.0.0.1:19999"
    assert conn.config.max_series == 7
    assert conn._clock() == END


class _SlowSeriesApi:
    """A server whose /api/v1/series answers in 50 ms per metric."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.series_calls = 0

    def call(self, path: str, params: Any = None) -> tuple[Any, list[str]]:
        return {}, []

    def list_call(self, path: str, params: Any = None) -> list[Any]:
        if path == "/api/v1/label/__name__/values":
            return [f"m{i:03d}_total" for i in range(self.n)]
        if path == "/api/v1/series":
            self.series_calls += 1
            time.sleep(0.05)
            return [{"__name__": "x", "job": "api"}]
        return []


def test_catalog_discovery_has_a_time_budget() -> None:
    """One call per metric for its labels: past the budget the rest keep only name and type."""
    from connectors.prometheus.catalog import discover

    api = _SlowSeriesApi(200)
    t0 = time.monotonic()
    cat = discover(api, datetime(2026, 11, 20, tzinfo=UTC), budget_s=0.5)  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 2.0
    assert len(cat.metrics) == 200 and 0 < api.series_calls < 200
    assert cat.metrics[0].labels == {"job": ["api"]} and cat.metrics[-1].labels == {}
    assert all(m.type == "counter" for m in cat.metrics)
