"""The typed query IR: the one contract between the planner and the connectors.

The planner never writes PromQL or SQL. It emits these objects; each connector compiles
them to its own language (`Connector.native`). All models are strict (`extra="forbid"`)
and frozen. Datetimes are timezone-aware.

Evaluation semantics shared by every connector (so engines can be compared):

* ``MetricQuery.mode == "range"``: the expression is evaluated at every step
  ``start, start+step, ..., <= end``. A function's window (``rate(x[w])``) is
  ``window_s`` or, by default, ``max(step, 300 s)``.
* ``mode == "instant"``: evaluated once at ``end``; the function window is ``window_s`` or
  the whole range (``end - start``). "Average CPU over the last hour" is an instant
  ``avg_over_time`` with the range as window.
* ``function == "raw"``: the last sample at or before each evaluation time, within a
  5 minute lookback (Prometheus' instant-vector selection).
* ``function == "samples"``: every raw sample of the window ``[end - w, end]`` with its own
  timestamp (``w``: ``window_s`` or the whole range), in either mode: PromQL's range-vector
  selector ``metric{...}[w]`` evaluated as an instant query at ``end``. No aggregation; at
  most ``MAX_SAMPLES`` samples come back (a capped result says so). The answer's numbers
  (peak and minimum with their times, mean, quantile, time above ``threshold``, sums and
  means per ``bucket_s``) are computed from them in code (`assistant.facts`).
* ``function == "histogram_quantile"``: ``metric`` is the histogram's base name (``x`` for
  ``x_bucket``). With ``aggregation="sum"`` and ``by=(...)`` it means
  ``histogram_quantile(q, sum by (le, ...) (rate(x_bucket[w])))``; with ``aggregation="none"``
  ``histogram_quantile(q, rate(x_bucket[w]))`` per series.
* ``function == "timestamp"``: the time (Unix seconds) of the sample ``raw`` would return.
  ``present_over_time`` is 1 for each series with a sample in the window;
  ``absent_over_time`` is 1 at each time no matching series has one, labelled by the
  selector's ``=`` matchers (no aggregation). ``stddev``/``stdvar`` (aggregations and
  ``_over_time``) are the population standard deviation / variance, as PromQL.
* ``offset_s``: PromQL's ``offset``: every window (and the lookback) ends ``offset_s``
  seconds before its evaluation time; results are reported at the evaluation times.
* ``at_s``: PromQL's ``@``: the selector (and its function and aggregation) is evaluated
  once, at that Unix time (minus ``offset_s``), and every evaluation time reports it.
* ``subquery_step_s``: PromQL's subquery ``metric{...}[w:step]``: the function over time
  reads the selector's instant value (5 minute lookback) at the multiples of the step in
  its window instead of the raw samples.
* ``changes``/``resets``/``irate``/``idelta``/``deriv``/``predict_linear`` (``horizon_s``
  ahead)/``first_over_time`` are PromQL's functions of the window's samples.
* ``binary``: PromQL binary operators, applied in order to the query's result (after its
  function and aggregation): ``((x op1 r1) op2 r2) ...``. Each `Binary`'s ``right`` is a
  number or a `MetricOperand` (a metric expression evaluated over the same time range and
  mode, with its own ``binary`` for nesting: ``a / (b + c)``). With ``scalar_left`` the
  number is the left operand (``100 - x``); unary minus is ``-1 * x``. Semantics are
  Prometheus': vector matching on all labels but ``__name__`` (or ``on``/``ignoring``),
  one-to-one unless ``group`` (``group_left``/``group_right`` copying ``include`` from the
  "one" side); arithmetic and ``bool`` comparisons drop the metric name, filtering
  comparisons keep the left value; ``and``/``or``/``unless`` are set operations.
  ``fill_left``/``fill_right`` (PromQL 3's ``fill``) give a result to a sample without a
  match too, the fill value standing in for the missing side.
* ``then``: steps after ``binary``, in order: `Apply` (a function of each sample: ``abs``,
  ``round``, ``clamp``, ``ln``, ``histogram_quantile`` over bucket series, ``absent``, ...),
  `Aggregate` (an aggregation of the expression so far, e.g. ``sum by (job) (a / b)``),
  `LabelReplace` / `LabelJoin`, and `Binary` again.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from assistant.errors import IRError

LOOKBACK_S = 300
"""Instant-vector lookback: a raw sample older than this is not 'current' (as Prometheus)."""

DEFAULT_WINDOW_S = 300
MAX_POINTS = 11_000
"""Most evaluation steps one range query may ask for (Prometheus' own limit)."""
MAX_SAMPLES = 200_000
"""Most raw samples one ``samples`` query returns (about 2 years of one 5-minute series)."""

MetricFunction = Literal[
    "raw",
    "rate",
    "increase",
    "delta",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "quantile_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
    "absent_over_time",
    "timestamp",
    "histogram_quantile",
    "samples",
    "changes",
    "resets",
    "irate",
    "idelta",
    "deriv",
    "predict_linear",
    "first_over_time",
]
Aggregation = Literal[
    "none", "sum", "avg", "min", "max", "count", "p50", "p90", "p95", "p99", "topk", "bottomk",
    "stddev", "stdvar",
]
Level = Literal["trace", "debug", "info", "warn", "error", "fatal"]
LEVELS: tuple[Level, ...] = ("trace", "debug", "info", "warn", "error", "fatal")
EventKind = Literal["alert", "deploy", "incident", "change"]
LogField = Literal["service", "host", "level", "template", "message", "extracted"]
"""What `LogQuery.count_by` groups on; ``service`` is also the program/component column of
logs that name one, ``extracted`` is the value `LogQuery.extract` reads from each message."""
ExtractKind = Literal[
    "ipv4", "ip_port", "mac", "user", "block_id", "request_id", "session_id", "uuid", "hex_id",
    "pid", "port", "status_code", "number", "key", "regex", "field",
]
TimeUnit = Literal["minute", "hour", "day"]
ArithmeticOp = Literal["+", "-", "*", "/", "%", "^", "atan2"]
ComparisonOp = Literal["==", "!=", ">", "<", ">=", "<="]
SetOp = Literal["and", "or", "unless"]
BinaryOp = Literal[
    "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or",
    "unless",
]
ARITHMETIC_OPS: frozenset[str] = frozenset(get_args(ArithmeticOp))
COMPARISON_OPS: frozenset[str] = frozenset(get_args(ComparisonOp))
SET_OPS: frozenset[str] = frozenset(get_args(SetOp))
MAX_BINARY = 8
"""Most binary operations one expression chains (nesting counts apart)."""

EXTRACT_PATTERNS: dict[str, str] = {
    "ipv4": r"\b((?:\d{1,3}\.){3}\d{1,3})\b",
    "ip_port": r"\b((?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?)\b",
    "mac": r"\b([0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5})\b",
    "user": r"(?i)\b(?:for\s+(?:(?:invalid|illegal|unknown)\s+)?user|(?:invalid|illegal|unknown)"
            r"\s+user|user|for)[\s=:]+['\"]?([A-Za-z_][A-Za-z0-9._@-]*)",
    "block_id": r"\b(blk_-?\d+)\b",
    "request_id": r"\b(req-[0-9A-Za-z-]+)",
    "session_id": r"(?i)\bsession(?:[ _-]?id)?[\s=:#]+['\"]?([0-9A-Za-z_-]+)",
    "uuid": r"\b([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b",
    "hex_id": r"\b(0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8,})\b",
    "pid": r"(?i)\bpid[\s=:]+(\d+)",
    "port": r"(?i)(?:\bport[\s=:]+|[\w-]+(?:\.[\w-]+)+:)(\d{1,5})\b",
    "status_code": r"(?i)(?:\bstatus(?:[ _]?code)?|\bcode|HTTP/\d(?:\.\d)?\"?)[\s=:]+([1-5]\d\d)\b",
    "number": r"(-?\d+(?:\.\d+)?)",
}
"""Named value patterns (RE2 and Python alike): group 1 is the value. ``key`` reads the
value of ``key=value`` / ``key: value`` for `Extract.key`; ``regex`` takes `Extract.pattern`
(group 1 if it has a group, else the whole match)."""

AGG_QUANTILES: dict[str, float] = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
NEEDS_QUANTILE = {"quantile_over_time", "histogram_quantile"}
NOT_OVER_SUBQUERY = frozenset({"raw", "timestamp", "samples", "histogram_quantile"})
"""Functions that read no window of their own, so take no subquery."""
SAMPLE_ONLY = ("threshold", "bucket_s")
"""MetricQuery fields that only a ``samples`` query uses (they shape the facts)."""


def _valid_regex(pattern: str, name: str) -> None:
    """Raise a one-line error naming the field when `pattern` is not a regular expression."""
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{name!r} is not a valid regular expression: {exc}") from exc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeRange(_Strict):
    """An absolute, timezone-aware interval, plus an optional evaluation step."""

    start: AwareDatetime
    end: AwareDatetime
    step_s: int | None = Field(default=None, ge=1, description="evaluation step in seconds")
    timezone: str = Field(default="UTC", description="IANA zone the user speaks in")

    @model_validator(mode="after")
    def _check(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(
                f"time range ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()}); swap them or widen the range"
            )
        if self.step_s is not None and self.duration_s / self.step_s > MAX_POINTS:
            raise ValueError(
                f"step {self.step_s}s over {self.duration_s:.0f}s gives more than "
                f"{MAX_POINTS} points; use a larger step"
            )
        return self

    @property
    def duration_s(self) -> float:
        return (self.end.astimezone(UTC) - self.start.astimezone(UTC)).total_seconds()

    def resolved_step(self) -> int:
        """The step to evaluate at: as given, or one giving at most ~240 points."""
        if self.step_s is not None:
            return self.step_s
        raw = self.duration_s / 240
        for nice in (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400):
            if raw <= nice:
                return nice
        return int(math.ceil(raw / 86400) * 86400)

    def steps(self) -> list[datetime]:
        """Evaluation times from start to end (inclusive) at the resolved step."""
        step = timedelta(seconds=self.resolved_step())
        out: list[datetime] = []
        t = self.start.astimezone(UTC)
        end = self.end.astimezone(UTC)
        while t <= end:
            out.append(t)
            t += step
        return out

    @classmethod
    def last(cls, seconds: float, now: datetime, timezone: str = "UTC") -> TimeRange:
        """The `seconds` before `now`."""
        return cls(start=now - timedelta(seconds=seconds), end=now, timezone=timezone)


class Matcher(_Strict):
    """A label matcher, as in PromQL: `=`, `!=`, `=~` (full-match regex), `!~`."""

    label: str = Field(min_length=1)
    op: Literal["=", "!=", "=~", "!~"] = "="
    value: str


def _check_metric_expression(q: MetricQuery | MetricOperand) -> None:
    """The rules a metric expression (a query or a binary operand) follows."""
    if q.function in NEEDS_QUANTILE and q.quantile is None:
        raise ValueError(f"function {q.function!r} needs 'quantile' (0..1)")
    if q.function not in {*NEEDS_QUANTILE, "samples"} and q.quantile is not None:
        raise ValueError(
            f"'quantile' is only used with {sorted({*NEEDS_QUANTILE, 'samples'})}; "
            "for a quantile across series use aggregation p50/p90/p95/p99"
        )
    if q.function == "samples" and q.aggregation != "none":
        raise ValueError(
            "function 'samples' returns each series' raw samples: use aggregation "
            "'none' (the facts are computed from the samples)"
        )
    if q.function == "samples" and (q.binary or q.then or q.at_s is not None):
        raise ValueError("function 'samples' returns raw samples: it takes no 'binary', "
                         "'then' or 'at_s' (use 'raw' or a function over time)")
    if q.subquery_step_s is not None and q.function in NOT_OVER_SUBQUERY:
        raise ValueError(f"'subquery_step_s' needs a function over time, not {q.function!r}")
    if (q.function == "predict_linear") != (q.horizon_s is not None):
        raise ValueError("'horizon_s' is required with function 'predict_linear' and only "
                         "with it")
    if q.aggregation in ("topk", "bottomk") and q.k is None:
        raise ValueError(f"aggregation {q.aggregation!r} needs 'k'")
    if q.aggregation not in ("topk", "bottomk") and q.k is not None:
        raise ValueError("'k' is only used with aggregation topk / bottomk")
    if q.function == "absent_over_time" and q.aggregation != "none":
        raise ValueError("function 'absent_over_time' takes no aggregation (it returns "
                         "one series, labelled by the '=' matchers)")
    if q.by and q.aggregation in ("none", "topk", "bottomk"):
        raise ValueError(f"'by' needs a grouping aggregation, not {q.aggregation!r}")


class Binary(_Strict):
    """One PromQL binary operation: ``<expression so far> op right`` (module docstring).

    ``{"op": "/", "right": {"metric": "b"}}`` is ``x / b``; ``{"op": "*", "right": 100}``
    is ``x * 100``; ``{"op": "-", "right": 100, "scalar_left": true}`` is ``100 - x``;
    ``{"op": "*", "right": {...}, "on": ["instance"], "group": "left", "include":
    ["node"]}`` is ``x * on(instance) group_left(node) (...)``.
    """

    op: BinaryOp
    right: MetricOperand | float = Field(description="a number or a metric expression")
    scalar_left: bool = Field(
        default=False, description="the number is the left operand ('100 - x')")
    bool_modifier: bool = Field(
        default=False, description="comparisons only: 1/0 per series instead of filtering")
    on: tuple[str, ...] | None = Field(
        default=None, description="match series on these labels only (PromQL on(...)); "
        "null: on all labels but the name; []: on() (every series matches the one other)")
    ignoring: tuple[str, ...] = Field(
        default=(), description="match on all labels but these (PromQL ignoring(...))")
    group: Literal["left", "right"] | None = Field(
        default=None, description="many-to-one (group_left) or one-to-many (group_right)")
    include: tuple[str, ...] = Field(
        default=(), description="labels group_left/group_right copy from the 'one' side")
    fill_left: float | None = Field(
        default=None, description="PromQL 3 fill_left(v): a sample of the 'one' side (the "
        "right one; the left one with group 'right') without a match still gives a result, "
        "v standing in for the missing operand, labelled by its match group")
    fill_right: float | None = Field(
        default=None, description="PromQL 3 fill_right(v): a sample of the 'many' side (the "
        "left one; the right one with group 'right') without a match still gives a result, "
        "v standing in for the missing operand")

    @model_validator(mode="after")
    def _check(self) -> Binary:
        scalar = not isinstance(self.right, MetricOperand)
        if self.op in SET_OPS and scalar:
            raise ValueError(f"set operator {self.op!r} needs a metric expression on both "
                             "sides, not a number")
        if self.scalar_left and not scalar:
            raise ValueError("'scalar_left' is only used when 'right' is a number")
        if self.bool_modifier and self.op not in COMPARISON_OPS:
            raise ValueError(f"'bool_modifier' is only used with comparisons "
                             f"{sorted(COMPARISON_OPS)}, not {self.op!r}")
        if scalar and (self.on is not None or self.ignoring or self.group or self.include):
            raise ValueError("vector matching (on / ignoring / group) needs a metric "
                             "expression on the right, not a number")
        if self.on is not None and self.ignoring:
            raise ValueError("use either 'on' or 'ignoring', not both")
        if self.group is not None and self.op in SET_OPS:
            raise ValueError(f"set operator {self.op!r} takes no 'group' (it is always "
                             "many-to-many)")
        filled = self.fill_left is not None or self.fill_right is not None
        if filled and (scalar or self.op in SET_OPS):
            raise ValueError("fill_left / fill_right need a metric expression on the right "
                             "and an arithmetic or comparison operator")
        if self.include and self.group is None:
            raise ValueError("'include' is only used with 'group' (group_left/group_right)")
        both = set(self.include) & set(self.on or ())
        if both:
            raise ValueError(f"label {sorted(both)[0]!r} must not be in both 'on' and "
                             "'include'")
        return self


ApplyFunction = Literal[
    "abs", "ceil", "floor", "round", "sgn", "exp", "ln", "log2", "log10", "sqrt",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "deg", "rad", "clamp", "clamp_min", "clamp_max", "sort", "sort_desc", "absent",
    "histogram_quantile", "histogram_fraction",
]
APPLY_ARITY: dict[str, tuple[int, int]] = {
    "round": (0, 1), "clamp": (2, 2), "clamp_min": (1, 1), "clamp_max": (1, 1),
    "histogram_quantile": (1, 1), "histogram_fraction": (2, 2),
}
"""How many `Apply.args` a function takes (at least, at most); the others take none."""
StepAggregation = Literal[
    "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile", "topk",
    "bottomk", "count_values",
]


class Apply(_Strict):
    """A PromQL function applied to each sample of the expression so far: ``round(x, 0.1)``
    is ``{"apply": "round", "args": [0.1]}``. ``clamp`` takes (min, max), ``clamp_min`` /
    ``clamp_max`` one bound, ``histogram_quantile`` the level and ``histogram_fraction``
    (lower, upper), over bucket series with an ``le`` label; ``absent`` is 1 at each time
    the expression has no sample; ``sort`` / ``sort_desc`` only order the series."""

    apply: ApplyFunction = Field(description="the function (PromQL name)")
    args: tuple[float, ...] = Field(
        default=(), description="its number arguments after the expression, in PromQL order")

    @model_validator(mode="after")
    def _check(self) -> Apply:
        low, high = APPLY_ARITY.get(self.apply, (0, 0))
        if not low <= len(self.args) <= high:
            want = str(low) if low == high else f"{low} to {high}"
            raise ValueError(f"function {self.apply!r} takes {want} number argument(s), "
                             f"got {len(self.args)}")
        return self


class Aggregate(_Strict):
    """A PromQL aggregation of the expression so far (``sum by (job) (a / b)``), for what
    the query's own `aggregation` cannot say: over a binary result, a second aggregation,
    ``without``, any quantile level, ``group``, ``count_values``, topk/bottomk ``by``."""

    aggregate: StepAggregation = Field(description="the aggregation operator")
    param: float | None = Field(
        default=None, description="quantile: the level (0..1); topk / bottomk: k")
    label: str | None = Field(
        default=None, min_length=1, description="count_values: the label for each value")
    by: tuple[str, ...] = Field(default=(), description="group by these labels")
    without: tuple[str, ...] | None = Field(
        default=None, description="group by all labels but these (and the name)")

    @model_validator(mode="after")
    def _check(self) -> Aggregate:
        needs_param = self.aggregate in ("quantile", "topk", "bottomk")
        if needs_param != (self.param is not None):
            raise ValueError("'param' is required with quantile / topk / bottomk and only "
                             "with them")
        if self.aggregate in ("topk", "bottomk") and not math.isfinite(self.param or 0):
            raise ValueError(f"{self.aggregate} needs a finite k, got {self.param}")
        if (self.aggregate == "count_values") != (self.label is not None):
            raise ValueError("'label' is required with count_values and only with it")
        if self.by and self.without is not None:
            raise ValueError("use either 'by' or 'without', not both")
        return self


class LabelReplace(_Strict):
    """PromQL ``label_replace``: where ``src``'s value fully matches ``regex``, set ``dst``
    to ``replacement`` (``$1``, ``${name}``: the regex's groups; empty deletes ``dst``)."""

    dst: str = Field(min_length=1, description="the label to write")
    replacement: str = Field(description="its new value, with $1 ... from the regex")
    src: str = Field(description="the label whose value the regex must match")
    regex: str = Field(description="a regular expression, anchored at both ends")

    @model_validator(mode="after")
    def _check(self) -> LabelReplace:
        _valid_regex(self.regex, "regex")
        return self


class LabelJoin(_Strict):
    """PromQL ``label_join``: set ``dst`` to the values of ``src`` joined by ``separator``."""

    dst: str = Field(min_length=1, description="the label to write")
    separator: str = Field(description="put between the values")
    src: tuple[str, ...] = Field(default=(), description="the labels to join, in order")


Operation = Binary | Apply | Aggregate | LabelReplace | LabelJoin
UNIT_KEEPING_FUNCTIONS = frozenset({"abs", "ceil", "floor", "round", "clamp", "clamp_min",
                                    "clamp_max", "sort", "sort_desc", "histogram_quantile"})
"""One step of `MetricQuery.then`."""
THEN_DESCRIPTION = (
    "operations applied in order after 'binary': a function of each sample ({'apply': "
    "'round'}), an aggregation of the expression so far ({'aggregate': 'sum', 'by': [...]}),"
    " label_replace / label_join, or more binary operations")
AT_DESCRIPTION = ("PromQL @: evaluate the selector at this fixed Unix time; every step "
                  "returns those values")


class MetricOperand(_Strict):
    """A metric expression on the right of a `Binary`: a `MetricQuery` without its own time
    range or mode (it is evaluated over the query's)."""

    metric: str = Field(min_length=1, description="exact metric name from the catalog")
    matchers: tuple[Matcher, ...] = ()
    function: MetricFunction = "raw"
    quantile: float | None = Field(default=None, ge=0, le=1)
    window_s: int | None = Field(default=None, ge=1, description="range-vector window")
    aggregation: Aggregation = "none"
    by: tuple[str, ...] = Field(default=(), description="group-by labels for the aggregation")
    k: int | None = Field(default=None, ge=1, le=100, description="for topk / bottomk")
    offset_s: int | None = Field(
        default=None, description="PromQL offset: read the data this many seconds earlier"
    )
    binary: tuple[Binary, ...] = Field(
        default=(), max_length=MAX_BINARY,
        description="binary operations applied in order to this expression's result")
    then: tuple[Operation, ...] = Field(
        default=(), max_length=MAX_BINARY, description=THEN_DESCRIPTION)
    at_s: float | None = Field(default=None, description=AT_DESCRIPTION)
    horizon_s: float | None = Field(
        default=None, description="predict_linear only: how many seconds ahead")
    subquery_step_s: int | None = Field(
        default=None, ge=1, description="PromQL subquery metric[w:step]: the function reads "
        "the selector's value every this many seconds in its window, not the raw samples")

    @model_validator(mode="after")
    def _check(self) -> MetricOperand:
        if self.function == "samples":
            raise ValueError("function 'samples' cannot be a binary operand")
        _check_metric_expression(self)
        return self


class MetricQuery(_Strict):
    """Select a metric's series, apply a function over time, then aggregate across series
    (and, optionally, combine the result with numbers or other expressions: `binary`)."""

    kind: Literal["metric"] = "metric"
    metric: str = Field(min_length=1, description="exact metric name from the catalog")
    matchers: tuple[Matcher, ...] = ()
    function: MetricFunction = "raw"
    quantile: float | None = Field(default=None, ge=0, le=1)
    window_s: int | None = Field(default=None, ge=1, description="range-vector window")
    aggregation: Aggregation = "none"
    by: tuple[str, ...] = Field(default=(), description="group-by labels for the aggregation")
    k: int | None = Field(default=None, ge=1, le=100, description="for topk / bottomk")
    time_range: TimeRange
    mode: Literal["range", "instant"] = "range"
    offset_s: int | None = Field(
        default=None, description="PromQL offset: read the data this many seconds earlier"
    )
    binary: tuple[Binary, ...] = Field(
        default=(), max_length=MAX_BINARY,
        description="binary operations applied in order to the result: arithmetic, "
        "comparisons, and/or/unless with numbers or other metric expressions")
    threshold: float | None = Field(
        default=None, description="samples only: count samples above it and time spent above"
    )
    bucket_s: int | None = Field(
        default=None, ge=60, description="samples only: sums and means per bucket "
        "(86400: per local day, 3600: per hour)"
    )
    then: tuple[Operation, ...] = Field(
        default=(), max_length=MAX_BINARY, description=THEN_DESCRIPTION)
    at_s: float | None = Field(default=None, description=AT_DESCRIPTION)
    horizon_s: float | None = Field(
        default=None, description="predict_linear only: how many seconds ahead")
    subquery_step_s: int | None = Field(
        default=None, ge=1, description="PromQL subquery metric[w:step]: the function reads "
        "the selector's value every this many seconds in its window, not the raw samples")

    @model_validator(mode="after")
    def _check(self) -> MetricQuery:
        _check_metric_expression(self)
        if self.function != "samples":
            for name in SAMPLE_ONLY:
                if getattr(self, name) is not None:
                    raise ValueError(f"{name!r} is only used with function 'samples'")
        return self

    def leaf(self) -> MetricQuery:
        """This query without its binary operations and later steps (what one engine query
        computes)."""
        if self.binary or self.then:
            return self.model_copy(update={"binary": (), "then": ()})
        return self

    def operations(self) -> tuple[Operation, ...]:
        """Every step after the leaf, in order: `binary`, then `then`."""
        return (*self.binary, *self.then)

    def changes_unit(self) -> bool:
        """Whether a step leaves the result without the metric's unit (``*``, ``/``, ``%``,
        ``^``, ``atan2``, a ``bool`` comparison, a function other than rounding, clamping
        and sorting, a count; sums, differences and filters keep it)."""
        for b in self.operations():
            match b:
                case Binary():
                    if b.op in ("*", "/", "%", "^", "atan2") or b.bool_modifier:
                        return True
                case Apply():
                    if b.apply not in UNIT_KEEPING_FUNCTIONS:
                        return True
                case Aggregate():
                    if b.aggregate in ("count", "group", "count_values", "stdvar"):
                        return True
                case LabelReplace() | LabelJoin():
                    pass
        return False

    def operand(self, o: MetricOperand) -> MetricQuery:
        """Operand `o` as a query over this query's time range and mode."""
        fields = {name: getattr(o, name) for name in MetricOperand.model_fields}
        return MetricQuery(**fields, time_range=self.time_range, mode=self.mode)

    def window(self) -> int:
        """The function's range-vector window in seconds (see module docstring)."""
        if self.window_s is not None:
            return self.window_s
        if self.mode == "instant" or self.function == "samples":
            return max(1, int(self.time_range.duration_s))
        return max(self.time_range.resolved_step(), DEFAULT_WINDOW_S)

    def eval_times(self) -> list[datetime]:
        if self.mode == "instant" or self.function == "samples":
            return [self.time_range.end.astimezone(UTC)]
        return self.time_range.steps()


def sample_cap_warning(kept: int = MAX_SAMPLES) -> str:
    """What a capped ``samples`` result says (every engine words it the same)."""
    return (f"sample cap: only the first {kept:,} raw samples were read (at most "
            f"{MAX_SAMPLES:,} per query); the figures cover them only: narrow the time "
            "range or add a label filter")


class Extract(_Strict):
    """A value read from each line's message at query time by a named pattern (regexp in
    SQL, the same on every engine): an IPv4 address (with its port: ``ip_port``), a MAC
    address, the user
    name after "user"/"for", a block/request/session id, a UUID or hex id, the number after
    ``pid``/``port``, an HTTP status code, the first number, a ``key=value`` value, or a
    regular expression of the caller's, or a field of the catalog (``kind="field"``,
    ``key="<template_id>.<name>"``: the value at that placeholder of that mined template,
    read only from that template's lines; `Connector.log_fields` lists them). Lines where it
    is absent are left out."""

    kind: ExtractKind
    key: str | None = Field(default=None, min_length=1, max_length=100,
                            description="for kind='key': the key of key=value; for kind="
                                        "'field': '<template_id>.<name>' from the field catalog")
    pattern: str | None = Field(default=None, min_length=1,
                                description="for kind='regex': group 1, else the whole match")

    @model_validator(mode="after")
    def _check(self) -> Extract:
        if (self.kind in ("key", "field")) != (self.key is not None):
            raise ValueError("'key' is required with kind='key' or 'field' and only with them")
        if self.kind == "field":
            from assistant.log_fields import split_key

            split_key(str(self.key))
        if (self.kind == "regex") != (self.pattern is not None):
            raise ValueError("'pattern' is required with kind='regex' and only with it")
        if self.pattern is not None:
            _valid_regex(self.pattern, "pattern")
        return self

    @property
    def name(self) -> str:
        """How answers name the value: the key, the pattern's name, or 'value'."""
        if self.kind == "key":
            return str(self.key)
        if self.kind == "field":
            return str(self.key).partition(".")[2]
        return "value" if self.kind == "regex" else self.kind

    def regex(self) -> str:
        """The RE2 pattern whose group 1 is the value."""
        import re

        if self.kind == "key":
            return rf"(?i)\b{re.escape(str(self.key))}\s*[=:]\s*[\"']?([^\s,;\"'&]+)"
        if self.kind == "regex":
            p = str(self.pattern)
            return p if re.compile(p).groups else f"({p})"
        if self.kind == "field":
            raise ValueError("a catalog field's pattern comes from its template: the "
                             "connector compiles it (Connector.log_fields)")
        return EXTRACT_PATTERNS[self.kind]


ValueOp = Literal["=", "!=", "in", "<", "<=", ">", ">=", "regex"]
NUMERIC_OPS = frozenset({"<", "<=", ">", ">="})


class ValueFilter(_Strict):
    """A condition on the `extract`ed value: text equality (``=``, ``!=``, ``in``), a
    numeric comparison (lines whose value is not a number are left out) or an RE2 regex
    searched in the value."""

    op: ValueOp
    value: str | float | None = Field(
        default=None, description="text for = != regex; a number for < <= > >=")
    values: tuple[str, ...] = Field(default=(), description="for op='in': the values")

    @model_validator(mode="after")
    def _check(self) -> ValueFilter:
        if self.op == "in":
            if not self.values or self.value is not None:
                raise ValueError("op='in' takes 'values' (a non-empty list), not 'value'")
            return self
        if self.values:
            raise ValueError(f"'values' is only for op='in' (got op={self.op!r})")
        if self.op in NUMERIC_OPS:
            if not isinstance(self.value, float | int):
                raise ValueError(f"op={self.op!r} compares numbers: give 'value' as a number")
            return self
        if not isinstance(self.value, str):
            raise ValueError(f"op={self.op!r} compares text: give 'value' as a string")
        if self.op == "regex":
            _valid_regex(self.value, "value")
        return self


class LogQuery(_Strict):
    """Search log lines; optionally count them, by a field or over time.

    * no `count_by`, no `bucket_s`, no `busiest`: matching lines, newest first (or oldest
      first with ``order="oldest"``: ``limit=1`` is the first occurrence), up to `limit`,
      each with its `extract`ed value among its fields
    * `count_by`: rows ``{value, count}`` sorted by count, top `top_k`, and the number of
      distinct values (`count_by="template"` groups lines that differ only in ids, IPs and
      numbers; ``"extracted"`` groups on the `extract`ed value); with
      ``aggregate="count_distinct"`` only the number of distinct values
    * `bucket_s`: a series of matching-line counts per time bucket
    * `busiest`: matching-line counts per calendar minute, hour or day (in the log's own
      clock), busiest first, top `top_k`
    * ``aggregate="min"``/``"max"``: the least/greatest numeric `extract`ed value, with the
      line it was read from (ties: the oldest line)

    `value_filters` keep only the lines whose `extract`ed value passes every condition.

    Every result states how many lines it covered (`Result.total`).
    """

    kind: Literal["logs"] = "logs"
    time_range: TimeRange
    service: str | None = None
    host: str | None = None
    level: Level | None = Field(default=None, description="minimum severity")
    levels: tuple[Level, ...] = Field(
        default=(), description="exactly these severities (any of them); with count_by="
                                "'level': one count per severity asked")
    text: str | None = Field(default=None, description="case-insensitive substring")
    pattern: str | None = Field(default=None, description="regular expression")
    extract: Extract | None = Field(
        default=None, description="a value read from each message; lines without it are left out")
    count_by: LogField | None = None
    aggregate: Literal["count", "count_distinct", "min", "max"] = Field(
        default="count", description="with count_by: counts per value, or only how many values;"
                                     " min/max: of the numeric extracted value (no count_by)")
    top_k: int = Field(default=10, ge=1, le=1000)
    bucket_s: int | None = Field(default=None, ge=1)
    busiest: TimeUnit | None = Field(
        default=None, description="count per calendar minute/hour/day, busiest first")
    order: Literal["newest", "oldest"] = Field(
        default="newest", description="line order: newest first, or oldest first")
    limit: int = Field(default=50, ge=1, le=10_000)
    value_filters: tuple[ValueFilter, ...] = Field(
        default=(), description="conditions on the extracted value (all must hold)")

    @model_validator(mode="after")
    def _check(self) -> LogQuery:
        if self.pattern is not None:
            _valid_regex(self.pattern, "pattern")
        modes = [n for n, v in (("count_by", self.count_by), ("bucket_s", self.bucket_s),
                                ("busiest", self.busiest)) if v is not None]
        if len(modes) > 1:
            raise ValueError(f"use only one of 'count_by', 'bucket_s', 'busiest' (got {modes})")
        if self.count_by == "extracted" and self.extract is None:
            raise ValueError("count_by='extracted' needs 'extract'")
        if self.aggregate == "count_distinct" and self.count_by is None:
            raise ValueError("aggregate='count_distinct' needs 'count_by' (the field)")
        if self.value_filters and self.extract is None:
            raise ValueError("'value_filters' need 'extract' (the value they test)")
        if self.aggregate in ("min", "max"):
            if self.extract is None:
                raise ValueError(f"aggregate={self.aggregate!r} needs 'extract' (a numeric value)")
            if modes:
                raise ValueError(f"aggregate={self.aggregate!r} is one number: drop {modes}")
        return self

    def mode(self) -> Literal["lines", "count_by", "distinct", "buckets", "busiest", "stat"]:
        """Which of the shapes in the class docstring this query asks for."""
        if self.aggregate in ("min", "max"):
            return "stat"
        if self.bucket_s is not None:
            return "buckets"
        if self.busiest is not None:
            return "busiest"
        if self.count_by is not None:
            return "distinct" if self.aggregate == "count_distinct" else "count_by"
        return "lines"


class EventQuery(_Strict):
    """List events (alerts, deploys, incidents, changes) overlapping the time range."""

    kind: Literal["events"] = "events"
    time_range: TimeRange
    kinds: tuple[EventKind, ...] = ()
    service: str | None = None
    host: str | None = None
    status: str | None = Field(default=None, description="e.g. firing, resolved, succeeded")
    limit: int = Field(default=100, ge=1, le=10_000)


class DocQuery(_Strict):
    """Search runbooks and docs (served by retrieval, not by a telemetry connector)."""

    kind: Literal["docs"] = "docs"
    text: str = Field(min_length=1)
    k: int = Field(default=3, ge=1, le=50)


Binary.model_rebuild()
MetricOperand.model_rebuild()
Apply.model_rebuild()
MetricQuery.model_rebuild()

Query = Annotated[MetricQuery | LogQuery | EventQuery | DocQuery, Field(discriminator="kind")]
_QUERY = TypeAdapter(Query)


def parse_query(data: str | bytes | dict[str, Any]) -> Query:
    """Parse IR from JSON text or a dict; a clear `IRError` names every bad field."""
    try:
        if isinstance(data, str | bytes):
            return _QUERY.validate_json(data)
        return _QUERY.validate_python(data)
    except ValidationError as exc:
        raise IRError(format_validation_error(exc)) from None


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: the field path, what was wrong, and the allowed values."""
    parts: list[str] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "json_invalid":
            parts.append(f"not valid JSON: {err.get('ctx', {}).get('error', msg)}")
            continue
        ctx = err.get("ctx") or {}
        if "expected" in ctx:
            msg = f"got {err.get('input')!r}; allowed: {ctx['expected']}"
        elif err["type"] == "union_tag_invalid":
            msg = f"unknown query kind {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
        elif err["type"] == "union_tag_not_found":
            msg = "missing 'kind' (one of 'metric', 'logs', 'events', 'docs')"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "invalid query: " + "; ".join(parts)


def query_json_schema(
    metrics: list[str] | None = None,
    services: list[str] | None = None,
    hosts: list[str] | None = None,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """The IR's JSON schema, with enums filled from a live catalog where given.

    The result is both a tool schema for large models and a decoding grammar for small ones:
    a model constrained by it cannot name a metric, service or host that does not exist.
    """
    schema = _QUERY.json_schema()
    defs = schema.get("$defs", {})

    def enum(model: str, field: str, values: list[str] | None, nullable: bool) -> None:
        if not values or model not in defs:
            return
        prop: dict[str, Any] = {"type": "string", "enum": sorted(set(values))}
        if nullable:
            prop = {"anyOf": [prop, {"type": "null"}], "default": None}
        desc = defs[model]["properties"][field].get("description")
        if desc:
            prop["description"] = desc
        defs[model]["properties"][field] = prop

    enum("MetricQuery", "metric", metrics, nullable=False)
    enum("MetricOperand", "metric", metrics, nullable=False)
    for model in ("LogQuery", "EventQuery"):
        enum(model, "service", services, nullable=True)
        enum(model, "host", hosts, nullable=True)
    if labels and "Matcher" in defs:
        defs["Matcher"]["properties"]["label"] = {"type": "string", "enum": sorted(set(labels))}
    for model in ("MetricQuery", "MetricOperand", "Aggregate"):
        if labels and model in defs:
            defs[model]["properties"]["by"] = {
                "type": "array",
                "items": {"type": "string", "enum": sorted(set(labels))},
                "default": [],
            }
    if labels and "Aggregate" in defs:
        props = defs["Aggregate"]["properties"]
        props["by"]["description"] = Aggregate.model_fields["by"].description
        props["without"] = {
            "anyOf": [{"type": "array", "items": {"type": "string", "enum": sorted(set(labels))}},
                      {"type": "null"}],
            "default": None, "description": Aggregate.model_fields["without"].description,
        }
    return schema
