"""What a Prometheus-compatible server holds, discovered through its HTTP API.

`/api/v1/metadata` only knows scraped metrics (it is empty for backfilled or remote-written
data), so it is used when present and the type, unit and labels otherwise come from the
names and from `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`.
Every call is bounded: at most `max_metrics` metrics get label details, at most
`max_values` values per label.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Catalog, MetricInfo, MetricType
from connectors.prometheus.client import PromApi

log = logging.getLogger(__name__)

_UNIT_SUFFIXES = (
    ("_seconds", "seconds"),
    ("_bytes", "bytes"),
    ("_percent", "percent"),
    ("_ratio", "ratio"),
    ("_celsius", "celsius"),
    ("_joules", "joules"),
    ("_volts", "volts"),
    ("_meters", "meters"),
)
_HIST_SUFFIXES = ("_bucket", "_sum", "_count")
_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:]+)):\d+$")


def strip_port(value: str) -> str:
    """`web-01:9100` -> `web-01` (the `instance` label's convention); else unchanged."""
    m = _PORT.match(value)
    return (m.group("v6") or m.group("host")) if m else value


def infer_unit(name: str) -> str:
    """The unit a metric name announces by convention (`_seconds`, `_bytes`, ...)."""
    base = name
    for suffix in ("_total", *_HIST_SUFFIXES):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    for suffix, unit in _UNIT_SUFFIXES:
        if base.endswith(suffix):
            return unit
    return ""


def infer_type(name: str, names: set[str], label_names: Sequence[str] = ()) -> MetricType:
    """A metric's type from naming conventions, when the server has no metadata."""
    if name.endswith("_bucket") and ("le" in label_names or not label_names):
        return "histogram"
    for suffix in ("_sum", "_count"):
        if name.endswith(suffix) and f"{name[: -len(suffix)]}_bucket" in names:
            return "histogram"
    if name.endswith("_total") or name.endswith("_created"):
        return "counter"
    if name.endswith(("_sum", "_count")) and "quantile" in label_names:
        return "summary"
    return "gauge"


def _family(name: str) -> list[str]:
    """Metadata keys that may describe the series `name` (itself, then its family)."""
    keys = [name]
    for suffix in ("_total", *_HIST_SUFFIXES):
        if name.endswith(suffix):
            keys.append(name[: -len(suffix)])
    return keys


def _metadata_entry(meta: dict[str, Any], name: str) -> dict[str, Any] | None:
    for key in _family(name):
        entries = meta.get(key)
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            entry: dict[str, Any] = entries[0]
            if key != name and entry.get("type") not in ("histogram", "summary", "counter"):
                continue
            return entry
    return None


def _type(value: Any) -> MetricType:
    mapping: dict[str, MetricType] = {
        "counter": "counter",
        "gauge": "gauge",
        "histogram": "histogram",
        "gaugehistogram": "histogram",
        "summary": "summary",
    }
    return mapping.get(str(value), "unknown")


def discover(
    api: PromApi,
    now: datetime,
    *,
    lookback: timedelta = timedelta(hours=24),
    service_labels: Sequence[str] = ("service", "job", "app"),
    host_labels: Sequence[str] = ("host", "instance", "hostname", "node"),
    max_metrics: int = 500,
    max_values: int = 100,
    budget_s: float = 20.0,
) -> Catalog:
    """Build a `Catalog` from the server's API, looking at series active in `lookback`.

    Label values are read with one call per metric, so the whole reading has a time
    budget: metrics not reached within `budget_s` keep their names, types and help, with no
    label values (as metrics past `max_metrics` do), and a warning says how many.
    """
    deadline = time.monotonic() + budget_s
    window = {"start": f"{(now - lookback).timestamp():.3f}", "end": f"{now.timestamp():.3f}"}
    names = sorted(str(n) for n in api.list_call("/api/v1/label/__name__/values", window))
    name_set = set(names)
    meta_data, _ = api.call("/api/v1/metadata")
    meta: dict[str, Any] = meta_data if isinstance(meta_data, dict) else {}

    metrics: list[MetricInfo] = []
    unread = 0
    for i, name in enumerate(names):
        labels: dict[str, list[str]] = {}
        if i < max_metrics and time.monotonic() >= deadline:
            unread += 1
        elif i < max_metrics:
            params = [("match[]", name), *window.items()]
            values: dict[str, set[str]] = {}
            for s in api.list_call("/api/v1/series", params):
                if not isinstance(s, dict):
                    continue
                for k, v in s.items():
                    if k != "__name__":
                        values.setdefault(str(k), set()).add(str(v))
            labels = {k: sorted(v)[:max_values] for k, v in sorted(values.items())}
        entry = _metadata_entry(meta, name)
        mtype = _type(entry.get("type")) if entry else "unknown"
        if mtype == "unknown":
            mtype = infer_type(name, name_set, list(labels))
        metrics.append(
            MetricInfo(
                name=name,
                type=mtype,
                help=str(entry.get("help", "")) if entry else "",
                unit=(str(entry.get("unit") or "") if entry else "") or infer_unit(name),
                labels=labels,
            )
        )

    if unread:
        log.warning("catalog: label values of %d of %d metrics not read within the %g s "
                    "budget; their names and types are known, their labels are not",
                    unread, min(len(names), max_metrics), budget_s)
    label_names = {str(x) for x in api.list_call("/api/v1/labels", window)}

    def values_of(candidates: Sequence[str]) -> list[str]:
        for label in candidates:
            if label in label_names:
                values = api.list_call(f"/api/v1/label/{label}/values", window)
                return sorted({strip_port(str(v)) for v in values})
        return []

    return Catalog(
        metrics=metrics, services=values_of(service_labels), hosts=values_of(host_labels)
    )
