"""Layout inference on made-up systems shaped like real ones (no shared data needed).

Each file below is a new "system": not LogHub's, but with the same kind of shape (a
timestamp after a marker and an epoch, mid-line after a node, compact or year-less forms,
pipes, a program before ` - `). Inference must find the timestamp, its format and the
host / program / pid / level columns, and the whole file must then ingest.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.ingest.infer import classify, infer_layout, locate_timestamp
from assistant.ingest.pipeline import IngestOptions, explain_logs, ingest_paths
from assistant.ingest.timestamps import EPOCH, RFC3164, YY_SLASHED

FIX = Path(__file__).parent / "fixtures" / "ingest"


def _rows(store: Path) -> list[dict[str, Any]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        cur = con.execute("SELECT ts, host, service, level, message, attrs FROM logs ORDER BY ts")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _ingest(tmp_path: Path, text: str, **opts: Any) -> tuple[Any, list[dict[str, Any]]]:
    path = tmp_path / "system.log"
    path.write_text(text)
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "logs", [path], IngestOptions(**opts), progress=False)
    return report, _rows(store)


def _attrs(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["attrs"] or "{}")


def test_marker_epoch_date_host_then_syslog_time(tmp_path: Path) -> None:
    """Thunderbird's shape: the written `Dec 31 23:59:58` wins over the epoch, and its year
    is the line's own date (which may be a day later: the written month decides)."""
    text = (
        "- 1704067198 2024.01.01 web7 Dec 31 23:59:58 web7/web7 sshd[412]: Accepted key\n"
        "- 1704067201 2024.01.01 db-2 Jan 1 00:00:01 src@db-2 crond(pam_unix)[9]: closed\n"
        "ALERT 1704067202 2024.01.01 web7 Jan 1 00:00:02 web7/web7 kernel: eth0: link down\n"
        "- 1704067203 2024.01.01 web7 Jan 1 00:00:03 web7/web7 Booting the kernel now\n"
    )
    report, rows = _ingest(tmp_path, text)
    assert report.files[0].format == "inferred (rfc3164)"
    assert [r["ts"] for r in rows] == [
        datetime(2023, 12, 31, 23, 59, 58),
        datetime(2024, 1, 1, 0, 0, 1),
        datetime(2024, 1, 1, 0, 0, 2),
        datetime(2024, 1, 1, 0, 0, 3),
    ]
    assert [(r["host"], r["service"]) for r in rows] == [
        ("web7", "sshd"),
        ("db-2", "crond(pam_unix)"),
        ("web7", "kernel"),
        ("web7", None),
    ]
    assert _attrs(rows[0])["pid"] == "412"
    assert rows[2]["message"] == "eth0: link down"
    assert not report.files[0].notes  # the year was written in the line


def test_epoch_mid_line_after_node_and_component(tmp_path: Path) -> None:
    """HPC's shape: id, node, component, state, then an epoch (UTC), a flag and the text."""
    text = "\n".join(
        f"{900 + i} node-{i % 3} disk.io {state} {1700000000 + i} {flag} disk sda state {i}"
        for i, (state, flag) in enumerate([("ok", 1), ("failed", -1), ("ok", 0), ("ok", 1)])
    )
    report, rows = _ingest(tmp_path, text + "\n")
    assert report.files[0].format == "inferred (epoch)"
    assert rows[0]["ts"] == datetime(2023, 11, 14, 22, 13, 20)
    assert [r["host"] for r in rows] == ["node-0", "node-1", "node-2", "node-0"]
    assert {r["service"] for r in rows} == {"disk.io"}
    assert rows[1]["message"] == "disk sda state 1"


def test_pipe_delimited_compact_time(tmp_path: Path) -> None:
    text = (
        "20240305-9:5:7:12|Sync_Worker|4711|pulled 12 records\n"
        "20240305-09:05:08:300|Sync_Api|4711|WARN slow response 900 ms\n"
    )
    report, rows = _ingest(tmp_path, text)
    assert report.files[0].format == "inferred (yyyymmdd-hms)"
    assert [r["ts"].replace(microsecond=0) for r in rows] == [
        datetime(2024, 3, 5, 9, 5, 7),
        datetime(2024, 3, 5, 9, 5, 8),
    ]
    assert [r["service"] for r in rows] == ["Sync_Worker", "Sync_Api"]
    assert [_attrs(r)["pid"] for r in rows] == ["4711", "4711"]
    assert rows[1]["message"] == "WARN slow response 900 ms"
    assert rows[1]["level"] == "warn"  # no level column: found in the text


def test_yearless_bracketed_time_and_program_before_dash(tmp_path: Path) -> None:
    """Proxifier's shape, with the year from --year and said so in the report."""
    text = (
        "[03.14 08:00:01] backup.exe - 10.0.0.5:443 open through proxy\n"
        "[03.14 08:00:02] backup.exe *64 - 10.0.0.5:443 close, 12 bytes sent\n"
    )
    report, rows = _ingest(tmp_path, text, year=2022)
    assert report.files[0].format == "inferred (mm.dd)"
    assert [r["ts"] for r in rows] == [
        datetime(2022, 3, 14, 8, 0, 1),
        datetime(2022, 3, 14, 8, 0, 2),
    ]
    assert [r["service"] for r in rows] == ["backup.exe", "backup.exe *64"]
    assert rows[1]["message"] == "10.0.0.5:443 close, 12 bytes sent"
    assert report.files[0].notes == ["year 2022 from --year (timestamps have no year)"]


def test_logcat_shape_levels_from_letters(tmp_path: Path) -> None:
    text = (
        "11-02 10:00:00.100   501   777 I Wifi: connected\n"
        "11-02 10:00:00.200   501   778 W Wifi: weak signal\n"
        "11-02 10:00:00.300  1200  1200 E Camera: open failed\n"
        "11-02 10:00:00.400  1200  1201 V Camera: frame 1\n"
    )
    report, rows = _ingest(tmp_path, text, year=2021)
    assert report.files[0].format == "inferred (mm-dd)"
    assert [r["level"] for r in rows] == ["info", "warn", "error", "trace"]
    assert [r["service"] for r in rows] == ["Wifi", "Wifi", "Camera", "Camera"]
    assert [(_attrs(r)["pid"], _attrs(r)["tid"]) for r in rows][2] == ("1200", "1200")
    assert rows[0]["ts"] == datetime(2021, 11, 2, 10, 0, 0, 100000)


def test_file_name_prefix_level_component_context(tmp_path: Path) -> None:
    """OpenStack's shape: a log file name, then the time, pid, level, component, [context]."""
    text = (
        "api.log.2 2024-05-01 00:00:00.008 77 INFO svc.http.server [req-1 u p] GET / 200\n"
        "api.log.2 2024-05-01 00:00:01.100 77 WARNING svc.http.server [-] slow GET /x\n"
        "worker.log 2024-05-01 00:00:02.000 80 ERROR svc.jobs.runner [req-2 - -] job failed\n"
    )
    report, rows = _ingest(tmp_path, text)
    assert report.files[0].format == "inferred (iso8601)"
    assert [r["level"] for r in rows] == ["info", "warn", "error"]
    assert [r["service"] for r in rows] == ["svc.http.server", "svc.http.server", "svc.jobs.runner"]
    assert {r["host"] for r in rows} == {None}  # a log file name is not a host
    assert rows[0]["message"] == "GET / 200"
    assert _attrs(rows[0]) == {"logfile": "api.log.2", "pid": "77", "context": "req-1 u p"}


def test_level_then_thread_then_text(tmp_path: Path) -> None:
    """ZooKeeper's shape: `time - LEVEL [thread] - text`, with a stack trace continuing."""
    text = (
        "2024-07-29 17:41:44,747 - INFO  [main:Server@10] - started\n"
        "2024-07-29 17:41:45,001 - ERROR [worker-2:Pool@88] - task failed\n"
        "java.io.IOException: boom\n"
        "\tat a.b.C.run(C.java:1)\n"
        "2024-07-29 17:41:46,000 - WARN  [worker-3:Pool@90] - retrying\n"
    )
    report, rows = _ingest(tmp_path, text, timezone="Asia/Seoul")
    assert report.files[0].parsed_lines == 3 and report.files[0].raw_lines == 2
    assert [r["level"] for r in rows] == ["info", "error", "warn"]
    assert rows[0]["ts"] == datetime(2024, 7, 29, 8, 41, 44, 747000)  # KST -> UTC
    assert rows[1]["message"].splitlines() == [
        "task failed",
        "java.io.IOException: boom",
        "\tat a.b.C.run(C.java:1)",
    ]
    assert _attrs(rows[1])["context"] == "worker-2:Pool@88"


def test_two_digit_year_slashes(tmp_path: Path) -> None:
    text = "17/06/09 20:10:40 INFO storage.Memory: stored 10 MB\n17/06/09 20:10:41 INFO x.Y: ok\n"
    report, rows = _ingest(tmp_path, text)
    assert report.files[0].format == f"inferred ({YY_SLASHED.name})"
    assert rows[0]["ts"] == datetime(2017, 6, 9, 20, 10, 40)
    assert [r["service"] for r in rows] == ["storage.Memory", "x.Y"]


def test_locate_prefers_the_written_time_to_the_epoch() -> None:
    lines = [
        f"- {1131566461 + i} 2005.11.09 dn{i} Nov 9 12:01:0{i} dn{i} ntpd: ok" for i in range(5)
    ]
    spot = locate_timestamp(lines)
    assert spot is not None and (spot.fmt, spot.before) == (RFC3164, 4)
    spot = locate_timestamp([f"{i} n{i} comp {1131566461 + i} 1 text" for i in range(5)])
    assert spot is not None and (spot.fmt, spot.before) == (EPOCH, 3)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1702", "2227", "33"], "int"),
        (["I", "D", "W", "E"], "level"),
        (["Info", "Info"], "level"),
        (["sshd[1]:", "kernel:", "cron[22]:"], "tag"),
        (["[req-1 a b]", "[-]"], "bracket"),
        (["2005.11.09", "2005.11.10"], "date"),
        (["1131566461", "1131566462"], "epoch"),
        (["nova-api.log.1", "nova-compute.log"], "file"),
        (["-", "-", "-"], "const"),
        (["node-1", "gige7", "full"], "name"),
    ],
)
def test_classify_columns(values: list[str], kind: str) -> None:
    assert classify(values) == kind


def test_no_timestamp_means_no_layout() -> None:
    assert infer_layout(["hello world", "no time here", ""]) is None


def test_explain_known_and_inferred(tmp_path: Path) -> None:
    path = tmp_path / "bgl_like.log"
    path.write_text(
        "- 1117838570 2005.06.03 R02-M1 2005-06-03-15.42.50.675872 R02-M1 RAS KERNEL INFO ok\n"
        "APPREAD 1117869872 2005.06.04 R04-M1 2005-06-04-00.24.32.432192 R04-M1 RAS APP FATAL x\n"
    )
    inferred, known = explain_logs([path, FIX / "syslog_rfc3164.log"])
    assert inferred["layout"] == "inferred"
    assert inferred["timestamp"]["format"] == "ymd-hms"
    assert inferred["timestamp"]["position"] == "after 4 fields"
    assert inferred["host"].startswith("field 4 before the timestamp")
    assert inferred["service"].startswith("column 3 after the timestamp")
    assert inferred["level"].startswith("column 4 after the timestamp")
    assert inferred["sample"] == {"lines": 2, "parsed": 2, "not_parsed": 0}
    assert known["layout"] == "syslog-rfc3164" and known["host"] == "the host field"
    assert "modification time" in known["timestamp"]["year"]


def test_cli_explain_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "ingest", "logs", "--explain", str(FIX / "log4j.log")]
    )
    assert result.exit_code == 0, result.stderr
    assert "layout: log4j" in result.stdout and "lines parsed" in result.stdout
    assert not (data / "telemetry.duckdb").exists()
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "ingest", "metrics", "--explain", "x"]
    )
    assert result.exit_code == 1 and "--explain is for logs" in result.stderr


def test_inference_beats_a_generic_known_layout_when_it_finds_more(tmp_path: Path) -> None:
    """`iso8601-generic` parses these lines too, but only the time and a level word."""
    text = (
        "2024-01-01 00:00:00.001 12345 INFO nova.compute.manager [-] started\n"
        "2024-01-01 00:00:01.001 12345 WARNING nova.compute.claims [req-1] low memory\n"
    )
    report, rows = _ingest(tmp_path, text)
    assert report.files[0].format == "inferred (iso8601)"
    assert [(r["service"], r["level"]) for r in rows] == [
        ("nova.compute.manager", "info"),
        ("nova.compute.claims", "warn"),
    ]
    assert rows[1]["message"] == "low memory"
    # the log's own word is kept beside the normalised level ("INFO" is only a spelling)
    assert _attrs(rows[1]) == {"pid": "12345", "context": "req-1", "level_word": "WARNING"}
    assert "level_word" not in _attrs(rows[0])


def test_plain_time_level_text_keeps_the_generic_layout(tmp_path: Path) -> None:
    report, rows = _ingest(tmp_path, "2024-01-01 00:00:00 ERROR cache eviction storm\n")
    assert report.files[0].format == "iso8601-generic (iso8601)"
    assert rows[0]["message"] == "cache eviction storm"


def test_generic_layout_stays_when_inference_finds_no_level_column(tmp_path: Path) -> None:
    """A postgres stderr log: what inference would read (`user@db` before `LOG:`) is no
    better than the generic layout, whose host comes from --host."""
    text = (
        "2026-11-19 12:01:05.404 UTC [18991] checkout@shop LOG:  duration: 646.920 ms\n"
        '2026-11-19 13:49:25.788 UTC [26533] checkout@shop ERROR:  duplicate key "k"\n'
    )
    report, rows = _ingest(tmp_path, text, host="db-01", service="postgres")
    assert report.files[0].format == "iso8601-generic (iso8601)"
    assert [(r["host"], r["service"], r["level"]) for r in rows] == [
        ("db-01", "postgres", None),
        ("db-01", "postgres", "error"),
    ]
