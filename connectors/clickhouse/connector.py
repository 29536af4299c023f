"""`ClickHouseConnector`: metrics, logs and events from ClickHouse, read-only.

The SQL comes from the same builders as the embedded store's (`connectors.sql`) in the
ClickHouse dialect, so both engines answer an IR query with the same semantics (checked by
the differential suite on chDB). Works on the project's table layout
(`connectors.clickhouse.schema`) or on a user's log table through a declared column mapping
(`assistant.settings.ClickHouseLogTable`). Every statement is a generated SELECT carrying
``readonly=1``, ``max_execution_time`` and ``max_result_bytes``; the SQL goes through an
executor (``Callable[[str], list[tuple]]``): clickhouse-connect over HTTP by default, chDB in
tests and benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.errors import BackendError, ConfigError, OpsaError
from assistant.ir import LogQuery, MetricQuery, Query
from assistant.settings import ClickHouseLogTable, ClickHouseMetricTable
from connectors.base import Result
from connectors.clickhouse.metric_table import flat_metric_tables, mapped_columns, meta_sql
from connectors.clickhouse.transport import HttpExecutor, map_error
from connectors.sql.catalog import StoreCatalog, build_catalog
from connectors.sql.connector import Row, SqlConnector
from connectors.sql.dialect import ClickHouse
from connectors.sql.logs import LogColumns, qualified
from connectors.sql.metrics import MetricTables

if TYPE_CHECKING:
    from assistant.settings import Settings

Executor = Callable[[str], list[Row]]
Found = tuple[str | None, str | None, str | None]
CATALOG_LIMIT = 1000
"""At most this many distinct values per mapped column or label are read for the catalog."""
CATALOG_DAYS = 7
"""Services, hosts, levels and event kinds are read from the newest week of each table
(counted back from its newest row, so a table that stopped receiving data still lists)."""
_SELECT = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)


class ClickHouseConnector(SqlConnector):
    """Metrics, logs and events from ClickHouse tables (read-only)."""

    name = "clickhouse"

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
        max_result_bytes: int = 64 * 1024 * 1024,
        logs: ClickHouseLogTable | None = None,
        events_table: str | None = "events",
        series_table: str | None = "series",
        samples_table: str = "samples",
        metric_meta_table: str | None = "metric_meta",
        metrics: ClickHouseMetricTable | None = None,
        host_labels: tuple[str, ...] = ("host", "instance", "hostname", "node"),
        service_labels: tuple[str, ...] = ("service", "job", "app"),
        executor: Executor | None = None,
    ) -> None:
        super().__init__()
        if timeout_s <= 0:
            raise ConfigError(f"clickhouse timeout must be positive, got {timeout_s}")
        if max_rows < 1:
            raise ConfigError(f"clickhouse max_rows must be at least 1, got {max_rows}")
        if max_result_bytes < 1024:
            raise ConfigError(
                f"clickhouse max_result_bytes must be at least 1024, got {max_result_bytes}"
            )
        self.url = url
        self.username = username
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.max_result_bytes = max_result_bytes
        self.host_labels = tuple(host_labels)
        self.service_labels = tuple(service_labels)
        self.dialect = ClickHouse(timeout_s, max_result_bytes)
        self.mapping = logs or ClickHouseLogTable()
        self.log_columns = LogColumns.from_mapping(self.mapping, self.dialect)
        d = self.dialect
        self.events_table = qualified(events_table, d) if events_table else None
        self.metric_tables = MetricTables(
            series=qualified(series_table, d) if series_table else "",
            samples=qualified(samples_table, d),
        )
        self.metric_meta_table = qualified(metric_meta_table, d) if metric_meta_table else None
        self._raw_names = {
            "logs": self.mapping.table, "events": events_table, "series": series_table,
            "samples": samples_table, "metric_meta": metric_meta_table,
        }
        self.flat_metrics = metrics if metrics is not None and metrics.table else None
        if self.flat_metrics is not None:  # one sample per row in a team's own table
            self.metric_tables = flat_metric_tables(self.flat_metrics, d, CATALOG_DAYS)
            self._raw_names.update(series=self.flat_metrics.table,
                                   samples=self.flat_metrics.table, metric_meta=None)
        self._executor: Executor = executor or HttpExecutor(
            url, username=username, password=password, database=database,
            verify_tls=verify_tls, timeout_s=timeout_s,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ClickHouseConnector:
        """The connector for `settings`; a ``chdb:///path`` URL runs on embedded ClickHouse
        (chDB) at that path instead of a server, to try the connector without one."""
        ch = settings.clickhouse
        executor: Executor | None = None
        if ch.url.startswith("chdb://"):
            from connectors.clickhouse.chdb_executor import ChdbExecutor

            path = ch.url.removeprefix("chdb://")
            if not path.startswith("/"):
                raise ConfigError(
                    f"clickhouse url {ch.url!r}: a chDB URL needs an absolute path, "
                    "e.g. chdb:///var/lib/opsa/chdb"
                )
            executor = ChdbExecutor(path)
        conn = cls(
            ch.url, username=ch.username, password=ch.password, database=ch.database,
            verify_tls=ch.verify_tls, timeout_s=ch.timeout_s, max_rows=ch.max_rows,
            max_result_bytes=ch.max_result_bytes, logs=ch.logs,
            events_table=ch.events_table or None, series_table=ch.series_table or None,
            samples_table=ch.samples_table, metric_meta_table=ch.metric_meta_table or None,
            metrics=ch.metrics,
            host_labels=tuple(settings.ingest.host_labels),
            service_labels=tuple(settings.ingest.service_labels), executor=executor,
        )
        conn.semantics = settings.promql_semantics
        return conn

    def close(self) -> None:
        close = getattr(self._executor, "close", None)
        if callable(close):
            close()

    def supports(self, query: Query) -> bool:
        if query.kind == "metric":
            return bool(self.metric_tables.series)
        return query.kind in ("logs", "events")

    # -- execution ---------------------------------------------------------------------

    def _rows(self, sql: str) -> list[Row]:
        """Run one generated statement; anything but a read-only SELECT is refused."""
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
            raise map_error(
                exc, self.url, self.username, self.timeout_s, self.max_result_bytes
            ) from exc

    # -- catalog ---------------------------------------------------------------------------

    def _load_catalog(self) -> StoreCatalog:
        """Tables and columns from ``system.columns`` (a mapping that names a missing column
        fails here, clearly), then bounded distinct values of the mapped columns and labels."""
        present = self._present_columns()
        logs_table = self._raw_names["logs"]
        if logs_table not in present:
            raise ConfigError(
                f"ClickHouse has no log table {logs_table!r} (tables seen: "
                f"{', '.join(sorted(present)) or 'none'}); set clickhouse.logs.table"
            )
        columns = present[logs_table]
        self._check_mapping(columns)
        if self.mapping.level_num and self.mapping.level_num in columns:
            # a numeric level column filters several times faster than mapping names
            self.log_columns = replace(
                self.log_columns, level_num=qualified(self.mapping.level_num, self.dialect)
            )
        d = self.dialect
        c = self.log_columns
        found: list[Found] = [
            *((v, None, None) for v in self._distinct(c.service, c.table, c.ts)),
            *((None, v, None) for v in self._distinct(c.host, c.table, c.ts)),
            *((None, None, v) for v in self._distinct(c.level, c.table, c.ts)),
        ]
        kinds: list[str] = []
        if self.events_table is not None and self._raw_names["events"] in present:
            ev = self.events_table
            found += [(v, None, None) for v in self._distinct("service", ev, "ts")]
            found += [(None, v, None) for v in self._distinct("host", ev, "ts")]
            kinds = self._distinct("kind", ev, "ts")
        elif self.events_table is not None:
            self.events_table = None  # "no events table" errors say so at query time
        meta: dict[str, tuple[str, str, str]] = {}
        labels: dict[str, dict[str, list[str]]] = {}
        series = self._raw_names["series"]
        if series and series in present and self._raw_names["samples"] in present:
            if self.flat_metrics is not None:
                self._check_columns("metrics", self.flat_metrics.table or "", present[series],
                                    mapped_columns(self.flat_metrics))
            labels = self._metric_labels()
            meta_table = self._raw_names["metric_meta"]
            if self.flat_metrics is not None:
                meta = self._flat_meta(list(labels))
            elif self.metric_meta_table and meta_table in present:
                meta = {
                    str(r[0]): (str(r[1]), str(r[2]), str(r[3]))
                    for r in self._rows(d.finish(
                        f"SELECT metric, type, help, unit FROM {self.metric_meta_table}"
                    ))
                }
        else:
            self.metric_tables = MetricTables(series="", samples=self.metric_tables.samples)
        return build_catalog(meta, labels, found, kinds, self.service_labels, self.host_labels)

    def _present_columns(self) -> dict[str, set[str]]:
        """Configured table name (as written in the config) -> its columns, for tables
        that exist."""
        d = self.dialect
        wanted = {n for n in self._raw_names.values() if n}
        conds = []
        for name in sorted(wanted):
            db, _, table = name.rpartition(".")
            db_sql = d.lit(db) if db else "currentDatabase()"
            conds.append(f"(database = {db_sql} AND table = {d.lit(table)})")
        rows = self._rows(d.finish(
            "SELECT database, table, name, database = currentDatabase() AS current\n"
            "FROM system.columns\nWHERE " + "\n   OR ".join(conds)
        ))
        present: dict[str, set[str]] = {}
        for db, table, column, current in rows:
            # an unqualified name means the connection's database, not any database
            for name in ([table] if current else []) + [f"{db}.{table}"]:
                if name in wanted:
                    present.setdefault(name, set()).add(str(column))
        return present

    def _check_mapping(self, columns: set[str]) -> None:
        m = self.mapping
        named = {
            "timestamp": m.timestamp, "service": m.service, "host": m.host, "level": m.level,
            "message": m.message, "attributes": m.attributes, "template_id": m.template_id,
            "line_id": m.line_id,
        }
        self._check_columns("logs", m.table, columns, {
            k: v for k, v in named.items() if v and not v.startswith("attr:")
        })

    @staticmethod
    def _check_columns(section: str, table: str, columns: set[str],
                       named: dict[str, str]) -> None:
        for field, col in named.items():
            if col not in columns:
                raise ConfigError(
                    f"clickhouse.{section}.{field} = {col!r}, but table {table!r} has no such "
                    f"column; its columns are: {', '.join(sorted(columns))}"
                )

    def _flat_meta(self, metrics: list[str]) -> dict[str, tuple[str, str, str]]:
        """Types from the setting (one per table), help and unit from mapped columns."""
        assert self.flat_metrics is not None
        kind: str = self.flat_metrics.type
        meta = {name: (kind, "", "") for name in metrics}
        sql = meta_sql(self.flat_metrics, self.dialect)
        if sql is not None:
            for name, help_, unit in self._rows(self.dialect.finish(sql)):
                meta[str(name)] = (kind, str(help_ or ""), str(unit or ""))
        return meta

    def _distinct(self, expr: str, table: str, ts: str) -> list[str]:
        """Distinct values of `expr` over the table's newest `CATALOG_DAYS` days: bounded
        in values, and in the data read (the time filter prunes by the sort key)."""
        rows = self._rows(self.dialect.finish(
            f"SELECT DISTINCT {expr} AS v FROM {table}\n"
            f"WHERE {ts} >= (SELECT max({ts}) FROM {table}) - INTERVAL {CATALOG_DAYS} DAY\n"
            f"  AND v IS NOT NULL AND v != ''\n"
            f"ORDER BY v LIMIT {CATALOG_LIMIT}"
        ))
        return [str(r[0]) for r in rows]

    def _metric_labels(self) -> dict[str, dict[str, list[str]]]:
        series = self.metric_tables.series
        labels: dict[str, dict[str, list[str]]] = {
            str(r[0]): {} for r in self._rows(self.dialect.finish(
                f"SELECT DISTINCT metric FROM {series}"
            ))
        }
        rows = self._rows(self.dialect.finish(
            f"SELECT metric, k, arraySort(groupUniqArray({CATALOG_LIMIT})(v))\n"
            f"FROM {series} ARRAY JOIN mapKeys(labels) AS k, mapValues(labels) AS v\n"
            "GROUP BY metric, k"
        ))
        for metric, key, values in rows:
            if key != "__name__":
                labels[str(metric)][str(key)] = [str(v) for v in values]
        return labels

    def _run_logs(self, q: LogQuery) -> Result:
        self._store_catalog()  # discovery settles which columns the SQL may use
        return super()._run_logs(q)

    def _run_metric(self, q: MetricQuery) -> Result:
        self._store_catalog()  # discovers whether metric tables exist
        if not self.metric_tables.series:
            raise BackendError(
                "the ClickHouse database has no metric tables (clickhouse.series_table / "
                "samples_table); metric queries need the project layout "
                "(see connectors/clickhouse/schema.py) or another metrics backend"
            )
        return super()._run_metric(q)
