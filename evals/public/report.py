"""The public suite's report: rates by system, class and language, then every case."""

from __future__ import annotations

from html import escape
from typing import Any

from evals.public.runner import PublicResult, PublicSummary

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0} table.cases{table-layout:fixed;width:100%}
table.cases td{overflow-wrap:anywhere} td,th{border:1px solid #ddd;padding:4px 8px;
vertical-align:top;text-align:left} th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#176b2c;font-weight:600} .fail{color:#a4161a;font-weight:600}
.bar{display:inline-block;height:.8em;background:#4c8bf5;vertical-align:middle}
pre{white-space:pre-wrap;margin:0;font-size:12px;max-height:14em;overflow:auto}
details summary{cursor:pointer}
"""


def _rate_table(title: str, rates: dict[str, dict[str, float]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td class=num>{int(v['cases'])}</td>"
        f"<td class=num>{int(v['passed'])}</td><td class=num>{v['pass_rate']:.1%}</td>"
        f"<td><span class=bar style='width:{v['pass_rate'] * 160:.0f}px'></span></td></tr>"
        for k, v in rates.items())
    return (f"<h2>By {escape(title)}</h2><table><tr><th>{escape(title)}</th><th>cases</th>"
            f"<th>passed</th><th>pass rate</th><th></th></tr>{rows}</table>")


def _expected(e: dict[str, Any]) -> str:
    if e.get("none"):
        return "there is none"
    parts = [f"{v['type']}: {v['value']}" for v in e.get("values", [])]
    parts += [f"phrase: {p}" for p in e.get("phrases", [])]
    return "; ".join(parts)


def _case_row(r: PublicResult) -> str:
    verdict = "<span class=pass>pass</span>" if r.passed else "<span class=fail>fail</span>"
    why = "<br>".join(escape(x) for x in r.reasons)
    return (f"<tr><td>{escape(r.id)}</td><td>{verdict}</td><td>{escape(r.question)}</td>"
            f"<td>{escape(_expected(r.expected))}</td><td>{escape(r.headline)}</td>"
            f"<td>{why}<details><summary>answer</summary><pre>{escape(r.answer)}</pre>"
            f"</details></td><td class=num>{r.latency_ms:.0f}</td></tr>")


def html_report(s: PublicSummary) -> str:
    """A self-contained HTML page."""
    load = ", ".join(f"{escape(k)} {v:.1f} s" for k, v in s.load_s.items())
    errors = "".join(f"<li>{escape(v)}</li>" for v in s.load_errors.values())
    cases = "".join(_case_row(r) for r in sorted(s.results, key=lambda r: (r.passed, r.id)))
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>opsa public eval</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Public suite: {s.passed} of {s.cases} passed ({s.pass_rate:.1%})</h1>"
        f"<p>Latency p50 {s.latency_ms['p50']:.0f} ms, p95 {s.latency_ms['p95']:.0f} ms; "
        f"whole run {s.elapsed_s:.0f} s. Loading: {load}.</p>"
        + (f"<p>Runbook retrieval over {s.retrieval['cases']:.0f} cases that name one: "
           f"recall@1 {s.retrieval['recall_at_1']:.1%}, recall@3 "
           f"{s.retrieval['recall_at_3']:.1%}.</p>" if s.retrieval else "")
        + (f"<p>Data sets that failed to load:</p><ul>{errors}</ul>" if errors else "")
        + _rate_table("system", s.by_system) + _rate_table("class", s.by_class)
        + _rate_table("language", s.by_language)
        + _rate_table("expected answer", s.by_answer)
        + "<h2>Cases (failures first)</h2><table class=cases><colgroup><col width=11%>"
        "<col width=4%><col width=17%><col width=17%><col width=24%><col width=23%>"
        "<col width=4%></colgroup><tr><th>id</th><th></th><th>question</th>"
        "<th>expected</th><th>headline</th><th>why / answer</th><th>ms</th></tr>"
        f"{cases}</table></body></html>")


def text_summary(s: PublicSummary) -> str:
    """The tables as plain text, for the terminal."""
    lines = [f"public suite: {s.passed}/{s.cases} passed ({s.pass_rate:.1%}); latency p50 "
             f"{s.latency_ms['p50']:.0f} ms, p95 {s.latency_ms['p95']:.0f} ms; "
             f"{s.elapsed_s:.0f} s"]
    for title, rates in (("system", s.by_system), ("class", s.by_class),
                         ("language", s.by_language), ("expected answer", s.by_answer)):
        lines.append(f"\nby {title}:")
        lines.extend(f"  {k:<24} {int(v['passed']):>4}/{int(v['cases']):<4} "
                     f"{v['pass_rate']:>6.1%}" for k, v in rates.items())
    if s.retrieval:
        lines.append(f"\nrunbook retrieval ({s.retrieval['cases']:.0f} cases): recall@1 "
                     f"{s.retrieval['recall_at_1']:.1%}, recall@3 "
                     f"{s.retrieval['recall_at_3']:.1%}")
    lines.extend(f"load error: {v}" for v in s.load_errors.values())
    return "\n".join(lines)
