"""Differential on the demo fleet: embedded DuckDB vs ClickHouse (chDB) over the same data.

The demo's last `DEMO_HOURS` hours (the same window `test_differential.py` gives
Prometheus) are copied table by table into chDB through Parquet, in the project's
ClickHouse layout. Every metric case of the Prometheus differential suite
(`differential.demo_cases()`) must return the same series at the same timestamps within
1e-9 relative, and a set of log and event queries built from the demo's catalog (not from
its scenario names) must return identical results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import differential
import pytest
from differential import DEMO_END, DEMO_HOURS, window_store
from test_clickhouse import _require_chdb

from assistant.ir import EventQuery, LogQuery, Query, TimeRange
from assistant.settings import load_settings
from connectors.base import Result
from connectors.clickhouse import ClickHouseConnector
from connectors.clickhouse.schema import export_parquet
from connectors.embedded.connector import EmbeddedConnector

HOUR = TimeRange(start=DEMO_END - timedelta(hours=1), end=DEMO_END)
WINDOW = TimeRange(start=DEMO_END - timedelta(hours=DEMO_HOURS), end=DEMO_END)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assistant.demo.seed import seed_demo

    root = tmp_path_factory.mktemp("ch-demo")
    settings = load_settings(data_dir=root / "demo", now=DEMO_END.isoformat())
    seed_demo(settings, scale=0.01, seed=42, progress=False)
    store = root / "window.duckdb"
    window_store(settings.store_path, store, DEMO_END - timedelta(hours=DEMO_HOURS))
    # window_store copies metrics only: logs, templates and events come whole
    import duckdb

    con = duckdb.connect(str(store))
    try:
        con.execute(f"ATTACH '{settings.store_path}' AS src (READ_ONLY)")
        for table in ("logs", "log_templates", "events"):
            con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    finally:
        con.close()
    return store


@pytest.fixture(scope="module")
def engines(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[EmbeddedConnector, ClickHouseConnector]]:
    _require_chdb()
    from connectors.clickhouse.chdb_executor import ChdbExecutor

    tmp = tmp_path_factory.mktemp("ch-demo-db")
    export_parquet(demo_store, tmp / "pq")
    ex = ChdbExecutor(str(tmp / "db"))
    ex.load_parquet_dir(tmp / "pq")
    emb = EmbeddedConnector(demo_store)
    yield emb, ClickHouseConnector(executor=ex)
    emb.close()
    ex.close()


@pytest.mark.parametrize("case", differential.demo_cases(), ids=lambda c: c.id)
def test_demo_metrics(
    case: differential.Case, engines: tuple[EmbeddedConnector, ClickHouseConnector]
) -> None:
    emb, ch = engines
    diff = differential.assert_same_series(emb.run(case.query), ch.run(case.query))
    assert diff.points > 0


def _log_event_queries(emb: EmbeddedConnector) -> dict[str, Query]:
    """Queries over whatever the catalog holds: the busiest service and host, each level."""
    cat = emb.catalog()
    busiest = emb.run(LogQuery(time_range=WINDOW, count_by="service", top_k=1)).rows[0]
    host = emb.run(LogQuery(time_range=WINDOW, count_by="host", top_k=1)).rows[0]
    service, host_name = str(busiest["value"]), str(host["value"])
    queries: dict[str, Query] = {
        "lines-newest": LogQuery(time_range=HOUR, limit=50),
        "lines-service-error": LogQuery(time_range=WINDOW, service=service, level="error"),
        "lines-host": LogQuery(time_range=HOUR, host=host_name, limit=30),
        "lines-text": LogQuery(time_range=WINDOW, text="timeout", limit=40),
        "lines-regex": LogQuery(time_range=WINDOW, pattern=r"\d{3,} ?ms", limit=40),
        "count-service": LogQuery(time_range=WINDOW, count_by="service"),
        "count-host-warn": LogQuery(time_range=WINDOW, count_by="host", level="warn"),
        "count-level": LogQuery(time_range=HOUR, count_by="level", service=service),
        "count-template": LogQuery(time_range=WINDOW, count_by="template", top_k=15),
        "count-template-errors": LogQuery(time_range=WINDOW, count_by="template",
                                          level="error", top_k=5),
        "buckets-5m": LogQuery(time_range=HOUR, bucket_s=300),
        "buckets-errors": LogQuery(time_range=WINDOW, bucket_s=600, level="error"),
        "events-window": EventQuery(time_range=WINDOW),
        "events-day": EventQuery(time_range=TimeRange(start=DEMO_END - timedelta(days=1),
                                                      end=DEMO_END), limit=100),
    }
    for kind in cat.event_kinds:
        queries[f"events-{kind}"] = EventQuery(
            time_range=TimeRange(start=DEMO_END - timedelta(days=1), end=DEMO_END),
            kinds=(kind,),
        )
    return queries


def _comparable(r: Result) -> dict[str, Any]:
    return r.model_dump(exclude={"connector", "native", "elapsed_ms"})


def test_demo_logs_and_events(engines: tuple[EmbeddedConnector, ClickHouseConnector]) -> None:
    emb, ch = engines
    queries = _log_event_queries(emb)
    assert len(queries) >= 15
    mismatched = [
        name for name, q in queries.items() if _comparable(emb.run(q)) != _comparable(ch.run(q))
    ]
    assert not mismatched
    answered = [name for name, q in queries.items() if emb.run(q).total]
    assert len(answered) >= len(queries) - 2  # the set is not trivially empty


QUESTIONS = (
    "which hosts had the highest cpu in the last 2 hours?",
    "p95 latency by service over the last hour",
    "how many error logs per service in the last 3 hours?",
    "top error messages in the last hour",
    "what alerts fired today?",
    "최근 1시간 동안 서비스별 요청 수는?",
)


def test_the_assistant_answers_the_same_from_either_engine(
    engines: tuple[EmbeddedConnector, ClickHouseConnector], tmp_path: Path
) -> None:
    """End to end: the same questions, embedded vs ClickHouse backend, the same answers."""
    from assistant.core import AskOptions, Assistant
    from assistant.services import Services

    answers: dict[str, list[str]] = {}
    for name, conn in zip(("embedded", "clickhouse"), engines, strict=True):
        services = Services(load_settings(data_dir=tmp_path / name, now=DEMO_END.isoformat()))
        services.__dict__["backend"] = conn
        services.__dict__["_retriever"] = None
        services.problems["retrieval"] = "retrieval is not configured in this test"
        bot = Assistant(services)
        answers[name] = []
        for question in QUESTIONS:
            ans = bot.ask(question, options=AskOptions(now=DEMO_END))
            assert ans.grounded and not ans.refused, (name, question, ans.answer)
            assert ans.queries and all(q.ok and q.connector == name for q in ans.queries), (
                name, question, [q.error for q in ans.queries])
            answers[name].append(ans.answer.replace(f"({name})", "(connector)"))
    for ch, em in zip(answers["clickhouse"], answers["embedded"], strict=True):
        assert _same_to_the_last_digit(ch, em), (ch, em)
    assert sum(any(ch.isdigit() for ch in a) for a in answers["embedded"]) >= 5


_NUMBER = re.compile(r"\d+(?:\.(\d+))?")


def _same_to_the_last_digit(a: str, b: str) -> bool:
    """The same text, and numbers equal to one unit of the last digit shown: the engines
    sum floats in different orders (both compensated), so a value right at a rounding
    boundary (355.35/s) may show as 355.3 on one and 355.4 on the other."""
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    for x, y in zip(_NUMBER.finditer(a), _NUMBER.finditer(b), strict=True):
        digits = max(len(x.group(1) or ""), len(y.group(1) or ""))
        if not digits and x.group(0) != y.group(0):
            return False  # counts, clock times: exact
        if abs(float(x.group(0)) - float(y.group(0))) > 1.01 * 10 ** -digits:
            return False
    return True


def test_logs_from_clickhouse_while_metrics_come_from_another_backend(
    engines: tuple[EmbeddedConnector, ClickHouseConnector], tmp_path: Path
) -> None:
    """`logs_backend`: the common scale-out shape (metrics in Prometheus, logs in
    ClickHouse); here the embedded store stands in for the metrics backend."""
    from assistant.core import AskOptions, Assistant
    from assistant.services import Services

    emb, ch = engines
    s = load_settings(data_dir=tmp_path, now=DEMO_END.isoformat(), logs_backend="clickhouse")
    services = Services(s)
    services.__dict__["backend"] = emb
    services.__dict__["logs_backend"] = ch
    services.__dict__["_retriever"] = None
    services.problems["retrieval"] = "retrieval is not configured in this test"
    assert services.connector_for(LogQuery(time_range=HOUR)) is ch
    assert services.connector_for(EventQuery(time_range=HOUR)) is emb
    bot = Assistant(services)
    logs = bot.ask("top error messages in the last hour", options=AskOptions(now=DEMO_END))
    cpu = bot.ask("which hosts had the highest cpu in the last hour?",
                  options=AskOptions(now=DEMO_END))
    assert {q.connector for q in logs.queries} == {"clickhouse"} and logs.grounded
    assert {q.connector for q in cpu.queries} == {"embedded"} and cpu.grounded
