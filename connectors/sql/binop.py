"""PromQL binary operations on evaluated series, as Prometheus' engine does them.

A `MetricQuery` with `binary` operations is evaluated in three steps: its own selection,
function and aggregation (`MetricQuery.leaf`) by the engine, each metric operand the same
way (over the query's time range and mode), then every operation in order, here, at each
evaluation time (Prometheus ``engine.go``: ``VectorBinop``, ``VectorscalarBinop``,
``VectorAnd``/``VectorOr``/``VectorUnless``, ``resultMetric``):

* Vector matching: two samples match when their labels without ``__name__`` (and without
  the ``ignoring`` labels, or only the ``on`` labels) are equal. One-to-one matching
  fails when a side has two samples for one match group (before any filtering, as
  Prometheus 3); ``group="left"`` (many-to-one)
  allows many on the left and copies the ``include`` labels from the right ("one") side,
  ``group="right"`` the mirror image.
* The result's labels are the left (the "many") side's; arithmetic drops ``__name__``, so
  does a comparison with ``bool``; a filtering comparison keeps the sample (with the left
  value) when it holds. One-to-one matching ``on(...)`` keeps only the ``on`` labels,
  ``ignoring(...)`` drops the ignored ones.
* ``and``/``or``/``unless`` are set operations on the match groups; they keep the labels
  (and the name) of the samples they return.
* Arithmetic is IEEE: ``x/0`` is ``±Inf`` (``0/0`` NaN), ``%`` is C ``fmod``, ``^`` C ``pow``
  (as Go's ``math.Mod`` / ``math.Pow``), ``atan2`` Go's ``math.Atan2``.
* Two results with the same labels (name included) at one time are an error, as in
  Prometheus ("vector cannot contain metrics with the same labelset").

Whether a series carries its metric name follows Prometheus: a plain selector and
``last_over_time`` (and topk/bottomk of those) keep it; other functions and aggregations
drop it. A result `Series` carries its own name as `Series.metric` where it kept one
(``a or b`` returns series of both), else the query's metric (as every connector reports
metric results); its labels are without ``__name__``.

Which samples pair up depends only on which series are present at a time, so it is worked
out once per set of present series (`Memo`), not at every step.

`MetricQuery.then` steps run after ``binary``, in order, at each evaluation time:
`Binary` as above, the others in `connectors.sql.operations`; ``absent`` here, since it
needs every evaluation time (1 where the expression has no sample, labelled by a plain
selector's ``=`` matchers). A step that leaves one label set twice is an error, as in
Prometheus.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

import numpy as np

from assistant.errors import BackendError
from assistant.ir import (
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    SET_OPS,
    Aggregate,
    Apply,
    Binary,
    LabelJoin,
    LabelReplace,
    MetricOperand,
    MetricQuery,
    Operation,
)
from connectors.base import Series
from connectors.sql.operations import apply_step

NAME = "__name__"
NAME_LABELS = frozenset({NAME, "__type__", "__unit__"})
"""Prometheus 3's type-and-unit metadata labels go with the name when it is dropped, and set
operators ignore them when matching (they only exist when a store holds them)."""
Labels = dict[str, str]
Sample = tuple[Labels, float]
Vector = list[Sample]
Steps = dict[datetime, Vector]
"""An evaluated expression: the instant vector at each evaluation time that has samples."""
LeafRunner = Callable[[MetricQuery], list[Series]]
"""Evaluates a query without binary operations (the engine's own machinery)."""


class MatchingError(BackendError):
    """A binary operation's vector matching is ambiguous (Prometheus refuses it too)."""


@dataclass(frozen=True)
class Matching:
    """How two vectors match: PromQL's ``on``/``ignoring`` and ``group_left``/``_right``."""

    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] = ()
    group: str | None = None  # None (one-to-one), "left" or "right"
    include: tuple[str, ...] = ()
    fill_left: float | None = None
    """For a "one"-side sample without a match: the missing "many" operand."""
    fill_right: float | None = None
    """For a "many"-side sample without a match: the missing "one" operand."""

    @classmethod
    def of(cls, b: Binary) -> Matching:
        return cls(b.on, b.ignoring, b.group, b.include, b.fill_left, b.fill_right)

    @property
    def fills(self) -> bool:
        return self.fill_left is not None or self.fill_right is not None

    def signature(self, labels: Labels, *, set_op: bool = False) -> tuple[tuple[str, str], ...]:
        """The match group of `labels`. Set operations also ignore the type-and-unit
        labels; arithmetic and comparisons ignore only the name (as Prometheus 3's
        ``type_and_unit.test`` expects)."""
        if self.on is not None:
            return tuple(sorted((k, v) for k, v in labels.items() if k in self.on))
        skip = NAME_LABELS if set_op else (NAME,)
        return tuple(sorted((k, v) for k, v in labels.items()
                            if k not in skip and k not in self.ignoring))


class Memo:
    """What one operation computes per series rather than per sample: label dicts are
    shared by all samples of a series, so results are cached by the dict's identity (the
    dicts are kept alive here, so an identity is never reused)."""

    def __init__(self) -> None:
        self._alive: list[Labels] = []
        self._sig: dict[tuple[int, bool], tuple[tuple[str, str], ...]] = {}
        self._key: dict[int, tuple[tuple[str, str], ...]] = {}
        self._result: dict[tuple[int, int], Labels] = {}
        self._dropped: dict[int, Labels] = {}
        self._unique: set[tuple[int, ...]] = set()
        self.pairings: dict[tuple[tuple[int, ...], tuple[int, ...]], _Pairing] = {}

    def _hold(self, labels: Labels) -> None:
        self._alive.append(labels)

    def known_unique(self, shape: tuple[int, ...]) -> bool:
        return shape in self._unique

    def add_unique(self, shape: tuple[int, ...], labels: list[Labels]) -> None:
        self._unique.add(shape)
        self._alive += labels

    def signature(self, m: Matching, labels: Labels, set_op: bool = False
                  ) -> tuple[tuple[str, str], ...]:
        k = (id(labels), set_op)
        hit = self._sig.get(k)
        if hit is None:
            hit = self._sig[k] = m.signature(labels, set_op=set_op)
            self._hold(labels)
        return hit

    def key(self, labels: Labels) -> tuple[tuple[str, str], ...]:
        hit = self._key.get(id(labels))
        if hit is None:
            hit = self._key[id(labels)] = tuple(sorted(labels.items()))
            self._hold(labels)
        return hit

    def dropped(self, labels: Labels) -> Labels:
        hit = self._dropped.get(id(labels))
        if hit is None:
            hit = self._dropped[id(labels)] = _drop_name(labels)
            self._hold(labels)
        return hit

    def result(self, left: Labels, right: Labels, op: str, m: Matching, drop: bool) -> Labels:
        k = (id(left), id(right))
        hit = self._result.get(k)
        if hit is None:
            hit = result_labels(left, right, op, m)
            if drop:
                hit = _drop_name(hit)
            self._result[k] = hit
            self._hold(left)
            self._hold(right)
        return hit


# -- one pair of values ----------------------------------------------------------------------

def arithmetic(op: str, a: float, b: float) -> float:
    """``a op b`` with IEEE semantics (no Python exceptions): Go's float64 arithmetic."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "atan2":
        return math.atan2(a, b)
    try:  # the fast path; Python raises where IEEE (and Go) give Inf or NaN
        if op == "/":
            return a / b
        if op == "%":
            return math.fmod(a, b)
        if op == "^":
            return math.pow(a, b)
    except (ArithmeticError, ValueError):
        with np.errstate(all="ignore"):
            x, y = np.float64(a), np.float64(b)
            if op == "/":
                return float(x / y)
            if op == "%":
                return float(np.fmod(x, y))
            return float(np.power(x, y))
    raise ValueError(f"not an arithmetic operator: {op!r}")


def compare(op: str, a: float, b: float) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == ">":
        return a > b
    if op == "<":
        return a < b
    if op == ">=":
        return a >= b
    if op == "<=":
        return a <= b
    raise ValueError(f"not a comparison operator: {op!r}")


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
    ">=": operator.ge, "<=": operator.le,
}
_FAST: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "atan2": math.atan2,
}


def elem(op: str, a: float, b: float) -> tuple[float, bool]:
    """Prometheus' ``vectorElemBinop``: the value and whether the sample is kept."""
    if op in COMPARISON_OPS:
        return a, compare(op, a, b)
    return arithmetic(op, a, b), True


def elem_function(op: str) -> Callable[[float, float], tuple[float, bool]]:
    """`elem` for one operator, with the dispatch done once (the per-sample hot path)."""
    cmp = _COMPARE.get(op)
    if cmp is not None:
        return lambda a, b: (a, cmp(a, b))
    fast = _FAST.get(op)
    if fast is not None:
        return lambda a, b: (fast(a, b), True)
    if op not in ARITHMETIC_OPS:
        raise ValueError(f"not an arithmetic or comparison operator: {op!r}")
    return lambda a, b: (arithmetic(op, a, b), True)


def _drop_name(labels: Labels) -> Labels:
    if NAME_LABELS.isdisjoint(labels):
        return labels
    return {k: v for k, v in labels.items() if k not in NAME_LABELS}


# -- one evaluation time ---------------------------------------------------------------------

def vector_scalar(op: str, vec: Vector, scalar: float, *, scalar_left: bool = False,
                  return_bool: bool = False, memo: Memo | None = None) -> Vector:
    """``vec op scalar`` (or ``scalar op vec`` with `scalar_left`)."""
    memo = memo or Memo()
    drop = op in ARITHMETIC_OPS or return_bool
    fn = elem_function(op)
    vector_value = op in COMPARISON_OPS and scalar_left
    out: Vector = []
    for labels, v in vec:
        value, keep = fn(scalar, v) if scalar_left else fn(v, scalar)
        if vector_value:
            value = v  # a filtering comparison returns the vector's value on either side
        if return_bool:
            value, keep = (1.0 if keep else 0.0), True
        if keep:
            out.append((memo.dropped(labels) if drop else labels, value))
    return out


def _group_text(sig: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sig) + "}"


def _labels_text(labels: Labels) -> str:
    name = labels.get(NAME, "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != NAME)
    return f"{name}{{{rest}}}"


def result_labels(left: Labels, right: Labels, op: str, m: Matching) -> Labels:
    """Prometheus' ``resultMetric``: `left` is the "many" side, `right` the "one" side."""
    out = _drop_name(left) if op in ARITHMETIC_OPS else dict(left)
    if m.group is None:
        if m.on is not None:
            out = {k: v for k, v in out.items() if k in m.on}
        else:
            for name in m.ignoring:
                out.pop(name, None)
    for name in m.include:
        value = right.get(name, "")
        if value:
            out[name] = value
        else:
            out.pop(name, None)
    return out


@dataclass
class _Pairing:
    """The value-independent part of one vector matching: which samples pair up."""

    pairs: list[tuple[int, int, Labels, tuple[tuple[str, str], ...]]]
    """(index on the many side, index on the one side, result labels, match group)."""
    unique: bool
    """All result label sets differ: no filtering can make the grouping check fail."""


def _pairing(op: str, many: Vector, one: Vector, m: Matching, memo: Memo, return_bool: bool,
             swap: bool) -> _Pairing:
    one_side = "left" if swap else "right"
    by_sig: dict[tuple[tuple[str, str], ...], int] = {}
    for j, (labels, _) in enumerate(one):
        sig = memo.signature(m, labels)
        if sig in by_sig:
            raise MatchingError(
                f"found duplicate series for the match group {_group_text(sig)} on the "
                f"{one_side} hand-side of the operation: [{_labels_text(labels)}, "
                f"{_labels_text(one[by_sig[sig]][0])}]; many-to-many matching not allowed: "
                "matching labels must be unique on one side")
        by_sig[sig] = j
    matched: set[tuple[tuple[str, str], ...]] = set()
    pairs: list[tuple[int, int, Labels, tuple[tuple[str, str], ...]]] = []
    keys: set[tuple[tuple[str, str], ...]] = set()
    for i, (labels, _) in enumerate(many):
        sig = memo.signature(m, labels)
        hit = by_sig.get(sig)
        if hit is None:
            continue
        if m.group is None:  # checked before filtering, as Prometheus 3 does
            if sig in matched:
                raise MatchingError(
                    f"found duplicate series for the match group {_group_text(sig)} on the "
                    f"{'right' if swap else 'left'} hand-side of the operation; many-to-many "
                    "matching not allowed: matching labels must be unique on one side "
                    "(for many-to-one matching use group_left / group_right)")
            matched.add(sig)
        metric = memo.result(labels, one[hit][0], op, m, return_bool)
        keys.add(memo.key(metric))
        pairs.append((i, hit, metric, sig))
    return _Pairing(pairs, len(keys) == len(pairs))


def vector_vector(op: str, lhs: Vector, rhs: Vector, m: Matching = Matching(),
                  return_bool: bool = False, memo: Memo | None = None) -> Vector:
    """``lhs op rhs`` for arithmetic and comparison operators (one-to-one, many-to-one or
    one-to-many matching)."""
    if (not lhs or not rhs) and not m.fills:
        return []
    memo = memo or Memo()
    fn = elem_function(op)
    swap = m.group == "right"
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    # which samples pair up depends only on which series are present: once per presence
    shape = (tuple([id(x) for x, _ in many]), tuple([id(x) for x, _ in one]))
    pairing = memo.pairings.get(shape)
    if pairing is None:
        pairing = memo.pairings[shape] = _pairing(op, many, one, m, memo, return_bool, swap)
    seen: dict[tuple[tuple[str, str], ...], set[tuple[tuple[str, str], ...]]] = {}
    out: Vector = []
    for i, j, metric, sig in pairing.pairs:
        v, w = many[i][1], one[j][1]
        value, keep = fn(w, v) if swap else fn(v, w)
        if return_bool:
            value = 1.0 if keep else 0.0
        elif not keep:
            continue
        if m.group is not None and not pairing.unique:
            key = memo.key(metric)
            group = seen.setdefault(sig, set())
            if key in group:
                raise MatchingError("multiple matches for labels: grouping labels must "
                                    "ensure unique matches")
            group.add(key)
        out.append((metric, value))
    if m.fills:
        out += _filled(op, many, one, pairing, m, return_bool, memo)
    return out


_NO_LABELS: Labels = {}


def _filled(op: str, many: Vector, one: Vector, pairing: _Pairing, m: Matching,
            return_bool: bool, memo: Memo) -> Vector:
    """Prometheus 3's ``fill_left`` / ``fill_right``: results for the samples without a
    match, the fill value standing in for the missing operand (`Matching`)."""
    fn = elem_function(op)
    swap = m.group == "right"
    out: Vector = []

    def add(labels: Labels, pair: tuple[float, bool]) -> None:
        value, keep = pair
        if return_bool:
            out.append((labels, 1.0 if keep else 0.0))
        elif keep:
            out.append((labels, value))

    if m.fill_right is not None:  # a "many" sample alone: the "one" operand filled
        paired = {i for i, _, _, _ in pairing.pairs}
        for i, (labels, v) in enumerate(many):
            if i not in paired:
                metric = memo.result(labels, _NO_LABELS, op, m, return_bool)
                add(metric, fn(m.fill_right, v) if swap else fn(v, m.fill_right))
    if m.fill_left is not None:  # a "one" sample alone: the "many" operand filled
        paired = {j for _, j, _, _ in pairing.pairs}
        for j, (labels, w) in enumerate(one):
            if j not in paired:
                group = dict(memo.signature(m, labels))
                add(group, fn(w, m.fill_left) if swap else fn(m.fill_left, w))
    return out


def set_operation(op: str, lhs: Vector, rhs: Vector, m: Matching = Matching(),
                  memo: Memo | None = None) -> Vector:
    """``lhs and rhs``, ``lhs or rhs``, ``lhs unless rhs`` (many-to-many)."""
    memo = memo or Memo()

    def sig(labels: Labels) -> tuple[tuple[str, str], ...]:
        return memo.signature(m, labels, True)

    if op == "and":
        if not lhs or not rhs:
            return []
        right = {sig(labels) for labels, _ in rhs}
        return [s for s in lhs if sig(s[0]) in right]
    if op == "or":
        if not lhs or not rhs:
            return [*lhs, *rhs]
        left = {sig(labels) for labels, _ in lhs}
        return [*lhs, *(s for s in rhs if sig(s[0]) not in left)]
    if op == "unless":
        if not lhs or not rhs:
            return list(lhs)
        right = {sig(labels) for labels, _ in rhs}
        return [s for s in lhs if sig(s[0]) not in right]
    raise ValueError(f"not a set operator: {op!r}")


def check_unique(vec: Vector, memo: Memo | None = None) -> None:
    """Prometheus refuses a result with one label set (name included) twice at a time."""
    memo = memo or Memo()
    shape = tuple([id(labels) for labels, _ in vec])
    if memo.known_unique(shape):
        return
    seen: set[tuple[tuple[str, str], ...]] = set()
    for labels, _ in vec:
        key = memo.key(labels)
        if key in seen:
            raise MatchingError(
                f"vector cannot contain metrics with the same labelset "
                f"({_labels_text(labels)}): a binary operation gave two results for it; "
                "match on() or ignoring() fewer labels, or aggregate first")
        seen.add(key)
    memo.add_unique(shape, [labels for labels, _ in vec])


def apply(b: Binary, left: Vector, right: Vector | None, memo: Memo | None = None) -> Vector:
    """One operation at one evaluation time (`right` is None when ``b.right`` is a number);
    `memo` carries per-series work from one evaluation time to the next."""
    memo = memo or Memo()
    if right is None:
        assert not isinstance(b.right, MetricOperand)
        out = vector_scalar(b.op, left, float(b.right), scalar_left=b.scalar_left,
                            return_bool=b.bool_modifier, memo=memo)
    elif b.op in SET_OPS:
        out = set_operation(b.op, left, right, Matching.of(b), memo)
    else:
        out = vector_vector(b.op, left, right, Matching.of(b), b.bool_modifier, memo)
    check_unique(out, memo)
    return out


# -- whole queries ---------------------------------------------------------------------------

def keeps_name(q: MetricQuery) -> bool:
    """Whether the query's series keep their metric name in PromQL (module docstring)."""
    return q.function in ("raw", "last_over_time", "first_over_time") and q.aggregation in (
        "none", "topk", "bottomk")


def _steps(q: MetricQuery, series: list[Series]) -> Steps:
    named = keeps_name(q)
    out: Steps = defaultdict(list)
    for s in series:
        labels = {k: v for k, v in s.labels.items() if v and k != NAME}
        if named:
            labels[NAME] = s.metric
        for t, v in s.points:
            out[t].append((labels, v))
    return out


def evaluate_steps(q: MetricQuery, run: LeafRunner) -> Steps:
    """`q` (all its steps included) as an instant vector per evaluation time."""
    steps = _steps(q, run(q.leaf()))
    for n, b in enumerate(q.operations()):
        memo = Memo()
        if isinstance(b, Binary) and isinstance(b.right, MetricOperand):
            right = evaluate_steps(q.operand(b.right), run)
            times = sorted(set(steps) | set(right))
            steps = {t: apply(b, steps.get(t, []), right.get(t, []), memo) for t in times}
        elif isinstance(b, Binary):
            steps = {t: apply(b, vec, None, memo) for t, vec in steps.items()}
        elif isinstance(b, Apply) and b.apply == "absent":
            labels = absent_labels(q) if n == 0 else {}
            steps = {t: [(labels, 1.0)] for t in q.eval_times() if not steps.get(t)}
        else:
            steps = {t: out for t, vec in steps.items() if (out := apply_step(b, vec))}
            for vec in steps.values():
                check_unique(vec, memo)
    return steps


def absent_labels(q: MetricQuery) -> Labels:
    """The labels ``absent`` gives its one sample: the ``=`` matchers of a plain selector
    (a label matched again by any matcher is left out), none for any other expression (as
    PromQL's ``createLabelsForAbsentFunction``)."""
    if q.function != "raw" or q.aggregation != "none":
        return {}
    out: Labels = {}
    seen: set[str] = set()
    for m in q.matchers:
        if m.label == NAME:
            continue
        if m.op == "=" and m.label not in seen and m.value:
            out[m.label] = m.value
        else:
            out.pop(m.label, None)
        seen.add(m.label)
    return out


def to_series(steps: Steps, metric: str) -> list[Series]:
    """Per-time vectors back into series (labels without ``__name__``; `metric` names those
    without a name), sorted by labels."""
    points: dict[tuple[tuple[str, str], ...], list[tuple[datetime, float]]] = defaultdict(list)
    memo = Memo()
    for t in sorted(steps):
        for labels, v in steps[t]:
            points[memo.key(labels)].append((t, v))
    out = [
        Series.model_construct(metric=dict(key).get(NAME, metric),
                               labels={k: v for k, v in key if k != NAME}, points=pts)
        for key, pts in points.items()
    ]
    out.sort(key=lambda s: (sorted(s.labels.items()), s.metric))
    return out


def evaluate(q: MetricQuery, run: LeafRunner) -> list[Series]:
    """`q` evaluated with all its steps; `run` evaluates each query without them."""
    if not q.operations():
        return run(q)
    return to_series(evaluate_steps(q, run), q.metric)


def metric_leaves(q: MetricQuery) -> list[MetricQuery]:
    """Every query without binary operations that evaluating `q` runs (in order)."""
    out = [q.leaf()]
    for b in q.operations():
        if isinstance(b, Binary) and isinstance(b.right, MetricOperand):
            out += metric_leaves(q.operand(b.right))
    return out


def operations_text(q: MetricQuery) -> str:
    """The steps after the leaf, as the native text names them: ``/, *, round, sum by
    (host)``."""
    return ", ".join(_operation_text(b) for b in q.operations())


def _operation_text(b: Operation) -> str:
    match b:
        case Binary():
            return b.op
        case Apply():
            return b.apply
        case Aggregate():
            if b.without is not None:
                return f"{b.aggregate} without ({', '.join(b.without)})"
            return f"{b.aggregate} by ({', '.join(b.by)})" if b.by else b.aggregate
        case LabelReplace():
            return f"label_replace({b.dst})"
        case LabelJoin():
            return f"label_join({b.dst})"
        case _:
            assert_never(b)
