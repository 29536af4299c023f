"""The PromQL operations added for issue 16, engine by engine.

* `connectors.sql.operations`: element-wise functions (Go's IEEE results), ``round`` to a
  multiple, ``clamp``, ``sort``, ``histogram_quantile`` / ``histogram_fraction`` over bucket
  series, aggregations of the expression so far, ``label_replace`` / ``label_join``;
* `connectors.sql.binop.evaluate` running `MetricQuery.then` (``absent`` included);
* the SQL of ``changes``, ``resets``, ``irate``, ``idelta``, ``deriv``, ``predict_linear``,
  ``first_over_time``, ``@`` and subqueries on DuckDB, against values worked out by hand,
  and the same queries on chDB against DuckDB;
* the IR's validation of the new fields and steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import differential
import promdata
import promqltest_runner as runner
import pytest
from servers import require_module

from assistant.errors import IRError
from assistant.ir import (
    Aggregate,
    Apply,
    Binary,
    LabelJoin,
    LabelReplace,
    MetricQuery,
    TimeRange,
    parse_query,
)
from connectors.base import Series
from connectors.sql.binop import MatchingError, evaluate, operations_text
from connectors.sql.operations import (
    aggregate,
    apply_step,
    format_value,
    label_join,
    label_replace,
)

NAN, INF = math.nan, math.inf
Labels = dict[str, str]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) < 1e-9 * max(1, abs(b))


def one(step: Any, value: float, labels: Labels | None = None) -> float:
    (_, out), = apply_step(step, [(labels or {"__name__": "m"}, value)])
    return out


# -- element-wise functions --------------------------------------------------------------------

@pytest.mark.parametrize(("fn", "value", "want"), [
    ("abs", -2, 2), ("ceil", INF, INF), ("floor", -0.5, -1), ("sgn", -3, -1), ("sgn", NAN, NAN),
    ("sgn", 0, 0), ("exp", 1000, INF), ("ln", -1, NAN), ("ln", 0, -INF), ("log2", 8, 3),
    ("log10", 1000, 3), ("sqrt", -1, NAN), ("sin", INF, NAN), ("acosh", 0.5, NAN),
    ("atanh", 1, INF), ("deg", math.pi, 180), ("rad", 180, math.pi), ("cosh", 0, 1),
])
def test_elementwise_functions_are_go_math(fn: str, value: float, want: float) -> None:
    assert same(one(Apply.model_validate({"apply": fn}), value), want)


@pytest.mark.parametrize(("args", "value", "want"), [
    ((), 2.5, 3), ((), -2.5, -2), ((0.1,), 0.123, 0.1), ((5,), 7, 5), ((), INF, INF),
    ((), NAN, NAN), ((0.5,), 1.3, 1.5),
])
def test_round_rounds_half_up_to_a_multiple(args: tuple[float, ...], value: float,
                                            want: float) -> None:
    assert same(one(Apply(apply="round", args=args), value), want)


def test_clamp_bounds_and_nan() -> None:
    vec = [({"__name__": "m", "a": "1"}, -5.0), ({"__name__": "m", "a": "2"}, 50.0)]
    assert apply_step(Apply(apply="clamp", args=(0, 10)), vec) == [({"a": "1"}, 0.0),
                                                                  ({"a": "2"}, 10.0)]
    assert apply_step(Apply(apply="clamp", args=(10, 0)), vec) == []  # max < min: nothing
    assert math.isnan(one(Apply(apply="clamp_min", args=(NAN,)), 3))
    assert one(Apply(apply="clamp_max", args=(1,)), 3) == 1


def test_functions_drop_the_name_but_sort_keeps_it_and_orders() -> None:
    assert apply_step(Apply(apply="abs"), [({"__name__": "m", "a": "x"}, -1.0)]) == [
        ({"a": "x"}, 1.0)]
    vec = [({"__name__": "m", "i": str(i)}, v) for i, v in enumerate([2.0, NAN, 1.0])]
    assert [v for _, v in apply_step(Apply(apply="sort"), vec)][:2] == [1.0, 2.0]
    desc = apply_step(Apply(apply="sort_desc"), vec)
    assert [v for _, v in desc][:2] == [2.0, 1.0] and math.isnan(desc[2][1])
    assert all("__name__" in labels for labels, _ in desc)


BUCKETS = [({"__name__": "h_bucket", "job": "j", "le": le}, v)
           for le, v in (("1", 10.0), ("2", 20.0), ("+Inf", 40.0))]


@pytest.mark.parametrize(("low", "high", "want"), [
    (0, 1, 0.25), (1, 1.5, 0.125), (2, INF, 0.5), (0, INF, 1.0), (3, 2, 0.0), (NAN, 1, NAN),
    (-INF, 0.5, 0.125),
])
def test_histogram_fraction_interpolates_in_buckets(low: float, high: float,
                                                    want: float) -> None:
    out = apply_step(Apply(apply="histogram_fraction", args=(low, high)), BUCKETS)
    assert len(out) == 1 and out[0][0] == {"job": "j"} and same(out[0][1], want)


def test_histogram_functions_group_without_le_and_skip_other_series() -> None:
    vec = [*BUCKETS, ({"__name__": "h_bucket", "job": "k", "le": "+Inf"}, 5.0),
           ({"__name__": "h_bucket", "job": "j"}, 99.0)]  # no le: ignored
    out = dict((labels["job"], v) for labels, v in apply_step(
        Apply(apply="histogram_quantile", args=(0.5,)), vec))
    assert out["j"] == 2.0 and math.isnan(out["k"])  # one +Inf bucket only: NaN
    single = apply_step(Apply(apply="histogram_fraction", args=(0, 1)), vec[3:4])
    assert single == [({"job": "k"}, 0.0)]  # no interpolation inside an infinite bucket


# -- aggregations ------------------------------------------------------------------------------

VEC = [({"__name__": "m", "job": "a", "i": "1"}, 1.0), ({"__name__": "m", "job": "a", "i": "2"},
                                                       3.0),
       ({"__name__": "m", "job": "b", "i": "1"}, 5.0)]


def by(out: list[tuple[Labels, float]]) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(labels.items())): v for labels, v in out}


def test_aggregate_by_and_without() -> None:
    assert by(aggregate(Aggregate(aggregate="sum", by=("job",)), VEC)) == {
        (("job", "a"),): 4.0, (("job", "b"),): 5.0}
    assert by(aggregate(Aggregate(aggregate="avg", without=("job",)), VEC)) == {
        (("i", "1"),): 3.0, (("i", "2"),): 3.0}
    assert by(aggregate(Aggregate(aggregate="group", by=("job",)), VEC)) == {
        (("job", "a"),): 1.0, (("job", "b"),): 1.0}
    assert by(aggregate(Aggregate(aggregate="stddev"), VEC)) == {(): pytest.approx(
        math.sqrt(8 / 3))}


def test_quantile_at_any_level_sorts_nan_first_as_go() -> None:
    vec = [({"i": str(i)}, v) for i, v in enumerate([1.0, NAN, 0.0])]
    assert same(aggregate(Aggregate(aggregate="quantile", param=0.8), vec)[0][1], 0.6)
    assert math.isnan(aggregate(Aggregate(aggregate="quantile", param=0.2), vec)[0][1])
    assert aggregate(Aggregate(aggregate="quantile", param=2), VEC)[0][1] == INF


def test_topk_by_keeps_labels_per_group_and_k_below_one_is_empty() -> None:
    out = aggregate(Aggregate(aggregate="topk", param=1, by=("job",)), VEC)
    assert sorted(v for _, v in out) == [3.0, 5.0] and all("__name__" in x for x, _ in out)
    assert aggregate(Aggregate(aggregate="bottomk", param=0.5), VEC) == []
    assert len(aggregate(Aggregate(aggregate="topk", param=1e10), VEC)) == 3


def test_count_values_labels_values_as_go_formats_them() -> None:
    vec = [({"i": str(i)}, v) for i, v in enumerate([1.0, 1.0, 0.1, INF, 1e21])]
    out = by(aggregate(Aggregate(aggregate="count_values", label="v"), vec))
    assert out == {(("v", "1"),): 2.0, (("v", "0.1"),): 1.0, (("v", "+Inf"),): 1.0,
                   (("v", "1000000000000000000000"),): 1.0}
    assert format_value(NAN) == "NaN" and format_value(-2.5) == "-2.5"


# -- labels ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("replacement", "regex", "want"), [
    ("$1", "(.*)-(.*)", "web"), ("${2}x", "(.*)-(.*)", "01x"), ("$1x", "(.*)-(.*)", None),
    ("$$1", "(.*)", "$1"), ("${name}", "(?P<name>w.b)-01", "web"), ("v", "eb-01", "keep"),
])
def test_label_replace_expands_as_go(replacement: str, regex: str, want: str | None) -> None:
    labels = {"__name__": "m", "host": "web-01", "dst": "keep"}
    out = label_replace(LabelReplace(dst="dst", replacement=replacement, src="host",
                                     regex=regex), labels)
    assert out.get("dst") == want and out["__name__"] == "m"  # '$1x' is group '1x': empty


def test_label_join_joins_missing_labels_as_empty_and_empty_deletes() -> None:
    labels = {"a": "x", "b": "y", "d": "old"}
    assert label_join(LabelJoin(dst="d", separator="-", src=("a", "c", "b")), labels)[
        "d"] == "x--y"
    assert "d" not in label_join(LabelJoin(dst="d", separator=","), labels)


# -- evaluate: the steps after the leaf --------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RANGE = TimeRange(start=T0, end=T0 + timedelta(minutes=2), step_s=60)


def runner_of(series: dict[str, list[Series]]) -> Callable[[MetricQuery], list[Series]]:
    return lambda q: series.get(q.metric, [])


def test_then_steps_run_in_order_after_binary() -> None:
    pts = [(T0 + timedelta(minutes=i), float(i) - 1) for i in range(3)]
    data = {"m": [Series(metric="m", labels={"host": "web-01"}, points=pts),
                  Series(metric="m", labels={"host": "web-02"}, points=pts)]}
    q = MetricQuery(metric="m", time_range=RANGE, binary=(Binary(op="*", right=10),), then=(
        Apply(apply="abs"), Aggregate(aggregate="sum"), Binary(op="+", right=1)))
    (s,) = evaluate(q, runner_of(data))
    assert [v for _, v in s.points] == [21.0, 1.0, 21.0]
    assert operations_text(q) == "*, abs, sum, +"
    clash = q.model_copy(update={"binary": (), "then": (
        LabelReplace(dst="host", replacement="x", src="host", regex=".*"),)})
    with pytest.raises(MatchingError, match="same labelset"):
        evaluate(clash, runner_of(data))


def test_absent_is_one_where_nothing_is_and_takes_a_selectors_eq_labels() -> None:
    data = {"m": [Series(metric="m", labels={"job": "a"}, points=[(T0, 1.0)])]}
    q = MetricQuery.model_validate({
        "metric": "m", "time_range": RANGE, "then": [{"apply": "absent"}],
        "matchers": [{"label": "job", "value": "a"}, {"label": "x", "value": "1"},
                     {"label": "x", "op": "=~", "value": "1|2"}]})
    (s,) = evaluate(q, runner_of(data))
    assert s.labels == {"job": "a"}  # x is matched twice: left out, as Prometheus
    assert [t for t, _ in s.points] == RANGE.steps()[1:]
    agg = q.model_copy(update={"aggregation": "sum"})
    assert evaluate(agg, runner_of({}))[0].labels == {}


# -- the new SQL, on DuckDB ----------------------------------------------------------------------

COUNTER = [0, 1, 1, 3, 2, 5]  # at 0, 10, ..., 50 s


@pytest.fixture(scope="module")
def store() -> Iterator[runner.Store]:
    s = runner.Store([runner.LoadedSeries("c", {"job": "a"},
                                          [(i * 10_000, float(v)) for i, v in enumerate(COUNTER)])])
    yield s
    s.close()


def at(seconds: float) -> datetime:
    return runner.EPOCH + timedelta(seconds=seconds)


def instant(store: runner.Store, t: float, **fields: Any) -> float | None:
    q = MetricQuery(metric="c", mode="instant",
                    time_range=TimeRange(start=at(t - 60), end=at(t)), **fields)
    out = store.run(q)
    return out[0].points[0][1] if out else None


@pytest.mark.parametrize(("t", "fields", "want"), [
    (50, {"function": "changes", "window_s": 60}, 4),
    (50, {"function": "resets", "window_s": 60}, 1),
    (30, {"function": "changes", "window_s": 15}, 1),  # 1 -> 3; the sample before not counted
    (50, {"function": "idelta", "window_s": 60}, 3),
    (50, {"function": "irate", "window_s": 60}, 0.3),
    (40, {"function": "irate", "window_s": 60}, 0.2),  # 3 -> 2: a counter reset
    (40, {"function": "idelta", "window_s": 60}, -1),
    (50, {"function": "first_over_time", "window_s": 30}, 3),  # (20, 50]: left-open
    (50, {"function": "deriv", "window_s": 60}, 150 / 1750),
    (50, {"function": "predict_linear", "window_s": 60, "horizon_s": 100},
     2 + 150 / 1750 * (25 + 100)),
    (50, {"function": "max_over_time", "window_s": 30, "subquery_step_s": 10}, 5),
    (50, {"function": "sum_over_time", "window_s": 30, "subquery_step_s": 15}, 3 + 2),
    (50, {"at_s": 25}, 1),
    (50, {"function": "sum_over_time", "window_s": 20, "at_s": 40, "offset_s": 10}, 1 + 3),
])
def test_window_functions_modifiers_and_subqueries(store: runner.Store, t: float,
                                                   fields: dict[str, Any], want: float) -> None:
    got = instant(store, t, **fields)
    assert got is not None and same(got, want), (fields, got)


def test_irate_needs_two_samples_and_at_repeats_at_every_step(store: runner.Store) -> None:
    assert instant(store, 50, function="irate", window_s=5) is None
    q = MetricQuery(metric="c", at_s=30, time_range=TimeRange(start=at(0), end=at(50),
                                                             step_s=10))
    (s,) = store.run(q)
    assert [v for _, v in s.points] == [3.0] * 6


# -- the same queries on chDB --------------------------------------------------------------------

@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    require_module("chdb", "chdb")
    from connectors.clickhouse import ClickHouseConnector
    from connectors.clickhouse.chdb_executor import ChdbExecutor
    from connectors.clickhouse.schema import create_statements, export_parquet
    from connectors.embedded.connector import EmbeddedConnector

    tmp = tmp_path_factory.mktemp("ops")
    path = tmp / "telemetry.duckdb"
    differential.write_store(path, promdata.dataset(), differential.FIXTURE_META)
    export_parquet(path, tmp / "parquet", ("series", "samples", "metric_meta"))
    ex = ChdbExecutor(str(tmp / "db"))
    for stmt in create_statements():  # every project table, empty but the metric ones
        ex.execute(stmt)
    for table in ("series", "samples", "metric_meta"):
        ex.execute(f"INSERT INTO {table} SELECT * FROM "
                   f"file('{Path(tmp / 'parquet' / table)}.parquet', Parquet)")
    emb = EmbeddedConnector(path)
    ch = ClickHouseConnector(executor=ex)
    yield emb, ch
    emb.close()
    ex.close()


@pytest.mark.parametrize("case", differential.operation_cases(), ids=lambda c: c.id)
def test_chdb_agrees_with_duckdb(case: differential.Case, engines: tuple[Any, Any]) -> None:
    emb, ch = engines
    diff = differential.assert_same_series(emb.run(case.query), ch.run(case.query))
    assert diff.points > 0


# -- IR validation -------------------------------------------------------------------------------

HOUR = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}


@pytest.mark.parametrize(("extra", "message"), [
    ({"then": [{"apply": "round", "args": [1, 2]}]}, "takes 0 to 1"),
    ({"then": [{"apply": "clamp", "args": [1]}]}, "takes 2"),
    ({"then": [{"aggregate": "topk"}]}, "'param' is required"),
    ({"then": [{"aggregate": "sum", "param": 1}]}, "'param' is required"),
    ({"then": [{"aggregate": "count_values"}]}, "'label' is required"),
    ({"then": [{"aggregate": "sum", "by": ["a"], "without": ["b"]}]}, "either 'by'"),
    ({"then": [{"dst": "a", "replacement": "", "src": "b", "regex": "("}]}, "not a valid"),
    ({"function": "predict_linear", "window_s": 60}, "'horizon_s' is required"),
    ({"horizon_s": 60}, "'horizon_s' is required"),
    ({"subquery_step_s": 60}, "'subquery_step_s' needs a function over time"),
    ({"function": "samples", "then": [{"apply": "abs"}]}, "no 'binary', 'then'"),
])
def test_new_ir_fields_are_validated(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(IRError, match=message):
        parse_query({"kind": "metric", "metric": "m", "time_range": HOUR, **extra})


def test_a_query_with_steps_is_not_one_statement() -> None:
    from connectors.sql.metrics import build_metric_sql

    q = parse_query({"kind": "metric", "metric": "m", "time_range": HOUR,
                     "then": [{"apply": "abs"}]})
    assert isinstance(q, MetricQuery) and q.leaf().then == ()
    with pytest.raises(IRError, match=r"binop\.evaluate"):
        build_metric_sql(q, "m", "m")


def test_the_schema_fills_step_grouping_labels_from_the_catalog() -> None:
    from assistant.ir import query_json_schema

    props = query_json_schema(["m"], labels=["job", "host"])["$defs"]["Aggregate"]["properties"]
    assert props["by"]["items"]["enum"] == ["host", "job"]
    assert props["without"]["anyOf"][0]["items"]["enum"] == ["host", "job"]
    assert props["by"]["description"]
