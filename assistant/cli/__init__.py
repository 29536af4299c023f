"""The `opsa` command line. Each command lives in its own module and registers on `app`.

Importing this package loads nothing: `opsa --version` answers before Typer, Rich or any
command module is imported, and `app` (with every command on it) is built on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

_COMMAND_MODULES = [
    "assistant.cli.data_cmds",  # catalog, query
    "assistant.cli.fields_cmds",  # fields
    "assistant.cli.status_cmds",  # status
    "assistant.cli.audit_cmds",  # audit
    "assistant.cli.ingest_cmds",  # ingest
    "assistant.cli.demo_cmds",  # demo
    "assistant.cli.search_cmds",  # index, search
    "assistant.cli.ask_cmds",  # ask, chat
    "assistant.cli.serve_cmds",  # serve, slack
    "assistant.cli.eval_cmds",  # eval
]


def _app() -> typer.Typer:
    """The Typer app with every command registered (command modules register on import)."""
    from assistant.cli.common import app

    for name in _COMMAND_MODULES:
        importlib.import_module(name)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point of the `opsa` console script."""
    if sys.argv[1:] == ["--version"]:  # the common case, answered without loading the CLI
        from assistant.cli.version import version_line

        sys.stdout.write(version_line() + "\n")
        return
    sys.exit(_app()(prog_name="opsa", standalone_mode=True))
