"""What an SQL store holds: metrics (type, help, unit, labels), services, hosts.

Types and units come from `metric_meta` (for a histogram's `_bucket`/`_sum`/`_count`
series also from the family's entry); where it has none they are inferred from the name
(`_total` -> counter, `_bucket` with `le` -> histogram, `_bytes`/`_seconds`/`_percent`).

Logs: the field catalog of the mined templates (`read_log_fields`, see
`assistant.log_fields`), measured by the same SQL on every engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.ir import LEVELS
from assistant.log_fields import (
    SAMPLE_VALUES,
    FieldStats,
    TemplateField,
    build_fields,
    field_regex,
    slots,
)
from connectors.base import Catalog, MetricInfo, MetricType
from connectors.sql.dialect import Dialect, DuckDB
from connectors.sql.logs import LogColumns

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


# -- the field catalog of log templates (`assistant.log_fields`) -----------------------------

FIELD_BATCH = 200
"""Templates whose fields one statement measures (one CASE branch each)."""

Rows = Callable[[str], list[tuple[Any, ...]]]


def read_log_fields(rows: Rows, c: LogColumns, d: Dialect,
                    template_ids: Iterable[int] | None = None) -> list[TemplateField]:
    """The field catalog of the store's templates (only `template_ids` when given), measured
    by SQL over every line of each template; `rows` runs one statement. Empty when the
    table has no mined templates."""
    if c.templates_table is None or c.template_id is None:
        return []
    sql = f"SELECT template_id, template FROM {c.templates_table}"
    if template_ids is not None:
        wanted = sorted({int(t) for t in template_ids})
        if not wanted:
            return []
        sql += f" WHERE template_id IN ({', '.join(map(str, wanted))})"
    templates = [(int(t), str(text)) for t, text in rows(d.finish(sql + " ORDER BY 1"))
                 if text is not None]
    out: list[TemplateField] = []
    for start in range(0, len(templates), FIELD_BATCH):
        batch = [(t, text) for t, text in templates[start:start + FIELD_BATCH] if slots(text)]
        if not batch:
            continue
        stats = _field_stats(rows(d.finish(field_stats_sql(batch, c, d))))
        services = _services(rows(d.finish(_services_sql([t for t, _ in batch], c))))
        for tid, text in batch:
            n = len(slots(text))
            out += build_fields(tid, text, [stats.get((tid, k)) for k in range(n)],
                                services.get(tid, ()))
    return out


def field_stats_sql(templates: Sequence[tuple[int, str]], c: LogColumns, d: Dialect) -> str:
    """Per (template, field index): the `SAMPLE_VALUES` most frequent values with their
    counts, the number of distinct values and the lines holding one. Each line's values are
    read by its own template's pattern: on DuckDB all at once (one scan), elsewhere one
    field position per scan."""
    values = _values_duckdb(templates, c) if d.name == "duckdb" else _values_sql(templates, c, d)
    return (
        "SELECT tid, k, value, n, distinct_n, lines FROM (\n"
        " SELECT tid, k, value, n, count(*) OVER (PARTITION BY tid, k) AS distinct_n,\n"
        "        sum(n) OVER (PARTITION BY tid, k) AS lines,\n"
        "        row_number() OVER (PARTITION BY tid, k ORDER BY n DESC, value) AS rn\n"
        " FROM (SELECT tid, k, value, count(*) AS n FROM (\n  "
        f"{values}\n ) x WHERE value <> '' GROUP BY tid, k, value) g\n"
        f") r WHERE rn <= {SAMPLE_VALUES}\nORDER BY tid, k, n DESC, value"
    )


def _values_duckdb(templates: Sequence[tuple[int, str]], c: LogColumns) -> str:
    """(tid, k, value) rows from one scan: every field of a line by one regexp_extract into
    a struct; patterns are padded with empty groups to the widest template."""
    assert c.template_id is not None
    d = DuckDB()
    width = max(len(slots(text)) for _, text in templates)
    names = ", ".join(d.lit(f"g{k}") for k in range(width))
    whens = " ".join(
        f"WHEN {t} THEN regexp_extract({c.message}, "
        f"{d.lit(field_regex(text) + '()' * (width - len(slots(text))))}, [{names}])"
        for t, text in templates)
    ids = ", ".join(str(t) for t, _ in templates)
    return (
        f"SELECT tid, unnest(range({width})) AS k, "
        f"unnest([{', '.join(f's.g{k}' for k in range(width))}]) AS value FROM (\n"
        f"  SELECT {c.template_id} AS tid, CASE {c.template_id} {whens} END AS s\n"
        f"  FROM {c.table} WHERE {c.template_id} IN ({ids})) v"
    )


def _values_sql(templates: Sequence[tuple[int, str]], c: LogColumns, d: Dialect) -> str:
    """(tid, k, value) rows in portable SQL: one scan per field position."""
    assert c.template_id is not None
    width = max(len(slots(text)) for _, text in templates)
    scans = []
    for k in range(width):
        having = [(t, text) for t, text in templates if len(slots(text)) > k]
        whens = " ".join(f"WHEN {t} THEN {d.extract(c.message, field_regex(text, k))}"
                         for t, text in having)
        ids = ", ".join(str(t) for t, _ in having)
        scans.append(
            f"SELECT {c.template_id} AS tid, {k} AS k, CASE {c.template_id} {whens} "
            f"ELSE '' END AS value\n  FROM {c.table} WHERE {c.template_id} IN ({ids})"
        )
    return "\n  UNION ALL\n  ".join(scans)


def _field_stats(rows: list[tuple[Any, ...]]) -> dict[tuple[int, int], FieldStats]:
    top: dict[tuple[int, int], list[tuple[str, int]]] = {}
    sizes: dict[tuple[int, int], tuple[int, int]] = {}
    for tid, k, value, n, distinct, lines in rows:
        key = (int(tid), int(k))
        top.setdefault(key, []).append((str(value), int(n)))
        sizes[key] = (int(distinct), int(lines))
    return {key: FieldStats(tuple(v), *sizes[key]) for key, v in top.items()}


def _services_sql(ids: Sequence[int], c: LogColumns) -> str:
    assert c.template_id is not None
    return (f"SELECT {c.template_id}, {c.service} AS s FROM {c.table} "
            f"WHERE {c.template_id} IN ({', '.join(map(str, ids))}) AND {c.service} IS NOT NULL "
            "GROUP BY 1, 2 ORDER BY 1, 2")


def _services(rows: list[tuple[Any, ...]]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for tid, service in rows:
        if service:
            out.setdefault(int(tid), []).append(str(service))
    return {t: tuple(s) for t, s in out.items()}
