"""`opsa status`: what this data directory holds, so you know what you can ask about."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli.common import app, console, friendly, print_json, settings

if TYPE_CHECKING:  # loads DuckDB and the retrieval metadata: only when the command runs
    from assistant.store_status import Span, StoreStatus


@app.command()
@friendly
def status(json_out: Annotated[bool, typer.Option("--json", help="Machine output.")] = False
           ) -> None:
    """Show what the store holds: sources, services, hosts, metrics, periods, counts, index."""
    from assistant.store_status import store_status

    st = store_status(settings())
    if json_out:
        print_json(st.model_dump(mode="json"))
        return
    for line in status_lines(st):
        console.print(line, highlight=False, markup=False, soft_wrap=not console.is_terminal)


def _period(span: Span) -> str:
    if not span.rows or span.first is None or span.last is None:
        return ""
    return f", {span.first:%Y-%m-%d %H:%M} to {span.last:%Y-%m-%d %H:%M} UTC"


def _names(names: list[str]) -> str:
    from assistant.store_status import NAMES_SHOWN

    more = (f" … and {len(names) - NAMES_SHOWN:,} more (use --json)"
            if len(names) > NAMES_SHOWN else "")
    return ", ".join(names[:NAMES_SHOWN]) + more if names else "(none)"


def status_lines(st: StoreStatus) -> list[str]:
    """The status as plain lines (what `opsa status` prints)."""
    from assistant.store_status import NAMES_SHOWN

    out = [f"data directory: {st.data_dir}"]
    if not st.store:
        out.append("telemetry: none yet; 'opsa ingest logs|metrics|events FILE' or 'opsa demo'")
    else:
        out += [
            f"log lines: {st.logs.rows:,}{_period(st.logs)} ({st.templates:,} templates)",
            f"metric samples: {st.samples.rows:,}{_period(st.samples)} ({st.metrics:,} "
            f"metrics, {st.series:,} series)",
            f"events: {st.events.rows:,}{_period(st.events)}",
            f"services: {_names(st.services)}",
            f"hosts: {_names(st.hosts)}",
        ]
        if st.levels:
            out.append("log levels: " + ", ".join(f"{k} {v:,}" for k, v in st.levels.items()))
        if st.sources:
            out.append(f"sources ({len(st.sources)}):")
            if len(st.sources) > NAMES_SHOWN:
                out.append(f"  … {len(st.sources) - NAMES_SHOWN:,} earlier, not shown "
                           "(use --json); the latest:")
            out += [f"  {s.kind} {s.path}: {s.rows:,} rows, {s.at:%Y-%m-%d %H:%M}"
                    for s in st.sources[-NAMES_SHOWN:]]
    indexed = ", ".join(f"{k} {v:,}" for k, v in st.indexed.items())
    out.append(f"search index: {indexed or 'nothing indexed; opsa index docs DIR'}")
    out += [f"problem: {p}" for p in st.problems]
    return out
