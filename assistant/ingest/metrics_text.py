"""Prometheus text exposition and OpenMetrics -> samples and metric metadata.

Timestamps: Prometheus text writes integer milliseconds, OpenMetrics seconds (a float);
the unit is taken from the magnitude (a value above 1e11 is milliseconds), which is
unambiguous for any date from 1973 to 5138. Samples without a timestamp get the ingest
time (`default_ts`). ``# TYPE`` / ``# HELP`` / ``# UNIT`` fill `metric_meta` for the
family name and for every sample name of the family (``x_total``, ``x_bucket``, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from assistant.ingest.logs_text import Malformed, snippet
from assistant.ingest.writer import StoreWriter

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(
    rf"^(?P<name>{NAME})"
    r'(?:\{(?P<labels>(?:[^"}]|"(?:[^"\\]|\\.)*")*)\})?'
    r"[ \t]+(?P<value>\S+)"
    r"(?:[ \t]+(?P<ts>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))?"
    r"[ \t]*(?:#.*)?$"
)
LABEL_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(,|$)')
META_RE = re.compile(rf"^#[ \t]+(TYPE|HELP|UNIT)[ \t]+({NAME})(?:[ \t]+(.*))?$")
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created", "_info", "_gcount", "_gsum")
TYPE_MAP = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "gaugehistogram": "histogram",
    "summary": "summary",
    "untyped": "unknown",
    "unknown": "unknown",
    "info": "gauge",
    "stateset": "gauge",
}


@dataclass
class _Family:
    type: str | None = None
    help: str | None = None
    unit: str | None = None


@dataclass
class ExpositionParser:
    """Feed lines with `feed`; samples go to `writer` in batches; call `finish` at the end."""

    writer: StoreWriter
    default_ts: datetime
    extra_labels: dict[str, str] = field(default_factory=dict)
    batch: int = 100_000
    malformed: Malformed = field(default_factory=Malformed)
    samples: int = 0
    lines: int = 0
    saw_eof: bool = False
    openmetrics: bool = False
    _families: dict[str, _Family] = field(default_factory=dict)
    _names: set[str] = field(default_factory=set)
    _buf: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[float], list[float]]] = field(
        default_factory=dict
    )
    _buffered: int = 0

    def feed(self, lines: Iterable[str], first_line_no: int) -> None:
        default = self.default_ts.timestamp()
        for i, raw in enumerate(lines):
            line_no = first_line_no + i
            self.lines += 1
            line = raw.strip()
            if not line:
                continue
            if self.saw_eof:
                self.malformed.add(line_no, f"content after '# EOF': {snippet(line)!r}")
                continue
            if line.startswith("#"):
                self._comment(line, line_no)
                continue
            m = SAMPLE_RE.match(line)
            if m is None:
                self.malformed.add(line_no, f"not a sample line: {snippet(line)!r}")
                continue
            try:
                value = float(m["value"])
            except ValueError:
                self.malformed.add(line_no, f"value {m['value']!r} is not a number")
                continue
            labels = self._labels(m["labels"], line_no)
            if labels is None:
                continue
            ts = default
            if m["ts"] is not None:
                t = float(m["ts"])
                ts = t / 1000.0 if abs(t) > 1e11 else t
                if not math.isfinite(ts):
                    self.malformed.add(line_no, f"timestamp {m['ts']!r} is not finite")
                    continue
            name = m["name"]
            key = (name, labels)
            entry = self._buf.get(key)
            if entry is None:
                entry = self._buf[key] = ([], [])
                self._names.add(name)
            entry[0].append(ts)
            entry[1].append(value)
            self._buffered += 1
            self.samples += 1
            if self._buffered >= self.batch:
                self._flush()

    def finish(self) -> None:
        self._flush()
        for name in sorted(self._names):
            fam_name, fam = self._family_of(name)
            if fam is None:
                continue
            mtype = TYPE_MAP.get((fam.type or "").lower(), "unknown") if fam.type else None
            if name.endswith("_created") and name != fam_name:
                mtype = "gauge"
            self.writer.set_metric_meta(name, type=mtype, help=fam.help, unit=fam.unit)
        for fam_name, fam in self._families.items():
            if fam_name not in self._names and fam.type:
                mtype = TYPE_MAP.get(fam.type.lower(), "unknown")
                self.writer.set_metric_meta(fam_name, type=mtype, help=fam.help, unit=fam.unit)

    # -- internals ---------------------------------------------------------------------
    def _comment(self, line: str, line_no: int) -> None:
        if line == "# EOF":
            self.saw_eof = True
            self.openmetrics = True
            return
        m = META_RE.match(line)
        if m is None:
            return  # a plain comment
        kind, name, text = m[1], m[2], (m[3] or "").strip()
        fam = self._families.setdefault(name, _Family())
        if kind == "TYPE":
            if text.lower() not in TYPE_MAP:
                self.malformed.add(line_no, f"unknown metric type {text!r} for {name}")
                return
            fam.type = text.lower()
        elif kind == "HELP":
            fam.help = _unescape(text)
        else:
            self.openmetrics = True
            fam.unit = text

    def _labels(self, text: str | None, line_no: int) -> tuple[tuple[str, str], ...] | None:
        labels = dict(self.extra_labels)
        if text:
            pos = 0
            body = text.strip()
            while pos < len(body):
                m = LABEL_RE.match(body, pos)
                if m is None:
                    self.malformed.add(line_no, f"bad label syntax near {snippet(body[pos:])!r}")
                    return None
                labels[m[1]] = _unescape(m[2])
                pos = m.end()
                if m[3] == "":
                    break
            if pos < len(body):
                self.malformed.add(line_no, f"bad label syntax near {snippet(body[pos:])!r}")
                return None
        labels.pop("__name__", None)
        return tuple(sorted(labels.items()))

    def _family_of(self, name: str) -> tuple[str, _Family | None]:
        if name in self._families:
            return name, self._families[name]
        for suffix in SUFFIXES:
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                if base in self._families:
                    return base, self._families[base]
        return name, None

    def _flush(self) -> None:
        for (name, labels), (ts, values) in self._buf.items():
            self.writer.add_samples(name, dict(labels), ts, values)
        self._buf = {}
        self._buffered = 0


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text)


def looks_like_exposition(lines: list[str]) -> bool:
    """True when most non-comment lines of a sample are exposition samples."""
    body = [ln.strip() for ln in lines if ln.strip()]
    if not body:
        return False
    if any(ln.startswith(("# TYPE ", "# HELP ")) for ln in body) or body[-1] == "# EOF":
        return True
    samples = [ln for ln in body if not ln.startswith("#")]
    hits = sum(1 for ln in samples if SAMPLE_RE.match(ln))
    return bool(samples) and hits >= 0.8 * len(samples)
