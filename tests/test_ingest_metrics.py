"""Metrics ingestion: Prometheus text, OpenMetrics, CSV; metadata; malformed; idempotence."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from assistant.errors import IngestError
from assistant.ingest.pipeline import IngestFailed, IngestOptions, ingest_paths

FIX = Path(__file__).parent / "fixtures" / "ingest"


def _samples(store: Path) -> list[tuple[str, dict[str, str], datetime, float]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return [
            (m, dict(labels), ts, v)
            for m, labels, ts, v in con.execute(
                "SELECT s.metric, s.labels, x.ts, x.value FROM samples x JOIN series s "
                "USING (series_id) ORDER BY s.metric, x.ts, x.value"
            ).fetchall()
        ]
    finally:
        con.close()


def _meta(store: Path) -> dict[str, tuple[str, str, str]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {r[0]: r[1:] for r in con.execute("SELECT * FROM metric_meta").fetchall()}
    finally:
        con.close()


def ms(x: int) -> datetime:
    return datetime.fromtimestamp(x / 1000, UTC).replace(tzinfo=None)


def test_prometheus_text(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "metrics", [FIX / "metrics.prom"], progress=False)
    assert report.files[0].format == "prometheus-text"
    # 2 request series + 2 load series + 1 start-time series
    assert (report.rows_added, report.malformed, report.series_added) == (8, 0, 5)
    rows = _samples(store)
    reqs = [r for r in rows if r[0] == "http_requests_total" and r[1]["code"] == "200"]
    assert [(r[2], r[3]) for r in reqs] == [
        (ms(1732100000000), 1027.0),
        (ms(1732100015000), 1100.0),
    ]
    assert reqs[0][1] == {"service": "checkout", "host": "web-01", "code": "200"}
    load = {(r[1]["host"], r[2]): r[3] for r in rows if r[0] == "node_load1"}
    assert load[("web-01", ms(1732100000000))] == 0.42
    assert math.isnan(load[("web-01", ms(1732100015000))])
    assert load[("web-02", ms(1732100015000))] == math.inf
    quoted = next(r for r in rows if r[0] == "process_start_time_seconds")
    assert quoted[1]["note"] == 'a "quoted" value, with comma'
    meta = _meta(store)
    assert meta["http_requests_total"] == ("counter", "Total HTTP requests.", "")
    assert meta["node_load1"] == ("gauge", "1m load average.", "")
    assert "process_start_time_seconds" not in meta  # no # TYPE: nothing invented


def test_openmetrics_seconds_histogram_and_eof(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "metrics", [FIX / "metrics.om"], progress=False)
    assert report.files[0].format == "openmetrics"
    assert report.rows_added == 7
    rows = _samples(store)
    at = datetime(2024, 11, 20, 10, 53, 20)  # 1732100000 s
    buckets = {r[1]["le"]: r[3] for r in rows if r[0] == "http_request_duration_seconds_bucket"}
    assert buckets == {"0.1": 10.0, "0.5": 25.0, "+Inf": 30.0}
    assert all(r[2] == at for r in rows if r[0].startswith("http_request_duration"))
    failures = next(r for r in rows if r[0] == "auth_login_failures_total")
    assert failures[2] == datetime(2024, 11, 20, 10, 53, 20, 500000)  # exemplar ignored
    assert failures[3] == 4.0
    meta = _meta(store)
    for name in ("", "_bucket", "_sum", "_count"):
        assert meta["http_request_duration_seconds" + name] == (
            "histogram",
            "Request latency.",
            "seconds",
        )
    assert meta["auth_login_failures_total"][0] == "counter"
    assert meta["auth_login_failures_created"][0] == "gauge"


def test_malformed_metrics_lines(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "metrics", [FIX / "malformed.prom"], progress=False)
    assert report.rows_added == 2
    assert report.malformed == 3
    assert [n for _, n, _ in report.malformed_examples] == [3, 4, 5]
    assert "notanumber" in report.malformed_examples[1][2]


def test_samples_without_timestamp_use_default_ts(tmp_path: Path) -> None:
    path = tmp_path / "now.prom"
    path.write_text('# TYPE up gauge\nup{job="a"} 1\nup{job="b"} 0\n')
    pinned = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    store = tmp_path / "t.duckdb"
    opts = IngestOptions(default_ts=pinned, labels={"cluster": "demo"})
    ingest_paths(store, "metrics", [path], opts, progress=False)
    again = ingest_paths(store, "metrics", [path], opts, progress=False)
    rows = _samples(store)
    assert sorted([(r[1], r[2]) for r in rows], key=lambda x: x[0]["job"]) == [
        ({"job": "a", "cluster": "demo"}, datetime(2026, 11, 20, 12, 0)),
        ({"job": "b", "cluster": "demo"}, datetime(2026, 11, 20, 12, 0)),
    ]
    assert (again.rows_added, again.rows_skipped_duplicate) == (0, 2)


def test_metrics_reingest_adds_nothing(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    files = [FIX / "metrics.prom", FIX / "metrics.om"]
    first = ingest_paths(store, "metrics", files, progress=False)
    second = ingest_paths(store, "metrics", files, progress=False)
    assert (second.rows_added, second.rows_skipped_duplicate) == (0, first.rows_added)
    assert second.series_added == 0
    assert len(_samples(store)) == first.rows_added


def test_csv_with_header_and_labels(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    opts = IngestOptions(metric="node_filesystem_usage_percent", labels={"host": "db-01"})
    report = ingest_paths(store, "metrics", [FIX / "samples.csv"], opts, progress=False)
    assert report.files[0].format == "csv"
    assert (report.rows_added, report.malformed) == (3, 2)
    assert [n for _, n, _ in report.malformed_examples] == [5, 6]
    rows = _samples(store)
    assert [(r[1]["mountpoint"], r[2], r[3]) for r in rows] == [
        ("/", datetime(2024, 11, 20, 11, 0), 71.5),
        ("/var/lib/data", datetime(2024, 11, 20, 11, 0, 15), 40.0),
        ("/", datetime(2024, 11, 20, 11, 0, 15), 71.6),
    ]
    assert all(r[0] == "node_filesystem_usage_percent" and r[1]["host"] == "db-01" for r in rows)


def test_csv_without_header_epoch_units(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    opts = IngestOptions(metric="x")
    ingest_paths(store, "metrics", [FIX / "samples_noheader.csv"], opts, progress=False)
    assert [(r[2], r[3]) for r in _samples(store)] == [
        (datetime(2024, 11, 20, 10, 53, 20), 0.5),
        (datetime(2024, 11, 20, 10, 53, 35), 0.75),  # milliseconds
        (datetime(2024, 11, 20, 10, 53, 50), 1.25),
    ]


def test_csv_needs_a_metric_name(tmp_path: Path) -> None:
    with pytest.raises(IngestFailed, match="--metric NAME"):
        ingest_paths(tmp_path / "t.duckdb", "metrics", [FIX / "samples.csv"], progress=False)


def test_text_log_is_not_metrics(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="neither Prometheus"):
        ingest_paths(tmp_path / "t.duckdb", "metrics", [FIX / "log4j.log"], progress=False)


def test_timestamps_past_year_9999_fail_the_file_and_leave_nothing(tmp_path: Path) -> None:
    """A millisecond timestamp read as past year 9999 is one clear error; the file's other
    samples and series are not half-written, and a good file beside it still goes in."""
    bad = tmp_path / "bad.prom"
    bad.write_text('# TYPE a gauge\na{x="1"} 1 1700000000000\na{x="2"} 2 999999999999999999\n'
                   "b 3 1700000000000\n")
    good = tmp_path / "good.prom"
    good.write_text("c 4 1700000000000\n")
    store = tmp_path / "t.duckdb"
    with pytest.raises(IngestFailed, match="outside years 1-9999"):
        ingest_paths(store, "metrics", [bad, good], progress=False)
    assert [(m, v) for m, _, _, v in _samples(store)] == [("c", 4.0)]
    con = duckdb.connect(str(store), read_only=True)
    try:
        assert con.execute("SELECT metric FROM series").fetchall() == [("c",)]
    finally:
        con.close()
