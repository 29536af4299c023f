"""The embedded connector: IR -> DuckDB SQL over the local store, read-only.

The store file is opened read-only; every statement is a generated ``SELECT`` (see
`connectors.sql`) and is returned as `Result.native`. A query that names an unknown
metric, host or service fails before running, with suggestions. Each statement runs under
a time budget: past `timeout_s` it is interrupted (`BackendTimeout`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from assistant.errors import BackendError, BackendTimeout, ConfigError
from assistant.log_fields import TemplateField
from connectors.embedded import schema
from connectors.sql.catalog import StoreCatalog, build_catalog, read_log_fields
from connectors.sql.connector import Row, SqlConnector
from connectors.sql.dialect import DuckDB
from connectors.sql.logs import LogColumns
from connectors.sql.metrics import MetricPlan
from connectors.sql.results import Columns

if TYPE_CHECKING:
    from assistant.settings import Settings


PING_WAIT_S = 0.5


class EmbeddedConnector(SqlConnector):
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
        super().__init__()
        if timeout_s <= 0:
            raise ConfigError(f"query timeout must be positive, got {timeout_s}")
        self.path = Path(path)
        self.service_labels = tuple(service_labels)
        self.host_labels = tuple(host_labels)
        self.timeout_s = timeout_s
        self.dialect = DuckDB()
        self.log_columns = LogColumns.store()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedConnector:
        """The connector for `settings` (store under the data dir, label conventions)."""
        conn = cls(
            settings.store_path,
            service_labels=settings.ingest.service_labels,
            host_labels=settings.ingest.host_labels,
            timeout_s=settings.query_timeout_s,
        )
        conn.semantics = settings.promql_semantics
        return conn

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    # -- connection and execution -------------------------------------------------------

    def ping(self) -> None:
        """Open the store for reading (briefly waiting out another process's write)."""
        schema.connect(self.path, read_only=True, wait_s=PING_WAIT_S).close()

    def stamp(self) -> object | None:
        """Size and modification time of the store file and its write-ahead log."""
        out: list[int] = []
        for p in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = p.stat()
                out += [st.st_mtime_ns, st.st_size]
            except OSError:
                out += [0, 0]
        return tuple(out)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                self._con = schema.connect(self.path, read_only=True,
                                           wait_s=schema.READER_WAIT_S)
            return self._con

    def _rows(self, sql: str) -> list[Row]:
        rows: list[Row] = self._execute(sql, numpy=False)
        return rows

    def _columns(self, sql: str, plan: MetricPlan) -> Columns:
        data = self._execute(sql, numpy=True)  # numpy arrays: much faster for many points
        return {name: data[name].tolist() for name in plan.columns if name in data}

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

    def _read_log_fields(self, template_ids: list[int] | None = None) -> list[TemplateField]:
        """The catalog stored at ingest (`log_fields`); templates it lacks (a store written
        before it existed) are measured now, in memory (the store is opened read-only)."""
        only = "" if template_ids is None else \
            f"WHERE f.template_id IN ({', '.join(str(int(t)) for t in template_ids)}) "
        try:
            rows = self._rows(
                "SELECT f.template_id, f.idx, f.name, f.type, f.unit, f.examples, "
                "f.distinct_values, f.lines, f.services, t.template "
                f"FROM log_fields f JOIN log_templates t USING (template_id) {only}"
                "ORDER BY f.template_id, f.idx")
        except BackendError:  # a store from before the field catalog: no such table
            rows = []
        stored = [
            TemplateField(template_id=int(r[0]), index=int(r[1]), name=r[2], type=r[3],
                          unit=r[4], examples=tuple(r[5]), distinct=int(r[6]),
                          lines=int(r[7]), services=tuple(r[8]), template=r[9])
            for r in rows
        ]
        have = {f.template_id for f in stored}
        known = [int(r[0]) for r in self._rows("SELECT template_id FROM log_templates")]
        missing = [t for t in known if t not in have
                   and (template_ids is None or t in template_ids)]
        if not missing:
            return stored
        found = read_log_fields(self._rows, self.log_columns, self.dialect, missing)
        return sorted(stored + found, key=lambda f: (f.template_id, f.index))

    def _load_catalog(self) -> StoreCatalog:
        cur = self._connection().cursor()
        try:
            return _read_catalog(cur, self.service_labels, self.host_labels)
        except duckdb.Error as exc:
            raise BackendError(
                f"cannot read the catalog of the embedded store {self.path}: {exc}"
            ) from exc
        finally:
            cur.close()


def _read_catalog(
    con: duckdb.DuckDBPyConnection, service_labels: Sequence[str], host_labels: Sequence[str]
) -> StoreCatalog:
    meta = {
        row[0]: (row[1], row[2], row[3])
        for row in con.execute("SELECT metric, type, help, unit FROM metric_meta").fetchall()
    }
    labels: dict[str, dict[str, list[str]]] = {
        r[0]: {} for r in con.execute("SELECT DISTINCT metric FROM series").fetchall()
    }
    label_rows = con.execute(
        """
        WITH kv AS (
          SELECT metric, unnest(map_keys(labels)) AS k, unnest(map_values(labels)) AS v
          FROM series
        )
        SELECT metric, k, list_sort(list_distinct(list(v))) AS vals
        FROM kv GROUP BY metric, k
        """
    ).fetchall()
    for metric, key, values in label_rows:
        if key != "__name__":
            labels[metric][key] = list(values)
    found = con.execute(
        "SELECT DISTINCT service, host, level FROM logs UNION ALL "
        "SELECT DISTINCT service, host, NULL FROM events"
    ).fetchall()
    kinds = [r[0] for r in con.execute("SELECT DISTINCT kind FROM events").fetchall()]
    return build_catalog(meta, labels, found, kinds, service_labels, host_labels)
