"""The `MetricQuery.then` steps other than binary operators, on evaluated instant vectors.

Each step maps the vector at one evaluation time to a new one, as Prometheus' engine does
(``promql/functions.go``, ``aggregation`` in ``engine.go``):

* `Apply`: a function of each sample (IEEE results as Go's ``math``: ``ln(-1)`` is NaN,
  ``sin(Inf)`` NaN; ``round`` rounds half up to the nearest multiple of its argument);
  every function drops the metric name but ``sort`` / ``sort_desc``, which only order the
  vector. ``histogram_quantile`` / ``histogram_fraction`` group bucket samples by their
  labels without ``le`` (samples without a readable ``le`` are ignored) and interpolate
  (`connectors.sql.promql`); ``absent`` needs every evaluation time and runs in
  `connectors.sql.binop`.
* `Aggregate`: groups by ``by`` (or all labels but ``without`` and the name), then the
  aggregation; ``topk`` / ``bottomk`` keep the samples' labels and replay Prometheus' heap
  per group in Prometheus' series order; ``count_values`` adds ``label`` with each value
  as Go formats it.
* `LabelReplace` / `LabelJoin`: rewrite one label (an empty result deletes it), keeping
  the name; the regex is anchored at both ends and ``$1`` / ``${name}`` expand as Go's
  ``regexp.Expand``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import assert_never

import numpy as np

from assistant.ir import Aggregate, Apply, LabelJoin, LabelReplace
from connectors.sql.promql import (
    bucket_fraction,
    bucket_quantile,
    combine,
    heap_select,
    parse_le,
    quantile,
)

NAME = "__name__"
NAME_LABELS = frozenset({NAME, "__type__", "__unit__"})
Labels = dict[str, str]
Vector = list[tuple[Labels, float]]
Step = Apply | Aggregate | LabelReplace | LabelJoin


def _np(fn: Callable[[np.float64], np.float64]) -> Callable[[float], float]:
    def run(v: float) -> float:
        with np.errstate(all="ignore"):
            return float(fn(np.float64(v)))
    return run


def _sgn(v: float) -> float:
    return 1.0 if v > 0 else -1.0 if v < 0 else v


def _go_max(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


def _go_min(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else min(a, b)


ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "abs": _np(np.abs), "ceil": _np(np.ceil), "floor": _np(np.floor), "exp": _np(np.exp),
    "ln": _np(np.log), "log2": _np(np.log2), "log10": _np(np.log10), "sqrt": _np(np.sqrt),
    "sin": _np(np.sin), "cos": _np(np.cos), "tan": _np(np.tan), "asin": _np(np.arcsin),
    "acos": _np(np.arccos), "atan": _np(np.arctan), "sinh": _np(np.sinh),
    "cosh": _np(np.cosh), "tanh": _np(np.tanh), "asinh": _np(np.arcsinh),
    "acosh": _np(np.arccosh), "atanh": _np(np.arctanh), "sgn": _sgn,
    "deg": lambda v: v * 180 / math.pi, "rad": lambda v: v * math.pi / 180,
}


def drop_name(labels: Labels) -> Labels:
    if NAME_LABELS.isdisjoint(labels):
        return labels
    return {k: v for k, v in labels.items() if k not in NAME_LABELS}


def value_function(a: Apply) -> Callable[[float], float] | None:
    """The per-sample function of `a` (None: not a per-sample function)."""
    if a.apply in ELEMENTWISE:
        return ELEMENTWISE[a.apply]
    match a.apply:
        case "round":
            inverse = 1.0 / (a.args[0] if a.args else 1.0)
            return _np(lambda v: np.floor(v * inverse + 0.5) / inverse)
        case "clamp":
            low, high = a.args
            return lambda v: _go_max(low, _go_min(high, v))
        case "clamp_min":
            return lambda v: _go_max(a.args[0], v)
        case "clamp_max":
            return lambda v: _go_min(a.args[0], v)
    return None


def apply_step(step: Step, vec: Vector) -> Vector:
    """`step` on the instant vector `vec` (``absent`` excepted: see module docstring)."""
    match step:
        case Apply():
            return _apply(step, vec)
        case Aggregate():
            return aggregate(step, vec)
        case LabelReplace():
            return [(label_replace(step, labels), v) for labels, v in vec]
        case LabelJoin():
            return [(label_join(step, labels), v) for labels, v in vec]
        case _:
            assert_never(step)


def _apply(a: Apply, vec: Vector) -> Vector:
    fn = value_function(a)
    if fn is not None:
        if a.apply == "clamp" and a.args[1] < a.args[0]:
            return []  # Prometheus: an empty result when max < min
        return [(drop_name(labels), fn(v)) for labels, v in vec]
    match a.apply:
        case "sort" | "sort_desc":
            desc = a.apply == "sort_desc"
            return sorted(vec, key=lambda s: (math.isnan(s[1]), -s[1] if desc else s[1]))
        case "histogram_quantile":
            return _buckets(vec, lambda b: bucket_quantile(a.args[0], b))
        case "histogram_fraction":
            return _buckets(vec, lambda b: bucket_fraction(a.args[0], a.args[1], b))
        case "absent":
            raise ValueError("absent needs every evaluation time: use binop.evaluate")
    raise ValueError(f"unknown function {a.apply!r}")


def _buckets(vec: Vector,
             fn: Callable[[list[tuple[float, float]]], float]) -> Vector:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for labels, v in vec:
        le = parse_le(labels.get("le"))
        if le is None:
            continue  # not a bucket: ignored, as Prometheus does
        key = tuple(sorted((k, x) for k, x in labels.items()
                           if k != "le" and k not in NAME_LABELS))
        groups.setdefault(key, []).append((le, v))
    return [(dict(key), fn(buckets)) for key, buckets in groups.items()]


# -- aggregation -----------------------------------------------------------------------------

def _group_key(a: Aggregate, labels: Labels) -> tuple[tuple[str, str], ...]:
    if a.without is not None:
        return tuple(sorted((k, v) for k, v in labels.items()
                            if k not in NAME_LABELS and k not in a.without and v))
    return tuple(sorted((k, v) for k, v in labels.items() if k in a.by and v))


def aggregate(a: Aggregate, vec: Vector) -> Vector:
    """`a` over the samples of one evaluation time."""
    groups: dict[tuple[tuple[str, str], ...], Vector] = {}
    for labels, v in vec:
        groups.setdefault(_group_key(a, labels), []).append((labels, v))
    out: Vector = []
    for key, members in groups.items():
        values = [v for _, v in members]
        match a.aggregate:
            case "topk" | "bottomk":
                out += _topk(a, members)
            case "count_values":
                counts: dict[str, int] = {}
                for v in values:
                    text = format_value(v)
                    counts[text] = counts.get(text, 0) + 1
                assert a.label is not None  # guaranteed by the IR validator
                out += [({**dict(key), a.label: text}, float(n)) for text, n in counts.items()]
            case "group":
                out.append((dict(key), 1.0))
            case "quantile":
                assert a.param is not None
                out.append((dict(key), combine_quantile(a.param, values)))
            case _:
                out.append((dict(key), combine(a.aggregate, values)))
    return out


def combine_quantile(q: float, values: list[float]) -> float:
    """PromQL's ``quantile`` at any level (NaN level: NaN)."""
    return math.nan if math.isnan(q) else quantile(q, values)


def _topk(a: Aggregate, members: Vector) -> Vector:
    assert a.param is not None  # guaranteed by the IR validator
    k = int(min(a.param, len(members)))
    if k < 1:
        return []
    ordered = sorted(members, key=lambda s: sorted(s[0].items()))
    keep = heap_select([(i, v) for i, (_, v) in enumerate(ordered)], k,
                       top=a.aggregate == "topk")
    return [ordered[i] for i in sorted(keep)]


def format_value(v: float) -> str:
    """A value as ``count_values`` labels it (Go's ``FormatFloat(v, 'f', -1, 64)``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(np.format_float_positional(v, trim="-"))


# -- labels ----------------------------------------------------------------------------------

_TEMPLATE = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def expand(template: str, m: re.Match[str]) -> str:
    """Go's ``regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}`` (unknown: empty),
    ``$$`` a dollar sign."""
    def one(x: re.Match[str]) -> str:
        if x.group(0) == "$$":
            return "$"
        name = x.group(1) or x.group(2)
        if name.isdigit():
            index = int(name)
            return (m.group(index) or "") if index <= (m.re.groups or 0) else ""
        try:
            return m.group(name) or ""
        except IndexError:
            return ""
    return _TEMPLATE.sub(one, template)


def _set(labels: Labels, name: str, value: str) -> Labels:
    out = {k: v for k, v in labels.items() if k != name}
    if value:
        out[name] = value
    return out


def label_replace(r: LabelReplace, labels: Labels) -> Labels:
    m = re.fullmatch(r.regex, labels.get(r.src, ""), re.DOTALL)
    if m is None:
        return labels
    return _set(labels, r.dst, expand(r.replacement, m))


def label_join(j: LabelJoin, labels: Labels) -> Labels:
    return _set(labels, j.dst, j.separator.join(labels.get(s, "") for s in j.src))
