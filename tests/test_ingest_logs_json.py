"""JSON-lines logs: field mapping (flat, nested, overridden), level styles, malformed lines."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from assistant.errors import IngestError
from assistant.ingest.logs_json import resolve_mapping
from assistant.ingest.pipeline import IngestOptions, ingest_paths

FIX = Path(__file__).parent / "fixtures" / "ingest"


def _rows(store: Path) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(
            "SELECT ts, service, host, level, message, attrs FROM logs ORDER BY ts"
        ).fetchall()
    finally:
        con.close()


def test_json_lines_fields_levels_and_malformed(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "logs", [FIX / "app.jsonl"], IngestOptions(), progress=False)
    assert report.files[0].format == "json-lines"
    assert report.rows_added == 4
    assert report.malformed == 3
    assert [(n, r.split(":")[0]) for _, n, r in report.malformed_examples] == [
        (5, "not a JSON object"),
        (6, 'no timestamp field ($."ts")'),
        (7, "unparseable timestamp yesterday-ish"),
    ]
    rows = _rows(store)
    assert [r[0] for r in rows] == [
        datetime(2024, 6, 1, 10, 0, 0),
        datetime(2024, 6, 1, 10, 0, 1),
        datetime(2024, 6, 1, 10, 0, 2, 500000),  # epoch seconds 1717236002.5
        datetime(2024, 6, 1, 10, 0, 3),
    ]
    assert [r[3] for r in rows] == ["info", "error", "warn", "warn"]  # 40 = pino warn
    assert rows[1][1:3] == ("gateway", "gw-01")
    assert json.loads(rows[0][5]) == {"status": 200, "duration_ms": 12}
    # nothing beyond the mapped fields but pino's own level number, kept beside "warn"
    assert json.loads(rows[2][5]) == {"level_word": "40"}
    assert json.loads(rows[3][5]) == {"attempt": 2, "level_word": "WARNING"}


def test_nested_ecs_fields(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    ingest_paths(store, "logs", [FIX / "ecs.jsonl"], IngestOptions(), progress=False)
    rows = _rows(store)
    assert rows[0][:5] == (
        datetime(2024, 6, 1, 8, 0),  # 10:00+02:00
        "gateway",
        "gw-01",
        "warn",
        "cert expires in 5 days",
    )
    assert json.loads(rows[0][5]) == {"domain": "shop.example", "service": {}, "host": {}}


def test_field_override_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"when": f"2024-01-01T00:00:0{i}Z", "text": f"job {i} done", "sev": "E"})
            for i in range(3)
        )
    )
    store = tmp_path / "t.duckdb"
    opts = IngestOptions(
        json_fields={"ts": "when", "message": "text", "level": "sev"},
        service="batch",
        host="job-01",
    )
    report = ingest_paths(store, "logs", [path], opts, progress=False)
    assert report.rows_added == 3
    rows = _rows(store)
    assert rows[0][1:5] == ("batch", "job-01", "error", "job 0 done")


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(IngestError, match="unknown JSON field role"):
        resolve_mapping([{"ts": 1}], {"when": "ts"})


def test_json_without_timestamp_field_fails(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1, "msg": "x"}\n{"a": 2, "msg": "y"}\n')
    with pytest.raises(IngestError, match="--field ts="):
        ingest_paths(tmp_path / "t.duckdb", "logs", [path], IngestOptions(), progress=False)


def test_json_reingest_adds_nothing_but_keeps_real_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    line = '{"ts": "2024-01-01T00:00:00Z", "msg": "same"}'
    path.write_text(f"{line}\n{line}\n")
    store = tmp_path / "t.duckdb"
    first = ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    second = ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    assert first.rows_added == 2
    assert (second.rows_added, second.rows_skipped_duplicate) == (0, 2)
    assert len(_rows(store)) == 2
