"""Terminal conventions of the `opsa` commands (issue 19): no progress bar into a pipe, the
per-service ingest report, exit codes, a light start-up, long lists cut with a count."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from assistant.cli import app, search_cmds
from assistant.cli.status_cmds import status_lines

OPSA = (sys.executable, "-c", "from assistant.cli import main; main()")
SYSLOG = """\
Nov 20 10:00:01 web-01 sshd[101]: Accepted publickey for alice from 10.0.0.5 port 50122 ssh2
Nov 20 10:00:05 web-01 nginx[202]: GET /api/orders 200 12ms
Nov 20 10:01:07 web-01 sshd[101]: Failed password for bob from 10.0.0.9 port 50123 ssh2
Nov 20 10:02:11 web-01 nginx[202]: GET /api/orders 500 120ms
Nov 20 10:03:15 web-01 nginx[202]: GET /health 200 1ms
"""


def _opsa(tmp_path: Path, *args: str, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OPSA, "--data-dir", str(tmp_path / "state"), *args], capture_output=True, text=True,
        timeout=120, env={**os.environ, "NO_COLOR": "1", **(env or {})}, cwd=tmp_path,
    )


def _invoke(tmp_path: Path, *args: str, env: dict[str, str] | None = None
            ) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "state"), *args], env=env)
    return res.exit_code, res.stdout, res.stderr


# -- 1. no progress bar when stderr is not a terminal ---------------------------------------
def test_index_docs_into_a_pipe_prints_one_error_line_and_a_summary(tmp_path: Path) -> None:
    res = _opsa(tmp_path, "index", "docs", str(tmp_path / "missing"))
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and res.stderr.endswith("\n"), res.stderr
    assert lines[0].startswith("error: nothing was indexed (")
    assert "missing: no such file or directory" in lines[0]
    assert "\x1b[" not in res.stderr + res.stdout  # not a terminal, NO_COLOR: no escapes
    (summary,) = res.stdout.splitlines()  # one line, not wrapped at 80 columns
    assert summary.startswith("docs: 0 added") and "1 skipped" in summary


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_cmds, "err_console", Console(file=io.StringIO()))
    with search_cmds._progress("embedding", quiet=False) as update:
        assert update is None
    tty = Console(file=io.StringIO(), force_terminal=True)
    monkeypatch.setattr(search_cmds, "err_console", tty)
    with search_cmds._progress("embedding", quiet=False) as update:
        assert update is not None
        update(1, 2)
    with search_cmds._progress("embedding", quiet=True) as update:
        assert update is None


# -- 2. what ingest stored, per file layout and service ------------------------------------
def test_ingest_reports_per_layout_and_service(tmp_path: Path) -> None:
    log = tmp_path / "two.log"
    log.write_text(SYSLOG)
    code, out, err = _invoke(tmp_path, "ingest", "logs", str(log), "--year", "2026", "--json")
    assert code == 0, err
    (f,) = json.loads(out)["files"]
    assert f["format"].startswith("syslog")
    by = {s["service"]: s for s in f["services"]}
    assert by["nginx"] == {"service": "nginx", "lines": 3, "stored": 3, "skipped": 0,
                           "first": "2026-11-20T10:00:05+00:00",
                           "last": "2026-11-20T10:03:15+00:00"}
    assert (by["sshd"]["stored"], by["sshd"]["skipped"]) == (2, 0)
    assert by["sshd"]["first"] == "2026-11-20T10:00:01+00:00"

    code, out, err = _invoke(tmp_path, "ingest", "logs", str(log), "--year", "2026")
    assert code == 0, err
    assert "by service" in out and "syslog-rfc3164" in out
    rows = {line.split("│")[3].strip(): line for line in out.splitlines()
            if line.count("│") == 7 and line.split("│")[3].strip() in ("nginx", "sshd")}
    assert set(rows) == {"nginx", "sshd"}
    nginx = [c.strip() for c in rows["nginx"].split("│")]
    assert nginx[4:7] == ["0", "3", "2026-11-20 10:00–10:03"]  # re-run: all already stored
    assert "0 rows added, 5 already stored" in out


# -- 3. exit codes -------------------------------------------------------------------------
def test_exit_codes(tmp_path: Path) -> None:
    # 2: usage, found by the parser
    assert _invoke(tmp_path, "status", "--no-such-option")[0] == 2
    assert _invoke(tmp_path, "search", "x", "-k", "0")[0] == 2
    # 1: a bad value, bad input, no store, a backend that is down
    code, _, err = _invoke(tmp_path, "audit", "--since", "yesterday")
    assert code == 1 and err.startswith("error: --since")
    code, _, err = _invoke(tmp_path, "query", "{not json")
    assert code == 1 and "not valid JSON" in err
    code, _, err = _invoke(tmp_path, "catalog")
    assert code == 1 and "no telemetry store" in err
    code, _, err = _invoke(tmp_path, "catalog", env={
        "OPSA_BACKEND": "prometheus", "OPSA_PROMETHEUS__URL": "http://127.0.0.1:9"})
    assert code == 1 and "cannot reach Prometheus" in err and len(err.splitlines()) == 1
    # 1: an operating-system error is one line too, not a traceback
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = CliRunner().invoke(app, ["--data-dir", str(blocker / "state"), "ingest", "logs",
                                   str(blocker)])
    assert res.exit_code == 1 and res.stderr.startswith("error: ")
    assert len(res.stderr.splitlines()) == 1, res.stderr
    # 0: done
    assert _invoke(tmp_path, "status")[0] == 0


# -- 4. start-up: parsing a command line and printing help load no backend -----------------
def test_importing_the_cli_loads_no_heavy_module() -> None:
    heavy = ["assistant.settings", "assistant.services", "assistant.ir", "assistant.store_status",
             "assistant.retrieval", "duckdb", "chromadb", "pydantic_settings"]
    code = ("import sys, assistant.cli; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"
    res = subprocess.run([*OPSA, "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "status" in res.stdout and "ingest" in res.stdout


# -- 5. long lists are cut with a count of what was left out ------------------------------
def test_audit_shows_the_latest_entries_and_counts_the_rest(tmp_path: Path) -> None:
    from assistant.audit import AuditEntry, AuditLog
    from assistant.cli.audit_cmds import SHOWN

    state = tmp_path / "state"
    state.mkdir()
    log = AuditLog(state / "audit.jsonl")
    now = datetime.now(UTC)
    for i in range(SHOWN + 7):
        log.record(AuditEntry(at=now - timedelta(minutes=100 - i), principal="cli:x",
                              question=f"question {i}", outcome="answered", elapsed_ms=1.0))
    code, out, _ = _invoke(tmp_path, "audit")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("… 7 earlier questions not shown (use --since or --json)")
    assert len(lines) == SHOWN + 1 and lines[-1].endswith(f"question {SHOWN + 6}")
    code, out, _ = _invoke(tmp_path, "audit", "--json")
    assert len(out.splitlines()) == SHOWN + 7


def test_status_and_catalog_cut_long_lists(capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli.data_cmds import SHOWN_METRICS, SHOWN_NAMES, _render_catalog
    from assistant.store_status import NAMES_SHOWN, Source, StoreStatus
    from connectors.base import Catalog, MetricInfo

    at = datetime(2026, 11, 20, tzinfo=UTC)
    st = StoreStatus(data_dir="d", store=True, services=[f"svc{i}" for i in range(25)],
                     sources=[Source(kind="logs", path=f"f{i}.log", rows=1, at=at)
                              for i in range(NAMES_SHOWN + 3)])
    text = "\n".join(status_lines(st))
    assert f"svc{NAMES_SHOWN - 1} … and {25 - NAMES_SHOWN} more (use --json)" in text
    assert "… 3 earlier, not shown (use --json); the latest:" in text
    assert f"f{NAMES_SHOWN + 2}.log" in text and "  logs f2.log:" not in text

    cat = Catalog(metrics=[MetricInfo(name=f"m{i}", type="gauge")
                           for i in range(SHOWN_METRICS + 4)],
                  hosts=[f"h{i}" for i in range(SHOWN_NAMES + 2)])
    _render_catalog(cat)
    out = capsys.readouterr().out
    assert "… and 4 more metrics (use --json)" in out
    assert f"m{SHOWN_METRICS - 1} " in out and f"m{SHOWN_METRICS} " not in out
    assert "… and 2 more (use --json)" in out
