"""Events ingestion: flexible JSON, JSON lines, Alertmanager webhooks, upserts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from assistant.ingest.events import parse_events
from assistant.ingest.pipeline import IngestFailed, IngestOptions, ingest_paths

FIX = Path(__file__).parent / "fixtures" / "ingest"


def _events(store: Path) -> dict[str, dict]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        cur = con.execute("SELECT * FROM events")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    finally:
        con.close()


def test_events_json_array_with_flexible_fields(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "events", [FIX / "events.json"], progress=False)
    assert report.rows_added == 3
    assert report.malformed == 2
    reasons = [r for _, _, r in report.malformed_examples]
    assert reasons[0].startswith("item 4: unknown event kind 'meteor'")
    assert reasons[1].startswith("item 5: no time field")
    ev = _events(store)
    dep = ev["dep-1"]
    assert (dep["kind"], dep["service"], dep["ts"], dep["title"]) == (
        "deploy",
        "checkout",
        datetime(2026, 11, 20, 9, 30),
        "checkout v2.3.1",
    )
    assert json.loads(dep["attrs"]) == {"version": "2.3.1", "user": "ci"}
    inc = next(e for e in ev.values() if e["kind"] == "incident")
    assert inc["id"].startswith("ev-")  # no id given: a stable hash
    assert inc["end_ts"] == datetime(2026, 11, 20, 10, 45)
    assert (inc["status"], inc["severity"]) == ("resolved", "sev2")
    change = next(e for e in ev.values() if e["kind"] == "change")
    assert change["host"] == "db-01"  # port stripped
    assert change["ts"] == datetime(2026, 11, 25, 9, 46, 40)  # epoch 1795600000


def test_events_reingest_adds_nothing(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    files = [FIX / "events.json", FIX / "events.jsonl"]
    first = ingest_paths(store, "events", files, progress=False)
    second = ingest_paths(store, "events", files, progress=False)
    assert first.rows_added == 5
    assert (second.rows_added, second.rows_skipped_duplicate) == (0, 5)
    assert len(_events(store)) == 5


def test_alertmanager_webhook_then_resolved_updates(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "events", [FIX / "alertmanager.json"], progress=False)
    assert report.files[0].format == "alertmanager-webhook"
    assert report.rows_added == 2
    ev = _events(store)
    mem = ev["am-1a2b3c4d5e6f7a8b-20261120T101500"]
    assert (mem["kind"], mem["service"], mem["host"], mem["status"], mem["severity"]) == (
        "alert",
        "search",
        "search-02",
        "firing",
        "warning",
    )
    assert mem["end_ts"] is None
    assert mem["title"] == "memory above 90% on search-02"
    web = ev["am-ffeeddccbbaa9988-20261120T102000"]
    assert (web["service"], web["host"], web["title"]) == ("checkout", "web-03", "memory above 95%")
    resolved = ingest_paths(store, "events", [FIX / "alertmanager_resolved.json"], progress=False)
    assert (resolved.rows_added, resolved.events_updated) == (0, 2)
    ev = _events(store)
    assert len(ev) == 2
    mem = ev["am-1a2b3c4d5e6f7a8b-20261120T101500"]
    assert (mem["status"], mem["end_ts"]) == ("resolved", datetime(2026, 11, 20, 11, 0))


def test_default_event_kind_option(tmp_path: Path) -> None:
    path = tmp_path / "deploys.jsonl"
    path.write_text('{"ts": "2026-11-20T09:00:00Z", "service": "auth", "version": "1.2"}\n')
    store = tmp_path / "t.duckdb"
    ingest_paths(store, "events", [path], IngestOptions(event_kind="deploy"), progress=False)
    (ev,) = _events(store).values()
    assert (ev["kind"], ev["title"]) == ("deploy", "deploy auth")


def test_not_json_fails(tmp_path: Path) -> None:
    with pytest.raises(IngestFailed, match="not JSON"):
        ingest_paths(tmp_path / "t.duckdb", "events", [FIX / "log4j.log"], progress=False)


def test_json_lines_with_a_bad_line() -> None:
    from zoneinfo import ZoneInfo

    text = '{"kind": "deploy", "ts": "2026-11-20T09:00:00Z", "title": "a"}\n{oops\n'
    result = parse_events(text, ZoneInfo("UTC"))
    assert len(result.events) == 1
    assert result.malformed.count == 1
    assert result.malformed.examples[0][0] == 2
