"""The embedded store: one DuckDB file holding metrics, logs and events.

All timestamps are stored as naive UTC `TIMESTAMP` (microseconds). Ingestion writes;
the connector only reads (it opens the file read-only).

Tables
------
series(series_id, metric, labels)         one row per (metric, label set); labels is a
                                          MAP(VARCHAR, VARCHAR); series_id is a stable hash
samples(series_id, ts, value)             unique per (series_id, ts)
metric_meta(metric, type, help, unit)     from # TYPE / # HELP / # UNIT or ingest options
log_templates(template_id, template)      mined at ingestion (drain3)
log_fields(template_id, idx, name, type, unit, examples, distinct_values, lines, services)
                                          the templates' placeholders as named, typed
                                          fields (`assistant.log_fields`), at ingestion
logs(ts, service, host, level, level_num, message, template_id, attrs, source, line_hash)
                                          line_hash dedupes re-ingestion
events(id, ts, end_ts, kind, service, host, title, status, severity, attrs)
ingested(source_key, kind, path, rows, at) what was ingested when (a log of runs)
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from assistant.errors import BackendError, BackendUnavailable, NoStore

LEVEL_NUM: dict[str, int] = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "error": 4, "fatal": 5}

DDL = """
CREATE TABLE IF NOT EXISTS series (
    series_id UBIGINT PRIMARY KEY,
    metric VARCHAR NOT NULL,
    labels MAP(VARCHAR, VARCHAR) NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    series_id UBIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS metric_meta (
    metric VARCHAR PRIMARY KEY,
    type VARCHAR NOT NULL DEFAULT 'unknown',
    help VARCHAR NOT NULL DEFAULT '',
    unit VARCHAR NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS log_templates (
    template_id INTEGER PRIMARY KEY,
    template VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS log_fields (
    template_id INTEGER NOT NULL,
    idx SMALLINT NOT NULL,
    name VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    examples VARCHAR[] NOT NULL,
    distinct_values BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    services VARCHAR[] NOT NULL,
    PRIMARY KEY (template_id, idx)
);
CREATE TABLE IF NOT EXISTS logs (
    ts TIMESTAMP NOT NULL,
    service VARCHAR,
    host VARCHAR,
    level VARCHAR,
    level_num TINYINT,
    message VARCHAR NOT NULL,
    template_id INTEGER,
    attrs JSON,
    source VARCHAR,
    line_hash UBIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id VARCHAR PRIMARY KEY,
    ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP,
    kind VARCHAR NOT NULL,
    service VARCHAR,
    host VARCHAR,
    title VARCHAR NOT NULL,
    status VARCHAR,
    severity VARCHAR,
    attrs JSON
);
CREATE TABLE IF NOT EXISTS ingested (
    source_key VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    path VARCHAR,
    rows BIGINT NOT NULL,
    "at" TIMESTAMP NOT NULL
);
"""


READER_WAIT_S = 5.0
"""How long a question waits for another process's write (an `opsa ingest`) to finish."""
WRITER_WAIT_S = 60.0
"""How long a writer waits for readers in another process (an `opsa serve` mid-question)."""
_POLL_S = 0.1


def connect(path: Path, read_only: bool = False, wait_s: float = 0.0
            ) -> duckdb.DuckDBPyConnection:
    """Open the store (creating its schema when writable) with UTC session time.

    DuckDB lets one process write a file, or any number read it. When another process holds
    it the open is retried for up to `wait_s` seconds, then refused with a clear error.
    """
    if read_only and not path.exists():
        raise NoStore(
            f"no telemetry store at {path}; run 'opsa demo' or 'opsa ingest ...' first"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise BackendError(f"cannot open the telemetry store {path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise BackendUnavailable(_busy(path, read_only, wait_s)) from exc
            time.sleep(_POLL_S)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(DDL)
    return con


def _busy(path: Path, read_only: bool, wait_s: float) -> str:
    waited = f" after waiting {wait_s:g} s" if wait_s else ""
    if read_only:
        return (f"the telemetry store {path.name} is being written by another process (an "
                f"'opsa ingest'?){waited}; ask again when it finishes")
    return (f"the telemetry store {path.name} is in use by another process (a running 'opsa "
            f"serve' or 'opsa slack' between questions, or another ingest){waited}; retry, "
            "or stop it for a long ingest")
