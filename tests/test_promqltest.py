"""Prometheus's own PromQL engine tests through the embedded engine (`promqltest_runner`).

The pass count may only go up: it is checked against the floor in ``promqltest_floor.json``
(raise the floor when it does). The same expressible cases also check the Prometheus
connector's compiler: the PromQL it writes for each case's IR reads back as that IR.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import promqltest_runner as runner
import pytest
from shared_data import shared_data

from assistant.ir import (
    Aggregate,
    Apply,
    Binary,
    LabelJoin,
    LabelReplace,
    Matcher,
    MetricOperand,
    MetricQuery,
    TimeRange,
)
from connectors.prometheus.promql import compile_metric

FLOOR = Path(__file__).with_name("promqltest_floor.json")


@pytest.fixture(scope="module")
def summary() -> runner.Summary:
    return runner.run(shared_data("promqltest"))


def test_pass_count_does_not_fall_below_the_floor(summary: runner.Summary) -> None:
    floor = json.loads(FLOOR.read_text())
    total = summary.total
    failures = "\n".join(runner.iter_failures(summary))
    assert total["passed"] >= floor["passed"], (
        f"{total['passed']} promqltest cases pass, the floor is {floor['passed']}:\n"
        f"{runner.table(summary)}\n{failures}")
    assert total["passed"] + total["failed"] >= floor["expressible"], runner.table(summary)


def test_compiled_promql_reads_back_as_the_same_ir(summary: runner.Summary) -> None:
    checked = 0
    for o in summary.outcomes:
        if o.query is None:
            continue
        text = compile_metric(o.query)
        back = runner.translate(runner.Parser(text).parse(), o.labels).fields
        want = o.query.model_dump(exclude={"time_range", "mode"}, exclude_defaults=True)
        got = MetricQuery(**back, time_range=o.query.time_range).model_dump(
            exclude={"time_range", "mode"}, exclude_defaults=True)
        # repr: NaN arguments (fill(NaN), histogram_quantile(NaN, ...)) are equal as text
        assert repr(got) == repr(want), f"{o.case.file}:{o.case.line}: {o.case.expr} -> {text}"
        checked += 1
    assert checked >= 100


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = TimeRange(start=NOW - timedelta(hours=1), end=NOW)


@pytest.mark.parametrize(("fields", "promql"), [
    ({"function": "stddev_over_time", "window_s": 60}, "stddev_over_time(m[60s])"),
    ({"function": "stdvar_over_time", "window_s": 60}, "stdvar_over_time(m[60s])"),
    ({"function": "present_over_time", "window_s": 60}, "present_over_time(m[60s])"),
    ({"function": "absent_over_time", "window_s": 60, "matchers": (Matcher(label="a", value="x"),)},
     'absent_over_time(m{a="x"}[60s])'),
    ({"function": "timestamp"}, "timestamp(m)"),
    ({"function": "timestamp", "offset_s": 300}, "timestamp(m offset 300s)"),
    ({"aggregation": "stddev", "by": ("a",)}, "stddev by (a) (m)"),
    ({"aggregation": "stdvar"}, "stdvar (m)"),
    ({"offset_s": 600}, "m offset 600s"),
    ({"function": "rate", "window_s": 300, "offset_s": -60}, "rate(m[300s] offset -60s)"),
    ({"function": "histogram_quantile", "quantile": 0.9, "window_s": 300, "offset_s": 60,
      "aggregation": "sum"},
     "histogram_quantile(0.9, sum by (le) (rate(m_bucket[300s] offset 60s)))"),
])
def test_new_ir_fields_compile_to_promql(fields: dict[str, object], promql: str) -> None:
    assert compile_metric(MetricQuery(metric="m", time_range=HOUR, **fields)) == promql


B = MetricOperand(metric="b")


@pytest.mark.parametrize(("binary", "promql"), [
    ((Binary(op="/", right=B),), "m / b"),
    ((Binary(op="*", right=100),), "m * 100.0"),
    ((Binary(op="-", right=100, scalar_left=True),), "100.0 - m"),
    ((Binary(op="*", right=-1, scalar_left=True),), "(-1.0) * m"),
    ((Binary(op="/", right=B), Binary(op="*", right=100)), "(m / b) * 100.0"),
    ((Binary(op=">", right=B, bool_modifier=True, on=("a",)),), "m > bool on(a) b"),
    ((Binary(op="*", right=B, on=("a",), group="left", include=("c", "d")),),
     "m * on(a) group_left(c, d) b"),
    ((Binary(op="+", right=B, ignoring=("x",), group="right"),), "m + ignoring(x) group_right b"),
    ((Binary(op="unless", right=B, on=()),), "m unless on() b"),
    ((Binary(op="/", right=MetricOperand(metric="b", function="rate", window_s=60,
                                           binary=(Binary(op="+", right=B),))),),
     "m / (rate(b[60s]) + b)"),
])
def test_binary_operations_compile_to_promql(binary: tuple[Binary, ...], promql: str) -> None:
    q = MetricQuery(metric="m", time_range=HOUR, binary=binary)
    assert compile_metric(q) == promql
    back = runner.translate(runner.Parser(promql).parse(), {}).fields
    assert MetricQuery(**back, time_range=HOUR) == q


@pytest.mark.parametrize(("expr", "binary"), [
    ("a + b * 2", (Binary(op="+", right=MetricOperand(
        metric="b", binary=(Binary(op="*", right=2),))),)),
    ("-a ^ 2", (Binary(op="^", right=2), Binary(op="*", right=-1, scalar_left=True))),
    ("2 * 3 - a", (Binary(op="-", right=6, scalar_left=True),)),
    ("a > bool 1 == bool 1", (Binary(op=">", right=1, bool_modifier=True),
                              Binary(op="==", right=1, bool_modifier=True))),
    ("a or b and c", (Binary(op="or", right=MetricOperand(
        metric="b", binary=(Binary(op="and", right=MetricOperand(metric="c")),))),)),
    ("2 ^ 3 ^ 2 * a", (Binary(op="*", right=512, scalar_left=True),)),
])
def test_the_runner_parses_operators_with_promql_precedence(
        expr: str, binary: tuple[Binary, ...]) -> None:
    fields = runner.translate(runner.Parser(expr).parse(), {}).fields
    assert fields["metric"] == "a" and fields["binary"] == binary


def test_series_descriptions_expand_as_promqltest() -> None:
    assert runner.expand_values(["0+10x3", "_", "1x2", "_x2", "stale", "-1-1x1", "Inf"]) == [
        0, 10, 20, 30, None, 1, 1, 1, None, None, runner.STALE, -1, -2, math.inf]
    assert runner.parse_duration_ms("1h30m") == 5_400_000
    assert runner.parse_duration_ms("600") == 600_000
    assert runner.almost_equal(math.nan, math.nan)
    assert runner.almost_equal(1.0, 1.0 + 1e-9) and not runner.almost_equal(1.0, 1.001)


@pytest.mark.parametrize("expr", [
    "-{x=\"1\"}", "a + on(x) 1", "1 > 2", "a and 1", "a + vector(1)", "1 + 2",
    "{__name__=~\"a|b\"}", "rate(sum(a)[5m:1m])", "rate(a[5m:])", "timestamp(abs(a))",
    "sort_by_label(a, \"x\")", "increase(a[1m] anchored)", "a + fill(0) 1", "limitk(2, a)",
    "sum by (__name__) (a + b)", "a offset (step())",
    "label_replace(a, \"\\xff\", \"\", \"x\", \"\")",
])
def test_what_the_ir_cannot_say_is_not_expressible(expr: str) -> None:
    with pytest.raises(runner.NotExpressible):
        runner.translate(runner.Parser(expr).parse(), {"a": {"x"}})


def _fields(expr: str, **context: int) -> dict[str, object]:
    return runner.translate(runner.Parser(expr, **context).parse(), {"a": {"x", "y"}}).fields


@pytest.mark.parametrize(("expr", "fields"), [
    ("a @ 100 offset 50s", {"at_s": 100.0, "offset_s": 50}),
    ("rate(a[5m:1m] offset 1m)", {"function": "rate", "window_s": 300,
                                  "subquery_step_s": 60, "offset_s": 60}),
    ("sum_over_time((a)[30:10] @ 1m)", {"function": "sum_over_time", "window_s": 30,
                                        "subquery_step_s": 10, "at_s": 60.0}),
    ("changes(a[2m*(10+5)])", {"function": "changes", "window_s": 1800}),
    ("predict_linear(a[1h], 1h)", {"function": "predict_linear", "window_s": 3600,
                                   "horizon_s": 3600.0}),
    ("round(a * 0.1, 5)", {"binary": (Binary(op="*", right=0.1),),
                          "then": (Apply(apply="round", args=(5.0,)),)}),
    ("sum without (x) (a / b)", {"binary": (Binary(op="/", right=B),),
                                 "then": (Aggregate(aggregate="sum", without=("x",)),)}),
    ("avg(topk(3, a)) - 1", {"aggregation": "topk", "k": 3, "then": (
        Aggregate(aggregate="avg"), Binary(op="-", right=1))}),
    ("quantile by (x) (0.3, a)", {"then": (Aggregate(aggregate="quantile", param=0.3,
                                                     by=("x",)),)}),
    ("count_values(\"v\", a)", {"then": (Aggregate(aggregate="count_values", label="v"),)}),
    ('label_join(label_replace(a, "d", "$1", "x", "(.*)"), "e", "-", "x", "y")', {"then": (
        LabelReplace(dst="d", replacement="$1", src="x", regex="(.*)"),
        LabelJoin(dst="e", separator="-", src=("x", "y")))}),
    ("histogram_quantile(0.9, avg by (le) (rate(a_bucket[5m])))", {
        "metric": "a_bucket", "function": "rate", "window_s": 300, "aggregation": "avg",
        "by": ("le",), "then": (Apply(apply="histogram_quantile", args=(0.9,)),)}),
    ("histogram_fraction(0, 0.5, a_bucket)", {
        "metric": "a_bucket", "then": (Apply(apply="histogram_fraction", args=(0, 0.5)),)}),
    ("absent(sum(a))", {"aggregation": "sum", "then": (Apply(apply="absent"),)}),
    ("a + on(x) group_left fill_left(-1) fill_right(2) b", {"binary": (Binary(
        op="+", right=B, on=("x",), group="left", fill_left=-1, fill_right=2),)}),
])
def test_the_runner_translates_the_new_steps(expr: str, fields: dict[str, object]) -> None:
    got = _fields(expr)
    want = {"metric": "a", "function": "raw", **fields}
    assert {k: got.get(k) for k in want} == want
    q = MetricQuery(**got, time_range=HOUR)
    assert MetricQuery(**_fields(compile_metric(q)), time_range=HOUR) == q


def test_duration_expressions_read_step_and_range() -> None:
    assert _fields("count_over_time(a[step()+1])", step_ms=5000, range_ms=10_000)[
        "window_s"] == 6
    assert _fields("a offset min_of(range(), 8s)", step_ms=5000, range_ms=10_000)[
        "offset_s"] == 8
    assert _fields("count_over_time(a[2*3+1])")["window_s"] == 7  # precedence
    assert _fields("count_over_time(a[2^1^2*3])")["window_s"] == 6  # ^ binds right
    assert _fields("a offset -1m * 2")["binary"] == (Binary(op="*", right=2),)
    with pytest.raises(runner.NotExpressible, match="step"):
        _fields("count_over_time(a[step()])")
