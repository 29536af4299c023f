"""Prometheus's own PromQL engine tests (``promqltest/*.test``) run through the embedded engine.

Plain Python, independent of the planner: each file's ``load`` blocks become a fresh
in-memory store (the embedded schema), each ``eval`` expression the typed IR can express
is translated into a `MetricQuery` by a small PromQL-subset parser, compiled by the
embedded engine's SQL builder (`connectors.sql.metrics`, DuckDB), and its result compared
with the expected values the way Prometheus' test framework does (relative 1e-6, NaN
equals NaN, label sets without ``__name__``).

An expression is *expressible* when it is a selector (with ``offset`` and ``@``), a
supported range function over a range selector or a subquery of one (``rate(x[5m:1m])``:
``changes``, ``resets``, ``irate``, ``idelta``, ``deriv``, ``predict_linear``,
``first_over_time`` and the others of `assistant.ir.MetricFunction`),
``histogram_quantile`` over bucket rates, or one aggregation of those
(``sum``/``avg``/``min``/``max``/``count``/``stddev``/``stdvar``/``topk``/``bottomk``/
``quantile`` at 0.5/0.9/0.95/0.99, ``by`` or ``without``), followed by any chain of
binary operators (``+ - * / % ^ atan2``, comparisons with or without ``bool``,
``and``/``or``/``unless``, ``on``/``ignoring``, ``group_left``/``group_right``,
``fill``/``fill_left``/``fill_right``, unary minus, PromQL precedence and parentheses;
scalar sub-expressions are folded) as
`MetricQuery.binary`, and of `MetricQuery.then` steps: element-wise functions (``abs``,
``round``, ``clamp*``, ``exp``/``ln``/``sqrt``/trigonometry, ``sort``, ``absent``,
``histogram_quantile``/``histogram_fraction`` over any bucket expression), aggregations
of anything (any quantile, ``group``, ``count_values``, ``topk by``), ``label_replace`` and
``label_join``. Durations may be expressions (``[2m*15]``, ``offset step()``, ``range()``).
*Not expressible*: selectors without one metric name (``{job="x"}``), ``vector()``/
``scalar()``/``time()`` and the date functions, subqueries of anything but a selector,
``anchored``/``smoothed``, ``info``, ``sort_by_label``, ``limitk``, grouping by
``__name__``, windows that are not whole seconds; so are results the runner does not read
(range vectors, strings, scalars) and series loaded with start timestamps (``@st``), which
the store cannot hold. Cases reading native histograms are counted apart and not run. The
engine runs with ``semantics="prometheus3"`` (left-open windows, as the files expect); the
connectors' default is Prometheus 2.x (`connectors.sql.metrics`).
Not checked: ``expect warn``/``info`` annotations, ``expect ordered`` order, and
``__name__`` on results; an empty label value is no label (as in Prometheus).

    python -m tests.promqltest_runner [--data DIR] [--verbose]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import duckdb
import pyarrow as pa

from assistant.errors import OpsaError
from assistant.ir import (
    AGG_QUANTILES,
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    SET_OPS,
    Aggregate,
    Apply,
    ApplyFunction,
    Binary,
    LabelJoin,
    LabelReplace,
    Matcher,
    MetricOperand,
    MetricQuery,
    Operation,
    StepAggregation,
    TimeRange,
)
from connectors.base import Series
from connectors.embedded import schema
from connectors.sql.binop import elem, evaluate
from connectors.sql.dialect import DuckDB
from connectors.sql.metrics import build_metric_sql
from connectors.sql.results import columns_from_rows, metric_series

DEFAULT_DATA = Path(os.environ.get("OPSA_PUBLIC_DATA")
                    or Path(__file__).resolve().parents[2] / "shared" / "data") / "promqltest"
"""Where the files are: ``$OPSA_PUBLIC_DATA/promqltest`` or ``../shared/data/promqltest``."""
EPSILON = 1e-6
MIN_NORMAL = 2.2250738585072014e-308
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STALE = "stale"


class NotExpressible(Exception):
    """The expression (or its expected result) has no `MetricQuery` equivalent."""


# -- durations, numbers, series values -----------------------------------------------------

_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
            "w": 604_800_000, "y": 31_536_000_000}


def parse_duration_ms(text: str) -> int:
    """A PromQL duration (``1h30m``, ``10s53ms``) or a plain number of seconds, in ms."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return round(float(text) * 1000)
    pos, total = 0, 0
    for m in _DUR.finditer(text):
        if m.start() != pos:
            raise ValueError(f"bad duration {text!r}")
        total += round(float(m.group(1)) * _UNIT_MS[m.group(2)])
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"bad duration {text!r}")
    return total


def parse_number(text: str) -> float:
    low = text.lower()
    if low in ("inf", "+inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    if low in ("nan", "+nan", "-nan"):
        return math.nan
    if re.fullmatch(r"[+-]?0x[0-9a-f]+", low):
        return float(int(low, 16))
    return float(text)


Value = float | str | None  # a number, STALE, or None (no sample)


def expand_values(tokens: Sequence[str]) -> list[Value]:
    """A series description's values: ``1 2 _ stale 0+10x5 1-1x3 _x4 7x2``."""
    out: list[Value] = []
    for tok in tokens:
        if tok.startswith("{{"):
            raise NotExpressible("native histogram sample")
        if tok == "_":
            out.append(None)
            continue
        if tok == STALE:
            out.append(STALE)
            continue
        m = re.fullmatch(r"_x(\d+)", tok)
        if m:
            out.extend([None] * int(m.group(1)))
            continue
        m = re.fullmatch(
            r"([+-]?(?:[0-9.]+(?:e[+-]?\d+)?|inf|nan|0x[0-9a-f]+))"
            r"(?:([+-])([0-9.]+(?:e[+-]?\d+)?|inf|nan))?x(\d+)", tok, re.I)
        if m:
            start = parse_number(m.group(1))
            step = parse_number(m.group(3)) if m.group(3) else 0.0
            if m.group(2) == "-":
                step = -step
            out.extend(start + step * j for j in range(int(m.group(4)) + 1))
            continue
        out.append(parse_number(tok))
    return out


# -- a small PromQL tokenizer and parser ---------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+(?![\w.]))
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=(){}\[\],@:])
""", re.X)


@dataclass
class Tok:
    kind: str
    text: str


def tokenize(expr: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise NotExpressible(f"cannot tokenize at {expr[pos:pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, m.group()))
    return out


def unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    body = text[1:-1]
    if re.search(r"\\x[89a-fA-F][0-9a-fA-F]", body):
        raise NotExpressible("a string with raw bytes (not UTF-8)")
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(
        m.group(1), m.group(1)), body)


@dataclass
class Sel:
    metric: str | None
    matchers: list[Matcher]
    range_ms: int | None = None
    offset_ms: int = 0
    at_ms: int | None = None
    sub_step_ms: int | None = None
    """A subquery ``[range:step]`` of the selector."""


@dataclass
class Call:
    name: str
    args: list[Node]


@dataclass
class Agg:
    op: str
    param: Node | None
    expr: Node
    by: list[str] | None = None
    without: list[str] | None = None


@dataclass
class Num:
    value: float


@dataclass
class Str:
    value: str


@dataclass
class Bin:
    """``lhs op [bool] [on(..)|ignoring(..)] [group_left(..)|group_right(..)] rhs``."""

    op: str
    lhs: Node
    rhs: Node
    bool_: bool = False
    on: list[str] | None = None
    ignoring: list[str] | None = None
    group: str | None = None
    include: list[str] = field(default_factory=list)
    fill_left: float | None = None
    fill_right: float | None = None


@dataclass
class Neg:
    expr: Node


Node = Sel | Call | Agg | Num | Str | Bin | Neg

BINARY_PRECEDENCE = {
    "or": 1, "and": 2, "unless": 2,
    "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6,
}
"""PromQL's binary operator precedence (``^`` is right-associative, unary minus binds
like ``*``)."""

DURATION_OPS = frozenset({"+", "-", "*", "/", "%", "^"})
"""The operators of duration expressions (``[2m*15]``, ``offset (step()/10)``)."""

AGG_OPS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk",
           "quantile", "count_values", "group", "limitk", "limit_ratio"}


class Parser:
    """Recursive descent over the subset; anything else raises `NotExpressible`."""

    def __init__(self, expr: str, step_ms: int | None = None,
                 range_ms: int | None = None) -> None:
        self.toks = tokenize(expr)
        self.i = 0
        self.step_ms = step_ms
        self.range_ms = range_ms
        """What ``step()`` and ``range()`` are in duration expressions (None: unknown)."""

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self, *texts: str) -> bool:
        """Whether the next token is one of `texts` (keywords case-insensitively)."""
        tok = self.peek()
        return tok is not None and (tok.text in texts or tok.text.lower() in texts)

    def next(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise NotExpressible("unexpected end")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text:
            raise NotExpressible(f"expected {text!r}, got {tok.text!r}")

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            raise NotExpressible(f"operator or trailing {tok.text!r}")
        return node

    def expr(self, min_prec: int = 0) -> Node:
        """A binary expression of operators binding at least `min_prec` (precedence
        climbing over `BINARY_PRECEDENCE`)."""
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "string":
                return left
            op = tok.text.lower() if tok.kind == "ident" else tok.text
            prec = BINARY_PRECEDENCE.get(op)
            if prec is None or prec < min_prec:
                return left
            self.next()
            node = Bin(op, left, left)
            if self.at("bool"):
                self.next()
                node.bool_ = True
            if self.at("on", "ignoring"):
                which = self.next().text.lower()
                names = self.labels()
                if which == "on":
                    node.on = names
                else:
                    node.ignoring = names
            if self.at("group_left", "group_right"):
                node.group = self.next().text.lower().removeprefix("group_")
                if self.at("("):
                    node.include = self.labels()
            self.fills(node)
            node.rhs = self.expr(prec if op == "^" else prec + 1)
            left = node

    def fills(self, node: Bin) -> None:
        """``fill(v)``, ``fill_left(v)``, ``fill_right(v)`` (a name followed by ``(``)."""
        while self.at("fill", "fill_left", "fill_right") and (
                (nxt := self.peek(1)) is not None and nxt.text == "("):
            which = self.next().text.lower()
            self.expect("(")
            value = self.fill_value()
            self.expect(")")
            if which in ("fill", "fill_left"):
                node.fill_left = value
            if which in ("fill", "fill_right"):
                node.fill_right = value

    def fill_value(self) -> float:
        sign = 1.0
        while self.at("-", "+"):
            sign *= -1.0 if self.next().text == "-" else 1.0
        tok = self.next()
        if tok.kind != "number" and tok.text.lower() not in ("inf", "nan"):
            raise NotExpressible(f"fill value {tok.text!r}")
        return sign * parse_number(tok.text)

    def unary(self) -> Node:
        if self.at("-", "+"):
            sign = self.next().text
            inner = self.expr(BINARY_PRECEDENCE["^"])
            return Neg(inner) if sign == "-" else inner
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise NotExpressible("empty expression")
        if tok.text == "(":
            self.next()
            inner = self.expr()
            self.expect(")")
            if self.at("["):  # a subquery of a parenthesized expression
                if not isinstance(inner, Sel) or inner.range_ms is not None \
                        or inner.offset_ms or inner.at_ms is not None:
                    raise NotExpressible("subquery of an expression")
                self.range_suffix(inner)
                if inner.sub_step_ms is None:
                    raise NotExpressible("a range of a parenthesized selector")
                self.modifiers(inner)
            return inner
        if tok.kind == "number":
            self.next()
            return Num(parse_number(tok.text))
        if tok.kind == "string":
            self.next()
            return Str(unquote(tok.text))
        if tok.kind == "duration":
            self.next()
            return Num(parse_duration_ms(tok.text) / 1000)
        if tok.kind == "ident":
            low = tok.text.lower()
            nxt = self.peek(1)
            if low in ("inf", "nan") and (nxt is None or nxt.text != "{"):
                self.next()
                return Num(parse_number(tok.text))
            if low in AGG_OPS and nxt is not None and (
                    nxt.text == "(" or nxt.text.lower() in ("by", "without")):
                return self.aggregation()
            if nxt is not None and nxt.text == "(":
                self.next()
                self.next()
                args: list[Node] = []
                if not self.at(")"):
                    args.append(self.expr())
                    while self.at(","):
                        self.next()
                        args.append(self.expr())
                self.expect(")")
                return Call(tok.text, args)
            return self.selector()
        if tok.text == "{":
            return self.selector()
        raise NotExpressible(f"unsupported {tok.text!r}")

    def labels(self) -> list[str]:
        self.expect("(")
        out: list[str] = []
        while not self.at(")"):
            tok = self.next()
            if tok.kind == "string":
                out.append(unquote(tok.text))
            elif tok.kind == "ident":
                out.append(tok.text)
            else:
                raise NotExpressible(f"bad label {tok.text!r}")
            if self.at(","):
                self.next()
        self.expect(")")
        return out

    def aggregation(self) -> Agg:
        op = self.next().text.lower()
        by = without = None
        mod = self.peek()
        if mod is not None and mod.text.lower() in ("by", "without"):
            self.next()
            if mod.text.lower() == "by":
                by = self.labels()
            else:
                without = self.labels()
        self.expect("(")
        first = self.expr()
        param = None
        if self.at(","):
            self.next()
            param, first = first, self.expr()
        self.expect(")")
        mod = self.peek()
        if mod is not None and mod.text.lower() in ("by", "without"):
            if by is not None or without is not None:
                raise NotExpressible("two grouping clauses")
            self.next()
            if mod.text.lower() == "by":
                by = self.labels()
            else:
                without = self.labels()
        return Agg(op, param, first, by, without)

    def selector(self) -> Sel:
        metric = None
        tok = self.peek()
        if tok is not None and tok.kind == "ident":
            metric = self.next().text
        matchers: list[Matcher] = []
        if self.at("{"):
            self.next()
            while not self.at("}"):
                name_tok = self.next()
                if name_tok.kind == "string" and self.at(",", "}"):
                    metric = unquote(name_tok.text)  # {"metric name"}
                else:
                    name = unquote(name_tok.text) if name_tok.kind == "string" else name_tok.text
                    op = self.next().text
                    if op not in ("=", "!=", "=~", "!~"):
                        raise NotExpressible(f"bad matcher op {op!r}")
                    val = self.next()
                    if val.kind != "string":
                        raise NotExpressible("matcher value")
                    matchers.append(Matcher.model_validate(
                        {"label": name, "op": op, "value": unquote(val.text)}))
                if self.at(","):
                    self.next()
            self.expect("}")
        if metric is None:
            names = [m for m in matchers if m.label == "__name__"]
            if len(names) != 1 or names[0].op != "=":
                raise NotExpressible("selector without one metric name")
            metric = names[0].value
            matchers = [m for m in matchers if m.label != "__name__"]
        sel = Sel(metric, matchers)
        if self.at("["):
            self.range_suffix(sel)
        self.modifiers(sel)
        return sel

    def range_suffix(self, sel: Sel) -> None:
        """``[range]`` or a subquery ``[range:step]`` after a selector."""
        self.expect("[")
        sel.range_ms = self.duration_ms(self.duration_expr())
        tok = self.peek()
        if tok is not None and tok.text.startswith(":"):
            self.next()
            if tok.text == ":":
                if self.at("]"):
                    raise NotExpressible("a subquery without a step")
                sel.sub_step_ms = self.duration_ms(self.duration_expr())
            else:  # ':10s' tokenized as one name
                sel.sub_step_ms = parse_duration_ms(tok.text[1:])
        self.expect("]")

    def modifiers(self, sel: Sel) -> None:
        """``offset`` and ``@`` after a selector, in either order."""
        while self.at("offset", "@"):
            if self.next().text == "@":
                sel.at_ms = round(self.at_time() * 1000)
                continue
            sign = 1.0
            while self.at("-", "+"):
                sign *= -1.0 if self.next().text == "-" else 1.0
            sel.offset_ms = self.duration_ms(sign * self.duration_atom())

    def at_time(self) -> float:
        """The time after ``@`` in seconds (a number, or a duration since the epoch)."""
        sign = 1.0
        if self.at("-", "+"):
            sign = -1.0 if self.next().text == "-" else 1.0
        tok = self.next()
        if tok.kind not in ("number", "duration"):
            raise NotExpressible(f"@ {tok.text}")
        return sign * parse_duration_ms(tok.text) / 1000 if tok.kind == "duration" \
            else sign * parse_number(tok.text)

    @staticmethod
    def duration_ms(seconds: float) -> int:
        if not math.isfinite(seconds):
            raise NotExpressible("a duration that is not finite")
        return round(seconds * 1000)

    def duration_expr(self, min_prec: int = 0) -> float:
        """A duration expression (``2m*(10+5)``, ``step()+1``) in seconds."""
        left = self.duration_unary()
        while True:
            tok = self.peek()
            if tok is None or tok.text not in DURATION_OPS:
                return left
            prec = BINARY_PRECEDENCE[tok.text]
            if prec < min_prec:
                return left
            self.next()
            right = self.duration_expr(prec if tok.text == "^" else prec + 1)
            left, _ = elem(tok.text, left, right)

    def duration_unary(self) -> float:
        if self.at("-", "+"):
            sign = -1.0 if self.next().text == "-" else 1.0
            return sign * self.duration_expr(BINARY_PRECEDENCE["^"])
        return self.duration_atom()

    def duration_atom(self) -> float:
        tok = self.next()
        if tok.kind == "duration":
            return parse_duration_ms(tok.text) / 1000
        if tok.kind == "number":
            return parse_number(tok.text)
        if tok.text == "(":
            value = self.duration_expr()
            self.expect(")")
            return value
        name = tok.text.lower()
        if tok.kind == "ident" and name in ("step", "range", "min_of", "max_of"):
            self.expect("(")
            args: list[float] = []
            while not self.at(")"):
                args.append(self.duration_expr())
                if self.at(","):
                    self.next()
            self.expect(")")
            if name in ("min_of", "max_of") and len(args) == 2:
                return min(args) if name == "min_of" else max(args)
            known = self.step_ms if name == "step" else self.range_ms
            if args or known is None:
                raise NotExpressible(f"{name}() here")
            return known / 1000
        raise NotExpressible(f"duration expression at {tok.text!r}")


# -- translation to the IR -----------------------------------------------------------------

RANGE_FUNCTIONS = {
    "rate", "increase", "delta", "avg_over_time", "min_over_time", "max_over_time",
    "sum_over_time", "count_over_time", "last_over_time", "stddev_over_time",
    "stdvar_over_time", "present_over_time", "absent_over_time", "changes", "resets",
    "irate", "idelta", "deriv", "first_over_time",
}
NAME_KEEPING = {"last_over_time", "first_over_time"}
"""Range functions whose result keeps the metric name (Prometheus 3)."""
APPLY_FUNCTIONS = set(get_args(ApplyFunction)) - {"absent", "histogram_quantile"}
"""Functions of a whole expression (`Apply`); ``histogram_quantile`` over bucket rates is
the query's own function where it can be."""
IR_AGGREGATIONS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar"}


@dataclass
class Translation:
    """The IR fields of one expression (without the time range and mode)."""

    fields: dict[str, Any]
    keeps_name: bool = False


def _whole_seconds(ms: int, what: str) -> int:
    if ms % 1000 or ms <= 0:
        raise NotExpressible(f"{what} of {ms} ms is not a whole number of seconds")
    return ms // 1000


def _ir_supports(name: str, kind: str) -> bool:
    """Whether the IR (as installed) has this function / aggregation literal."""
    from typing import get_args

    from assistant import ir

    literal = ir.MetricFunction if kind == "function" else ir.Aggregation
    return name in get_args(literal)


def _selector_fields(sel: Sel) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": sel.metric, "matchers": tuple(sel.matchers)}
    if sel.offset_ms:
        if not _ir_supports_offset():
            raise NotExpressible("offset")
        out["offset_s"] = _whole_seconds(sel.offset_ms, "offset") if sel.offset_ms > 0 else \
            -_whole_seconds(-sel.offset_ms, "offset")
    if sel.at_ms is not None:
        out["at_s"] = sel.at_ms / 1000
    if sel.sub_step_ms is not None:
        out["subquery_step_s"] = _whole_seconds(sel.sub_step_ms, "subquery step")
    return out


def _ir_supports_offset() -> bool:
    return "offset_s" in MetricQuery.model_fields


def translate_inner(node: Node) -> Translation:
    """A selector or one function over time (no aggregation)."""
    if isinstance(node, Sel):
        if node.range_ms is not None:
            raise NotExpressible("range vector result")
        return Translation({**_selector_fields(node), "function": "raw"}, keeps_name=True)
    if isinstance(node, Call):
        name = node.name
        if name in RANGE_FUNCTIONS and len(node.args) == 1:
            sel = node.args[0]
            if not isinstance(sel, Sel) or sel.range_ms is None:
                raise NotExpressible(f"{name} over a non-selector")
            if not _ir_supports(name, "function"):
                raise NotExpressible(f"{name} not in the IR")
            return Translation({**_selector_fields(sel), "function": name,
                                "window_s": _whole_seconds(sel.range_ms, "window")},
                               keeps_name=name in NAME_KEEPING)
        if name == "predict_linear" and len(node.args) == 2:
            sel, h = node.args
            if not isinstance(sel, Sel) or sel.range_ms is None or not isinstance(h, Num):
                raise NotExpressible("predict_linear arguments")
            return Translation({**_selector_fields(sel), "function": name,
                                "window_s": _whole_seconds(sel.range_ms, "window"),
                                "horizon_s": h.value})
        if name == "quantile_over_time" and len(node.args) == 2:
            q, sel = node.args
            if not isinstance(q, Num) or not isinstance(sel, Sel) or sel.range_ms is None:
                raise NotExpressible("quantile_over_time arguments")
            if not 0 <= q.value <= 1:
                raise NotExpressible("quantile outside [0, 1]")
            return Translation({**_selector_fields(sel), "function": name, "quantile": q.value,
                                "window_s": _whole_seconds(sel.range_ms, "window")})
        if name == "timestamp" and len(node.args) == 1 and _ir_supports(name, "function"):
            sel = node.args[0]
            if not isinstance(sel, Sel) or sel.range_ms is not None:
                raise NotExpressible("timestamp of an expression")
            return Translation({**_selector_fields(sel), "function": "timestamp"})
        if name == "histogram_quantile" and len(node.args) == 2:
            return _histogram(node.args[0], node.args[1])
    raise NotExpressible(f"{type(node).__name__} {getattr(node, 'name', '')}".strip())


def _rate_of_buckets(node: Node) -> Sel:
    if (isinstance(node, Call) and node.name == "rate" and len(node.args) == 1
            and isinstance(node.args[0], Sel) and node.args[0].range_ms is not None
            and node.args[0].metric and node.args[0].metric.endswith("_bucket")):
        return node.args[0]
    raise NotExpressible("histogram_quantile over something other than bucket rates")


def _histogram(q: Node, inner: Node) -> Translation:
    level = _value(q, {})
    if not isinstance(level, float) or not 0 <= level <= 1:
        raise NotExpressible("histogram_quantile parameter")
    fields: dict[str, Any] = {"function": "histogram_quantile", "quantile": level}
    if isinstance(inner, Agg):
        if inner.op != "sum" or inner.by is None or "le" not in inner.by:
            raise NotExpressible("histogram_quantile over an aggregation other than sum by le")
        sel = _rate_of_buckets(inner.expr)
        fields.update(aggregation="sum", by=tuple(b for b in inner.by if b != "le"))
    else:
        sel = _rate_of_buckets(inner)
    fields.update(_selector_fields(sel), window_s=_whole_seconds(sel.range_ms or 0, "window"))
    return Translation(fields)


def translate(node: Node, labels_of_metric: dict[str, set[str]]) -> Translation:
    """`node` as IR fields; `labels_of_metric` (the loaded label names) turns ``without``
    into ``by`` (a label a series lacks groups as '' in both). Binary operators become
    `MetricQuery.binary` (scalar sub-expressions are folded first)."""
    value = _value(node, labels_of_metric)
    if isinstance(value, float):
        raise NotExpressible("a scalar expression")
    return value


def _value(node: Node, labels_of_metric: dict[str, set[str]]) -> Translation | float:
    """A vector expression's IR fields, or a scalar expression's value."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Neg):
        inner = _value(node.expr, labels_of_metric)
        if isinstance(inner, float):
            return -inner
        if not _ir_supports_binary():
            raise NotExpressible("unary minus")
        return _with_binary(inner, Binary(op="*", right=-1.0, scalar_left=True))
    if isinstance(node, Bin):
        return _binary(node, labels_of_metric)
    if isinstance(node, Str):
        raise NotExpressible("a string")
    if isinstance(node, Agg):
        try:
            return _translate_single(node, labels_of_metric)
        except NotExpressible:
            return _aggregate_step(node, labels_of_metric)
    if isinstance(node, Call) and (node.name in APPLY_FUNCTIONS | {"absent"}
                                   or node.name.startswith("label_")):
        return _call_step(node, labels_of_metric)
    if isinstance(node, Call) and node.name == "histogram_quantile" and len(node.args) == 2:
        try:
            return translate_inner(node)
        except NotExpressible:
            return _call_step(node, labels_of_metric)
    return _translate_single(node, labels_of_metric)


def _vector(node: Node, labels_of_metric: dict[str, set[str]]) -> Translation:
    value = _value(node, labels_of_metric)
    if isinstance(value, float):
        raise NotExpressible("a scalar where a vector is expected")
    return value


def _scalar(node: Node, labels_of_metric: dict[str, set[str]]) -> float:
    value = _value(node, labels_of_metric)
    if not isinstance(value, float):
        raise NotExpressible("a vector where a number is expected")
    return value


def _string(node: Node) -> str:
    if not isinstance(node, Str):
        raise NotExpressible("a string argument that is not a literal")
    return node.value


def _call_step(node: Call, labels_of_metric: dict[str, set[str]]) -> Translation:
    """A function of a whole expression: `Apply`, `LabelReplace` or `LabelJoin`."""
    name, args = node.name, node.args
    if name == "label_replace" and len(args) == 5:
        inner = _vector(args[0], labels_of_metric)
        dst, repl, src, regex = (_string(a) for a in args[1:])
        return _with_step(inner, LabelReplace(dst=dst, replacement=repl, src=src, regex=regex))
    if name == "label_join" and len(args) >= 3:
        inner = _vector(args[0], labels_of_metric)
        texts = [_string(a) for a in args[1:]]
        return _with_step(inner, LabelJoin(dst=texts[0], separator=texts[1],
                                           src=tuple(texts[2:])))
    if name == "histogram_fraction" and len(args) == 3:
        low, high = (_scalar(a, labels_of_metric) for a in args[:2])
        return _with_step(_vector(args[2], labels_of_metric),
                          Apply(apply=name, args=(low, high)))
    if name == "histogram_quantile" and len(args) == 2:
        q = _scalar(args[0], labels_of_metric)
        return _with_step(_vector(args[1], labels_of_metric),
                          Apply(apply="histogram_quantile", args=(q,)))
    if name in APPLY_FUNCTIONS | {"absent"} and args:
        inner = _vector(args[0], labels_of_metric)
        numbers = tuple(_scalar(a, labels_of_metric) for a in args[1:])
        return _with_step(inner, Apply(apply=name, args=numbers))
    raise NotExpressible(f"Call {name}")


def _aggregate_step(node: Agg, labels_of_metric: dict[str, set[str]]) -> Translation:
    """An aggregation the query's own `aggregation` cannot say, as an `Aggregate` step."""
    if node.op not in get_args(StepAggregation):
        raise NotExpressible(f"aggregation {node.op}")
    inner = _vector(node.expr, labels_of_metric)
    if "__name__" in (node.by or ()):
        raise NotExpressible("grouping by __name__")
    param: float | None = None
    label: str | None = None
    if node.op == "count_values":
        label = _string(node.param) if node.param is not None else None
    elif node.param is not None:
        param = _scalar(node.param, labels_of_metric)
    step = Aggregate(aggregate=node.op, param=param, label=label, by=tuple(node.by or ()),
                     without=tuple(node.without) if node.without is not None else None)
    return _with_step(inner, step)


def _with_step(t: Translation, step: Operation) -> Translation:
    fields = dict(t.fields)
    fields["then"] = (*fields.get("then", ()), step)
    return Translation(fields)


def _ir_supports_binary() -> bool:
    return "binary" in MetricQuery.model_fields


def _with_binary(t: Translation, b: Binary) -> Translation:
    if t.fields.get("then"):
        return _with_step(t, b)
    fields = dict(t.fields)
    fields["binary"] = (*fields.get("binary", ()), b)
    return Translation(fields)


def _binary(node: Bin, labels_of_metric: dict[str, set[str]]) -> Translation | float:
    if not _ir_supports_binary():
        raise NotExpressible("binary operator")
    op = node.op
    if op not in ARITHMETIC_OPS | COMPARISON_OPS | SET_OPS:
        raise NotExpressible(f"operator {op}")
    lhs = _value(node.lhs, labels_of_metric)
    rhs = _value(node.rhs, labels_of_metric)
    matching = node.on is not None or node.ignoring is not None or node.group is not None \
        or node.fill_left is not None or node.fill_right is not None
    if isinstance(lhs, float) or isinstance(rhs, float):
        if op in SET_OPS or matching:
            raise NotExpressible("set operator or vector matching with a scalar (invalid)")
        if op in COMPARISON_OPS and isinstance(lhs, float) and isinstance(rhs, float) \
                and not node.bool_:
            raise NotExpressible("comparison of scalars without bool (invalid)")
    if isinstance(lhs, float) and isinstance(rhs, float):
        if node.bool_ and op not in COMPARISON_OPS:
            raise NotExpressible("bool on a non-comparison (invalid)")
        value, keep = elem(op, lhs, rhs)
        return (1.0 if keep else 0.0) if node.bool_ else value
    if isinstance(rhs, float):
        assert isinstance(lhs, Translation)
        return _with_binary(lhs, Binary(op=op, right=rhs, bool_modifier=node.bool_))
    if isinstance(lhs, float):
        return _with_binary(rhs, Binary(op=op, right=lhs, scalar_left=True,
                                        bool_modifier=node.bool_))
    if "__name__" in (node.include or ()):
        raise NotExpressible("group_left(__name__)")
    return _with_binary(lhs, Binary(
        op=op, right=MetricOperand(**rhs.fields), bool_modifier=node.bool_,
        on=tuple(node.on) if node.on is not None else None,
        ignoring=tuple(node.ignoring or ()), group=node.group, include=tuple(node.include),
        fill_left=node.fill_left, fill_right=node.fill_right))


def _translate_single(node: Node, labels_of_metric: dict[str, set[str]]) -> Translation:
    """A selector, a function or one aggregation of those (no binary operators)."""
    if not isinstance(node, Agg):
        return translate_inner(node)
    inner = translate_inner(node.expr)
    if inner.fields.get("aggregation", "none") != "none":
        raise NotExpressible("nested aggregation")
    op = node.op
    fields = dict(inner.fields)
    if op in ("topk", "bottomk"):
        if node.by or node.without is not None or not isinstance(node.param, Num):
            raise NotExpressible(f"{op} by / with a non-literal k")
        k = node.param.value
        if k != int(k) or not 1 <= k <= 100:
            raise NotExpressible("k outside 1..100")
        fields.update(aggregation=op, k=int(k))
        return Translation(fields, keeps_name=inner.keeps_name)
    if op == "quantile":
        if not isinstance(node.param, Num):
            raise NotExpressible("quantile parameter")
        names = [a for a, v in AGG_QUANTILES.items() if v == node.param.value]
        if not names:
            raise NotExpressible(f"quantile {node.param.value} (only 0.5/0.9/0.95/0.99)")
        agg = names[0]
    elif op in IR_AGGREGATIONS and node.param is None and _ir_supports(op, "aggregation"):
        agg = op
    else:
        raise NotExpressible(f"aggregation {op}")
    if fields["function"] == "histogram_quantile" and (agg == "sum" or node.without is not None):
        # the IR's sum over histogram_quantile sums the bucket rates, not the quantiles
        raise NotExpressible(f"{op} of histogram_quantile results")
    if node.without is not None:
        metric = fields["metric"]
        names_ = labels_of_metric.get(metric, set())
        by = tuple(sorted(names_ - set(node.without) - {"__name__"}))
    else:
        by = tuple(node.by or ())
    if "__name__" in by:
        raise NotExpressible("grouping by __name__")
    fields.update(aggregation=agg, by=by)
    return Translation(fields)


# -- the .test file format -----------------------------------------------------------------

@dataclass
class Expected:
    labels: dict[str, str]
    values: list[Value]


@dataclass
class Case:
    file: str
    line: int
    expr: str
    start_ms: int
    end_ms: int
    step_ms: int | None  # None: instant
    expected: list[Expected] = field(default_factory=list)
    scalar: float | None = None
    fail: bool = False
    ordered: bool = False
    other_result: bool = False
    """A range vector, a string or an expectation the runner does not read."""
    native: bool = False
    load: int = 0  # which load state it reads


@dataclass
class LoadedSeries:
    metric: str
    labels: dict[str, str]
    points: list[tuple[int, float]]  # (ms, value); stale markers dropped
    stale: bool = False


@dataclass
class TestFile:
    name: str
    states: list[list[LoadedSeries]]
    native_metrics: list[set[str]]
    start_ts_metrics: list[set[str]]
    """Metrics loaded with start timestamps (``@st``), which the store cannot hold."""
    cases: list[Case]


def parse_series_desc(text: str) -> tuple[str, dict[str, str], str]:
    """``metric{a="b"} rest`` -> (metric, labels, rest)."""
    text = text.strip()
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:.]*)?\s*", text)
    metric = m.group(1) if m and m.group(1) else ""
    pos = m.end() if m else 0
    labels: dict[str, str] = {}
    if pos < len(text) and text[pos] == "{" and not text.startswith("{{", pos):
        pos += 1
        while True:
            while pos < len(text) and text[pos] in " ,":
                pos += 1
            if text[pos] == "}":
                pos += 1
                break
            lm = re.match(r'("(?:[^"\\]|\\.)*"|[a-zA-Z_][a-zA-Z0-9_.]*)\s*'
                          r'(?:=\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'))?', text[pos:])
            if lm is None:
                raise ValueError(f"bad labels in {text!r}")
            name = unquote(lm.group(1)) if lm.group(1).startswith('"') else lm.group(1)
            if lm.group(2) is None:
                metric = name
            else:
                labels[name] = unquote(lm.group(2))
            pos += lm.end()
    if "__name__" in labels:
        metric = labels.pop("__name__")
    return metric, labels, text[pos:]


_EVAL = re.compile(r"^eval(_fail|_ordered|_warn|_info)?\s+(instant|range)\s+(.*)$")


def parse_file(path: Path) -> TestFile:
    lines = path.read_text().splitlines()
    states: list[list[LoadedSeries]] = [[]]
    native: list[set[str]] = [set()]
    start_ts: list[set[str]] = [set()]
    cases: list[Case] = []
    state_fresh = True
    i = 0
    file_native = path.name.startswith("native_histograms")

    def new_state() -> None:
        nonlocal state_fresh
        if not state_fresh:
            states.append([*states[-1]])
            native.append(set(native[-1]))
            start_ts.append(set(start_ts[-1]))
        state_fresh = True

    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line == "clear":
            states.append([])
            native.append(set())
            start_ts.append(set())
            state_fresh = True
            continue
        if line.startswith("load"):
            parts = line.split()
            nhcb = parts[0] == "load_with_nhcb"
            interval = parse_duration_ms(parts[1])
            new_state()
            while i < len(lines) and lines[i].strip() and lines[i][:1] in (" ", "\t"):
                desc = lines[i].strip()
                i += 1
                if desc.startswith("#"):
                    continue
                metric, labels, rest = parse_series_desc(desc)
                if rest.startswith("@"):  # start timestamps (@st): the store has none
                    start_ts[-1].add(metric)
                    continue
                try:
                    values = expand_values(rest.split())
                except NotExpressible:
                    native[-1].add(metric)
                    continue
                if nhcb and metric.endswith(("_bucket", "_count", "_sum")):
                    native[-1].add(re.sub(r"_(bucket|count|sum)$", "", metric))
                pts = [(j * interval, float(v)) for j, v in enumerate(values)
                       if v is not None and v != STALE]
                stale = any(v == STALE for v in values)
                states[-1].append(LoadedSeries(metric, labels, pts, stale))
            continue
        m = _EVAL.match(line)
        if m is None:
            continue
        suffix, kind, rest = m.groups()
        state_fresh = False
        case = _parse_eval_header(path.name, i, kind, rest)
        case.fail = suffix == "_fail"
        case.ordered = suffix == "_ordered"
        case.load = len(states) - 1
        case.native = file_native or "{{" in rest
        while i < len(lines) and lines[i].strip() and lines[i][:1] in (" ", "\t"):
            body = lines[i].strip()
            i += 1
            if body.startswith("#"):
                continue
            if body.startswith("expect"):
                words = body.split()
                if len(words) > 1 and words[1] == "fail":
                    case.fail = True
                elif len(words) > 1 and words[1] == "ordered":
                    case.ordered = True
                elif len(words) > 1 and words[1] in ("range", "string"):
                    case.other_result = True
                continue
            if "{{" in body:
                case.native = True
                continue
            try:
                case.scalar = parse_number(body)
                continue
            except ValueError:
                pass
            _, labels, text = parse_series_desc(body)
            try:
                case.expected.append(Expected(labels, expand_values(text.split())))
            except NotExpressible:
                case.native = True
            except ValueError:
                case.other_result = True
        cases.append(case)
    return TestFile(path.name, states, native, start_ts, cases)


def _parse_eval_header(name: str, line: int, kind: str, rest: str) -> Case:
    if kind == "instant":
        m = re.match(r"at\s+(\S+)\s+(.*)$", rest)
        if m is None:
            raise ValueError(f"{name}:{line}: bad eval line")
        t = parse_duration_ms(m.group(1))
        return Case(name, line, m.group(2).strip(), t, t, None)
    m = re.match(r"from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.*)$", rest)
    if m is None:
        raise ValueError(f"{name}:{line}: bad eval range line")
    return Case(name, line, m.group(4).strip(), parse_duration_ms(m.group(1)),
                parse_duration_ms(m.group(2)), parse_duration_ms(m.group(3)))


# -- running -------------------------------------------------------------------------------

def _dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def label_names(series: list[LoadedSeries]) -> dict[str, set[str]]:
    """metric -> the label names its loaded series have."""
    out: dict[str, set[str]] = {}
    for s in series:
        out.setdefault(s.metric, set()).update(s.labels)
    return out


class Store:
    """One load state in an in-memory DuckDB with the embedded schema."""

    def __init__(self, series: list[LoadedSeries]) -> None:
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(schema.DDL)
        self.labels: dict[int, dict[str, str]] = {}
        merged: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]] = {}
        for s in series:  # a later load of the same series adds to it (as Prometheus)
            key = (s.metric, tuple(sorted(s.labels.items())))
            merged.setdefault(key, {}).update(dict(s.points))
        self.names = label_names(series)
        sids, metrics, maps, p_sid, p_ts, p_val = [], [], [], [], [], []
        for sid, ((metric, labels), pts) in enumerate(sorted(merged.items()), start=1):
            self.labels[sid] = dict(labels)
            sids.append(sid)
            metrics.append(metric)
            maps.append(list(labels))
            for t, v in sorted(pts.items()):
                p_sid.append(sid)
                p_ts.append(t * 1000)
                p_val.append(v)
        series_tbl = pa.table({
            "series_id": pa.array(sids, pa.uint64()), "metric": pa.array(metrics, pa.string()),
            "labels": pa.array(maps, pa.map_(pa.string(), pa.string())),
        })
        samples_tbl = pa.table({
            "series_id": pa.array(p_sid, pa.uint64()), "ts": pa.array(p_ts, pa.timestamp("us")),
            "value": pa.array(p_val, pa.float64()),
        })
        self.con.register("series_in", series_tbl)
        self.con.register("samples_in", samples_tbl)
        self.con.execute("INSERT INTO series SELECT * FROM series_in")
        self.con.execute("INSERT INTO samples SELECT * FROM samples_in")

    def run(self, q: MetricQuery) -> list[Series]:
        """`q` with its binary operations (each operand by its own SQL)."""
        return evaluate(q, self._run_leaf)

    def _run_leaf(self, q: MetricQuery) -> list[Series]:
        plan = build_metric_sql(q, _series_metric(q), q.metric, DuckDB(),
                                **ENGINE_OPTIONS)
        rows = self.con.execute(plan.sql).fetchall()
        data = columns_from_rows(plan, rows)
        return metric_series(plan, data, q,
                             lambda ids: {i: self.labels[int(i)] for i in ids})

    def close(self) -> None:
        self.con.close()


ENGINE_OPTIONS: dict[str, Any] = {}
"""Extra `build_metric_sql` arguments (the Prometheus 3.x window semantics, when the
engine has them)."""


def _engine_options() -> dict[str, Any]:
    import inspect

    params = inspect.signature(build_metric_sql).parameters
    return {"semantics": "prometheus3"} if "semantics" in params else {}


ENGINE_OPTIONS.update(_engine_options())


def _series_metric(q: MetricQuery) -> str:
    if q.function == "histogram_quantile" and not q.metric.endswith("_bucket"):
        return f"{q.metric}_bucket"
    return q.metric


def build_query(case: Case, t: Translation) -> MetricQuery:
    fields = dict(t.fields)
    if case.step_ms is None or case.start_ms == case.end_ms:
        end = _dt(case.end_ms)
        span = fields.get("window_s") or 300
        tr = TimeRange(start=end - timedelta(seconds=span), end=end)
        return MetricQuery(**fields, time_range=tr, mode="instant")
    step = _whole_seconds(case.step_ms, "step")
    tr = TimeRange(start=_dt(case.start_ms), end=_dt(case.end_ms), step_s=step)
    return MetricQuery(**fields, time_range=tr, mode="range")


def almost_equal(a: float, b: float) -> bool:
    """Prometheus' test comparison (promqltest almostEqual, epsilon 1e-6)."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < MIN_NORMAL:
        return diff < EPSILON * MIN_NORMAL
    return diff / min(abs_sum, sys.float_info.max) < EPSILON


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The label set as compared: no ``__name__``, and an empty value is no label (as in
    Prometheus)."""
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__" and v))


def _fmt(points: dict[int, float]) -> str:
    return " ".join(f"{v:g}@{t // 1000}s" for t, v in sorted(points.items())) or "-"


def compare(case: Case, got: list[Series]) -> str | None:
    """None when `got` matches the expected result, else why not."""
    times = ([case.start_ms] if case.step_ms is None else
             list(range(case.start_ms, case.end_ms + 1, case.step_ms)))
    want: dict[tuple[tuple[str, str], ...], dict[int, float]] = {}
    for e in case.expected:
        vals = e.values
        pts = {t: float(v) for t, v in zip(times, vals, strict=False)
               if v is not None and v != STALE}
        want[_key(e.labels)] = pts
    have: dict[tuple[tuple[str, str], ...], dict[int, float]] = {}
    for s in got:
        pts = {round((p[0] - EPOCH).total_seconds() * 1000): p[1] for p in s.points}
        if pts:
            k = _key(s.labels)
            if k in have:
                return f"duplicate label set {dict(k)}"
            have[k] = pts
    problems: list[str] = []
    for k in sorted(set(want) | set(have)):
        w, h = want.get(k), have.get(k)
        name = "{" + ",".join(f'{a}="{b}"' for a, b in k) + "}"
        if w is None:
            problems.append(f"unexpected {name} {_fmt(h or {})}")
        elif h is None:
            problems.append(f"missing {name} {_fmt(w)}")
        elif set(w) != set(h) or any(not almost_equal(w[t], h[t]) for t in w):
            problems.append(f"{name} expected {_fmt(w)} got {_fmt(h)}")
    return "; ".join(problems) or None


@dataclass
class Outcome:
    case: Case
    status: str  # passed | failed | not_expressible | native
    detail: str = ""
    query: MetricQuery | None = None
    """The IR the case was translated into (expressible cases)."""
    labels: dict[str, set[str]] = field(default_factory=dict)
    """The loaded label names per metric (what ``without`` was translated with)."""


def run_file(tf: TestFile) -> list[Outcome]:
    stores: dict[int, Store] = {}
    out: list[Outcome] = []
    try:
        for case in tf.cases:
            out.append(_run_case(tf, case, stores))
    finally:
        for s in stores.values():
            s.close()
    return out


def _reads(case: Case, metrics: set[str]) -> bool:
    return any(re.search(rf"(?<![\w:]){re.escape(n)}(?![\w:])", case.expr) for n in metrics)


def _reads_native(case: Case, tf: TestFile) -> bool:
    return case.native or _reads(case, tf.native_metrics[case.load])


def _run_case(tf: TestFile, case: Case, stores: dict[int, Store]) -> Outcome:
    if _reads_native(case, tf):
        return Outcome(case, "native")
    if case.other_result or (case.scalar is not None and not case.expected):
        return Outcome(case, "not_expressible", "a range vector, string or scalar result")
    if _reads(case, tf.start_ts_metrics[case.load]):
        return Outcome(case, "not_expressible", "series with start timestamps (@st)")
    try:
        node = Parser(case.expr, step_ms=case.step_ms or 0,
                      range_ms=case.end_ms - case.start_ms).parse()
        t = translate(node, label_names(tf.states[case.load]))
        q = build_query(case, t)
    except NotExpressible as exc:
        return Outcome(case, "not_expressible", str(exc))
    except ValueError as exc:  # the IR refused it (pydantic): not expressible either
        return Outcome(case, "not_expressible", f"IR: {str(exc).splitlines()[0]}")
    store = stores.get(case.load)
    if store is None:
        store = stores[case.load] = Store(tf.states[case.load])
    names = label_names(tf.states[case.load])
    try:
        got = store.run(q)
    except (duckdb.Error, ValueError, OpsaError) as exc:
        if case.fail:
            return Outcome(case, "passed", query=q, labels=names)
        return Outcome(case, "failed", f"error: {str(exc).splitlines()[0]}", q, names)
    if case.fail:
        return Outcome(case, "failed", "expected an error, got a result", q, names)
    problem = compare(case, got)
    return Outcome(case, "failed" if problem else "passed", problem or "", q, names)


@dataclass
class Summary:
    per_file: dict[str, dict[str, int]]
    failures: list[Outcome]
    outcomes: list[Outcome]

    @property
    def total(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for counts in self.per_file.values():
            for k, v in counts.items():
                out[k] = out.get(k, 0) + v
        return out


STATUSES = ("passed", "failed", "not_expressible", "native")


def run(data: Path = DEFAULT_DATA) -> Summary:
    """Run every ``*.test`` file under `data`."""
    files = sorted(data.glob("*.test"))
    if not files:
        raise FileNotFoundError(f"no promqltest files under {data}")
    per_file: dict[str, dict[str, int]] = {}
    outcomes: list[Outcome] = []
    for path in files:
        results = run_file(parse_file(path))
        outcomes += results
        per_file[path.name] = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    return Summary(per_file, [o for o in outcomes if o.status == "failed"], outcomes)


def table(summary: Summary) -> str:
    """Per file and overall: simple cases, expressible, passed, failed, not expressible,
    native histogram."""
    head = f"{'file':<26} {'simple':>6} {'expr.':>6} {'pass':>5} {'fail':>5} {'not':>5} {'nh':>5}"
    rows = [head, "-" * len(head)]

    def row(name: str, c: dict[str, int]) -> str:
        simple = c["passed"] + c["failed"] + c["not_expressible"]
        expr = c["passed"] + c["failed"]
        return (f"{name:<26} {simple:>6} {expr:>6} {c['passed']:>5} {c['failed']:>5} "
                f"{c['not_expressible']:>5} {c['native']:>5}")

    rows += [row(n, c) for n, c in summary.per_file.items()]
    legend = ("simple: cases without native histograms; expr.: expressible in the IR (run); "
              "not: not expressible; nh: native-histogram cases (not run)")
    rows.append("-" * len(head))
    rows.append(row("overall", summary.total))
    t = summary.total
    simple = t["passed"] + t["failed"] + t["not_expressible"]
    expr = t["passed"] + t["failed"]
    if simple and expr:
        rows.append(f"expressible {expr}/{simple} ({100 * expr / simple:.1f}%), "
                    f"passing {t['passed']}/{expr} ({100 * t['passed'] / expr:.1f}%)")
    rows.append(legend)
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="also list why each case is not expressible")
    args = ap.parse_args(argv)
    summary = run(args.data)
    print(table(summary))
    if summary.failures:
        print(f"\nfailures ({len(summary.failures)}):")
        for o in summary.failures:
            print(f"  {o.case.file}:{o.case.line}: {o.case.expr}\n      {o.detail}")
    if args.verbose:
        print("\nnot expressible:")
        for o in summary.outcomes:
            if o.status == "not_expressible":
                print(f"  {o.case.file}:{o.case.line}: {o.case.expr}  [{o.detail}]")
    return 0


def iter_failures(summary: Summary) -> Iterator[str]:
    for o in summary.failures:
        yield f"{o.case.file}:{o.case.line}: {o.case.expr}: {o.detail}"


if __name__ == "__main__":
    raise SystemExit(main())
