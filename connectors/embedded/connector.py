"""The embedded connector: IR -> DuckDB SQL over the local store, read-only.

The store file is opened read-only; every statement is a generated ``SELECT`` (see
`sql_metrics`, `sql_logs`, `sql_events`) and is returned as `Result.native`. A query that
names an unknown metric, host or service fails before running, with suggestions. Each
statement runs under a time budget: past `timeout_s` it is interrupted (`BackendTimeout`).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

import duckdb
import numpy as np

from assistant.errors import (
    BackendError,
    BackendTimeout,
    ConfigError,
    IRError,
    UnknownEntityError,
)
from assistant.ir import DocQuery, EventQuery, LogQuery, Matcher, MetricQuery, Query
from connectors.base import Catalog, Connector, LogLine, MetricInfo, Result, Series
from connectors.embedded import schema
from connectors.embedded.catalog import StoreCatalog, family, load_catalog, strip_port
from connectors.embedded.promql_math import aggregate, bucket_quantile, parse_le
from connectors.embedded.sql_common import event_from_row, to_utc
from connectors.embedded.sql_events import build_event_sql
from connectors.embedded.sql_logs import build_log_sql
from connectors.embedded.sql_metrics import MetricPlan, build_metric_sql

if TYPE_CHECKING:
    from assistant.settings import Settings

Row = tuple[Any, ...]


class EmbeddedConnector(Connector):
    """Metrics, logs and events from one local DuckDB file (`connectors.embedded.schema`)."""

    name = "embedded"

    def __init__(
        self,
        path: Path,
        *,
        service_labels: Sequence[str] = ("service", "job", "app"),
        host_labels: Sequence[str] = ("host", "instance", "hostname", "node"),
        timeout_s: float = 10.0,
    ) -> None:
        if timeout_s <= 0:
            raise ConfigError(f"query timeout must be positive, got {timeout_s}")
        self.path = Path(path)
        self.service_labels = tuple(service_labels)
        self.host_labels = tuple(host_labels)
        self.timeout_s = timeout_s
        self._con: duckdb.DuckDBPyConnection | None = None
        self._store: StoreCatalog | None = None
        self._labels: dict[int, dict[str, str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedConnector:
        """The connector for `settings` (store under the data dir, label conventions)."""
        return cls(
            settings.store_path,
            service_labels=settings.ingest.service_labels,
            host_labels=settings.ingest.host_labels,
            timeout_s=settings.query_timeout_s,
        )

    # -- Connector API ------------------------------------------------------------------

    def catalog(self) -> Catalog:
        return self._store_catalog().catalog

    def native(self, query: Query) -> str:
        match query:
            case MetricQuery():
                _, plan = self._metric_plan(query)
                return "\n".join([plan.sql, *plan.notes])
            case LogQuery():
                self._check_entities(query.service, query.host)
                return build_log_sql(query).sql
            case EventQuery():
                self._check_entities(query.service, query.host)
                return build_event_sql(query)
            case DocQuery():
                raise _doc_query_error()
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
                raise _doc_query_error()
            case _:
                assert_never(query)
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        return result

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    # -- connection and execution -------------------------------------------------------

    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                self._con = schema.connect(self.path, read_only=True)
            return self._con

    def _execute(self, sql: str, numpy: bool = False) -> Any:
        """Run `sql` on its own cursor, interrupted after `timeout_s`."""
        cur = self._connection().cursor()
        timer = threading.Timer(self.timeout_s, cur.interrupt)
        timer.daemon = True
        timer.start()
        try:
            rel = cur.execute(sql)
            return rel.fetchnumpy() if numpy else rel.fetchall()
        except duckdb.InterruptException as exc:
            raise BackendTimeout(
                f"the embedded store did not answer within {self.timeout_s:g}s; narrow the "
                "time range, add a host or service filter, or raise OPSA_QUERY_TIMEOUT_S"
            ) from exc
        except duckdb.Error as exc:
            raise BackendError(f"the embedded store (DuckDB) rejected the query: {exc}") from exc
        finally:
            timer.cancel()
            cur.close()

    def _store_catalog(self) -> StoreCatalog:
        if self._store is None:
            cur = self._connection().cursor()
            try:
                self._store = load_catalog(cur, self.service_labels, self.host_labels)
            except duckdb.Error as exc:
                raise BackendError(
                    f"cannot read the catalog of the embedded store {self.path}: {exc}"
                ) from exc
            finally:
                cur.close()
        return self._store

    def _series_labels(self, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        missing = sorted({i for i in ids if i not in self._labels})
        if missing:
            rows = self._execute(
                "SELECT series_id, labels FROM series WHERE series_id IN ("
                + ", ".join(str(int(i)) for i in missing)
                + ")"
            )
            for sid, labels in rows:
                self._labels[int(sid)] = {
                    k: v for k, v in dict(labels).items() if k != "__name__" and v is not None
                }
        return {i: self._labels.get(i, {}) for i in ids}

    # -- validation -----------------------------------------------------------------------

    def _check_entities(self, service: str | None, host: str | None) -> None:
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
        return info, build_metric_sql(q, info.name, report)

    def _run_metric(self, q: MetricQuery) -> Result:
        info, plan = self._metric_plan(q)
        data: dict[str, np.ndarray] = self._execute(plan.sql, numpy=True)
        if plan.histogram:
            series = self._histogram_series(plan, data, q)
        else:
            series = self._plain_series(plan, data)
        if plan.python_aggregation:
            series = aggregate(series, plan.python_aggregation, q.by, q.k)
        series.sort(key=lambda s: sorted(s.labels.items()))
        return Result(
            connector=self.name,
            native="\n".join([plan.sql, *plan.notes]),
            series=series,
            unit=_result_unit(info, q),
            warnings=_metric_warnings(info, q),
        )

    def _plain_series(self, plan: MetricPlan, data: dict[str, np.ndarray]) -> list[Series]:
        steps = data["i"].tolist()
        values = data["value"].tolist()
        keys = self._row_keys(plan, data)
        points: dict[Any, list[tuple[datetime, float]]] = defaultdict(list)
        times = plan.times
        for key, i, v in zip(keys, steps, values, strict=True):
            points[key].append((times[i], v))
        return [
            Series.model_construct(metric=plan.metric, labels=labels, points=pts)
            for labels, pts in self._label_points(plan, points)
        ]

    def _row_keys(self, plan: MetricPlan, data: dict[str, np.ndarray]) -> list[Any]:
        if plan.key == "series":
            return [int(x) for x in data["series_id"].tolist()]
        if not plan.by_columns:
            return [()] * len(data["i"])
        cols = [data[c].tolist() for c in plan.by_columns]
        return list(zip(*cols, strict=True))

    def _label_points(
        self, plan: MetricPlan, points: dict[Any, list[tuple[datetime, float]]]
    ) -> list[tuple[dict[str, str], list[tuple[datetime, float]]]]:
        if plan.key == "series":
            labels = self._series_labels(list(points))
            return [(labels[sid], pts) for sid, pts in points.items()]
        return [
            ({b: v for b, v in zip(plan.by, key, strict=True) if v}, pts)
            for key, pts in points.items()
        ]

    def _histogram_series(
        self, plan: MetricPlan, data: dict[str, np.ndarray], q: MetricQuery
    ) -> list[Series]:
        assert q.quantile is not None  # guaranteed by the IR validator
        steps = data["i"].tolist()
        values = data["value"].tolist()
        # group -> step -> [(upper bound, rate)]
        buckets: dict[tuple[tuple[str, str], ...], dict[int, list[tuple[float, float]]]] = (
            defaultdict(lambda: defaultdict(list))
        )
        if plan.with_le:
            les = data["le"].tolist()
            for key, le, i, v in zip(self._row_keys(plan, data), les, steps, values, strict=True):
                bound = parse_le(le)
                if bound is not None:
                    group = tuple((b, x) for b, x in zip(plan.by, key, strict=True) if x)
                    buckets[group][i].append((bound, v))
        else:
            ids = [int(x) for x in data["series_id"].tolist()]
            labels = self._series_labels(ids)
            for sid, i, v in zip(ids, steps, values, strict=True):
                bound = parse_le(labels[sid].get("le"))
                if bound is not None:
                    group = tuple(sorted((k, x) for k, x in labels[sid].items() if k != "le"))
                    buckets[group][i].append((bound, v))
        series: list[Series] = []
        for group, per_step in buckets.items():
            pts = []
            for i in sorted(per_step):
                value = bucket_quantile(q.quantile, per_step[i])
                if not math.isnan(value):
                    pts.append((plan.times[i], value))
            if pts:
                series.append(
                    Series.model_construct(metric=plan.metric, labels=dict(group), points=pts)
                )
        return series

    # -- logs and events ---------------------------------------------------------------

    def _run_logs(self, q: LogQuery) -> Result:
        self._check_entities(q.service, q.host)
        plan = build_log_sql(q)
        if plan.mode == "buckets":
            data = self._execute(plan.sql, numpy=True)
            counts = data["count"].tolist()
            pts = [(t, float(c)) for t, c in zip(plan.bucket_times, counts, strict=True)]
            total = int(sum(counts))
            return Result(
                connector=self.name,
                native=plan.sql,
                series=[Series.model_construct(metric="log_lines", labels={}, points=pts)],
                total=total,
                unit="lines",
            )
        rows = self._execute(plan.sql)
        if plan.mode == "count_by":
            return self._count_rows(q, plan.sql, rows)
        total = int(rows[0][-1]) if rows else 0
        logs = [
            LogLine(
                ts=to_utc(r[0]), service=r[1], host=r[2], level=r[3], message=r[4],
                template_id=r[5], template=r[6],
            )
            for r in rows
        ]
        return Result(
            connector=self.name,
            native=plan.sql,
            logs=logs,
            total=total,
            truncated=total > len(logs),
        )

    def _count_rows(self, q: LogQuery, sql: str, rows: list[Row]) -> Result:
        out: list[dict[str, str | int | float | None]] = []
        groups = lines = 0
        for r in rows:
            if q.count_by == "template":
                value, count, tid, template, example, first, last, groups, lines = r
                out.append({
                    "value": value, "count": int(count), "template_id": tid,
                    "template": template, "example": example,
                    "first_ts": to_utc(first).isoformat(), "last_ts": to_utc(last).isoformat(),
                })
            else:
                value, count, groups, lines = r
                out.append({"value": value, "count": int(count)})
        for row in out:
            row["share"] = round(int(row["count"] or 0) / int(lines), 6) if lines else 0.0
        return Result(
            connector=self.name,
            native=sql,
            rows=out,
            total=int(lines or 0),
            truncated=int(groups) > len(out),
            warnings=[f"{int(groups)} groups in all; showing the top {len(out)}"]
            if int(groups) > len(out) else [],
            unit="lines",
        )

    def _run_events(self, q: EventQuery) -> Result:
        self._check_entities(q.service, q.host)
        sql = build_event_sql(q)
        rows = self._execute(sql)
        events = [event_from_row(r) for r in rows]
        total = int(rows[0][-1]) if rows else 0
        return Result(
            connector=self.name,
            native=sql,
            events=events,
            total=total,
            truncated=total > len(events),
        )


def _doc_query_error() -> IRError:
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
            return False  # RE2 syntax Python lacks: let DuckDB judge it
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
