"""Differential test: the same IR on the embedded engine, Prometheus 2.42 and VictoriaMetrics.

Tolerances
----------
* embedded vs Prometheus: **exact** semantics. The same series (label sets), the same
  evaluation timestamps, and every value within 1e-9 relative (or 1e-9 absolute): only
  float summation order may differ. This covers rate/increase/delta extrapolation, counter
  resets, inclusive ``[t-w, t]`` windows, the 5 minute lookback and staleness,
  histogram_quantile and topk/bottomk per step. One allowance: on an *exact tie* at the
  k-th value, topk/bottomk may keep a different series (Prometheus' pick follows its heap
  and the storage order of series; the embedded engine's the series id); every such point
  is checked to be a tie (`differential.untied`).
* VictoriaMetrics vs Prometheus, by query class (`differential.VM_RULES`):
  ``exact`` (raw samples and their aggregations): 1e-9, on the points both return;
  ``window`` (``*_over_time``): exact against Prometheus at window ``w-1s``, because
  VictoriaMetrics' windows are ``(t-w, t]``; ``extrapolated`` (rate, increase,
  histogram_quantile): the same series and mean ``|value|`` within 10 %, because
  VictoriaMetrics does not extrapolate; ``unmatched``: must answer, values not compared.

Data: `promdata` (a 2 h fixture with resets, a stale series and scrape offsets, so
extrapolation is exercised) and the demo fleet's last `differential.DEMO_HOURS` hours
(samples on a 15 s grid; a few cases skew their windows off the grid). The demo cases
are marked slow: they seed the demo and load it into both servers (~20 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from differential import (
    DEMO_END,
    DEMO_HOURS,
    FIXTURE_META,
    Case,
    check_embedded,
    check_victoria,
    demo_cases,
    fixture_cases,
    operation_cases,
    window_store,
    write_store,
)
from promdata import END as FIXTURE_END
from promdata import dataset
from servers import ServerPool

from assistant.ir import Binary, Matcher, MetricOperand, MetricQuery, TimeRange
from assistant.settings import PrometheusSettings, load_settings
from connectors.base import Connector, Result
from connectors.embedded.connector import EmbeddedConnector
from connectors.prometheus import PrometheusConnector

pytestmark = pytest.mark.server


@dataclass
class Engines:
    embedded: Connector
    prometheus: Connector
    victoria: Connector

    def close(self) -> None:
        for c in (self.embedded, self.prometheus, self.victoria):
            c.close()


def _prom(url: str) -> PrometheusConnector:
    return PrometheusConnector(PrometheusSettings(url=url, timeout_s=30, max_series=5000))


@pytest.fixture(scope="module")
def fixture_engines(
    tmp_path_factory: pytest.TempPathFactory, server_pool: ServerPool
) -> Iterator[Engines]:
    store = tmp_path_factory.mktemp("diff-fixture") / "telemetry.duckdb"
    write_store(store, dataset(), FIXTURE_META)
    engines = Engines(
        EmbeddedConnector(store),
        _prom(server_pool.prometheus("small", dataset)),
        _prom(server_pool.victoria("small", dataset)),
    )
    yield engines
    engines.close()


def build_demo_store(root: Path) -> Path:
    """The demo fleet's last DEMO_HOURS hours in their own store, plus both exports."""
    from assistant.demo.export import export_metrics
    from assistant.demo.seed import seed_demo

    settings = load_settings(data_dir=root / "demo", now=DEMO_END.isoformat())
    seed_demo(settings, scale=0.01, seed=42, progress=False)
    store = root / "window.duckdb"
    window_store(settings.store_path, store, DEMO_END - timedelta(hours=DEMO_HOURS))
    export_metrics(store, "openmetrics", root / "demo.om")
    export_metrics(store, "prometheus-text", root / "demo.prom")
    return store


@pytest.fixture(scope="module")
def demo_engines(
    tmp_path_factory: pytest.TempPathFactory, server_pool: ServerPool
) -> Iterator[Engines]:
    root = tmp_path_factory.mktemp("diff-demo")
    store = build_demo_store(root)
    engines = Engines(
        EmbeddedConnector(store),
        _prom(server_pool.prometheus("demo", root / "demo.om")),
        _prom(server_pool.victoria("demo", root / "demo.prom")),
    )
    yield engines
    engines.close()


def _run(engines: Engines, case: Case) -> tuple[Result, Result, Result]:
    q = case.query
    return engines.embedded.run(q), engines.prometheus.run(q), engines.victoria.run(q)


def _check(engines: Engines, case: Case) -> None:
    emb, prom, vm = _run(engines, case)
    assert prom.series, f"{case.id}: Prometheus returned nothing; the case tests nothing"
    assert not prom.truncated and not emb.truncated
    v = check_embedded(case, emb, prom, engines.prometheus)
    assert v.ok, f"{case.id}: embedded vs prometheus: {v.detail}"
    v = check_victoria(case, vm, prom, engines.prometheus)
    assert v.ok, f"{case.id}: victoriametrics vs prometheus ({case.vm_class}): {v.detail}"


@pytest.mark.parametrize("case", fixture_cases(), ids=lambda c: c.id)
def test_fixture(case: Case, fixture_engines: Engines) -> None:
    _check(fixture_engines, case)


@pytest.mark.slow
@pytest.mark.parametrize("case", demo_cases(), ids=lambda c: c.id)
def test_demo(case: Case, demo_engines: Engines) -> None:
    _check(demo_engines, case)


# -- binary operations: embedded against Prometheus only ------------------------------------


def binary_cases() -> list[Case]:
    """Dashboard-style binary operations on the fixture (`assistant.ir.Binary`)."""
    end = FIXTURE_END
    r30 = TimeRange(start=end - timedelta(minutes=30), end=end, step_s=60)
    inst = TimeRange(start=end - timedelta(minutes=60), end=end)
    errors = (Matcher(label="code", value="500"),)
    ok = (Matcher(label="code", value="200"),)
    rate = {"metric": "req_total", "function": "rate", "window_s": 300}
    mq = MetricQuery
    return [
        Case("bin-error-ratio-percent", mq(
            **rate, matchers=errors, aggregation="sum", by=("host",), time_range=r30, binary=(
                Binary(op="/", right=MetricOperand(**rate, aggregation="sum", by=("host",))),
                Binary(op="*", right=100)))),
        Case("bin-ignoring-code", mq(**rate, matchers=errors, time_range=r30, binary=(
            Binary(op="/", right=MetricOperand(**rate, matchers=ok), ignoring=("code",)),))),
        Case("bin-filter-gt", mq(metric="cpu_percent", time_range=r30,
                                 binary=(Binary(op=">", right=50),))),
        Case("bin-scalar-left-instant", mq(metric="cpu_percent", mode="instant", time_range=inst,
                                           binary=(Binary(op="-", right=100, scalar_left=True),))),
        Case("bin-bool", mq(metric="cpu_percent", time_range=r30,
                            binary=(Binary(op=">=", right=40, bool_modifier=True),))),
        Case("bin-group-left", mq(**rate, time_range=r30, binary=(
            Binary(op="*", right=MetricOperand(metric="cpu_percent"), on=("host",),
                   group="left"),))),
        Case("bin-or-nested", mq(metric="cpu_percent", time_range=r30, binary=(
            Binary(op=">", right=60),
            Binary(op="or", right=MetricOperand(metric="cpu_percent",
                                                binary=(Binary(op="<", right=30),)))))),
        Case("bin-unless-on-pow-mod", mq(
            **rate, aggregation="sum", by=("host", "code"), time_range=r30, binary=(
                Binary(op="unless", right=MetricOperand(metric="cpu_percent",
                                                        binary=(Binary(op="<", right=20),)),
                       on=("host",)),
                Binary(op="^", right=2), Binary(op="%", right=0.7)))),
        Case("bin-unary-minus-and", mq(metric="cpu_percent", mode="instant", time_range=inst,
                                       binary=(Binary(op="*", right=-1, scalar_left=True),
                                               Binary(op="and", right=MetricOperand(
                                                   metric="req_total", matchers=ok),
                                                   on=("host",))))),
    ]


@pytest.fixture(scope="module")
def prom_engines(
    tmp_path_factory: pytest.TempPathFactory, server_pool: ServerPool
) -> Iterator[tuple[Connector, Connector]]:
    store = tmp_path_factory.mktemp("diff-binary") / "telemetry.duckdb"
    write_store(store, dataset(), FIXTURE_META)
    embedded, prometheus = EmbeddedConnector(store), _prom(server_pool.prometheus("small", dataset))
    yield embedded, prometheus
    embedded.close()
    prometheus.close()


@pytest.mark.parametrize("case", binary_cases(), ids=lambda c: c.id)
def test_binary_operations(case: Case, prom_engines: tuple[Connector, Connector]) -> None:
    embedded, prometheus = prom_engines
    emb, prom = embedded.run(case.query), prometheus.run(case.query)
    assert prom.series, f"{case.id}: Prometheus returned nothing; the case tests nothing"
    v = check_embedded(case, emb, prom, prometheus)
    assert v.ok, f"{case.id}: embedded vs prometheus: {v.detail}\n{prom.native}"
    names = sorted((sorted(s.labels.items()), s.metric) for s in emb.series)
    assert names == sorted((sorted(s.labels.items()), s.metric) for s in prom.series)
    assert emb.unit == prom.unit


@pytest.mark.parametrize("case", operation_cases(), ids=lambda c: c.id)
def test_new_operations(case: Case, prom_engines: tuple[Connector, Connector]) -> None:
    """Functions of window samples, ``@``, subqueries and `MetricQuery.then` steps: the
    embedded engine (Prometheus 2.x semantics) against Debian's Prometheus 2.x."""
    embedded, prometheus = prom_engines
    emb, prom = embedded.run(case.query), prometheus.run(case.query)
    assert prom.series, f"{case.id}: Prometheus returned nothing; the case tests nothing"
    v = check_embedded(case, emb, prom, prometheus)
    assert v.ok, f"{case.id}: embedded vs prometheus: {v.detail}\n{prom.native}"
    assert sorted(sorted(s.labels.items()) for s in emb.series) == sorted(
        sorted(s.labels.items()) for s in prom.series)


def test_demo_suite_covers_every_function_and_aggregation() -> None:
    cases = demo_cases()
    assert len(cases) >= 30
    functions = {c.query.function for c in cases}
    aggregations = {c.query.aggregation for c in cases}
    assert functions == {
        "raw", "rate", "increase", "delta", "avg_over_time", "min_over_time", "max_over_time",
        "sum_over_time", "count_over_time", "last_over_time", "quantile_over_time",
        "histogram_quantile",
    }  # fmt: skip
    assert aggregations >= {"none", "sum", "avg", "min", "max", "count", "p50", "p99", "topk",
                            "bottomk"}  # fmt: skip
    assert {c.query.mode for c in cases} == {"range", "instant"}
    windows = {c.query.window() for c in cases}
    assert min(windows) <= 60 and max(windows) >= 3600
    ops = {m.op for c in cases for m in c.query.matchers}
    assert ops == {"=", "!=", "=~"} or ops == {"=", "!=", "=~", "!~"}
    assert len({c.id for c in cases}) == len(cases)
