"""Embedded DuckDB vs ClickHouse (chDB, embedded) on the same IR query set, side by side.

Two data sets, each in both engines (DuckDB store -> Parquet -> chDB, the path of
`opsa demo --export clickhouse`):

* demo: the demo fleet (`seed_demo --scale`, 1.0 is ~1M log lines, 24 h of metrics and
  events) seeded into a temp data dir, or a store given with --store;
* big: --big-lines generated log lines (a few services, hosts, levels and templates over
  24 h), made in DuckDB SQL from ``range()`` so 10M lines take seconds.

Per data set: ~13 log queries, 3 event queries and 8 metric queries (demo only). Each query
runs once on both engines as a warm-up (which also gives the answers compared), then --reps
timed rounds with the engines interleaved per query, so machine noise hits both alike.
Prints p50/p95 per query and engine, the ClickHouse/DuckDB p50 ratio, whether both agree
(same total, row, line, event and series counts), and a final JSON line. A query an engine
cannot answer (an error) shows "n/a" instead of stopping the run.

    python benchmarks/bench_clickhouse.py --scale 0.1 --big-lines 1000000 --reps 2
    python benchmarks/bench_clickhouse.py --store .opsa/telemetry.duckdb --big-lines 0
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assistant.errors import BackendError, OpsaError
from assistant.ir import EventQuery, LogQuery, Matcher, MetricQuery, Query, TimeRange
from assistant.settings import load_settings
from connectors.base import Connector, Result
from connectors.clickhouse import ClickHouseConnector
from connectors.clickhouse.chdb_executor import ChdbExecutor
from connectors.clickhouse.schema import TABLES, export_parquet
from connectors.embedded import schema
from connectors.embedded.connector import EmbeddedConnector

ENGINES = ("duckdb", "clickhouse")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Case:
    id: str
    group: str  # logs | events | metrics
    query: Query


@dataclass
class Cell:
    """One engine's answer to one query, and its timings."""

    result: Result | None
    error: str | None
    ms: list[float]

    def label(self) -> str:
        if self.result is None:
            return "n/a" if self.error == "n/a" else "err"
        return shape(self.result)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


@contextmanager
def step(what: str) -> Iterator[None]:
    """Say on stderr how long a preparation step took."""
    t0 = time.perf_counter()
    print(f"{what} ...", file=sys.stderr, flush=True)
    yield
    print(f"{what}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)


# -- the query set -------------------------------------------------------------------------


def _tr(end: datetime, hours: float, step_s: int | None = None) -> TimeRange:
    return TimeRange(start=end - timedelta(hours=hours), end=end, step_s=step_s)


def log_cases(end: datetime, service: str, host: str) -> list[Case]:
    """Listings, search, filters, group counts and histograms over 1-24 h."""
    day, six, hour = _tr(end, 24), _tr(end, 6), _tr(end, 1)

    def c(cid: str, q: LogQuery) -> Case:
        return Case(cid, "logs", q)

    return [
        c("lines-newest-1h", LogQuery(time_range=hour, limit=100)),
        c("lines-service-24h", LogQuery(time_range=day, service=service, limit=100)),
        c("lines-host-6h", LogQuery(time_range=six, host=host, limit=100)),
        c("text-timeout-24h", LogQuery(time_range=day, text="timeout", limit=100)),
        c("regex-24h", LogQuery(time_range=day, pattern="timed out|refused", limit=100)),
        c("level-error-24h", LogQuery(time_range=day, level="error", limit=100)),
        c("warn-service-6h", LogQuery(time_range=six, service=service, level="warn", limit=50)),
        c("count-service-24h", LogQuery(time_range=day, count_by="service")),
        c("count-host-24h", LogQuery(time_range=day, count_by="host", top_k=50)),
        c("count-level-24h", LogQuery(time_range=day, count_by="level")),
        c("count-template-24h", LogQuery(time_range=day, count_by="template", top_k=10)),
        c("count-service-text", LogQuery(time_range=day, text="timeout", count_by="service")),
        c("buckets-5m-24h", LogQuery(time_range=day, bucket_s=300)),
        c("buckets-errors-1m-6h", LogQuery(time_range=six, level="error", bucket_s=60)),
    ]


def event_cases(end: datetime) -> list[Case]:
    day = _tr(end, 24)
    return [
        Case("events-24h", "events", EventQuery(time_range=day, limit=1000)),
        Case("alerts-firing-24h", "events",
             EventQuery(time_range=day, kinds=("alert",), status="firing")),
        Case("deploys-checkout", "events",
             EventQuery(time_range=day, kinds=("deploy",), service="checkout")),
    ]


def metric_cases(end: datetime) -> list[Case]:
    """The demo fleet's metrics through every kind of function and aggregation."""
    six, day, hour = _tr(end, 6), _tr(end, 24, 3600), _tr(end, 1)
    http, lat = "http_requests_total", "http_request_duration_seconds"

    def c(cid: str, q: MetricQuery) -> Case:
        return Case(cid, "metrics", q)

    return [
        c("raw-cpu-web03-6h", MetricQuery(metric="node_cpu_usage_percent",
                                          matchers=(Matcher(label="host", value="web-03"),),
                                          time_range=six)),
        c("rate5m-sum-by-service", MetricQuery(metric=http, function="rate", window_s=300,
                                               aggregation="sum", by=("service",),
                                               time_range=six)),
        c("increase1h-by-service", MetricQuery(metric=http, function="increase", window_s=3600,
                                               aggregation="sum", by=("service",),
                                               time_range=day)),
        c("avg_over_time-mem", MetricQuery(metric="node_memory_usage_percent",
                                           function="avg_over_time", window_s=600,
                                           time_range=six)),
        c("max-cpu-by-host", MetricQuery(metric="node_cpu_usage_percent", aggregation="max",
                                         by=("host",), time_range=six)),
        c("topk3-cpu-instant", MetricQuery(metric="node_cpu_usage_percent", aggregation="topk",
                                           k=3, mode="instant", time_range=hour)),
        c("hq-p95-by-service", MetricQuery(metric=lat, function="histogram_quantile",
                                           quantile=0.95, window_s=300, aggregation="sum",
                                           by=("service",), time_range=six)),
        c("quantile_over_time-load", MetricQuery(metric="node_load1",
                                                 function="quantile_over_time", quantile=0.9,
                                                 window_s=900, time_range=six)),
    ]


# -- running -------------------------------------------------------------------------------


def counts(r: Result) -> tuple[int | None, int, int, int, int]:
    """What must agree: total, rows, log lines, events, series."""
    return (r.total, len(r.rows), len(r.logs), len(r.events), len(r.series))


def shape(r: Result) -> str:
    parts = [] if r.total is None else [f"total={r.total}"]
    for name, items in (("rows", r.rows), ("lines", r.logs), ("events", r.events),
                        ("series", r.series)):
        if items:
            parts.append(f"{name}={len(items)}")
    return " ".join(parts) or "(empty)"


def timed(conn: Connector, q: Query) -> tuple[Result | None, float, str | None]:
    """One run: its result and milliseconds, or the reason there is none.

    A query the engine does not support (yet), or refuses with a BackendError, is "n/a":
    the table still prints, and the message goes to stderr.
    """
    if not conn.supports(q):
        return None, math.nan, "n/a"
    t0 = time.perf_counter()
    try:
        res = conn.run(q)
    except BackendError as exc:
        print(f"  {conn.name}: {exc}", file=sys.stderr)
        return None, math.nan, "n/a"
    except OpsaError as exc:
        print(f"  {conn.name}: {exc}", file=sys.stderr)
        return None, math.nan, str(exc)
    return res, (time.perf_counter() - t0) * 1000, None


def bench(conns: dict[str, Connector], cases: list[Case], reps: int) -> list[dict[str, Any]]:
    """Warm-up round (the answers), then `reps` interleaved timed rounds per query."""
    out: list[dict[str, Any]] = []
    for case in cases:
        cells: dict[str, Cell] = {}
        for e in ENGINES:
            res, _, err = timed(conns[e], case.query)
            cells[e] = Cell(res, err, [])
        for _ in range(reps):
            for e in ENGINES:
                if cells[e].result is not None:
                    _, ms, _ = timed(conns[e], case.query)
                    cells[e].ms.append(ms)
        out.append(row_for(case, cells))
    return out


def row_for(case: Case, cells: dict[str, Cell]) -> dict[str, Any]:
    stats: dict[str, dict[str, float] | None] = {}
    for e, cell in cells.items():
        ms = [m for m in cell.ms if not math.isnan(m)]
        stats[e] = ({"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)}
                    if ms else None)
    duck, ch = stats["duckdb"], stats["clickhouse"]
    ratio = round(ch["p50"] / duck["p50"], 2) if duck and ch and duck["p50"] > 0 else None
    a, b = cells["duckdb"].result, cells["clickhouse"].result
    agree = None if a is None or b is None else counts(a) == counts(b)
    return {"query": case.id, "group": case.group, "duckdb": cells["duckdb"].label(),
            "clickhouse": cells["clickhouse"].label(), "ms": stats, "ratio": ratio,
            "agree": agree}


def print_table(title: str, rows: list[dict[str, Any]], reps: int) -> None:
    w = max(len(r["query"]) for r in rows)
    a = max(len(r["duckdb"]) for r in rows)
    print(f"\n{title} ({reps} timed rounds after a warm-up; ms; ratio = ClickHouse p50 / "
          "DuckDB p50; agree = same total/rows/lines/events/series)\n")
    head = (f"{'query':{w}} | {'answer (duckdb)':{a}} | {'duck p50':>9} {'p95':>9} | "
            f"{'ch p50':>9} {'p95':>9} | {'ratio':>6} | agree")
    print(head)
    print("-" * len(head))

    def fmt(s: dict[str, float] | None, k: str) -> str:
        return f"{s[k]:9.2f}" if s else f"{'n/a':>9}"

    for r in rows:
        d, c = r["ms"]["duckdb"], r["ms"]["clickhouse"]
        ratio = f"{r['ratio']:6.2f}" if r["ratio"] is not None else f"{'n/a':>6}"
        agree = {True: "yes", False: f"NO ({r['clickhouse']})", None: "n/a"}[r["agree"]]
        print(f"{r['query']:{w}} | {r['duckdb']:{a}} | {fmt(d, 'p50')} {fmt(d, 'p95')} | "
              f"{fmt(c, 'p50')} {fmt(c, 'p95')} | {ratio} | {agree}")


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometric mean of the ratios per group: one number per kind of query."""
    out: dict[str, Any] = {}
    for group in ("logs", "events", "metrics"):
        ratios = [r["ratio"] for r in rows if r["group"] == group and r["ratio"]]
        out[group] = {
            "queries": sum(r["group"] == group for r in rows),
            "timed_on_both": len(ratios),
            "geomean_ratio": round(statistics.geometric_mean(ratios), 2) if ratios else None,
            "agree": sum(r["agree"] is True for r in rows if r["group"] == group),
            "disagree": [r["query"] for r in rows if r["group"] == group and r["agree"] is False],
        }
    return out


# -- data ------------------------------------------------------------------------------------


def seed_store(root: Path, scale: float) -> Path:
    from assistant.demo.seed import seed_demo

    settings = load_settings(data_dir=root / "demo", now=NOW.isoformat())
    with step(f"seeding the demo fleet at scale {scale:g}"):
        summary = seed_demo(settings, scale=scale, seed=42, progress=False)
    print(f"  {summary.log_rows:,} log lines, {summary.samples:,} samples, "
          f"{summary.events} events", file=sys.stderr)
    return summary.store_path


def store_end(store: Path) -> datetime:
    """The end of the data: the newest sample or log line, to the next minute."""
    con = schema.connect(store, read_only=True)
    try:
        row = con.execute(
            "SELECT greatest((SELECT max(ts) FROM samples), (SELECT max(ts) FROM logs))"
        ).fetchone()
    finally:
        con.close()
    if row is None or row[0] is None:
        raise SystemExit(f"{store} holds no samples or logs")
    last: datetime = row[0]
    return last.replace(second=0, microsecond=0, tzinfo=UTC) + timedelta(minutes=1)


# template id, level, then the text around the two variable parts
TEMPLATES: tuple[tuple[int, str, str, str, str], ...] = (
    (0, "info", "GET /api/orders/", " 200 in ", " ms"),
    (1, "info", "POST /api/cart/", " 201 in ", " ms"),
    (2, "info", "user ", " logged in from 10.0.0.", ""),
    (3, "info", "cache hit ratio ", "% over ", " keys"),
    (4, "info", "processed batch ", " with ", " items"),
    (5, "info", "health check ok in ", " ms (", " active)"),
    (6, "info", "scheduled job ", " finished after ", " ms"),
    (7, "info", "GET /api/search?q=item", " 200 in ", " ms"),
    (8, "debug", "sql query took ", " us rows=", ""),
    (9, "debug", "cache miss for key product:", " (ttl ", " s)"),
    (10, "debug", "retrying request ", " attempt ", ""),
    (11, "debug", "gc pause ", " us heap=", " MB"),
    (12, "warn", "slow request ", " took ", " ms"),
    (13, "warn", "connection pool at ", "% (", " waiting)"),
    (14, "warn", "retry budget low for upstream ", ": ", " left"),
    (15, "warn", "read timeout warning for request ", " after ", " ms, retrying"),
    (16, "error", "upstream timed out (110: Connection timed out) for request ", " after ",
     " ms"),
    (17, "error", "connect() failed (111: Connection refused) to 10.0.1.", ":", ""),
    (18, "error", "payment ", " failed: card declined code ", ""),
    (19, "fatal", "out of memory: killed worker ", " rss=", " MB"),
)


def generate_big(path: Path, lines: int, end: datetime) -> None:
    """`lines` log lines over the 24 h before `end`, in time order, in a new DuckDB store.

    Each line's service, host, template (hence level) and numbers come from ``hash(i)``:
    deterministic, uniform across services, ~50% info, 30% debug, 15% warn, 4.5% error.
    """
    from assistant.demo.fleet import SERVICES

    services = sorted(SERVICES)
    con = schema.connect(path)
    try:
        con.execute(
            "CREATE TEMP TABLE tpl (template_id INTEGER, level VARCHAR, level_num TINYINT, "
            "p VARCHAR, m VARCHAR, s VARCHAR)"
        )
        con.executemany("INSERT INTO tpl VALUES (?, ?, ?, ?, ?, ?)",
                        [(i, lv, schema.LEVEL_NUM[lv], p, m, s)
                         for i, lv, p, m, s in TEMPLATES])
        con.execute("INSERT INTO log_templates "
                    "SELECT template_id, p || '<*>' || m || '<*>' || s FROM tpl")
        start = (end - timedelta(hours=24)).replace(tzinfo=None)
        span_us = 24 * 3600 * 1_000_000
        svc_list = "[" + ", ".join(f"'{s}'" for s in services) + "]"
        con.execute(f"""
            INSERT INTO logs
            WITH g AS (
                SELECT i, hash(i) AS h FROM range({lines}) r(i)
            ), k AS (
                SELECT i, h, {svc_list}[1 + (h % {len(services)})::INTEGER] AS service,
                       (h >> 20) % 1000 AS r
                FROM g
            ), t AS (
                SELECT *, CASE WHEN r < 500 THEN r % 8 WHEN r < 800 THEN 8 + r % 4
                               WHEN r < 950 THEN 12 + r % 4 WHEN r < 995 THEN 16 + r % 3
                               ELSE 19 END::INTEGER AS tid
                FROM k
            )
            SELECT TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}'
                       + to_microseconds((i * {span_us} // {lines})::BIGINT),
                   t.service, t.service || '-0' || (1 + (h >> 8) % 3)::VARCHAR,
                   tpl.level, tpl.level_num,
                   tpl.p || ((h >> 32) % 100000)::VARCHAR || tpl.m
                         || ((h >> 48) % 5000)::VARCHAR || tpl.s,
                   tpl.template_id, NULL, 'bench', h
            FROM t JOIN tpl ON tpl.template_id = t.tid
            ORDER BY i
        """)
    finally:
        con.close()


def load_chdb(store: Path, root: Path, tables: tuple[str, ...]) -> ChdbExecutor:
    """The store's tables, through Parquet, in a fresh chDB database under `root`."""
    with step(f"copying {store.name} to chDB via Parquet"):
        export_parquet(store, root / "parquet", tables)
        ex = ChdbExecutor(str(root / "chdb"))
        loaded = ex.load_parquet_dir(root / "parquet")
    print("  " + ", ".join(f"{t} {n:,}" for t, n in loaded.items()), file=sys.stderr)
    return ex


def run_dataset(name: str, store: Path, root: Path, cases: Callable[[datetime], list[Case]],
                tables: tuple[str, ...], reps: int) -> dict[str, Any]:
    """Both engines on one data set; the chDB session is closed before the next one."""
    end = store_end(store)
    ex = load_chdb(store, root, tables)
    conns: dict[str, Connector] = {
        "duckdb": EmbeddedConnector(store, timeout_s=TIMEOUT_S),
        "clickhouse": ClickHouseConnector(executor=ex, timeout_s=TIMEOUT_S, max_rows=10_000),
    }
    try:
        with step(f"running the {name} query set"):
            rows = bench(conns, cases(end), reps)
    finally:
        for c in conns.values():
            c.close()
        ex.close()
    return {"dataset": name, "end": end.isoformat(), "rows": rows, "summary": summarize(rows)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--reps", type=int, default=5, help="timed rounds per query and engine")
    ap.add_argument("--scale", type=float, default=1.0, help="demo log volume (1.0 ~ 1M lines)")
    ap.add_argument("--store", type=Path, help="reuse this demo store instead of seeding")
    ap.add_argument("--big-lines", type=int, default=10_000_000,
                    help="generated log lines for the second data set (0 skips it)")
    ap.add_argument("--skip-demo", action="store_true", help="only the generated log set")
    args = ap.parse_args(argv)

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="opsa-bench-ch-") as tmp:
        root = Path(tmp)
        if not args.skip_demo:
            store = args.store or seed_store(root, args.scale)

            def demo_cases(end: datetime) -> list[Case]:
                return (log_cases(end, "checkout", "web-03") + event_cases(end)
                        + metric_cases(end))

            results.append(run_dataset("demo", store, root / "demo-ch", demo_cases, TABLES,
                                       args.reps))
        if args.big_lines > 0:
            big = root / "big.duckdb"
            with step(f"generating {args.big_lines:,} log lines in DuckDB"):
                generate_big(big, args.big_lines, NOW)

            def big_cases(end: datetime) -> list[Case]:
                return log_cases(end, "checkout", "checkout-02")

            results.append(run_dataset(f"big-{args.big_lines}", big, root / "big-ch", big_cases,
                                       ("log_templates", "logs", "events"), args.reps))
    for res in results:
        print_table(f"Data set {res['dataset']} (end {res['end']})", res["rows"], args.reps)
    print("\nSummary (geometric mean of ClickHouse/DuckDB p50 ratios; <1 means ClickHouse "
          "is faster)\n")
    for res in results:
        for group, s in res["summary"].items():
            if s["queries"]:
                g = "n/a" if s["geomean_ratio"] is None else f"{s['geomean_ratio']:.2f}"
                print(f"{res['dataset']:>16} {group:8} {s['queries']:3d} queries, "
                      f"{s['timed_on_both']:3d} on both, ratio {g:>5}, agree {s['agree']}, "
                      f"disagree {s['disagree'] or '-'}")
    out = {"bench": "clickhouse", "reps": args.reps, "scale": args.scale,
           "big_lines": args.big_lines, "datasets": results}
    print(json.dumps(out, default=str))
    failures = [r["query"] for res in results for r in res["rows"] if r["agree"] is False]
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
