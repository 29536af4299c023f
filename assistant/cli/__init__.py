"""The `opsa` command line. Each command lives in its own module and registers on `app`."""

from __future__ import annotations

import importlib
import sys

from assistant.cli.common import app

# Command modules register themselves on import; a module that is not written yet is skipped
# here only if it does not exist at all (any other import error is a bug and propagates).
_COMMAND_MODULES = [
    "assistant.cli.data_cmds",  # catalog, query
    "assistant.cli.status_cmds",  # status
    "assistant.cli.audit_cmds",  # audit
    "assistant.cli.ingest_cmds",  # ingest
    "assistant.cli.demo_cmds",  # demo
    "assistant.cli.search_cmds",  # index, search
    "assistant.cli.ask_cmds",  # ask, chat
    "assistant.cli.serve_cmds",  # serve, slack
    "assistant.cli.eval_cmds",  # eval
]

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise


def main() -> None:
    """Entry point of the `opsa` console script."""
    sys.exit(app(standalone_mode=True))
