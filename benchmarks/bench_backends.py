"""Embedded vs Prometheus vs VictoriaMetrics on the same IR query set, side by side.

Seeds the demo fleet (or reuses a store given with --store), keeps its last --hours hours,
exports them, starts Debian's `prometheus` and `victoria-metrics` on free loopback ports,
then runs every differential case (`tests/differential.py: demo_cases`) on all three
engines: one warm-up round, then --reps timed rounds (engines interleaved per query, so
machine noise hits all three alike). Prints the agreement table (query | embedded |
prometheus | victoriametrics | diff), per-engine latency p50/p95, and a final JSON line.

    python benchmarks/bench_backends.py --reps 20
    python benchmarks/bench_backends.py --store .opsa/telemetry.duckdb --reps 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import differential as diff
import servers

from assistant.demo.export import export_metrics
from assistant.settings import PrometheusSettings, load_settings
from connectors.base import Connector, Result
from connectors.embedded.connector import EmbeddedConnector
from connectors.prometheus import PrometheusConnector

ENGINES = ("embedded", "prometheus", "victoriametrics")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def prepare(root: Path, store: Path | None, hours: int) -> Path:
    """The windowed store, plus `demo.om` and `demo.prom` exports, under `root`."""
    if store is None:
        from assistant.demo.seed import seed_demo

        settings = load_settings(data_dir=root / "demo", now=diff.DEMO_END.isoformat())
        t0 = time.perf_counter()
        seed_demo(settings, scale=0.01, seed=42, progress=False)
        print(f"seeded the demo fleet in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        store = settings.store_path
    window = root / "window.duckdb"
    diff.window_store(store, window, diff.DEMO_END - timedelta(hours=hours))
    export_metrics(window, "openmetrics", root / "demo.om")
    export_metrics(window, "prometheus-text", root / "demo.prom")
    return window


def timed(conn: Connector, case: diff.Case) -> tuple[Result, float]:
    t0 = time.perf_counter()
    res = conn.run(case.query)
    return res, (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10, help="timed rounds per query and engine")
    ap.add_argument("--hours", type=int, default=diff.DEMO_HOURS, help="hours of demo data")
    ap.add_argument("--store", type=Path, help="reuse this demo store instead of seeding")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="opsa-bench-") as tmp:
        root = Path(tmp)
        window = prepare(root, args.store, args.hours)
        prom_srv = servers.start_prometheus(root / "demo.om", root / "prometheus")
        vm_srv = servers.start_victoria((root / "demo.prom").read_text(), root / "victoria")
        settings = {"timeout_s": 60, "max_series": 10_000, "max_points": 2_000_000}
        conns: dict[str, Connector] = {
            "embedded": EmbeddedConnector(window, timeout_s=60),
            "prometheus": PrometheusConnector(PrometheusSettings(url=prom_srv.url, **settings)),
            "victoriametrics": PrometheusConnector(PrometheusSettings(url=vm_srv.url, **settings)),
        }
        try:
            return report(conns, diff.demo_cases(), args.reps, args.hours)
        finally:
            for c in conns.values():
                c.close()
            prom_srv.stop()
            vm_srv.stop()


def report(conns: dict[str, Connector], cases: list[diff.Case], reps: int, hours: int) -> int:
    lat: dict[str, list[float]] = {e: [] for e in ENGINES}
    per_query: dict[str, dict[str, list[float]]] = {}
    rows: list[dict[str, Any]] = []
    for case in cases:
        results = {e: conns[e].run(case.query) for e in ENGINES}  # warm-up, and the answers
        per_query[case.id] = {e: [] for e in ENGINES}
        for _ in range(reps):
            for e in ENGINES:
                _, ms = timed(conns[e], case)
                lat[e].append(ms)
                per_query[case.id][e].append(ms)
        emb, prom, vm = (results[e] for e in ENGINES)
        v_emb = diff.check_embedded(case, emb, prom, conns["prometheus"])
        v_vm = diff.check_victoria(case, vm, prom, conns["prometheus"])
        d_emb, d_vm = diff.compare(emb, prom), diff.compare(vm, prom)
        rows.append(
            {
                "query": case.id,
                "vm_class": case.vm_class,
                "embedded": diff.headline(emb),
                "prometheus": diff.headline(prom),
                "victoriametrics": diff.headline(vm),
                "emb_max_rel": d_emb.max_rel,
                "vm_max_rel": d_vm.max_rel,
                "emb_ok": v_emb.ok,
                "vm_ok": v_vm.ok,
                "series": len(prom.series),
                "points": d_emb.points,
                "p50_ms": {e: round(statistics.median(per_query[case.id][e]), 2) for e in ENGINES},
            }
        )

    w = max(len(r["query"]) for r in rows)
    print(
        f"\nAgreement on {len(rows)} IR queries, demo fleet, last {hours} h "
        "(value = last point of the first series; diff = max relative difference vs "
        "Prometheus over all points, then the verdict under the rule of the query's class, "
        "tests/differential.py VM_RULES: 'window' is judged against Prometheus at w-1s)\n"
    )
    head = f"{'query':{w}} | {'embedded':>24} | {'prometheus':>24} | {'victoriametrics':>24} | diff"
    print(head)
    print("-" * len(head) + "-" * 30)
    for r in rows:
        d = (
            f"emb {r['emb_max_rel']:.1e} {'ok' if r['emb_ok'] else 'FAIL'}; "
            f"vm {r['vm_max_rel']:.1e} ({r['vm_class']}) {'ok' if r['vm_ok'] else 'FAIL'}"
        )
        print(
            f"{r['query']:{w}} | {r['embedded']:>24} | {r['prometheus']:>24} | "
            f"{r['victoriametrics']:>24} | {d}"
        )

    print(f"\nLatency per query ({reps} timed rounds after a warm-up; ms)\n")
    print(f"{'query':{w}} | " + " | ".join(f"{e + ' p50':>20}" for e in ENGINES))
    for r in rows:
        print(f"{r['query']:{w}} | " + " | ".join(f"{r['p50_ms'][e]:>20.2f}" for e in ENGINES))
    summary = {
        e: {
            "p50_ms": round(percentile(lat[e], 50), 2),
            "p95_ms": round(percentile(lat[e], 95), 2),
            "mean_ms": round(statistics.fmean(lat[e]), 2),
            "n": len(lat[e]),
        }
        for e in ENGINES
    }
    print("\nAll queries together (ms)\n")
    print(f"{'engine':16} {'p50':>8} {'p95':>8} {'mean':>8} {'n':>6}")
    for e, s in summary.items():
        print(f"{e:16} {s['p50_ms']:8.2f} {s['p95_ms']:8.2f} {s['mean_ms']:8.2f} {s['n']:6d}")
    out = {
        "bench": "backends",
        "queries": len(rows),
        "reps": reps,
        "hours": hours,
        "latency": summary,
        "embedded_agrees": sum(r["emb_ok"] for r in rows),
        "victoriametrics_agrees": sum(r["vm_ok"] for r in rows),
        "failures": [r["query"] for r in rows if not (r["emb_ok"] and r["vm_ok"])],
    }
    print(json.dumps(out))
    return 0 if not out["failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
