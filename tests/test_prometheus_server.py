"""The connector against real Prometheus 2.42 and VictoriaMetrics servers on loopback.

Expected values come from `promref` (Prometheus semantics in plain Python) over the same
fixture samples, so a wrong window, step, time parameter or compiled expression fails here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import promref
import pytest
from promdata import END, HOSTS, LE, STALE_AFTER, STALE_HOST, dataset
from servers import SeriesData, ServerPool

from assistant.errors import BackendError, UnknownEntityError
from assistant.ir import Matcher, MetricQuery, TimeRange
from assistant.settings import PrometheusSettings
from connectors.prometheus import PrometheusConnector

pytestmark = pytest.mark.server

DATA = dataset()
T_END = END.timestamp()


def series_of(metric: str, **labels: str) -> list[SeriesData]:
    return [s for s in DATA if s[0] == metric and all(s[2].get(k) == v for k, v in labels.items())]


def key(labels: dict[str, str], drop: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in labels.items() if k not in drop))


@pytest.fixture(scope="module")
def prom(server_pool: ServerPool) -> Iterator[PrometheusConnector]:
    url = server_pool.prometheus("small", dataset)
    conn = PrometheusConnector(PrometheusSettings(url=url), clock=lambda: END)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def vm(server_pool: ServerPool) -> Iterator[PrometheusConnector]:
    url = server_pool.victoria("small", dataset)
    conn = PrometheusConnector(PrometheusSettings(url=url), clock=lambda: END)
    yield conn
    conn.close()


def run_instant(conn: PrometheusConnector, **kw: Any) -> dict[tuple[tuple[str, str], ...], float]:
    kw.setdefault("time_range", TimeRange(start=END - timedelta(hours=1), end=END))
    res = conn.run(MetricQuery(mode="instant", **kw))
    return {key(s.labels): s.points[-1][1] for s in res.series}


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def test_raw_range_follows_lookback_and_staleness(prom: PrometheusConnector) -> None:
    tr = TimeRange(start=END - timedelta(minutes=40), end=END, step_s=60)
    res = prom.run(MetricQuery(metric="cpu_percent", time_range=tr))
    got = {s.labels["host"]: {p[0].timestamp(): p[1] for p in s.points} for s in res.series}
    for _metric, _t, labels, points in series_of("cpu_percent"):
        expected = {
            t.timestamp(): v
            for t in tr.steps()
            if (v := promref.instant(points, t.timestamp())) is not None
        }
        assert got[labels["host"]] == expected
    # the stale host disappears 5 minutes after its last sample
    last_c = max(got[STALE_HOST])
    assert STALE_AFTER.timestamp() <= last_c <= STALE_AFTER.timestamp() + 300


@pytest.mark.parametrize("w", [60, 300, 3600])
@pytest.mark.parametrize("fn", ["rate", "increase"])
def test_counter_functions_match_reference(prom: PrometheusConnector, fn: str, w: int) -> None:
    got = run_instant(prom, metric="req_total", function=fn, window_s=w)
    expected = {
        key(labels): v
        for _m, _t, labels, pts in series_of("req_total")
        if (v := promref.extrapolated(pts, T_END, w, counter=True, rate=fn == "rate")) is not None
    }
    # the stale host has samples only in the long window
    assert got.keys() == expected.keys() and len(got) == (6 if w > 1200 else 4)
    for k, v in expected.items():
        assert close(got[k], v), (k, got[k], v)


@pytest.mark.parametrize(
    "fn",
    [
        "delta",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "last_over_time",
        "quantile_over_time",
    ],
)
def test_gauge_functions_match_reference(prom: PrometheusConnector, fn: str) -> None:
    q = 0.9 if fn == "quantile_over_time" else None
    t = T_END - 1500  # the stale host still has samples here
    tr = TimeRange(start=END - timedelta(minutes=40), end=END - timedelta(seconds=1500))
    got = run_instant(
        prom, metric="cpu_percent", function=fn, quantile=q, window_s=600, time_range=tr
    )
    for _m, _t, labels, pts in series_of("cpu_percent"):
        if fn == "delta":
            v = promref.extrapolated(pts, t, 600, counter=False, rate=False)
        else:
            v = promref.over_time(pts, t, 600, fn, q)
        assert v is not None and close(got[key(labels)], v), (labels, got[key(labels)], v)


def test_sum_by_code_of_rates(prom: PrometheusConnector) -> None:
    got = run_instant(
        prom, metric="req_total", function="rate", window_s=600, aggregation="sum", by=("code",)
    )
    expected: dict[str, float] = defaultdict(float)
    for _m, _t, labels, pts in series_of("req_total"):
        v = promref.extrapolated(pts, T_END, 600, counter=True, rate=True)
        if v is not None:
            expected[labels["code"]] += v
    assert {k: round(v, 9) for k, v in got.items()} == {
        (("code", c),): round(v, 9) for c, v in expected.items()
    }


def test_histogram_quantile_over_summed_bucket_rates(prom: PrometheusConnector) -> None:
    got = run_instant(
        prom,
        metric="latency_seconds",
        function="histogram_quantile",
        quantile=0.9,
        window_s=900,
        aggregation="sum",
        by=("service",),
    )
    buckets: dict[float, float] = defaultdict(float)
    for le in LE:
        for _m, _t, _labels, pts in series_of("latency_seconds_bucket", le=le):
            r = promref.extrapolated(pts, T_END, 900, counter=True, rate=True)
            if r is not None:
                buckets[float(le)] += r
    expected = promref.histogram_quantile(0.9, dict(buckets))
    assert 0.05 < expected < 1
    assert close(got[(("service", "api"),)], expected)


def test_topk_and_p50_across_hosts(prom: PrometheusConnector) -> None:
    tr = TimeRange(start=END - timedelta(minutes=30), end=END - timedelta(minutes=25))
    t = tr.end.timestamp()
    current = {
        labels["host"]: v
        for _m, _t, labels, pts in series_of("cpu_percent")
        if (v := promref.instant(pts, t)) is not None
    }
    res = prom.run(
        MetricQuery(metric="cpu_percent", aggregation="topk", k=2, mode="instant", time_range=tr)
    )
    top = sorted(current, key=lambda h: -current[h])[:2]
    assert [s.labels["host"] for s in res.series] == sorted(top)  # series come in label order
    got = run_instant(prom, metric="cpu_percent", aggregation="p50", time_range=tr)
    assert close(got[()], promref.quantile(0.5, list(current.values())))


def test_catalog_without_metadata(prom: PrometheusConnector) -> None:
    cat = prom.catalog()
    types = {m.name: m.type for m in cat.metrics}
    assert types == {
        "cpu_percent": "gauge",
        "latency_seconds_bucket": "histogram",
        "latency_seconds_count": "histogram",
        "latency_seconds_sum": "histogram",
        "req_total": "counter",
    }
    req = cat.metric("req_total")
    assert req is not None and req.labels == {
        "code": ["200", "500"],
        "host": list(HOSTS),
        "service": ["api"],
    }
    latency = cat.metric("latency_seconds_bucket")
    assert latency is not None and latency.unit == "seconds"
    assert cat.hosts == list(HOSTS) and cat.services == ["api"]


def test_real_server_truncation_is_marked(prom: PrometheusConnector) -> None:
    small = PrometheusConnector(prom.config.model_copy(update={"max_series": 2}))
    res = small.run(
        MetricQuery(
            metric="req_total", time_range=TimeRange(start=END - timedelta(minutes=10), end=END)
        )
    )
    assert len(res.series) == 2 and res.total == 4 and res.truncated  # stale host gone
    assert "2 of 4 series" in res.warnings[0]


@pytest.mark.parametrize("engine", ["prom", "vm"])
def test_unknown_names_and_bad_regex(engine: str, request: pytest.FixtureRequest) -> None:
    conn: PrometheusConnector = request.getfixturevalue(engine)
    tr = TimeRange(start=END - timedelta(hours=1), end=END)
    with pytest.raises(UnknownEntityError, match=r"did you mean 'req_total'"):
        conn.run(MetricQuery(metric="req_totl", time_range=tr))
    with pytest.raises(UnknownEntityError, match=r"'b-2'.*'b-02'"):
        conn.run(
            MetricQuery(
                metric="cpu_percent", matchers=(Matcher(label="host", value="b-2"),), time_range=tr
            )
        )
    with pytest.raises(BackendError, match=r"rejected the query.*(error parsing regexp|missing)"):
        conn.run(
            MetricQuery(
                metric="cpu_percent",
                matchers=(Matcher(label="host", op="=~", value="(unclosed"),),
                time_range=tr,
            )
        )


def test_victoria_serves_the_same_raw_values(vm: PrometheusConnector) -> None:
    tr = TimeRange(start=END - timedelta(hours=1), end=END - timedelta(minutes=30))
    got = run_instant(vm, metric="cpu_percent", time_range=tr)
    t = tr.end.timestamp()
    for _m, _t, labels, pts in series_of("cpu_percent"):
        assert got[key(labels)] == promref.instant(pts, t)
    cat = vm.catalog()
    assert cat.hosts == list(HOSTS)
    assert {m.name for m in cat.metrics} >= {"req_total", "latency_seconds_bucket"}
