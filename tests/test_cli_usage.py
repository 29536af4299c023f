"""Command-line usage errors are one plain line on stderr with a hint, exit 2; `opsa --version`
answers without loading the command line (issue 19)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import assistant
from assistant.cli import app

OPSA = (sys.executable, "-c", "from assistant.cli import main; main()")

CASES = [
    (["--versoin"], "opsa: no such option --versoin (did you mean --version?); "
                    "try 'opsa --help'"),
    (["ask", "--verbos", "q"], "opsa: no such option --verbos; try 'opsa ask --help'"),
    (["ask"], "opsa: missing argument 'question'; try 'opsa ask --help'"),
    (["asx"], "opsa: no such command 'asx' (did you mean 'ask'?); try 'opsa --help'"),
    (["ask", "--demo", "q"], "opsa: no such option --demo here; it goes before the command: "
                             "'opsa --demo ask ...'; try 'opsa ask --help'"),
]


@pytest.mark.parametrize(("args", "line"), CASES)
def test_usage_errors_are_one_line_with_a_hint(args: list[str], line: str) -> None:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert res.stderr == line + "\n" and res.stdout == ""


def test_a_bad_value_names_the_option_and_the_help_to_read() -> None:
    res = CliRunner().invoke(app, ["search", "x", "-k", "0"])
    assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1
    assert res.stderr.startswith("opsa: invalid value for '-k'")
    assert res.stderr.rstrip().endswith("try 'opsa search --help'")


def _plain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPSA, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


@pytest.mark.parametrize("env", [{}, {"NO_COLOR": "1"}, {"COLUMNS": "30"}])
def test_piped_usage_error_is_the_same_plain_line(env: dict[str, str]) -> None:
    res = _plain(env, "status", "--no-such-option")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == "opsa: no such option --no-such-option; try 'opsa status --help'\n"


def test_usage_error_in_a_terminal_is_one_line_without_colour(tmp_path: Path) -> None:
    """On a real terminal (a pty) the line is the same: no panel, no escape codes."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([*OPSA, "ask", "--verbos", "q"], stdin=follower, stdout=follower,
                              stderr=follower, timeout=60, cwd=tmp_path,
                              env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "40"})
        os.close(follower)
        follower = -1
        out = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: all read
                break
            if not chunk:
                break
            out += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    assert out.decode() == "opsa: no such option --verbos; try 'opsa ask --help'\r\n"


def test_version_is_answered_without_loading_the_command_line() -> None:
    code = ("import sys; sys.argv = ['opsa', '--version']; from assistant.cli import main; "
            "main(); print(sorted(m for m in ('typer', 'rich', 'pydantic', 'assistant.cli.common')"
            " if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    version, loaded = res.stdout.splitlines()
    assert version.startswith(f"opsa {assistant.__version__} (Python 3.")
    assert loaded == "[]"


def test_version_after_other_options_and_in_help() -> None:
    res = CliRunner().invoke(app, ["--data-dir", "/nonexistent", "--version"])
    assert res.exit_code == 0 and res.stdout.startswith(f"opsa {assistant.__version__} ")
    assert "--version" in CliRunner().invoke(app, ["--help"]).stdout


def test_no_arguments_prints_help_and_exits_2() -> None:
    res = _plain({}, )
    assert res.returncode == 2 and "ask" in res.stdout and "status" in res.stdout


def test_a_global_option_after_the_command_says_where_it_goes() -> None:
    res = CliRunner().invoke(app, ["status", "--data-dir", "d"])
    assert res.exit_code == 2
    assert res.stderr == ("opsa: no such option --data-dir here; it goes before the command: "
                          "'opsa --data-dir DIR status ...'; try 'opsa status --help'\n")
