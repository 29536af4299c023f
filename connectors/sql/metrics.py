"""MetricQuery -> SQL (DuckDB or ClickHouse, see `dialect`) with Prometheus semantics.

Two window semantics (`Semantics`): ``prometheus2`` (the default, what Prometheus 2.x
servers such as Debian's do: windows ``[t - w, t]`` with both ends inclusive) and
``prometheus3`` (left-open windows ``(t - w, t]`` for range functions and the lookback,
and 3.x's order of the two limits on extrapolation to the window's start). Everything
else is the same in both, as in Prometheus 3.x: NaN samples are ignored by ``min``/``max``
(and their ``_over_time``) unless all are NaN, a NaN sample is no counter reset, sums are
Kahan-compensated and means do not overflow where the sum would.

The statement is a chain of small CTEs, each one step of the PromQL evaluation:

``sel``  the series the selector matches (matchers on the ``labels`` map, as PromQL:
         a missing label equals ``""``; ``=~``/``!~`` are fully anchored RE2 regexes)
``pts``  their samples from the first window's start to the last evaluation time; for
         counters also ``reset``: the value before a drop (PromQL adds it back)
``win``  each sample once per window ``[t_i - w, t_i]`` that contains it, where
         ``t_i = t_0 + i * step`` (both ends inclusive, as Prometheus 2.x; the start
         excluded with ``prometheus3``); with ``offset_s`` the windows end at
         ``t_i - offset`` (results are still reported at ``t_i``)
``fn``   the function per series and step (``raw`` is the last sample of the 5 minute
         lookback; ``rate``/``increase``/``delta`` are Prometheus' ``extrapolatedRate``;
         ``changes``, ``resets``, ``irate``, ``idelta``, ``deriv`` and ``predict_linear``
         read each sample with the one before it: `connectors.sql.pairwise`)
``agg``  the aggregation across series (``absent_over_time``: one row per step without
         any sample, labelled by the selector's ``=`` matchers, as PromQL)
then a final ``SELECT`` of ``(key..., i, t, value)`` rows ordered by key and time.

With ``at_s`` (PromQL ``@``) the chain is evaluated once, at that time (less the offset),
and the final ``SELECT`` repeats its rows at every evaluation step. With
``subquery_step_s`` a ``sub`` CTE (`connectors.sql.subquery`) stands in for the samples
table: the selector's value at each multiple of the step. A query with `binary` or `then`
steps is several statements and Python (`connectors.sql.binop.evaluate`), never one.

``topk``/``bottomk`` follow PromQL exactly: the k highest (lowest) series *at each
evaluation time*. In range mode the output is the union of the series that were in the top
k at some step, each with points only at the steps where it was (so a plain
``topk(k, expr)`` range query on Prometheus returns the same). The selection runs in Python
after SQL (`promql.heap_select`): it replays Prometheus' heap over the series in Prometheus'
label order, so even ties resolve as Prometheus resolves them.

``histogram_quantile`` (``metric`` = the histogram's base name or its ``_bucket`` series):
``fn`` is ``rate(x_bucket[w])``; with ``aggregation="sum"`` the bucket rates are summed by
``(le, by...)`` in SQL (``histogram_quantile(q, sum by (le, ...) (rate(...)))``). The
bucket interpolation itself (Prometheus' ``bucketQuantile``) runs in Python on the SQL
output (`connectors.sql.promql`), and so does any other aggregation of the
per-series quantiles (``max by (...) (histogram_quantile(q, rate(...)))``). Points where
Prometheus would return NaN (no observations, no ``+Inf`` bucket) are left out.

``samples`` (PromQL ``metric{...}[w]`` at the range's end) is only ``sel`` and ``pts``: every
sample of ``[end - w, end]`` with its own time in ``t`` (``i`` is 0), ordered by series and
time, at most ``MAX_SAMPLES + 1`` rows so that a capped result can be told apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from assistant.errors import IRError
from assistant.ir import AGG_QUANTILES, LOOKBACK_S, MAX_SAMPLES, Matcher, MetricQuery
from connectors.sql.common import num, one_line
from connectors.sql.dialect import Dialect, DuckDB
from connectors.sql.pairwise import pairwise_ctes
from connectors.sql.subquery import raw_span, subquery_cte

COUNTER_FUNCTIONS = frozenset({"rate", "increase", "histogram_quantile"})
RESERVED_COLUMNS = frozenset({"series_id", "i", "t", "value", "le"})

Semantics = Literal["prometheus2", "prometheus3"]
DEFAULT_SEMANTICS: Semantics = "prometheus2"
"""The connectors' window semantics: Prometheus 2.x, what the Prometheus server the
differential test compares against (Debian's 2.x) does. ``prometheus3`` is what
Prometheus 3.x and its own engine tests (`tests/promqltest_runner.py`) expect."""

_OVER_TIME = frozenset({
    "raw", "last_over_time", "timestamp", "avg_over_time", "min_over_time", "max_over_time",
    "sum_over_time", "count_over_time", "stddev_over_time", "stdvar_over_time",
    "present_over_time", "first_over_time",
})
_PAIRWISE = frozenset({"changes", "resets", "irate", "idelta", "deriv", "predict_linear"})
"""Functions that read each sample with the one before it (``prev``, ``prev_ms``)."""
_LAST_SAMPLE = frozenset({"raw", "last_over_time", "timestamp"})
_SCALE_DOWN, _SCALE_UP = "5.421010862427522e-20", "1.8446744073709552e19"  # 2^-64, 2^64


def nan_aware(d: Dialect, fn: str, expr: str) -> str:
    """``min``/``max`` ignoring NaN unless every value is NaN (PromQL's)."""
    return (f"coalesce({fn}(CASE WHEN {d.isnan(expr)} THEN NULL ELSE {expr} END), "
            f"{fn}({expr}))")


def mean(d: Dialect, expr: str) -> str:
    """The compensated mean; where the sum would overflow, the mean of the values scaled
    by 2^-64, scaled back (Prometheus switches to an incremental mean there)."""
    total = d.fsum(expr)
    return (f"CASE WHEN {d.isinf(total)} THEN {d.fsum(f'{expr} * {_SCALE_DOWN}')} "
            f"/ count(*) * {_SCALE_UP} ELSE {total} / count(*) END")


def spread(d: Dialect, fn: Callable[[str], str], expr: str) -> str:
    """A population variance or standard deviation that is NaN when a value is NaN or
    infinite, as PromQL's (``x * 0`` is 0 for every other value)."""
    return f"{fn(expr)} + {d.fsum(f'{expr} * 0')}"


def over_time_sql(d: Dialect, function: str, expr: str = "value", ts: str = "ts") -> str:
    """The aggregate computing `function` over a window's samples."""
    match function:
        case "raw" | "last_over_time":
            return d.arg_max(expr, ts)
        case "first_over_time":
            return d.arg_min(expr, ts)
        case "timestamp":
            return f"CAST({d.arg_max(d.epoch_ms(ts), ts)} AS DOUBLE) / 1000"
        case "avg_over_time":
            return mean(d, expr)
        case "min_over_time" | "max_over_time":
            return nan_aware(d, function[:3], expr)
        case "sum_over_time":
            return d.fsum(expr)
        case "count_over_time":
            return "CAST(count(*) AS DOUBLE)"
        case "stddev_over_time":
            return spread(d, d.stddev_pop, expr)
        case "stdvar_over_time":
            return spread(d, d.var_pop, expr)
        case "present_over_time":
            return "CAST(1 AS DOUBLE)"
    raise ValueError(f"{function!r} is not an _over_time function")


def aggregation_sql(d: Dialect, agg: str) -> str | None:
    """The SQL aggregate of a cross-series aggregation over ``f.value`` (None: not SQL)."""
    match agg:
        case "sum":
            return d.fsum("f.value")
        case "avg":
            return mean(d, "f.value")
        case "min" | "max":
            return nan_aware(d, agg, "f.value")
        case "count":
            return "CAST(count(*) AS DOUBLE)"
        case "stddev":
            return spread(d, d.stddev_pop, "f.value")
        case "stdvar":
            return spread(d, d.var_pop, "f.value")
    return None


@dataclass(frozen=True)
class MetricTables:
    """Where series and samples live (SQL names, already quoted)."""

    series: str = "series"
    samples: str = "samples"
    scoped: Callable[[str, datetime, datetime], tuple[str, str]] | None = None
    """For tables that are views over a team's own data: ``(metric, start, end) -> (series,
    samples)`` narrowed to one metric and time span, so finding the series reads only
    that span, not the whole table."""

    def for_query(self, metric: str, start: datetime, end: datetime) -> tuple[str, str]:
        """The series and samples sources for one query."""
        if self.scoped is None:
            return self.series, self.samples
        return self.scoped(metric, start, end)


@dataclass(frozen=True)
class MetricPlan:
    """A compiled metric query and how to read its rows.

    Rows are ``(key..., i, t, value)`` (`columns`): ``key`` is ``series_id`` when
    ``key == "series"``, else one column per ``by`` label (named by `by_columns`); histogram
    plans summed in SQL also carry ``le`` before ``i``. ``i`` indexes `times`.
    """

    sql: str
    metric: str
    times: list[datetime]
    key: Literal["series", "by"]
    by: tuple[str, ...] = ()
    by_columns: tuple[str, ...] = ()
    histogram: bool = False
    with_le: bool = False
    python_aggregation: str | None = None
    notes: list[str] = field(default_factory=list)
    series_source: str = "series"
    """Where this plan's series and their labels are read (a table or a scoped view)."""
    raw_samples: bool = False
    """Rows are raw samples: ``t`` is each sample's own time (``times`` is unused)."""

    @property
    def columns(self) -> list[str]:
        """The result's column names, in order."""
        keys = ["series_id"] if self.key == "series" else list(self.by_columns)
        return [*keys, *(["le"] if self.with_le else []), "i", "t", "value"]

    @property
    def native(self) -> str:
        """The SQL with the notes on the steps that follow in Python."""
        return "\n".join([self.sql, *self.notes])


def by_column(name: str) -> str:
    """The result column holding the value of group-by label `name`."""
    return f"label_{name}" if name in RESERVED_COLUMNS else name


def matcher_sql(m: Matcher, d: Dialect, labels: str = "labels") -> str:
    """One PromQL label matcher as a condition on the series table (a missing label is '')."""
    if m.label == "__name__":
        value = padded = "metric"
    else:
        value = d.map_value(labels, m.label)
        padded = d.padded(value)
    if m.op == "=":
        return f"{value} = {d.lit(m.value)}" if m.value else f"{padded} = ''"
    if m.op == "!=":
        return f"{padded} <> {d.lit(m.value)}"
    if m.op == "=~":
        return d.full_match(padded, m.value)
    return f"NOT {d.full_match(padded, m.value)}"


def selector_desc(metric: str, matchers: tuple[Matcher, ...]) -> str:
    """PromQL-looking text for comments: ``metric{host="web-01"}``."""
    if not matchers:
        return metric
    inner = ",".join(f'{m.label}{m.op}"{m.value}"' for m in matchers)
    return f"{metric}{{{inner}}}"


def build_metric_sql(
    q: MetricQuery,
    series_metric: str,
    report_metric: str,
    dialect: Dialect | None = None,
    tables: MetricTables | None = None,
    semantics: Semantics = DEFAULT_SEMANTICS,
) -> MetricPlan:
    """Compile `q` against the series named `series_metric` (the `_bucket` series for
    histogram_quantile); `report_metric` is the name put on the result series;
    `semantics` chooses Prometheus 2.x or 3.x windows (see `Semantics`)."""
    if semantics not in get_args(Semantics):
        raise ValueError(f"unknown PromQL semantics {semantics!r}; use one of "
                         f"{get_args(Semantics)}")
    if q.binary or q.then:
        raise IRError("a query with 'binary' or 'then' steps runs as several statements, "
                      "not one: this SQL connector cannot run its 'then' steps yet (they run "
                      "through connectors.sql.binop.evaluate)")
    d = dialect or DuckDB()
    tables = tables or MetricTables()
    left_open = semantics == "prometheus3"
    offset = timedelta(seconds=q.offset_s or 0)
    if q.function == "samples":
        return _samples_plan(q, series_metric, report_metric, d, tables, left_open)
    times = q.eval_times()
    histogram = q.function == "histogram_quantile"
    absent = q.function == "absent_over_time"
    function = "rate" if histogram else "count_over_time" if absent else q.function
    window_s = LOOKBACK_S if function in ("raw", "timestamp") else q.window()
    step_s = q.time_range.resolved_step() if len(times) > 1 else window_s
    grid = _Grid(d=d, t0=times[0] - offset, n=len(times), step_s=step_s, window_s=window_s,
                 left_open=left_open, out_t0=times[0])
    if q.at_s is not None:  # one evaluation at the fixed time, repeated at every step
        at = datetime.fromtimestamp(q.at_s, UTC)
        grid = _Grid(d=d, t0=at - offset, n=1, step_s=window_s, window_s=window_s,
                     left_open=left_open, out_t0=times[0], out_n=len(times),
                     out_step_s=step_s)
    desc = selector_desc(series_metric, q.matchers)

    sub = q.subquery_step_s
    series, samples = tables.for_query(series_metric,
                                       *(raw_span(*grid.span) if sub else grid.span))
    counter = function in COUNTER_FUNCTIONS
    ctes = [("sel", f"series matching {desc}", _sel_sql(d, series, series_metric, q.matchers))]
    if sub:
        ctes.append(subquery_cte(d, samples, grid.span, sub, left_open))
        samples = "sub"
    pairwise = function in _PAIRWISE
    if d.asof and function in ASOF_FUNCTIONS and grid.copies > ASOF_MIN_WINDOWS:
        ctes += [
            ("pts", "their samples from the first window's start to the last step, "
             "numbered" + (", with running counter resets" if counter else ""),
             _pts_sql(grid, samples, counter=counter, numbered=True)),
            ("steps", _win_comment(grid).replace("each sample in every", "every"),
             _steps_sql(grid)),
        ]
        ctes += _asof_ctes(d, function, grid)
    else:
        ctes += [
            ("pts", "their samples from the first window's start to the last step"
             + (", each with the sample before it" if pairwise else ""),
             _pts_sql(grid, samples, counter=counter, previous=pairwise)),
            ("win", _win_comment(grid), _win_sql(grid)),
        ]
        ctes += _function_ctes(d, function, q.quantile, grid, q.horizon_s)

    python_agg: str | None = None
    with_le = False
    by = q.by
    if histogram:
        by = tuple(b for b in q.by if b != "le")  # buckets always group by le
        if q.aggregation == "sum":
            with_le = True
            key: Literal["series", "by"] = "by"
            ctes.append(("agg", f"sum by (le{''.join(', ' + b for b in by)}) of the "
                         "bucket rates", _group_sql(d, by, "sum(f.value)", with_le=True)))
        else:
            key = "series"
            python_agg = None if q.aggregation == "none" else q.aggregation
            ctes.append(("agg", "bucket rates per series (quantiles are interpolated "
                         "after SQL)", "SELECT series_id, i, value FROM fn"))
    elif absent:
        key = "by"
        by = absent_labels(q.matchers)
        ctes.append(("agg", "a point where no series has a sample in the window, labelled "
                     "by the selector's = matchers", _absent_sql(d, q.matchers, by, grid)))
    elif q.aggregation in ("topk", "bottomk"):
        key = "series"
        python_agg = q.aggregation
        ctes.append(("agg", f"per series; {q.aggregation}({q.k}) per step follows in Python",
                     "SELECT series_id, i, value FROM fn"))
    else:
        key, comment, body = _aggregation(d, q)
        ctes.append(("agg", comment, body))

    keys = _key_columns(d, key, by, with_le)
    sql = d.finish(_render(ctes, keys, grid))
    notes: list[str] = []
    if offset:
        notes.append(f"-- offset {q.offset_s}s: each window ends {q.offset_s}s before "
                     "its evaluation time")
    if q.at_s is not None:
        notes.append(f"-- @ {num(q.at_s)}: evaluated once at that time, the same values "
                     "at every step")
    if sub:
        notes.append(f"-- subquery [{window_s}s:{sub}s]: the function reads the selector's "
                     f"value every {sub}s")
    if histogram:
        notes.append(
            f"-- then histogram_quantile({num(q.quantile or 0)}) per group of buckets in "
            "Python (Prometheus bucketQuantile)"
            + (f", then {_agg_text(q)}" if python_agg else "")
        )
    elif python_agg:
        notes.append(f"-- then {_agg_text(q)} in Python (Prometheus' heap, label order)")
    return MetricPlan(
        sql=sql,
        metric=report_metric,
        times=times,
        key=key,
        by=by if key == "by" else (),
        by_columns=tuple(by_column(b) for b in by) if key == "by" else (),
        histogram=histogram,
        with_le=with_le,
        python_aggregation=python_agg,
        notes=notes,
        series_source=series,
    )


def absent_labels(matchers: tuple[Matcher, ...]) -> tuple[str, ...]:
    """The labels ``absent_over_time`` puts on its result: those of ``=`` matchers (a label
    matched by ``=`` twice is left out, as PromQL)."""
    eq = [m.label for m in matchers if m.op == "=" and m.label != "__name__"]
    return tuple(sorted(b for b in set(eq) if eq.count(b) == 1))


def _absent_sql(d: Dialect, matchers: tuple[Matcher, ...], by: tuple[str, ...],
                g: _Grid) -> str:
    values = {m.label: m.value for m in matchers if m.label in by and m.op == "="}
    cols = [f"{d.lit(values[b])} AS {d.ident(by_column(b))}" for b in by]
    return (f"SELECT {''.join(c + ', ' for c in cols)}r.i AS i, CAST(1 AS DOUBLE) AS value\n"
            f"  FROM {d.range_table(g.n, 'r', 'i')}\n"
            "  WHERE r.i NOT IN (SELECT i FROM fn)")


def _samples_plan(
    q: MetricQuery, series_metric: str, report_metric: str, d: Dialect, tables: MetricTables,
    left_open: bool = False,
) -> MetricPlan:
    """Every raw sample of the window, with its own time (PromQL ``metric{...}[w]``)."""
    end = q.eval_times()[0]
    w = q.window()
    grid = _Grid(d=d, t0=end - timedelta(seconds=q.offset_s or 0), n=1, step_s=w,
                 window_s=w, left_open=left_open)
    series, samples = tables.for_query(series_metric, *grid.span)
    desc = selector_desc(series_metric, q.matchers)
    ctes = [
        ("sel", f"series matching {desc}", _sel_sql(d, series, series_metric, q.matchers)),
        ("pts", f"every sample in {grid.window_text} at t = {grid.t0.isoformat()}",
         _pts_sql(grid, samples, counter=False)),
    ]
    parts = [f"{name} AS (  -- {one_line(c)}\n  {body}\n)" for name, c, body in ctes]
    sql = ("WITH " + ",\n".join(parts)
           + "\nSELECT series_id, 0 AS i, ts AS t, value\nFROM pts\n"
           f"ORDER BY series_id, t\nLIMIT {MAX_SAMPLES + 1}")
    return MetricPlan(
        sql=d.finish(sql), metric=report_metric, times=[end], key="series",
        series_source=series, raw_samples=True,
        notes=[f"-- {desc}[{w}s] at {end.isoformat()}: raw samples; "
               "peak, mean, quantiles, time above a threshold computed from them in Python"],
    )


@dataclass(frozen=True)
class _Grid:
    """Evaluation times ``t_i = t0 + i * step_s`` (i < n) and the function window
    (``(t_i - w, t_i]`` when `left_open`); `out_t0` is the first time reported (``t0``
    unless an offset moved the windows)."""

    d: Dialect
    t0: datetime
    n: int
    step_s: int
    window_s: int
    left_open: bool = False
    out_t0: datetime | None = None
    out_n: int | None = None
    """With ``@``: how many steps repeat the single evaluation (None: ``n`` of their own)."""
    out_step_s: int | None = None

    @property
    def window_text(self) -> str:
        return f"{'(' if self.left_open else '['}t - {self.window_s}s, t]"

    @property
    def after_start(self) -> str:
        """The comparison a sample's time must pass against a window's start."""
        return ">" if self.left_open else ">="

    @property
    def copies(self) -> int:
        """The most windows one sample can be in (1 for an instant query)."""
        return 1 if self.n == 1 else self.window_s // self.step_s + 1

    @property
    def span(self) -> tuple[datetime, datetime]:
        """The samples any step reads: the first window's start to the last step."""
        return (self.t0 - timedelta(seconds=self.window_s),
                self.t0 + timedelta(seconds=self.step_s * (self.n - 1)))

    @property
    def t0_ms(self) -> str:
        return self.d.epoch_ms(self.d.ts(self.t0))

    def t_ms(self, i: str = "i") -> str:
        """SQL for t_i in epoch milliseconds."""
        return self.t0_ms if self.n == 1 else f"({self.t0_ms} + {i} * {self.step_s * 1000})"

    def out_t_ms(self, i: str = "i") -> str:
        """SQL for the time step i is reported at (its window's end plus any offset)."""
        out = self.d.epoch_ms(self.d.ts(self.out_t0 or self.t0))
        return out if self.n == 1 else f"({out} + {i} * {self.step_s * 1000})"


def _sel_sql(d: Dialect, series: str, metric: str, matchers: tuple[Matcher, ...]) -> str:
    conds = [f"metric = {d.lit(metric)}", *(matcher_sql(m, d) for m in matchers)]
    return f"SELECT series_id, labels FROM {series}\n  WHERE " + "\n    AND ".join(conds)


def _pts_sql(g: _Grid, samples: str, counter: bool, numbered: bool = False,
             previous: bool = False) -> str:
    lo, hi = g.span
    where = (
        "WHERE series_id IN (SELECT series_id FROM sel)\n"
        f"    AND ts {g.after_start} {g.d.ts(lo)} AND ts <= {g.d.ts(hi)}"
    )
    if previous:  # each sample with the one before it (NULL for the first)
        return (f"SELECT series_id, ts, value,\n         {g.d.lag('value', 'series_id', 'ts')}"
                f" AS prev,\n         {g.d.lag(g.d.epoch_ms('ts'), 'series_id', 'ts')} AS "
                f"prev_ms\n  FROM {samples}\n  {where}")
    if numbered:  # for the ASOF path: position and running resets of each sample
        w = "OVER (PARTITION BY series_id ORDER BY ts ROWS UNBOUNDED PRECEDING)"
        extra = (f",\n         {g.d.epoch_ms('ts')} AS ms, row_number() {w} AS rn"
                 + (f",\n         sum(reset) {w} AS cum_reset" if counter else ""))
    else:
        extra = ""
    if not counter:
        if not extra:
            return f"SELECT series_id, ts, value FROM {samples}\n  {where}"
        return f"SELECT series_id, ts, value{extra}\n  FROM {samples}\n  {where}"
    prev = g.d.lag("value", "series_id", "ts")
    inner = (
        "SELECT series_id, ts, value,\n"
        f"         CASE WHEN value < prev AND NOT {g.d.isnan('value')} AND NOT "
        f"{g.d.isnan('prev')}\n"
        "              THEN prev ELSE 0 END AS reset  -- counter reset (NaN is none)\n"
        f"  FROM (SELECT series_id, ts, value,\n         {prev} AS prev\n"
        f"  FROM {samples}\n  {where})"
    )
    if not extra:
        return inner
    return f"SELECT *{extra}\n  FROM ({inner})"


ASOF_FUNCTIONS = frozenset({"raw", "last_over_time", "timestamp", "rate", "increase", "delta"})
"""Functions computed from each window's first and last sample (found with ASOF joins,
one row per series and step) instead of repeating every sample once per window it is in;
with a 15 s step and 5 m windows that was 21 copies of every sample."""
ASOF_MIN_WINDOWS = 4
"""Up to this many windows per sample, repeating samples is cheaper than two ASOF joins
(measured on the demo: a 24 h rate at a 6 m step got slower with ASOF)."""


def _steps_sql(g: _Grid) -> str:
    t_ms = g.t_ms("r.i")
    return (
        f"SELECT s.series_id AS series_id, r.i AS i, {t_ms} AS t_ms,\n"
        f"         {t_ms} - {g.window_s * 1000} AS lo_ms\n"
        f"  FROM sel s, {g.d.range_table(g.n, 'r', 'i')}"
    )


def _asof_ctes(d: Dialect, function: str, g: _Grid) -> list[tuple[str, str, str]]:
    last = (
        "FROM steps st\n"
        "  ASOF JOIN pts l ON st.series_id = l.series_id AND st.t_ms >= l.ms  -- newest <= t"
    )
    if function in _LAST_SAMPLE:
        what = "last sample in the lookback" if function == "raw" else function
        value = "CAST(l.ms AS DOUBLE) / 1000" if function == "timestamp" else "l.value"
        return [("fn", f"{what} per series and step",
                 f"SELECT st.series_id AS series_id, st.i AS i, {value} AS value\n"
                 f"  {last}\n  WHERE l.ms {g.after_start} st.lo_ms")]
    counter = function in ("rate", "increase")
    edges = (
        "SELECT st.series_id AS series_id, st.i AS i, l.rn - f.rn + 1 AS n,\n"
        "         f.ms AS first_ms, l.ms AS last_ms, f.value AS first_v, l.value AS last_v"
        + (",\n         l.cum_reset - f.cum_reset AS resets" if counter else "")
        + f"\n  {last}\n"
        f"  ASOF JOIN pts f ON st.series_id = f.series_id AND f.ms {g.after_start} st.lo_ms"
        "  -- oldest in the window\n"
        "  WHERE l.rn - f.rn + 1 >= 2"
    )
    return _extrapolated_ctes(d, function, g, edges)


def _win_comment(g: _Grid) -> str:
    if g.n == 1:
        return f"the window {g.window_text} at t = {g.t0.isoformat()}"
    return (f"each sample in every window {g.window_text.replace('t', 't_i')}, "
            f"t_i = t_0 + i * {g.step_s}s")


def _win_sql(g: _Grid) -> str:
    if g.n == 1:
        return "SELECT *, 0 AS i FROM pts"
    step_ms, w_ms = g.step_s * 1000, g.window_s * 1000
    since_t0 = f"{g.d.epoch_ms('ts')} - {g.t0_ms}"
    first = f"greatest(0, CAST(ceil(({since_t0}) / {step_ms}) AS BIGINT))"
    if g.left_open:  # t_i < ts + w
        last = (f"least({g.n - 1}, CAST(ceil(({since_t0} + {w_ms}) / {step_ms}) AS BIGINT)"
                " - 1)")
    else:  # t_i <= ts + w
        last = f"least({g.n - 1}, CAST(floor(({since_t0} + {w_ms}) / {step_ms}) AS BIGINT))"
    return g.d.expand_steps(first, last, g.copies)


def _function_ctes(
    d: Dialect, function: str, quantile: float | None, g: _Grid,
    horizon_s: float | None = None,
) -> list[tuple[str, str, str]]:
    if function in _PAIRWISE:
        return pairwise_ctes(d, function, g.t_ms(), g.out_t_ms(), horizon_s or 0.0)
    if function in _OVER_TIME:
        what = "last sample in the lookback" if function == "raw" else function
        expr = over_time_sql(d, function)
        return [("fn", f"{what} per series and step",
                 f"SELECT series_id, i, {expr} AS value FROM win GROUP BY series_id, i")]
    if function == "quantile_over_time":
        assert quantile is not None  # guaranteed by the IR validator
        return [("fn", f"quantile_over_time({num(quantile)}) per series and step",
                 f"SELECT series_id, i, {d.quantile('value', num(quantile))} AS value\n"
                 "  FROM win GROUP BY series_id, i")]
    return _extrapolated_ctes(d, function, g)


def _extrapolated_ctes(
    d: Dialect, function: str, g: _Grid, edges: str | None = None
) -> list[tuple[str, str, str]]:
    """rate / increase / delta as Prometheus' extrapolatedRate (promql/functions.go);
    `edges` (per series and step: n, first/last time and value, resets) defaults to
    aggregating the expanded windows."""
    counter = function in ("rate", "increase")
    resets = (
        f",\n         sum(reset) - {d.arg_min('reset', 'ts')} AS resets" if counter else ""
    )
    edges = edges or (
        "SELECT series_id, i, count(*) AS n,\n"
        f"         {d.epoch_ms('min(ts)')} AS first_ms, {d.epoch_ms('max(ts)')} AS last_ms,\n"
        f"         {d.arg_min('value', 'ts')} AS first_v,"
        f" {d.arg_max('value', 'ts')} AS last_v{resets}\n"
        "  FROM win GROUP BY series_id, i\n"
        "  HAVING count(*) >= 2"
    )
    t_ms = g.t_ms()
    inc = "last_v - first_v + resets" if counter else "last_v - first_v"
    ex = (
        f"SELECT series_id, i, first_v, {inc} AS inc,\n"
        f"         (first_ms - ({t_ms} - {g.window_s * 1000})) / 1000 AS to_start,\n"
        f"         ({t_ms} - last_ms) / 1000 AS to_end,\n"
        "         (last_ms - first_ms) / 1000 AS sampled,\n"
        "         (last_ms - first_ms) / 1000 / (n - 1) AS avg_gap\n"
        "  FROM edges"
    )
    # Prometheus 2.x limits the extrapolation to the start first by a counter's zero point,
    # then by 1.1 average gaps; 3.x the other way round.
    near_start = "CASE WHEN {x} < avg_gap * 1.1 THEN {x} ELSE avg_gap / 2 END"
    start = near_start.format(x="to_start") if g.left_open else "to_start"
    if counter:
        # A counter cannot go below zero: extrapolate to the start at most to its zero point.
        start = (
            "CASE WHEN inc > 0 AND first_v >= 0\n"
            f"                    THEN least({start}, sampled * (first_v / inc))\n"
            f"                    ELSE {start} END"
        )
    start_term = "start_d" if g.left_open else near_start.format(x="start_d")
    per_s = f" / {g.window_s}" if function == "rate" else ""
    fn = (
        "SELECT series_id, i,\n"
        "         inc * ((sampled\n"
        f"                 + {start_term}\n"
        "                 + CASE WHEN to_end < avg_gap * 1.1 THEN to_end ELSE avg_gap / 2 END)\n"
        f"                / sampled{per_s}) AS value\n"
        f"  FROM (SELECT *, {start} AS start_d FROM ex)"
    )
    return [
        ("edges", "per series and step: sample count, first and last sample"
         + (", counter resets" if counter else ""), edges),
        ("ex", "durations (s) to the window's edges and between samples", ex),
        ("fn", f"{function}: extrapolated as Prometheus does (1.1 x average gap)", fn),
    ]


def _group_sql(d: Dialect, by: tuple[str, ...], expr: str, with_le: bool = False) -> str:
    cols = [f"{d.padded(d.map_value('s.labels', b))} AS {d.ident(by_column(b))}" for b in by]
    if with_le:
        cols.append(f"{d.map_value('s.labels', 'le')} AS le")
    if not cols:
        return f"SELECT f.i, {expr} AS value FROM fn f GROUP BY f.i"
    return (
        f"SELECT {', '.join(cols)}, f.i, {expr} AS value\n"
        "  FROM fn f JOIN sel s USING (series_id)\n  GROUP BY ALL"
    )


def _agg_text(q: MetricQuery) -> str:
    if q.aggregation in ("topk", "bottomk"):
        return f"{q.aggregation}({q.k}) per step"
    by_text = f" by ({', '.join(q.by)})" if q.by else ""
    return f"{q.aggregation}{by_text}"


def _aggregation(d: Dialect, q: MetricQuery) -> tuple[Literal["series", "by"], str, str]:
    agg = q.aggregation
    expr = aggregation_sql(d, agg)
    if expr is not None:
        return "by", _agg_text(q), _group_sql(d, q.by, expr)
    if agg in AGG_QUANTILES:
        qv = num(AGG_QUANTILES[agg])
        return "by", f"{_agg_text(q)}: quantile {qv}, linear", _group_sql(
            d, q.by, d.quantile("f.value", qv)
        )
    return "series", "no aggregation", "SELECT series_id, i, value FROM fn"


def _key_columns(d: Dialect, key: str, by: tuple[str, ...], with_le: bool) -> list[str]:
    if key == "series":
        return ["series_id"]
    cols = [d.ident(by_column(b)) for b in by]
    return [*cols, "le"] if with_le else cols


def _render(ctes: list[tuple[str, str, str]], keys: list[str], g: _Grid) -> str:
    parts = [f"{name} AS (  -- {one_line(comment)}\n  {body}\n)" for name, comment, body in ctes]
    t0 = g.d.ts(g.out_t0 or g.t0)
    if g.out_n is not None:  # @: the one evaluation, reported at every step
        t_expr = g.d.add_seconds(t0, f"r.i * {g.out_step_s or 1}")
        cols = ", ".join([*(f"a.{k}" for k in keys), "r.i AS i", f"{t_expr} AS t", "a.value"])
        order = ", ".join([*keys, "i"])
        return ("WITH " + ",\n".join(parts) + f"\nSELECT {cols}\nFROM agg a, "
                f"{g.d.range_table(g.out_n, 'r', 'i')}\nORDER BY {order}")
    t_expr = t0 if g.n == 1 else g.d.add_seconds(t0, f"i * {g.step_s}")
    cols = ", ".join([*keys, "i", f"{t_expr} AS t", "value"])
    order = ", ".join([*keys, "i"])
    return "WITH " + ",\n".join(parts) + f"\nSELECT {cols}\nFROM agg\nORDER BY {order}"
