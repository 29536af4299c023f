"""Facts: the numbers an answer may state, computed in code from query results.

A `Fact` is one named value (peak, average, count, ...) with its unit, the labels of the
series or filter it describes, when it happened, which query it came from, and `display`:
the value exactly as it will be written in an answer. `format_value` is the one formatter
used both here and by the grounding check, so "93.4%", "1.2 GiB", "350 ms" and "12,345"
always mean the same thing.

Nothing here reads text as instructions: log messages and event titles only ever become
label values or string facts (data), never change which facts are computed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import fmean, median
from typing import Any, Literal, assert_never
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from assistant.derived import derived_metric
from assistant.errors import BackendError, TimeRangeError
from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery, Query, TimeRange
from assistant.language import Language
from connectors.base import Event, LogLine, Result, Series

PER_SERIES_MAX = 5
"""Up to this many series, each gets its own peak/average/min/last facts."""
TOP_K = 5
"""Longest ranked list (series, log templates, busiest buckets)."""
LIST_MAX = 20
"""Most values of a log field listed (the query's `top_k` says how many were asked for)."""
EVENTS_MAX = 20
"""Most events listed one by one."""
ONSET_MAX = 3
"""With many series, report the onsets of at most this many (earliest first)."""

# Onset detection (see `detect_onset`): a robust z-score over the window's first part.
ONSET_K = 5.0
ONSET_RUN = 3
ONSET_MIN_POINTS = 12
ONSET_BASELINE_FRACTION = 1 / 3
ONSET_REL_FLOOR = 0.01
MAD_TO_SIGMA = 1.4826

Unit = str
"""Canonical units: "percent", "ratio", "bytes", "bytes/s", "seconds", "count", "/s", ""
(a plain number); anything else is kept as given and printed after the number."""

Scope = Literal["series", "all"]


class Fact(BaseModel):
    """One number (or string) an answer may state, with where and when it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="peak, average, min, last, value, total, top, bottom, "
                      "change_vs_previous, previous_average, onset, baseline, count, "
                      "first_seen, last_seen, first_occurrence, last_occurrence, busiest, "
                      "bucket_count, distinct_count, event, series_count, no_data")
    value: float | int | str
    unit: Unit = ""
    labels: dict[str, str] = Field(default_factory=dict)
    at: datetime | None = None
    query_index: int
    display: str = Field(description="the value exactly as written in an answer")
    metric: str = Field(default="", description="metric name, or 'logs' / 'events'")
    function: str = Field(default="", description="IR function (quantiles as 'p95')")
    rank: int | None = Field(default=None, description="1-based place in a top/bottom list")
    scope: Scope = Field(default="series", description="one series/group, or all of them")
    basis: str = Field(default="", description="what a ranking or change is measured on")


# --------------------------------------------------------------------------- units

_UNIT_ALIASES: dict[str, Unit] = {
    "percent": "percent", "%": "percent", "pct": "percent",
    "ratio": "ratio",
    "bytes": "bytes", "byte": "bytes", "b": "bytes",
    "bytes/s": "bytes/s", "bytes_per_second": "bytes/s", "b/s": "bytes/s",
    "seconds": "seconds", "second": "seconds", "s": "seconds", "sec": "seconds",
    "count": "count", "total": "count", "": "",
    "/s": "/s", "1/s": "/s", "per_second": "/s", "ops/s": "/s",
    # seconds per second (e.g. CPU-seconds) is a plain ratio: "cores busy"
    "seconds/s": "", "s/s": "", "lines": "count", "lines/s": "/s",
}
_SUFFIX_UNITS: tuple[tuple[str, Unit], ...] = (
    ("_bytes_total", "bytes"), ("_bytes", "bytes"),
    ("_seconds_total", "seconds"), ("_seconds_sum", "seconds"), ("_seconds_bucket", "seconds"),
    ("_seconds_count", "count"), ("_seconds", "seconds"),
    ("_percent", "percent"), ("_ratio", "ratio"),
    ("_count", "count"), ("_total", "count"),
)
_RATE_UNITS: dict[Unit, Unit] = {"bytes": "bytes/s", "count": "/s", "": "/s",
                                 "seconds": "", "percent": "", "ratio": ""}


def normalize_unit(unit: str) -> Unit:
    """A backend's unit string in canonical form (unknown units are kept as given)."""
    return _UNIT_ALIASES.get(unit.strip().lower(), unit.strip())


def metric_base_unit(metric: str) -> Unit:
    """The unit a metric's name implies (Prometheus naming conventions)."""
    for suffix, unit in _SUFFIX_UNITS:
        if metric.endswith(suffix):
            return unit
    return ""


def infer_unit(query: MetricQuery, result_unit: str = "") -> Unit:
    """The unit of a metric query's values: the backend's, else from name and function."""
    derived = derived_metric(query)
    if derived is not None:
        return derived.unit
    if result_unit:
        return normalize_unit(result_unit)
    if query.aggregation == "count" or query.function == "count_over_time":
        return "count"
    base = metric_base_unit(query.metric)
    if query.function == "histogram_quantile":
        base = metric_base_unit(query.metric.removesuffix("_bucket"))
    if query.function == "rate":
        return _RATE_UNITS.get(base, base + "/s")
    return base


def _plain(v: float) -> str:
    """A plain number: thousands separators, about three significant digits."""
    if float(v).is_integer():
        return f"{int(v):,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    text = f"{v:.3g}"
    return text if "e" not in text else f"{v:.8f}".rstrip("0")


_BYTE_STEPS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_DURATION_WORDS: dict[Language, dict[str, str]] = {
    "en": {"ms": " ms", "s": " s", "min": " min", "h": " h", "d": " days"},
    "ko": {"ms": " ms", "s": "초", "min": "분", "h": "시간", "d": "일"},
}


def _bytes(v: float) -> str:
    a = abs(v)
    if a < 1024:
        return f"{v:.0f} B"
    i = min(int(math.log(a, 1024)), len(_BYTE_STEPS) - 1)
    scaled = v / 1024**i
    if abs(round(scaled, 1)) >= 1024 and i < len(_BYTE_STEPS) - 1:
        i += 1
        scaled = v / 1024**i
    return f"{scaled:.1f} {_BYTE_STEPS[i]}"


def _seconds(v: float, language: Language) -> str:
    words = _DURATION_WORDS[language]
    a = abs(v)
    if a == 0:
        return f"0{words['s']}"
    if a < 1:
        ms = v * 1000
        return f"{ms:.0f}{words['ms']}" if abs(ms) >= 10 else f"{ms:.1f}{words['ms']}"
    if a < 120:
        return f"{v:.1f}{words['s']}"
    if a < 7200:
        return f"{v / 60:.1f}{words['min']}"
    if a < 172_800:
        return f"{v / 3600:.1f}{words['h']}"
    return f"{v / 86400:.1f}{words['d']}"


def format_value(value: float, unit: Unit, language: Language = "en") -> str:
    """`value` as an answer writes it: "93.4%", "1.2 GiB", "350 ms", "12,345", "3.2/s"."""
    v = float(value)
    if not math.isfinite(v):
        return "n/a"
    match unit:
        case "percent":
            return f"{v:.1f}%"
        case "ratio":
            return f"{v * 100:.1f}%"
        case "bytes":
            return _bytes(v)
        case "bytes/s":
            return _bytes(v) + "/s"
        case "seconds":
            return _seconds(v, language)
        case "count":
            return f"{round(v):,}" if abs(v) >= 100 or v.is_integer() else _plain(v)
        case "/s":
            return _plain(v) + "/s"
        case "":
            return _plain(v)
        case _:
            return f"{_plain(v)} {unit}"


def format_change(value: float, unit: Unit, language: Language = "en") -> str:
    """A signed difference: "+35.2%", "-1.2 GiB"."""
    sign = "-" if value < 0 else "+"
    return sign + format_value(abs(value), unit, language)


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`, or a `TimeRangeError` saying what to use instead."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeRangeError(
            f"unknown timezone {name!r}; use an IANA name such as 'UTC' or 'Asia/Seoul'"
        ) from exc


def spans_days(time_range: TimeRange) -> bool:
    """True if the range starts and ends on different local dates."""
    tz = zone(time_range.timezone)
    return time_range.start.astimezone(tz).date() != time_range.end.astimezone(tz).date()


def format_clock(at: datetime, tz: ZoneInfo, with_date: bool = False) -> str:
    """A time as answers write it: "14:12" (or "2026-11-19 14:12"), with seconds if any."""
    local = at.astimezone(tz)
    text = local.strftime("%H:%M:%S" if local.second else "%H:%M")
    return f"{local:%Y-%m-%d} {text}" if with_date else text


def quantile_name(q: float) -> str:
    """0.95 -> "p95", 0.999 -> "p99.9"."""
    return "p" + f"{q * 100:.1f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ fact keywords

FACT_KEYWORDS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "peak": r"peak|\bmax|highest|spik|busiest|최대|최댓|최고|피크|가장\s*(?:높|많)",
        "min": r"\bmin(imum)?\b|lowest|least|최소|최솟|최저|가장\s*(?:낮|적)",
        "average": r"average|\bavg\b|\bmean\b|typical|평균",
        "last": r"latest|current|\bnow\b|right now|현재|지금",
        "value": r"\bwas\b|\bis\b|값",
        "total": r"total|\bsum\b|합계|총",
        "top": r"\btop\b|most|highest|frequent|가장|상위",
        "bottom": r"bottom|lowest|least|하위|가장 낮",
        "change_vs_previous": r"chang|compar|previous|before|increas|decreas|\brose\b|"
        r"\bfell\b|\bup\b|\bdown\b|대비|증가|감소|변화|이전",
        "onset": r"start|began|begin|onset|depart|baseline|since when|시작|벗어|기준",
        "count": r"count|how many|lines|events|matched|times|건|개수|횟수|몇",
        "first_seen": r"first (?:seen|time|occur|appear|log|error|line)|earliest|처음|첫",
        "last_seen": r"last (?:seen|time|occur|appear|log|error|line)|latest (?:log|error|line)|"
        r"마지막",
        "first_occurrence": r"first|earliest|처음|최초|첫",
        "last_occurrence": r"\blast\b|latest|most recent|마지막|최근",
        "busiest": r"busiest|peak|most (?:log|line|activity)|가장 (?:바쁜|많)|바빴",
        "distinct_count": r"distinct|unique|different|how many (?:\w+ )?(?:different|kinds)|"
        r"서로 다른|고유|몇 (?:개|종류)|몇개",
        "event": r"deploy|alert|incident|change|anomal|outage|배포|알림|경보|장애|변경|인시던트"
        r"|이상\s*구간",
        "quantile": r"\bp\d\d|percentile|%ile|퍼센타일|백분위|분위",
        "above_count": r"above|\bover\b|exceed|more than|greater than|넘|초과|이상",
        "bucket_sum": r"total|\bsum|daily|hourly|per (?:day|hour)|합계|총|일별|시간별",
        "bucket_mean": r"average|\bavg\b|\bmean\b|daily|hourly|per (?:day|hour)|평균|일별",
        "bucket_change": r"compar|versus|\bvs\b|비교|대비",
    }.items()
}
"""Words (English and Korean) that refer to each fact name: used to pick the facts a question
asks about and to match a rejected sentence to its template replacement."""


def fact_names_in(text: str) -> set[str]:
    """Fact names whose keywords occur in `text`."""
    return {name for name, rx in FACT_KEYWORDS.items() if rx.search(text)}


# ----------------------------------------------------------------------- onsets


def detect_onset(values: Sequence[float]) -> tuple[int, float] | None:
    """Where a series departs from its earlier baseline: (index, baseline) or None.

    The baseline is the median of the window's first third; a departure is `ONSET_RUN`
    consecutive points on the same side, each more than `ONSET_K` robust standard
    deviations (MAD x 1.4826, floored at 1% of the series' scale) from it.
    """
    n = len(values)
    if n < ONSET_MIN_POINTS:
        return None
    head = list(values[: max(2 * ONSET_RUN, int(n * ONSET_BASELINE_FRACTION))])
    base = median(head)
    mad = median(abs(v - base) for v in head) * MAD_TO_SIGMA
    scale = max(abs(base), max(abs(v) for v in values))
    threshold = ONSET_K * max(mad, ONSET_REL_FLOOR * scale, 1e-12)
    run, side = 0, 0
    for i, v in enumerate(values):
        d = v - base
        s = (d > threshold) - (d < -threshold)
        if s != 0 and s == side:
            run += 1
        else:
            run, side = (1, s) if s != 0 else (0, 0)
        if run >= ONSET_RUN:
            return i - ONSET_RUN + 1, base
    return None


# --------------------------------------------------------------- fact building


SIGNED = frozenset({"change_vs_previous", "bucket_change"})
"""Facts written with a sign ("+35.2%")."""


class _Builder:
    """Makes facts for one query: fills in index, metric, function and `display`."""

    def __init__(self, index: int, metric: str, function: str, tz: ZoneInfo,
                 with_date: bool) -> None:
        self.index = index
        self.metric = metric
        self.function = function
        self.tz = tz
        self.with_date = with_date
        self.facts: list[Fact] = []

    def num(self, name: str, value: float, unit: Unit, labels: dict[str, str] | None = None,
            at: datetime | None = None, **kw: Any) -> None:
        v: float | int = int(value) if unit == "count" and float(value).is_integer() else value
        display = format_change(value, unit) if name in SIGNED else \
            format_value(value, unit)
        self.add(name, v, unit, labels, at, display, **kw)

    def time(self, name: str, at: datetime, labels: dict[str, str] | None = None,
             **kw: Any) -> None:
        self.add(name, at.isoformat(), "", labels, at,
                 format_clock(at, self.tz, self.with_date), **kw)

    def add(self, name: str, value: float | int | str, unit: Unit,
            labels: dict[str, str] | None, at: datetime | None, display: str,
            **kw: Any) -> None:
        kw.setdefault("function", self.function)
        self.facts.append(Fact(
            name=name, value=value, unit=unit, labels=dict(labels or {}), at=at,
            query_index=self.index, display=display, metric=self.metric, **kw,
        ))


def facts_from_result(
    query: Query, result: Result, index: int, previous: Result | None = None
) -> list[Fact]:
    """The facts one query's result supports (`previous`: the same query one window earlier).

    Metrics: peak (time and labels), average, min, last and onset per series when there are
    few series; overall peak/min/average, a ranked list and the series count when there are
    several; change vs `previous`. Logs: count, top templates (or count-by rows) with counts,
    first and last occurrence. Events: count (and per kind), one fact per event.
    An empty result gives one `no_data` fact.
    """
    match query:
        case MetricQuery():
            derived = derived_metric(query)  # named as a whole: "memory used %"
            b = _builder(query.time_range, index, derived.key if derived else query.metric,
                         derived.formula if derived else _function_name(query))
            _metric_facts(b, query, result, previous)
            _with_matched(b.facts, query)
        case LogQuery():
            b = _builder(query.time_range, index, "logs", "count")
            _log_facts(b, query, result)
        case EventQuery():
            b = _builder(query.time_range, index, "events", "")
            _event_facts(b, query, result)
        case DocQuery():
            return []  # runbook hits are sources, not facts (handled by retrieval)
        case _:
            assert_never(query)
    return b.facts


def _with_matched(facts: list[Fact], q: MetricQuery) -> None:
    """A pattern the query selected series by and the result no longer carries (summed
    away) stays in the facts' labels, so the answer says what was counted: "code=5xx"."""
    kept = {m.label: _pattern_label(m.value) for m in q.matchers if m.op == "=~"}
    if not kept:
        return
    for i, f in enumerate(facts):
        facts[i] = f.model_copy(update={"labels": {**kept, **f.labels}})


def _pattern_label(regex: str) -> str:
    """ "5.." as operators write it, "5xx"; other patterns as written, marked "~"."""
    if re.fullmatch(r"[0-9]+\.+", regex):
        return regex.replace(".", "x")
    return "~" + regex


def _builder(tr: TimeRange, index: int, metric: str, function: str) -> _Builder:
    return _Builder(index, metric, function, zone(tr.timezone), spans_days(tr))


def _function_name(q: MetricQuery) -> str:
    if q.function == "samples":
        return "samples"
    if q.quantile is not None:
        return quantile_name(q.quantile)
    if q.aggregation in ("p50", "p90", "p95", "p99"):
        return q.aggregation
    return q.function


_INSTANT_NAMES: dict[str, str] = {
    "avg_over_time": "average", "max_over_time": "peak", "min_over_time": "min",
    "sum_over_time": "total", "increase": "total", "last_over_time": "last", "raw": "last",
}


def _clean(series: list[Series]) -> list[Series]:
    """Series with their non-finite points dropped; empty series removed."""
    out = []
    for s in series:
        pts = [(t, float(v)) for t, v in s.points if math.isfinite(v)]
        if pts:
            out.append(s.model_copy(update={"points": pts}))
    return out


def _metric_facts(b: _Builder, q: MetricQuery, r: Result, previous: Result | None) -> None:
    unit = infer_unit(q, r.unit)
    series = _clean(r.series)
    if not series:
        b.num("no_data", 0, "count", _matcher_labels(q), scope="all")
        return
    if q.function == "samples":
        _sample_facts(b, q, series, unit)
        return
    order: Literal["top", "bottom"] = "bottom" if q.aggregation == "bottomk" else "top"
    instant = q.mode == "instant" or all(len(s.points) == 1 for s in series)
    _series_facts(b, series, unit, instant, order, previous)


# ------------------------------------------------------------ raw-sample facts

SAMPLES = "samples"
"""`Fact.basis` of a fact computed from every raw sample of the window (function
``samples``), so the answer can say so ("peak of the 288 raw samples")."""


def _sample_facts(b: _Builder, q: MetricQuery, series: list[Series], unit: Unit) -> None:
    """Peak and minimum with their times, mean, last, and what `q` asks for (quantile,
    time above a threshold, sums and means per bucket) from every raw sample."""
    for s in series[:PER_SERIES_MAX]:
        _one_sample_series(b, q, s, unit)
    if len(series) > 1:
        _overall(b, series, unit, False, [])
        b.num("sample_count", sum(len(s.points) for s in series), "count", scope="all",
              basis=SAMPLES)
        _ranked(b, series, unit, "top", "average")
        b.num("series_count", len(series), "count", scope="all")


def _one_sample_series(b: _Builder, q: MetricQuery, s: Series, unit: Unit) -> None:
    pts = sorted(s.points)
    values = [v for _, v in pts]
    labels = s.labels
    hi = max(range(len(values)), key=lambda i: (values[i], -i))
    lo = min(range(len(values)), key=lambda i: (values[i], i))
    b.num("sample_count", len(values), "count", labels, basis=SAMPLES)
    b.num("peak", values[hi], unit, labels, pts[hi][0], basis=SAMPLES)
    b.num("min", values[lo], unit, labels, pts[lo][0], basis=SAMPLES)
    b.num("average", fmean(values), unit, labels, basis=SAMPLES)
    b.num("last", values[-1], unit, labels, pts[-1][0], basis=SAMPLES)
    if q.quantile is not None:
        b.num("quantile", sample_quantile(values, q.quantile), unit, labels, basis=SAMPLES,
              function=quantile_name(q.quantile))
    if q.threshold is not None:
        n, seconds = time_above(pts, q.threshold)
        b.num("threshold", q.threshold, unit, labels, basis=SAMPLES)
        b.num("above_time", seconds, "seconds", labels, basis=SAMPLES)
        b.num("above_count", n, "count", labels, basis=SAMPLES)
    if q.bucket_s is not None:
        # calendar buckets are half-open: a sample at the range's end (midnight of the next
        # day) starts the next bucket, it is not a bucket of its own
        end = q.time_range.end
        _bucket_facts(b, q.bucket_s, [p for p in pts if p[0] < end], unit, labels)


def sample_quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile of `values`, linearly interpolated (as PromQL's quantile_over_time)."""
    xs = sorted(values)
    rank = q * (len(xs) - 1)
    i = math.floor(rank)
    j = min(i + 1, len(xs) - 1)
    return xs[i] + (xs[j] - xs[i]) * (rank - i)


def time_above(points: Sequence[tuple[datetime, float]], threshold: float) -> tuple[int, float]:
    """(samples above `threshold`, seconds spent above it).

    A sample holds until the next one, but for at most the series' median gap between
    samples (so a hole in the data is not counted as time above); the last sample holds
    for one median gap.
    """
    n = sum(1 for _, v in points if v > threshold)
    if len(points) < 2:
        return n, 0.0
    gaps = [(b[0] - a[0]).total_seconds() for a, b in pairwise(points)]
    typical = median(gaps)
    held = [min(g, typical) for g in gaps] + [typical]
    return n, sum(h for (_, v), h in zip(points, held, strict=True) if v > threshold)


def buckets(points: Sequence[tuple[datetime, float]], bucket_s: int,
            tz: ZoneInfo) -> list[tuple[datetime, list[float]]]:
    """Samples grouped by local-time bucket (86400: the local calendar day), in order."""
    out: dict[datetime, list[float]] = {}
    for t, v in points:
        local = t.astimezone(tz).replace(tzinfo=None)
        since = (local - datetime(1970, 1, 1)).total_seconds()
        start = datetime(1970, 1, 1) + timedelta(seconds=since // bucket_s * bucket_s)
        out.setdefault(start.replace(tzinfo=tz), []).append(v)
    return sorted(out.items())


def bucket_basis(bucket_s: int) -> str:
    """ "day", "hour" or "<n>s": what one bucket of `bucket_s` seconds is called."""
    return {86400: "day", 3600: "hour"}.get(bucket_s, f"{bucket_s}s")


def _bucket_facts(b: _Builder, bucket_s: int, pts: Sequence[tuple[datetime, float]],
                  unit: Unit, labels: dict[str, str]) -> None:
    groups = buckets(pts, bucket_s, b.tz)
    if not groups:
        return
    basis = bucket_basis(bucket_s)
    b.num("total", math.fsum(v for _, v in pts), unit, labels, basis=SAMPLES)
    for start, vals in groups:
        b.num("bucket_sum", math.fsum(vals), unit, labels, start, basis=basis)
    for start, vals in groups:
        b.num("bucket_mean", fmean(vals), unit, labels, start, basis=basis)
    if len(groups) >= 2:
        (t0, first), (t1, last) = groups[0], groups[-1]
        m0, m1 = fmean(first), fmean(last)
        b.num("bucket_first_mean", m0, unit, labels, t0, basis=basis)
        b.num("bucket_last_mean", m1, unit, labels, t1, basis=basis)
        if m0 != 0:
            b.num("bucket_change", (m1 - m0) / abs(m0) * 100, "percent", labels, t1,
                  basis=basis)


def _matcher_labels(q: MetricQuery) -> dict[str, str]:
    return {m.label: m.value for m in q.matchers if m.op == "="}


def _series_facts(b: _Builder, series: list[Series], unit: Unit, instant: bool,
                  order: Literal["top", "bottom"], previous: Result | None) -> None:
    """Facts over metric-like series (also used for log counts per time bucket)."""
    many = len(series) > 1
    few = len(series) <= PER_SERIES_MAX
    prev = _clean(previous.series) if previous is not None else []
    basis = "value" if instant else "average"
    if few:
        for s in series:
            if instant:
                t, v = s.points[-1]
                b.num(_INSTANT_NAMES.get(b.function, "value"), v, unit, s.labels, t)
            else:
                _one_series(b, s, unit)
            match = [p for p in prev if p.labels == s.labels]
            if match:
                _change(b, fmean(v for _, v in s.points), fmean(v for _, v in match[0].points),
                        unit, s.labels, "series")
    if many:
        _overall(b, series, unit, instant, prev)
        _ranked(b, series, unit, order, basis)
        b.num("series_count", len(series), "count", scope="all")
    if not few and not instant:
        _onsets(b, series, unit)


def _one_series(b: _Builder, s: Series, unit: Unit) -> None:
    times = [t for t, _ in s.points]
    values = [v for _, v in s.points]
    hi = max(range(len(values)), key=lambda i: (values[i], -i))
    lo = min(range(len(values)), key=lambda i: (values[i], i))
    b.num("peak", values[hi], unit, s.labels, times[hi])
    b.num("average", fmean(values), unit, s.labels)
    b.num("min", values[lo], unit, s.labels, times[lo])
    b.num("last", values[-1], unit, s.labels, times[-1])
    _onset(b, s, unit)


def _onset(b: _Builder, s: Series, unit: Unit) -> bool:
    found = detect_onset([v for _, v in s.points])
    if found is None:
        return False
    i, base = found
    t, v = s.points[i]
    b.num("onset", v, unit, s.labels, t)
    b.num("baseline", base, unit, s.labels)
    return True


def _onsets(b: _Builder, series: list[Series], unit: Unit) -> None:
    found = []
    for s in series:
        hit = detect_onset([v for _, v in s.points])
        if hit is not None:
            found.append((s.points[hit[0]][0], s))
    found.sort(key=lambda x: x[0])
    for _, s in found[:ONSET_MAX]:
        _onset(b, s, unit)


def _overall(b: _Builder, series: list[Series], unit: Unit, instant: bool,
             prev: list[Series]) -> None:
    points = [(v, t, s.labels) for s in series for t, v in s.points]
    hi = max(points, key=lambda p: (p[0], -p[1].timestamp()))
    lo = min(points, key=lambda p: (p[0], p[1].timestamp()))
    b.num("peak", hi[0], unit, hi[2], hi[1], scope="all")
    b.num("min", lo[0], unit, lo[2], lo[1], scope="all")
    b.num("average", fmean(p[0] for p in points), unit, scope="all")
    prev_points = [v for s in prev for _, v in s.points]
    if prev_points:
        _change(b, fmean(p[0] for p in points), fmean(prev_points), unit, {}, "all")


def _change(b: _Builder, current: float, before: float, unit: Unit, labels: dict[str, str],
            scope: Scope) -> None:
    b.num("previous_average", before, unit, labels, scope=scope)
    if before != 0:
        b.num("change_vs_previous", (current - before) / abs(before) * 100, "percent", labels,
              scope=scope, basis="relative")
    else:
        b.num("change_vs_previous", current - before, unit, labels, scope=scope,
              basis="absolute")


def _ranked(b: _Builder, series: list[Series], unit: Unit, order: Literal["top", "bottom"],
            basis: str) -> None:
    scored = [(s.points[-1][1] if basis == "value" else fmean(v for _, v in s.points), s)
              for s in series]
    scored.sort(key=lambda x: x[0], reverse=order == "top")
    for rank, (v, s) in enumerate(scored[:TOP_K], start=1):
        at = s.points[-1][0] if basis == "value" else None
        b.num(order, v, unit, s.labels, at, rank=rank, basis=basis)


# ------------------------------------------------------------ periods compared

COMPARED_FACTS: dict[str, str] = {
    "sum": "total", "avg": "average", "peak": "peak", "lowest": "min", "quantile": "quantile",
}
"""The per-period fact each compared statistic reads (`Plan.compare_stat`)."""
PERIOD_FACTS: dict[str, str] = {
    "total": "period_sum", "average": "period_mean", "peak": "period_peak",
    "min": "period_min", "quantile": "period_quantile",
}


def compare_periods(periods: Sequence[tuple[TimeRange, Sequence[Fact]]], stat: str,
                    index: int) -> list[Fact]:
    """One statistic compared across periods (each period's facts come from its own query):
    the value of each period in the question's order, and by how much the highest exceeds
    the lowest (`period_diff`, at the highest period's start). Nothing when fewer than two
    periods have the value (a period without data says so in its own facts)."""
    name = COMPARED_FACTS.get(stat) or ("quantile" if stat in _QUANTILE_STATS else "average")
    found: list[tuple[TimeRange, Fact]] = []
    for tr, facts in periods:
        said = [f for f in facts if f.name == name and isinstance(f.value, int | float)
                and f.rank is None]
        # several series: their overall figure (one series' figure would not be the period's)
        hit = next((f for f in said if f.scope == "all"), said[0] if len(said) == 1 else None)
        if hit is not None:
            found.append((tr, hit))
    if len(found) < 2:
        return _periods_without_data(periods, [tr for tr, _ in found], index)
    first = found[0][1]
    b = _Builder(index, first.metric, first.function, zone(found[0][0].timezone), True)
    out = PERIOD_FACTS[name]
    for rank, (tr, f) in enumerate(found, start=1):
        b.num(out, float(f.value), f.unit, f.labels, tr.start, rank=rank,
              basis=_period_basis(tr))
    hi = max(found, key=lambda x: float(x[1].value))
    lo = min(found, key=lambda x: float(x[1].value))
    b.num("period_diff", float(hi[1].value) - float(lo[1].value), first.unit, first.labels,
          hi[0].start, basis=_period_basis(hi[0]), function=out)
    return b.facts


_QUANTILE_STATS = frozenset({"p50", "p90", "p95", "p99"})


def _periods_without_data(periods: Sequence[tuple[TimeRange, Sequence[Fact]]],
                          with_data: list[TimeRange], index: int) -> list[Fact]:
    """Some periods have data and others none: the comparison cannot be made, and the
    answer says first which period has no data."""
    if not with_data:
        return []
    facts = next(fs for tr, fs in periods if tr in with_data)
    metric = facts[0].metric if facts else ""
    b = _Builder(index, metric, "samples", zone(with_data[0].timezone), True)
    for tr, _ in periods:
        if tr not in with_data:
            day = f"{tr.start.astimezone(b.tz):%Y-%m-%d}" if _period_basis(tr) == "day" \
                else format_clock(tr.start, b.tz, True)
            b.num("no_data", 0, "count", {"period": day}, scope="all")
    return b.facts


def _period_basis(tr: TimeRange) -> str:
    """ "day" for one whole local calendar day (the answer names it by its date)."""
    tz = zone(tr.timezone)
    end = tr.end + timedelta(microseconds=1) if tr.end.microsecond == 999_999 else tr.end
    start, end = tr.start.astimezone(tz), end.astimezone(tz)  # a half-open end counts
    whole = start.time() == end.time() == datetime.min.time()
    return "day" if whole and (end.date() - start.date()).days == 1 else "period"


# --------------------------------------------------------------------------- logs


def readable_pattern(pattern: str) -> str | None:
    """A generated regular expression as the text it looks for, when it is plain enough:
    ``(?i)HRESULT\\s*=\\s*([^\\s,;]+)`` -> ``HRESULT = <*>`` (a value is ``<*>``, a gap
    ``…``); None when it has alternatives or other syntax a reader would have to decode."""
    s = pattern.removeprefix("(?i)")
    s = _GROUP.sub("<*>", s)
    s = re.sub(r"\[\^\\w\\s\]\*|\\b", "", s)
    s = re.sub(r"\\s[*+]", " ", s).replace(".*?", " \u2026 ").replace(".*", " \u2026 ")
    s = re.sub(r"\\(.)", lambda m: "\x00" + m.group(1), s)  # escaped: literal
    if re.search(r"[\[\]()|?*+^${}]", s.replace("<*>", "")):
        return None
    return re.sub(r"\s+", " ", s.replace("\x00", "")).strip() or None


_GROUP = re.compile(r"\((?!\?)(?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)")
"""A capturing group (one level of groups inside it): the value a pattern reads."""


def _log_filters(q: LogQuery) -> dict[str, str]:
    pattern = q.pattern
    if pattern is not None:
        pattern = readable_pattern(pattern) or pattern
    if pattern is not None and len(pattern) > PATTERN_SHOWN:
        pattern = pattern[:PATTERN_SHOWN - 1] + "\u2026"
    pairs = {"service": q.service, "host": q.host, "level": q.level,
             "levels": ",".join(q.levels) or None, "text": q.text, "pattern": pattern}
    return {k: v for k, v in pairs.items() if v is not None}


PATTERN_SHOWN = 48
"""A long regular-expression filter is named by its start in the answer (the queries list
has it whole)."""


def _log_facts(b: _Builder, q: LogQuery, r: Result) -> None:
    filters = _log_filters(q)
    mode = q.mode()
    if mode in ("busiest", "distinct") and not r.total:
        b.num("no_data", 0, "count", filters, scope="all")
        return
    if mode == "busiest":
        _busiest_facts(b, q, r, filters)
        return
    if mode == "distinct":
        b.num("distinct_count", r.groups or 0, "count", filters, scope="all",
              basis=field_name(q))
        b.num("count", r.total or 0, "count", filters, scope="all")
        return
    if mode == "lines" and 1 < q.limit <= LINES_QUOTED and r.logs:
        _shown_lines(b, q, r, filters)
        return
    if mode == "lines" and (q.order == "oldest" or q.limit == 1) and r.logs:
        _occurrence_facts(b, q, r, filters)
        return
    if r.series:
        series = _clean(r.series)
        total = sum(v for s in series for _, v in s.points)
        b.num("count", total, "count", filters, scope="all")
        if series:
            _series_facts(b, series, "count", False, "top", None)
        return
    if q.count_by is not None and r.rows:
        _count_by_facts(b, field_name(q), r, filters,
                        TOP_K if q.count_by == "template" else min(q.top_k, LIST_MAX))
        return
    count = r.total if r.total is not None else len(r.logs)
    if count == 0 and not r.logs:
        b.num("no_data", 0, "count", filters, scope="all")
        return
    b.num("count", count, "count", filters, scope="all")
    _top_templates(b, r.logs)
    first = min(r.logs, key=lambda line: line.ts, default=None)
    last = max(r.logs, key=lambda line: line.ts, default=None)
    if first is not None and last is not None:
        b.time("first_seen", first.ts, filters, scope="all")
        b.time("last_seen", last.ts, filters, scope="all")


def log_template_text(line: LogLine) -> str:
    """The text a log line is grouped under: its template, else its message."""
    return line.template if line.template else line.message


def _top_templates(b: _Builder, logs: list[LogLine]) -> None:
    counts: Counter[str] = Counter()
    first: dict[str, datetime] = {}
    for line in sorted(logs, key=lambda x: x.ts):
        key = log_template_text(line)
        counts[key] += 1
        first.setdefault(key, line.ts)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], first[kv[0]], kv[0]))
    for rank, (text, n) in enumerate(ranked[:TOP_K], start=1):
        b.num("top", n, "count", {"template": text}, first[text], rank=rank, basis="count")


def field_name(q: LogQuery) -> str:
    """What a log query groups or reads: a column, or the extracted value's name."""
    if q.count_by == "extracted" and q.extract is not None:
        return q.extract.name
    return q.count_by or (q.extract.name if q.extract is not None else "line")


def _occurrence_facts(b: _Builder, q: LogQuery, r: Result, filters: dict[str, str]) -> None:
    """The first (oldest-first query) or last (newest-first) matching line: its time (to the
    minute, with the date, in the store's clock), where it was, its extracted value."""
    line = r.logs[0]
    name = "first_occurrence" if q.order == "oldest" else "last_occurrence"
    labels = {k: v for k, v in (("host", line.host), ("service", line.service)) if v}
    labels.update(line.fields)
    b.add(name, line.message, "", labels, line.ts, format_clock(line.ts, b.tz, True),
          scope="all")
    b.num("count", r.total if r.total is not None else len(r.logs), "count", filters,
          scope="all")


LINES_QUOTED = 10
"""A lines query asking for at most this many lines ("show me X") is answered with the lines
themselves, verbatim, and the count of all matching lines."""


def _shown_lines(b: _Builder, q: LogQuery, r: Result, filters: dict[str, str]) -> None:
    """The matching lines themselves, in the query's order (newest or oldest first), each
    with its time (with the date, in the store's clock) and where it came from."""
    b.num("line_count", r.total if r.total is not None else len(r.logs), "count", filters,
          scope="all")
    for rank, line in enumerate(r.logs[:q.limit + 1], start=1):
        labels = {k: v for k, v in (("host", line.host), ("service", line.service)) if v}
        first = rank > q.limit  # the first line, after the newest ones (`execute`)
        b.add("line", line.message, "", labels, line.ts, format_clock(line.ts, b.tz, True),
              rank=rank, basis="first" if first else q.order)


def _busiest_facts(b: _Builder, q: LogQuery, r: Result, filters: dict[str, str]) -> None:
    """The busiest calendar buckets with their line counts, busiest first."""
    unit = q.busiest or "hour"
    for rank, row in enumerate(r.rows[:TOP_K], start=1):
        at = datetime.fromisoformat(str(row["value"]))
        b.num("busiest", float(row["count"] or 0), "count", {}, at, rank=rank, basis=unit)
    b.num("count", r.total or 0, "count", filters, scope="all")
    if r.groups is not None:
        b.num("bucket_count", r.groups, "count", filters, scope="all", basis=unit)


PLACEHOLDER = "<*>"
"""What a mined template writes where its lines differ."""


def _count_by_facts(b: _Builder, field: str, r: Result, filters: dict[str, str],
                    top_k: int = TOP_K) -> None:
    rows = []
    for row in r.rows:
        count = row.get("count")
        if not isinstance(count, int | float):
            raise BackendError(
                f"connector {r.connector!r} returned a count-by row without a numeric 'count': "
                f"{row!r}; the connector must return rows {{value, count}}"
            )
        key = "value" if "value" in row else next((k for k in row if k != "count"), "value")
        value = row.get(key)
        example = row.get("example") if field == "template" else None
        rows.append(("" if value is None else str(value), count,
                     str(example) if example else ""))  # lines without one: "-"
    rows.sort(key=lambda x: -x[1])
    total = r.total if r.total is not None else sum(c for _, c, _ in rows)
    b.num("count", total, "count", filters, scope="all")
    for rank, (value, n, example) in enumerate(rows[:top_k], start=1):
        labels = {field: value}
        if rank == 1 and PLACEHOLDER in value and example and example != value:
            labels["example"] = example  # the most frequent message, said as a real line
        b.num("top", n, "count", labels, rank=rank, basis="count")
    if r.groups is not None and field != "template":
        b.num("distinct_count", r.groups, "count", filters, scope="all", basis=field)


# ------------------------------------------------------------------------- events


def _event_facts(b: _Builder, q: EventQuery, r: Result) -> None:
    filters = {k: v for k, v in {"kind": ",".join(q.kinds) or None, "service": q.service,
                                 "host": q.host, "status": q.status}.items() if v}
    count = r.total if r.total is not None else len(r.events)
    if count == 0 and not r.events:
        b.num("no_data", 0, "count", filters, scope="all")
        return
    b.num("count", count, "count", filters, scope="all")
    kinds = Counter(e.kind for e in r.events)
    if len(kinds) > 1:
        for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
            b.num("count", n, "count", {**filters, "kind": kind})
    events = sorted(r.events, key=lambda e: e.ts)[:EVENTS_MAX]
    if q.service and len({(e.kind, e.service, e.title) for e in events}) == 1:
        # one target's events that all say the same thing: when each started is the news
        for rank, e in enumerate(events, start=1):
            b.add("event_start", e.title, "", filters, e.ts, format_clock(e.ts, b.tz, True),
                  rank=rank, scope="all")
        return
    for e in events:
        b.add("event", e.title, "", _event_labels(e), e.ts, e.title)


def _event_labels(e: Event) -> dict[str, str]:
    pairs = {"id": e.id, "kind": e.kind, "service": e.service, "host": e.host,
             "status": e.status, "severity": e.severity}
    return {k: v for k, v in pairs.items() if v}


__all__ = [
    "FACT_KEYWORDS",
    "Fact",
    "compare_periods",
    "detect_onset",
    "fact_names_in",
    "facts_from_result",
    "format_change",
    "format_clock",
    "format_value",
    "infer_unit",
    "log_template_text",
    "metric_base_unit",
    "normalize_unit",
    "quantile_name",
    "sample_quantile",
    "spans_days",
    "time_above",
    "zone",
]
