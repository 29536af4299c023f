"""The demo lives in its own directory; your data directory holds only what you ingest
(issue 19)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.settings import load_settings

NOW = "2026-11-20T12:00:00Z"
SYSLOG = """\
Nov 20 10:00:01 web-01 sshd[101]: Accepted publickey for alice from 10.0.0.5 port 50122 ssh2
Nov 20 10:00:05 web-01 nginx[202]: GET /api/orders 200 12ms
Nov 20 10:02:11 web-01 nginx[202]: GET /api/orders 500 120ms
"""


@pytest.fixture
def fresh_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no data directory given (no flag, environment or TOML)."""
    for name in ("OPSA_DATA_DIR", "OPSA_DEMO_DATA_DIR", "OPSA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def _status(*args: str) -> dict[str, Any]:
    code, out, err = _run(*args, "status", "--json")
    assert code == 0, err
    st: dict[str, Any] = json.loads(out)
    return st


def test_the_demo_directory_is_the_data_directory_only_when_one_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSA_DATA_DIR", raising=False)
    monkeypatch.delenv("OPSA_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_settings().demo_target() == Path(".opsa-demo")
    assert load_settings(demo_data_dir=tmp_path / "d").demo_target() == tmp_path / "d"
    assert load_settings(data_dir=tmp_path / "x").demo_target() == tmp_path / "x"
    monkeypatch.setenv("OPSA_DATA_DIR", str(tmp_path / "env"))  # as CI and the evals run it
    assert load_settings().demo_target() == tmp_path / "env"
    monkeypatch.delenv("OPSA_DATA_DIR")
    (tmp_path / "opsa.toml").write_text('data_dir = "from-toml"\n')
    assert load_settings().demo_target() == Path("from-toml")


def test_demo_flag_reads_the_demo_directory(fresh_cwd: Path) -> None:
    assert _status()["data_dir"] == ".opsa"
    assert _status("--demo")["data_dir"] == ".opsa-demo"
    given = str(fresh_cwd / "given")
    assert _status("--data-dir", given, "--demo")["data_dir"] == given
    assert not (fresh_cwd / ".opsa").exists() and not (fresh_cwd / ".opsa-demo").exists()


def test_ingest_into_a_new_directory_stores_only_your_data(fresh_cwd: Path) -> None:
    log = fresh_cwd / "syslog"
    log.write_text(SYSLOG)
    code, _, err = _run("ingest", "logs", str(log))
    assert code == 0, err
    st = _status()
    assert st["data_dir"] == ".opsa" and st["store"] is True
    assert st["services"] == ["nginx", "sshd"] and st["hosts"] == ["web-01"]
    assert st["samples"] == {"rows": 0, "first": None, "last": None}
    assert st["events"] == {"rows": 0, "first": None, "last": None}
    assert st["indexed"] == {} and st["metrics"] == 0
    assert sorted(p.name for p in (fresh_cwd / ".opsa").iterdir()) == ["telemetry.duckdb"]
    assert not (fresh_cwd / ".opsa-demo").exists()


@pytest.mark.slow
def test_demo_seeds_its_own_directory_and_says_how_to_ask_it(fresh_cwd: Path) -> None:
    code, out, err = _run("--now", NOW, "demo", "--scale", "0.02", "--no-index", "--no-answer")
    assert code == 0, err
    assert "The demo lives in .opsa-demo, apart from your own data (.opsa)." in out
    assert 'opsa --demo ask "' in out
    assert (fresh_cwd / ".opsa-demo" / "telemetry.duckdb").is_file()
    assert not (fresh_cwd / ".opsa").exists()

    demo = _status("--demo")
    assert demo["store"] is True and "checkout" in demo["services"]
    assert _status()["store"] is False
    # asking your own (empty) directory says where the demo is
    code, _, err = _run("--now", NOW, "ask", "peak cpu on web-03 in the last hour")
    assert code == 1 and len(err.splitlines()) == 1
    assert "no telemetry store" in err and "the demo's store is in .opsa-demo: add --demo" in err
    code, out, err = _run("--now", NOW, "--demo", "ask", "peak cpu on web-03 in the last hour")
    assert code == 0 and "web-03" in out, err

    # your own logs go to your directory; the demo's store is not touched
    log = fresh_cwd / "syslog"
    log.write_text(SYSLOG)
    assert _run("ingest", "logs", str(log))[0] == 0
    assert _status()["services"] == ["nginx", "sshd"]
    assert _status("--demo") == demo
