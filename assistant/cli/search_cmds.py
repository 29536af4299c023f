"""`opsa index docs|catalog|events` and `opsa search`: the retrieval layer from the shell."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from assistant.cli.common import app, console, err_console, friendly, print_json, settings
from assistant.errors import OpsaError

if TYPE_CHECKING:  # chromadb takes a second to import: only commands that search pay it
    from assistant.retrieval import IndexReport, Retriever
    from assistant.settings import Settings

index_app = typer.Typer(
    help="Index runbooks and docs, the catalog, or recent events for search.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(index_app, name="index")

CollectionOpt = Literal["docs", "catalog", "events"]
MAX_FILE_MB = 2.0
"""Default of `opsa index docs --max-file-mb` (the retriever's own default, in MB)."""


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar fed by `Retriever` progress callbacks.

    None when quiet (`--json`) or when stderr is not a terminal: a bar redrawn into a pipe or
    a log file is noise (rich's live display still ends with a blank line there). The
    command's one-line summary on stdout says what was done either way.
    """
    if quiet or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _report(report: IndexReport, as_json: bool, failed: bool = False) -> None:
    """The summary line on stdout and each skipped file on stderr (one line each, never
    wrapped when piped). With `failed` the skipped files go into the error instead."""
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    console.print(report.summary(), highlight=False, markup=False,
                  soft_wrap=not console.is_terminal)
    if failed:
        return
    for label, files in (("skipped", report.skipped), ("warning", report.warnings)):
        for s in files:
            err_console.print(f"[yellow]{label}[/yellow] {escape(str(s.path))}: "
                              f"{escape(s.reason)}",
                              highlight=False, soft_wrap=not err_console.is_terminal)


def _nothing_indexed(report: IndexReport) -> OpsaError:
    """One error line for `opsa index docs` that indexed nothing: why, file by file."""
    why = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:3])
    more = f" (and {len(report.skipped) - 3} more)" if len(report.skipped) > 3 else ""
    return OpsaError("nothing was indexed" + (f" ({why}{more})" if why else "")
                     + "; check the paths")


def _retriever(s: Settings) -> Retriever:
    from assistant.retrieval import Retriever

    return Retriever(s)


@index_app.callback()
@friendly
def index(
    ctx: typer.Context,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete events older than the retention window.")
    ] = False,
) -> None:
    """Index content for search (`opsa index --prune` drops expired events)."""
    if ctx.invoked_subcommand is not None:
        return
    if not prune:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    s = settings()
    report = _retriever(s).prune(s.clock())
    console.print(report.summary(), highlight=False, markup=False,
                  soft_wrap=not console.is_terminal)


@index_app.command("docs")
@friendly
def index_docs(
    paths: Annotated[list[Path], typer.Argument(help="Markdown, text or HTML files or folders.")],
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the docs collection first (e.g. new embedder).")
    ] = False,
    max_file_mb: Annotated[
        float, typer.Option("--max-file-mb", min=0.001,
                            help="Skip files larger than this many megabytes.")
    ] = MAX_FILE_MB,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Index documents; unchanged files are skipped, removed files are dropped."""
    retriever = _retriever(settings())
    retriever.max_file_bytes = int(max_file_mb * 1_000_000)
    if rebuild:
        retriever.reset("docs")
    with _progress("embedding", as_json) as progress:
        report = retriever.index_docs(paths, progress=progress)
    nothing = report.chunks == 0 and report.unchanged == 0 and report.removed == 0
    _report(report, as_json, failed=nothing)
    if nothing:
        raise _nothing_indexed(report)


@index_app.command("catalog")
@friendly
def index_catalog(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the collection first.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Refresh the catalog collection (metrics, services, hosts) from the backend."""
    from assistant.services import Services

    s = settings()
    services = Services(s)
    try:
        catalog = services.catalog
        retriever = _retriever(s)
        if rebuild:
            retriever.reset("catalog")
        with _progress("embedding", as_json) as progress:
            report = retriever.index_catalog(catalog, progress=progress)
    finally:
        services.close()
    _report(report, as_json)


@index_app.command("events")
@friendly
def index_events(
    prune: Annotated[
        bool, typer.Option("--prune", help="Only delete events older than the retention window.")
    ] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the collection first.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Index the events of the retention window from the events backend."""
    from assistant.services import EVENTS_LIMIT, Services

    s = settings()
    retriever = _retriever(s)
    if prune:
        _report(retriever.prune(s.clock()), as_json)
        return
    services = Services(s)
    services.__dict__["_retriever"] = retriever  # the one opened above
    try:
        with _progress("embedding", as_json) as progress:
            report, truncated = services.refresh_events(progress=progress, rebuild=rebuild)
    finally:
        services.close()
    _report(report, as_json)
    if truncated:
        err_console.print(f"[yellow]only the first {EVENTS_LIMIT} events were indexed[/yellow]")


@app.command()
@friendly
def search(
    text: Annotated[str, typer.Argument(help='What to look for, e.g. "disk is full on db-01".')],
    collection: Annotated[
        CollectionOpt, typer.Option("--collection", "-c", help="docs, catalog or events.")
    ] = "docs",
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many results.")] = 5,
    service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind (runbook, metric, deploy, ...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
) -> None:
    """Search runbooks and docs, the catalog or recent events (hybrid: vectors + keywords)."""
    retriever = _retriever(settings())
    where: dict[str, str | int | float | bool | list[str | int | float | bool]] = {}
    if service:
        where["service"] = service
    if kind:
        where["kind"] = kind
    hits = retriever.search(text, collection=collection, k=k, where=where or None)
    if as_json:
        print_json([h.public() for h in hits])
        return
    if not hits:
        if retriever.count(collection) == 0:
            raise _empty(collection)
        console.print("no matches")
        return
    for rank, h in enumerate(hits, start=1):
        anchor = h.metadata.get("anchor")
        where_txt = f"{h.source}#{anchor}" if anchor else h.source
        exact = f"  [green]exact: {', '.join(h.exact)}[/green]" if h.exact else ""
        console.print(f"[bold]{rank}. {where_txt}[/bold]  {h.score:.3f}{exact}", highlight=False)
        console.print(f"   {h.heading}", style="cyan", highlight=False)
        snippet = " ".join(h.text.split())
        console.print(f"   {snippet[:200]}{'...' if len(snippet) > 200 else ''}", highlight=False)


def _empty(collection: str) -> OpsaError:
    hint = {
        "docs": "run `opsa demo` or `opsa index docs PATH`",
        "catalog": "run `opsa index catalog`",
        "events": "run `opsa index events`",
    }[collection]
    return OpsaError(f"the {collection} collection is empty; {hint}")
