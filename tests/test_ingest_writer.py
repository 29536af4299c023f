"""StoreWriter: the API other modules (the demo fleet) write through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from assistant.errors import IngestError
from assistant.ingest.templates import Templates, mask_one
from assistant.ingest.writer import LogRecord, StoreWriter, series_id
from connectors.base import Event

T0 = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def _q(store: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_samples_dedupe_within_and_across_flushes(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    ts = [T0 + timedelta(seconds=15 * i) for i in range(4)]
    with StoreWriter(store, batch_size=3) as w:
        w.add_samples("cpu", {"host": "web-01"}, ts, [1.0, 2.0, 3.0, 4.0])
        w.add_samples("cpu", {"host": "web-01"}, ts[:2], [9.0, 9.0])  # same (series, ts)
        w.add_samples("cpu", {"host": "web-02"}, [t.timestamp() for t in ts], [5, 6, 7, 8])
        first = w.flush()
        w.add_samples("cpu", {"host": "web-01"}, ts, [1.0, 2.0, 3.0, 4.0])
    totals = w.totals
    assert totals.samples == 8
    assert totals.series == 2
    assert totals.samples_duplicate == 6
    assert first.samples + first.samples_duplicate <= 10
    rows = _q(
        store,
        "SELECT s.labels['host'], x.ts, x.value FROM samples x JOIN series s USING (series_id) "
        "ORDER BY 1, 2",
    )
    assert [r[2] for r in rows] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert rows[0][1] == datetime(2026, 11, 20, 11, 0)


def test_numpy_timestamps_and_series_id_stability(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    stamps = np.array(["2026-11-20T11:00:00", "2026-11-20T11:00:15"], dtype="datetime64[s]")
    with StoreWriter(store) as w:
        w.add_samples("mem", {"host": "a", "mode": "x"}, stamps, np.array([1.5, 2.5]))
        w.set_metric_meta("mem", "gauge", "Memory.", "bytes")
        w.set_metric_meta("mem", help="")  # empty values never erase
    assert _q(store, "SELECT * FROM metric_meta") == [("mem", "gauge", "Memory.", "bytes")]
    (sid,) = _q(store, "SELECT series_id FROM series")[0]
    assert sid == series_id("mem", {"mode": "x", "host": "a"})  # label order does not matter
    assert _q(store, "SELECT ts FROM samples ORDER BY ts")[1][0] == datetime(
        2026, 11, 20, 11, 0, 15
    )


def test_bad_sample_input(tmp_path: Path) -> None:
    with StoreWriter(tmp_path / "t.duckdb") as w:
        with pytest.raises(IngestError, match="2 timestamps but 1 values"):
            w.add_samples("x", {}, [T0, T0], [1.0])
        with pytest.raises(IngestError, match="type 'countr'"):
            w.set_metric_meta("x", "countr")


def _records(n_dup: int = 2) -> list[LogRecord]:
    recs = [
        LogRecord(T0, "user 42 logged in from 10.0.0.1", "auth", "auth-01", "INFO"),
        LogRecord(T0 + timedelta(seconds=1), "user 77 logged in from 10.0.0.9", "auth", "auth-01"),
        LogRecord(
            T0 + timedelta(seconds=2), "disk full", "postgres", "db-01", "CRIT", {"mount": "/"}
        ),
    ]
    dup = LogRecord(T0 + timedelta(seconds=3), "retrying", "auth", "auth-01", "warning")
    return recs + [dup] * n_dup


def test_log_records_levels_templates_attrs(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    with StoreWriter(store) as w:
        w.add_log_records(_records())
    rows = _q(
        store,
        "SELECT message, level, level_num, template_id, attrs FROM logs ORDER BY ts, message",
    )
    assert [r[1] for r in rows] == ["info", None, "fatal", "warn", "warn"]
    assert [r[2] for r in rows] == [2, None, 5, 3, 3]
    assert rows[0][3] == rows[1][3]  # differ only in numbers and IPs
    assert rows[2][4] == '{"mount": "/"}'
    templates = dict(_q(store, "SELECT template_id, template FROM log_templates"))
    assert templates[rows[0][3]] == "user <*> logged in from <*>"


def test_log_records_duplicates_kept_and_rewrite_adds_nothing(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    with StoreWriter(store, batch_size=2) as w:  # duplicates split across batches
        w.add_log_records(_records(n_dup=3))
    assert w.totals.logs == 6
    with StoreWriter(store) as w2:
        w2.add_log_records(_records(n_dup=3))
    assert (w2.totals.logs, w2.totals.logs_duplicate) == (0, 6)
    with StoreWriter(store) as w3:
        w3.add_log_records(_records(n_dup=4))  # one more real duplicate
    assert w3.totals.logs == 1
    assert _q(store, "SELECT count(*) FROM logs WHERE message = 'retrying'")[0][0] == 4


def test_template_ids_are_stable_across_writers(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    with StoreWriter(store) as w:
        w.add_log_records([LogRecord(T0, "job 1 finished in 3 s", "batch")])
    with StoreWriter(store) as w:
        w.add_log_records([LogRecord(T0 + timedelta(seconds=5), "job 2 finished in 9 s", "batch")])
    ids = _q(store, "SELECT DISTINCT template_id FROM logs")
    assert len(ids) == 1
    assert _q(store, "SELECT count(*) FROM log_templates")[0][0] == 1


def test_mask_and_cache() -> None:
    assert mask_one('GET /api/v1/users/123 took 45ms from 10.1.2.3:8080 "Mozilla 5"') == (
        "GET /api/<*>/users/<*> took <*> from <*>:<*> <*>"
    )
    assert mask_one("id 0b1c2e3d-2222-4a2b-9c3d-0123456789ff first\nsecond line") == "id <*> first"
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE log_templates (template_id INTEGER PRIMARY KEY, template VARCHAR NOT NULL)"
    )
    t = Templates(con)
    a = t.id_for_shape("request <*> done")
    assert t.id_for_shape("request <*> done") == a
    assert t.id_for_shape("totally different words here") != a


def test_events_upsert(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    ev = Event(id="a1", ts=T0, kind="alert", title="High CPU", status="firing", host="web-03")
    with StoreWriter(store) as w:
        w.add_events([ev, Event(id="d1", ts=T0, kind="deploy", title="v2", service="checkout")])
    assert w.totals.events == 2
    resolved = ev.model_copy(update={"status": "resolved", "end": T0 + timedelta(minutes=9)})
    with StoreWriter(store) as w:
        w.add_events([resolved, ev.model_copy(update={"id": "a2"})])
    assert (w.totals.events, w.totals.events_updated) == (1, 1)
    rows = dict(
        (r[0], r[1:]) for r in _q(store, "SELECT id, status, end_ts FROM events ORDER BY id")
    )
    assert rows["a1"] == ("resolved", datetime(2026, 11, 20, 11, 9))
    assert len(rows) == 3


def test_error_inside_writer_keeps_flushed_rows(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    with pytest.raises(RuntimeError), StoreWriter(store) as w:
        w.add_samples("x", {}, [T0], [1.0])
        w.flush()
        w.add_samples("x", {}, [T0 + timedelta(seconds=1)], [2.0])
        raise RuntimeError("boom")
    assert _q(store, "SELECT count(*) FROM samples")[0][0] == 1
