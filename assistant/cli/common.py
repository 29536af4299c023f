"""Shared CLI plumbing: the Typer app, global options, settings, and error rendering.

Exit codes, the same for every command:

* 0: done (an answer that finds no data, or asks to clarify, is still an answer);
* 1: the command ran and failed: an `OpsaError` (a bad option value or setting, invalid
  query JSON, no store, unknown metric/service, backend unreachable or timed out, nothing
  parseable to ingest or index) or an operating-system error (a path that cannot be made
  or read), each as one line `error: ...` on stderr; `opsa eval --gate` below its bar;
* 2: command-line usage, found by the parser before the command runs: unknown command or
  option, missing argument, a value of the wrong type or outside its range or choices,
  each as one line `opsa: ...; try 'opsa CMD --help'` on stderr (see `usage.py`);
* 130: interrupted (Ctrl-C).

This module imports no more than the app needs to parse a command line and print help:
settings (pydantic-settings, DuckDB's schema) load on the first `settings()` call.
"""

from __future__ import annotations

import errno
import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from assistant.cli.usage import OpsaGroup
from assistant.cli.version import version_line
from assistant.errors import NoStore, OpsaError

if TYPE_CHECKING:
    from assistant.settings import Settings

app = typer.Typer(
    name="opsa",
    cls=OpsaGroup,
    help="Ops Assistant: grounded answers from your metrics, logs, events and runbooks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

_overrides: dict[str, Any] = {}
_demo_requested = False


def _print_version(value: bool) -> None:
    if value:
        console.print(version_line(), markup=False, highlight=False)
        raise typer.Exit(0)


@app.callback()
def _global(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where local state lives [OPSA_DATA_DIR].")
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Pin the clock, ISO 8601 with offset [OPSA_NOW]."),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="IANA zone for answers [OPSA_TIMEZONE].")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Use the demo's data directory, where 'opsa demo' "
                           "seeds: --data-dir when given, else ./.opsa-demo "
                           "[OPSA_DEMO_DATA_DIR].")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version,
                           help="Print the version and exit.")
    ] = False,
) -> None:
    global _demo_requested
    _overrides.clear()
    _overrides.update(data_dir=data_dir, now=now, timezone=timezone)
    _demo_requested = demo


def settings(*, demo: bool = False, **extra: Any) -> Settings:
    """Settings with the global CLI options (and `extra`) applied on top; with `demo` (or
    `opsa --demo`), in the demo's data directory (see `Settings.demo_target`)."""
    from assistant.settings import load_settings

    s = load_settings(**{**_overrides, **extra})
    if demo or _demo_requested:
        return s.model_copy(update={"data_dir": s.demo_target()})
    return s


P = ParamSpec("P")
R = TypeVar("R")


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn `OpsaError` (and an operating-system error such as a path that cannot be made)
    into one clear line on stderr and exit code 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except NoStore as exc:
            error_line(str(exc) + _demo_hint())
            raise typer.Exit(1) from None
        except OpsaError as exc:
            error_line(str(exc))
            raise typer.Exit(1) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # stdout closed early (| head): typer exits quietly
                raise
            where = f": {exc.filename}" if exc.filename else ""
            error_line(f"{exc.strerror or exc}{where}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def _demo_hint() -> str:
    """After "no telemetry store": where the demo is, when it lives in its own directory."""
    if _demo_requested:
        return ""
    try:
        s = settings()
    except OpsaError:
        return ""
    demo = s.demo_target()
    if demo == s.data_dir or not s.model_copy(update={"data_dir": demo}).store_path.exists():
        return ""
    return f"; the demo's store is in {demo}: add --demo ('opsa --demo ask ...')"


ROWS_SHOWN = 20
"""A terminal list or table shows this many rows; the rest are counted (`--json` has all)."""


def more_rows(total: int, shown: int, what: str = "more") -> None:
    """Say how many rows a truncated list left out: "… and 12 more files (use --json)"."""
    if total > shown:
        noun = "more" if what == "more" else f"more {what}"
        console.print(f"… and {total - shown:,} {noun} (use --json)", markup=False,
                      highlight=False, soft_wrap=not console.is_terminal)


def error_line(message: str) -> None:
    """`error: message` on stderr, one line whatever the width (piped stderr is never
    wrapped); the message is data (a path or a log text in [brackets] is not markup)."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, markup=True,
                      soft_wrap=not err_console.is_terminal)


def print_json(obj: Any) -> None:
    """Machine output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, default=_json_default, ensure_ascii=False, indent=2) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
