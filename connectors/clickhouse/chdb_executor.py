"""`ChdbExecutor`: the ClickHouse connector's executor on embedded ClickHouse (chDB).

For tests, benchmarks, and for trying the connector without a server:

    ex = ChdbExecutor("/tmp/opsa-chdb")          # or None for a throw-away session
    ex.load_parquet_dir("export/")                # what `opsa demo --export clickhouse` wrote
    ClickHouseConnector(executor=ex).run(query)

chDB is a test/dev dependency only (``pip install chdb``); it is imported on first use.
Errors from chDB propagate unchanged from `__call__`, so that the connector classifies them
by ClickHouse's error text exactly as it does for the HTTP transport.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from assistant.errors import BackendError, ConfigError
from connectors.clickhouse.schema import TABLES, create_statements

Row = tuple[Any, ...]


def _session_class() -> Any:
    try:
        from chdb import session
    except ImportError as exc:
        raise ConfigError(
            "embedded ClickHouse needs chDB, which is not installed; run: pip install chdb"
        ) from exc
    return session.Session


def _column_values(column: Any) -> list[Any]:
    """One Arrow column as Python values; a Map becomes a dict, as clickhouse-connect gives."""
    import pyarrow as pa

    values = column.to_pylist()
    if pa.types.is_map(column.type):
        return [None if v is None else dict(v) for v in values]
    return list(values)


class ChdbExecutor:
    """Runs SQL on one chDB session; thread-safe (one statement at a time)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._session: Any = None
        self._closed = False

    def _get_session(self) -> Any:
        if self._closed:
            raise BackendError("this chDB executor is closed; create a new ChdbExecutor")
        if self._session is None:
            cls = _session_class()
            try:
                self._session = cls(self.path) if self.path else cls()
            except RuntimeError as exc:  # chDB's own type for a refused connection
                raise BackendError(
                    f"cannot open chDB at {self.path or '(temporary)'}: {exc}. chDB serves "
                    "one database path per process: close the other session first"
                ) from exc
        return self._session

    def __call__(self, sql: str) -> list[Row]:
        """The rows of one statement, as tuples of Python values."""
        table = self._query(sql, "ArrowTable")
        columns = [_column_values(col) for col in table.columns]
        return list(zip(*columns, strict=True))

    def raw(self, sql: str, fmt: str) -> bytes:
        """The engine's own output of `sql` in format `fmt` (a FORMAT clause in `sql` wins),
        e.g. for serving ClickHouse's HTTP interface in tests."""
        return bytes(self._query(sql, fmt).bytes())

    def _query(self, sql: str, fmt: str) -> Any:
        with self._lock:
            session = self._get_session()
            try:
                return session.query(sql, fmt)
            except Exception:
                # chDB 4.4 quirk: after a failed statement (e.g. a result over
                # max_result_bytes) the session's next result comes back empty once; a
                # throwaway statement takes that slot, so the next real query is whole.
                with contextlib.suppress(Exception):
                    session.query("SELECT 1", "ArrowTable")
                raise

    def execute(self, sql: str) -> None:
        """Run a statement for its effect (DDL, INSERT); errors become `BackendError`."""
        with self._lock:
            session = self._get_session()
            try:
                session.query(sql)
            except Exception as exc:  # chDB raises plain RuntimeError-like types
                short = " ".join(str(exc).split())[:400]
                raise BackendError(f"chDB rejected the statement: {short}") from exc

    def load_parquet_dir(self, directory: str | Path) -> dict[str, int]:
        """Create the project's tables and load each ``<table>.parquet`` found in `directory`.

        Returns the rows inserted per table (tables without a file are created empty and
        left out). Loading twice appends twice: the tables are MergeTree, not deduplicating.
        """
        root = Path(directory).resolve()
        if not root.is_dir():
            raise ConfigError(f"no directory {root}; run 'opsa demo --export clickhouse DIR'")
        for stmt in create_statements():
            self.execute(stmt)
        loaded: dict[str, int] = {}
        for table in TABLES:
            path = root / f"{table}.parquet"
            if not path.exists():
                continue
            before = self._count(table)
            quoted = str(path).replace("\\", "\\\\").replace("'", "\\'")
            self.execute(f"INSERT INTO `{table}` SELECT * FROM file('{quoted}', Parquet)")
            loaded[table] = self._count(table) - before
        return loaded

    def _count(self, table: str) -> int:
        rows = self(f"SELECT count() FROM `{table}`")
        return int(rows[0][0])

    def close(self) -> None:
        """Close the session (its files under `path` stay); later calls raise."""
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None
            self._closed = True

    def __enter__(self) -> ChdbExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
