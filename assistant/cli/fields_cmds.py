"""`opsa fields`: the field catalog of the log templates (`assistant.log_fields`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from assistant.cli.common import app, console, friendly, more_rows, print_json, settings

if TYPE_CHECKING:  # the connectors load when the command runs
    from assistant.log_fields import TemplateField

SHOWN_FIELDS = 50
TEMPLATE_CHARS = 80
EXAMPLE_CHARS = 40
"""`opsa fields` shows this many fields and this much of each template and example;
`--json` has all."""


@app.command()
@friendly
def fields(
    service: Annotated[str | None, typer.Option(help="Only templates seen in this service.")]
    = None,
    template: Annotated[int | None, typer.Option(help="Only this template id.")] = None,
    type_: Annotated[str | None, typer.Option(
        "--type", help="Only fields of this type (ipv4, number, uuid, path, ...).")] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Machine output: one JSON document on stdout.")] = False,
) -> None:
    """Show the values inside log messages as fields: per template, each placeholder's
    name, type, unit, distinct values and examples. Query one with
    {"extract": {"kind": "field", "key": "<template_id>.<name>"}} in 'opsa query'."""
    from assistant.services import build_connector

    s = settings()
    conn = build_connector(s.logs_backend or s.backend, s)
    try:
        found = conn.log_fields()
    finally:
        conn.close()
    found = [f for f in found
             if (service is None or service in f.services)
             and (template is None or f.template_id == template)
             and (type_ is None or f.type == type_)]
    if json_out:
        print_json([{**asdict(f), "key": f.key} for f in found])
        return
    _render(found)


def _render(found: list[TemplateField]) -> None:
    templates = len({f.template_id for f in found})
    table = Table(title=f"{len(found)} fields in {templates} templates", title_justify="left")
    for col in ("key", "type", "distinct", "lines", "examples", "template"):
        table.add_column(col, overflow="fold")
    for f in found[:SHOWN_FIELDS]:
        kind = f"{f.type} ({f.unit})" if f.unit else f.type
        examples = ", ".join(_cut(v, EXAMPLE_CHARS) for v in f.examples)
        table.add_row(*(Text(v) for v in (f.key, kind, f"{f.distinct:,}", f"{f.lines:,}",
                                          examples, _cut(f.template, TEMPLATE_CHARS))))
    console.print(table)
    more_rows(len(found), SHOWN_FIELDS, "fields")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
