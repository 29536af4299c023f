"""`opsa demo`: seed the store with the simulated fleet and say what exists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from assistant.cli.common import app, console, err_console, friendly, print_json, settings
from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.demo.export import ExportStats
    from assistant.demo.export_clickhouse import ClickHouseExport
    from assistant.demo.seed import DemoSummary
    from assistant.models import Answer
    from assistant.settings import Settings

@app.command()
@friendly
def demo(
    scale: Annotated[
        float, typer.Option("--scale", help="Log volume: 1.0 is about 1M lines.")
    ] = 1.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed + clock = same data).")
    ] = 42,
    export: Annotated[
        tuple[str, Path] | None,
        typer.Option(
            "--export",
            metavar="FORMAT PATH",
            help="Also write the metric samples as 'openmetrics' (promtool backfill, seconds) "
            "or 'prometheus-text' (VictoriaMetrics import, milliseconds), or every table as "
            "'clickhouse' (a directory: schema.sql, one Parquet file per table, load.sh).",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
    index: Annotated[
        bool, typer.Option("--index/--no-index", help="Index runbooks, catalog and events.")
    ] = True,
    answer: Annotated[
        bool, typer.Option("--answer/--no-answer", help="Answer three sample questions.")
    ] = True,
) -> None:
    """Seed a simulated 24 h production fleet, index its runbooks, answer sample questions.

    The demo lives in its own directory (./.opsa-demo, OPSA_DEMO_DATA_DIR), apart from your
    data; ask about it with 'opsa --demo ask ...'. With --data-dir (or OPSA_DATA_DIR) it
    seeds that directory instead. Replaces earlier demo data there.
    """
    from assistant.demo.export import FORMATS, export_metrics
    from assistant.demo.seed import seed_demo

    if export is not None and export[0] not in (*FORMATS, CLICKHOUSE):
        raise ConfigError(
            f"unknown export format {export[0]!r}; use one of: {', '.join(FORMATS)}, "
            f"{CLICKHOUSE}"
        )
    s = settings(demo=True)
    summary = seed_demo(s, scale=scale, seed=seed, progress=not json_out)
    stats, ch_export = None, None
    if export is not None and export[0] == CLICKHOUSE:
        from assistant.demo.export_clickhouse import export_clickhouse

        ch_export = export_clickhouse(summary.store_path, export[1])
    elif export is not None:
        stats = export_metrics(summary.store_path, export[0], export[1])
    indexed = index_demo(s, progress=not json_out) if index else {}
    answers = [ask_sample(s, q) for q in SAMPLE_QUESTIONS] if answer else []
    if json_out:
        out: dict[str, Any] = summary.model_dump(mode="json")
        if stats is not None:
            out["export"] = {"path": str(stats.path), "format": stats.format,
                             "series": stats.series, "samples": stats.samples}
        if ch_export is not None:
            out["export"] = clickhouse_export_json(ch_export)
        out["indexed"] = indexed
        out["answers"] = [a.model_dump(mode="json") for a in answers]
        print_json(out)
        return
    _print_summary(summary, stats)
    if ch_export is not None:
        print_clickhouse_export(ch_export)
    if indexed:
        console.print("indexed into Chroma: " + ", ".join(
            f"{name} {n:,} entries" for name, n in indexed.items()), highlight=False)
    from assistant.cli.ask_cmds import render_answer

    for ans in answers:
        console.rule(f"[bold]{ans.question}[/bold]")
        render_answer(ans)
    if s.data_dir == s.demo_data_dir:
        console.print()
        for line in where_lines(s):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def where_lines(s: Settings) -> list[str]:
    """Where the demo lives, apart from the user's data, and how to ask about it."""
    own = type(s).model_fields["data_dir"].default
    return [
        f"The demo lives in {s.demo_data_dir}, apart from your own data ({own}).",
        'Ask about it: opsa --demo ask "which service logged the most errors?"; '
        "also opsa --demo status, opsa --demo serve.",
    ]


CLICKHOUSE = "clickhouse"


def clickhouse_export_json(ex: ClickHouseExport) -> dict[str, Any]:
    """The `--json` form of a ClickHouse export: where, what, and how to load it."""
    return {"path": str(ex.path), "format": CLICKHOUSE, "tables": ex.tables,
            "files": [str(f) for f in ex.files], "next_step": ex.next_step}


def print_clickhouse_export(ex: ClickHouseExport) -> None:
    """Tables and row counts written, and the command that loads them into a server."""
    table = Table(title="Exported for ClickHouse", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in ex.tables.items():
        table.add_row(f"{name}.parquet", f"{rows:,}")
    console.print(table)
    console.print(f"wrote {len(ex.files)} files to {ex.path} (DDL in schema.sql)",
                  highlight=False, markup=False)
    console.print(f"next: {ex.next_step}", highlight=False, markup=False)


SAMPLE_QUESTIONS = (
    "which hosts had the highest cpu in the last 6 hours?",
    "why did checkout start failing in the last 3 hours?",
    "how do we fix a full disk?",
)


def index_demo(s: Settings, progress: bool) -> dict[str, int]:
    """Runbooks, the catalog and the last 24 h of events into their Chroma collections."""
    from datetime import timedelta

    from assistant.demo.knowledge import index_demo_knowledge
    from assistant.ir import EventQuery, TimeRange
    from assistant.retrieval import Retriever
    from assistant.services import Services

    services = Services(s)
    try:
        retriever = Retriever(s)
        now = s.clock()
        docs = index_demo_knowledge(retriever)
        catalog = retriever.index_catalog(services.catalog)
        q = EventQuery(time_range=TimeRange(start=now - timedelta(days=1), end=now), limit=10_000)
        events = retriever.index_events(services.backend.run(q).events, now)
    finally:
        services.close()
    _ = progress
    return {"docs": docs.chunks + docs.unchanged, "catalog": catalog.chunks + catalog.unchanged,
            "events": events.chunks + events.unchanged}


def ask_sample(s: Settings, question: str) -> Answer:
    from assistant.core import Assistant
    from assistant.services import Services

    services = Services(s)
    try:
        return Assistant(services).ask(question)
    finally:
        services.close()


def _print_summary(s: DemoSummary, stats: ExportStats | None) -> None:
    if s.replaced:
        err_console.print(f"replaced the earlier store and demo data in {s.data_dir}")
    console.print(
        f"[bold]Demo fleet[/bold] seed {s.seed}, scale {s.scale:g}: "
        f"{s.start:%Y-%m-%d %H:%M} to {s.end:%Y-%m-%d %H:%M} UTC every {s.step_s} s"
    )
    services = ", ".join(f"{k} ({', '.join(v)})" for k, v in s.services.items())
    console.print(f"{len(s.hosts)} hosts, {len(s.services)} services: {services}",
                  highlight=False)
    kinds = ", ".join(f"{n} {k}" for k, n in s.event_kinds.items())
    console.print(
        f"{s.metrics} metrics, {s.series:,} series, {s.samples:,} samples; "
        f"{s.log_rows:,} log entries from {s.log_files} files ({s.log_templates:,} templates); "
        f"{s.events} events ({kinds})",
        highlight=False,
    )
    table = Table(title="Injected scenarios", title_justify="left")
    for col in ("id", "service", "hosts", "start (UTC)", "end (UTC)"):
        table.add_column(col)
    for sc in s.scenarios:
        end = "ongoing" if sc.ongoing else f"{sc.end:%m-%d %H:%M}"
        table.add_row(sc.id, sc.service, ", ".join(sc.hosts), f"{sc.start:%m-%d %H:%M}", end)
    console.print(table)
    if stats is not None:
        console.print(f"exported {stats.samples:,} samples of {stats.series} series as "
                      f"{stats.format} to {stats.path}")
    t = s.timings_s
    console.print(
        f"store {s.store_path}, ground truth {s.ground_truth_path}; took {t.get('total', 0):.1f} s "
        f"(metrics {t.get('generate_metrics', 0) + t.get('write_metrics', 0):.1f} s, logs "
        f"{t.get('generate_logs', 0):.1f} s + ingest {t.get('ingest_logs', 0):.1f} s)",
        highlight=False,
    )
