"""`SqlConnector`: what the embedded (DuckDB) and ClickHouse connectors share.

Validation against the catalog (unknown metric, label, host or service -> a clear error
with suggestions, before any SQL runs), compiling through `metrics`/`logs`/`events` with
the engine's `Dialect`, and turning rows into a `Result`. A subclass says how to run one
statement (`_rows`) and how to read its catalog (`_load_catalog`).
"""

from __future__ import annotations

import re
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, assert_never

from assistant.errors import BackendError, IRError, UnknownEntityError
from assistant.ir import (
    MAX_SAMPLES,
    DocQuery,
    EventQuery,
    LogQuery,
    Matcher,
    MetricQuery,
    Query,
    sample_cap_warning,
)
from assistant.log_fields import TemplateField, field_regex, split_key
from connectors.base import (
    Catalog,
    Connector,
    DataKind,
    Extent,
    LogLine,
    MetricInfo,
    Result,
    Series,
)
from connectors.sql.binop import evaluate, metric_leaves, operations_text
from connectors.sql.catalog import StoreCatalog, family, read_log_fields, strip_port
from connectors.sql.common import event_from_row, to_utc
from connectors.sql.dialect import Dialect
from connectors.sql.events import build_event_sql
from connectors.sql.logs import FieldPattern, LogColumns, LogPlan, build_log_sql
from connectors.sql.metrics import (
    DEFAULT_SEMANTICS,
    MetricPlan,
    MetricTables,
    Semantics,
    build_metric_sql,
)
from connectors.sql.results import Columns, columns_from_rows, metric_series

Row = tuple[Any, ...]


VOCABULARY_TEMPLATES = 20_000
EXAMPLES_PER_TEMPLATE = 20
"""Lines read per template for the values its placeholders take (`log_examples`)."""
"""At most this many mined templates make up the log vocabulary."""


class SqlConnector(Connector):
    """IR -> SQL -> `Result` for an SQL store; subclasses bring the engine."""

    name: ClassVar[str]
    dialect: Dialect
    log_columns: LogColumns
    metric_tables: MetricTables = MetricTables()
    events_table: str | None = "events"
    host_labels: tuple[str, ...] = ("host", "instance", "hostname", "node")
    service_labels: tuple[str, ...] = ("service", "job", "app")
    max_rows: int | None = None
    """The most rows one statement may return (None: the query's own limit)."""
    semantics: Semantics = DEFAULT_SEMANTICS
    """Range windows: Prometheus 2.x or 3.x (setting ``promql_semantics``)."""

    def __init__(self) -> None:
        self._store: StoreCatalog | None = None
        self._labels: dict[int, dict[str, str]] = {}
        self._extents: dict[tuple[DataKind, str | None], Extent | None] = {}
        self._vocabulary: list[str] | None = None
        self._examples: list[tuple[str, str]] | None = None
        self._fields: list[TemplateField] | None = None
        self._template_fields: dict[int, list[TemplateField]] = {}

    def refresh(self) -> None:
        self.close()
        self._store = None
        self._labels = {}
        self._extents = {}
        self._vocabulary = None
        self._examples = None
        self._fields = None
        self._template_fields = {}

    # -- what a subclass provides --------------------------------------------------------

    @abstractmethod
    def _rows(self, sql: str) -> list[Row]:
        """Run one generated SELECT; raise `BackendError` (or a subclass) on failure."""

    @abstractmethod
    def _load_catalog(self) -> StoreCatalog:
        """Read metrics, labels, services, hosts, levels and event kinds from the store."""

    def _columns(self, sql: str, plan: MetricPlan) -> Columns:
        """A metric statement's output as named columns (engines may do better than rows)."""
        return columns_from_rows(plan, self._rows(sql))

    # -- Connector API ------------------------------------------------------------------

    def catalog(self) -> Catalog:
        return self._store_catalog().catalog

    def native(self, query: Query) -> str:
        match query:
            case MetricQuery():
                return self._metric_native(query)
            case LogQuery():
                self._check_entities(query.service, query.host)
                return self._log_plan(query).sql
            case EventQuery():
                self._check_entities(query.service, query.host)
                return self._event_sql(query)
            case DocQuery():
                raise doc_query_error()
            case _:
                assert_never(query)

    def run(self, query: Query) -> Result:
        started = time.perf_counter()
        match query:
            case MetricQuery():
                result = self._run_metric(query)
            case LogQuery():
                result = self._run_logs(query)
            case EventQuery():
                result = self._run_events(query)
            case DocQuery():
                raise doc_query_error()
            case _:
                assert_never(query)
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        return result

    def extent(self, kind: DataKind, metric: str | None = None) -> Extent | None:
        key = (kind, metric)
        if key not in self._extents:
            self._extents[key] = self._read_extent(kind, metric)
        return self._extents[key]

    def _read_extent(self, kind: DataKind, metric: str | None) -> Extent | None:
        c, d = self.log_columns, self.dialect
        if kind == "logs":
            sql = f"SELECT min({c.ts}), max({c.ts}) FROM {c.table}"
        elif kind == "events":
            if self.events_table is None:
                return None
            sql = f"SELECT min(ts), max(ts) FROM {self.events_table}"
        else:
            t = self.metric_tables
            if t.scoped is not None or not t.series:
                return None  # views over a team's own tables: no cheap whole-store scan
            sql = f"SELECT min(s.ts), max(s.ts) FROM {t.samples} s"
            if metric is not None:
                sql += (f" JOIN {t.series} x ON s.series_id = x.series_id "
                        f"WHERE x.metric = {d.lit(metric)}")
        try:
            rows = self._rows(d.finish(sql))
        except BackendError:
            return None  # a layout without these columns: the caller keeps its default
        if not rows or rows[0][0] is None or rows[0][1] is None:
            return None
        return to_utc(rows[0][0]), to_utc(rows[0][1])

    def log_vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            table = self.log_columns.templates_table
            rows: list[Row] = []
            if table is not None:
                try:
                    rows = self._rows(self.dialect.finish(
                        f"SELECT template FROM {table} LIMIT {VOCABULARY_TEMPLATES}"))
                except BackendError:
                    rows = []
            self._vocabulary = [str(r[0]) for r in rows if r[0]]
        return self._vocabulary

    def log_examples(self) -> list[tuple[str, str]]:
        if self._examples is None:
            lc = self.log_columns
            rows: list[Row] = []
            if lc.templates_table is not None and lc.template_id is not None:
                try:
                    rows = self._rows(self.dialect.finish(
                        f"SELECT t.template, x.m FROM (SELECT {lc.template_id} AS tid, "
                        f"{lc.message} AS m, row_number() OVER (PARTITION BY {lc.template_id} "
                        f"ORDER BY {lc.ts} DESC) AS rn FROM {lc.table} "
                        f"WHERE {lc.template_id} IS NOT NULL) x "
                        f"JOIN {lc.templates_table} t ON t.template_id = x.tid "
                        f"WHERE x.rn <= {EXAMPLES_PER_TEMPLATE} "
                        f"LIMIT {EXAMPLES_PER_TEMPLATE * VOCABULARY_TEMPLATES}"))
                except BackendError:
                    rows = []
            self._examples = [(str(r[0]), str(r[1])) for r in rows if r[0] and r[1]]
        return self._examples

    def log_fields(self) -> list[TemplateField]:
        if self._fields is None:
            self._fields = self._read_log_fields()
        return self._fields

    def _read_log_fields(self, template_ids: list[int] | None = None) -> list[TemplateField]:
        """The field catalog (of `template_ids` only, when given) measured now over the
        lines of those templates (a subclass with a stored catalog reads that instead)."""
        return read_log_fields(self._rows, self.log_columns, self.dialect, template_ids)

    def _fields_of(self, template_id: int) -> list[TemplateField]:
        """One template's fields: from the whole catalog once read, else measured for that
        template alone (a query on one field does not scan every line of the table)."""
        if self._fields is not None:
            return [f for f in self._fields if f.template_id == template_id]
        if template_id not in self._template_fields:
            self._template_fields[template_id] = self._read_log_fields([template_id])
        return self._template_fields[template_id]

    def template_field(self, key: str) -> TemplateField:
        """The catalog field ``"<template_id>.<name>"``; `UnknownEntityError` when absent."""
        try:
            tid, name = split_key(key)
        except ValueError as exc:
            raise IRError(str(exc)) from exc
        if self.log_columns.template_id is None or self.log_columns.templates_table is None:
            raise IRError(f"the {self.name} log table has no mined templates (template_id, "
                          "templates_table), so it has no field catalog; use extract "
                          "kind='regex' or 'key'")
        fields = self._fields_of(tid)
        for f in fields:
            if f.name == name:
                return f
        if not fields:
            raise IRError(f"template {tid} has no fields in the {self.name} catalog; "
                          "see 'opsa fields' for the templates and their fields")
        raise UnknownEntityError(f"field of template {tid}", name, [f.name for f in fields])

    # -- catalog and validation ---------------------------------------------------------

    def _store_catalog(self) -> StoreCatalog:
        if self._store is None:
            self._store = self._load_catalog()
        return self._store

    def _series_labels(
        self, ids: Sequence[int], source: str | None = None
    ) -> dict[int, dict[str, str]]:
        """Labels of series ids, cached; `source` is where the plan found them."""
        missing = sorted({i for i in ids if i not in self._labels})
        if missing:
            rows = self._rows(self.dialect.finish(
                f"SELECT series_id, labels FROM {source or self.metric_tables.series} "
                "WHERE series_id IN ("
                + ", ".join(str(int(i)) for i in missing)
                + ")"
            ))
            for sid, labels in rows:
                pairs = labels.items() if isinstance(labels, dict) else labels
                self._labels[int(sid)] = {
                    k: v for k, v in pairs if k != "__name__" and v is not None
                }
        return {i: self._labels.get(i, {}) for i in ids}

    def _check_entities(self, service: str | None, host: str | None) -> None:
        if service is None and host is None:
            return
        cat = self.catalog()
        if service is not None and service not in cat.services:
            raise UnknownEntityError("service", service, cat.services)
        if host is not None and host not in cat.hosts:
            raise UnknownEntityError("host", host, cat.hosts)

    def _resolve_metric(self, q: MetricQuery) -> tuple[MetricInfo, str]:
        """The catalog entry of the series `q` reads, and the name to report."""
        cat = self.catalog()
        if q.function == "histogram_quantile":
            bucket = q.metric if q.metric.endswith("_bucket") else f"{q.metric}_bucket"
            info = cat.metric(bucket)
            if info is None:
                known = [family(m.name) for m in cat.metrics if m.name.endswith("_bucket")]
                raise UnknownEntityError("histogram", q.metric, known)
            if "le" not in self._store_catalog().label_names.get(bucket, frozenset()):
                raise IRError(
                    f"{bucket} has no 'le' label, so it is not a histogram; "
                    "histogram_quantile needs <name>_bucket series with 'le' buckets"
                )
            return info, family(bucket)
        info = cat.metric(q.metric)
        if info is None:
            raise UnknownEntityError("metric", q.metric, [m.name for m in cat.metrics])
        return info, q.metric

    def _check_labels(self, q: MetricQuery, info: MetricInfo) -> None:
        cat = self.catalog()
        names = self._store_catalog().label_names.get(info.name, frozenset())
        for m in q.matchers:
            if m.label != "__name__" and m.label not in names and _needs_value(m):
                raise UnknownEntityError(f"label of {info.name}", m.label, names)
            if m.op != "=" or not m.value:
                continue
            if m.label in self.host_labels and strip_port(m.value) not in cat.hosts:
                raise UnknownEntityError("host", m.value, cat.hosts)
            if m.label in self.service_labels and m.value not in cat.services:
                raise UnknownEntityError("service", m.value, cat.services)
        for b in q.by:
            if b not in names:
                raise UnknownEntityError(f"label of {info.name}", b, names)

    # -- metrics ---------------------------------------------------------------------------

    def _metric_plan(self, q: MetricQuery) -> tuple[MetricInfo, MetricPlan]:
        """Validate `q` against the catalog and compile it."""
        info, report = self._resolve_metric(q)
        self._check_labels(q, info)
        plan = build_metric_sql(q, info.name, report, self.dialect, self.metric_tables,
                                self.semantics)
        return info, plan

    def _metric_native(self, q: MetricQuery) -> str:
        if not q.operations():
            return self._metric_plan(q)[1].native
        parts = [self._metric_plan(leaf)[1].native for leaf in metric_leaves(q)]
        return "\n".join([*parts, f"-- then, in Python, the operations: {operations_text(q)}"])

    def _run_metric(self, q: MetricQuery) -> Result:
        if q.operations():
            return self._run_binary(q)
        info, plan = self._metric_plan(q)
        data = self._columns(plan.sql, plan)
        warnings = _metric_warnings(info, q)
        capped = plan.raw_samples and len(data.get("value", [])) > MAX_SAMPLES
        if capped:  # the SQL asked for one row more than the cap: the rest is cut, and said
            data = {k: v[:MAX_SAMPLES] for k, v in data.items()}
            warnings.append(sample_cap_warning())
        series = metric_series(
            plan, data, q, lambda ids: self._series_labels(ids, plan.series_source)
        )
        return Result(
            connector=self.name,
            native=plan.native,
            series=series,
            unit=_result_unit(info, q),
            truncated=capped,
            warnings=warnings,
        )

    def _run_binary(self, q: MetricQuery) -> Result:
        """Each operand by its own SQL, then the binary operations (`connectors.sql.binop`)."""
        leaves = metric_leaves(q)
        checked = [self._metric_plan(leaf) for leaf in leaves]  # every name, before any SQL
        plans = {leaf: plan for leaf, (_, plan) in zip(leaves, checked, strict=True)}
        natives = [plan.native for _, plan in checked]
        warnings: list[str] = []
        for leaf, (info, _) in zip(leaves, checked, strict=True):
            warnings += [w for w in _metric_warnings(info, leaf) if w not in warnings]

        def run_leaf(leaf: MetricQuery) -> list[Series]:
            plan = plans.get(leaf) or self._metric_plan(leaf)[1]
            data = self._columns(plan.sql, plan)
            return metric_series(
                plan, data, leaf, lambda ids: self._series_labels(ids, plan.series_source)
            )

        series = evaluate(q, run_leaf)
        return Result(
            connector=self.name,
            native="\n".join(
                [*natives, f"-- then, in Python, the operations: {operations_text(q)}"]),
            series=series,
            unit="" if q.changes_unit() else _result_unit(checked[0][0], q),
            warnings=warnings,
        )

    # -- logs ------------------------------------------------------------------------------

    def _capped(self, wanted: int) -> int:
        return wanted if self.max_rows is None else min(wanted, self.max_rows)

    def _cap_warning(self, wanted: int, what: str) -> list[str]:
        if self.max_rows is not None and wanted > self.max_rows:
            return [f"row limit: at most {self.max_rows} {what} per {self.name} query "
                    f"(asked for {wanted}); raise {self.name}.max_rows to see more"]
        return []

    def _log_plan(self, q: LogQuery) -> LogPlan:
        columns = self.log_columns
        if q.extract is not None and q.extract.kind == "field":
            f = self.template_field(str(q.extract.key))
            columns = replace(columns, extract_field=FieldPattern(
                f.template_id, field_regex(f.template, f.index)))
        return build_log_sql(
            q, columns, self.dialect, self._capped(q.limit), self._capped(q.top_k)
        )

    def _run_logs(self, q: LogQuery) -> Result:
        self._check_entities(q.service, q.host)
        plan = self._log_plan(q)
        rows = self._rows(plan.sql)
        if plan.mode == "buckets":
            counts = {int(i): int(n) for i, n in rows}
            pts = [(t, float(counts.get(i, 0))) for i, t in enumerate(plan.bucket_times)]
            return Result(
                connector=self.name, native=plan.sql,
                series=[Series.model_construct(metric="log_lines", labels={}, points=pts)],
                total=sum(counts.values()), unit="lines",
            )
        if plan.mode in ("count_by", "busiest"):
            return self._count_rows(q, plan.sql, rows)
        if plan.mode == "stat":
            return self._stat_result(q, plan.sql, rows)
        if plan.mode == "distinct":
            groups, lines = (int(rows[0][0] or 0), int(rows[0][1] or 0)) if rows else (0, 0)
            return Result(connector=self.name, native=plan.sql, total=lines, groups=groups,
                          unit="lines")
        total = int(rows[0][7]) if rows else 0
        name = q.extract.name if q.extract is not None else ""
        logs = [
            LogLine(
                ts=to_utc(r[0]), service=r[1], host=r[2], level=r[3], message=r[4],
                template_id=None if r[5] is None else int(r[5]), template=r[6],
                fields={name: str(r[8])} if name and r[8] else {},
            )
            for r in rows
        ]
        return Result(
            connector=self.name, native=plan.sql, logs=logs, total=total,
            truncated=total > len(logs), warnings=self._cap_warning(q.limit, "lines"),
        )

    def _stat_result(self, q: LogQuery, sql: str, rows: list[Row]) -> Result:
        """min/max of the extracted value: one row (value, ts, message, numbers)."""
        value, ts, message, numbers, lines = rows[0] if rows else (None, None, None, 0, 0)
        unit = ""
        if q.extract is not None and q.extract.kind == "field":
            unit = self.template_field(str(q.extract.key)).unit
        out: list[dict[str, str | int | float | None]] = []
        if value is not None:
            out.append({"value": float(value), "aggregate": q.aggregate,
                        "ts": to_utc(ts).isoformat(), "message": message,
                        "numbers": int(numbers)})
        warnings = []
        if int(lines or 0) > int(numbers or 0):
            warnings.append(f"{int(lines) - int(numbers)} of {int(lines)} matching lines have "
                            f"a {q.extract.name if q.extract else 'value'} that is not a number")
        return Result(connector=self.name, native=sql, rows=out, total=int(lines or 0),
                      unit=unit, warnings=warnings)

    def _count_rows(self, q: LogQuery, sql: str, rows: list[Row]) -> Result:
        out: list[dict[str, str | int | float | None]] = []
        groups = lines = 0
        for r in rows:
            if q.count_by == "template":
                value, count, tid, template, example, first, last, groups, lines = r
                out.append({
                    "value": value, "count": int(count),
                    "template_id": None if tid is None else int(tid),
                    "template": template, "example": example,
                    "first_ts": to_utc(first).isoformat(), "last_ts": to_utc(last).isoformat(),
                })
            elif q.busiest is not None:  # the bucket's start, in the stored clock
                start, count, groups, lines = r
                out.append({"value": to_utc(start).isoformat(), "count": int(count)})
            else:
                value, count, groups, lines = r
                out.append({"value": value, "count": int(count)})
        for row in out:
            row["share"] = round(int(row["count"] or 0) / int(lines), 6) if lines else 0.0
        warnings = self._cap_warning(q.top_k, "groups")
        if int(groups) > len(out):
            warnings.insert(0, f"{int(groups)} groups in all; showing the top {len(out)}")
        return Result(
            connector=self.name, native=sql, rows=out, total=int(lines or 0),
            groups=int(groups or 0), truncated=int(groups) > len(out), warnings=warnings,
            unit="lines",
        )

    # -- events ----------------------------------------------------------------------------

    def _event_sql(self, q: EventQuery) -> str:
        if self.events_table is None:
            raise BackendError(
                f"no events table is configured for the {self.name} connector; set "
                f"{self.name}.events_table or use another events backend"
            )
        return build_event_sql(q, self.dialect, self.events_table, self._capped(q.limit))

    def _run_events(self, q: EventQuery) -> Result:
        self._check_entities(q.service, q.host)
        sql = self._event_sql(q)
        rows = self._rows(sql)
        events = [event_from_row(r) for r in rows]
        total = int(rows[0][-1]) if rows else 0
        return Result(
            connector=self.name, native=sql, events=events, total=total,
            truncated=total > len(events), warnings=self._cap_warning(q.limit, "events"),
        )


def doc_query_error() -> IRError:
    return IRError(
        "docs queries are answered by retrieval (runbooks), not by a telemetry connector; "
        "use 'opsa search' or the assistant"
    )


def _needs_value(m: Matcher) -> bool:
    """Whether `m` can only match series that have the label (a missing label is '')."""
    if m.op == "=":
        return m.value != ""
    if m.op == "=~":
        try:
            return re.fullmatch(m.value, "") is None
        except re.error:
            return False  # RE2 syntax Python lacks: let the engine judge it
    return False


def _result_unit(info: MetricInfo, q: MetricQuery) -> str:
    """The unit of the result's values: count-like results have none, rates are per s."""
    if q.function == "count_over_time" or q.aggregation == "count":
        return ""
    if q.function == "rate":
        return f"{info.unit}/s" if info.unit else "/s"
    return info.unit


def _metric_warnings(info: MetricInfo, q: MetricQuery) -> list[str]:
    if q.function in ("rate", "increase") and info.type == "gauge":
        return [f"{q.function}() is meant for counters but {info.name} is a gauge; "
                "consider delta() or *_over_time()"]
    if q.function == "delta" and info.type == "counter":
        return [f"delta() ignores counter resets; {info.name} is a counter, use increase()"]
    return []
