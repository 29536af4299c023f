"""Disk full in the middle of an ingest (simulated): one line, exit 1, the store consistent.

The writer's insert of a chosen batch raises what a full disk raises (``OSError`` ENOSPC from
Python code, ``duckdb.IOException`` "No space left on device" from DuckDB). The file being
written is rolled back whole, the files before it stay, the store opens and answers, and a
re-run once space is back stores the file fully with no duplicates.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.ingest.pipeline import IngestOptions, StoreFull, ingest_paths
from assistant.ingest.writer import StoreWriter, disk_full

runner = CliRunner()

FAULTS: dict[str, Callable[[], BaseException]] = {
    "oserror": lambda: OSError(errno.ENOSPC, "No space left on device"),
    "duckdb": lambda: duckdb.IOException(
        'IO Error: Could not write file "telemetry.duckdb.wal": No space left on device'
    ),
}


class DiskFills:
    """Make the `nth` (1-based) insert of the buffer named `table` fail as a full disk."""

    def __init__(self, table: str, nth: int, fault: Callable[[], BaseException]) -> None:
        self.table, self.nth, self.fault, self.seen = table, nth, fault, 0
        self.real = StoreWriter._registered

    def method(self) -> Callable[[StoreWriter, str, pa.Table], Any]:
        return lambda w, name, table: self(w, name, table)

    def __call__(self, w: StoreWriter, name: str, table: pa.Table) -> Any:
        if name == self.table:
            self.seen += 1
            if self.seen == self.nth:
                raise self.fault()
        return self.real(w, name, table)


@pytest.fixture
def fill_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[..., DiskFills]:
    def install(table: str, nth: int, fault: str = "oserror") -> DiskFills:
        hook = DiskFills(table, nth, FAULTS[fault])
        monkeypatch.setattr(StoreWriter, "_registered", hook.method())
        return hook

    return install


def _logs(tmp_path: Path) -> list[Path]:
    files = []
    for i, svc in enumerate(("api", "db", "web")):
        path = tmp_path / f"{svc}.log"
        path.write_text("".join(
            f"2024-03-0{i + 1} 10:{m:02d}:00,000 {'ERROR' if m % 3 == 0 else 'INFO'} "
            f"[{svc}] request {m} took {m * 7} ms\n"
            for m in range(10)
        ) + f"2024-03-0{i + 1} 10:59:00,000 ERROR [{svc}] request 0 took 0 ms\n" * 2)
        files.append(path)
    return files


def _q(store: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


LOG_ROWS = ("SELECT ts, service, level, message, template_id, source, line_hash FROM logs "
            "ORDER BY ALL")


def _consistent(store: Path) -> None:
    """Every stored row's template and series exists; nothing is stored twice."""
    assert _q(store, "SELECT count(*) FROM logs WHERE template_id NOT IN "
                     "(SELECT template_id FROM log_templates)") == [(0,)]
    assert _q(store, "SELECT count(*) FROM samples WHERE series_id NOT IN "
                     "(SELECT series_id FROM series)") == [(0,)]
    assert _q(store, "SELECT count(*) - count(DISTINCT line_hash) FROM logs") == [(0,)]
    assert _q(store, "SELECT count(*) - count(DISTINCT (series_id, ts)) FROM samples") == [(0,)]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_cli_disk_full_mid_file_then_rerun(
    tmp_path: Path, fill_disk: Callable[..., DiskFills], fault: str
) -> None:
    files = _logs(tmp_path)
    data = tmp_path / "data"
    store = data / "telemetry.duckdb"
    args = ["--data-dir", str(data), "ingest", "logs", *map(str, files), "--batch-size", "4",
            "--service", "api"]
    # a file is written in 2 inserts (11 entries, then the last one held back by the
    # parser): the 4th insert is the 2nd batch of the 2nd file
    hook = fill_disk("_opsa_logs", 4, fault)
    res = runner.invoke(app, args)
    assert hook.seen == 4
    assert res.exit_code == 1
    err_lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(err_lines) == 1, res.stderr
    line = err_lines[0]
    assert line.startswith("error: the disk holding the telemetry store")
    assert "is full (No space left on device)" in line
    assert f"nothing from {files[1]} was kept" in line
    assert "1 earlier file(s) were ingested" in line and "1 file(s) after it were not read" in line
    assert "Traceback" not in res.stdout + res.stderr

    # all or nothing per file: the first file whole, nothing of the second or third
    by_source = dict(_q(store, "SELECT source, count(*) FROM logs GROUP BY source"))
    assert by_source == {str(files[0]): 12}
    assert [r[0] for r in _q(store, "SELECT path FROM ingested")] == [str(files[0])]
    _consistent(store)
    # the store opens and answers
    res = runner.invoke(app, ["--data-dir", str(data), "catalog", "--json"])
    assert res.exit_code == 0, res.stderr
    assert "api" in res.stdout

    # space is back: the same command stores the rest, once
    hook.nth = -1
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    assert [(f["rows_added"], f["rows_duplicate"]) for f in report["files"]] == [
        (0, 12), (12, 0), (12, 0)]
    _consistent(store)
    clean = tmp_path / "clean.duckdb"
    ingest_paths(clean, "logs", files, IngestOptions(service="api"), progress=False)
    assert _q(store, LOG_ROWS) == _q(clean, LOG_ROWS)
    assert _q(store, "SELECT * FROM log_templates ORDER BY 1") == _q(
        clean, "SELECT * FROM log_templates ORDER BY 1")


def _prom(tmp_path: Path, n_files: int = 2) -> list[Path]:
    files = []
    for f in range(n_files):
        path = tmp_path / f"m{f}.prom"
        path.write_text("# TYPE cpu_seconds counter\n" + "".join(
            f'cpu_seconds{{host="h{f}",core="{c}"}} {c * 10 + f} {1700000000000 + c * 1000}\n'
            for c in range(8)
        ))
        files.append(path)
    return files


def test_metrics_disk_full_mid_file(tmp_path: Path, fill_disk: Callable[..., DiskFills]) -> None:
    files = _prom(tmp_path, 3)
    store = tmp_path / "t.duckdb"
    opts = IngestOptions(batch_size=3)
    hook = fill_disk("_opsa_samples", 5, "duckdb")  # 8 samples a file: 3 inserts; #5 is file 2's
    with pytest.raises(StoreFull) as err:
        ingest_paths(store, "metrics", files, opts, progress=False)
    assert "No space left on device" in str(err.value)
    assert [f.status for f in err.value.report.files] == ["ok", "failed"]
    assert err.value.report.files[1].rows_added == 0
    assert _q(store, "SELECT count(*) FROM samples") == [(8,)]
    assert _q(store, "SELECT count(*) FROM series") == [(8,)]  # file 2's series rolled back
    _consistent(store)
    hook.nth = -1
    again = ingest_paths(store, "metrics", files, opts, progress=False)
    assert [f.rows_added for f in again.files] == [0, 8, 8]
    assert _q(store, "SELECT count(*) FROM samples") == [(24,)]
    assert _q(store, "SELECT count(*) FROM series") == [(24,)]
    _consistent(store)


def test_events_disk_full(tmp_path: Path, fill_disk: Callable[..., DiskFills]) -> None:
    files = []
    for f in range(2):
        path = tmp_path / f"ev{f}.jsonl"
        path.write_text("".join(json.dumps({
            "id": f"e{f}-{i}", "ts": f"2024-03-01T10:{i:02d}:00Z", "kind": "deploy",
            "service": "api", "title": f"deploy {f}.{i}"}) + "\n" for i in range(5)))
        files.append(path)
    store = tmp_path / "t.duckdb"
    hook = fill_disk("_opsa_events", 2)
    with pytest.raises(StoreFull):
        ingest_paths(store, "events", files, IngestOptions(), progress=False)
    assert _q(store, "SELECT count(*) FROM events") == [(5,)]
    hook.nth = -1
    again = ingest_paths(store, "events", files, IngestOptions(), progress=False)
    assert [(f.rows_added, f.rows_duplicate) for f in again.files] == [(0, 5), (5, 0)]
    assert _q(store, "SELECT count(*), count(DISTINCT id) FROM events") == [(10, 10)]


def test_other_errors_are_not_disk_full() -> None:
    assert disk_full(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device"
    assert disk_full(OSError(errno.EDQUOT, "Disk quota exceeded")) == "Disk quota exceeded"
    assert disk_full(duckdb.IOException("Could not write: No space left on device"))
    assert disk_full(OSError(errno.EACCES, "Permission denied")) is None
    assert disk_full(RuntimeError("boom")) is None
    try:  # an error raised while handling a full disk (e.g. in a finally) still counts
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise duckdb.FatalException("database has been invalidated") from None
    except duckdb.Error as exc:
        assert disk_full(exc) is None  # `from None` hides it on purpose
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise duckdb.FatalException("database has been invalidated")  # noqa: B904
    except duckdb.Error as exc:
        assert disk_full(exc) == "No space left on device"


def test_an_ordinary_failure_mid_file_also_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any error mid-file (here a bug) rolls the file back; earlier files stay."""
    files = _logs(tmp_path)
    store = tmp_path / "t.duckdb"
    hook = DiskFills("_opsa_logs", 4, lambda: RuntimeError("bug"))
    monkeypatch.setattr(StoreWriter, "_registered", hook.method())
    with pytest.raises(RuntimeError):
        ingest_paths(store, "logs", files, IngestOptions(batch_size=4), progress=False)
    assert dict(_q(store, "SELECT source, count(*) FROM logs GROUP BY source")) == {
        str(files[0]): 12}
    _consistent(store)
