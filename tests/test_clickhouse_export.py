"""`opsa demo --export clickhouse`: the DDL, the Parquet files and load.sh, on real ClickHouse.

A small demo fleet is seeded, exported, and loaded into chDB (embedded ClickHouse) with
`ChdbExecutor.load_parquet_dir`; row counts must equal the DuckDB store's, and the
ClickHouse connector must answer log and event queries with the embedded connector's
totals. `load.sh` itself runs against chDB through a `clickhouse-client` stand-in that
forwards each statement to chDB (the SQL and the Parquet reading are ClickHouse's own).

chDB-backed tests skip when chdb is not importable, and fail under OPSA_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from servers import require_module

from assistant.demo.export_clickhouse import ClickHouseExport, export_clickhouse
from assistant.errors import BackendError, ConfigError
from assistant.ir import EventQuery, LogQuery, TimeRange
from connectors.clickhouse import ClickHouseConnector
from connectors.clickhouse.chdb_executor import ChdbExecutor
from connectors.clickhouse.schema import COLUMNS, TABLES, create_statements, ddl_script
from connectors.embedded.connector import EmbeddedConnector
from connectors.embedded.schema import connect

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SCALE = 0.01
pytestmark = pytest.mark.slow  # seeds a demo fleet (~10 s)


def _require_chdb() -> None:
    require_module("chdb", "chdb")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assistant.demo.seed import seed_demo
    from assistant.settings import load_settings

    data = tmp_path_factory.mktemp("ch-export-demo")
    settings = load_settings(data_dir=data, now=NOW.isoformat())
    return seed_demo(settings, scale=SCALE, seed=42, progress=False).store_path


@pytest.fixture(scope="module")
def duck_counts(store: Path) -> dict[str, int]:
    con = connect(store, read_only=True)
    try:
        return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
                for t in TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module")
def exported(store: Path, tmp_path_factory: pytest.TempPathFactory) -> ClickHouseExport:
    return export_clickhouse(store, tmp_path_factory.mktemp("ch-export") / "out")


@pytest.fixture(scope="module")
def chdb_loaded(
    exported: ClickHouseExport, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ChdbExecutor, dict[str, int]]]:
    """A chDB database loaded from the export, and what `load_parquet_dir` reported."""
    _require_chdb()
    ex = ChdbExecutor(str(tmp_path_factory.mktemp("ch-export-db")))
    loaded = ex.load_parquet_dir(exported.path)
    yield ex, loaded
    ex.close()


@pytest.fixture(scope="module")
def chdb_exec(chdb_loaded: tuple[ChdbExecutor, dict[str, int]]) -> ChdbExecutor:
    return chdb_loaded[0]


# ------------------------------------------------------------------ DDL and files


def test_create_statements_cover_every_table_in_order() -> None:
    stmts = create_statements()
    assert [re.findall(r"EXISTS `(\w+)`", s) for s in stmts] == [[t] for t in TABLES]
    assert all(s.startswith("CREATE TABLE IF NOT EXISTS") for s in stmts)
    assert "`opsa`.`logs`" in create_statements("opsa")[TABLES.index("logs")]
    with pytest.raises(ConfigError, match="plain identifier"):
        create_statements("opsa; DROP TABLE logs")


def test_export_writes_schema_parquet_and_loader(
    exported: ClickHouseExport, duck_counts: dict[str, int]
) -> None:
    assert exported.tables == duck_counts
    assert all(n > 0 for n in duck_counts.values()), duck_counts
    names = sorted(f.name for f in exported.files)
    assert names == sorted(["schema.sql", "load.sh", *(f"{t}.parquet" for t in TABLES)])
    assert all(f.exists() and f.stat().st_size > 0 for f in exported.files)
    assert (exported.path / "schema.sql").read_text() == ddl_script()
    loader = exported.path / "load.sh"
    assert os.access(loader, os.X_OK)
    assert subprocess.run(["bash", "-n", str(loader)], check=False).returncode == 0
    text = loader.read_text()
    assert "set -euo pipefail" in text and "CLICKHOUSE_HOST" in text
    assert all("FROM INFILE '$file' FORMAT Parquet" in text and f"{t}.parquet" in text
               for t in TABLES)


def test_duckdb_columns_are_in_clickhouse_order(store: Path) -> None:
    con = connect(store, read_only=True)
    try:
        for table, cols in COLUMNS.items():
            names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert names == [c for c, _ in cols], table
    finally:
        con.close()


# ------------------------------------------------------------------ on chDB


def test_schema_sql_runs_on_chdb(chdb_exec: ChdbExecutor, exported: ClickHouseExport) -> None:
    chdb_exec.execute("CREATE DATABASE IF NOT EXISTS schema_check")
    script = (exported.path / "schema.sql").read_text()
    chdb_exec.execute("USE schema_check;\n" + script)
    chdb_exec.execute("USE default")
    rows = chdb_exec(
        "SELECT table, name, type FROM system.columns WHERE database = 'schema_check' "
        "ORDER BY table, position"
    )
    got: dict[str, list[tuple[str, str]]] = {}
    for table, name, typ in rows:
        got.setdefault(table, []).append((name, typ))
    want = {t: [(n, re.sub(r"\s+CODEC\(.*\)$", "", typ)) for n, typ in cols]
            for t, cols in COLUMNS.items()}
    assert got == want
    keys: dict[str, str] = dict(chdb_exec(
        "SELECT name, sorting_key FROM system.tables WHERE database = 'schema_check'"
    ))
    assert keys["samples"] == "series_id, ts" and keys["logs"] == "ts"


def test_loaded_row_counts_equal_duckdb(
    chdb_loaded: tuple[ChdbExecutor, dict[str, int]], duck_counts: dict[str, int]
) -> None:
    chdb_exec, loaded = chdb_loaded
    assert loaded == duck_counts
    for table, n in duck_counts.items():
        assert chdb_exec(f"SELECT count() FROM {table}") == [(n,)]


def test_loaded_values_survive_the_trip(chdb_exec: ChdbExecutor, store: Path) -> None:
    """Timestamps stay UTC to the microsecond; labels stay a map; sums agree."""
    con = connect(store, read_only=True)
    try:
        duck = con.execute(
            "SELECT min(ts), max(ts), count(DISTINCT line_hash), sum(level_num) FROM logs"
        ).fetchone()
        labels = con.execute(
            "SELECT labels FROM series ORDER BY series_id LIMIT 1"
        ).fetchone()
        vsum = con.execute("SELECT sum(value) FROM samples").fetchone()
        first = con.execute(
            "SELECT series_id, ts, value FROM samples ORDER BY series_id, ts LIMIT 2000"
        ).fetchall()
    finally:
        con.close()
    assert duck is not None and labels is not None and vsum is not None
    (lo, hi, distinct, levels), = chdb_exec(
        "SELECT min(ts), max(ts), uniqExact(line_hash), sum(level_num) FROM logs"
    )
    assert (lo, hi) == (duck[0].replace(tzinfo=UTC), duck[1].replace(tzinfo=UTC))
    assert (distinct, levels) == (duck[2], duck[3])
    assert chdb_exec("SELECT labels FROM series ORDER BY series_id LIMIT 1") == [
        (dict(labels[0]),)
    ]
    (ch_sum,), = chdb_exec("SELECT sum(value) FROM samples")
    assert ch_sum == pytest.approx(vsum[0], rel=1e-9)  # summation order differs
    assert chdb_exec(
        "SELECT series_id, ts, value FROM samples ORDER BY series_id, ts LIMIT 2000"
    ) == [(sid, ts.replace(tzinfo=UTC), v) for sid, ts, v in first]


def _queries() -> dict[str, LogQuery | EventQuery]:
    day = TimeRange(start=NOW - timedelta(hours=24), end=NOW)
    six = TimeRange(start=NOW - timedelta(hours=6), end=NOW)
    return {
        "lines-6h": LogQuery(time_range=six, limit=20),
        "errors-checkout": LogQuery(time_range=day, service="checkout", level="error"),
        "text-timeout": LogQuery(time_range=day, text="timeout", limit=5),
        "count-by-service": LogQuery(time_range=day, count_by="service"),
        "count-by-level": LogQuery(time_range=six, count_by="level", level="warn"),
        "events-day": EventQuery(time_range=day, limit=1000),
        "alerts-day": EventQuery(time_range=day, kinds=("alert",)),
    }


@pytest.mark.parametrize("qid", list(_queries()))
def test_connector_on_export_answers_like_embedded(
    qid: str, chdb_exec: ChdbExecutor, store: Path
) -> None:
    query = _queries()[qid]
    emb = EmbeddedConnector(store)
    try:
        want = emb.run(query)
    finally:
        emb.close()
    got = ClickHouseConnector(executor=chdb_exec).run(query)
    assert want.total is not None and want.total > 0, qid
    assert got.total == want.total
    assert got.rows == want.rows
    assert [ln.message for ln in got.logs] == [ln.message for ln in want.logs]
    assert [e.id for e in got.events] == [e.id for e in want.events]


# ------------------------------------------------------------------ load.sh


SHIM = r'''
"""clickhouse-client stand-in: runs --query / stdin on chDB at $CHDB_SHIM_PATH."""
import sys
from chdb import session

args, query, database = sys.argv[1:], None, None
i = 0
while i < len(args):
    a = args[i]
    if a in ("--host", "--port", "--user", "--password"):
        i += 2
        continue
    if a == "--database":
        database = args[i + 1]; i += 2; continue
    if a == "--query":
        query = args[i + 1]; i += 2; continue
    if a == "--multiquery":
        i += 1; continue
    sys.exit(f"shim: unexpected argument {a!r}")
if query is None:
    query = sys.stdin.read()
import os
sess = session.Session(os.environ["CHDB_SHIM_PATH"])
try:
    if database:
        query = f"USE `{database}`;\n{query}"
    out = sess.query(query, "TabSeparated")
    sys.stdout.write(out.bytes().decode())
except Exception as exc:
    sys.exit(f"shim: {exc}")
finally:
    sess.close()
'''


def test_load_sh_loads_into_clickhouse(
    exported: ClickHouseExport, duck_counts: dict[str, int], tmp_path: Path
) -> None:
    _require_chdb()
    shim = tmp_path / "client.py"
    shim.write_text(SHIM)
    env = {**os.environ, "CLICKHOUSE_CLIENT": f"{sys.executable} {shim}",
           "CHDB_SHIM_PATH": str(tmp_path / "db"), "CLICKHOUSE_DATABASE": "opsa",
           "CLICKHOUSE_HOST": "127.0.0.1"}
    loader = str(exported.path / "load.sh")
    done = subprocess.run(["bash", loader], env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    counts = dict(re.findall(r"^(\w+): (\d+) rows$", done.stdout, re.MULTILINE))
    assert {t: int(n) for t, n in counts.items()} == duck_counts
    again = subprocess.run(["bash", loader], env=env, capture_output=True, text=True,
                           check=False, timeout=120)
    assert again.returncode == 1
    assert "already holds" in again.stderr and "CLICKHOUSE_REPLACE=1" in again.stderr


def test_cli_export_json(tmp_path: Path) -> None:
    """`opsa demo --export clickhouse DIR --json` reports the tables and the next step."""
    from typer.testing import CliRunner

    from assistant.cli import app

    out_dir = tmp_path / "ch"
    res = CliRunner().invoke(app, [
        "--data-dir", str(tmp_path / "data"), "--now", NOW.isoformat(), "demo", "--scale",
        "0.005", "--no-index", "--no-answer", "--json", "--export", "clickhouse", str(out_dir),
    ])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)["export"]
    assert out["format"] == "clickhouse" and out["path"] == str(out_dir)
    assert set(out["tables"]) == set(TABLES) and out["tables"]["logs"] > 0
    assert "load.sh" in out["next_step"]
    assert all(Path(f).exists() for f in out["files"])


def test_cli_rejects_an_unknown_format(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "demo", "--no-index",
                                   "--no-answer", "--export", "clickhose", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert "clickhouse" in res.output and "openmetrics" in res.output


# ------------------------------------------------------------------ ChdbExecutor edges


def test_executor_without_chdb_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chdb", None)  # makes `import chdb` fail
    with pytest.raises(ConfigError, match="pip install chdb"):
        ChdbExecutor()("SELECT 1")


def test_executor_refuses_a_second_path_and_use_after_close(
    chdb_exec: ChdbExecutor, tmp_path: Path
) -> None:
    other = ChdbExecutor(str(tmp_path / "other"))
    with pytest.raises(BackendError, match="one database path per process"):
        other("SELECT 1")
    other.close()
    with pytest.raises(BackendError, match="closed"):
        other("SELECT 1")
    assert chdb_exec("SELECT 1 + 1") == [(2,)]  # the open session is unharmed
    with pytest.raises(ConfigError, match="no directory"):
        chdb_exec.load_parquet_dir(tmp_path / "missing")
