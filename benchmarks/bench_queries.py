"""IR query latency on the embedded store (issue 2): p50/p95 over representative queries.

Needs a seeded demo (`opsa demo`) in $OPSA_DATA_DIR with OPSA_NOW pinned to its clock.

    python benchmarks/bench_queries.py [--reps 5]

Prints one line per query, the summary, and a final JSON line. Target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

from assistant.settings import load_settings
from connectors.embedded.connector import EmbeddedConnector
from connectors.embedded.examples import representative_queries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    s = load_settings()
    conn = EmbeddedConnector.from_settings(s)
    queries = representative_queries(s.clock())
    all_ms: list[float] = []
    per: list[tuple[str, float]] = []
    for q in queries:
        conn.run(q)  # warm caches
        times = []
        for _ in range(args.reps):
            t = time.perf_counter()
            conn.run(q)
            times.append((time.perf_counter() - t) * 1000)
        all_ms += times
        label = getattr(q, "metric", None) or q.kind
        per.append((f"{q.kind}:{label}", statistics.median(times)))
    for name, ms in per:
        print(f"{ms:8.1f} ms  {name}")
    xs = sorted(all_ms)
    p50, p95 = xs[len(xs) // 2], xs[min(len(xs) - 1, int(0.95 * len(xs)))]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(queries)} queries x {args.reps}: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"(target p95 < 100 ms: {p95 / 100:.2f}x of target), peak RSS {rss:.0f} MB")
    print(json.dumps({"bench": "queries", "queries": len(queries), "p50_ms": round(p50, 1),
                      "p95_ms": round(p95, 1), "peak_rss_mb": round(rss)}))


if __name__ == "__main__":
    main()
