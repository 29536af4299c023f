"""The field catalog and the operations on a catalog field, on real LogHub logs, on both
engines, against values computed from the authors' `<System>_2k.log_structured.csv`.

Each log is ingested by `ingest_paths` (the code path of `opsa ingest logs`, which builds
the catalog); the store is also loaded into chDB, whose connector measures the catalog
itself. The expected values come from the CSV's ``Content`` column read with plain regular
expressions written here, not from the catalog's patterns. The data lives in
`../shared/data/loghub` (see `tests/shared_data.py`).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from servers import require_module

from assistant.ingest.pipeline import IngestOptions, ingest_paths
from assistant.ir import Extract, LogQuery, TimeRange, ValueFilter
from assistant.log_fields import TemplateField
from assistant.settings import ClickHouseLogTable
from connectors.base import Connector, Result
from connectors.clickhouse import ClickHouseConnector
from connectors.clickhouse.chdb_executor import ChdbExecutor
from connectors.clickhouse.schema import create_statements, export_parquet
from connectors.embedded.connector import EmbeddedConnector
from tests.shared_data import shared_data

EVERYTHING = TimeRange(start=datetime(2000, 1, 1, tzinfo=UTC),
                       end=datetime(2030, 1, 1, tzinfo=UTC))
Engines = tuple[EmbeddedConnector, ClickHouseConnector]


def _content(system: str) -> list[str]:
    path = shared_data("loghub", system, f"{system}_2k.log_structured.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["Content"] for row in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def chdb_ex(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbExecutor]:
    """One chDB session for the module (chDB serves one path per process); each system
    lives in a database of its own."""
    require_module("chdb", "chdb")
    ex = ChdbExecutor(str(tmp_path_factory.mktemp("chdb") / "db"))
    yield ex
    ex.close()


def _engines(system: str, tmp: Path, ex: ChdbExecutor) -> Iterator[Engines]:
    log = shared_data("loghub", system, f"{system}_2k.log")
    store = tmp / "telemetry.duckdb"
    ingest_paths(store, "logs", [log], IngestOptions(year=2017), progress=False)
    db = system.lower()
    export_parquet(store, tmp / "parquet", ("logs", "log_templates"))
    ex.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    for stmt in create_statements(db):
        ex.execute(stmt)
    for table in ("logs", "log_templates"):
        ex.execute(f"INSERT INTO {db}.{table} SELECT * FROM "
                   f"file('{tmp / 'parquet' / table}.parquet', Parquet)")
    emb = EmbeddedConnector(store)
    ch = ClickHouseConnector(
        executor=ex, events_table=None, series_table=f"{db}.series",
        samples_table=f"{db}.samples", metric_meta_table=f"{db}.metric_meta",
        logs=ClickHouseLogTable(table=f"{db}.logs", templates_table=f"{db}.log_templates"))
    yield emb, ch
    emb.close()


@pytest.fixture(scope="module")
def openstack(tmp_path_factory: pytest.TempPathFactory,
              chdb_ex: ChdbExecutor) -> Iterator[Engines]:
    yield from _engines("OpenStack", tmp_path_factory.mktemp("openstack"), chdb_ex)


@pytest.fixture(scope="module")
def proxifier(tmp_path_factory: pytest.TempPathFactory,
              chdb_ex: ChdbExecutor) -> Iterator[Engines]:
    yield from _engines("Proxifier", tmp_path_factory.mktemp("proxifier"), chdb_ex)


def _field(c: Connector, template: str, name: str) -> TemplateField:
    found = [f for f in c.log_fields() if f.template == template and f.name == name]
    assert len(found) == 1, [f.key for f in c.log_fields() if f.template == template]
    return found[0]


def _both(engines: Engines, q: LogQuery) -> Result:
    """The result on DuckDB, after checking chDB answers the same."""
    emb, ch = engines
    a, b = emb.run(q), ch.run(q)
    keep = {"connector", "native", "elapsed_ms"}
    assert b.model_dump(exclude=keep) == a.model_dump(exclude=keep)
    return a


def _top(values: list[str], k: int) -> list[tuple[str, int]]:
    return sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))[:k]


# OpenStack's API access lines: `10.11.10.1 "GET /v2/... HTTP/1.1" status: 200 len: 1893
# time: 0.2477829` (lines naming two clients, `a,b "GET ..."`, have a template of their own)
API = re.compile(r'([^\s,]+) "[^"]*" status: (\d+) len: (\d+) time: ([\d.]+)')
API_TEMPLATE = "<*> <*> status: <*> len: <*> time: <*>"


def test_openstack_catalog(openstack: Engines) -> None:
    emb, ch = openstack
    assert ch.log_fields() == emb.log_fields()
    rows = [m.groups() for c in _content("OpenStack") if (m := API.fullmatch(c))]
    status = _field(emb, API_TEMPLATE, "status")
    assert (status.type, status.lines, status.distinct) == (
        "number", len(rows), len({r[1] for r in rows}))
    assert status.examples == tuple(v for v, _ in _top([r[1] for r in rows], 3))
    client = next(f for f in emb.log_fields() if f.template == API_TEMPLATE and f.index == 0)
    assert (client.type, client.distinct) == ("ipv4", len({r[0] for r in rows}))
    assert _field(emb, API_TEMPLATE, "time").type == "number"


def test_openstack_field_operations(openstack: Engines) -> None:
    emb, _ = openstack
    rows = [m.groups() for c in _content("OpenStack") if (m := API.fullmatch(c))]
    key = _field(emb, API_TEMPLATE, "status").key
    top = _both(openstack, LogQuery(time_range=EVERYTHING, count_by="extracted", top_k=3,
                                    extract=Extract(kind="field", key=key)))
    assert [(r["value"], r["count"]) for r in top.rows] == _top([r[1] for r in rows], 3)
    assert top.total == len(rows)
    longest = _both(openstack, LogQuery(
        time_range=EVERYTHING, aggregate="max",
        extract=Extract(kind="field", key=_field(emb, API_TEMPLATE, "len").key)))
    assert longest.rows[0]["value"] == max(int(r[2]) for r in rows)
    assert longest.total == len(rows)
    fastest_slow = _both(openstack, LogQuery(
        time_range=EVERYTHING, aggregate="min",
        extract=Extract(kind="field", key=_field(emb, API_TEMPLATE, "time").key),
        value_filters=(ValueFilter(op=">", value=0.5),)))
    assert fastest_slow.rows[0]["value"] == min(float(r[3]) for r in rows if float(r[3]) > 0.5)
    not_ok = _both(openstack, LogQuery(
        time_range=EVERYTHING, extract=Extract(kind="field", key=key), limit=1000,
        value_filters=(ValueFilter(op="!=", value="200"),)))
    assert not_ok.total == sum(r[1] != "200" for r in rows)
    assert {ln.fields["status"] for ln in not_ok.logs} == {r[1] for r in rows} - {"200"}
    small = _both(openstack, LogQuery(
        time_range=EVERYTHING, busiest="day",
        extract=Extract(kind="field", key=_field(emb, API_TEMPLATE, "len").key),
        value_filters=(ValueFilter(op="<=", value=1000), ValueFilter(op="<", value=2000))))
    assert small.total == sum(int(r[2]) <= 1000 for r in rows)
    accepted = _both(openstack, LogQuery(
        time_range=EVERYTHING, count_by="extracted", aggregate="count_distinct",
        extract=Extract(kind="field", key=key), value_filters=(ValueFilter(op="=", value="202"),)))
    assert (accepted.total, accepted.groups) == (sum(r[1] == "202" for r in rows), 1)


# Proxifier's closed connections through the proxy, without KB figures.
CLOSED = re.compile(r"proxy\.cse\.cuhk\.edu\.hk:\d+ close, (\d+) bytes sent, (\d+) bytes "
                    r"received, lifetime \d+:\d+")
CLOSED_TEMPLATE = ("proxy.cse.cuhk.edu.hk:<*> close, <*> bytes sent, <*> bytes received, "
                   "lifetime <*>:<*>")


def test_proxifier_field_operations(proxifier: Engines) -> None:
    emb, ch = proxifier
    assert ch.log_fields() == emb.log_fields()
    rows = [(int(m.group(1)), int(m.group(2)))
            for c in _content("Proxifier") if (m := CLOSED.fullmatch(c))]
    sent = _field(emb, CLOSED_TEMPLATE, "bytes_sent")
    received = _field(emb, CLOSED_TEMPLATE, "bytes_received")
    assert (sent.type, sent.unit, sent.lines) == ("number", "bytes", len(rows))
    assert _field(emb, CLOSED_TEMPLATE, "port").examples == ("5070",)
    most = _both(proxifier, LogQuery(time_range=EVERYTHING, aggregate="max",
                                     extract=Extract(kind="field", key=sent.key)))
    assert (most.rows[0]["value"], most.unit) == (max(s for s, _ in rows), "bytes")
    big = _both(proxifier, LogQuery(
        time_range=EVERYTHING, count_by="extracted", aggregate="count_distinct",
        extract=Extract(kind="field", key=received.key),
        value_filters=(ValueFilter(op=">=", value=1000),)))
    assert (big.groups, big.total) == (len({r for _, r in rows if r >= 1000}),
                                       sum(r >= 1000 for _, r in rows))
    chosen = sorted({str(s) for s, _ in rows})[:2]
    picked = _both(proxifier, LogQuery(
        time_range=EVERYTHING, count_by="extracted", extract=Extract(kind="field", key=sent.key),
        value_filters=(ValueFilter(op="in", values=tuple(chosen)),
                       ValueFilter(op="regex", value=r"^\d+$"))))
    assert {r["value"]: r["count"] for r in picked.rows} == {
        v: n for v, n in Counter(str(s) for s, _ in rows).items() if v in chosen}
