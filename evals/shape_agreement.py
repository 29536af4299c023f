"""How often the exemplar classifier (`assistant.shapes`) reads a public-suite question's
shape right, beside the shape implied by today's keyword rules (`assistant.intent`).

A measurement only: the bank is never tuned to these questions (tests/test_shapes.py fails
if an exemplar is a near-duplicate of one). Each case's ``class`` maps to the shape it
asks for (`EXPECTED`); ``log_first_last`` accepts either of first/last. The "lenient"
column also accepts ``log_count`` for ``log_count_window`` and back (the two differ only by
a time phrase, which the time reader handles on its own).

    python -m evals.shape_agreement [--cases DIR] [--json] [--misses]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from assistant.intent import HOW_TO, read_intent
from assistant.planner import ANOMALY_WORDS
from assistant.runbooks import asks_cause, asks_meaning_of_an_alert, question_role
from assistant.shapes import ShapeIndex, shape_index
from assistant.timeparse import strip_time_phrases, time_spans
from evals.public.oracle import CASES_DIR, load_cases

EXPECTED: dict[str, tuple[str, ...]] = {
    "log_busiest": ("log_busiest",),
    "log_count": ("log_count",),
    "log_count_by_level": ("log_count_by_level",),
    "log_count_window": ("log_count_window",),
    "log_distinct_count": ("log_distinct_count",),
    "log_distinct_list": ("log_distinct_list",),
    "log_first_last": ("log_first", "log_last"),
    "log_show_lines": ("log_show_lines",),
    "log_top_message": ("log_top_templates",),
    "log_top_values": ("log_top_values",),
    "metric_above_threshold": ("metric_threshold",),
    "metric_anomalies": ("metric_anomalies",),
    "metric_compare_days": ("metric_compare_periods",),
    "metric_daily_sum": ("metric_daily_sum",),
    "metric_mean": ("metric_mean",),
    "metric_min": ("metric_min",),
    "metric_p95": ("metric_quantile",),
    "metric_peak": ("metric_peak",),
    "runbook_diagnosis": ("docs_howto",),
    "runbook_mitigation": ("docs_howto",),
    "runbook_impact": ("docs_meaning",),
    "runbook_meaning": ("docs_meaning",),
}
"""A public-suite class -> the shapes that are right for it."""
LENIENT: dict[str, tuple[str, ...]] = {
    "log_count": ("log_count_window",),
    "log_count_window": ("log_count",),
}

_OVERVIEW = re.compile(
    r"everything (?:ok|okay|fine)|all good|any (?:problems|issues)|anything wrong|how are things"
    r"|overall health|health check|상태 어때|상태는 어때|괜찮아|별일 없|잘 돌아가", re.I)
_LOG_OPS = {
    "first": "log_first", "last": "log_last", "busiest": "log_busiest",
    "distinct_count": "log_distinct_count", "distinct_list": "log_distinct_list",
    "top_value": "log_top_values", "show": "log_show_lines", "level_count": "log_count_by_level",
}


STORE_KINDS: dict[str, frozenset[str]] = {
    "nab": frozenset({"metric", "events", "docs"}),
    "runbooks": frozenset({"metric", "events", "docs"}),
}
"""What the store a case is asked against holds (`evals.public.runner`: the NAB series, their
anomaly windows as incidents and the runbooks share one store; each log system has its own
store of logs). The live catalog tells the assistant as much."""
LOGS_ONLY = frozenset({"logs"})


def store_kinds(system: str) -> frozenset[str]:
    return STORE_KINDS.get(system, LOGS_ONLY)


def rules_shape(question: str, kinds: frozenset[str] = LOGS_ONLY) -> str:
    """The shape today's rules imply (`read_intent`, plus the runbook section a question asks
    for), roughly as the planner reads them. `kinds` stands in for the catalog: a store with
    metrics has its series linked as metrics; in a store of logs alone a metric reading is a
    question about lines."""
    text = strip_time_phrases(question)
    r = read_intent(text)
    timed = bool(time_spans(question))
    role = question_role(question) if "docs" in kinds else None
    if "refuse" in r.intents and not (role and asks_meaning_of_an_alert(question)):
        return "refuse_action"
    if role is not None and not asks_cause(question):
        return "docs_howto" if role in ("diagnosis", "mitigation") else "docs_meaning"
    if "logs" in kinds and r.log_op is None and r.log_op_if_logs:
        r.log_op = r.log_op_if_logs[0]
    if r.log_op in _LOG_OPS and "logs" in kinds:
        return _LOG_OPS[r.log_op]
    if "docs" in r.intents and "docs" in kinds:
        return "docs_howto" if HOW_TO.search(text) else "docs_meaning"
    if "why" in r.intents:
        return "status_overview" if _OVERVIEW.search(text) else "why"
    metric = "metric" in kinds and ("metric" in r.intents or "logs" not in kinds)
    if ANOMALY_WORDS.search(text) and "metric" in kinds:
        return "metric_anomalies"
    if metric and "logs" not in r.intents:
        if r.compare:
            return "metric_compare_periods"
        if r.threshold is not None:
            return "metric_threshold"
        if r.bucket_s is not None:
            return "metric_daily_sum"
        if r.stat in ("p50", "p90", "p95", "p99"):
            return "metric_quantile"
        stat_shape = {"avg": "metric_mean", "peak": "metric_peak", "lowest": "metric_min",
                      "sum": "metric_increase"}.get(r.stat or "")
        if stat_shape:
            return stat_shape
        if r.rate:
            return "metric_rate"
        return "metric_other"
    if "events" in r.intents and "logs" not in r.intents:
        return "events_alerts"
    if r.top_templates:
        return "log_top_templates"
    if "smalltalk" in r.intents:
        return "smalltalk"
    if "logs" in kinds:
        return "log_count_window" if timed else "log_count"
    return "unknown"


RULES_SPECIFIC = frozenset({*_LOG_OPS.values(), "refuse_action", "docs_howto",
                            "docs_meaning", "log_top_templates"})
"""Rules readings made from a specific trigger (a log operation, a runbook section, a
request to act), as opposed to the fall-through defaults (count, metric_other)."""


def combined_shape(rules: str, knn: str, knn_low: bool) -> str:
    """One way to combine them: a specific rules reading wins unless kNN is confident of
    something else; otherwise kNN (over the store's shapes)."""
    if rules in RULES_SPECIFIC and (knn_low or knn == rules):
        return rules
    return knn


def _pct(ok: int, n: int) -> str:
    return f"{100 * ok / n:5.1f}%" if n else "    -"


SYSTEMS = ("knn", "knn_store", "rules", "combined")
"""kNN over the whole bank; kNN over the shapes the case's store can answer; the rules;
`combined_shape`."""


def measure(cases: list[dict[str, Any]], index: ShapeIndex) -> dict[str, Any]:
    """Per case: expected shapes and each system's shape; with classify latencies."""
    rows: list[dict[str, Any]] = []
    lat: list[float] = []
    for c in cases:
        cls = c["class"]
        want = EXPECTED.get(cls)
        if want is None:
            continue
        q = c["question"]
        kinds = store_kinds(c["system"])
        t0 = time.perf_counter()
        guess = index.classify(q)
        lat.append((time.perf_counter() - t0) * 1000)
        store_guess = index.classify(q, kinds=kinds)
        shape = {"knn": guess.shape if guess else "none",
                 "knn_store": store_guess.shape if store_guess else "none",
                 "rules": rules_shape(q, kinds)}
        shape["combined"] = combined_shape(shape["rules"], shape["knn_store"],
                                           bool(store_guess and store_guess.low_confidence))
        lenient = want + LENIENT.get(cls, ())
        row: dict[str, Any] = {
            "id": c["id"], "class": cls, "language": c["language"], "question": q,
            "expected": list(want), **shape,
            "low_confidence": bool(store_guess and store_guess.low_confidence),
            "margin": round(store_guess.margin, 3) if store_guess else 0.0,
        }
        for name in SYSTEMS:
            row[f"{name}_ok"] = shape[name] in want
            row[f"{name}_lenient"] = shape[name] in lenient
        rows.append(row)
    return {"rows": rows, "latency_ms": lat}


def _line(name: str, g: list[dict[str, Any]]) -> str:
    n = len(g)
    strict = " ".join(_pct(sum(1 for r in g if r[f"{s}_ok"]), n) for s in SYSTEMS)
    lenient = " ".join(_pct(sum(1 for r in g if r[f"{s}_lenient"]), n) for s in SYSTEMS)
    return f"{name:24} {n:4d}  {strict}   {lenient}"


def report(result: dict[str, Any]) -> str:
    rows = result["rows"]
    heads = " ".join(f"{h:>6}" for h in ("kNN", "kNN+st", "rules", "comb"))
    lines = [f"{'':24} {'n':>4}  {heads}   {heads}  (right: strict | lenient)"]
    for key in ("class", "language"):
        lines.append(f"-- by {key}")
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            groups[r[key]].append(r)
        lines.extend(_line(name, groups[name]) for name in sorted(groups))
    lines.append(_line("all", rows))
    n = len(rows)
    low = [r for r in rows if r["low_confidence"]]
    sure = [r for r in rows if not r["low_confidence"]]
    lines.append(
        f"kNN+store low confidence: {len(low)} of {n}; right among them "
        f"{_pct(sum(1 for r in low if r['knn_store_ok']), len(low))}, among the confident "
        f"{_pct(sum(1 for r in sure if r['knn_store_ok']), len(sure))}")
    either = sum(1 for r in rows if r["knn_store_ok"] or r["rules_ok"])
    lines.append(f"kNN+store or rules right: {_pct(either, n)}")
    lat = sorted(result["latency_ms"])
    if lat:
        lines.append(f"classify latency (incl. embedding the question): p50 "
                     f"{lat[len(lat) // 2]:.1f} ms, p95 {lat[int(len(lat) * 0.95)]:.1f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--cases", type=Path, default=CASES_DIR)
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="where the exemplar vectors are cached (default: a temporary dir)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true", help="list the cases kNN gets wrong")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        index = shape_index(args.data_dir or Path(tmp))
        if index.vectors() is None:
            print("the e5 embedder is unavailable", file=sys.stderr)
            return 1
        result = measure(load_cases(args.cases), index)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    print(report(result))
    if args.misses:
        for r in result["rows"]:
            if not r["knn_store_ok"]:
                print(f"  {r['class']:22} {r['language']} kNN={r['knn_store']:22} "
                      f"rules={r['rules']:22} {r['question']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
