"""`ClickHouseConnector`: LogQuery and EventQuery -> ClickHouse SQL, run read-only.

Works on the project's own table layout (`logs`, `log_templates`, `events`, as in the
embedded store) or on a user's log table through a declared column mapping
(`assistant.settings.ClickHouseLogTable`). Every statement is a generated SELECT with
``readonly=1`` and ``max_execution_time``; the SQL goes through an executor
(``Callable[[str], list[tuple]]``): clickhouse-connect over HTTP by default, chDB in tests.
Metric queries are not supported yet (`supports()` is False; `run` raises BackendError).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, assert_never

from assistant.errors import BackendError, ConfigError, IRError, OpsaError, UnknownEntityError
from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery, Query
from assistant.settings import ClickHouseLogTable
from connectors.base import Catalog, Connector, LogLine, Result, Series
from connectors.clickhouse.sql import (
    LogColumns,
    build_event_sql,
    build_log_sql,
    ident,
    settings_clause,
)
from connectors.clickhouse.transport import HttpExecutor, map_error
from connectors.embedded.sql_common import event_from_row, to_utc

if TYPE_CHECKING:
    from assistant.settings import Settings

Row = tuple[Any, ...]
Executor = Callable[[str], list[Row]]
CATALOG_LIMIT = 1000
_SELECT = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)


class ClickHouseConnector(Connector):
    """Logs and events from ClickHouse tables (read-only)."""

    name = "clickhouse"
    handles = frozenset({"logs", "events"})

    def __init__(
        self,
        url: str = "http://127.0.0.1:8123",
        *,
        username: str = "default",
        password: str | None = None,
        database: str = "default",
        verify_tls: bool = True,
        timeout_s: float = 10.0,
        max_rows: int = 10_000,
        logs: ClickHouseLogTable | None = None,
        events_table: str | None = "events",
        executor: Executor | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ConfigError(f"clickhouse timeout must be positive, got {timeout_s}")
        if max_rows < 1:
            raise ConfigError(f"clickhouse max_rows must be at least 1, got {max_rows}")
        self.url = url
        self.username = username
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.mapping = logs or ClickHouseLogTable()
        self.columns = LogColumns.from_mapping(self.mapping)
        self.events_table = events_table
        if events_table is not None:
            ident(events_table)  # fail early on a bad name
        self._executor: Executor = executor or HttpExecutor(
            url, username=username, password=password, database=database,
            verify_tls=verify_tls, timeout_s=timeout_s,
        )
        self._catalog: Catalog | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ClickHouseConnector:
        ch = settings.clickhouse
        return cls(
            ch.url, username=ch.username, password=ch.password, database=ch.database,
            verify_tls=ch.verify_tls, timeout_s=ch.timeout_s, max_rows=ch.max_rows,
            logs=ch.logs, events_table=ch.events_table,
        )

    # -- Connector API ------------------------------------------------------------------

    def supports(self, query: Query) -> bool:
        return query.kind in self.handles

    def catalog(self) -> Catalog:
        """Services, hosts and levels (distinct values of mapped columns, bounded) and kinds."""
        if self._catalog is None:
            c = self.columns
            tail = settings_clause(self.timeout_s)

            def distinct(expr: str, table: str) -> list[str]:
                rows = self._execute(
                    f"SELECT DISTINCT {expr} AS v FROM {table} WHERE v IS NOT NULL "
                    f"ORDER BY v LIMIT {CATALOG_LIMIT}\n{tail}"
                )
                return [str(r[0]) for r in rows if r[0] not in (None, "")]

            services = set(distinct(c.service, c.table))
            hosts = set(distinct(c.host, c.table))
            levels = distinct(c.level, c.table)
            kinds: list[str] = []
            if self.events_table is not None:
                ev = ident(self.events_table)
                services |= set(distinct("service", ev))
                hosts |= set(distinct("host", ev))
                kinds = distinct("kind", ev)
            self._catalog = Catalog(
                services=sorted(services), hosts=sorted(hosts), event_kinds=kinds,
                log_levels=levels,
            )
        return self._catalog

    def native(self, query: Query) -> str:
        match query:
            case LogQuery():
                return self._log_plan(query).sql
            case EventQuery():
                return self._event_sql(query)
            case MetricQuery():
                raise _metric_error()
            case DocQuery():
                raise _doc_query_error()
            case _:
                assert_never(query)

    def run(self, query: Query) -> Result:
        started = time.perf_counter()
        match query:
            case LogQuery():
                self._check_entities(query.service, query.host)
                result = self._run_logs(query)
            case EventQuery():
                self._check_entities(query.service, query.host)
                result = self._run_events(query)
            case MetricQuery():
                raise _metric_error()
            case DocQuery():
                raise _doc_query_error()
            case _:
                assert_never(query)
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        return result

    # -- execution ---------------------------------------------------------------------

    def _execute(self, sql: str) -> list[Row]:
        """Run one generated statement; anything but a SELECT is refused before sending."""
        if not _SELECT.match(sql) or "readonly=1" not in sql:
            raise BackendError(
                "the clickhouse connector only runs read-only SELECT statements; refused: "
                + " ".join(sql.split())[:120]
            )
        try:
            return self._executor(sql)
        except OpsaError:
            raise
        except Exception as exc:  # a custom executor's own error type (e.g. chDB's):
            # classify it by ClickHouse's error text, as the HTTP transport does
            raise map_error(exc, self.url, self.username, self.timeout_s) from exc

    def _check_entities(self, service: str | None, host: str | None) -> None:
        if service is None and host is None:
            return
        cat = self.catalog()
        if service is not None and service not in cat.services:
            raise UnknownEntityError("service", service, cat.services)
        if host is not None and host not in cat.hosts:
            raise UnknownEntityError("host", host, cat.hosts)

    # -- logs ------------------------------------------------------------------------------

    def _log_plan(self, q: LogQuery) -> Any:
        return build_log_sql(
            q, self.columns, min(q.limit, self.max_rows), min(q.top_k, self.max_rows),
            self.timeout_s,
        )

    def _capped(self, q: LogQuery) -> list[str]:
        wanted = q.top_k if q.count_by else q.limit
        if wanted > self.max_rows and q.bucket_s is None:
            return [f"row limit: at most {self.max_rows} rows per ClickHouse query "
                    f"(asked for {wanted}); set clickhouse.max_rows to see more"]
        return []

    def _run_logs(self, q: LogQuery) -> Result:
        plan = self._log_plan(q)
        rows = self._execute(plan.sql)
        if plan.mode == "buckets":
            counts = {int(i): int(n) for i, n in rows}
            pts = [(t, float(counts.get(i, 0))) for i, t in enumerate(plan.bucket_times)]
            return Result(
                connector=self.name, native=plan.sql,
                series=[Series.model_construct(metric="log_lines", labels={}, points=pts)],
                total=sum(counts.values()), unit="lines",
            )
        if plan.mode == "count_by":
            return self._count_rows(q, plan.sql, rows)
        total = int(rows[0][-1]) if rows else 0
        logs = [
            LogLine(
                ts=to_utc(r[0]), service=r[1], host=r[2], level=r[3], message=r[4],
                template_id=None if r[5] is None else int(r[5]), template=r[6],
            )
            for r in rows
        ]
        return Result(
            connector=self.name, native=plan.sql, logs=logs, total=total,
            truncated=total > len(logs), warnings=self._capped(q),
        )

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
            else:
                value, count, groups, lines = r
                out.append({"value": value, "count": int(count)})
        for row in out:
            row["share"] = round(int(row["count"] or 0) / int(lines), 6) if lines else 0.0
        warnings = self._capped(q)
        if int(groups) > len(out):
            warnings.insert(0, f"{int(groups)} groups in all; showing the top {len(out)}")
        return Result(
            connector=self.name, native=sql, rows=out, total=int(lines or 0),
            truncated=int(groups) > len(out), warnings=warnings, unit="lines",
        )

    # -- events ----------------------------------------------------------------------------

    def _event_sql(self, q: EventQuery) -> str:
        if self.events_table is None:
            raise BackendError(
                "no events table is configured for the clickhouse connector; set "
                "clickhouse.events_table or use another events backend"
            )
        return build_event_sql(q, self.events_table, min(q.limit, self.max_rows), self.timeout_s)

    def _run_events(self, q: EventQuery) -> Result:
        sql = self._event_sql(q)
        rows = self._execute(sql)
        events = [event_from_row(r) for r in rows]
        total = int(rows[0][-1]) if rows else 0
        warnings = []
        if q.limit > self.max_rows:
            warnings.append(f"row limit: at most {self.max_rows} events per ClickHouse query")
        return Result(
            connector=self.name, native=sql, events=events, total=total,
            truncated=total > len(events), warnings=warnings,
        )


def _metric_error() -> BackendError:
    return BackendError(
        "the clickhouse connector answers logs and events only; metric queries over "
        "ClickHouse are not implemented yet; use the embedded or prometheus backend"
    )


def _doc_query_error() -> IRError:
    return IRError(
        "docs queries are answered by retrieval (runbooks), not by a telemetry connector; "
        "use 'opsa search' or the assistant"
    )


