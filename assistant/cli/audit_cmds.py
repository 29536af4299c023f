"""`opsa audit`: who asked what, and how it ended (the audit log of the data directory)."""

from __future__ import annotations

import sys
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli.common import app, console, friendly, settings
from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.audit import AuditEntry

QUESTION_CHARS = 80
SHOWN = 50
"""A terminal shows the latest this many entries; `--json` (or `--since`) has the rest."""


@app.command()
@friendly
def audit(
    since: Annotated[str | None, typer.Option(
        "--since", help="Only entries after this: 30m, 2h, 7d or an ISO 8601 time.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Questions asked here (CLI, web, Slack): who, when, the plan, queries and outcome."""
    from assistant.audit import AuditLog, dumps, since_arg

    s = settings()
    try:
        after = since_arg(since, datetime.now(UTC)) if since else None
    except ValueError:
        raise ConfigError(f"--since {since!r} is not 30m, 2h, 7d or an ISO 8601 time") from None
    log = AuditLog(s.data_dir / "audit.jsonl", s.audit_retention_days)
    if json_out:
        for e in log.entries(after):
            sys.stdout.write(dumps(e) + "\n")
        return
    total = 0
    latest: deque[AuditEntry] = deque(maxlen=SHOWN)
    for e in log.entries(after):
        total += 1
        latest.append(e)
    if total > len(latest):
        console.print(f"… {total - len(latest):,} earlier questions not shown "
                      f"(use --since or --json); the latest {len(latest)}:",
                      markup=False, highlight=False, soft_wrap=not console.is_terminal)
    for e in latest:
        failed = sum(not q.ok for q in e.queries)
        queries = f"{len(e.queries)} queries" + (f" ({failed} failed)" if failed else "")
        question = " ".join(e.question.split())
        if len(question) > QUESTION_CHARS:
            question = question[:QUESTION_CHARS] + "…"
        console.print(f"{e.at:%Y-%m-%d %H:%M:%S} {e.principal} {e.outcome} "
                      f"{e.elapsed_ms:.0f} ms, {queries}: {question}",
                      markup=False, highlight=False, soft_wrap=not console.is_terminal)
    if not total:
        console.print("no questions recorded" + (f" since {since}" if since else ""),
                      markup=False)
