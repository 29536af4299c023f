"""Plain-text log ingestion: every layout, continuation lines, year-less rollover, malformed."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from assistant.errors import IngestError
from assistant.ingest.layouts import LAYOUTS, detect_layout
from assistant.ingest.logs_text import TextLogParser
from assistant.ingest.pipeline import IngestFailed, IngestOptions, ingest_paths
from assistant.ingest.timestamps import ISO8601, RFC3164

FIX = Path(__file__).parent / "fixtures" / "ingest"
UTCZ = UTC


def _rows(store: Path, where: str = "TRUE") -> list[dict[str, Any]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        cur = con.execute(
            "SELECT ts, service, host, level, level_num, message, template_id, attrs, source "
            f"FROM logs WHERE {where} ORDER BY ts, message"
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _ingest(tmp_path: Path, name: str, **opts: Any) -> tuple[Path, Any]:
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "logs", [FIX / name], IngestOptions(**opts), progress=False)
    return store, report


def dt(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us)  # naive UTC, as stored


# name, expected format prefix, expected (ts, level, message) rows, extra checks
CASES: list[tuple[str, str, list[tuple[datetime, str | None, str]]]] = [
    (
        "syslog_rfc5424.log",
        "syslog-rfc5424",
        [
            (dt(2024, 3, 5, 20, 14, 16, 100000), "error", "payment 77 declined by gateway"),
            (dt(2024, 3, 5, 22, 14, 15, 3000), "info", "order 1001 placed"),  # <165>: sev 5
            (dt(2024, 3, 5, 22, 14, 17), "info", "checkpoint complete"),
        ],
    ),
    (
        "nginx_access.log",
        "access-log",
        [
            (dt(2024, 10, 10, 20, 55, 36), "info", "GET /api/items/123 200"),
            (dt(2024, 10, 10, 20, 55, 37), "error", "POST /api/orders 503"),
            (dt(2024, 10, 10, 20, 55, 38), "warn", "GET /api/items/456 404"),
            (dt(2024, 10, 10, 20, 55, 39), "warn", "- 400"),
        ],
    ),
    (
        "apache_access.log",
        "access-log",
        [
            (dt(2000, 10, 10, 20, 55, 36), "info", "GET /apache_pb.gif 200"),
            (dt(2000, 10, 10, 20, 55, 40), "warn", "GET /missing 404"),
        ],
    ),
    (
        "nginx_error.log",
        "nginx-error",
        [
            (
                dt(2024, 1, 2, 3, 4, 5),
                "error",
                "connect() failed (111: Connection refused) while connecting to upstream, "
                "client: 10.0.0.9",
            ),
            (dt(2024, 1, 2, 3, 4, 6), "warn", "upstream server temporarily disabled"),
            (dt(2024, 1, 2, 3, 4, 7), "info", "signal process started"),
        ],
    ),
    (
        "apache_error.log",
        "apache-error",
        [
            (
                dt(2023, 10, 11, 14, 32, 52, 123456),
                "error",
                "File does not exist: /usr/local/apache2/htdocs/favicon.ico",
            ),
            (dt(2023, 10, 11, 14, 32, 53), "warn", "AH01144: No protocol handler was valid"),
            (
                dt(2023, 10, 11, 14, 32, 54, 1),
                "trace",
                "ssl_engine_io.c(2250): OpenSSL: read 5/5 bytes",
            ),
        ],
    ),
    (
        "hdfs.log",
        "yymmdd-hhmmss",
        [
            (
                dt(2008, 11, 9, 20, 36, 15),
                "info",
                "PacketResponder 1 for block blk_38865049064139660 terminating",
            ),
            (
                dt(2008, 11, 9, 20, 38, 7),
                "info",
                "PacketResponder 0 for block blk_-6952295868487656571 terminating",
            ),
            (
                dt(2008, 11, 9, 20, 40, 5),
                "info",
                "BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is "
                "added to blk_7128370237687728475 size 67108864",
            ),
            (
                dt(2008, 11, 9, 20, 40, 15),
                "warn",
                "10.251.30.85:50010:Got exception while serving blk_-2918118818249673980 to "
                "/10.251.90.64",
            ),
        ],
    ),
    (
        "comma_millis.log",
        "iso8601-generic",
        [
            (dt(2024, 2, 3, 10, 0, 0, 1000), "error", "cache eviction storm on node 7"),
            (dt(2024, 2, 3, 10, 0, 1, 500000), "info", "cache recovered after 1500 ms"),
            (dt(2024, 2, 3, 10, 0, 2, 250000), "debug", "heartbeat 12"),
        ],
    ),
    (
        "epoch_seconds.log",
        "epoch-generic",
        [
            (dt(2023, 11, 14, 22, 13, 20), "info", "service started"),
            (dt(2023, 11, 14, 22, 13, 21, 250000), "warn", "disk usage 91%"),
            (dt(2023, 11, 14, 22, 13, 22), "error", "disk full on /var/lib/data"),
        ],
    ),
    (
        "epoch_millis.log",
        "epoch-generic",
        [
            (dt(2023, 11, 14, 22, 13, 20), None, "user 12 logged in"),
            (dt(2023, 11, 14, 22, 13, 20, 500000), None, "user 13 logged in"),
            (dt(2023, 11, 14, 22, 13, 21), "error", "user 14 login failed"),
        ],
    ),
    (
        "glog.log",
        "glog",
        [
            (dt(2024, 11, 2, 12, 0, 0, 1), "info", "Syncing deployment default/web"),
            (
                dt(2024, 11, 2, 12, 0, 1, 500000),
                "error",
                "Failed to sync deployment default/web: timeout",
            ),
            (
                dt(2024, 11, 2, 12, 0, 2),
                "warn",
                "watch of *v1.Pod ended with: too old resource version",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("name", "fmt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_layouts(
    tmp_path: Path, name: str, fmt: str, expected: list[tuple[datetime, str | None, str]]
) -> None:
    store, report = _ingest(tmp_path, name, year=2024)
    assert report.files[0].format.startswith(fmt)
    assert report.malformed == 0
    got = [(r["ts"], r["level"], r["message"]) for r in _rows(store)]
    assert got == sorted(expected, key=lambda e: (e[0], e[2]))
    assert report.rows_added == len(expected)


def test_syslog_host_app_pid_and_pri(tmp_path: Path) -> None:
    store, _ = _ingest(tmp_path, "syslog_rfc5424.log")
    rows = {r["message"]: r for r in _rows(store)}
    order = rows["order 1001 placed"]
    assert (order["service"], order["host"]) == ("checkout", "web-01.example.com")
    import json

    attrs = json.loads(order["attrs"])
    assert attrs["pid"] == "8710" and attrs["msgid"] == "ID47"
    assert attrs["sd"].startswith("[exampleSDID@32473")


def test_access_log_attrs(tmp_path: Path) -> None:
    import json

    store, _ = _ingest(tmp_path, "nginx_access.log", service="gateway", host="gw-01")
    row = next(r for r in _rows(store) if r["message"] == "POST /api/orders 503")
    assert (row["service"], row["host"]) == ("gateway", "gw-01")
    assert json.loads(row["attrs"]) == {
        "client": "10.0.0.2",
        "user": "alice",
        "request": "POST /api/orders HTTP/1.1",
        "status": "503",
        "bytes": "512",
        "referer": "https://shop.example/cart",
        "agent": "Mozilla/5.0 (X11)",
    }


def test_rfc3164_year_rollover_with_year_option(tmp_path: Path) -> None:
    store, report = _ingest(tmp_path, "syslog_rfc3164.log", year=2024)
    assert report.files[0].format.startswith("syslog-rfc3164")
    rows = _rows(store)
    assert [r["ts"] for r in rows] == [
        dt(2024, 12, 31, 23, 58, 1),
        dt(2024, 12, 31, 23, 59, 30),
        dt(2024, 12, 31, 23, 59, 59),
        dt(2025, 1, 1, 0, 0, 2),
        dt(2025, 1, 1, 0, 0, 5),
        dt(2025, 1, 1, 0, 1),
    ]
    by_msg = {r["message"]: r for r in rows}
    # PRI <11> = facility 1, severity 3 (err); <12> severity 4 (warning); none -> no level
    assert by_msg["database connection refused"]["level"] == "error"
    assert by_msg["eth0: link down"]["level"] == "warn"
    assert by_msg["eth0: link down"]["host"] == "web-02"
    assert by_msg["(root) CMD (run-parts /etc/cron.hourly)"]["level"] is None
    sshd = by_msg["Accepted publickey for deploy from 10.0.0.5 port 51234 ssh2"]
    assert (sshd["service"], sshd["host"]) == ("sshd", "web-01")


def test_rfc3164_year_from_file_mtime(tmp_path: Path) -> None:
    path = tmp_path / "messages"
    shutil.copy(FIX / "syslog_rfc3164.log", path)
    stamp = datetime(2023, 1, 5, tzinfo=UTC).timestamp()  # last written in January 2023
    os.utime(path, (stamp, stamp))
    store = tmp_path / "t.duckdb"
    ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    years = [r["ts"].year for r in _rows(store)]
    assert years == [2022, 2022, 2022, 2023, 2023, 2023]


def test_timezone_for_naive_timestamps(tmp_path: Path) -> None:
    store, _ = _ingest(tmp_path, "comma_millis.log", timezone="Asia/Seoul")
    first = _rows(store)[0]
    assert first["ts"] == dt(2024, 2, 3, 1, 0, 0, 1000)  # 10:00 KST = 01:00 UTC


def test_stack_traces_join_previous_entry(tmp_path: Path) -> None:
    store, report = _ingest(tmp_path, "log4j.log")
    assert report.files[0].format.startswith("log4j")
    assert report.files[0].lines == 8
    rows = _rows(store)
    assert len(rows) == 3
    err = rows[1]
    assert err["level"] == "error"
    assert err["message"].splitlines() == [
        "Order 9912 failed",
        "java.lang.IllegalStateException: payment gateway timeout",
        "\tat com.example.checkout.OrderService.place(OrderService.java:87)",
        "\tat com.example.checkout.OrderController.post(OrderController.java:41)",
        "Caused by: java.net.SocketTimeoutException: Read timed out",
        "\t... 12 more",
    ]
    assert '"logger":"com.example.checkout.OrderService"' in err["attrs"]
    assert rows[2]["message"] == "Retrying order 9913" and rows[2]["level"] == "warn"


def test_python_logging_traceback(tmp_path: Path) -> None:
    store, report = _ingest(tmp_path, "python_logging.log")
    assert report.files[0].format.startswith("python-logging")
    rows = _rows(store)
    assert [r["level"] for r in rows] == ["info", "error", "warn", "fatal"]
    assert rows[1]["message"].endswith("TimeoutError: gateway did not answer in 30 s")
    assert rows[1]["message"].count("\n") == 4


def test_continuation_across_blocks() -> None:
    """An entry whose continuation lines arrive in the next block is joined whole."""
    layout = next(x for x in LAYOUTS if x.name == "iso8601-generic")
    parser = TextLogParser(layout, source="s", offsets="none")
    blocks = [
        ["2024-01-01 00:00:00 INFO a", "2024-01-01 00:00:01 ERROR boom", "  at x"],
        ["  at y", "  at z"],
        ["2024-01-01 00:00:02 INFO b"],
    ]
    out = [parser.feed(pa.array(b, pa.large_string())) for b in blocks] + [parser.finish()]
    rows = pa.concat_tables([t for t in out if t is not None]).to_pylist()
    assert [r["message"] for r in rows] == ["a", "boom\n  at x\n  at y\n  at z", "b"]
    assert parser.malformed.count == 0
    parser.close()


def test_orphan_lines_before_first_entry_are_malformed(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(
        "\tat leftover.Frame(X.java:1)\n"
        "2024-01-01 00:00:00,000 INFO first\n"
        "2024-01-01 00:00:01,000 ERROR second\n"
    )
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    assert report.rows_added == 2
    assert report.malformed == 1
    assert report.malformed_examples[0][1] == 1
    assert "no earlier entry" in report.malformed_examples[0][2]


def test_malformed_lines_in_single_line_layout(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    good = (FIX / "nginx_access.log").read_text().splitlines()
    path.write_text("\n".join([good[0], "garbage in the middle", good[1], "", good[2]]) + "\n")
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    assert report.rows_added == 3
    assert report.malformed == 1
    _, line_no, reason = report.malformed_examples[0]
    assert line_no == 2 and "does not match" in reason and "garbage" in reason


def test_unparseable_timestamp_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "bad.log"
    path.write_text(
        "2024-01-01 00:00:00 INFO ok\n2024-13-45 99:00:00 INFO impossible date\n"
        "2024-01-01 00:00:02 INFO ok again\n"
    )
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    assert report.rows_added == 2
    assert report.malformed == 1
    assert report.malformed_examples[0][1] == 2
    assert "2024-13-45" in report.malformed_examples[0][2]


def test_nothing_parseable_fails_clearly(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    with pytest.raises(IngestFailed) as err:
        ingest_paths(store, "logs", [FIX / "garbage.log"], IngestOptions(), progress=False)
    assert "garbage.log" in str(err.value)
    assert "no known log timestamp" in str(err.value)
    assert isinstance(err.value, IngestError)
    assert err.value.report.files[0].status == "failed"


def test_template_grouping(tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    path.write_text(
        "2024-01-01T00:00:00Z ERROR connection to 10.0.0.1:5432 failed after 3 retries\n"
        "2024-01-01T00:00:01Z ERROR connection to 10.0.0.2:5432 failed after 5 retries\n"
        "2024-01-01T00:00:02Z ERROR connection to db-7.internal:6543 failed after 12 retries\n"
        "2024-01-01T00:00:03Z INFO user 9f1c2e3d-1111-4a2b-9c3d-0123456789ab logged in\n"
        "2024-01-01T00:00:04Z INFO user 0b1c2e3d-2222-4a2b-9c3d-0123456789ff logged in\n"
        '2024-01-01T00:00:05Z WARN cache miss for key "session" id 0xdeadbeef\n'
        '2024-01-01T00:00:06Z WARN cache miss for key "profile" id 0x00c0ffee\n'
    )
    store = tmp_path / "t.duckdb"
    ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    rows = _rows(store)
    ids = [r["template_id"] for r in rows]
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] == ids[4]
    assert ids[5] == ids[6]
    assert len({ids[0], ids[3], ids[5]}) == 3
    con = duckdb.connect(str(store), read_only=True)
    templates = dict(con.execute("SELECT template_id, template FROM log_templates").fetchall())
    con.close()
    assert templates[ids[0]] == "connection to <*>:<*> failed after <*> retries"
    assert templates[ids[3]] == "user <*> logged in"


def test_detect_prefers_specific_layout() -> None:
    from zoneinfo import ZoneInfo

    lines = (FIX / "log4j.log").read_text().splitlines()
    det = detect_layout(lines, ZoneInfo("UTC"))
    assert det is not None and det.layout.name == "log4j" and det.layout.ts is ISO8601
    lines = (FIX / "syslog_rfc3164.log").read_text().splitlines()
    det = detect_layout(lines, ZoneInfo("UTC"))
    assert det is not None and det.layout.ts is RFC3164


def test_iso_offsets_respected(tmp_path: Path) -> None:
    path = tmp_path / "tz.log"
    path.write_text(
        "2024-01-01T09:00:00+09:00 INFO seoul\n2024-01-01T00:30:00Z INFO utc\n"
        "2024-01-01 02:00:00 INFO naive\n"
    )
    store = tmp_path / "t.duckdb"
    ingest_paths(store, "logs", [path], IngestOptions(timezone="Europe/Berlin"), progress=False)
    got = {r["message"]: r["ts"] for r in _rows(store)}
    assert got == {
        "seoul": dt(2024, 1, 1, 0, 0),
        "utc": dt(2024, 1, 1, 0, 30),
        "naive": dt(2024, 1, 1, 1, 0),  # 02:00 CET = 01:00 UTC
    }


def test_service_option_fills_only_lines_without_a_program(tmp_path: Path) -> None:
    """--service labels the lines that name no program; a line's own program wins, unless
    the caller says every file is one service (force_service, as the demo lays out)."""
    log = tmp_path / "mixed.log"
    log.write_text("2026-11-20T11:00:00Z web-1 sshd[10]: Accepted password for ops\n"
                   "2026-11-20T11:01:00Z web-1 nginx[20]: upstream timed out\n")
    store = tmp_path / "t.duckdb"
    ingest_paths(store, "logs", [log], IngestOptions(service="shop"), progress=False)
    assert sorted(r["service"] for r in _rows(store)) == ["nginx", "sshd"]
    forced = tmp_path / "f.duckdb"
    ingest_paths(forced, "logs", [log], IngestOptions(service="shop", force_service=True),
                 progress=False)
    assert {r["service"] for r in _rows(forced)} == {"shop"}
    plain = tmp_path / "plain.log"
    plain.write_text("2026-11-20 11:00:00,123 ERROR payment failed\n")
    store2 = tmp_path / "p.duckdb"
    ingest_paths(store2, "logs", [plain], IngestOptions(service="shop"), progress=False)
    assert [r["service"] for r in _rows(store2)] == ["shop"]
