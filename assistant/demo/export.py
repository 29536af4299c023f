"""Export the store's metric samples as text that real Prometheus-compatible engines load.

* ``openmetrics``: OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``:
  timestamps in **seconds**, each family contiguous, each series' samples in time order,
  counters named ``<family>_total``, and a final ``# EOF``.
* ``prometheus-text``: the classic exposition format with **millisecond** timestamps, for
  VictoriaMetrics' ``/api/v1/import/prometheus``.

Both read the embedded store (so anything ingested, not only the demo, can be exported).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np

from assistant.errors import ConfigError
from connectors.embedded.schema import connect

ExportFormat = Literal["openmetrics", "prometheus-text"]
FORMATS: tuple[str, ...] = ("openmetrics", "prometheus-text")
_HIST_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class ExportStats:
    path: Path
    format: str
    series: int
    samples: int


@dataclass(frozen=True)
class _Family:
    name: str
    type: str
    help: str


def _escape_label(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def _fmt_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _family(metric: str, meta: dict[str, tuple[str, str]], fmt: str) -> _Family:
    """The metric family a series belongs to, and its type, for the chosen format."""
    for suffix in _HIST_SUFFIXES:
        base = metric[: -len(suffix)]
        if metric.endswith(suffix) and meta.get(base, ("",))[0] in ("histogram", "summary"):
            typ, help_ = meta[base]
            return _Family(base, typ, help_)
    typ, help_ = meta.get(metric, ("unknown", ""))
    if fmt == "openmetrics":
        if typ == "counter":
            if metric.endswith("_total"):
                return _Family(metric[: -len("_total")], "counter", help_)
            typ = "unknown"  # OpenMetrics counters must end in _total
        if typ not in ("gauge", "counter", "histogram", "summary", "unknown"):
            typ = "unknown"
    return _Family(metric, typ, help_)


def export_metrics(store_path: Path, fmt: str, out: Path,
                   metrics: Sequence[str] | None = None) -> ExportStats:
    """Write the metric samples of the store at `store_path` to `out` in `fmt`.

    `metrics` limits the export to those metric names (default: every metric).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    con = connect(store_path, read_only=True)
    try:
        meta = {m: (t, h) for m, t, h in
                con.execute("SELECT metric, type, help FROM metric_meta").fetchall()}
        rows = con.execute(
            "SELECT series_id, metric, map_keys(labels), map_values(labels) FROM series"
        ).fetchall()
        if metrics is not None:
            wanted = set(metrics)
            rows = [r for r in rows if r[1] in wanted]
        series = []
        for sid, metric, keys, values in rows:
            fam = _family(metric, meta, fmt)
            labels = ",".join(
                f'{k}="{_escape_label(v)}"' for k, v in sorted(zip(keys, values, strict=True)))
            prefix = f"{metric}{{{labels}}}" if labels else metric
            series.append((fam.name, metric, prefix, int(sid), fam))
        series.sort(key=lambda s: (s[0], s[1], s[2]))
        out.parent.mkdir(parents=True, exist_ok=True)
        total = 0
        with out.open("w", encoding="utf-8", newline="\n") as fh:
            current = None
            for fam_name, _metric, prefix, sid, fam in series:
                if fam_name != current:
                    current = fam_name
                    if fam.help:
                        fh.write(f"# HELP {fam_name} {_escape_help(fam.help)}\n")
                    fh.write(f"# TYPE {fam_name} {fam.type}\n")
                ms, values = _samples(con, sid)
                total += len(ms)
                fh.write(_lines(prefix, ms, values, fmt))
            if fmt == "openmetrics":
                fh.write("# EOF\n")
    finally:
        con.close()
    return ExportStats(out, fmt, len(series), total)


def _samples(con: duckdb.DuckDBPyConnection, sid: int) -> tuple[np.ndarray, np.ndarray]:
    cols = con.execute(
        "SELECT epoch_ms(ts) AS ms, value FROM samples WHERE series_id = ? ORDER BY ts", [sid]
    ).fetchnumpy()
    return np.asarray(cols["ms"], dtype=np.int64), np.asarray(cols["value"], dtype=float)


def _lines(prefix: str, ms: np.ndarray, values: np.ndarray, fmt: str) -> str:
    if len(ms) == 0:
        return ""
    if fmt == "openmetrics":
        whole = bool(np.all(ms % 1000 == 0))
        stamps = ([str(x) for x in (ms // 1000).tolist()] if whole
                  else [f"{x / 1000:.3f}" for x in ms.tolist()])
    else:
        stamps = [str(x) for x in ms.tolist()]
    vals = [_fmt_value(v) for v in values.tolist()]
    return "".join(f"{prefix} {v} {t}\n" for v, t in zip(vals, stamps, strict=True))
