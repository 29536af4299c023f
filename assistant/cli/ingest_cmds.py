"""`opsa ingest metrics|logs|events PATH...`: load files into the embedded store."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from assistant.cli.common import (
    ROWS_SHOWN,
    app,
    console,
    err_console,
    friendly,
    more_rows,
    print_json,
    settings,
)
from assistant.errors import ConfigError, IngestError

if TYPE_CHECKING:
    from assistant.ingest.pipeline import IngestReport


class IngestKind(StrEnum):
    metrics = "metrics"
    logs = "logs"
    events = "events"


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise IngestError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


@app.command()
@friendly
def ingest(
    kind: Annotated[IngestKind, typer.Argument(help="What the files hold.")],
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (gzip is fine).")],
    year: Annotated[
        int | None, typer.Option("--year", help="Year for year-less logs (syslog, glog).")
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="Zone of timestamps without an offset.")
    ] = "UTC",
    service: Annotated[
        str | None, typer.Option("--service", help="Service of log lines that name no program "
                                   "or service of their own.")
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Host of log lines without one.")
    ] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Metric name of CSV rows.")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="k=v label for all samples (repeat).")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="JSON logs: role=field, e.g. ts=time msg=text (repeat)."),
    ] = None,
    event_kind: Annotated[
        str | None, typer.Option("--event-kind", help="Kind of events that name none.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Rows per write [ingest.batch_size].")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Logs: print each file's inferred layout; write nothing."),
    ] = False,
) -> None:
    """Load metrics (Prometheus/OpenMetrics text, CSV), logs (text of any origin, JSON lines)
    or events (JSON, Alertmanager webhooks) into the local store. Re-running adds nothing."""
    from pydantic import ValidationError

    from assistant.ingest.pipeline import IngestFailed, IngestOptions, explain_logs, ingest_paths

    cfg = settings()
    fields = _pairs(field, "--field")
    if "msg" in fields:
        fields["message"] = fields.pop("msg")
    try:
        options = IngestOptions(
            year=year,
            timezone=timezone,
            service=service,
            host=host,
            json_fields=fields,
            metric=metric,
            labels=_pairs(label, "--label"),
            default_ts=cfg.now,
            event_kind=event_kind,
            batch_size=batch_size or cfg.ingest.batch_size,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"bad ingest option: {problems}") from None
    if explain:
        if kind is not IngestKind.logs:
            raise IngestError("--explain is for logs: opsa ingest logs --explain FILE")
        _show_explained(explain_logs(paths, options), json_out)
        return
    try:
        # a progress bar only on a terminal: redrawn into a pipe it is noise (a blank line)
        bar = not json_out and err_console.is_terminal
        report = ingest_paths(cfg.store_path, kind.value, paths, options, progress=bar)
    except IngestFailed as exc:
        _show(exc.report, json_out)
        raise
    _show(report, json_out)


def _show(report: IngestReport, json_out: bool) -> None:
    if json_out:
        print_json(report.to_dict())
        return
    piped = not console.is_terminal  # one line per message, never wrapped
    table = Table(title=f"ingest {report.kind}", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("format", overflow="fold")
    for col in ("lines", "added", "dup", "bad"):
        table.add_column(col, justify="right")
    table.add_column("status")
    for f in report.files[:ROWS_SHOWN]:
        table.add_row(
            escape(_short(f.path)),
            escape(f.format or "-"),
            f"{f.lines:,}",
            f"{f.rows_added:,}",
            f"{f.rows_duplicate:,}",
            f"{f.malformed:,}",
            f.status,
        )
    console.print(table)
    more_rows(len(report.files), ROWS_SHOWN, "files")
    if report.kind == "logs":
        _show_services(report)
    extra = []
    if report.series_added:
        extra.append(f"{report.series_added:,} new series")
    if report.templates_added:
        extra.append(f"{report.templates_added:,} new log templates")
    if report.events_updated:
        extra.append(f"{report.events_updated:,} events updated")
    console.print(
        f"{report.rows_added:,} rows added, {report.rows_skipped_duplicate:,} already stored "
        f"(dup), {report.malformed:,} malformed lines (bad) in {report.elapsed_s:.1f} s"
        + (f"; {', '.join(extra)}" if extra else ""),
        highlight=False, soft_wrap=piped,
    )
    for f in report.files:
        if report.kind == "logs" and f.status == "ok":
            console.print(
                f"  {_short(f.path)}: {f.parsed_lines:,} lines parsed by {f.format}, "
                f"{f.raw_lines:,} not ({_raw_fate(f)})",
                highlight=False,
                markup=False, soft_wrap=piped,
            )
        for note in f.notes:
            console.print(f"  note {_short(f.path)}: {note}", highlight=False, markup=False,
                          soft_wrap=piped)
        if f.status != "ok":
            console.print(
                f"  {f.status} {_short(f.path)}: {f.reason}", highlight=False, markup=False,
                soft_wrap=piped,
            )
    for path, line_no, reason in report.malformed_examples:
        console.print(f"  malformed {path}:{line_no}: {reason}", highlight=False, markup=False,
                      soft_wrap=piped)


def _show_services(report: IngestReport) -> None:
    """Logs: per file (its inferred layout) and service, what was stored and the period."""
    rows = [(f, sc) for f in report.files for sc in f.services]
    if not rows:
        return
    table = Table(title="by service (added: stored now; dup: already stored)", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("layout", overflow="fold")
    table.add_column("service", overflow="fold")
    table.add_column("added", justify="right")
    table.add_column("dup", justify="right")
    table.add_column("period (UTC)", no_wrap=True)
    last_file = None
    for f, sc in rows[:ROWS_SHOWN]:
        first_of_file = f is not last_file
        last_file = f
        table.add_row(
            escape(_short(f.path)) if first_of_file else "",
            escape((f.format or "-").split(" (")[0]) if first_of_file else "",
            escape(sc.service or "-"),
            f"{sc.stored:,}",
            f"{sc.skipped:,}",
            _span(sc.first, sc.last),
        )
    console.print(table)
    more_rows(len(rows), ROWS_SHOWN, "rows")


def _span(first: datetime | None, last: datetime | None) -> str:
    if first is None or last is None:
        return "-"
    if first.date() == last.date():
        return f"{first:%Y-%m-%d %H:%M}–{last:%H:%M}"
    return f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}"


def _raw_fate(f: object) -> str:
    fmt = str(getattr(f, "format", "") or "")
    single = fmt.startswith("access-log") or fmt == "json-lines"
    return "malformed, dropped" if single else "kept raw in the previous entry"


def _show_explained(items: list[dict[str, object]], json_out: bool) -> None:
    if json_out:
        print_json(items)
        return
    for item in items:
        console.print(f"{_short(str(item['path']))}", highlight=False, markup=False, style="bold")
        if "error" in item:
            console.print(f"  {item['error']}", highlight=False, markup=False)
            continue
        for line in _explained_lines(item):
            console.print("  " + line, highlight=False, markup=False, soft_wrap=True)


def _explained_lines(item: dict[str, object]) -> list[str]:
    if item.get("layout") == "json-lines":
        return ["layout: json-lines", f"fields: {item.get('fields')}"]
    ts = item.get("timestamp")
    tsd = ts if isinstance(ts, dict) else {}
    lines = [
        f"layout: {item['layout']}",
        f"timestamp: {tsd.get('format')}"
        + (f" (e.g. {tsd['example']})" if tsd.get("example") else "")
        + f", {tsd.get('position')}",
    ]
    if tsd.get("year"):
        lines.append(f"year: {tsd['year']}")
    for key in ("host", "service", "pid", "level"):
        lines.append(f"{key}: {item.get(key) or '-'}")
    others = item.get("other")
    for o in others if isinstance(others, list) else []:
        at = f" ({o['at']}; e.g. {', '.join(o.get('examples', []))})" if "at" in o else ""
        lines.append(f"attr {o['field']}{at}")
    sample = item.get("sample")
    sd = sample if isinstance(sample, dict) else {}
    lines.append(f"regex: {item.get('regex')}")
    lines.append(f"sample: {sd.get('parsed')} of {sd.get('lines')} lines parsed")
    return lines


def _short(path: str) -> str:
    """A path relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


__all__ = ["ingest"]
