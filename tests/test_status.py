"""`opsa status`: what a data directory holds, read without changing anything."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app
from assistant.ingest.pipeline import ingest_paths


def _status(data: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["--data-dir", str(data), "status", *args])
    return res.exit_code, res.stdout


def test_status_says_what_was_ingested_and_when(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-11-20T11:{m:02d}:00Z web-7 shop[1]: ERROR cart {m} failed\n"
                           for m in range(4)) + "2026-11-20T11:30:00Z web-8 shop[1]: INFO ok\n")
    data = tmp_path / "data"
    ingest_paths(data / "telemetry.duckdb", "logs", [log], progress=False)
    code, out = _status(data, "--json")
    assert code == 0
    st = json.loads(out)
    assert st["store"] and st["logs"]["rows"] == 5 and st["samples"]["rows"] == 0
    assert st["logs"]["first"].startswith("2026-11-20T11:00") and \
        st["logs"]["last"].startswith("2026-11-20T11:30")
    assert st["hosts"] == ["web-7", "web-8"] and st["services"] == ["shop"]
    assert st["levels"] == {"error": 4, "info": 1}
    assert [s["path"] for s in st["sources"]] == [str(log)] and st["sources"][0]["rows"] == 5
    code, text = _status(data)
    assert code == 0 and "log lines: 5, 2026-11-20 11:00 to 2026-11-20 11:30 UTC" in text
    assert "hosts: web-7, web-8" in text


def test_status_of_an_empty_directory_says_how_to_start_and_creates_nothing(
        tmp_path: Path) -> None:
    code, out = _status(tmp_path / "none")
    assert code == 0 and "opsa ingest" in out and "opsa index docs" in out
    assert not (tmp_path / "none").exists()
