"""CSV samples: ``timestamp,value[,label...]`` with the metric name and labels as options.

A header row is optional: with one, columns are found by name (``timestamp``/``ts``/
``time``, ``value``, optionally ``metric``/``name``); the other columns become labels.
Without one, the first two columns are timestamp and value and the rest are labels
``col3``, ``col4``... Timestamps may be any supported text format or epoch s/ms/us/ns.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.errors import IngestError
from assistant.ingest.logs_text import Malformed, snippet
from assistant.ingest.timestamps import FORMATS, TsFormat, epoch_number
from assistant.ingest.writer import StoreWriter

TS_NAMES = ("timestamp", "ts", "time", "datetime", "date", "t", "@timestamp")
VALUE_NAMES = ("value", "val", "v", "y")
METRIC_NAMES = ("metric", "name", "__name__", "metric_name")


def sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class CsvParser:
    """Rows in, samples out (grouped per series and handed to `writer` in batches)."""

    writer: StoreWriter
    metric: str | None
    labels: dict[str, str]
    tz: ZoneInfo
    batch: int = 100_000
    malformed: Malformed = field(default_factory=Malformed)
    samples: int = 0
    lines: int = 0
    _header: list[str] | None = None
    _ts_col: int = 0
    _value_col: int = 1
    _metric_col: int | None = None
    _label_cols: list[tuple[int, str]] = field(default_factory=list)
    _fmt: TsFormat | None = None
    _started: bool = False
    _buf: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[float], list[float]]] = field(
        default_factory=dict
    )
    _buffered: int = 0

    def feed(self, rows: Iterable[list[str]], first_line_no: int) -> None:
        for i, row in enumerate(rows):
            line_no = first_line_no + i
            self.lines += 1
            if not row or all(not c.strip() for c in row):
                continue
            if not self._started:
                self._start(row)
                if self._header is not None:
                    continue
            self._row(row, line_no)

    def finish(self) -> None:
        for (name, labels), (ts, values) in self._buf.items():
            self.writer.add_samples(name, dict(labels), ts, values)
        self._buf = {}
        self._buffered = 0

    def _start(self, row: list[str]) -> None:
        self._started = True
        cells = [c.strip() for c in row]
        header = len(cells) >= 2 and not _is_number(cells[1])
        if header:
            low = [c.lower() for c in cells]
            self._header = cells
            self._ts_col = next((low.index(n) for n in TS_NAMES if n in low), 0)
            self._value_col = next(
                (low.index(n) for n in VALUE_NAMES if n in low), 1 if self._ts_col != 1 else 0
            )
            self._metric_col = next((low.index(n) for n in METRIC_NAMES if n in low), None)
            used = {self._ts_col, self._value_col, self._metric_col}
            self._label_cols = [(i, c) for i, c in enumerate(cells) if i not in used and c]
        else:
            self._label_cols = [(i, f"col{i + 1}") for i in range(2, len(cells))]
        if self.metric is None and self._metric_col is None:
            raise IngestError(
                "CSV samples need a metric name: pass --metric NAME or add a 'metric' column"
            )

    def _row(self, row: list[str], line_no: int) -> None:
        need = max(self._ts_col, self._value_col, *(i for i, _ in self._label_cols), 0) + 1
        if len(row) < need:
            self.malformed.add(line_no, f"{len(row)} columns, expected {need}: {row!r}")
            return
        ts = self._ts(row[self._ts_col].strip())
        if ts is None:
            self.malformed.add(line_no, f"unparseable timestamp {snippet(row[self._ts_col])!r}")
            return
        try:
            value = float(row[self._value_col])
        except ValueError:
            self.malformed.add(line_no, f"value {snippet(row[self._value_col])!r} is not a number")
            return
        metric = self.metric
        if self._metric_col is not None and row[self._metric_col].strip():
            metric = row[self._metric_col].strip()
        if not metric:
            self.malformed.add(line_no, "empty metric name")
            return
        labels = dict(self.labels)
        for i, name in self._label_cols:
            if i < len(row) and row[i].strip():
                labels[name] = row[i].strip()
        key = (metric, tuple(sorted(labels.items())))
        entry = self._buf.get(key)
        if entry is None:
            entry = self._buf[key] = ([], [])
        entry[0].append(ts)
        entry[1].append(value)
        self.samples += 1
        self._buffered += 1
        if self._buffered >= self.batch:
            self.finish()

    def _ts(self, text: str) -> float | None:
        if _is_number(text):
            x = float(text)
            if not math.isfinite(x):
                return None
            when = epoch_number(x)
            return when.timestamp() if when else None
        dt: datetime | None
        if self._fmt is not None:
            dt = self._fmt.parse(text, self.tz)
            if dt is not None:
                return dt.timestamp()
        for fmt in FORMATS:
            dt = fmt.parse(text, self.tz)
            if dt is not None:
                self._fmt = fmt
                return dt.timestamp()
        return None
