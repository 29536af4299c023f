"""`opsa catalog` (what the backend holds) and `opsa query` (run one IR query)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from assistant.cli.common import app, console, friendly, more_rows, print_json, settings
from assistant.errors import IRError

if TYPE_CHECKING:  # the IR, the connectors and settings load when a command runs
    from assistant.ir import Query
    from assistant.settings import Settings
    from connectors.base import Catalog, Connector, Result, Series

JSON_OPT = typer.Option("--json", help="Machine output: one JSON document on stdout.")
SHOWN_POINTS = 12
SHOWN_METRICS = 50
SHOWN_NAMES = 40
"""`opsa catalog` lists this many metrics and names of each kind; the rest are counted."""
SHOWN_CHARS = 500
"""A displayed value (a log message, an event title) is cut here; `--json` has it whole."""


def _cut(value: object) -> str:
    text = "" if value is None else str(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}… ({len(text) - SHOWN_CHARS:,} more characters; --json)"


def open_connector(s: Settings, query: Query | None = None) -> Connector:
    """The configured connector for `query` (logs and events may have their own backend)."""
    from assistant.services import build_connector

    name = None
    if query is not None and query.kind == "events":
        name = s.events_backend
    elif query is not None and query.kind == "logs":
        name = s.logs_backend
    return build_connector(name or s.backend, s)


@app.command()
@friendly
def catalog(json_out: Annotated[bool, JSON_OPT] = False) -> None:
    """Show what exists: metrics (type, unit, labels), services, hosts, event kinds."""
    s = settings()
    conn = open_connector(s)
    try:
        cat = conn.catalog()
    finally:
        conn.close()
    if json_out:
        print_json(cat.model_dump(mode="json"))
        return
    _render_catalog(cat)


@app.command()
@friendly
def query(
    ir: Annotated[str, typer.Argument(help="One IR query as JSON ('-' reads stdin).")],
    json_out: Annotated[bool, JSON_OPT] = False,
) -> None:
    """Run one IR query; print the native query (SQL, PromQL) and the result."""
    from assistant.ir import parse_query

    text = sys.stdin.read() if ir == "-" else ir
    q = parse_query(text)
    if q.kind == "docs":
        raise IRError("docs queries are answered by retrieval; use 'opsa search TEXT'")
    s = settings()
    conn = open_connector(s, q)
    try:
        result = conn.run(q)
    finally:
        conn.close()
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    _render_result(result)


# -- rendering --------------------------------------------------------------------------


def _render_catalog(cat: Catalog) -> None:
    table = Table(title=f"{len(cat.metrics)} metrics", title_justify="left")
    for col in ("metric", "type", "unit", "labels"):
        table.add_column(col, overflow="fold")
    for m in cat.metrics[:SHOWN_METRICS]:
        labels = ", ".join(f"{k}({len(v)})" for k, v in m.labels.items())
        table.add_row(m.name, m.type, m.unit, labels)
    console.print(table)
    more_rows(len(cat.metrics), SHOWN_METRICS, "metrics")
    for title, values in (
        ("services", cat.services),
        ("hosts", cat.hosts),
        ("event kinds", cat.event_kinds),
        ("log levels", cat.log_levels),
    ):
        shown = ", ".join(values[:SHOWN_NAMES]) or "(none)"
        if len(values) > SHOWN_NAMES:
            shown += f" … and {len(values) - SHOWN_NAMES:,} more (use --json)"
        console.print(Text(f"{title}: ", style="bold") + Text(shown),
                      soft_wrap=not console.is_terminal)


def _render_result(r: Result) -> None:
    from rich.syntax import Syntax

    console.print(Text(f"native query ({r.connector}):", style="bold"))
    console.print(Syntax(r.native, "sql" if r.connector != "prometheus" else "text",
                         word_wrap=True))
    if r.series:
        _render_series(r.series, r.unit)
    if r.rows:
        _render_rows(r)
    for line in r.logs:
        lvl = (line.level or "-").upper()
        where = " ".join(x for x in (line.service, line.host) if x)
        fields = "".join(f" {{{k}={v}}}" for k, v in line.fields.items())
        console.print(Text(f"{_ts(line.ts)} {lvl:5} [{where}] {_cut(line.message)}"
                           f"{_cut(fields)}"))
    if r.events:
        table = Table()
        for col in ("time", "end", "kind", "service", "host", "status", "title"):
            table.add_column(col, overflow="fold")
        for e in r.events:
            table.add_row(_ts(e.ts), _ts(e.end) if e.end else "", e.kind, e.service or "",
                          e.host or "", e.status or "", _cut(e.title))
        console.print(table)
    for w in r.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    items = len(r.series) or len(r.rows) or len(r.logs) or len(r.events)
    summary = f"{items} item(s)"
    if r.groups is not None:
        summary = f"{r.groups} distinct value(s), {summary}"
    if r.total is not None:
        summary += f" of {r.total}"
    if r.truncated:
        summary += " (truncated)"
    if r.unit:
        summary += f" · unit {r.unit}"
    console.print(Text(f"{summary} · {r.elapsed_ms:.1f} ms", style="dim"))


def _render_series(series: list[Series], unit: str) -> None:
    if len(series) == 1 and len(series[0].points) <= SHOWN_POINTS:
        s = series[0]
        console.print(Text(f"{s.metric} {_labels(s)}", style="bold"))
        for t, v in s.points:
            console.print(Text(f"  {_ts(t)}  {_num(v)} {unit}".rstrip()))
        return
    names = sorted({s.metric for s in series})
    title = f"{', '.join(names)} ({unit})" if unit else ", ".join(names)
    table = Table(title=title, title_justify="left")
    for col in ("labels", "points", "min", "max", "last", "last at"):
        table.add_column(col, overflow="fold")
    for s in series:
        values = [v for _, v in s.points]
        if not values:
            continue
        table.add_row(
            _labels(s), str(len(values)), _num(min(values)), _num(max(values)),
            _num(values[-1]), _ts(s.points[-1][0]),
        )
    console.print(table)


def _render_rows(r: Result) -> None:
    if all("value" in row and "count" in row for row in r.rows):  # a count_by answer
        for row in r.rows:
            share = row.get("share")
            pct = f" {100 * share:5.1f}%" if isinstance(share, int | float) else ""
            console.print(Text(f"{row['count']:>9}{pct}  {_cut(row['value'])}"))
            example = row.get("example")
            if example and example != row["value"]:
                console.print(Text(f"{'':>17}e.g. {_cut(example)}", style="dim"))
        return
    cols = list(dict.fromkeys(k for row in r.rows for k in row))
    table = Table()
    for col in cols:
        table.add_column(col, overflow="fold")
    for row in r.rows:
        table.add_row(*(_cut(row.get(c)) for c in cols))
    console.print(table)


def _labels(s: Series) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())) + "}"


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _num(v: float) -> str:
    return f"{v:.6g}"
