"""Pipeline behaviour: idempotence, gzip, directories picked by content, bad paths, blocks."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from assistant.errors import IngestError
from assistant.ingest.pipeline import IngestFailed, IngestOptions, ingest_paths
from assistant.ingest.readers import InputFile, LineReader

FIX = Path(__file__).parent / "fixtures" / "ingest"


def _count(store: Path, table: str) -> int:
    con = duckdb.connect(str(store), read_only=True)
    try:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def test_reingesting_adds_nothing(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    files = [FIX / "log4j.log", FIX / "syslog_rfc3164.log", FIX / "nginx_access.log"]
    opts = IngestOptions(year=2024)
    first = ingest_paths(store, "logs", files, opts, progress=False)
    second = ingest_paths(store, "logs", files, opts, progress=False)
    assert first.rows_added == 3 + 6 + 4
    assert second.rows_added == 0
    assert second.rows_skipped_duplicate == first.rows_added
    assert _count(store, "logs") == first.rows_added
    assert _count(store, "ingested") == 6  # a log of runs: every file, every time


def test_gzip_is_read_and_dedupes_against_the_plain_copy(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    opts = IngestOptions(year=2024)
    gz = ingest_paths(store, "logs", [FIX / "syslog_rfc3164_copy.log.gz"], opts, progress=False)
    assert gz.rows_added == 6
    plain = ingest_paths(store, "logs", [FIX / "syslog_rfc3164.log"], opts, progress=False)
    assert plain.rows_added == 0 and plain.rows_skipped_duplicate == 6


def test_identical_lines_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "dups.log"
    line = "2024-01-01 00:00:00,000 ERROR disk full\n"
    path.write_text(line * 3 + "2024-01-01 00:00:01,000 INFO ok\n")
    store = tmp_path / "t.duckdb"
    first = ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    assert first.rows_added == 4
    path.write_text(line * 4 + "2024-01-01 00:00:01,000 INFO ok\n")  # one more duplicate
    second = ingest_paths(store, "logs", [path], IngestOptions(), progress=False)
    assert (second.rows_added, second.rows_skipped_duplicate) == (1, 4)


def test_directory_recursion_picks_files_by_content(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    (d / "nested").mkdir(parents=True)
    shutil.copy(FIX / "log4j.log", d / "app.txt")  # no .log suffix: content decides
    shutil.copy(FIX / "nginx_error.log", d / "nested" / "error")
    with gzip.open(d / "nested" / "old.gz", "wb") as f:
        f.write((FIX / "hdfs.log").read_bytes())
    shutil.copy(FIX / "garbage.log", d / "README")
    shutil.copy(FIX / "binary.dat", d / "image.gif")
    (d / ".hidden.log").write_text("2024-01-01 00:00:00 INFO hidden\n")
    store = tmp_path / "t.duckdb"
    report = ingest_paths(store, "logs", [d], IngestOptions(), progress=False)
    status = {Path(f.path).name: f.status for f in report.files}
    assert status == {
        "README": "skipped",
        "app.txt": "ok",
        "error": "ok",
        "image.gif": "skipped",
        "old.gz": "ok",
    }
    assert report.rows_added == 3 + 3 + 4
    skipped = {Path(f.path).name: f.reason for f in report.files if f.status == "skipped"}
    assert "binary" in (skipped["image.gif"] or "")


def test_directory_with_nothing_usable_fails(tmp_path: Path) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    shutil.copy(FIX / "garbage.log", d / "notes.txt")
    with pytest.raises(IngestFailed, match="no logs found"):
        ingest_paths(tmp_path / "t.duckdb", "logs", [d], IngestOptions(), progress=False)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"no such file or directory: .*nope\.log"):
        ingest_paths(
            tmp_path / "t.duckdb", "logs", [tmp_path / "nope.log"], IngestOptions(), progress=False
        )


def test_explicit_bad_file_fails_after_the_good_ones(tmp_path: Path) -> None:
    store = tmp_path / "t.duckdb"
    with pytest.raises(IngestFailed) as err:
        ingest_paths(
            store, "logs", [FIX / "garbage.log", FIX / "log4j.log"], IngestOptions(), progress=False
        )
    assert "garbage.log" in str(err.value) and "1 other file(s) were ingested" in str(err.value)
    assert _count(store, "logs") == 3  # the good file is in


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    data = gzip.compress(((FIX / "log4j.log").read_text() * 5000).encode())
    bad = tmp_path / "cut.log.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestFailed, match=r"cut\.log\.gz.*truncated or corrupt gzip") as err:
        ingest_paths(tmp_path / "t.duckdb", "logs", [bad], IngestOptions(), progress=False)
    assert err.value.report.files[0].status == "failed"
    kept = err.value.report.rows_added  # what was read before the damage is kept, and said
    assert kept == _count(tmp_path / "t.duckdb", "logs")


def test_line_reader_blocks_invalid_utf8_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    lines = [f"line {i} caf\xe9".encode("latin-1") for i in range(1000)]
    path.write_bytes(b"\r\n".join(lines) + b"\r\nlast line without newline")
    reader = LineReader(InputFile.of(path), block_bytes=1000)
    got = [s for block in reader for s in block.to_pylist()]
    assert len(got) == 1001
    assert got[0] == "line 0 caf\ufffd"
    assert got[-1] == "last line without newline"
    assert reader.lines == 1001


def test_small_batches_give_the_same_rows(tmp_path: Path) -> None:
    """Many writer flushes (batch of 2) store exactly what one flush stores."""
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    files = [FIX / "log4j.log", FIX / "python_logging.log", FIX / "app.jsonl"]
    ingest_paths(a, "logs", files, IngestOptions(batch_size=2), progress=False)
    ingest_paths(b, "logs", files, IngestOptions(), progress=False)
    q = "SELECT ts, level, message, line_hash FROM logs ORDER BY ALL"
    ca, cb = duckdb.connect(str(a), read_only=True), duckdb.connect(str(b), read_only=True)
    assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
    ca.close()
    cb.close()
