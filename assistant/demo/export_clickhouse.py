"""Export the embedded store for a ClickHouse server: DDL, one Parquet file per table, loader.

``opsa demo --export clickhouse DIR`` writes

* ``DIR/schema.sql``: ``CREATE TABLE IF NOT EXISTS`` for the project's six tables
  (`connectors.clickhouse.schema`), the layout the ClickHouse connector reads;
* ``DIR/<table>.parquet``: the rows of each table, columns in the same order as the DDL;
* ``DIR/load.sh``: creates the database and tables with ``clickhouse-client`` and inserts
  each file (``INSERT ... FROM INFILE ... FORMAT Parquet``). Connection settings come from
  ``CLICKHOUSE_HOST``, ``CLICKHOUSE_PORT``, ``CLICKHOUSE_USER``, ``CLICKHOUSE_PASSWORD``
  and ``CLICKHOUSE_DATABASE``. It refuses to append to tables that already hold rows unless
  ``CLICKHOUSE_REPLACE=1``, which empties them first.

It reads the embedded store read-only, so anything ingested (not only the demo) exports.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from connectors.clickhouse.schema import TABLES, ddl_script, export_parquet

SCHEMA_FILE = "schema.sql"
LOADER_FILE = "load.sh"


@dataclass(frozen=True)
class ClickHouseExport:
    """What was written, for the CLI's report."""

    path: Path
    tables: dict[str, int]
    files: list[Path]

    @property
    def next_step(self) -> str:
        return (
            f"CLICKHOUSE_HOST=... CLICKHOUSE_DATABASE=opsa bash {self.path / LOADER_FILE}, "
            "then set backend = \"clickhouse\" with [clickhouse] url/database in opsa.toml "
            "(logs and events)"
        )


def export_clickhouse(store: Path, out_dir: Path) -> ClickHouseExport:
    """Write schema.sql, one Parquet file per table and load.sh into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = export_parquet(store, out_dir, TABLES)
    schema_path = out_dir / SCHEMA_FILE
    schema_path.write_text(ddl_script(), encoding="utf-8")
    loader = out_dir / LOADER_FILE
    loader.write_text(load_script(TABLES), encoding="utf-8")
    loader.chmod(loader.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    files = [schema_path, *(out_dir / f"{t}.parquet" for t in TABLES), loader]
    return ClickHouseExport(path=out_dir, tables=counts, files=files)


_HEADER = """#!/usr/bin/env bash
# Load an Ops Assistant export into ClickHouse (written by `opsa demo --export clickhouse`).
#   CLICKHOUSE_HOST (localhost)  CLICKHOUSE_PORT (9000, native protocol)
#   CLICKHOUSE_USER (default)    CLICKHOUSE_PASSWORD (empty)
#   CLICKHOUSE_DATABASE (default; created if missing)
#   CLICKHOUSE_REPLACE=1 empties tables that already hold rows (else the script refuses)
#   CLICKHOUSE_CLIENT (clickhouse-client): the client command, e.g. "clickhouse client"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
db="${CLICKHOUSE_DATABASE:-default}"
if [[ ! "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "CLICKHOUSE_DATABASE must be a plain identifier, got: $db" >&2
  exit 2
fi
read -r -a client <<< "${CLICKHOUSE_CLIENT:-clickhouse-client}"
conn=(--host "${CLICKHOUSE_HOST:-localhost}" --port "${CLICKHOUSE_PORT:-9000}"
      --user "${CLICKHOUSE_USER:-default}")
if [[ -n "${CLICKHOUSE_PASSWORD:-}" ]]; then conn+=(--password "$CLICKHOUSE_PASSWORD"); fi
ch() { "${client[@]}" "${conn[@]}" "$@"; }
sql_path() { local p="$1"; p="${p//\\\\/\\\\\\\\}"; printf "%s" "${p//\\'/\\\\\\'}"; }

ch --query "CREATE DATABASE IF NOT EXISTS \\`$db\\`"
ch --database "$db" --multiquery < "$here/schema.sql"
"""

_TABLE = """
rows=$(ch --database "$db" --query "SELECT count() FROM \\`{t}\\`")
if [[ "$rows" != "0" ]]; then
  if [[ "${{CLICKHOUSE_REPLACE:-0}}" != "1" ]]; then
    echo "table $db.{t} already holds $rows rows; set CLICKHOUSE_REPLACE=1 to empty it" >&2
    exit 1
  fi
  ch --database "$db" --query "TRUNCATE TABLE \\`{t}\\`"
fi
file="$(sql_path "$here/{t}.parquet")"
ch --database "$db" --query "INSERT INTO \\`{t}\\` FROM INFILE '$file' FORMAT Parquet"
echo "{t}: $(ch --database "$db" --query "SELECT count() FROM \\`{t}\\`") rows"
"""

_FOOTER = """
echo "loaded into $db on ${CLICKHOUSE_HOST:-localhost}:${CLICKHOUSE_PORT:-9000}"
"""


def load_script(tables: tuple[str, ...]) -> str:
    """The bash loader for `tables` (each ``<table>.parquet`` beside the script)."""
    return _HEADER + "".join(_TABLE.format(t=t) for t in tables) + _FOOTER
