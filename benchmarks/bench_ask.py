"""End-to-end `ask` latency on the demo fleet, per planner and phrasing mode, side by side.

Needs a seeded demo (`opsa demo`) in $OPSA_DATA_DIR (default ./.opsa) and OPSA_NOW pinned to
its clock. Questions are the eval cases' questions (not adversarial ones), asked in-process
through `Assistant.ask`, so start-up costs are measured once and reported apart.

    python benchmarks/bench_ask.py [--questions 60] [--llm-questions 10]

Prints a table and a final JSON line. Targets (issue 5): p50 < 1 s, p95 < 2.5 s with the
embedded default; peak RSS < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from assistant.core import Assistant
from assistant.services import Services
from assistant.settings import load_settings
from evals.schema import load_cases

CASES = Path(__file__).resolve().parents[1] / "evals" / "cases"


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def run(mode: str, phrasing: str, questions: list[str]) -> dict[str, float]:
    settings = load_settings(planner=mode, phrasing=phrasing)
    t0 = time.perf_counter()
    services = Services(settings)
    assistant = Assistant(services)
    assistant.ask(questions[0])  # warm: catalog, linker, retrieval, model
    warm_s = time.perf_counter() - t0
    lat = []
    for q in questions:
        t = time.perf_counter()
        assistant.ask(q)
        lat.append((time.perf_counter() - t) * 1000)
    services.close()
    return {"n": len(lat), "warmup_s": round(warm_s, 2), "p50_ms": round(pct(lat, 0.5), 1),
            "p95_ms": round(pct(lat, 0.95), 1), "mean_ms": round(statistics.fmean(lat), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--llm-questions", type=int, default=10)
    args = ap.parse_args()
    qs = [c.question for c in load_cases([CASES]) if "adversarial" not in c.tags
          and not c.history]
    qs = qs[: args.questions]
    rows = {
        "rules/template": run("rules", "template", qs),
        "hybrid/template": run("hybrid", "template", qs[: args.llm_questions]),
        "rules/llm": run("rules", "llm", qs[: args.llm_questions]),
    }
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'mode':18} {'n':>4} {'warm s':>7} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for name, r in rows.items():
        print(f"{name:18} {r['n']:>4} {r['warmup_s']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8} "
              f"{r['mean_ms']:>8}")
    base = rows["rules/template"]["p50_ms"] or 1
    for name, r in rows.items():
        print(f"{name:18} p50 ratio vs rules/template: {r['p50_ms'] / base:.2f}x")
    print(f"peak RSS {rss_mb:.0f} MB")
    print(json.dumps({"bench": "ask", "modes": rows, "peak_rss_mb": round(rss_mb)}))


if __name__ == "__main__":
    main()
