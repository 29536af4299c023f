"""All 10 LogHub systems ingest with their own timestamps, hosts, components and levels.

Each `<System>_2k.log` is ingested into a fresh store by `ingest_paths` (the code path of
`opsa ingest logs`) and compared with the authors' `<System>_2k.log_structured.csv`, read
here with plain csv code. Documented normalisations:

* levels are stored normalised: `I`/`Info`/`INFO` -> info, `W`/`WARNING` -> warn, `D` ->
  debug, `V` (verbose) -> trace, `E`/`ERROR`/`SEVERE` -> error, `FATAL` -> fatal; the
  log's own word is kept in `attrs.level_word` where it is more than a spelling of the
  normalised level (`SEVERE`, `W`, `WARNING`; not `INFO`);
* a syslog program tag is one to four words without a colon; where the authors' parser
  took kernel message text up to the first colon as the component (`scsi0 `,
  `audit(1131538222.234:0)`, `checking TSC synchronization across 4 CPUs`), the line has
  no program;
* year-less timestamps (Android, Mac, Proxifier) get the year the ingest report names
  (the file's modification time, as no `--year` is given); Thunderbird's `Nov 9` takes the
  year of the line's own `2005.11.09`; HPC has only an epoch, read as UTC.

The data lives in `../shared/data/loghub` (not in the repo): missing, the tests fail in CI
and skip elsewhere.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from assistant.ingest.pipeline import IngestOptions, IngestReport, ingest_paths
from tests.shared_data import shared_data

SYSTEMS = (
    "Android",
    "BGL",
    "HPC",
    "HealthApp",
    "Mac",
    "OpenStack",
    "Proxifier",
    "Spark",
    "Thunderbird",
    "Windows",
)
LEVELS = {
    "V": "trace",
    "D": "debug",
    "I": "info",
    "INFO": "info",
    "W": "warn",
    "WARNING": "warn",
    "E": "error",
    "ERROR": "error",
    "SEVERE": "error",
    "FATAL": "fatal",
}
HOST_COLUMN = {"BGL": "Node", "HPC": "Node", "Mac": "User", "Thunderbird": "User"}
COMPONENT_COLUMN = {"Proxifier": "Program"}
PID_COLUMN = {
    "Android": "Pid",
    "HealthApp": "Pid",
    "Mac": "PID",
    "OpenStack": "Pid",
    "Thunderbird": "PID",
}
YEARLESS = {"Android", "Mac", "Proxifier"}

Row = dict[str, str]


def _data(system: str) -> Path:
    return shared_data("loghub", system, f"{system}_2k.log").parent


def _structured(system: str) -> list[Row]:
    path = _data(system) / f"{system}_2k.log_structured.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _sec(text: str, fmt: str) -> datetime:
    return datetime.strptime(text, fmt)


# the wall clock of each line, from the authors' columns (year-less ones get `year`)
EXPECTED_TS: dict[str, Callable[[Row, int], datetime]] = {
    "Android": lambda r, y: _sec(f"{y}-{r['Date']} {r['Time'][:8]}", "%Y-%m-%d %H:%M:%S"),
    "BGL": lambda r, y: _sec(r["Time"][:19], "%Y-%m-%d-%H.%M.%S"),
    "HPC": lambda r, y: datetime.fromtimestamp(int(r["Time"]), UTC).replace(tzinfo=None),
    "HealthApp": lambda r, y: _sec(r["Time"].rsplit(":", 1)[0], "%Y%m%d-%H:%M:%S"),
    "Mac": lambda r, y: _sec(f"{y} {r['Month']} {r['Date']} {r['Time']}", "%Y %b %d %H:%M:%S"),
    "OpenStack": lambda r, y: _sec(f"{r['Date']} {r['Time'][:8]}", "%Y-%m-%d %H:%M:%S"),
    "Proxifier": lambda r, y: _sec(f"{y}.{r['Time']}", "%Y.%m.%d %H:%M:%S"),
    "Spark": lambda r, y: _sec(f"{r['Date']} {r['Time']}", "%y/%m/%d %H:%M:%S"),
    "Thunderbird": lambda r, y: _sec(
        f"{r['Date'][:4]} {r['Month']} {r['Day']} {r['Time']}", "%Y %b %d %H:%M:%S"
    ),
    "Windows": lambda r, y: _sec(f"{r['Date']} {r['Time']}", "%Y-%m-%d %H:%M:%S"),
}


def _component(system: str, row: Row) -> str | None:
    value = row[COMPONENT_COLUMN.get(system, "Component")]
    if system in ("Thunderbird", "Mac") and (
        ":" in value or value != value.strip() or len(value.split()) > 4
    ):
        return None  # message text, not a program tag (see the module docstring)
    return value or None


def _ingest(tmp_path: Path, system: str, **opts: Any) -> tuple[IngestReport, list[dict[str, Any]]]:
    store = tmp_path / "t.duckdb"
    log = _data(system) / f"{system}_2k.log"
    report = ingest_paths(store, "logs", [log], IngestOptions(**opts), progress=False)
    con = duckdb.connect(str(store), read_only=True)
    try:
        cur = con.execute("SELECT ts, host, service, level, attrs FROM logs")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    return report, rows


def _assumed_year(report: IngestReport, system: str) -> int:
    notes = report.files[0].notes
    if system not in YEARLESS:
        assert not notes
        return 0
    note = next(n for n in notes if "modification time" in n)
    found = re.search(r"year (\d{4})", note)
    assert found is not None
    mtime = datetime.fromtimestamp((_data(system) / f"{system}_2k.log").stat().st_mtime)
    year = int(found.group(1))
    assert year in (mtime.year, mtime.year - 1)
    return year


@pytest.mark.parametrize("system", SYSTEMS)
def test_loghub_system_matches_structured_csv(tmp_path: Path, system: str) -> None:
    expected = _structured(system)
    report, rows = _ingest(tmp_path, system, timezone="UTC")
    fr = report.files[0]
    assert fr.status == "ok", fr.reason
    assert (fr.lines, fr.rows_added, fr.parsed_lines, fr.raw_lines) == (2000, 2000, 2000, 0)
    assert len(rows) == len(expected) == 2000

    year = _assumed_year(report, system)
    want_ts = [EXPECTED_TS[system](r, year) for r in expected]
    got_ts = sorted(r["ts"].replace(microsecond=0) for r in rows)
    assert got_ts == sorted(want_ts)
    assert (got_ts[0], got_ts[-1]) == (min(want_ts), max(want_ts))

    if "Level" in expected[0]:
        want_levels = Counter(LEVELS[r["Level"].upper()] for r in expected)
        assert Counter(r["level"] for r in rows) == want_levels
        # the log's own word where it is more than a spelling of the normalised level
        want_words = Counter(r["Level"] if r["Level"].lower() != LEVELS[r["Level"].upper()]
                             else None for r in expected)
        got_words = Counter(json.loads(r["attrs"] or "{}").get("level_word") for r in rows)
        assert got_words == want_words
    if system in HOST_COLUMN:
        want_hosts = Counter(r[HOST_COLUMN[system]] for r in expected)
        assert Counter(r["host"] for r in rows) == want_hosts
    want_components = Counter(_component(system, r) for r in expected)
    assert Counter(r["service"] for r in rows) == want_components
    if system in PID_COLUMN:
        want_pids = Counter(r[PID_COLUMN[system]] or None for r in expected)
        got_pids = Counter(json.loads(r["attrs"] or "{}").get("pid") for r in rows)
        assert got_pids == want_pids


def test_first_and_last_lines_keep_their_own_clock(tmp_path: Path) -> None:
    """BGL and Thunderbird carry an epoch and a written time: the written one is stored."""
    for system in ("BGL", "Thunderbird"):
        expected = _structured(system)
        _, rows = _ingest(tmp_path / system, system)
        stored = {r["ts"].replace(microsecond=0) for r in rows}
        for r in (expected[0], expected[-1]):
            assert EXPECTED_TS[system](r, 0) in stored


def test_year_option_overrides_the_file_time(tmp_path: Path) -> None:
    report, rows = _ingest(tmp_path, "Android", year=2017)
    assert {r["ts"].year for r in rows} == {2017}
    assert any("--year" in n for n in report.files[0].notes)
