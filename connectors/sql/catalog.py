"""What an SQL store holds: metrics (type, help, unit, labels), services, hosts.

Types and units come from `metric_meta` (for a histogram's `_bucket`/`_sum`/`_count`
series also from the family's entry); where it has none they are inferred from the name
(`_total` -> counter, `_bucket` with `le` -> histogram, `_bytes`/`_seconds`/`_percent`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.ir import LEVELS
from connectors.base import Catalog, MetricInfo, MetricType

LABEL_VALUES_SHOWN = 50
"""At most this many values per label in `MetricInfo.labels` (sorted)."""

HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
_UNIT_SUFFIXES = (("_bytes", "bytes"), ("_seconds", "seconds"), ("_percent", "percent"),
                  ("_ratio", "ratio"), ("_celsius", "celsius"))
_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:]+)):\d+$")


@dataclass(frozen=True)
class StoreCatalog:
    """The public `Catalog` plus the full label sets the connector validates against."""

    catalog: Catalog
    label_names: dict[str, frozenset[str]]
    """metric -> its label names (complete)."""


def strip_port(value: str) -> str:
    """`web-01:9100` -> `web-01`; `[::1]:9090` -> `::1`; anything else unchanged."""
    m = _PORT.match(value)
    if not m:
        return value
    return m.group("v6") or m.group("host")


def family(metric: str) -> str:
    """The histogram family of a `_bucket`/`_sum`/`_count` series name, else the name."""
    for suffix in HISTOGRAM_SUFFIXES:
        if metric.endswith(suffix):
            return metric[: -len(suffix)]
    return metric


def infer_unit(metric: str) -> str:
    """The unit a metric name announces (Prometheus naming conventions), or ''."""
    name = family(metric)
    name = name.removesuffix("_total")
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def build_catalog(
    meta: dict[str, tuple[str, str, str]],
    labels: dict[str, dict[str, list[str]]],
    found: Iterable[tuple[str | None, str | None, str | None]],
    kinds: Iterable[str],
    service_labels: Sequence[str],
    host_labels: Sequence[str],
) -> StoreCatalog:
    """The catalog from what an SQL store holds, whichever engine read it.

    `meta`: metric -> (type, help, unit); `labels`: metric -> label -> sorted distinct
    values (every metric present, ``__name__`` excluded); `found`: distinct (service, host,
    level) of log lines and events; `kinds`: distinct event kinds.
    """
    names = sorted(labels)
    services: set[str] = set()
    hosts: set[str] = set()
    for per_metric in labels.values():
        for key, values in per_metric.items():
            if key in service_labels:
                services.update(v for v in values if v)
            if key in host_labels:
                hosts.update(strip_port(v) for v in values if v)

    levels_found: set[str] = set()
    for service, host, level in found:
        services.update([service] if service else [])
        hosts.update([host] if host else [])
        levels_found.update([level] if level else [])
    log_levels: list[str] = [lv for lv in LEVELS if lv in levels_found]
    log_levels += sorted(levels_found - set(log_levels))

    metrics = [_metric_info(name, labels[name], meta, set(names)) for name in names]
    catalog = Catalog(
        metrics=metrics,
        services=sorted(services),
        hosts=sorted(hosts),
        event_kinds=sorted({k for k in kinds if k}),
        log_levels=log_levels,
    )
    return StoreCatalog(
        catalog=catalog,
        label_names={name: frozenset(labels[name]) for name in names},
    )


def _metric_info(
    name: str,
    labels: dict[str, list[str]],
    meta: dict[str, tuple[str, str, str]],
    names: set[str],
) -> MetricInfo:
    fam = family(name)
    own = meta.get(name)
    fam_meta = meta.get(fam) if fam != name else None
    mtype, help_text, unit = "unknown", "", ""
    if fam_meta is not None and fam_meta[0] in ("histogram", "summary"):
        mtype = fam_meta[0]  # a family's _bucket/_sum/_count series are of its type
    for entry in (own, fam_meta):
        if entry is None:
            continue
        if mtype == "unknown" and entry[0] in ("counter", "gauge", "histogram", "summary"):
            mtype = entry[0]
        help_text = help_text or entry[1]
        unit = unit or entry[2]
    if mtype == "unknown":
        mtype = _infer_type(name, labels, names)
    shown = {k: v[:LABEL_VALUES_SHOWN] for k, v in sorted(labels.items())}
    return MetricInfo(
        name=name,
        type=_as_type(mtype),
        help=help_text,
        unit=unit or infer_unit(name),
        labels=shown,
    )


def _infer_type(name: str, labels: dict[str, list[str]], names: set[str]) -> str:
    if name.endswith("_bucket") and "le" in labels:
        return "histogram"
    fam = family(name)
    if fam != name and f"{fam}_bucket" in names:
        return "histogram"
    if name.endswith("_total"):
        return "counter"
    return "unknown"


def _as_type(value: str) -> MetricType:
    if value == "counter":
        return "counter"
    if value == "gauge":
        return "gauge"
    if value == "histogram":
        return "histogram"
    if value == "summary":
        return "summary"
    return "unknown"
