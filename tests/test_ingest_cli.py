"""`opsa ingest` through Typer's runner: tables, JSON, exit codes, option errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app

FIX = Path(__file__).parent / "fixtures" / "ingest"
runner = CliRunner()


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "ingest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_ingest_logs_json_report(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path, "logs", str(FIX / "log4j.log"), str(FIX / "nginx_access.log"), "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["rows_added"] == 7
    assert [f["format"].split(" ")[0] for f in report["files"]] == ["log4j", "access-log"]
    assert (tmp_path / "telemetry.duckdb").exists()
    code, out, _ = _run(tmp_path, "logs", str(FIX / "log4j.log"), "--json")
    assert json.loads(out)["rows_skipped_duplicate"] == 3


def test_ingest_table_output(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "metrics", str(FIX / "metrics.prom"))
    assert code == 0
    assert "8 rows added" in out and "prometheus-text" in out.replace("\n", "")


def test_nothing_parseable_exits_non_zero(tmp_path: Path) -> None:
    code, out, err = _run(tmp_path, "logs", str(FIX / "garbage.log"))
    assert code == 1
    assert "error:" in err and "garbage.log" in err
    assert "Traceback" not in err + out


def test_missing_path_exits_non_zero(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, "logs", str(tmp_path / "missing.log"))
    assert code == 1 and "no such file or directory" in err


def test_csv_with_metric_and_labels(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path,
        "metrics",
        str(FIX / "samples.csv"),
        "--metric",
        "disk_pct",
        "--label",
        "host=db-01",
        "--json",
    )
    assert code == 0
    report = json.loads(out)
    assert (report["rows_added"], report["malformed"]) == (3, 2)


def test_bad_options_are_clear(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, "logs", str(FIX / "log4j.log"), "--timezone", "Mars/Base")
    assert code == 1 and "unknown timezone 'Mars/Base'" in err
    code, _, err = _run(tmp_path, "metrics", str(FIX / "samples.csv"), "--label", "nolabel")
    assert code == 1 and "--label expects KEY=VALUE" in err


def test_events_and_json_field_mapping(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "events", str(FIX / "alertmanager.json"), "--json")
    assert code == 0 and json.loads(out)["rows_added"] == 2
    path = tmp_path / "x.jsonl"
    path.write_text('{"when": "2024-01-01T00:00:00Z", "text": "hello"}\n')
    code, out, _ = _run(tmp_path, "logs", str(path), "--field", "ts=when", "--field", "msg=text")
    assert code == 0 and "1 rows added" in out


def test_a_pipe_is_refused_before_the_store_is_touched(tmp_path: Path) -> None:
    """Reading a FIFO would block forever holding the write lock: refused, nothing made."""
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)
    data = tmp_path / "store"
    res = runner.invoke(app, ["--data-dir", str(data), "ingest", "logs", str(fifo)])
    assert res.exit_code == 1 and "not a regular file" in res.stderr
    assert not data.exists()


def test_data_dir_that_is_a_file_or_missing(tmp_path: Path) -> None:
    """A file as --data-dir is one clear line; asking in a missing one creates nothing."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args in (["ingest", "logs", str(afile)], ["ask", "peak cpu"], ["catalog"]):
        res = runner.invoke(app, ["--data-dir", str(afile), *args])
        assert res.exit_code == 1 and "is a file, not a directory" in res.stderr, args
        assert "Traceback" not in res.stderr + res.stdout
    missing = tmp_path / "never"
    res = runner.invoke(app, ["--data-dir", str(missing), "ask", "peak cpu"])
    assert res.exit_code == 1 and "no telemetry store" in res.stderr
    assert not missing.exists()
