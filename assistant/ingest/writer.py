"""`StoreWriter`: the one way rows get into the embedded store, fast and idempotent.

Everything is buffered and written in Arrow batches with ``INSERT ... SELECT`` from a
registered Arrow table (never row by row). Re-writing the same data adds nothing:

* samples are unique per (series_id, ts); a sample already stored is skipped;
* a log row's ``line_hash`` is a hash of its identity (service, host, ts and the raw entry,
  see `add_log_table`) plus the *occurrence index* of identical entries in the same source,
  so genuine repeated lines are all kept, and a second ingestion of the same file finds
  every hash already present;
* events are keyed by id: a known id only updates status / end / severity.

Writes can be grouped in a transaction (`begin` / `commit` / `rollback`; the pipeline holds
one per input file, so a file is stored whole or not at all, e.g. when the disk fills up:
see `disk_full`).

``line_hash`` uses DuckDB's ``hash()``, which is deterministic but may change between DuckDB
major versions (a re-ingestion after such an upgrade would duplicate rows).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, get_args

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assistant.errors import IngestError
from assistant.ingest.levels import normalise_level_array
from assistant.ingest.templates import Templates, mask
from connectors.base import Event, MetricType
from connectors.embedded.schema import WRITER_WAIT_S, connect
from connectors.sql.catalog import read_log_fields
from connectors.sql.dialect import DuckDB
from connectors.sql.logs import LogColumns

DEFAULT_BATCH = 200_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_U64 = np.uint64


@dataclass(slots=True)
class LogRecord:
    """One log entry to store. `ts` is aware (naive means UTC); `level` any common spelling."""

    ts: datetime
    message: str
    service: str | None = None
    host: str | None = None
    level: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    raw: str | None = None
    """The original text, if it differs from `message`; part of the dedupe identity."""


@dataclass
class WriteCounts:
    """Rows actually added (and skipped as already stored)."""

    samples: int = 0
    series: int = 0
    logs: int = 0
    templates: int = 0
    events: int = 0
    events_updated: int = 0
    samples_duplicate: int = 0
    logs_duplicate: int = 0
    events_unchanged: int = 0

    def __iadd__(self, other: WriteCounts) -> Self:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def series_id(metric: str, labels: dict[str, str]) -> int:
    """Stable 64-bit id of a series (metric + sorted labels), independent of DuckDB."""
    key = "\x00".join([metric, *(f"{k}\x01{labels[k]}" for k in sorted(labels))])
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def _mix(h: np.ndarray, occ: np.ndarray) -> np.ndarray:
    """splitmix64 of (h, occurrence): the line hash of the n-th identical entry (n > 0)."""
    with np.errstate(over="ignore"):
        z = h ^ (occ.astype(_U64) * _U64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


class _Occurrences:
    """Per-source counts of identity hashes seen so far (for the occurrence index)."""

    def __init__(self) -> None:
        self.keys = np.empty(0, _U64)
        self.counts = np.empty(0, np.int64)

    def assign(self, h: np.ndarray) -> np.ndarray:
        """Occurrence index of each hash in `h` (in order), counting earlier batches."""
        n = len(h)
        if n == 0:
            return np.empty(0, np.int64)
        order = np.argsort(h, kind="stable")
        s = h[order]
        starts = np.empty(n, bool)
        starts[0] = True
        starts[1:] = s[1:] != s[:-1]
        idx = np.arange(n)
        occ_sorted = idx - np.maximum.accumulate(np.where(starts, idx, 0))
        uniq = s[starts]
        cnt = np.diff(np.append(np.flatnonzero(starts), n))
        pos = np.searchsorted(self.keys, uniq)
        found = np.zeros(len(uniq), bool)
        if len(self.keys):
            inside = pos < len(self.keys)
            found[inside] = self.keys[pos[inside]] == uniq[inside]
        if found.any():  # identical entries seen in earlier batches: continue their count
            prior = np.zeros(len(uniq), np.int64)
            prior[found] = self.counts[pos[found]]
            occ_sorted = occ_sorted + np.repeat(prior, cnt)
            self.counts[pos[found]] += cnt[found]
        new = ~found
        self.keys = np.insert(self.keys, pos[new], uniq[new])
        self.counts = np.insert(self.counts, pos[new], cnt[new])
        occ = np.empty(n, np.int64)
        occ[order] = occ_sorted
        return occ


LOG_COLUMNS = ("ts", "service", "host", "level", "message", "attrs", "source")


class StoreWriter:
    """A writable connection to the store; use as a context manager.

    ``with StoreWriter(path) as w: w.add_samples(...); counts = w.flush()``. `flush` returns
    what that flush added, `close` (called on a clean exit) the totals; `totals` accumulates.
    """

    def __init__(self, path: Path, batch_size: int = DEFAULT_BATCH) -> None:
        self.path = path
        self.batch_size = max(1, batch_size)
        self.con = connect(path, wait_s=WRITER_WAIT_S)
        self.totals = WriteCounts()
        self._closed = False
        # samples
        self._series: dict[int, tuple[str, dict[str, str]]] = {}
        self._known_series: set[int] = set()
        self._s_ids: list[np.ndarray] = []
        self._s_ts: list[np.ndarray] = []
        self._s_vals: list[np.ndarray] = []
        self._s_rows = 0
        self._meta: dict[str, dict[str, str]] = {}
        # logs
        self._templates: Templates | None = None
        self._log_tables: list[pa.Table] = []
        self._log_rows = 0
        self._occ: dict[str | None, _Occurrences] = {}
        self._touched: set[int] = set()  # templates whose field catalog is out of date
        # events
        self._events: dict[str, Event] = {}
        # the open transaction (`begin`): what to restore when it is rolled back
        self._tx: tuple[WriteCounts, set[int]] | None = None

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:  # the error propagates; what was committed stays, the rest is not written
            self._closed = True
            if self._tx is not None:
                self.rollback()
            with contextlib.suppress(duckdb.Error):  # a store that failed (disk full)
                self.con.close()

    # -- transactions ----------------------------------------------------------------
    def begin(self) -> None:
        """Start a transaction: what is written until `commit` is kept together or not at all.

        The pipeline opens one per input file, so a failure in the middle of a file (the
        disk filling up, a kill) leaves none of its rows, and a re-run stores the file whole.
        """
        if self._tx is not None:
            raise RuntimeError("a transaction is already open")
        snapshot = WriteCounts()
        snapshot += self.totals
        self.con.execute("BEGIN TRANSACTION")
        self._tx = (snapshot, set(self._known_series))

    def commit(self) -> None:
        """Flush what is buffered and make the transaction's writes permanent."""
        if self._tx is None:
            raise RuntimeError("no transaction is open")
        self.flush()
        self._refresh_fields()
        self.con.execute("COMMIT")
        self._tx = None

    def rollback(self) -> None:
        """Drop the open transaction's writes and buffers; `totals` go back to its start."""
        if self._tx is None:
            return
        snapshot, known = self._tx
        self._tx = None
        with contextlib.suppress(duckdb.Error):  # a failed write may have ended it already
            self.con.execute("ROLLBACK")
        for f in fields(snapshot):
            setattr(self.totals, f.name, getattr(snapshot, f.name))
        self._known_series = known
        self._templates = None  # templates saved in the transaction are gone: re-read them
        self.discard_samples()
        self._log_tables, self._log_rows = [], 0
        self._occ = {}
        self._touched = set()
        self._events = {}

    # -- metrics ---------------------------------------------------------------------
    def add_samples(
        self,
        metric: str,
        labels: dict[str, str],
        ts: Sequence[datetime | float] | np.ndarray,
        values: Sequence[float] | np.ndarray,
    ) -> None:
        """Buffer samples of one series; `ts` are datetimes (naive = UTC) or epoch seconds."""
        if not metric:
            raise IngestError("a sample needs a metric name")
        if len(ts) != len(values):
            raise IngestError(f"metric {metric!r}: {len(ts)} timestamps but {len(values)} values")
        if len(ts) == 0:
            return
        labels = {str(k): str(v) for k, v in labels.items()}
        us = _to_epoch_us(ts)
        bad = (us < _US_MIN) | (us > _US_MAX)
        if bad.any():  # checked before anything is buffered: no series without samples
            raise SampleRangeError(
                f"metric {metric!r}: a timestamp is outside years 1-9999 (sample "
                f"{int(np.argmax(bad)) + 1} of {len(us)}); timestamps must be Unix seconds or "
                "milliseconds, or ISO 8601")
        sid = series_id(metric, labels)
        if sid not in self._series:
            self._series[sid] = (metric, labels)
        vals = np.asarray(values, dtype=np.float64)
        self._s_ids.append(np.full(len(us), sid, dtype=_U64))
        self._s_ts.append(us)
        self._s_vals.append(vals)
        self._s_rows += len(us)
        if self._s_rows >= self.batch_size:
            self._flush_samples(self.totals)

    def set_metric_meta(
        self,
        metric: str,
        type: str | None = None,
        help: str | None = None,
        unit: str | None = None,
    ) -> None:
        """Record type / help / unit of a metric (later non-empty values win)."""
        if type is not None and type not in get_args(MetricType):
            raise IngestError(
                f"metric {metric!r}: type {type!r} is not one of {', '.join(get_args(MetricType))}"
            )
        meta = self._meta.setdefault(metric, {})
        for key, value in (("type", type), ("help", help), ("unit", unit)):
            if value:
                meta[key] = value

    def _flush_samples(self, counts: WriteCounts) -> None:
        self._write_series(counts)
        if self._s_rows:
            batch = pa.table(
                {
                    "series_id": pa.array(np.concatenate(self._s_ids), pa.uint64()),
                    "ts": pa.array(np.concatenate(self._s_ts), pa.timestamp("us")),
                    "value": pa.array(np.concatenate(self._s_vals), pa.float64()),
                    "seq": pa.array(np.arange(self._s_rows, dtype=np.int64)),
                }
            )
            self._s_ids, self._s_ts, self._s_vals, self._s_rows = [], [], [], 0
            n = batch.num_rows
            lo, hi = pc.min_max(batch["ts"]).values()
            # stored by series then time, so a row group holds few series (zonemaps prune)
            with self._registered("_opsa_samples", batch):
                added = self._count(
                    """
                    INSERT INTO samples
                    SELECT b.series_id, b.ts, b.value FROM (
                        SELECT series_id, ts, arg_min(value, seq) AS value
                        FROM _opsa_samples GROUP BY series_id, ts
                    ) b
                    ANTI JOIN (
                        SELECT series_id, ts FROM samples
                        WHERE ts BETWEEN $lo AND $hi
                          AND series_id IN (SELECT DISTINCT series_id FROM _opsa_samples)
                    ) s ON s.series_id = b.series_id AND s.ts = b.ts
                    ORDER BY b.series_id, b.ts
                    """,
                    {"lo": lo.as_py(), "hi": hi.as_py()},
                )
            counts.samples += added
            counts.samples_duplicate += n - added
        if self._meta:
            rows = list(self._meta.items())
            self._meta = {}
            meta = pa.table(
                {
                    "metric": [m for m, _ in rows],
                    "type": [d.get("type", "unknown") for _, d in rows],
                    "help": [d.get("help", "") for _, d in rows],
                    "unit": [d.get("unit", "") for _, d in rows],
                }
            )
            with self._registered("_opsa_meta", meta):
                self.con.execute(
                    """
                    INSERT INTO metric_meta SELECT metric, type, help, unit FROM _opsa_meta
                    ON CONFLICT (metric) DO UPDATE SET
                      type = CASE WHEN excluded.type <> 'unknown' THEN excluded.type
                                  ELSE metric_meta.type END,
                      help = CASE WHEN excluded.help <> '' THEN excluded.help
                                  ELSE metric_meta.help END,
                      unit = CASE WHEN excluded.unit <> '' THEN excluded.unit
                                  ELSE metric_meta.unit END
                    """
                )

    def _write_series(self, counts: WriteCounts) -> None:
        new = [sid for sid in self._series if sid not in self._known_series]
        if not new:
            return
        table = pa.table(
            {
                "series_id": pa.array(new, pa.uint64()),
                "metric": pa.array([self._series[s][0] for s in new], pa.string()),
                "labels": pa.array(
                    [list(self._series[s][1].items()) for s in new],
                    pa.map_(pa.string(), pa.string()),
                ),
            }
        )
        with self._registered("_opsa_series", table):
            counts.series += self._count(
                "INSERT INTO series SELECT series_id, metric, labels FROM _opsa_series "
                "ON CONFLICT (series_id) DO NOTHING"
            )
        self._known_series.update(new)

    # -- logs ------------------------------------------------------------------------
    def add_log_records(self, records: Iterable[LogRecord]) -> None:
        """Buffer log records (templates are mined and hashes computed at flush)."""
        chunk: list[LogRecord] = []
        for rec in records:
            chunk.append(rec)
            if len(chunk) >= self.batch_size:
                self.add_log_table(_records_table(chunk))
                chunk = []
        if chunk:
            self.add_log_table(_records_table(chunk))

    def add_log_table(self, table: pa.Table) -> None:
        """Buffer an Arrow table of log rows (the bulk path of the file parsers).

        Columns: ``ts`` (timestamp, UTC), ``message``; optional ``service``, ``host``,
        ``level`` (any spelling), ``attrs`` (JSON text), ``source``, ``shape`` (the message
        through `templates.mask`) and ``h0`` (uint64 identity hash of the raw entry;
        default: hash of service, host, ts, message).
        Rows must be in source order (the occurrence index follows it).
        """
        if table.num_rows == 0:
            return
        self._log_tables.append(self._with_identity(_normalise_log_table(table)))
        self._log_rows += table.num_rows
        if self._log_rows >= self.batch_size:
            self._flush_logs(self.totals)

    def end_source(self, source: str | None) -> None:
        """Forget the occurrence counts of a finished source (frees memory)."""
        if self._log_rows:
            self._flush_logs(self.totals)
        self._occ.pop(source, None)

    def template_text(self, template_id: int) -> str | None:
        return self._templates.template(template_id) if self._templates else None

    def _with_identity(self, table: pa.Table) -> pa.Table:
        """Ensure an ``h0`` identity hash column (from ``_raw`` or the message)."""
        if "h0" in table.column_names:
            return table
        raw = "coalesce(_raw, message)" if "_raw" in table.column_names else "message"
        with self._registered("_opsa_logs_in", table):
            h0 = self.con.sql(
                f"SELECT hash(coalesce(service, ''), coalesce(host, ''), ts, {raw}) AS h0 "
                "FROM _opsa_logs_in"
            ).to_arrow_table()["h0"]
        if "_raw" in table.column_names:
            table = table.drop_columns(["_raw"])
        return table.append_column("h0", h0.cast(pa.uint64()))

    def _flush_logs(self, counts: WriteCounts) -> None:
        if not self._log_rows:
            return
        table = pa.concat_tables(self._log_tables)
        self._log_tables, self._log_rows = [], 0
        if self._templates is None:
            self._templates = Templates(self.con)
        h0 = table["h0"].to_numpy().astype(_U64, copy=False)
        line_hash = np.empty(len(h0), _U64)
        sources = table["source"]
        uniq = pc.unique(sources).to_pylist()
        for src in uniq:
            if len(uniq) == 1:
                sel = np.arange(len(h0))
            else:
                mask = (pc.is_null(sources) if src is None else pc.equal(sources, src)).to_numpy(
                    zero_copy_only=False
                )
                sel = np.flatnonzero(np.asarray(mask, dtype=bool))
            occ = self._occ.setdefault(src, _Occurrences()).assign(h0[sel])
            sub = h0[sel]
            line_hash[sel] = np.where(occ == 0, sub, _mix(sub, occ))
        template_ids = self._templates.ids_for_masked(table["shape"])
        self._touched.update(t for t in pc.unique(template_ids).to_pylist() if t is not None)
        batch = (
            table.drop_columns(["h0", "shape"])
            .append_column("template_id", template_ids)
            .append_column("line_hash", pa.array(line_hash, pa.uint64()))
        )
        lo, hi = pc.min_max(batch["ts"]).values()
        n = batch.num_rows
        own_tx = self._tx is None  # logs and their templates together
        if own_tx:
            self.con.execute("BEGIN TRANSACTION")
        try:
            with self._registered("_opsa_logs", batch):
                added = self._count(
                    """
                    INSERT INTO logs
                    SELECT b.ts, b.service, b.host, b.level, b.level_num, b.message,
                           b.template_id, b.attrs, b.source, b.line_hash
                    FROM _opsa_logs b
                    ANTI JOIN (SELECT line_hash FROM logs WHERE ts BETWEEN $lo AND $hi) e
                      ON e.line_hash = b.line_hash
                    """,
                    {"lo": lo.as_py(), "hi": hi.as_py()},
                )
            counts.templates += self._templates.save(self.con)
            if own_tx:
                self.con.execute("COMMIT")
        except BaseException:
            if own_tx:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
            raise
        counts.logs += added
        counts.logs_duplicate += n - added

    # -- events ----------------------------------------------------------------------
    def add_events(self, events: Iterable[Event]) -> None:
        """Buffer events; same id twice keeps the later one (status / end updates)."""
        for ev in events:
            self._events[ev.id] = ev
        if len(self._events) >= self.batch_size:
            self._flush_events(self.totals)

    def _flush_events(self, counts: WriteCounts) -> None:
        if not self._events:
            return
        evs = list(self._events.values())
        self._events = {}
        table = pa.table(
            {
                "id": [e.id for e in evs],
                "ts": pa.array([_naive_utc(e.ts) for e in evs], pa.timestamp("us")),
                "end_ts": pa.array(
                    [_naive_utc(e.end) if e.end else None for e in evs], pa.timestamp("us")
                ),
                "kind": [e.kind for e in evs],
                "service": pa.array([e.service for e in evs], pa.string()),
                "host": pa.array([e.host for e in evs], pa.string()),
                "title": [e.title for e in evs],
                "status": pa.array([e.status for e in evs], pa.string()),
                "severity": pa.array([e.severity for e in evs], pa.string()),
                "attrs": pa.array(
                    [json.dumps(e.attrs, default=str, sort_keys=True) for e in evs], pa.string()
                ),
            }
        )
        with self._registered("_opsa_events", table):
            existing = dict(
                self.con.execute(
                    "SELECT e.id, e.status IS NOT DISTINCT FROM n.status "
                    "AND e.end_ts IS NOT DISTINCT FROM coalesce(n.end_ts, e.end_ts) "
                    "AND e.severity IS NOT DISTINCT FROM coalesce(n.severity, e.severity) "
                    "FROM events e JOIN _opsa_events n USING (id)"
                ).fetchall()
            )
            self.con.execute(
                """
                INSERT INTO events
                SELECT id, ts, end_ts, kind, service, host, title, status, severity, attrs
                FROM _opsa_events
                ON CONFLICT (id) DO UPDATE SET
                  status = excluded.status,
                  end_ts = coalesce(excluded.end_ts, events.end_ts),
                  severity = coalesce(excluded.severity, events.severity)
                """
            )
        counts.events += len(evs) - len(existing)
        counts.events_updated += sum(1 for same in existing.values() if not same)
        counts.events_unchanged += sum(1 for same in existing.values() if same)

    # -- flushing ----------------------------------------------------------------------
    def discard_samples(self) -> None:
        """Drop the samples, series and metadata buffered since the last flush."""
        self._s_ids, self._s_ts, self._s_vals, self._s_rows = [], [], [], 0
        self._series = {}
        self._meta = {}

    def flush(self) -> WriteCounts:
        """Write everything buffered; returns what this flush added."""
        counts = WriteCounts()
        self._flush_samples(counts)
        self._flush_logs(counts)
        self._flush_events(counts)
        self.totals += counts
        return counts

    def close(self) -> WriteCounts:
        """Flush, close the connection and return the totals of this writer."""
        if not self._closed:
            self.flush()
            self._refresh_fields()
            self._closed = True
            self.con.close()
        return self.totals

    def _refresh_fields(self) -> None:
        """Re-measure the field catalog (`log_fields`) of the templates written since."""
        if not self._touched:
            return
        ids = sorted(self._touched)
        fields = read_log_fields(lambda sql: self.con.execute(sql).fetchall(),
                                 LogColumns.store(), DuckDB(), ids)
        self.con.execute("DELETE FROM log_fields WHERE template_id IN (SELECT unnest($1))",
                         [ids])
        if fields:
            self.con.executemany(
                "INSERT INTO log_fields VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(f.template_id, f.index, f.name, f.type, f.unit, list(f.examples),
                  f.distinct, f.lines, list(f.services)) for f in fields],
            )
        self._touched = set()

    # -- helpers -----------------------------------------------------------------------
    def _count(self, sql: str, params: dict[str, Any] | None = None) -> int:
        row = self.con.execute(sql, params or {}).fetchone()
        return int(row[0]) if row else 0

    def _registered(self, name: str, table: pa.Table) -> _Registered:
        return _Registered(self.con, name, table)


class _Registered:
    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
        self.con, self.name, self.table = con, name, table

    def __enter__(self) -> None:
        self.con.register(self.name, self.table)

    def __exit__(self, *exc: object) -> None:
        self.con.unregister(self.name)


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_FULL_TEXTS = ("no space left on device", "disk quota exceeded")


def disk_full(exc: BaseException | None) -> str | None:
    """Why `exc` (or an error it was raised from or during) means the disk is full, or None.

    DuckDB reports a failed write as ``duckdb.IOException`` with the system's message
    ("No space left on device"); Python code as ``OSError`` with errno ENOSPC / EDQUOT.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return exc.strerror or os.strerror(exc.errno or errno.ENOSPC)
        if isinstance(exc, duckdb.Error):
            text = str(exc).lower()
            for full in _FULL_TEXTS:
                if full in text:
                    return full[0].upper() + full[1:]
        suppressed = exc.__suppress_context__
        exc = exc.__cause__ or (None if suppressed else exc.__context__)
    return None


def _naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


class SampleRangeError(IngestError):
    """A sample timestamp no store or query can represent (outside years 1-9999)."""


_US_MIN = int((datetime(1, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC))
              / timedelta(microseconds=1))
_US_MAX = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
               - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def _to_epoch_us(ts: Sequence[datetime | float] | np.ndarray) -> np.ndarray:
    """Timestamps (datetimes, epoch seconds, numpy datetime64) -> int64 epoch microseconds."""
    if isinstance(ts, np.ndarray):
        if np.issubdtype(ts.dtype, np.datetime64):
            return ts.astype("datetime64[us]").astype(np.int64)
        return _seconds_to_us(ts.astype(np.float64))
    first = ts[0]
    if isinstance(first, datetime):
        arr = pa.array(
            [t if t.tzinfo else t.replace(tzinfo=UTC) for t in ts],  # type: ignore[union-attr]
            pa.timestamp("us", tz="UTC"),
        )
        return arr.cast(pa.int64()).to_numpy()
    vals = np.asarray(ts, dtype=np.float64)
    if not np.all(np.isfinite(vals)):
        raise IngestError("sample timestamps must be finite epoch seconds")
    return _seconds_to_us(vals)


def _seconds_to_us(vals: np.ndarray) -> np.ndarray:
    # Clipped before the cast: a value past int64 would wrap around into the valid range;
    # clipped just outside it, it is reported as out of range instead.
    return np.round(np.clip(vals, _US_MIN / 1e6 - 1, _US_MAX / 1e6 + 1) * 1e6).astype(np.int64)


def _records_table(records: list[LogRecord]) -> pa.Table:
    def attrs(r: LogRecord) -> str | None:
        return json.dumps(r.attrs, default=str, sort_keys=True) if r.attrs else None

    ts = pa.array(
        [r.ts if r.ts.tzinfo else r.ts.replace(tzinfo=UTC) for r in records],
        pa.timestamp("us", tz="UTC"),
    ).cast(pa.timestamp("us"))
    table = pa.table(
        {
            "ts": ts,
            "service": pa.array([r.service for r in records], pa.string()),
            "host": pa.array([r.host for r in records], pa.string()),
            "level": pa.array([r.level for r in records], pa.string()),
            "message": pa.array([r.message for r in records], pa.string()),
            "attrs": pa.array([attrs(r) for r in records], pa.string()),
            "source": pa.array([r.source for r in records], pa.string()),
        }
    )
    if any(r.raw is not None for r in records):
        raw = pa.array([r.raw if r.raw is not None else r.message for r in records], pa.string())
        table = table.append_column("_raw", raw)
    return table


def _normalise_log_table(table: pa.Table) -> pa.Table:
    n = table.num_rows
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in LOG_COLUMNS:
        if name in table.column_names:
            col = table[name]
        elif name in ("ts", "message"):
            raise IngestError(f"log rows need a {name!r} column")
        else:
            col = pa.nulls(n, pa.string())
        if name == "ts":
            if pa.types.is_timestamp(col.type) and col.type.tz is not None:
                col = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
            else:
                col = col.cast(pa.timestamp("us"))
            if col.null_count:
                raise IngestError("log rows need a timestamp; got rows without one")
        elif col.type != pa.string():
            col = col.cast(pa.string())
        cols[name] = col
    cols["level"], cols["level_num"] = normalise_level_array(cols["level"])
    # the masked message (template key): parsers compute it in their own thread
    shape = table["shape"] if "shape" in table.column_names else mask(cols["message"])
    cols["shape"] = shape.cast(pa.string())
    out = pa.table(cols)
    if "h0" in table.column_names:
        out = out.append_column("h0", table["h0"].cast(pa.uint64()))
    elif "_raw" in table.column_names:
        # identity from the raw text: hashed with the rest at flush
        out = out.append_column("_raw", table["_raw"])
    return out
