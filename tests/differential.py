"""The differential harness: one IR query set, three engines, one comparison rule.

Used by `tests/test_differential.py` (assertions) and `benchmarks/bench_backends.py`
(agreement table and latencies). Two datasets:

* ``fixture``: `promdata.dataset()` (2 h, resets, a stale series, scrape offsets), written
  straight into a DuckDB store with `connectors.embedded.schema`;
* ``demo``: the demo fleet (`seed_demo`), cut to its last `DEMO_HOURS` hours so CI stays
  fast, then exported with `assistant.demo.export` for Prometheus and VictoriaMetrics.

Tolerances (documented in the test module): the embedded engine must match Prometheus to
`EXACT` (same series, same timestamps, values within 1e-9 relative); VictoriaMetrics is
compared by the rule of each query's `vm_class` (`VM_RULES`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import promdata
import pyarrow as pa
from servers import SeriesData

from assistant.ir import (
    Aggregate,
    Apply,
    Binary,
    LabelJoin,
    LabelReplace,
    Matcher,
    MetricQuery,
    TimeRange,
)
from connectors.base import Connector, Result
from connectors.embedded import schema

DEMO_END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DEMO_HOURS = 3

VmClass = Literal["exact", "window", "extrapolated", "unmatched"]


@dataclass(frozen=True)
class Tolerance:
    rel: float
    abs: float
    note: str


EXACT = Tolerance(1e-9, 1e-9, "same semantics: float summation order only")
VM_RULES: dict[VmClass, str] = {
    "exact": "values within 1e-9 on the points both return; VictoriaMetrics drops a series "
    "about two scrape intervals after its last sample instead of keeping it for Prometheus' "
    "5 minute lookback, so it may return fewer points at a staleness edge",
    "window": "VictoriaMetrics' windows are (t-w, t], Prometheus' [t-w, t]: compared with "
    "Prometheus at window w-1s (no sample lies in a window's first second), within 1e-9",
    "extrapolated": "VictoriaMetrics does not extrapolate rate/increase and takes the sample "
    "before the window as the base: same series, mean |value| within 10 %",
    "unmatched": "semantics differ too much to bound (delta of a noisy gauge, bucket "
    "interpolation over non-extrapolated rates, aggregates across a staleness edge): "
    "VictoriaMetrics must answer; values are shown, not compared",
}
MEAN_REL = 0.10


@dataclass(frozen=True)
class Case:
    """One IR query of the differential suite."""

    id: str
    query: MetricQuery
    vm_class: VmClass = "exact"
    note: str = ""


@dataclass
class Diff:
    """How result `a` differs from `b`: points only in one of them, and the largest gap."""

    only_a: list[tuple[str, datetime]] = field(default_factory=list)
    only_b: list[tuple[str, datetime]] = field(default_factory=list)
    points: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst: str = ""

    def within(self, tol: Tolerance) -> bool:
        return self.max_abs <= tol.abs or self.max_rel <= tol.rel

    def summary(self) -> str:
        parts = [f"max rel {self.max_rel:.2e} (abs {self.max_abs:.3g}) over {self.points} points"]
        for name, only in (("first", self.only_a), ("second", self.only_b)):
            if only:
                shown = "; ".join(f"{k} @ {t:%H:%M:%S}" for k, t in only[:3])
                parts.append(f"{len(only)} points only in the {name}: {shown}")
        return ", ".join(parts)


def _key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "{}"


def compare(a: Result, b: Result, tol: Tolerance = EXACT) -> Diff:
    """Align series by labels and points by time; find the worst gap relative to `tol`."""
    diff = Diff()
    sa = {_key(s.labels): dict(s.points) for s in a.series}
    sb = {_key(s.labels): dict(s.points) for s in b.series}
    for k in sorted(sa.keys() | sb.keys()):
        pa_, pb = sa.get(k, {}), sb.get(k, {})
        diff.only_a += [(k, t) for t in sorted(pa_.keys() - pb.keys())]
        diff.only_b += [(k, t) for t in sorted(pb.keys() - pa_.keys())]
        for t in sorted(pa_.keys() & pb.keys()):
            x, y = pa_[t], pb[t]
            diff.points += 1
            gap = abs(x - y)
            rel = gap / max(abs(x), abs(y)) if gap else 0.0
            if math.isnan(gap):
                gap = rel = math.inf
            # a point passes within either bound, so rank points by the looser of the two
            score = min(gap / tol.abs, rel / tol.rel)
            if score > min(diff.max_abs / tol.abs, diff.max_rel / tol.rel):
                diff.max_abs, diff.max_rel = gap, rel
                diff.worst = f"{k} @ {t:%H:%M:%S}: {x!r} vs {y!r}"
    return diff


def assert_same_series(expected: Result, got: Result, tol: Tolerance = EXACT) -> Diff:
    """Two SQL engines' answers to one metric query: the same series in the same order, the
    same timestamps, values within `tol`. Returns the diff (its `points` for more checks)."""
    assert [s.labels for s in got.series] == [s.labels for s in expected.series]
    diff = compare(expected, got, tol)
    assert not diff.only_a and not diff.only_b, diff.summary()
    assert diff.within(tol), diff.worst
    return diff


def mean_abs(r: Result) -> float:
    vals = [abs(v) for s in r.series for _, v in s.points]
    return sum(vals) / len(vals) if vals else math.nan


@dataclass
class Verdict:
    ok: bool
    detail: str


def untied(case: Case, points: list[tuple[str, datetime]], prometheus: Connector) -> list[str]:
    """The topk/bottomk points in `points` that a tie at the k-th value does not explain.

    On an exact tie the engines may keep different series: Prometheus' choice follows its
    heap and the storage order of series, the embedded engine's the series id. Such a
    point is fine when the series' value equals the k-th value at that time.
    """
    if not points:
        return []
    q = case.query
    assert q.k is not None
    full = prometheus.run(q.model_copy(update={"aggregation": "none", "k": None}))
    at: dict[datetime, list[float]] = {}
    value: dict[tuple[str, datetime], float] = {}
    for s in full.series:
        for t, v in s.points:
            at.setdefault(t, []).append(v)
            value[_key(s.labels), t] = v
    bad = []
    for key, t in points:
        ranked = sorted(at.get(t, []), reverse=q.aggregation == "topk")
        kth = ranked[q.k - 1] if len(ranked) >= q.k else math.nan
        if value.get((key, t)) != kth:
            bad.append(f"{key} @ {t:%H:%M:%S}")
    return bad


def check_embedded(case: Case, emb: Result, prom: Result, prometheus: Connector) -> Verdict:
    """The embedded engine must give Prometheus' exact answer (ties in topk aside)."""
    d = compare(emb, prom)
    detail = d.summary() + (f"; worst {d.worst}" if d.worst else "")
    only = d.only_a + d.only_b
    if only and case.query.aggregation in ("topk", "bottomk"):
        bad = untied(case, only, prometheus)
        if not bad:
            return Verdict(d.within(EXACT), f"{detail}; all {len(only)} differences are ties")
        return Verdict(False, f"{detail}; not ties: {', '.join(bad[:5])}")
    return Verdict(not only and d.within(EXACT) and d.points > 0, detail)


def check_victoria(case: Case, vm: Result, prom: Result, prometheus: Connector) -> Verdict:
    """VictoriaMetrics against Prometheus under the rule of the case's `vm_class`."""
    if not vm.series:
        return Verdict(False, "VictoriaMetrics returned no series")
    match case.vm_class:
        case "exact":
            d = compare(vm, prom)
            ok = not d.only_a and d.within(EXACT) and d.points > 0
            return Verdict(ok, d.summary())
        case "window":
            shifted = case.query.model_copy(update={"window_s": case.query.window() - 1})
            d = compare(vm, prometheus.run(shifted))
            ok = not d.only_a and not d.only_b and d.within(EXACT) and d.points > 0
            return Verdict(ok, "vs Prometheus at w-1s: " + d.summary())
        case "extrapolated":
            same = {_key(s.labels) for s in vm.series} == {_key(s.labels) for s in prom.series}
            m_vm, m_prom = mean_abs(vm), mean_abs(prom)
            rel = abs(m_vm - m_prom) / max(m_vm, m_prom) if max(m_vm, m_prom) else 0.0
            d = compare(vm, prom)
            detail = f"mean |v| {m_vm:.6g} vs {m_prom:.6g} (rel {rel:.2e}); per point {d.summary()}"
            return Verdict(same and rel <= MEAN_REL, ("" if same else "series differ; ") + detail)
        case "unmatched":
            return Verdict(True, "not compared: " + compare(vm, prom).summary())
    raise AssertionError(case.vm_class)  # pragma: no cover


def headline(r: Result) -> str:
    """One number to show for a result: the last point of the first series (label order)."""
    if not r.series:
        return "(empty)"
    s = r.series[0]
    extra = f" [+{len(r.series) - 1} series]" if len(r.series) > 1 else ""
    return f"{s.points[-1][1]:.6g}{extra}" if s.points else "(no points)"


# -- stores ----------------------------------------------------------------------------


def _series_id(metric: str, labels: dict[str, str]) -> int:
    text = metric + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def write_store(path: Path, data: Sequence[SeriesData], meta: dict[str, tuple[str, str]]) -> None:
    """A DuckDB store holding `data` (metric_meta from `meta`: name -> (type, help))."""
    con = schema.connect(path)
    try:
        ids, metrics, keys, values = [], [], [], []
        s_ids: list[int] = []
        s_ts: list[datetime] = []
        s_val: list[float] = []
        for metric, _t, labels, points in data:
            sid = _series_id(metric, labels)
            ids.append(sid)
            metrics.append(metric)
            keys.append(sorted(labels))
            values.append([labels[k] for k in sorted(labels)])
            for t, v in points:
                s_ids.append(sid)
                s_ts.append(datetime.fromtimestamp(t, UTC).replace(tzinfo=None))
                s_val.append(v)
        series_tbl = pa.table(
            {
                "series_id": pa.array(ids, pa.uint64()),
                "metric": metrics,
                "labels": pa.array(
                    [list(zip(k, v, strict=True)) for k, v in zip(keys, values, strict=True)],
                    pa.map_(pa.string(), pa.string()),
                ),
            }
        )
        samples_tbl = pa.table(
            {
                "series_id": pa.array(s_ids, pa.uint64()),
                "ts": pa.array(s_ts, pa.timestamp("us")),
                "value": pa.array(s_val, pa.float64()),
            }
        )
        con.register("series_tbl", series_tbl)
        con.register("samples_tbl", samples_tbl)
        con.execute("INSERT INTO series SELECT * FROM series_tbl")
        con.execute("INSERT INTO samples SELECT * FROM samples_tbl ORDER BY series_id, ts")
        for name, (mtype, help_) in meta.items():
            con.execute("INSERT INTO metric_meta VALUES (?, ?, ?, '')", [name, mtype, help_])
    finally:
        con.close()


FIXTURE_META = {
    "req_total": ("counter", "Requests."),
    "cpu_percent": ("gauge", "CPU busy percent."),
    "latency_seconds": ("histogram", "Request latency."),
}


def window_store(src: Path, dst: Path, start: datetime) -> None:
    """Copy the samples of `src` from `start` on (and their series, all metadata) to `dst`."""
    con = schema.connect(dst)
    try:
        naive = start.astimezone(UTC).replace(tzinfo=None)
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        con.execute(
            "INSERT INTO samples SELECT * FROM src.samples WHERE ts >= ? ORDER BY series_id, ts",
            [naive],
        )
        con.execute(
            "INSERT INTO series SELECT * FROM src.series "
            "WHERE series_id IN (SELECT DISTINCT series_id FROM samples)"
        )
        con.execute("INSERT INTO metric_meta SELECT * FROM src.metric_meta")
        con.execute("DETACH src")
    finally:
        con.close()


# -- query sets ------------------------------------------------------------------------


def _tr(
    end: datetime, minutes: float, step_s: int | None = None, back: float = 0, skew_s: float = 0
) -> TimeRange:
    """`minutes` ending `back` minutes (plus `skew_s` seconds) before `end`.

    The demo's samples sit on a 15 s grid, so windows ending on whole minutes start and end
    on a sample and rate/increase need no extrapolation; a skew moves the windows off the
    grid so that Prometheus' extrapolation is exercised too."""
    e = end - timedelta(minutes=back, seconds=skew_s)
    return TimeRange(start=e - timedelta(minutes=minutes), end=e, step_s=step_s)


def _m(label: str, value: str, op: Any = "=") -> Matcher:
    return Matcher(label=label, op=op, value=value)


def fixture_cases() -> list[Case]:
    end = promdata.END
    r30 = _tr(end, 30, 60)
    r90 = _tr(end, 90, 300)
    inst = _tr(end, 60)
    c = Case
    mq = MetricQuery
    return [
        c("fx-raw-range", mq(metric="cpu_percent", time_range=_tr(end, 40, 60))),
        c("fx-raw-instant", mq(metric="cpu_percent", mode="instant", time_range=inst)),
        c(
            "fx-rate-1m",
            mq(metric="req_total", function="rate", window_s=60, time_range=r30),
            "extrapolated",
        ),
        c(
            "fx-rate-range-default",
            mq(metric="req_total", function="rate", time_range=r90),
            "extrapolated",
        ),
        c(
            "fx-increase-1h-resets",
            mq(metric="req_total", function="increase", mode="instant", time_range=inst),
            "extrapolated",
        ),
        c(
            "fx-delta",
            mq(metric="cpu_percent", function="delta", window_s=600, time_range=r30),
            "unmatched",
        ),
        *[
            c(
                f"fx-{fn}",
                mq(metric="cpu_percent", function=fn, window_s=300, time_range=r30),
                "window",
            )
            for fn in (
                "avg_over_time",
                "min_over_time",
                "max_over_time",
                "sum_over_time",
                "count_over_time",
                "last_over_time",
            )
        ],
        c(
            "fx-samples",
            mq(metric="cpu_percent", function="samples", time_range=_tr(end, 50, 60)),
            "window",
        ),
        c(
            "fx-quantile_over_time",
            mq(
                metric="cpu_percent",
                function="quantile_over_time",
                quantile=0.75,
                window_s=900,
                time_range=r30,
            ),
            "window",
        ),
        c(
            "fx-hq-sum",
            mq(
                metric="latency_seconds",
                function="histogram_quantile",
                quantile=0.9,
                aggregation="sum",
                time_range=r90,
            ),
            "extrapolated",
        ),
        c(
            "fx-hq-per-host",
            mq(
                metric="latency_seconds_bucket",
                function="histogram_quantile",
                quantile=0.5,
                window_s=600,
                time_range=r30,
            ),
            "extrapolated",
        ),
        c(
            "fx-sum-by-code",
            mq(
                metric="req_total", function="rate", aggregation="sum", by=("code",), time_range=r90
            ),
            "extrapolated",
        ),
        c(
            "fx-topk-range",
            mq(metric="cpu_percent", aggregation="topk", k=1, time_range=_tr(end, 120, 300)),
            "exact",
        ),
        c(
            "fx-bottomk-instant",
            mq(
                metric="cpu_percent",
                aggregation="bottomk",
                k=2,
                mode="instant",
                time_range=_tr(end, 60, back=30),
            ),
        ),
        c(
            "fx-p90-hosts",
            mq(metric="cpu_percent", aggregation="p90", time_range=_tr(end, 30, 60, back=25)),
        ),
        c(
            "fx-count-regex",
            mq(
                metric="req_total",
                matchers=(_m("host", "a-01|b-02", "=~"),),
                aggregation="count",
                by=("host",),
                time_range=r30,
            ),
        ),
        c(
            "fx-neq-notregex",
            mq(
                metric="req_total",
                matchers=(_m("code", "200", "!="), _m("host", "b.*", "!~")),
                function="increase",
                window_s=1800,
                time_range=r90,
            ),
            "extrapolated",
        ),
        c(
            "fx-rate-of-gauge-drops",
            mq(metric="cpu_percent", function="rate", window_s=600, time_range=r30),
            "unmatched",
        ),
        c(
            "fx-odd-step-fractional-end",
            mq(
                metric="req_total",
                function="increase",
                window_s=240,
                time_range=TimeRange(
                    start=end - timedelta(minutes=17, seconds=3.25),
                    end=end - timedelta(seconds=3.25),
                    step_s=120,
                ),
            ),
            "extrapolated",
        ),
        c(
            "fx-quantile-over-time-q0",
            mq(
                metric="cpu_percent",
                function="quantile_over_time",
                quantile=0.0,
                window_s=600,
                time_range=r30,
            ),
            "window",
        ),
        c(
            "fx-avg-by-two-labels",
            mq(
                metric="req_total",
                function="increase",
                window_s=900,
                aggregation="avg",
                by=("host", "code"),
                time_range=r90,
            ),
            "extrapolated",
        ),
    ]


def demo_cases() -> list[Case]:
    """>= 30 queries over the demo fleet's last hours: every function and aggregation."""
    end = DEMO_END
    r1h = _tr(end, 60, 60)
    r3h = _tr(end, 170, 300)
    r15 = _tr(end, 15, 15)
    i1h = _tr(end, 60)
    i15 = _tr(end, 15)
    c = Case
    mq = MetricQuery
    http = "http_requests_total"
    lat = "http_request_duration_seconds"
    return [
        c(
            "raw-cpu-web03",
            mq(metric="node_cpu_usage_percent", matchers=(_m("host", "web-03"),), time_range=r1h),
        ),
        c(
            "raw-mem-instant",
            mq(metric="node_memory_usage_percent", mode="instant", time_range=i15),
        ),
        c(
            "raw-fs-data",
            mq(
                metric="node_filesystem_usage_percent",
                matchers=(_m("mountpoint", "/var/lib/data"),),
                time_range=r3h,
            ),
        ),
        c("raw-step15", mq(metric="db_pool_connections_in_use", time_range=r15)),
        c(
            "rate-http-1m",
            mq(
                metric=http,
                function="rate",
                window_s=60,
                matchers=(_m("service", "checkout"),),
                time_range=r1h,
            ),
            "extrapolated",
        ),
        c("rate-http-default", mq(metric=http, function="rate", time_range=r3h), "extrapolated"),
        c(
            "rate-cpu-seconds",
            mq(
                metric="node_cpu_seconds_total",
                function="rate",
                matchers=(_m("mode", "idle", "!="), _m("host", "web-0[12]", "=~")),
                window_s=120,
                time_range=_tr(end, 60, 60, skew_s=7),
            ),
            "extrapolated",
        ),
        c(
            "increase-http-1h",
            mq(metric=http, function="increase", mode="instant", time_range=_tr(end, 60, skew_s=7)),
            "extrapolated",
        ),
        c(
            "increase-http-3h-resets",
            mq(metric=http, function="increase", mode="instant", time_range=_tr(end, 170)),
            "extrapolated",
        ),
        c(
            "increase-auth-fail",
            mq(
                metric="auth_login_failures_total",
                function="increase",
                window_s=600,
                time_range=r1h,
            ),
            "extrapolated",
        ),
        c(
            "delta-memavail",
            mq(
                metric="node_memory_MemAvailable_bytes",
                function="delta",
                window_s=1800,
                time_range=r3h,
            ),
            "extrapolated",
        ),
        c(
            "delta-fs-instant",
            mq(
                metric="node_filesystem_avail_bytes",
                function="delta",
                mode="instant",
                matchers=(_m("host", "db-01"),),
                time_range=_tr(end, 60, skew_s=7),
            ),
            "extrapolated",
        ),
        c(
            "avg_over_time-cpu",
            mq(
                metric="node_cpu_usage_percent",
                function="avg_over_time",
                mode="instant",
                time_range=i1h,
            ),
            "window",
        ),
        c(
            "min_over_time-memavail",
            mq(
                metric="node_memory_MemAvailable_bytes",
                function="min_over_time",
                window_s=900,
                time_range=r1h,
            ),
            "window",
        ),
        c(
            "max_over_time-load",
            mq(metric="node_load1", function="max_over_time", window_s=300, time_range=r1h),
            "window",
        ),
        c(
            "sum_over_time-pool",
            mq(
                metric="db_pool_connections_in_use",
                function="sum_over_time",
                window_s=600,
                time_range=r1h,
            ),
            "window",
        ),
        c(
            "count_over_time-load",
            mq(metric="node_load1", function="count_over_time", window_s=600, time_range=r1h),
            "window",
        ),
        c(
            "last_over_time-tls",
            mq(
                metric="tls_certificate_expiry_seconds",
                function="last_over_time",
                window_s=600,
                time_range=r1h,
            ),
            "window",
        ),
        c(
            "quantile_over_time-cpu",
            mq(
                metric="node_cpu_usage_percent",
                function="quantile_over_time",
                quantile=0.95,
                window_s=1800,
                time_range=r1h,
            ),
            "window",
        ),
        c(
            "hq-p99-by-service",
            mq(
                metric=lat,
                function="histogram_quantile",
                quantile=0.99,
                aggregation="sum",
                by=("service",),
                time_range=r3h,
            ),
            "extrapolated",
        ),
        c(
            "hq-p50-payments-hosts",
            mq(
                metric=lat,
                function="histogram_quantile",
                quantile=0.5,
                aggregation="sum",
                by=("host",),
                window_s=300,
                matchers=(_m("service", "payments"),),
                time_range=_tr(end, 60, 60, skew_s=7),
            ),
            "extrapolated",
        ),
        c(
            "hq-p95-per-series",
            mq(
                metric=f"{lat}_bucket",
                function="histogram_quantile",
                quantile=0.95,
                mode="instant",
                window_s=900,
                time_range=i1h,
            ),
            "extrapolated",
        ),
        c(
            "hq-max-by-service",
            mq(
                metric=lat,
                function="histogram_quantile",
                quantile=0.9,
                aggregation="max",
                by=("service",),
                window_s=600,
                time_range=r1h,
            ),
            "extrapolated",
        ),
        c(
            "sum-rate-by-service-code",
            mq(
                metric=http,
                function="rate",
                aggregation="sum",
                by=("service", "code"),
                time_range=r3h,
            ),
            "extrapolated",
        ),
        c("avg-cpu-all", mq(metric="node_cpu_usage_percent", aggregation="avg", time_range=r1h)),
        c(
            "max-mem-by-host",
            mq(
                metric="process_resident_memory_bytes",
                aggregation="max",
                by=("service",),
                time_range=r3h,
            ),
        ),
        c(
            "min-fs-avail",
            mq(
                metric="node_filesystem_avail_bytes",
                aggregation="min",
                by=("mountpoint",),
                time_range=r1h,
            ),
        ),
        c(
            "count-series-by-service",
            mq(metric=http, aggregation="count", by=("service",), time_range=r1h),
        ),
        c("p50-cpu", mq(metric="node_cpu_usage_percent", aggregation="p50", time_range=r1h)),
        c(
            "p99-rate-by-service",
            mq(
                metric=http,
                function="rate",
                aggregation="p99",
                by=("service",),
                window_s=600,
                time_range=r1h,
            ),
            "extrapolated",
        ),
        c(
            "topk3-cpu-instant",
            mq(
                metric="node_cpu_usage_percent",
                aggregation="topk",
                k=3,
                mode="instant",
                time_range=i15,
            ),
        ),
        c(
            "topk2-rate-range",
            mq(
                metric=http,
                function="rate",
                aggregation="topk",
                k=2,
                matchers=(_m("code", "5..", "=~"),),
                window_s=300,
                time_range=r1h,
            ),
            "extrapolated",
        ),
        c(
            "bottomk2-memavail",
            mq(metric="node_memory_MemAvailable_bytes", aggregation="bottomk", k=2, time_range=r1h),
        ),
        c(
            "sum-net-rx-long",
            mq(
                metric="node_network_receive_bytes_total",
                function="rate",
                aggregation="sum",
                window_s=3600,
                mode="instant",
                time_range=_tr(end, 120),
            ),
            "extrapolated",
        ),
        c(
            "avg-over-time-by-host-p90",
            mq(
                metric="node_load1",
                function="avg_over_time",
                aggregation="p90",
                window_s=900,
                time_range=r1h,
            ),
            "window",
        ),
    ]


def operation_cases() -> list[Case]:
    """The fixture queried with the functions, modifiers and `MetricQuery.then` steps that
    Prometheus 2.x can answer too: functions of each window's samples, ``@``, subqueries,
    element-wise functions, aggregations of binary results, label rewrites. A `then` step
    follows a binary operation here, the way a dashboard writes ``sum by (x) (a * 60)``."""
    end = promdata.END
    r30 = _tr(end, 30, 60)
    inst = _tr(end, 60, skew_s=7)
    at = (end - timedelta(minutes=40)).timestamp()
    mq = MetricQuery
    cpu = {"metric": "cpu_percent"}
    rate = {"metric": "req_total", "function": "rate", "window_s": 300}
    return [
        Case("op-changes", mq(**cpu, function="changes", window_s=600, time_range=r30)),
        Case("op-resets", mq(metric="req_total", function="resets", window_s=1800,
                             time_range=r30)),
        Case("op-irate", mq(metric="req_total", function="irate", window_s=300,
                            time_range=r30)),
        Case("op-idelta-instant", mq(**cpu, function="idelta", window_s=300, mode="instant",
                                     time_range=inst)),
        Case("op-deriv", mq(**cpu, function="deriv", window_s=600, time_range=r30)),
        Case("op-predict-linear", mq(**cpu, function="predict_linear", window_s=900,
                                     horizon_s=600, time_range=r30)),
        Case("op-at", mq(**cpu, at_s=at, time_range=r30)),
        Case("op-at-offset-rate", mq(**rate, at_s=at, offset_s=300, aggregation="sum",
                                     by=("host",), time_range=r30)),
        Case("op-subquery-max", mq(**cpu, function="max_over_time", window_s=600,
                                   subquery_step_s=60, time_range=r30)),
        Case("op-subquery-rate", mq(metric="req_total", function="rate", window_s=300,
                                    subquery_step_s=30, mode="instant", time_range=inst)),
        Case("op-round-clamp", mq(**cpu, time_range=r30, binary=(Binary(op="/", right=3),),
                                  then=(Apply(apply="round", args=(0.5,)),
                                        Apply(apply="clamp", args=(5, 20))))),
        Case("op-sqrt-ln-abs", mq(**cpu, time_range=r30, binary=(Binary(op="-", right=50),),
                                  then=(Apply(apply="abs"), Apply(apply="sqrt"),
                                        Apply(apply="ln")))),
        Case("op-sum-by-of-binary", mq(**rate, time_range=r30, binary=(
            Binary(op="*", right=60),), then=(Aggregate(aggregate="sum", by=("host",)),))),
        Case("op-avg-without", mq(**rate, time_range=r30, binary=(Binary(op="*", right=60),),
                                  then=(Aggregate(aggregate="avg", without=("code",)),))),
        Case("op-topk-by-quantile", mq(**rate, time_range=r30, binary=(
            Binary(op="*", right=1),), then=(
            Aggregate(aggregate="topk", param=1, by=("code",)),
            Aggregate(aggregate="quantile", param=0.3)))),
        Case("op-count-values", mq(**cpu, mode="instant", time_range=inst, binary=(
            Binary(op="/", right=10),), then=(Apply(apply="floor"),
                                             Aggregate(aggregate="count_values", label="v")))),
        Case("op-label-replace-join", mq(**cpu, time_range=r30, binary=(
            Binary(op="+", right=0),), then=(
            LabelReplace(dst="site", replacement="s-$1", src="host", regex="([a-z]+)-.*"),
            LabelJoin(dst="both", separator="/", src=("site", "host"))))),
        Case("op-then-binary", mq(**cpu, time_range=r30, binary=(Binary(op="*", right=2),),
                                  then=(Aggregate(aggregate="max"),
                                        Binary(op="-", right=10, scalar_left=True)))),
    ]
