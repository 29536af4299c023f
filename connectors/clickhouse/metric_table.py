"""Metrics from a team's own one-sample-per-row table, shaped as the SQL builders expect.

The builders read ``series(series_id, metric, labels)`` and ``samples(series_id, ts,
value)``. For a flat table (name, attributes map, label columns, time, value: the
OpenTelemetry exporter's gauge/sum tables, or a remote-write table) both become
subqueries: a series is the metric name plus its labels (empty values dropped, keys
sorted), and its id a hash of the two. Each query's subqueries are narrowed to its metric
and time span (the table's sort key prunes the rest); nothing is copied or materialised.
"""

from __future__ import annotations

from datetime import datetime

from assistant.settings import ClickHouseMetricTable
from connectors.sql.dialect import Dialect
from connectors.sql.logs import qualified
from connectors.sql.metrics import MetricTables


def labels_sql(m: ClickHouseMetricTable, d: Dialect) -> str:
    """The series' labels as a sorted ``Map(String, String)`` without empty values."""
    parts = []
    if m.attributes:
        parts.append(f"CAST({qualified(m.attributes, d)} AS Map(String, String))")
    if m.label_columns:
        pairs = ", ".join(
            f"{d.lit(label)}, toString({qualified(col, d)})"
            for label, col in sorted(m.label_columns.items())
        )
        parts.append(f"map({pairs})")
    if not parts:
        return "CAST(map() AS Map(String, String))"
    merged = parts[0] if len(parts) == 1 else f"mapUpdate({parts[0]}, {parts[1]})"
    return f"mapSort(mapFilter((k, v) -> v != '', {merged}))"


def flat_metric_tables(
    m: ClickHouseMetricTable, d: Dialect, catalog_days: int = 7
) -> MetricTables:
    """Sources standing for the project's ``series`` and ``samples`` tables: for the
    catalog, the table's newest `catalog_days`; per query, its metric and time span."""
    assert m.table is not None
    table = qualified(m.table, d)
    name = qualified(m.name, d)
    ts = qualified(m.timestamp, d)
    labels = labels_sql(m, d)
    sid = f"cityHash64({name}, toString({labels}))"

    def series(where: str) -> str:
        return (f"(SELECT DISTINCT {sid} AS series_id, {name} AS metric, {labels} AS labels "
                f"FROM {table}{where})")

    def samples(where: str) -> str:
        return (f"(SELECT {sid} AS series_id, {ts} AS ts, "
                f"toFloat64({qualified(m.value, d)}) AS value FROM {table}{where})")

    def scoped(metric: str, start: datetime, end: datetime) -> tuple[str, str]:
        where = f" WHERE {name} = {d.lit(metric)} AND {ts} BETWEEN {d.ts(start)} AND {d.ts(end)}"
        return series(where), samples(where)

    recent = f" WHERE {ts} >= (SELECT max({ts}) FROM {table}) - INTERVAL {catalog_days} DAY"
    return MetricTables(series=series(recent), samples=samples(recent), scoped=scoped)


def mapped_columns(m: ClickHouseMetricTable) -> dict[str, str]:
    """Setting name -> the column it names (for checking against ``system.columns``)."""
    cols = {"name": m.name, "timestamp": m.timestamp, "value": m.value}
    if m.attributes:
        cols["attributes"] = m.attributes
    if m.help:
        cols["help"] = m.help
    if m.unit:
        cols["unit"] = m.unit
    cols.update({f"label_columns.{k}": v for k, v in m.label_columns.items()})
    return cols


def meta_sql(m: ClickHouseMetricTable, d: Dialect) -> str | None:
    """Help and unit per metric, when the table has columns for them."""
    if not (m.help or m.unit):
        return None
    assert m.table is not None
    help_ = f"any({qualified(m.help, d)})" if m.help else "''"
    unit = f"any({qualified(m.unit, d)})" if m.unit else "''"
    name = qualified(m.name, d)
    return (f"SELECT {name} AS metric, {help_} AS help, {unit} AS unit "
            f"FROM {qualified(m.table, d)} GROUP BY metric")
