"""`opsa ask` and `opsa chat`: the terminal front door."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from assistant.cli.common import app, console, friendly, print_json, settings
from assistant.cli.sparkline import sparkline_lines

if TYPE_CHECKING:
    from assistant.core import AskOptions, Assistant
    from assistant.models import Answer

PlannerOpt = Annotated[
    str | None, typer.Option("--planner", help="rules | llm | hybrid [OPSA_PLANNER]")
]
PhrasingOpt = Annotated[
    str | None, typer.Option("--phrasing", help="template | llm [OPSA_PHRASING]")
]
BackendOpt = Annotated[
    str | None, typer.Option("--backend", help="metrics/logs connector, e.g. prometheus")
]


def build_assistant(
    planner: str | None, phrasing: str | None, backend: str | None = None
) -> Assistant:
    from assistant.conversation import ConversationStore
    from assistant.core import Assistant
    from assistant.services import Services

    s = settings(planner=planner, phrasing=phrasing, backend=backend)
    # A data directory that does not exist is not made here: asking creates nothing on disk.
    keep = s.data_dir / "conversations.sqlite" if s.data_dir.is_dir() else None
    return Assistant(Services(s), ConversationStore(keep))


def render_answer(ans: Answer, show_queries: bool = False) -> None:
    """A person's view of an answer: its text (headline, window, evidence, sources), a
    sparkline of each series it used, and with `show_queries` the facts, the native queries
    run and the time taken.

    In a terminal the text sits in a panel; piped, it is printed as is, never wrapped, and
    the sparklines only with `show_queries` (`-v`), so that piped text stays plain.
    """
    style = "yellow" if (ans.refused or ans.clarification) else "green"
    if console.is_terminal:
        console.print(Panel(Text(ans.answer), title="answer", border_style=style,
                            expand=False))
    else:
        console.print(Text(ans.answer), soft_wrap=True)
    if not ans.grounded:
        console.print("[yellow]a number in this answer is not backed by the query results"
                      "[/yellow]", soft_wrap=not console.is_terminal)
    if (console.is_terminal or show_queries) and console.encoding.startswith("utf"):
        for line in sparkline_lines(ans.chart):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if show_queries:
        _render_details(ans)


def _render_details(ans: Answer) -> None:
    if ans.time_range:
        tr = ans.time_range
        console.print(f"[dim]window: {tr.start.isoformat()} .. {tr.end.isoformat()} "
                      f"({tr.timezone})[/dim]")
    if ans.facts:
        t = Table("fact", "value", "where", "at", title="facts", title_justify="left")
        for f in ans.facts[:15]:
            where = ", ".join(f"{k}={v}" for k, v in sorted(f.labels.items()))
            t.add_row(escape(f.name), escape(f.display or str(f.value)), escape(where),
                      f.at.isoformat() if f.at else "")
        if len(ans.facts) > 15:
            t.caption = f"{len(ans.facts) - 15} more facts in --json"
        console.print(t)
    for q in ans.queries:
        # native text, errors, sources and notes are data: escaped, never read as markup
        status = "[green]ok[/green]" if q.ok else f"[red]failed: {escape(q.error or '')}[/red]"
        console.print(f"[bold]{escape(q.purpose)}[/bold] via {q.connector} "
                      f"({q.elapsed_ms:.0f} ms) {status}", highlight=False)
        console.print(f"  [dim]{escape(q.native)}[/dim]", highlight=False, soft_wrap=True)
    console.print(f"[dim]{ans.elapsed_ms:.0f} ms[/dim]")


def _explain(assistant: Assistant, question: str, as_json: bool) -> None:
    """`ask --explain`: the reading of the question, as JSON or as indented lines."""
    from assistant.explain import explain

    services = assistant.services
    out = explain(question, services.settings.clock(), services,
                  planner=services.settings.planner)
    if as_json:
        print_json(out)
        return
    for key, value in out.items():
        if value in (None, [], {}, False) and key != "question":
            continue
        if isinstance(value, dict):
            console.print(f"[bold]{key}[/bold]", highlight=False)
            for k, v in value.items():
                console.print(f"  {escape(k)}: {escape(str(v))}", highlight=False,
                              soft_wrap=True)
        elif isinstance(value, list):
            console.print(f"[bold]{key}[/bold]", highlight=False)
            for v in value:
                console.print(f"  - {escape(str(v))}", highlight=False, soft_wrap=True)
        else:
            console.print(f"[bold]{key}[/bold]: {escape(str(value))}", highlight=False,
                          soft_wrap=True)


def _cli() -> AskOptions:
    """Options of a question asked from this shell: its user, for the audit log."""
    import getpass

    from assistant.core import AskOptions

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return AskOptions(principal=f"cli:{user}")


ShowQueriesOpt = Annotated[
    bool, typer.Option("--show-queries", "-v",
                       help="Also print the facts, the native queries run and timings.")
]


@app.command()
@friendly
def ask(
    question: Annotated[str, typer.Argument(help="The question, in English or Korean.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer object.")] = False,
    planner: PlannerOpt = None,
    phrasing: PhrasingOpt = None,
    backend: BackendOpt = None,
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Continue a conversation by id.")
    ] = None,
    show_queries: ShowQueriesOpt = False,
    explain_only: Annotated[
        bool, typer.Option("--explain", help="Print how the question is read (time, shape, "
                           "mentions, plan) instead of answering it.")
    ] = False,
) -> None:
    """Answer one question from your telemetry and runbooks."""
    assistant = build_assistant(planner, phrasing, backend)
    if explain_only:
        _explain(assistant, question, as_json)
        return
    try:
        ans = assistant.ask(question, conversation_id=conversation, options=_cli())
    finally:
        assistant.services.close()
    if as_json:
        print_json(ans.model_dump(mode="json"))
    else:
        render_answer(ans, show_queries)


@app.command()
@friendly
def chat(
    planner: PlannerOpt = None, phrasing: PhrasingOpt = None, backend: BackendOpt = None,
    show_queries: ShowQueriesOpt = False,
) -> None:
    """An interactive session; follow-ups ("and on web-02?") keep the context."""
    assistant = build_assistant(planner, phrasing, backend)
    conv: str | None = None
    console.print("[dim]Ask a question; empty line or Ctrl-D to quit.[/dim]")
    try:
        while True:
            try:
                question = console.input("[bold cyan]opsa> [/bold cyan]")
            except EOFError:
                break
            if not question.strip():
                break
            ans = assistant.ask(question, conversation_id=conv, options=_cli())
            conv = ans.conversation_id
            render_answer(ans, show_queries)
    finally:
        assistant.services.close()
