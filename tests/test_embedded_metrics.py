"""The embedded connector's metric engine against an independent Prometheus 2.42 oracle.

The oracle below is written from Prometheus' documented algorithms (promql/functions.go
extrapolatedRate, quantile.go bucketQuantile, engine.go lookback) in plain Python over the
fixture's raw samples; it shares no code with the connector.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import promref
import pyarrow as pa
import pytest

from assistant.errors import IRError, UnknownEntityError
from assistant.ir import Matcher, MetricQuery, TimeRange
from connectors.base import Result
from connectors.embedded import schema
from connectors.embedded.connector import EmbeddedConnector
from connectors.sql.promql import heap_select

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=40)
LE = ("0.1", "0.5", "1", "+Inf")
Points = list[tuple[float, float]]  # (unix seconds, value)


# -- fixture ------------------------------------------------------------------------------


def _times(
    offset: float, every: float, until: datetime = END, drop: tuple[int, ...] = ()
) -> list[float]:
    out, t, i = [], START.timestamp() + offset, 0
    while t <= until.timestamp():
        if i not in drop:
            out.append(round(t, 3))
        t += every
        i += 1
    return out


def _counter(times: list[float], rng: random.Random, resets_at: tuple[int, ...] = (),
             start: float = 0.0) -> Points:
    value, out = start, []
    for i, t in enumerate(times):
        value = (rng.uniform(0, 3) if i in resets_at else value + rng.uniform(0, 20))
        out.append((t, round(value, 3)))
    return out


def build_series() -> dict[tuple[str, tuple[tuple[str, str], ...]], Points]:
    rng = random.Random(11)
    data: dict[tuple[str, tuple[tuple[str, str], ...]], Points] = {}

    def add(metric: str, labels: dict[str, str], points: Points) -> None:
        data[(metric, tuple(sorted(labels.items())))] = points

    # counters: scrape offsets, a dropped scrape, resets, a late start, a slow scrape with a gap
    add("req_total", {"service": "api", "host": "h1", "code": "200"},
        _counter(_times(3, 15, drop=(40,)), rng, resets_at=(90,)))
    add("req_total", {"service": "api", "host": "h1", "code": "500"},
        _counter([t for t in _times(7, 15) if t >= (END - timedelta(minutes=20)).timestamp()],
                 rng, start=40.0))
    add("req_total", {"service": "api", "host": "h2", "code": "200"},
        _counter(_times(1, 30, drop=(70, 71, 72, 73)), rng, resets_at=(30,)))
    add("req_total", {"service": "web", "host": "h3", "code": "200"},
        _counter(_times(11.5, 15), rng, resets_at=(100, 101)))
    # samples exactly on evaluation times and window starts: both window ends are inclusive
    add("req_total", {"service": "web", "host": "h3", "code": "500"},
        _counter(_times(0, 15), rng, resets_at=(50,)))
    # gauges: distinct random values (no ties), one stale series (h3 stops 10 min early)
    for host, offset in (("h1", 0.0), ("h2", 9.0), ("h3", 5.0)):
        until = END - timedelta(minutes=10) if host == "h3" else END
        add("cpu_percent", {"host": host},
            [(t, round(rng.uniform(0, 100), 4)) for t in _times(offset, 15, until)])
    add("node_load1", {"instance": "h4:9100"}, [(t, rng.uniform(0, 4)) for t in _times(0, 15)])
    add("mem_bytes", {"host": "h1"}, [(t, rng.uniform(1e9, 2e9)) for t in _times(0, 60)])
    # histogram: cumulative buckets per (service, host)
    for service, host in (("api", "h1"), ("api", "h2"), ("web", "h3")):
        times = _times(4, 15)
        counts = [0.0] * len(LE)
        per_le: list[Points] = [[] for _ in LE]
        for i, t in enumerate(times):
            if host == "h2" and i == 60:
                counts = [0.0] * len(LE)  # a restart
            for _ in range(rng.randint(0, 12)):
                x = rng.expovariate(1 / (0.6 if host == "h2" else 0.2))
                for j, le in enumerate(LE):
                    if le == "+Inf" or x <= float(le):
                        counts[j] += 1
            for j in range(len(LE)):
                per_le[j].append((t, counts[j]))
        for j, le in enumerate(LE):
            add("lat_seconds_bucket", {"service": service, "host": host, "le": le}, per_le[j])
    return data


SERIES = build_series()


def write_store(path: Path, data: dict[tuple[str, tuple[tuple[str, str], ...]], Points]) -> None:
    con = schema.connect(path)
    try:
        ids = {key: i + 1 for i, key in enumerate(sorted(data))}
        series_tbl = pa.table({
            "series_id": pa.array([ids[k] for k in ids], pa.uint64()),
            "metric": [k[0] for k in ids],
            "labels": pa.array([list(k[1]) for k in ids], pa.map_(pa.string(), pa.string())),
        })
        rows = [(ids[k], t, v) for k, pts in data.items() for t, v in pts]
        samples_tbl = pa.table({
            "series_id": pa.array([r[0] for r in rows], pa.uint64()),
            "ts": pa.array([round(r[1] * 1e6) for r in rows], pa.timestamp("us")),
            "value": pa.array([r[2] for r in rows], pa.float64()),
        })
        con.register("series_tbl", series_tbl)
        con.register("samples_tbl", samples_tbl)
        con.execute("INSERT INTO series SELECT * FROM series_tbl")
        con.execute("INSERT INTO samples SELECT * FROM samples_tbl")
        con.execute(
            "INSERT INTO metric_meta VALUES ('req_total', 'counter', 'Requests.', ''), "
            "('cpu_percent', 'gauge', 'CPU busy.', ''), "
            "('lat_seconds', 'histogram', 'Latency.', 'seconds')"
        )
        con.execute(
            "INSERT INTO logs (ts, service, host, level, level_num, message, line_hash) VALUES "
            "(TIMESTAMP '2026-11-20 11:59:00', 'billing', 'h9', 'warn', 3, 'x', 1)"
        )
        con.execute(
            "INSERT INTO events (id, ts, kind, service, host, title) VALUES "
            "('e1', TIMESTAMP '2026-11-20 11:00:00', 'deploy', 'api', 'h1', 'deploy api')"
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("emb-metrics") / "telemetry.duckdb"
    write_store(path, SERIES)
    return path


@pytest.fixture(scope="module")
def conn(store: Path) -> Iterator[EmbeddedConnector]:
    c = EmbeddedConnector(store)
    yield c
    c.close()


# -- the oracle ----------------------------------------------------------------------------


def ref_function(fn: str, points: Points, t: float, w: float, q: float | None) -> float | None:
    if fn == "raw":
        return promref.instant(points, t)
    if fn in ("rate", "increase", "delta"):
        return promref.extrapolated(points, t, w, counter=fn != "delta", rate=fn == "rate")
    return promref.over_time(points, t, w, fn, q)


def eval_times(q: MetricQuery) -> list[float]:
    if q.mode == "instant":
        return [q.time_range.end.timestamp()]
    step = q.time_range.resolved_step()
    t, out = q.time_range.start.timestamp(), []
    while t <= q.time_range.end.timestamp():
        out.append(t)
        t += step
    return out


def matches(labels: dict[str, str], m: Matcher) -> bool:
    import re

    value = labels.get(m.label, "")
    if m.op == "=":
        return value == m.value
    if m.op == "!=":
        return value != m.value
    hit = re.fullmatch(m.value, value) is not None
    return hit if m.op == "=~" else not hit


def selected(
    metric: str, matchers: tuple[Matcher, ...] = ()
) -> dict[tuple[tuple[str, str], ...], Points]:
    return {
        labels: pts for (m, labels), pts in SERIES.items()
        if m == metric and all(matches(dict(labels), x) for x in matchers)
    }


def ref_per_series(q: MetricQuery, metric: str | None = None) -> dict[str, dict[float, float]]:
    """{label key: {time: value}} of the function per series (no aggregation)."""
    w = q.window()
    out: dict[str, dict[float, float]] = {}
    for labels, pts in selected(metric or q.metric, q.matchers).items():
        vals = {}
        for t in eval_times(q):
            v = ref_function(q.function, pts, t, w, q.quantile)
            if v is not None:
                vals[t] = v
        if vals:
            out[key(dict(labels))] = vals
    return out


def ref_aggregate(per_series: dict[str, dict[float, float]], agg: str, by: tuple[str, ...]
                  ) -> dict[str, dict[float, float]]:
    groups: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for k, vals in per_series.items():
        labels = parse_key(k)
        gk = key({b: labels[b] for b in by if labels.get(b)})
        for t, v in vals.items():
            groups[gk][t].append(v)
    fns: dict[str, Any] = {
        "sum": sum, "avg": lambda x: sum(x) / len(x), "min": min, "max": max,
        "count": lambda x: float(len(x)),
        "p50": lambda x: float(np.quantile(x, 0.5)), "p90": lambda x: float(np.quantile(x, 0.9)),
        "p95": lambda x: float(np.quantile(x, 0.95)), "p99": lambda x: float(np.quantile(x, 0.99)),
    }
    return {g: {t: fns[agg](v) for t, v in d.items()} for g, d in groups.items()}


def key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def parse_key(k: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in k.split(",")) if k else {}


def as_map(r: Result) -> dict[str, dict[float, float]]:
    return {key(s.labels): {t.timestamp(): v for t, v in s.points} for s in r.series}


def assert_same(got: dict[str, dict[float, float]], want: dict[str, dict[float, float]]) -> None:
    assert want, "the reference is empty: the case tests nothing"
    assert sorted(got) == sorted(want)
    for k in want:
        assert sorted(got[k]) == sorted(want[k]), f"{k}: different evaluation times"
        for t, v in want[k].items():
            assert got[k][t] == pytest.approx(v, rel=1e-9, abs=1e-9), f"{k} @ {t}"


def tr(minutes: float, step: int | None = None, back: float = 0) -> TimeRange:
    end = END - timedelta(minutes=back)
    return TimeRange(start=end - timedelta(minutes=minutes), end=end, step_s=step)


# -- functions ------------------------------------------------------------------------------

FUNCTIONS = ["raw", "rate", "increase", "delta", "avg_over_time", "min_over_time",
             "max_over_time", "sum_over_time", "count_over_time", "last_over_time"]


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize(
    ("window_s", "step"), [(60, 15), (300, 60), (900, 120), (45, 60), (120, 60), (600, 600)]
)
def test_functions_match_reference_on_counters(
    conn: EmbeddedConnector, function: str, window_s: int, step: int
) -> None:
    q = MetricQuery(metric="req_total", function=function,
                    window_s=window_s, time_range=tr(30, step))
    assert_same(as_map(conn.run(q)), ref_per_series(q))


@pytest.mark.parametrize("function", [*FUNCTIONS, "quantile_over_time"])
def test_functions_match_reference_on_gauges(conn: EmbeddedConnector, function: str) -> None:
    quantile = 0.8 if function == "quantile_over_time" else None
    q = MetricQuery(metric="cpu_percent", function=function,
                    quantile=quantile, window_s=600, time_range=tr(35, 60))
    assert_same(as_map(conn.run(q)), ref_per_series(q))


def test_default_window_is_max_of_step_and_5m(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="req_total", function="rate", time_range=tr(30, 60))
    assert q.window() == 300
    assert_same(as_map(conn.run(q)), ref_per_series(q))


def test_instant_mode_uses_the_whole_range_as_window(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="req_total", function="increase", mode="instant", time_range=tr(30))
    r = conn.run(q)
    assert all(len(s.points) == 1 and s.points[0][0] == END for s in r.series)
    assert_same(as_map(r), ref_per_series(q))


def test_quantile_over_time_is_linear_interpolation(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="cpu_percent", function="quantile_over_time", quantile=0.9,
                    mode="instant", matchers=(Matcher(label="host", value="h1"),),
                    time_range=tr(10))
    vals = sorted(v for t, v in SERIES[("cpu_percent", (("host", "h1"),))]
                  if END.timestamp() - 600 <= t <= END.timestamp())
    rank = 0.9 * (len(vals) - 1)
    lo = math.floor(rank)
    want = vals[lo] + (vals[lo + 1] - vals[lo]) * (rank - lo)
    assert conn.run(q).series[0].points[0][1] == pytest.approx(want, rel=1e-12)


def test_counter_reset_adds_the_value_before_the_drop(tmp_path: Path) -> None:
    # 4 samples 15 s apart exactly filling the window: no extrapolation; 10 -> 20 -> 5 -> 15
    # increased by (20 - 10) + 5 + (15 - 5) = 25.
    t0 = END - timedelta(seconds=45)
    pts = [(t0.timestamp() + 15 * i, v) for i, v in enumerate((10.0, 20.0, 5.0, 15.0))]
    path = tmp_path / "t.duckdb"
    write_store(path, {("c_total", (("host", "h1"),)): pts})
    c = EmbeddedConnector(path)
    try:
        tr45 = TimeRange(start=t0, end=END)
        inc = c.run(MetricQuery(metric="c_total", function="increase", mode="instant",
                                time_range=tr45))
        delta = c.run(MetricQuery(metric="c_total", function="delta", mode="instant",
                                  time_range=tr45))
        rate = c.run(MetricQuery(metric="c_total", function="rate", mode="instant",
                                 time_range=tr45))
    finally:
        c.close()
    assert inc.series[0].points[0][1] == pytest.approx(25.0)
    assert delta.series[0].points[0][1] == pytest.approx(5.0)  # a gauge's delta: 15 - 10
    assert rate.series[0].points[0][1] == pytest.approx(25.0 / 45)


def test_raw_honours_the_5_minute_lookback(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="cpu_percent", matchers=(Matcher(label="host", value="h3"),),
                    time_range=tr(20, 60))
    r = conn.run(q)
    last = max(t for t, _ in r.series[0].points)
    stale_since = END - timedelta(minutes=10)
    assert stale_since + timedelta(minutes=4) <= last <= stale_since + timedelta(minutes=5)
    assert_same(as_map(r), ref_per_series(q))


def test_lookback_includes_a_sample_exactly_5_minutes_old(tmp_path: Path) -> None:
    # Checked against Prometheus 2.42: at t = last sample + 300 s the sample is returned,
    # at + 300.001 s it is not (2.x lookback and range windows are closed on the left).
    path = tmp_path / "t.duckdb"
    last = END.timestamp() - 300
    write_store(path, {("g", (("host", "a"),)): [(last - 15, 1.0), (last, 2.0)]})
    c = EmbeddedConnector(path)
    try:
        def at(t: datetime) -> list[Any]:
            q = MetricQuery(metric="g", mode="instant",
                            time_range=TimeRange(start=t - timedelta(minutes=1), end=t))
            return [p[1] for s in c.run(q).series for p in s.points]

        assert at(END) == [2.0]
        assert at(END + timedelta(milliseconds=1)) == []
        cnt = c.run(MetricQuery(metric="g", function="count_over_time", window_s=60,
                                mode="instant", time_range=TimeRange(
                                    start=END - timedelta(minutes=5), end=END - timedelta(
                                        seconds=240))))
        assert cnt.series[0].points[0][1] == 1.0  # the window [last, last + 60] holds `last`
    finally:
        c.close()


def test_rate_needs_two_samples(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    write_store(path, {("c_total", (("host", "h1"),)): [(END.timestamp() - 30, 5.0)]})
    c = EmbeddedConnector(path)
    try:
        r = c.run(MetricQuery(metric="c_total", function="rate", mode="instant",
                              time_range=tr(5)))
    finally:
        c.close()
    assert r.series == []


# -- aggregations -----------------------------------------------------------------------


@pytest.mark.parametrize("agg", ["sum", "avg", "min", "max", "count", "p50", "p90", "p95", "p99"])
@pytest.mark.parametrize("by", [(), ("host",), ("service", "code")])
def test_aggregations_by_labels(conn: EmbeddedConnector, agg: str, by: tuple[str, ...]) -> None:
    q = MetricQuery(metric="req_total", function="rate", window_s=120,
                    aggregation=agg, by=by, time_range=tr(30, 60))
    r = conn.run(q)
    assert all(set(s.labels) <= set(by) for s in r.series)
    base = q.model_copy(update={"aggregation": "none", "by": ()})
    assert_same(as_map(r), ref_aggregate(ref_per_series(base), agg, by))


def test_raw_sum_by_label(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="cpu_percent", aggregation="sum", time_range=tr(30, 60))
    base = q.model_copy(update={"aggregation": "none"})
    assert_same(as_map(conn.run(q)), ref_aggregate(ref_per_series(base), "sum", ()))


@pytest.mark.parametrize(("agg", "k"), [("topk", 1), ("topk", 2), ("bottomk", 2)])
@pytest.mark.parametrize("mode", ["range", "instant"])
def test_topk_bottomk_per_step(conn: EmbeddedConnector, agg: str, k: int, mode: str) -> None:
    q = MetricQuery(metric="cpu_percent", aggregation=agg, k=k,
                    mode=mode, time_range=tr(30, 60, back=2))
    per = ref_per_series(q.model_copy(update={"aggregation": "none", "k": None}))
    want: dict[str, dict[float, float]] = defaultdict(dict)
    for t in eval_times(q):
        at = sorted(((v[t], s) for s, v in per.items() if t in v), reverse=agg == "topk")
        for v, s in at[:k]:
            want[s][t] = v
    r = conn.run(q)
    assert_same(as_map(r), dict(want))
    if mode == "range":
        assert len(r.series) > k, "range topk returns every series that was top at some step"


def test_topk_ties_resolve_as_prometheus_does() -> None:
    # Recorded from Prometheus 2.42: topk(2, rate(http_requests_total{code=~"5.."}[300s]))
    # at 11:40 on the demo fleet, input in label order; gw-01 and gw-02 tie at 0.3267 and
    # Prometheus keeps gw-02 (index 3), not the first one.
    values = [0.02, 0.013333, 0.326667, 0.326667, 0.01, 0.006667, 0.066667, 0.503333, 0.02,
              0.013333, 0.01, 0.01, 0.003333, 0.033333, 0.033333, 0.003333, 0.0, 0.023333,
              0.03, 0.003333, 0.003333, 0.006667]
    assert sorted(heap_select(list(enumerate(values)), 2, top=True)) == [3, 7]
    # With only the gateway and search series the same tie resolves the same way.
    subset = [(2, 0.326667), (3, 0.326667), (6, 0.066667), (7, 0.503333), (13, 0.033333)]
    assert sorted(heap_select(subset, 2, top=True)) == [3, 7]
    assert sorted(heap_select([(0, 1.0), (1, 1.0), (2, 0.5)], 1, top=False)) == [2]


# -- histograms --------------------------------------------------------------------------


def ref_histogram(
    q: MetricQuery, group_by: tuple[str, ...] | None
) -> dict[str, dict[float, float]]:
    """histogram_quantile(q, sum by (le, group_by) (rate(x_bucket[w]))); per series if None."""
    rq = q.model_copy(update={"function": "rate", "quantile": None, "aggregation": "none",
                              "by": (), "metric": "lat_seconds_bucket"})
    rates = ref_per_series(rq)
    buckets: dict[str, dict[float, dict[float, float]]] = defaultdict(lambda: defaultdict(dict))
    for k, vals in rates.items():
        labels = parse_key(k)
        le = float(labels.pop("le"))
        gk = key(labels if group_by is None else {b: labels[b] for b in group_by})
        for t, v in vals.items():
            buckets[gk][t][le] = buckets[gk][t].get(le, 0.0) + v
    assert q.quantile is not None
    out: dict[str, dict[float, float]] = {}
    for gk, per_t in buckets.items():
        pts = {t: promref.histogram_quantile(q.quantile, b) for t, b in per_t.items()}
        pts = {t: v for t, v in pts.items() if not math.isnan(v)}
        if pts:
            out[gk] = pts
    return out


@pytest.mark.parametrize("by", [(), ("service",), ("host",)])
@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.99])
def test_histogram_quantile_sum_by(conn: EmbeddedConnector, by: tuple[str, ...],
                                   quantile: float) -> None:
    q = MetricQuery(metric="lat_seconds", function="histogram_quantile", quantile=quantile,
                    aggregation="sum", by=by, time_range=tr(30, 60))
    r = conn.run(q)
    assert r.unit == "seconds" and all(s.metric == "lat_seconds" for s in r.series)
    assert_same(as_map(r), ref_histogram(q, by))


def test_histogram_quantile_per_series_by_bucket_name(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="lat_seconds_bucket", function="histogram_quantile", quantile=0.75,
                    window_s=600, time_range=tr(30, 60))
    r = conn.run(q)
    assert {s.labels["host"] for s in r.series} == {"h1", "h2", "h3"}
    assert all("le" not in s.labels for s in r.series)
    assert_same(as_map(r), ref_histogram(q, None))


def test_histogram_quantile_then_max_by_service(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="lat_seconds", function="histogram_quantile", quantile=0.9,
                    aggregation="max", by=("service",), time_range=tr(30, 60))
    per_series = ref_histogram(q, None)
    assert_same(as_map(conn.run(q)), ref_aggregate(per_series, "max", ("service",)))


def test_histogram_quantile_of_a_non_histogram_is_refused(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="req_total", function="histogram_quantile", quantile=0.5,
                    time_range=tr(30))
    with pytest.raises(UnknownEntityError, match="histogram"):
        conn.run(q)


# -- matchers and validation --------------------------------------------------------------


@pytest.mark.parametrize("matchers", [
    (Matcher(label="host", value="h1"),),
    (Matcher(label="code", op="!=", value="200"),),
    (Matcher(label="host", op="=~", value="h1|h3"),),
    (Matcher(label="host", op="=~", value="h"),),  # anchored: matches no host
    (Matcher(label="host", op="!~", value="h[12]"), Matcher(label="service", value="web")),
    (Matcher(label="zone", op="!=", value="eu"),),  # missing label counts as ""
    (Matcher(label="zone", value=""),),
])
def test_matchers_follow_promql(conn: EmbeddedConnector, matchers: tuple[Matcher, ...]) -> None:
    q = MetricQuery(metric="req_total", function="increase", matchers=matchers,
                    mode="instant", time_range=tr(20))
    want = ref_per_series(q)
    got = as_map(conn.run(q))
    if matchers[0].value == "h":
        assert got == {} and want == {}
    else:
        assert_same(got, want)


def test_unknown_metric_suggests_the_close_name(conn: EmbeddedConnector) -> None:
    q = MetricQuery(metric="req_totl", time_range=tr(10))
    with pytest.raises(UnknownEntityError) as err:
        conn.run(q)
    assert err.value.suggestions[0] == "req_total"
    assert "req_total" in str(err.value)


def test_unknown_host_service_and_label_are_refused(conn: EmbeddedConnector) -> None:
    def run(*ms: Matcher, by: tuple[str, ...] = ()) -> None:
        conn.run(MetricQuery(metric="req_total", matchers=ms, by=by,
                             aggregation="sum" if by else "none", time_range=tr(10)))

    with pytest.raises(UnknownEntityError, match="host") as err:
        run(Matcher(label="host", value="h11"))
    assert "h1" in err.value.suggestions
    with pytest.raises(UnknownEntityError, match="service"):
        run(Matcher(label="service", value="apii"))
    with pytest.raises(UnknownEntityError, match="label"):
        run(Matcher(label="region", value="eu"))
    with pytest.raises(UnknownEntityError, match="label"):
        run(by=("region",))
    # an instance label with a port names a known host
    r = conn.run(MetricQuery(metric="node_load1", time_range=tr(10),
                             matchers=(Matcher(label="instance", value="h4:9100"),)))
    assert r.series and r.series[0].labels == {"instance": "h4:9100"}


def test_quotes_and_line_breaks_in_values_stay_values(conn: EmbeddedConnector) -> None:
    evil = "x'\n) SELECT 1; --"
    q = MetricQuery(metric="cpu_percent", matchers=(Matcher(label="host", op="!=", value=evil),),
                    mode="instant", time_range=tr(10))
    assert {s.labels["host"] for s in conn.run(q).series} == {"h1", "h2"}  # h3 is stale
    regex = "x'\n(SELECT 1); --"
    q2 = q.model_copy(update={"matchers": (Matcher(label="host", op="=~", value=regex),)})
    assert conn.run(q2).series == []


def test_bad_regex_becomes_a_backend_error(conn: EmbeddedConnector) -> None:
    from assistant.errors import BackendError

    q = MetricQuery(metric="req_total", matchers=(Matcher(label="host", op="=~", value="(h"),),
                    time_range=tr(10))
    with pytest.raises(BackendError, match="DuckDB"):
        conn.run(q)


def test_doc_queries_are_not_for_connectors(conn: EmbeddedConnector) -> None:
    from assistant.ir import DocQuery

    with pytest.raises(IRError, match="retrieval"):
        conn.run(DocQuery(text="disk full"))


# -- result shape, units, native SQL, catalog ------------------------------------------------


def test_units_warnings_and_result_shape(conn: EmbeddedConnector) -> None:
    cpu = conn.run(MetricQuery(metric="cpu_percent", time_range=tr(10)))
    assert cpu.unit == "percent" and cpu.connector == "embedded" and cpu.elapsed_ms > 0
    assert all(s.metric == "cpu_percent" for s in cpu.series)
    assert cpu.series[0].labels == {"host": "h1"}
    mem = conn.run(MetricQuery(metric="mem_bytes", function="rate", time_range=tr(10)))
    assert mem.unit == "bytes/s"
    count = conn.run(MetricQuery(metric="mem_bytes", function="count_over_time", time_range=tr(10)))
    assert count.unit == ""
    gauge_rate = conn.run(MetricQuery(metric="cpu_percent", function="rate", time_range=tr(10)))
    assert gauge_rate.warnings and "gauge" in gauge_rate.warnings[0]


def test_native_sql_is_what_ran_and_is_runnable(conn: EmbeddedConnector, store: Path) -> None:
    q = MetricQuery(metric="req_total", function="rate", aggregation="sum", by=("host",),
                    time_range=tr(30, 60))
    r = conn.run(q)
    assert r.native == conn.native(q)
    assert r.native.lstrip().startswith("WITH") and "extrapolat" in r.native
    ro = duckdb.connect(str(store), read_only=True)
    try:
        rows = ro.execute(r.native).fetchall()
    finally:
        ro.close()
    assert len(rows) == sum(len(s.points) for s in r.series)


def test_catalog_lists_metrics_services_hosts(conn: EmbeddedConnector) -> None:
    cat = conn.catalog()
    by_name = {m.name: m for m in cat.metrics}
    assert by_name["req_total"].type == "counter" and by_name["req_total"].help == "Requests."
    assert by_name["cpu_percent"].type == "gauge" and by_name["cpu_percent"].unit == "percent"
    assert by_name["lat_seconds_bucket"].type == "histogram"
    assert by_name["lat_seconds_bucket"].unit == "seconds"
    assert by_name["mem_bytes"].type == "unknown" and by_name["mem_bytes"].unit == "bytes"
    assert by_name["req_total"].labels["code"] == ["200", "500"]
    assert cat.services == ["api", "billing", "web"]  # labels + logs
    assert cat.hosts == ["h1", "h2", "h3", "h4", "h9"]  # instance port stripped, logs host
    assert cat.event_kinds == ["deploy"] and cat.log_levels == ["warn"]
    assert conn.catalog() is cat  # cached


# -- raw samples (function "samples") -------------------------------------------------------


@pytest.mark.parametrize("mode", ["range", "instant"])
def test_samples_are_every_raw_sample_of_the_window_at_its_own_time(
    conn: EmbeddedConnector, mode: str
) -> None:
    q = MetricQuery(metric="cpu_percent", function="samples", mode=mode, time_range=tr(35))
    lo, hi = q.time_range.start.timestamp(), q.time_range.end.timestamp()
    want = {
        key(dict(labels)): {t: v for t, v in pts if lo <= t <= hi}
        for labels, pts in selected("cpu_percent").items()
    }
    r = conn.run(q)
    assert not r.truncated
    assert_same(as_map(r), want)
    assert "LIMIT" in r.native and "raw samples" in r.native


def test_samples_past_the_cap_are_cut_and_said(
    conn: EmbeddedConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.sql.connector as sql_connector
    import connectors.sql.metrics as sql_metrics

    monkeypatch.setattr(sql_metrics, "MAX_SAMPLES", 5)
    monkeypatch.setattr(sql_connector, "MAX_SAMPLES", 5)
    q = MetricQuery(metric="cpu_percent", function="samples", time_range=tr(35))
    r = conn.run(q)
    assert r.truncated and sum(len(s.points) for s in r.series) == 5
    assert any("sample cap" in w for w in r.warnings)


# -- NaN, precision and the newer functions (found by tests/promqltest_runner.py) ----------


def _one_store(tmp_path: Path, data: dict[tuple[str, tuple[tuple[str, str], ...]], Points]
               ) -> EmbeddedConnector:
    path = tmp_path / "t.duckdb"
    write_store(path, data)
    return EmbeddedConnector(path)


def _values(c: EmbeddedConnector, **fields: Any) -> dict[str, list[float]]:
    fields.setdefault("mode", "instant")
    fields.setdefault("time_range", tr(5))
    r = c.run(MetricQuery(**fields))
    return {key(s.labels): [v for _, v in s.points] for s in r.series}


def _gauges(values: dict[str, list[float]], every: float = 15) -> dict[
        tuple[str, tuple[tuple[str, str], ...]], Points]:
    """One gauge ``g`` per host, its samples ending at END."""
    end = END.timestamp()
    return {("g", (("host", h),)): [(end - every * (len(vs) - 1 - i), v)
                                    for i, v in enumerate(vs)]
            for h, vs in values.items()}


def test_min_and_max_ignore_nan_unless_all_are_nan(tmp_path: Path) -> None:
    c = _one_store(tmp_path, _gauges({"a": [1.0, math.nan, 2.0], "b": [math.nan, math.nan],
                                      "c": [5.0]}))
    try:
        assert _values(c, metric="g", function="max_over_time", window_s=60) == {
            "host=a": [2.0], "host=b": [pytest.approx(math.nan, nan_ok=True)], "host=c": [5.0]}
        assert _values(c, metric="g", function="min_over_time", window_s=60)["host=a"] == [1.0]
        # across series: b's NaN does not hide a's and c's values
        assert _values(c, metric="g", aggregation="max") == {"": [5.0]}
        assert _values(c, metric="g", aggregation="min") == {"": [2.0]}
    finally:
        c.close()


def test_a_nan_sample_is_no_counter_reset(tmp_path: Path) -> None:
    # 10, NaN, 30 over a window they fill: a reset would add the value before the drop.
    t0 = END.timestamp() - 30
    c = _one_store(tmp_path, {("c_total", (("host", "h1"),)): [
        (t0, 10.0), (t0 + 15, math.nan), (t0 + 30, 30.0)]})
    try:
        got = _values(c, metric="c_total", function="increase", mode="instant",
                      time_range=TimeRange(start=END - timedelta(seconds=30), end=END))
    finally:
        c.close()
    assert got == {"host=h1": [pytest.approx(20.0)]}


def test_sum_is_compensated_and_avg_does_not_overflow(tmp_path: Path) -> None:
    c = _one_store(tmp_path, _gauges({"a": [2.0, 8.0, 1e100, -1e100], "b": [1.7e308] * 3,
                                      "d": [1.5e308]}))
    try:
        sums = _values(c, metric="g", function="sum_over_time", window_s=60)
        avgs = _values(c, metric="g", function="avg_over_time", window_s=60)
        assert sums["host=a"] == [10.0]  # plain addition gives 0
        assert avgs["host=a"] == [2.5]
        assert sums["host=b"] == [math.inf]
        assert avgs["host=b"] == [pytest.approx(1.7e308)]  # plain sum / count gives +Inf
        big = _values(c, metric="g", aggregation="avg", matchers=(
            Matcher(label="host", op="=~", value="b|d"),))
        assert big == {"": [pytest.approx(1.6e308)]}
    finally:
        c.close()


def test_stddev_and_stdvar_over_time_and_across_series(tmp_path: Path) -> None:
    import statistics

    a, b = [1.0, 4.0, 6.0, 9.0], [2.0, 2.0, 3.0, 7.0]
    c = _one_store(tmp_path, _gauges({"a": a, "b": b, "n": [1.0, math.nan]}))
    try:
        sd = _values(c, metric="g", function="stddev_over_time", window_s=60)
        var = _values(c, metric="g", function="stdvar_over_time", window_s=60)
        assert sd["host=a"] == [pytest.approx(statistics.pstdev(a))]
        assert var["host=b"] == [pytest.approx(statistics.pvariance(b))]
        assert math.isnan(sd["host=n"][0])  # a NaN sample makes it NaN, as PromQL
        last = [a[-1], b[-1]]
        two = (Matcher(label="host", op="=~", value="a|b"),)
        assert _values(c, metric="g", matchers=two, aggregation="stddev") == {
            "": [pytest.approx(statistics.pstdev(last))]}
        assert _values(c, metric="g", matchers=two, aggregation="stdvar", by=("host",)) == {
            "host=a": [0.0], "host=b": [0.0]}
    finally:
        c.close()


def test_timestamp_present_and_absent_over_time(tmp_path: Path) -> None:
    c = _one_store(tmp_path, _gauges({"a": [1.0, 2.0], "b": [3.0]}, every=60))
    try:
        assert _values(c, metric="g", function="timestamp") == {
            "host=a": [END.timestamp()], "host=b": [END.timestamp()]}
        q = {"metric": "g", "time_range": tr(4, 60), "mode": "range", "window_s": 60}
        assert _values(c, function="present_over_time", **q) == {
            "host=a": [1.0, 1.0], "host=b": [1.0]}
        # no sample before END - 60 s: absent at the first three steps, labelled by the '='
        absent = _values(c, function="absent_over_time",
                         matchers=(Matcher(label="host", value="a"),), **q)
        assert absent == {"host=a": [1.0, 1.0, 1.0]}
        gone = _values(c, metric="g", function="absent_over_time", window_s=60,
                       matchers=(Matcher(label="host", op="=~", value="z.*"),))
        assert gone == {"": [1.0]}
    finally:
        c.close()
    with pytest.raises(ValueError, match="absent_over_time"):
        MetricQuery(metric="g", function="absent_over_time", aggregation="sum", time_range=tr(5))


def test_offset_reads_earlier_data_and_reports_at_the_evaluation_time(
    conn: EmbeddedConnector
) -> None:
    q = MetricQuery(metric="req_total", function="increase", window_s=300,
                    time_range=tr(10, 60), offset_s=600)
    shifted = MetricQuery(metric="req_total", function="increase", window_s=300,
                          time_range=tr(10, 60, back=10))
    got = {k: {t - 600: v for t, v in pts.items()} for k, pts in as_map(conn.run(q)).items()}
    assert_same(got, ref_per_series(shifted))
    assert "offset 600s" in conn.native(q)


def test_prometheus3_windows_leave_out_a_sample_on_the_window_start(tmp_path: Path) -> None:
    from connectors.sql.dialect import DuckDB
    from connectors.sql.metrics import build_metric_sql

    # samples at END - 60 s and END: a 60 s window at END holds both in 2.x, one in 3.x
    path = tmp_path / "t.duckdb"
    write_store(path, _gauges({"a": [1.0, 2.0]}, every=60))
    q = MetricQuery(metric="g", function="count_over_time", window_s=60, mode="instant",
                    time_range=tr(1))
    con = duckdb.connect(str(path), read_only=True)
    try:
        def count(semantics: Any) -> float:
            plan = build_metric_sql(q, "g", "g", DuckDB(), semantics=semantics)
            return float(con.execute(plan.sql).fetchall()[0][-1])

        assert count("prometheus2") == 2.0
        assert count("prometheus3") == 1.0
        with pytest.raises(ValueError, match="semantics"):
            count("prometheus4")
    finally:
        con.close()


# -- binary operations ----------------------------------------------------------------------


def test_ratio_of_two_rates_matches_the_reference(conn: EmbeddedConnector) -> None:
    from assistant.ir import Binary, MetricOperand

    errors = (Matcher(label="code", value="500"),)
    ok = (Matcher(label="code", value="200"),)
    q = MetricQuery(metric="req_total", matchers=errors, function="rate", window_s=300,
                    time_range=tr(30, 60), binary=(
                        Binary(op="/", right=MetricOperand(
                            metric="req_total", matchers=ok, function="rate", window_s=300),
                            ignoring=("code",)),
                        Binary(op="*", right=100)))
    num = ref_per_series(q.model_copy(update={"binary": ()}))
    den = ref_per_series(q.model_copy(update={"binary": (), "matchers": ok}))
    by_rest = {key({k: v for k, v in parse_key(k2).items() if k != "code"}): vals
               for k2, vals in den.items()}
    want: dict[str, dict[float, float]] = {}
    for k, vals in num.items():
        rest = key({a: b for a, b in parse_key(k).items() if a != "code"})
        if rest in by_rest:
            d = by_rest[rest]
            want[rest] = {t: v / d[t] * 100 for t, v in vals.items() if t in d}
    r = conn.run(q)
    assert_same(as_map(r), {k: v for k, v in want.items() if v})
    assert r.unit == "" and r.native == conn.native(q)
    assert r.native.count("WITH") >= 2 and "operations: /, *" in r.native


def test_comparisons_filter_and_scalars_go_either_side(conn: EmbeddedConnector) -> None:
    from assistant.ir import Binary

    base = MetricQuery(metric="cpu_percent", time_range=tr(20, 60))
    raw = as_map(conn.run(base))
    above = conn.run(base.model_copy(update={"binary": (Binary(op=">", right=50),)}))
    want = {k: {t: v for t, v in pts.items() if v > 50} for k, pts in raw.items()}
    assert_same(as_map(above), {k: v for k, v in want.items() if v})
    assert above.unit == "percent" and all(s.metric == "cpu_percent" for s in above.series)
    idle = conn.run(base.model_copy(update={"binary": (
        Binary(op="-", right=100, scalar_left=True),)}))
    assert_same(as_map(idle), {k: {t: 100 - v for t, v in pts.items()} for k, pts in raw.items()})


def test_ambiguous_matching_is_a_clear_backend_error(conn: EmbeddedConnector) -> None:
    from assistant.errors import BackendError
    from assistant.ir import Binary, MetricOperand

    q = MetricQuery(metric="req_total", function="rate", time_range=tr(10, 60),
                    binary=(Binary(op="/", right=MetricOperand(
                        metric="req_total", function="rate"), on=("service",)),))
    with pytest.raises(BackendError, match="many-to-many matching not allowed"):
        conn.run(q)
    bad = MetricQuery(metric="req_total", time_range=tr(10, 60), binary=(
        Binary(op="+", right=MetricOperand(metric="req_totl")),))
    with pytest.raises(UnknownEntityError, match="req_total"):
        conn.run(bad)


def test_window_semantics_follow_the_promql_semantics_setting(tmp_path: Path) -> None:
    """ `promql_semantics`: "prometheus2" (default) reads a sample at exactly t - w into
    the window [t - w, t]; "prometheus3" reads (t - w, t] and leaves it out."""
    from assistant.settings import Settings

    t0 = datetime(2026, 11, 20, 11, 0, tzinfo=UTC).timestamp()
    data: dict[tuple[str, tuple[tuple[str, str], ...]], Points] = {
        ("cpu_percent", (("host", "h1"),)): [(t0, 90.0), (t0 + 30, 10.0), (t0 + 60, 20.0)]}
    write_store(tmp_path / "telemetry.duckdb", data)
    end = datetime.fromtimestamp(t0 + 60, UTC)
    q = MetricQuery(metric="cpu_percent", function="max_over_time", window_s=60,
                    mode="instant", time_range=TimeRange(start=end - timedelta(seconds=1),
                                                         end=end))
    got = {}
    for semantics in ("prometheus2", "prometheus3"):
        s = Settings(data_dir=tmp_path, promql_semantics=semantics)
        conn = EmbeddedConnector.from_settings(s)
        try:
            got[semantics] = [v for _, v in conn.run(q).series[0].points]
        finally:
            conn.close()
    assert got == {"prometheus2": [90.0], "prometheus3": [20.0]}
    assert Settings().promql_semantics == "prometheus2"
