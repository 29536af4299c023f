"""Shared CLI plumbing: the Typer app, global options, settings, and error rendering."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from assistant.errors import OpsaError
from assistant.settings import Settings, load_settings

app = typer.Typer(
    name="opsa",
    help="Ops Assistant: grounded answers from your metrics, logs, events and runbooks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

_overrides: dict[str, Any] = {}


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
) -> None:
    _overrides.clear()
    _overrides.update(data_dir=data_dir, now=now, timezone=timezone)


def settings(**extra: Any) -> Settings:
    """Settings with the global CLI options (and `extra`) applied on top."""
    return load_settings(**{**_overrides, **extra})


P = ParamSpec("P")
R = TypeVar("R")


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn `OpsaError` into one clear line on stderr and exit code 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OpsaError as exc:
            # One line whatever the width: piped stderr is not wrapped, and the message is
            # data (a path or a log text in [brackets] is not markup).
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False,
                              markup=True, soft_wrap=not err_console.is_terminal)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


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
