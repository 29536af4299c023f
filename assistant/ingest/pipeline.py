"""`ingest_paths`: files and directories in, rows in the store, a report out.

Each file is recognised by its content (not its name): gzip or not, JSON lines or text
(and which text layout), Prometheus/OpenMetrics or CSV, events JSON or an Alertmanager
payload. Files named explicitly that hold nothing parseable fail the run
(`IngestFailed`, after the other files are done); files found inside a directory that do
not look like the requested kind are skipped and listed in the report.
"""

from __future__ import annotations

import contextlib
import csv
import queue
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.errors import IngestError
from assistant.ingest.events import KINDS, parse_events
from assistant.ingest.infer import choose_layout
from assistant.ingest.logs_json import JsonLogParser, parse_objects, resolve_mapping
from assistant.ingest.logs_text import MAX_EXAMPLES, Malformed, TextLogParser
from assistant.ingest.metrics_csv import CsvParser, sniff_dialect
from assistant.ingest.metrics_text import ExpositionParser, looks_like_exposition
from assistant.ingest.readers import InputFile, LineReader, looks_binary, text_lines
from assistant.ingest.timestamps import ISO8601, offset_mode
from assistant.ingest.writer import (
    DEFAULT_BATCH,
    SampleRangeError,
    StoreWriter,
    WriteCounts,
    disk_full,
)
from assistant.settings import check_timezone

Kind = Literal["metrics", "logs", "events"]
SAMPLE_LINES = 2000
MAX_EVENTS_BYTES = 256 << 20


class IngestOptions(BaseModel):
    """How to read inputs (everything optional)."""

    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(default=None, ge=1970, le=2200, description="for year-less logs")
    timezone: str = Field(default="UTC", description="for timestamps without an offset")
    service: str | None = Field(default=None, description="service of log rows without one")
    force_service: bool = Field(
        default=False, description="`service` for every row, even one naming its own program "
        "(a directory per service, as the demo lays out its files)")
    host: str | None = Field(default=None, description="host of log rows without one")
    json_fields: dict[str, str] = Field(
        default_factory=dict, description="JSON logs: role (ts, message, level, ...) -> field"
    )
    metric: str | None = Field(default=None, description="CSV: the metric name")
    labels: dict[str, str] = Field(default_factory=dict, description="labels for all samples")
    default_ts: datetime | None = Field(
        default=None, description="time of samples without a timestamp (default: now)"
    )
    event_kind: str | None = Field(default=None, description="kind of events without one")
    batch_size: int = Field(default=DEFAULT_BATCH, ge=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("event_kind")
    @classmethod
    def _kind(cls, v: str | None) -> str | None:
        if v is not None and v not in KINDS:
            raise ValueError(f"event kind {v!r} is not one of {', '.join(KINDS)}")
        return v


@dataclass
class ServiceCount:
    """Logs: what one file held for one service (None: lines that named none)."""

    service: str | None
    lines: int = 0
    """Entries parsed for the service."""
    stored: int = 0
    """Of those, rows added to the store by this run."""
    skipped: int = 0
    """Of those, rows the store already held (a re-run, or the same lines elsewhere)."""
    first: datetime | None = None
    last: datetime | None = None
    """The period the entries cover (UTC)."""


@dataclass
class FileReport:
    path: str
    status: Literal["ok", "skipped", "failed"] = "ok"
    format: str | None = None
    lines: int = 0
    rows_added: int = 0
    rows_duplicate: int = 0
    malformed: int = 0
    reason: str | None = None
    updated: int = 0
    """Events already stored whose status / end / severity changed."""
    content_key: str | None = None
    """CRC-32 and length of the (decompressed) content, as recorded in `ingested`."""
    parsed_lines: int = 0
    """Logs: lines parsed by the file's layout (`format`) into entries."""
    raw_lines: int = 0
    """Logs: non-blank lines the layout did not parse: kept raw in the previous entry's
    message (multi-line layouts), else counted malformed."""
    notes: list[str] = field(default_factory=list)
    """Assumptions made reading the file (e.g. the year of year-less timestamps)."""
    services: list[ServiceCount] = field(default_factory=list)
    """Logs: per service, the entries parsed, stored and already stored, and their period."""


@dataclass
class IngestReport:
    """What one `ingest_paths` run did."""

    kind: str
    files: list[FileReport] = field(default_factory=list)
    lines_read: int = 0
    rows_added: int = 0
    rows_skipped_duplicate: int = 0
    malformed: int = 0
    malformed_examples: list[tuple[str, int, str]] = field(default_factory=list)
    series_added: int = 0
    templates_added: int = 0
    events_updated: int = 0
    elapsed_s: float = 0.0

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for f in out["files"]:
            for sc in f["services"]:
                for key in ("first", "last"):
                    sc[key] = sc[key].isoformat() if sc[key] is not None else None
        out["malformed_examples"] = [
            {"path": p, "line": n, "reason": r} for p, n, r in self.malformed_examples
        ]
        return out


class IngestFailed(IngestError):
    """Some input held nothing parseable; `report` says what was done anyway."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


class StoreFull(IngestFailed):
    """The disk holding the store filled up: the file being written was rolled back whole,
    the files before it are stored, the ones after it were not read."""


def _store_full(store_path: Path, why: str, report: IngestReport, not_read: int) -> str:
    current = report.files[-1]
    done = [f for f in report.files[:-1] if f.status == "ok"]
    kept = f"; {len(done)} earlier file(s) were ingested" if done else ""
    later = f"; {not_read} file(s) after it were not read" if not_read else ""
    return (
        f"the disk holding the telemetry store {store_path} is full ({why}): nothing from "
        f"{current.path} was kept{kept}{later}; free some space and run the same command "
        "again (rows already stored are skipped)"
    )


class _Parser(Protocol):
    malformed: Malformed
    lines: int
    entries: int

    def feed(self, lines: pa.Array) -> pa.Table | None: ...

    def finish(self) -> pa.Table | None: ...

    def close(self) -> None: ...


Progress = Callable[[int], None]


def ingest_paths(
    store_path: Path,
    kind: Kind,
    paths: Sequence[Path],
    options: IngestOptions | None = None,
    progress: bool = True,
) -> IngestReport:
    """Ingest files and directories of one kind into the store at `store_path`."""
    options = options or IngestOptions()
    if kind not in ("metrics", "logs", "events"):
        raise IngestError(f"unknown kind {kind!r}; use metrics, logs or events")
    if not paths:
        raise IngestError("no input paths given")
    files = _expand(paths)
    report = IngestReport(kind=kind)
    started = time.perf_counter()
    total = sum(f.stat().st_size for f, _ in files if f.exists())
    with _progress(progress, total) as advance, StoreWriter(store_path, options.batch_size) as w:
        done = 0

        def at(n: int) -> None:  # progress within the current file
            advance(done + n)

        for index, (path, explicit) in enumerate(files):
            fr = FileReport(path=str(path))
            report.files.append(fr)
            malformed: Malformed | None = None
            before = WriteCounts()
            before += w.totals
            w.begin()  # a file is stored whole or not at all (disk full, kill -9)
            try:
                try:
                    src = InputFile.of(path)
                    malformed = _ingest_file(w, kind, src, options, fr, at)
                except _Skip as skip:
                    fr.status = "failed" if explicit else "skipped"
                    fr.reason = str(skip)
                except SampleRangeError as exc:  # all or nothing: the file's rows are dropped
                    w.rollback()
                    w.begin()
                    fr.status = "failed"
                    fr.reason = str(exc)
                except IngestError as exc:  # e.g. a truncated gzip: what was read is kept
                    if disk_full(exc):
                        raise
                    fr.status = "failed"
                    fr.reason = str(exc)
                w.flush()
                _account(fr, kind, before, w.totals)
                if fr.status == "ok" and malformed is not None:
                    if fr.rows_added + fr.rows_duplicate == 0 and not fr.updated:
                        fr.status = "failed"
                        fr.reason = _nothing_parseable(kind, fr, malformed)
                    else:
                        _record(w, kind, src, fr)
                w.commit()
            except BaseException as exc:
                w.rollback()
                full = disk_full(exc)
                if full is None:
                    raise
                _account(fr, kind, before, w.totals)
                fr.services = []  # counted inside the rolled-back transaction
                fr.status = "failed"
                fr.reason = f"the disk is full ({full}); nothing from this file was kept"
                report.elapsed_s = time.perf_counter() - started
                raise StoreFull(
                    _store_full(store_path, full, report, len(files) - index - 1), report
                ) from exc
            with contextlib.suppress(OSError):
                done += path.stat().st_size
            advance(done)
            if malformed is not None:
                fr.malformed = malformed.count
                for line_no, reason in malformed.examples:
                    if len(report.malformed_examples) < MAX_EXAMPLES * 2:
                        report.malformed_examples.append((str(path), line_no, reason))
            report.lines_read += fr.lines
            report.rows_added += fr.rows_added
            report.rows_skipped_duplicate += fr.rows_duplicate
            report.malformed += fr.malformed
        report.series_added = w.totals.series
        report.templates_added = w.totals.templates
        report.events_updated = w.totals.events_updated
    report.elapsed_s = time.perf_counter() - started
    _raise_on_failure(report, files)
    return report


def _raise_on_failure(report: IngestReport, files: list[tuple[Path, bool]]) -> None:
    failed = report.failed
    parsed = [f for f in report.files if f.status == "ok"]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        partial = (
            f" ({first.rows_added:,} rows read before that were kept)" if first.rows_added else ""
        )
        raise IngestFailed(
            f"{first.path}: {first.reason}{partial}{more}"
            + (f"; {len(parsed)} other file(s) were ingested" if parsed else ""),
            report,
        )
    if not parsed:
        where = ", ".join(str(p) for p, _ in files[:3]) or "the given paths"
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in report.files[:3])
        raise IngestFailed(
            f"no {report.kind} found in {where}" + (f" ({reasons})" if reasons else ""), report
        )


class _Skip(Exception):
    """The file does not look like the requested kind of input."""


def _expand(paths: Sequence[Path]) -> list[tuple[Path, bool]]:
    """Files to read, each with whether it was named explicitly."""
    out: list[tuple[Path, bool]] = []
    seen: set[Path] = set()
    for p in paths:
        if not p.exists():
            raise IngestError(f"no such file or directory: {p}")
        if not p.is_dir() and not p.is_file():
            # A FIFO, socket or device could block forever while the write lock is held.
            raise IngestError(f"{p} is not a regular file (a pipe, socket or device); "
                              "save the data to a file and ingest that")
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
            items = [(f, False) for f in found]
        else:
            items = [(p, True)]
        for f, explicit in items:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append((f, explicit))
    return out


def _ingest_file(
    w: StoreWriter,
    kind: Kind,
    src: InputFile,
    options: IngestOptions,
    fr: FileReport,
    advance: Progress,
) -> Malformed:
    head = src.head()
    if looks_binary(head):
        raise _Skip("binary content, not text")
    if kind == "logs":
        return _ingest_logs(w, src, head, options, fr, advance)
    if kind == "metrics":
        return _ingest_metrics(w, src, head, options, fr, advance)
    return _ingest_events(w, src, options, fr)


def _account(fr: FileReport, kind: str, before: WriteCounts, after: WriteCounts) -> None:
    """Rows this file added / found already stored (the writer's totals before and after)."""
    if kind == "logs":
        fr.rows_added = after.logs - before.logs
        fr.rows_duplicate = after.logs_duplicate - before.logs_duplicate
    elif kind == "metrics":
        fr.rows_added = after.samples - before.samples
        fr.rows_duplicate = after.samples_duplicate - before.samples_duplicate
    else:
        fr.rows_added = after.events - before.events
        fr.rows_duplicate = after.events_unchanged - before.events_unchanged
        fr.updated = after.events_updated - before.events_updated


def _nothing_parseable(kind: str, fr: FileReport, malformed: Malformed) -> str:
    text = (
        f"nothing parseable as {kind} ({fr.format or 'unknown format'}, {fr.lines} lines, "
        f"{malformed.count} malformed"
    )
    if malformed.examples:
        line_no, reason = malformed.examples[0]
        text += f"; first problem: line {line_no}: {reason}"
    return text + ")"


def _record(w: StoreWriter, kind: str, src: InputFile, fr: FileReport) -> None:
    key = fr.content_key or f"path:{src.path}:{src.size}"
    w.con.execute(
        "INSERT INTO ingested VALUES (?, ?, ?, ?, ?)",
        [key, kind, str(src.path), fr.rows_added, datetime.now(UTC).replace(tzinfo=None)],
    )


# -- logs ------------------------------------------------------------------------------
def _ingest_logs(
    w: StoreWriter,
    src: InputFile,
    head: bytes,
    options: IngestOptions,
    fr: FileReport,
    advance: Progress,
) -> Malformed:
    sample = text_lines(head, SAMPLE_LINES)
    tz = ZoneInfo(options.timezone)
    source = str(src.path)
    parser: _Parser
    objects = parse_objects(sample)
    nonblank = [ln for ln in sample if ln.strip()]
    if nonblank and len(objects) >= 0.5 * len(nonblank):
        mapping = resolve_mapping(objects, options.json_fields)
        if mapping.paths["ts"] is None:
            raise _Skip(
                "JSON lines without a timestamp field; name it with --field ts=FIELD "
                f"(tried {', '.join(('ts', 'timestamp', 'time', '@timestamp'))}, ...)"
            )
        fr.format = "json-lines"
        parser = JsonLogParser(
            mapping,
            source=source,
            tz=options.timezone,
            service=options.service,
            host=options.host,
            year=options.year,
        )
    else:
        choice = choose_layout(sample, tz)
        if choice is None:
            raise _Skip(
                f"no known log timestamp in the first {len(nonblank)} lines "
                "(syslog, ISO 8601, access/error log, log4j, Python, yyMMdd, epoch...)"
            )
        layout = choice.layout
        fr.format = f"{layout.name} ({layout.ts.name})"
        offsets = "mixed"
        if layout.ts is ISO8601:
            found = [m["ts"] for ln in sample if (m := layout.compiled.match(ln))]
            offsets = offset_mode(found)
        parser = TextLogParser(
            layout,
            source=source,
            tz=options.timezone,
            offsets=offsets,
            service=options.service,
            force_service=options.force_service,
            host=options.host,
            year=options.year,
            mtime=datetime.fromtimestamp(src.path.stat().st_mtime, UTC),
            max_carry_lines=max(options.batch_size, 1000),
        )
    reader = LineReader(src, advance)
    stored_before = _stored_by_service(w, source)
    tally: dict[str | None, ServiceCount] = {}
    try:
        with contextlib.closing(_pipelined(reader, parser)) as tables:
            for table in tables:
                _tally_services(table, tally)
                w.add_log_table(table)
    finally:
        w.end_source(source)
        parser.close()
        fr.lines = reader.lines
        _log_counts(fr, parser)
        stored_after = _stored_by_service(w, source)
        for sc in tally.values():
            sc.stored = stored_after.get(sc.service, 0) - stored_before.get(sc.service, 0)
            sc.skipped = max(sc.lines - sc.stored, 0)
        fr.services = sorted(tally.values(), key=lambda sc: (-sc.lines, sc.service or ""))
    fr.content_key = reader.content_key
    return parser.malformed


def _stored_by_service(w: StoreWriter, source: str) -> dict[str | None, int]:
    """Log rows the store holds from `source`, per service."""
    rows = w.con.execute(
        "SELECT service, count(*) FROM logs WHERE source = ? GROUP BY service", [source]
    ).fetchall()
    return {service: int(n) for service, n in rows}


def _tally_services(table: pa.Table, tally: dict[str | None, ServiceCount]) -> None:
    """Count a parsed table's entries per service and widen each service's period."""
    n = table.num_rows
    if n == 0:
        return
    svc = table["service"] if "service" in table.column_names else pa.nulls(n, pa.string())
    ts = table["ts"]
    if pa.types.is_timestamp(ts.type) and ts.type.tz is not None:
        ts = ts.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
    else:
        ts = ts.cast(pa.timestamp("us"))
    grouped = pa.table({"service": svc.cast(pa.string()), "ts": ts}).group_by(
        "service", use_threads=False
    ).aggregate([("ts", "count", pc.CountOptions(mode="all")), ("ts", "min"), ("ts", "max")])
    for row in grouped.to_pylist():
        name = row["service"]
        sc = tally.setdefault(name, ServiceCount(service=name))
        sc.lines += int(row["ts_count"])
        for key, pick in (("first", min), ("last", max)):
            value = row[f"ts_{'min' if key == 'first' else 'max'}"]
            if value is None:
                continue
            value = value.replace(tzinfo=UTC)
            old = getattr(sc, key)
            setattr(sc, key, value if old is None else pick(old, value))


def _log_counts(fr: FileReport, parser: _Parser) -> None:
    """How many lines the layout parsed and did not, and what was assumed."""
    fr.parsed_lines = parser.entries
    fr.raw_lines = getattr(parser, "unmatched", 0)
    note = getattr(parser, "year_note", None)
    if note:
        fr.notes.append(note)


def explain_logs(
    paths: Sequence[Path], options: IngestOptions | None = None
) -> list[dict[str, Any]]:
    """The layout each log file would be parsed with, in words; nothing is written."""
    options = options or IngestOptions()
    out: list[dict[str, Any]] = []
    for path, _ in _expand(paths):
        src = InputFile.of(path)
        head = src.head()
        entry: dict[str, Any] = {"path": str(path)}
        out.append(entry)
        if looks_binary(head):
            entry["error"] = "binary content, not text"
            continue
        sample = text_lines(head, SAMPLE_LINES)
        nonblank = [ln for ln in sample if ln.strip()]
        objects = parse_objects(sample)
        if nonblank and len(objects) >= 0.5 * len(nonblank):
            mapping = resolve_mapping(objects, options.json_fields)
            entry.update(layout="json-lines", fields={k: v for k, v in mapping.paths.items() if v})
            continue
        choice = choose_layout(sample, ZoneInfo(options.timezone))
        if choice is None:
            entry["error"] = f"no known log timestamp in the first {len(nonblank)} lines"
            continue
        entry.update(choice.describe(sample))
    return out


def _pipelined(reader: LineReader, parser: _Parser) -> Generator[pa.Table, None, None]:
    """Parse in a background thread while the caller writes (Arrow/DuckDB release the GIL)."""
    q: queue.Queue[pa.Table | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for block in reader:
                if stop.is_set():
                    return
                out = parser.feed(block)
                if out is not None and out.num_rows:
                    q.put(out)
            out = parser.finish()
            if out is not None and out.num_rows:
                q.put(out)
            q.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(exc)

    thread = threading.Thread(target=produce, name="opsa-ingest-parse", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        thread.join()


# -- metrics ---------------------------------------------------------------------------
def _ingest_metrics(
    w: StoreWriter,
    src: InputFile,
    head: bytes,
    options: IngestOptions,
    fr: FileReport,
    advance: Progress,
) -> Malformed:
    sample = text_lines(head, SAMPLE_LINES)
    reader = LineReader(src, advance)
    line_no = 1
    if looks_like_exposition(sample):
        fr.format = "prometheus-text"
        parser = ExpositionParser(
            w,
            default_ts=options.default_ts or datetime.now(UTC),
            extra_labels=dict(options.labels),
            batch=options.batch_size,
        )
        for block in reader:
            lines = block.to_pylist()
            parser.feed(lines, line_no)
            line_no += len(lines)
        parser.finish()
        if parser.openmetrics:
            fr.format = "openmetrics"
        fr.lines = parser.lines
        fr.content_key = reader.content_key
        return parser.malformed
    if not _looks_like_csv(sample):
        raise _Skip("neither Prometheus/OpenMetrics text nor CSV 'timestamp,value' rows")
    fr.format = "csv"
    dialect = sniff_dialect("\n".join(sample[:50]))
    csv_parser = CsvParser(
        w, options.metric, dict(options.labels), ZoneInfo(options.timezone), options.batch_size
    )
    for block in reader:
        lines = block.to_pylist()
        try:
            csv_parser.feed(csv.reader(lines, dialect), line_no)
        except csv.Error as exc:
            raise IngestError(f"unreadable CSV near line {line_no + 1}: {exc}") from None
        line_no += len(lines)
    csv_parser.finish()
    fr.lines = csv_parser.lines
    fr.content_key = reader.content_key
    return csv_parser.malformed


def _looks_like_csv(sample: list[str]) -> bool:
    try:
        rows = [r for r in csv.reader(sample[:50], sniff_dialect("\n".join(sample[:50]))) if r]
    except csv.Error:  # e.g. a bare carriage return inside a field: not CSV we can read
        return False
    if not rows:
        return False
    numeric = 0
    for r in rows:
        if len(r) >= 2:
            try:
                float(r[1])
                numeric += 1
            except ValueError:
                try:
                    float(r[0])
                    numeric += 1
                except ValueError:
                    continue
    return numeric >= max(1, 0.5 * len(rows) - 1)


# -- events ----------------------------------------------------------------------------
def _ingest_events(
    w: StoreWriter, src: InputFile, options: IngestOptions, fr: FileReport
) -> Malformed:
    if src.size > MAX_EVENTS_BYTES and not src.gz:
        raise IngestError(
            f"{src.path} is {src.size >> 20} MiB; events files are read whole "
            f"(limit {MAX_EVENTS_BYTES >> 20} MiB): split it into JSON-lines files"
        )
    data = src.read_all()
    fr.content_key = f"crc32:{zlib.crc32(data):08x}:{len(data)}"
    text = data.decode("utf-8", "replace")
    result = parse_events(text, ZoneInfo(options.timezone), options.event_kind)
    fr.format = result.format
    fr.lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    examples = result.malformed.examples
    if result.records == 0 and examples and all("invalid JSON" in r for _, r in examples):
        raise _Skip("not JSON (an event object, an array of them, or JSON lines)")
    w.add_events(result.events)
    return result.malformed


# -- progress --------------------------------------------------------------------------
@contextlib.contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Progress]:
    if not enabled:
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("ingesting"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task("ingest", total=max(total, 1))
        yield lambda n: bar.update(task, completed=min(n, total))
