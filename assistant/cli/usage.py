"""Command-line usage errors as one plain line on stderr, with a hint, and exit code 2.

Typer prints a parser error (unknown option, missing argument, bad value) as a boxed Rich
panel over several lines. `OpsaGroup` runs the parser itself and prints instead:

    opsa: no such option --versoin (did you mean --version?); try 'opsa ask --help'

the same whether stderr is a terminal or not, with no colour.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer

# Typer vendors Click (typer._click); its parser raises these classes, not `click`'s own.
from typer._click import exceptions as click_exc
from typer.core import TyperGroup

USAGE_EXIT = 2
GLOBAL_ONLY = {"--demo": "--demo", "--data-dir": "--data-dir DIR", "--now": "--now TIME",
               "--timezone": "--timezone ZONE"}
"""Options of `opsa` itself (as written in a hint): given after a command, the hint says
where they go."""


def usage_line(exc: click_exc.UsageError) -> str:
    """One line: what was wrong, then the help command of the command it was for."""
    ctx = exc.ctx
    prog = ctx.find_root().info_name if ctx is not None else "opsa"
    if not isinstance(exc, click_exc.NoSuchOption):
        what = _sentence(exc.format_message())
    elif exc.option_name in GLOBAL_ONLY and ctx is not None and ctx.parent is not None:
        what = (f"no such option {exc.option_name} here; it goes before the command: "
                f"'{prog} {GLOBAL_ONLY[exc.option_name]} {ctx.info_name} ...'")
    else:
        what = f"no such option {exc.option_name}"
        if exc.possibilities:
            what += f" (did you mean {', '.join(sorted(exc.possibilities))}?)"
    hint = f"; try '{ctx.command_path} --help'" if ctx is not None else ""
    return f"{prog}: {what}{hint}"


def _sentence(message: str) -> str:
    """Click's message as a clause: one line, lower-case start, no final full stop, and a
    suggestion in brackets ("no such command 'asx' (did you mean 'ask'?)")."""
    text = " ".join(message.split()).rstrip(".")
    said, _, suggestion = text.partition(". Did you mean ")
    if suggestion:
        text = f"{said.rstrip('.')} (did you mean {suggestion})"
    return text[:1].lower() + text[1:]


class OpsaGroup(TyperGroup):
    """Typer's group, with usage errors printed as one line (see the module docstring)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        run = super().main
        if not standalone_mode:
            return run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            rv = run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click_exc.NoArgsIsHelpError:
            sys.exit(USAGE_EXIT)  # `opsa` alone: the help was printed, as Typer does
        except click_exc.UsageError as exc:
            sys.stderr.write(usage_line(exc) + "\n")
            sys.exit(USAGE_EXIT)
        except click_exc.ClickException as exc:
            sys.stderr.write(f"error: {_sentence(exc.format_message())}\n")
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.stderr.write("aborted\n")
            sys.exit(1)
        # Not standalone, Typer returns a command's exit code (typer.Exit) or its result.
        sys.exit(rv if isinstance(rv, int) else 0)
