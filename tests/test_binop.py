"""PromQL binary operations (`connectors.sql.binop`) against Prometheus' engine.go rules,
and the IR's `Binary` validation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from assistant.errors import BackendError
from assistant.ir import Binary, MetricOperand, MetricQuery, TimeRange, parse_query
from connectors.base import Series
from connectors.sql.binop import (
    Matching,
    MatchingError,
    arithmetic,
    evaluate,
    keeps_name,
    metric_leaves,
    set_operation,
    vector_scalar,
    vector_vector,
)

N = "__name__"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = TimeRange(start=NOW - timedelta(hours=1), end=NOW, step_s=600)


def by_labels(vec: list[tuple[dict[str, str], float]]) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(labels.items())): v for labels, v in vec}


# -- one pair of values -------------------------------------------------------------------

@pytest.mark.parametrize(("op", "a", "b", "want"), [
    ("/", 1.0, 0.0, math.inf), ("/", -1.0, 0.0, -math.inf), ("/", 1.0, -0.0, -math.inf),
    ("/", 0.0, 0.0, math.nan), ("%", 5.5, 2.0, 1.5), ("%", -5.5, 2.0, -1.5),
    ("%", 1.0, 0.0, math.nan), ("%", math.inf, 2.0, math.nan), ("%", 3.0, math.inf, 3.0),
    ("^", 2.0, 10.0, 1024.0), ("^", 0.0, -1.0, math.inf), ("^", -8.0, 1 / 3, math.nan),
    ("^", 10.0, 400.0, math.inf), ("^", math.nan, 0.0, 1.0), ("^", 1.0, math.nan, 1.0),
    ("+", math.inf, -math.inf, math.nan), ("*", 1e308, 10.0, math.inf),
    ("atan2", 1.0, 1.0, math.pi / 4), ("atan2", math.nan, 1.0, math.nan),
])
def test_arithmetic_is_ieee_as_go(op: str, a: float, b: float, want: float) -> None:
    got = arithmetic(op, a, b)
    assert (math.isnan(got) and math.isnan(want)) or got == want


# -- vector and scalar ----------------------------------------------------------------------

VEC = [({N: "m", "a": "1"}, 1.0), ({N: "m", "a": "2"}, 5.0), ({N: "m", "a": "3"}, math.nan)]


def test_arithmetic_with_a_scalar_drops_the_name() -> None:
    out = vector_scalar("*", VEC, 2.0)
    assert [labels for labels, _ in out] == [{"a": "1"}, {"a": "2"}, {"a": "3"}]
    assert [v for _, v in out][:2] == [2.0, 10.0]
    assert vector_scalar("-", VEC, 10.0, scalar_left=True)[1][1] == 5.0


def test_a_comparison_filters_and_keeps_the_vector_value_and_name() -> None:
    assert vector_scalar(">", VEC, 2.0) == [({N: "m", "a": "2"}, 5.0)]
    # scalar on the left: '2 < m' keeps the vector's value, not the scalar
    assert vector_scalar("<", VEC, 2.0, scalar_left=True) == [({N: "m", "a": "2"}, 5.0)]
    # NaN compares false (and != true)
    assert len(vector_scalar("!=", VEC, 1.0)) == 2


def test_bool_returns_one_or_zero_for_every_sample_without_the_name() -> None:
    out = vector_scalar(">", VEC, 2.0, return_bool=True)
    assert out == [({"a": "1"}, 0.0), ({"a": "2"}, 1.0), ({"a": "3"}, 0.0)]


# -- vector and vector ---------------------------------------------------------------------

LEFT = [({N: "errors", "job": "api", "code": "500"}, 6.0),
        ({N: "errors", "job": "web", "code": "500"}, 2.0)]
RIGHT = [({N: "total", "job": "api", "code": "500"}, 12.0),
         ({N: "total", "job": "db", "code": "500"}, 1.0)]


def test_one_to_one_matches_all_labels_but_the_name() -> None:
    assert vector_vector("/", LEFT, RIGHT) == [({"job": "api", "code": "500"}, 0.5)]
    # a filtering comparison keeps the left name and value
    assert vector_vector("<", LEFT, RIGHT) == [({N: "errors", "job": "api", "code": "500"}, 6.0)]
    assert vector_vector("<", LEFT, RIGHT, return_bool=True) == [
        ({"job": "api", "code": "500"}, 1.0)]
    assert vector_vector("+", LEFT, []) == []


def test_on_keeps_only_the_on_labels_and_ignoring_drops_the_ignored() -> None:
    right = [({"job": "api"}, 3.0), ({"job": "web"}, 4.0)]
    assert by_labels(vector_vector("*", LEFT, right, Matching(on=("job",)))) == {
        (("job", "api"),): 18.0, (("job", "web"),): 8.0}
    right2 = [({"job": "api", "code": "x"}, 3.0)]
    assert vector_vector("-", LEFT, right2, Matching(ignoring=("code",))) == [
        ({"job": "api"}, 3.0)]


def test_on_nothing_matches_every_sample_to_a_single_one() -> None:
    out = vector_vector("/", LEFT, [({}, 2.0)], Matching(on=(), group="left"))
    assert by_labels(out) == {(("code", "500"), ("job", "api")): 3.0,
                              (("code", "500"), ("job", "web")): 1.0}


def test_many_to_one_needs_group_left_and_copies_the_included_labels() -> None:
    info = [({N: "info", "job": "api", "owner": "team-a"}, 1.0),
            ({N: "info", "job": "web", "owner": "team-b"}, 1.0)]
    many = [*LEFT, ({N: "errors", "job": "api", "code": "404"}, 1.0)]
    with pytest.raises(MatchingError, match="many-to-many matching not allowed"):
        vector_vector("*", many, info, Matching(on=("job",)))
    out = vector_vector("*", many, info, Matching(on=("job",), group="left", include=("owner",)))
    assert by_labels(out) == {
        (("code", "500"), ("job", "api"), ("owner", "team-a")): 6.0,
        (("code", "500"), ("job", "web"), ("owner", "team-b")): 2.0,
        (("code", "404"), ("job", "api"), ("owner", "team-a")): 1.0,
    }
    # a filtering comparison keeps the name of the many side
    out = vector_vector(">", many, info, Matching(on=("job",), group="left"))
    assert all(labels[N] == "errors" for labels, _ in out) and len(out) == 2


def test_group_right_mirrors_and_keeps_left_right_order_of_the_values() -> None:
    one = [({"job": "api"}, 10.0)]
    many = [({"job": "api", "i": "1"}, 2.0), ({"job": "api", "i": "2"}, 5.0)]
    out = vector_vector("-", one, many, Matching(on=("job",), group="right"))
    assert by_labels(out) == {(("i", "1"), ("job", "api")): 8.0,
                              (("i", "2"), ("job", "api")): 5.0}


def test_fill_gives_results_to_samples_without_a_match() -> None:
    lhs = [({N: "l", "x": "a"}, 10.0), ({N: "l", "x": "c"}, 30.0)]
    rhs = [({N: "r", "x": "a"}, 100.0), ({N: "r", "x": "d"}, 400.0)]
    both = vector_vector("+", lhs, rhs, Matching(fill_left=5, fill_right=7))
    assert by_labels(both) == {(("x", "a"),): 110.0, (("x", "c"),): 37.0,
                               (("x", "d"),): 405.0}
    only_right = vector_vector("+", lhs, rhs, Matching(fill_right=0))
    assert by_labels(only_right) == {(("x", "a"),): 110.0, (("x", "c"),): 30.0}
    # a comparison keeps the left value, filled or not; bool says 1/0 for every pair
    out = vector_vector("!=", lhs, rhs, Matching(fill_left=30, fill_right=30))
    assert by_labels(out) == {(("x", "d"),): 30.0, ((N, "l"), ("x", "a")): 10.0}
    assert vector_vector("+", lhs, [], Matching(fill_left=0)) == []  # nothing to label by


def test_fill_with_grouping_labels_a_lone_one_side_sample_by_its_match_group() -> None:
    requests = [({"method": "GET", "status": "200"}, 100.0)]
    limits = [({"status": "200", "owner": "a"}, 1000.0), ({"status": "404", "owner": "b"}, 5.0)]
    out = vector_vector("+", requests, limits, Matching(on=("status",), group="left",
                                                        include=("owner",), fill_left=0))
    assert by_labels(out) == {(("method", "GET"), ("owner", "a"), ("status", "200")): 1100.0,
                              (("status", "404"),): 5.0}
    # group_right swaps the sides: fill_right fills the lone "many" (right) samples
    meta = [({"instance": "a"}, 100.0)]
    cpus = [({"instance": "a", "cpu": "0"}, 1.0), ({"instance": "b", "cpu": "0"}, 1.0)]
    out = vector_vector("*", meta, cpus, Matching(on=("instance",), group="right",
                                                  fill_right=0))
    assert by_labels(out) == {(("cpu", "0"), ("instance", "a")): 100.0,
                              (("cpu", "0"), ("instance", "b")): 0.0}


def test_duplicates_on_the_one_side_are_an_error() -> None:
    with pytest.raises(MatchingError, match="duplicate series for the match group"):
        vector_vector("/", LEFT, [*RIGHT, ({"job": "api", "code": "500", N: "x"}, 1.0)])
    assert issubclass(MatchingError, BackendError)


def test_duplicate_matches_are_an_error_even_when_filtered_away() -> None:
    many = [({"label": "foo", "job": "t"}, 0.0), ({"label": "bar", "job": "t"}, 1.0)]
    with pytest.raises(MatchingError):
        vector_vector(">", many, [({"job": "t"}, 1.0)], Matching(on=("job",)))


def test_grouping_collisions_are_checked_after_filtering_at_every_step() -> None:
    from connectors.sql.binop import Memo

    memo = Memo()  # the same series at two steps: the pairing is reused, the values differ
    m = Matching(on=("job",), group="left", include=("owner",))
    one = [({"job": "a", "owner": "z"}, 5.0)]
    many_labels = [{"job": "a", "owner": "p"}, {"job": "a", "owner": "q"}]
    step1 = [(many_labels[0], 9.0), (many_labels[1], 1.0)]
    assert vector_vector(">", step1, one, m, memo=memo) == [({"job": "a", "owner": "z"}, 9.0)]
    step2 = [(many_labels[0], 9.0), (many_labels[1], 8.0)]
    with pytest.raises(MatchingError, match="grouping labels must ensure unique matches"):
        vector_vector(">", step2, one, m, memo=memo)


def test_set_operators() -> None:
    a = [({N: "a", "x": "1"}, 1.0), ({N: "a", "x": "2"}, 2.0)]
    b = [({N: "b", "x": "2"}, 20.0), ({N: "b", "x": "3"}, 30.0)]
    assert set_operation("and", a, b) == [({N: "a", "x": "2"}, 2.0)]
    assert set_operation("unless", a, b) == [({N: "a", "x": "1"}, 1.0)]
    assert set_operation("or", a, b) == [*a, ({N: "b", "x": "3"}, 30.0)]
    assert set_operation("or", [], b) == b and set_operation("unless", a, []) == a
    assert set_operation("and", a, [({}, 1.0)], Matching(on=())) == a


# -- whole queries ---------------------------------------------------------------------------

T = HOUR.steps()


def fake_engine(q: MetricQuery) -> list[Series]:
    """errors: 2 series present at every step but the first; total: 1 series, every step."""
    if q.metric == "errors":
        return [Series(metric="errors", labels={"job": j}, points=[(t, float(i)) for i, t in
                enumerate(T) if i]) for j in ("api", "web")]
    if q.metric == "total":
        return [Series(metric="total", labels={"job": "api"}, points=[(t, 10.0) for t in T])]
    return []


def test_evaluate_applies_the_operations_at_every_step() -> None:
    q = MetricQuery(metric="errors", time_range=HOUR, binary=(
        Binary(op="/", right=MetricOperand(metric="total")), Binary(op="*", right=100)))
    (s,) = evaluate(q, fake_engine)
    assert s.metric == "errors" and s.labels == {"job": "api"}
    assert [t for t, _ in s.points] == T[1:]
    assert [v for _, v in s.points] == [i * 10.0 for i in range(1, len(T))]


def test_or_fills_the_steps_the_left_side_lacks() -> None:
    q = MetricQuery(metric="errors", time_range=HOUR,
                    binary=(Binary(op="or", right=MetricOperand(metric="total")),))
    out = {(s.metric, s.labels["job"]): s.points for s in evaluate(q, fake_engine)}
    assert out[("total", "api")] == [(T[0], 10.0)]  # the names are kept: each says its own
    assert out[("errors", "api")][0] == (T[1], 1.0)
    assert len(out[("errors", "web")]) == len(T) - 1


def test_the_same_labels_twice_in_a_result_are_an_error() -> None:
    # the names differ, so 'or' keeps both; dropping them ('* 1') collides
    q = MetricQuery(metric="total", time_range=HOUR, binary=(
        Binary(op="or", right=MetricOperand(metric="errors", matchers=())), ))
    assert len(evaluate(q, lambda x: fake_engine(x) if x.metric == "total" else [
        Series(metric="errors", labels={"job": "api"}, points=[(T[0], 1.0)])])) == 1
    q2 = MetricQuery(metric="total", time_range=HOUR, binary=(
        Binary(op="+", right=MetricOperand(metric="errors"), on=("job",), group="left"),))
    assert evaluate(q2, fake_engine)


def test_names_follow_prometheus() -> None:
    assert keeps_name(MetricQuery(metric="m", time_range=HOUR))
    assert keeps_name(MetricQuery(metric="m", time_range=HOUR, function="last_over_time"))
    assert not keeps_name(MetricQuery(metric="m", time_range=HOUR, function="rate"))
    assert not keeps_name(MetricQuery(metric="m", time_range=HOUR, aggregation="sum"))


def test_leaves_are_every_query_the_engine_runs() -> None:
    q = MetricQuery(metric="a", time_range=HOUR, binary=(
        Binary(op="/", right=MetricOperand(metric="b", function="rate", window_s=60, binary=(
            Binary(op="+", right=MetricOperand(metric="c")),))),))
    leaves = metric_leaves(q)
    assert [x.metric for x in leaves] == ["a", "b", "c"]
    assert all(not x.binary and x.time_range == HOUR for x in leaves)
    assert leaves[1].function == "rate"


# -- the IR ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("binary", "message"), [
    ({"op": "and", "right": 1}, "set operator"),
    ({"op": "+", "right": 1, "bool_modifier": True}, "comparisons"),
    ({"op": "+", "right": 1, "on": ["a"]}, "vector matching"),
    ({"op": "+", "right": {"metric": "b"}, "scalar_left": True}, "scalar_left"),
    ({"op": "+", "right": {"metric": "b"}, "on": ["a"], "ignoring": ["b"]}, "not both"),
    ({"op": "or", "right": {"metric": "b"}, "group": "left"}, "many-to-many"),
    ({"op": "+", "right": {"metric": "b"}, "include": ["x"]}, "only used with 'group'"),
    ({"op": "+", "right": {"metric": "b"}, "on": ["x"], "group": "left", "include": ["x"]},
     "both 'on' and 'include'"),
    ({"op": "+", "right": {"metric": "b", "function": "samples"}}, "operand"),
    ({"op": "max", "right": 1}, "op"),
    ({"op": "+", "right": 1, "fill_left": 0}, "fill_left / fill_right"),
    ({"op": "or", "right": {"metric": "b"}, "fill_right": 0}, "fill_left / fill_right"),
])
def test_binary_validation(binary: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MetricQuery.model_validate({"metric": "a", "time_range": HOUR, "binary": [binary]})


def test_binary_ir_from_json_and_samples_take_none() -> None:
    q = parse_query({
        "kind": "metric", "metric": "a", "time_range": HOUR.model_dump(mode="json"),
        "binary": [{"op": "/", "right": {"metric": "b", "aggregation": "sum", "by": ["x"]},
                    "on": ["x"], "group": "left"}, {"op": "*", "right": 100}]})
    assert isinstance(q, MetricQuery) and q.changes_unit()
    assert q.operand(q.binary[0].right).time_range == HOUR  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="samples"):
        MetricQuery(metric="a", time_range=HOUR, function="samples",
                    binary=(Binary(op="+", right=1),))
    assert not MetricQuery(metric="a", time_range=HOUR,
                           binary=(Binary(op=">", right=1),)).changes_unit()
