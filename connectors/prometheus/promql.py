"""IR -> PromQL: one pure function per layer (selector, function over time, aggregation).

The compiled text follows the IR's evaluation semantics (see `assistant.ir`): the window is
`MetricQuery.window()`, `raw` is a plain instant-vector selector (5 min lookback),
`samples` a range-vector selector ``metric{...}[w]`` (run as an instant query), and a
histogram quantile aggregates bucket rates before interpolating::

    histogram_quantile(0.95, sum by (le, service) (rate(m_bucket{...}[300s])))

Binary operations follow, left to right, with their modifiers; an operand with binary
operations of its own is parenthesized::

    (sum by (instance) (rate(errors[300s])) / on(instance) sum by (instance) (...)) * 100.0

Then the `MetricQuery.then` steps wrap the expression so far: ``round(x, 0.1)``,
``sum without (mode) (...)``, ``label_replace(..., "dst", "$1", "src", "(.*)")``;
``at_s`` is the selector's ``@`` modifier (before ``offset``).
"""

from __future__ import annotations

import re
from typing import assert_never

from assistant.errors import IRError
from assistant.ir import (
    AGG_QUANTILES,
    Aggregate,
    Apply,
    Binary,
    LabelJoin,
    LabelReplace,
    Matcher,
    MetricOperand,
    MetricQuery,
)

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

_OVER_TIME = {
    "rate",
    "increase",
    "delta",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
    "absent_over_time",
    "changes",
    "resets",
    "irate",
    "idelta",
    "deriv",
    "first_over_time",
}
_SIMPLE_AGG = {"sum", "avg", "min", "max", "count", "stddev", "stdvar"}


def quote(value: str) -> str:
    """A PromQL double-quoted string literal for `value`."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _label(name: str) -> str:
    if not _LABEL_NAME.match(name):
        raise IRError(
            f"label name {name!r} is not valid in PromQL (letters, digits and '_', "
            "not starting with a digit); use the label name as the catalog lists it"
        )
    return name


def bucket_metric(metric: str) -> str:
    """The bucket series name of a histogram given by family or bucket name."""
    return metric if metric.endswith("_bucket") else f"{metric}_bucket"


def family(metric: str) -> str:
    """The histogram family name of a `_bucket` series (other names unchanged)."""
    return metric.removesuffix("_bucket")


def selector(metric: str, matchers: tuple[Matcher, ...] = ()) -> str:
    """`metric{label op "value", ...}`; names that PromQL cannot spell go in `__name__`."""
    parts = [f"{_label(m.label)}{m.op}{quote(m.value)}" for m in matchers]
    if _METRIC_NAME.match(metric):
        return f"{metric}{{{','.join(parts)}}}" if parts else metric
    return "{" + ",".join([f"__name__={quote(metric)}", *parts]) + "}"


def _by(labels: tuple[str, ...]) -> str:
    return f" by ({', '.join(_label(b) for b in labels)})" if labels else ""


def _num(x: float) -> str:
    return repr(float(x))


def offset(q: MetricQuery) -> str:
    """The selector's ``@`` and ``offset`` modifiers (with a leading space), or ''."""
    at = f" @ {_num(q.at_s)}" if q.at_s is not None else ""
    return at + (f" offset {q.offset_s}s" if q.offset_s else "")


def compile_metric(q: MetricQuery) -> str:
    """The PromQL expression for a metric query (evaluated as instant or range by the caller)."""
    expr = _compile_leaf(q)
    for i, b in enumerate(q.operations()):
        if not isinstance(b, Binary):
            expr = step(expr, b)
            continue
        expr = binary(f"({expr})" if i else expr, b, q)
    return expr


def step(expr: str, s: Apply | Aggregate | LabelReplace | LabelJoin) -> str:
    """`expr` inside a function, an aggregation or a label rewrite."""
    match s:
        case Apply(apply="histogram_fraction"):
            low, high = s.args
            return f"histogram_fraction({_num(low)}, {_num(high)}, {expr})"
        case Apply(apply="histogram_quantile"):
            return f"histogram_quantile({_num(s.args[0])}, {expr})"
        case Apply():
            return f"{s.apply}({', '.join([expr, *(_num(a) for a in s.args)])})"
        case Aggregate():
            without = s.without
            grouping = _by(s.by) if without is None else f" without {_labels(without)}"
            param = quote(s.label) if s.label is not None else (
                _num(s.param) if s.param is not None else None)
            inner = f"{param}, {expr}" if param is not None else expr
            return f"{s.aggregate}{grouping} ({inner})"
        case LabelReplace():
            args = ", ".join(quote(x) for x in (s.dst, s.replacement, s.src, s.regex))
            return f"label_replace({expr}, {args})"
        case LabelJoin():
            args = ", ".join(quote(x) for x in (s.dst, s.separator, *s.src))
            return f"label_join({expr}, {args})"
        case _:
            assert_never(s)


def _labels(names: tuple[str, ...]) -> str:
    return f"({', '.join(_label(n) for n in names)})"


def binary(left: str, b: Binary, q: MetricQuery) -> str:
    """``left op right`` with the operation's modifiers (`left` already parenthesized)."""
    mods: list[str] = [b.op]
    if b.bool_modifier:
        mods.append("bool")
    if b.on is not None:
        mods.append(f"on{_labels(b.on)}")
    elif b.ignoring:
        mods.append(f"ignoring{_labels(b.ignoring)}")
    if b.group is not None:
        mods.append(f"group_{b.group}{_labels(b.include) if b.include else ''}")
    mods += _fills(b)
    op = " ".join(mods)
    if not isinstance(b.right, MetricOperand):
        number = _num(b.right)
        if number.startswith("-"):  # unary minus binds looser than '^' in PromQL
            number = f"({number})"
        return f"{number} {op} {left}" if b.scalar_left else f"{left} {op} {number}"
    right = compile_metric(q.operand(b.right))
    if b.right.binary or b.right.then:
        right = f"({right})"
    return f"{left} {op} {right}"


def _fills(b: Binary) -> list[str]:
    """PromQL 3's fill modifiers: ``fill(v)`` when both sides take the same value."""
    left = None if b.fill_left is None else _num(b.fill_left)
    right = None if b.fill_right is None else _num(b.fill_right)
    if left is not None and left == right:
        return [f"fill({left})"]
    return [f"{name}({v})" for name, v in (("fill_left", left), ("fill_right", right))
            if v is not None]


def _compile_leaf(q: MetricQuery) -> str:
    step = f":{q.subquery_step_s}s" if q.subquery_step_s else ""
    window = f"[{q.window()}s{step}]{offset(q)}"
    sel = selector(q.metric, q.matchers)
    agg = q.aggregation

    if q.function == "histogram_quantile":
        assert q.quantile is not None  # guaranteed by the IR validator
        rate = f"rate({selector(bucket_metric(q.metric), q.matchers)}{window})"
        if agg == "sum":
            # Sum bucket rates per group, then interpolate: the standard aggregation.
            groups = ", ".join(["le", *(_label(b) for b in q.by if b != "le")])
            return f"histogram_quantile({_num(q.quantile)}, sum by ({groups}) ({rate}))"
        expr = f"histogram_quantile({_num(q.quantile)}, {rate})"
    elif q.function == "raw":
        expr = f"{sel}{offset(q)}"
    elif q.function == "timestamp":
        expr = f"timestamp({sel}{offset(q)})"
    elif q.function == "samples":
        return f"{sel}{window}"  # a range vector: every raw sample (instant query at end)
    elif q.function == "quantile_over_time":
        assert q.quantile is not None
        expr = f"quantile_over_time({_num(q.quantile)}, {sel}{window})"
    elif q.function == "predict_linear":
        assert q.horizon_s is not None  # guaranteed by the IR validator
        expr = f"predict_linear({sel}{window}, {_num(q.horizon_s)})"
    elif q.function in _OVER_TIME:
        expr = f"{q.function}({sel}{window})"
    else:  # pragma: no cover - the IR's Literal makes this unreachable
        raise IRError(f"function {q.function!r} has no PromQL translation")

    return aggregate(expr, q)


def aggregate(expr: str, q: MetricQuery) -> str:
    """Wrap `expr` in the query's cross-series aggregation."""
    agg = q.aggregation
    if agg == "none":
        return expr
    if agg in _SIMPLE_AGG:
        return f"{agg}{_by(q.by)} ({expr})"
    if agg in AGG_QUANTILES:
        return f"quantile{_by(q.by)} ({_num(AGG_QUANTILES[agg])}, {expr})"
    if agg in ("topk", "bottomk"):
        return f"{agg}({q.k}, {expr})"
    raise IRError(f"aggregation {agg!r} has no PromQL translation")  # pragma: no cover
