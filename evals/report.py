"""Eval reports a person reads: markdown and a self-contained HTML page; and run comparison."""

from __future__ import annotations

import html
from typing import Any

from evals.runner import RunSummary


def _headline(s: RunSummary) -> list[tuple[str, str]]:
    return [
        ("cases", str(s.cases)),
        ("passed", f"{s.passed} ({s.pass_rate:.1%})"),
        ("plan accuracy", f"{s.plan_accuracy:.1%}"),
        ("numeric accuracy", f"{s.numeric_accuracy:.1%}"),
        ("grounding violations", str(s.grounding_violations)),
        ("latency p50 / p95", f"{s.latency_ms['p50']:.0f} / {s.latency_ms['p95']:.0f} ms"),
        ("must-pass failures", ", ".join(s.must_pass_failed) or "none"),
        ("planner / phrasing / model", f"{s.planner} / {s.phrasing} / {s.model or '-'}"),
    ]


def _confusion_rows(s: RunSummary) -> list[tuple[str, str, str, int]]:
    rows = []
    for slot, table in sorted(s.slot_confusion.items()):
        for exp, gots in sorted(table.items()):
            for got, n in sorted(gots.items(), key=lambda kv: -kv[1]):
                if got != exp:
                    rows.append((slot, exp, got, n))
    return rows


def markdown(s: RunSummary) -> str:
    out = [f"# Eval run {s.run_id}", ""]
    out += ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in _headline(s)]
    out += ["", "## By tag", "", "| tag | cases | pass rate |", "|---|---:|---:|"]
    out += [f"| {t} | {int(v['cases'])} | {v['pass_rate']:.1%} |" for t, v in s.by_tag.items()]
    out += ["", "## Slot confusion (mistakes only)", "",
            "| slot | expected | got | n |", "|---|---|---|---:|"]
    out += [f"| {a} | {b} | {c} | {n} |" for a, b, c, n in _confusion_rows(s)] or ["| - | | | |"]
    out += ["", "## Failures", ""]
    for r in s.results:
        if r.passed:
            continue
        out += [f"### {r.id}", "", f"**Q:** {r.question}", "", f"**A:** {r.answer}", ""]
        for sc in r.scores:
            if not sc["ok"]:
                out.append(f"- **{sc['name']}**: {sc['detail']}")
                if sc.get("expected") is not None:
                    out.append(f"  - expected: `{sc['expected']}`")
                    out.append(f"  - got: `{sc['got']}`")
        for q in r.queries:
            out.append(f"- query ({q['purpose']}, {'ok' if q['ok'] else q['error']}): "
                       f"`{q['native'][:300]}`")
        out.append("")
    return "\n".join(out) + "\n"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                  for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def html_report(s: RunSummary) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>opsa eval {html.escape(s.run_id)}</title><style>",
        "body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}",
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;",
        "padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}",
        ".fail{border-left:4px solid #c33;padding:.2rem .8rem;margin:1rem 0;background:#fff8f8}",
        "code,pre{background:#f6f6f6;font-size:12px;white-space:pre-wrap}",
        "</style></head><body>",
        f"<h1>Eval run {html.escape(s.run_id)}</h1>",
        _table(["metric", "value"], [list(x) for x in _headline(s)]),
        "<h2>By tag</h2>",
        _table(["tag", "cases", "pass rate"],
               [[t, int(v["cases"]), f"{v['pass_rate']:.1%}"] for t, v in s.by_tag.items()]),
        "<h2>Slot confusion (mistakes only)</h2>",
        _table(["slot", "expected", "got", "n"], [list(r) for r in _confusion_rows(s)]),
        "<h2>Failures</h2>",
    ]
    for r in s.results:
        if r.passed:
            continue
        parts.append(f"<div class='fail'><h3>{html.escape(r.id)}</h3>")
        parts.append(f"<p><b>Q:</b> {html.escape(r.question)}</p>")
        parts.append(f"<p><b>A:</b> {html.escape(r.answer)}</p><ul>")
        for sc in r.scores:
            if not sc["ok"]:
                parts.append(f"<li><b>{html.escape(sc['name'])}</b>: {html.escape(sc['detail'])}"
                             f"<br>expected: <code>{html.escape(str(sc.get('expected')))}</code>"
                             f"<br>got: <code>{html.escape(str(sc.get('got')))}</code></li>")
        parts.append("</ul><details><summary>queries run</summary>")
        for q in r.queries:
            parts.append(f"<pre>{html.escape(q['purpose'])}: {html.escape(q['native'])}</pre>")
        parts.append("</details></div>")
    parts.append("</body></html>")
    return "".join(parts)


def compare(a: RunSummary, b: RunSummary) -> str:
    """Two runs side by side: headline, per tag, and the cases whose outcome differs."""
    out = [f"| | {a.run_id} | {b.run_id} |", "|---|---|---|"]
    for (k, va), (_, vb) in zip(_headline(a), _headline(b), strict=True):
        out.append(f"| {k} | {va} | {vb} |")
    out += ["", "| tag | A | B |", "|---|---:|---:|"]
    for tag in sorted(set(a.by_tag) | set(b.by_tag)):
        ra = a.by_tag.get(tag, {}).get("pass_rate")
        rb = b.by_tag.get(tag, {}).get("pass_rate")
        out.append(f"| {tag} | {'-' if ra is None else f'{ra:.1%}'} | "
                   f"{'-' if rb is None else f'{rb:.1%}'} |")
    ra_map = {r.id: r.passed for r in a.results}
    flips = [(r.id, ra_map[r.id], r.passed) for r in b.results
             if r.id in ra_map and ra_map[r.id] != r.passed]
    out += ["", f"cases whose outcome differs: {len(flips)}"]
    out += [f"- {cid}: {'pass' if pa else 'fail'} -> {'pass' if pb else 'fail'}"
            for cid, pa, pb in flips]
    return "\n".join(out) + "\n"
