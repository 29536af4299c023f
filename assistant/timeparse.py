"""Time phrases (English and Korean) -> an absolute `TimeRange` in the user's timezone.

A compact rule layer (regular expressions, no third-party parser): it is predictable,
imports in milliseconds and covers what ops questions say. Libraries were measured and
each got part of this wrong (see MEASURED.md: "since 10am" became tomorrow, Korean times
of day were dropped), so none is used.

Conventions (each assumption is stated in `TimeResolution.note`, never silent):

* Nothing said -> the last `default_s` seconds (``assumed=True``).
* A clock time with no day ("since 10am", "at 14:10", "between 14:00 and 14:30") is the
  most recent one that has started: if it is later than now today, it means yesterday.
  With an explicit "today" / "오늘" a future time is an error instead.
* Korean hours without 오전/오후 ("10시", "2시"): 7-11 -> morning, 12 -> noon,
  1-6 -> afternoon (working hours).
* "at 14:10" / "around 2pm" / "오후 2시 10분에" -> 14:10 ± 15 minutes, cut at now.
* "last week" / "지난주" -> the previous calendar week (Monday 00:00 to Monday 00:00);
  "the last week", "past week", "last 7 days" -> the rolling 7 days. Same for month.
* "this morning" 06-12, "afternoon" 12-18, "evening" 18-24, "night"/"last night"
  18-06; 오전 00-12, 오후 12-24, 새벽 00-06, 아침 06-12, 낮 12-18, 저녁 18-24, 밤 18-06.
  Every range ends at now at the latest.
* "방금" / "just now" -> the last 15 minutes.
* Future ranges ("tomorrow", "next week", "다음 주") raise `TimeRangeError`, except in
  questions about expiry or forecasts ("which certs expire in the next 30 days"), where the
  phrase becomes `horizon_s` and the window stays the default.
* Step phrases ("every 5 minutes", "in 5m buckets", "5분 단위") set `TimeRange.step_s`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.errors import TimeRangeError
from assistant.ir import MAX_POINTS, TimeRange

P = ParamSpec("P")
R = TypeVar("R")

AROUND_S = 900
"""Half-width of the window around a point in time ("at 14:10")."""
JUST_NOW_S = 900
"""What "방금" / "just now" means."""

__all__ = [
    "AROUND_S",
    "JUST_NOW_S",
    "TimeResolution",
    "resolve_time",
    "strip_time_phrases",
    "time_spans",
]


class TimeResolution(BaseModel):
    """The resolved window and how it was found."""

    model_config = ConfigDict(frozen=True)

    range: TimeRange
    matched: str | None = None
    """The phrase(s) that set the range, as written in the question."""
    assumed: bool = False
    """True when a default or a guess filled in what the question did not say."""
    note: str = ""
    """How an ambiguity was resolved or the range adjusted; empty when nothing was."""
    needs_last_deploy: bool = False
    """"since the last deploy" was asked but no deploy time was given: look it up, call again."""
    kind: str = "default"
    """Which rule set the range: default, relative, since, until, range, point, day, ..."""
    spans: tuple[tuple[int, int], ...] = ()
    """Character spans of every time phrase found (also the ones not used)."""
    horizon_s: int | None = None
    """A future horizon in expiry/forecast questions ("expire in the next 30 days")."""
    periods: tuple[TimeRange, ...] = ()
    """Each period a question names apart ("on May 3 or May 4", "5월 3일과 5월 4일"), in the
    question's order, when it names two or more: `range` is then the span holding them all,
    and a statistic can be compared period by period."""


# --------------------------------------------------------------------------- vocabulary
#
# Two passes keep the patterns small (compiling big alternations costs hundreds of ms):
# 1. atoms: ISO timestamps (T), "N ago" (A), clock times (C), days (Y), durations (D) are
#    found by one regex and replaced by placeholders such as «C0»;
# 2. clause rules ("between «C0» and «C1»", "지난 «D0»", "«Y0» «C1»부터") run on that text.

_F = re.IGNORECASE


def _alt(words: list[str] | tuple[str, ...] | set[str]) -> str:
    """A regex alternation, longest first; spaces in a word match any whitespace."""
    items = sorted(words, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in items) + ")"


_EN_NUMBERS: dict[str, float] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45,
    "forty five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
    "a couple of": 2, "couple of": 2, "a couple": 2, "a few": 3, "few": 3, "several": 3,
}  # fmt: skip
_EN_UNITS: dict[str, int] = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60, "m": 60,
    "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "h": 3600,
    "day": 86400, "days": 86400, "d": 86400,
    "week": 604800, "weeks": 604800, "wk": 604800, "wks": 604800, "w": 604800,
    "fortnight": 1209600, "fortnights": 1209600,
    "month": 2592000, "months": 2592000,
}  # fmt: skip
_KO_NUMBERS: dict[str, float] = {
    "한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8,
    "아홉": 9, "열": 10, "열한": 11, "열두": 12, "스무": 20, "스물": 20, "십": 10,
    "십오": 15, "이십": 20, "삼십": 30, "사십": 40, "사십오": 45, "오십": 50,
}  # fmt: skip
_KO_UNITS: dict[str, int] = {
    "초": 1,
    "분": 60,
    "시간": 3600,
    "일": 86400,
    "주": 604800,
    "주일": 604800,
    "개월": 2592000,
    "달": 2592000,
}
_KO_WHOLE: dict[str, int] = {
    "하루": 86400,
    "이틀": 172800,
    "사흘": 259200,
    "나흘": 345600,
    "일주일": 604800,
}
_KO_HOURS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8,
             "아홉": 9, "열": 10, "열한": 11, "열두": 12}  # fmt: skip
_KO_MARKERS = ("오전", "오후", "새벽", "아침", "낮", "저녁", "밤")
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS_KO = "월화수목금토일"
_MONTHS_EN = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

_NUM_EDGE = r"(?<![A-Za-z0-9_.\-])"  # a number starts a token ("web-5m" is no duration)
_NUMW = _alt([w for w in _EN_NUMBERS if not w[0].isdigit()])
_EN_FULL = (
    r"(?:sec(?:ond)?s?|min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|w(?:ee)?ks?|months?|fortnights?)"
    r"(?![A-Za-z])"
)
_EN_ONE = rf"(?:\d+(?:\.\d+)?(?:\s*{_EN_FULL}|[smhdw](?![A-Za-z]))|\b{_NUMW}\s+{_EN_FULL})"
_EN_DUR = (
    rf"(?:\bhalf\s+(?:an?\s+)?(?:hour|day|minute)\b"
    rf"|{_NUM_EDGE}{_EN_ONE}(?:(?:\s*,\s*|\s+and\s+|\s*){_EN_ONE})*(?:\s+and\s+a\s+half\b)?)"
)
_EN_UNIT1 = r"(?:second|minute|min|hour|hr|day|week|month|fortnight)(?![A-Za-z])"
_KO_NUM = rf"(?:{_NUM_EDGE}\d+(?:\.\d+)?|{_alt(list(_KO_NUMBERS))})"
_KO_UNIT = r"(?:시간|분|초|주일|주|개월|달|일)"
_KO_ONE = rf"(?:{_alt(list(_KO_WHOLE))}|{_KO_NUM}\s*{_KO_UNIT})"
_KO_DUR = rf"(?:{_KO_ONE}(?:\s*{_KO_ONE})*(?:\s*반)?)"
_KO_MARK = _alt(list(_KO_MARKERS))
_KO_HOURW = _alt(list(_KO_HOURS))
_MON = _alt(list(_MONTHS_EN)) + r"[a-z]*\.?"

_ISO = (
    r"(?<![\d-])\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)(?!\w))?"
)
_DAY = (
    r"(?:\b(?:the\s+)?day\s+before\s+yesterday\b|\byesterday\b|\btoday\b"
    r"|(?<![\d-])\d{4}[-/]\d{1,2}[-/]\d{1,2}(?![T\d])"
    rf"|\b{_MON}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s*\d{{4}}\b)?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON}\b(?:,?\s*\d{{4}}\b)?"
    r"|(?:\d{4}\s*년\s*)?\d{1,2}\s*월\s*\d{1,2}\s*일"
    rf"|\b(?:(?:last|this|this\s+past)\s+)?{_alt(_WEEKDAYS_EN)}s?\b"
    r"|오늘|금일|어제|어저께|그저께|그제|엊그제"
    rf"|(?:(?:지난|이번|저번)\s*)?[{_WEEKDAYS_KO}]요일)"
)
_AMPM = r"(?:a\.?m\.?|p\.?m\.?)(?![A-Za-z])"
_CLK_EDGE = r"(?<![A-Za-z0-9_:.])"
_CLK = (
    rf"(?:{_CLK_EDGE}\d{{1,2}}(?::\d{{2}})?\s*{_AMPM}"
    rf"|{_CLK_EDGE}\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?![\d:])"
    rf"|\bnoon\b|\bmidday\b|\bmidnight\b|{_CLK_EDGE}\d{{1,2}}\s*o'?clock\b"
    rf"|(?:{_KO_MARK}\s*)?(?:{_CLK_EDGE}\d{{1,2}}|{_KO_HOURW})\s*시(?![간스즌작점각도])"
    r"(?:\s*(?:\d{1,2}\s*분|반))?"
    rf"|{_KO_MARK}\s*\d{{1,2}}:\d{{2}}|정오|자정)"
)
_RX_ATOM = re.compile(
    rf"(?P<T>{_ISO})|(?P<C>{_CLK})|(?P<Y>{_DAY})"
    rf"|(?P<D>(?:{_EN_DUR}|{_KO_DUR})(?P<ago>\s+ago\b|\s*전(?!체)(?:후)?)?)",
    _F,
)
_RX_PLACE = re.compile(r"«([TACYD])(\d+)»")

# clause building blocks over the placeholder text
_PT = r"«[TAC]\d+»"
_PY = rf"(?:«Y\d+»\s*(?:at\s+|,\s*)?)?{_PT}"
_PD = rf"(?:{_PY}|«Y\d+»)"
_DD = r"«D\d+»"
_KO_BAREH = rf"(?:{_KO_MARK}\s*)?(?<![A-Za-z0-9_.\-«])\d{{1,2}}(?![\d»])"
_UNIT_WORD = r"(?:week|month|year|hour|minute|day|weekend)\b"

_EXPIRY = re.compile(
    r"expir|\bwill\b|forecast|predict|run\s+out|fill\s+up|until\s+full|만료|예측|예상", _F
)


@dataclass(frozen=True)
class _Rule:
    kind: str
    rx: re.Pattern[str]


def _r(kind: str, pattern: str) -> _Rule:
    return _Rule(kind, re.compile(pattern, _F))


_RULES: tuple[_Rule, ...] = (
    _r(
        "future",
        r"\b(?:the\s+day\s+after\s+)?tomorrow\b"
        rf"|\bnext\s+(?:{_DD}|{_UNIT_WORD}|{_alt(_WEEKDAYS_EN)})"
        rf"|\b(?:(?:in|over|during|within)\s+)?the\s+(?:next|coming)\s+(?:{_DD}|{_EN_UNIT1}|year)"
        rf"|\blater\s+today\b|내일|모레|다음\s*주|다음\s*달|(?:향후|앞으로|다음)\s*{_DD}",
    ),
    _r(
        "deploy",
        r"\b(?:since|after|from)\s+(?:the\s+|our\s+)?"
        r"(?:(?:last|latest|most\s+recent|recent|previous|prior)\s+)?"
        r"(?:deploy(?:ment)?|release|rollout|roll-out)s?\b"
        r"|(?:(?:마지막|최근|지난|직전)\s*)?(?:배포|릴리스|릴리즈)\s*(?:이후|후|부터|이래)",
    ),
    _r(
        "range",
        rf"\b(?:between|from)\s+(?P<a>{_PD})\s*(?:and|to|until|till|through|thru|-|–)\s*"
        rf"(?P<b>{_PD})",
    ),
    _r("range", rf"\b(?:between|from)\s+(?P<a>\d{{1,2}})\s*(?:and|to|-|–)\s*(?P<b>{_PT})"),
    _r("range", rf"(?P<a>{_PD}|{_KO_BAREH})\s*(?:부터|~|-|–|에서)\s*(?P<b>{_PD})\s*(?:까지|사이)?"),
    _r("range", rf"(?P<a>{_PY})\s*(?:to|until|till)\s*(?P<b>{_PY})"),
    _r(
        "step",
        rf"\b(?:every|per|each)\s+{_DD}|\b(?:every|each)\s+(?:second|minute|min|hour|day)\b"
        rf"|(?:\b(?:in|with|at|using)\s+(?:an?\s+)?)?{_DD}[- ]?"
        r"(?:buckets?|steps?|intervals?|resolution|granularity|bins?|windows?)\b"
        r"|\b\d+-(?:second|minute|hour|min|day)s?\s+"
        r"(?:buckets?|steps?|intervals?|windows?|bins?|resolution|granularity)\b"
        rf"|{_DD}\s*(?:단위|마다|간격)",
    ),
    _r(
        "since",
        rf"\b(?:since|after|starting(?:\s+(?:at|from))?|from)\s+(?P<a>{_PD})"
        rf"|(?P<k>{_PD})\s*(?:부터|이후로?|이래)",
    ),
    _r("until", rf"\b(?:until|till|up\s+to|before)\s+(?P<a>{_PY})|(?P<k>{_PY})\s*(?:까지|이전)"),
    _r("just", r"방금(?:\s*전)?|조금\s*전|\bjust\s+now\b|\b(?:a\s+)?(?:few\s+)?moments?\s+ago\b"),
    _r(
        "point",
        r"(?:\b(?:at|around|about|near|approximately|approx\.?|circa|roughly)\s+|~\s*)?"
        rf"(?P<a>{_PY})(?:\s*(?:에|쯤|경|무렵|즈음|께|전후|정도))?",
    ),
    _r(
        "calendar",
        r"(?<!the\s)\b(?:last|previous|prior)\s+(?:weekend|week|month)\b"
        r"|\bthis\s+(?:week|month)\b|\b(?:over\s+)?the\s+weekend\b"
        r"|(?:지난|저번)\s*주\s*말|(?:지난|저번)\s*주(?![일간])|이번\s*주(?!\s*말)|금주"
        r"|(?:지난|저번)\s*달|전월|이번\s*달|금월",
    ),
    _r(
        "relative",
        r"\b(?:(?:in|during|over|for|within|from)\s+)?(?:the\s+)?"
        rf"(?:last|past|previous|recent|preceding|trailing)\s+(?:{_DD}|{_EN_UNIT1})"
        rf"|(?:지난|최근|과거|직전)\s*{_DD}(?:\s*(?:동안|간|사이|이내|내))?"
        rf"|{_DD}\s*(?:동안|사이|이내|내|간(?!격))",
    ),
    _r(
        "pod",
        r"\blast\s+night\b|\btonight\b|\bovernight\b"
        r"|\b(?:(?:this|in\s+the|at)\s+)?(?:morning|afternoon|evening|night)\b"
        r"|어젯\s*밤|지난\s*밤|간밤|밤새|오늘\s*밤"
        rf"|(?:오전|오후|새벽|아침|낮(?![은게아추았고다지을음])|저녁|밤)(?!\s*(?:\d|{_KO_HOURW})\s*시)",
    ),
    _r("day", r"(?:\bon\s+)?«Y\d+»"),
    _r("bare", rf"(?:\b(?:for|over|during|within|in)\s+(?:the\s+)?)?(?P<d>{_DD})"),
)
_ANCHORED = {"range", "since", "until", "point", "pod"}
PERIOD_KINDS = frozenset({"calendar", "range"})
"""Clause kinds that name a whole period: two of one kind are two periods to compare."""
_BARE_OK = re.compile(rf"\d+(?:\.\d+)?\s*{_EN_FULL}$", _F)
"""A bare duration is a window only with digits and a spelled unit ("5 min", not "a day")."""


# --------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class _Atom:
    kind: str  # T, A, C, Y, D
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Mention:
    kind: str
    start: int  # in the original question
    end: int
    text: str  # as written in the question
    m: re.Match[str]  # over the placeholder text
    atoms: tuple[_Atom, ...]

    def group_atoms(self, name: str) -> list[_Atom]:
        g = self.m.groupdict().get(name)
        return [self.atoms[int(i)] for _, i in _RX_PLACE.findall(g)] if g else []

    def group(self, name: str) -> str | None:
        return self.m.groupdict().get(name)


def _atomize(question: str) -> tuple[str, tuple[_Atom, ...], list[int]]:
    """Placeholder text, its atoms, and the original offset of every placeholder-text index."""
    question = question.replace("«", " ").replace("»", " ")  # placeholders are ours alone
    parts: list[str] = []
    offsets: list[int] = []
    atoms: list[_Atom] = []
    pos = 0
    for m in _RX_ATOM.finditer(question):
        kind = "A" if m.group("ago") else next(k for k in "TCYD" if m.group(k) is not None)
        parts.append(question[pos : m.start()])
        offsets.extend(range(pos, m.start()))
        ph = f"«{kind}{len(atoms)}»"
        parts.append(ph)
        offsets.extend([m.start()] * len(ph))
        atoms.append(_Atom(kind, m.start(), m.end(), m.group(0)))
        pos = m.end()
    parts.append(question[pos:])
    offsets.extend(range(pos, len(question) + 1))
    return "".join(parts), tuple(atoms), offsets


def _scan(question: str) -> list[_Mention]:
    """Every time phrase, by rule priority; a later rule never overlaps an earlier match."""
    text, atoms, offsets = _atomize(question)
    taken: list[tuple[int, int]] = []
    found: list[_Mention] = []
    for rule in _RULES:
        for m in rule.rx.finditer(text):
            raw = m.group(0)
            s = m.start() + len(raw) - len(raw.lstrip())
            e = m.end() - (len(raw) - len(raw.rstrip()))
            if e <= s or any(s < te and ts < e for ts, te in taken):
                continue
            if rule.kind == "bare":
                d = atoms[int(_RX_PLACE.findall(m.group("d"))[0][1])]
                if not _BARE_OK.match(d.text.strip()):
                    continue
            taken.append((s, e))
            os_, oe = offsets[s], offsets[e]
            found.append(_Mention(rule.kind, os_, oe, question[os_:oe], m, atoms))
    return found


def time_spans(question: str) -> list[tuple[int, int]]:
    """Character spans of the time phrases in `question`, in text order."""
    return sorted((m.start, m.end) for m in _scan(question))


def strip_time_phrases(question: str) -> str:
    """The question without its time phrases ("cpu min over the last 5 min" -> "cpu min over").

    The planner reads aggregations ("min", "max") from this text, so "5 min" is never
    mistaken for the aggregation `min`.
    """
    out: list[str] = []
    pos = 0
    for s, e in time_spans(question):
        out.append(question[pos:s])
        out.append(" ")
        pos = e
    out.append(question[pos:])
    return re.sub(r"\s+", " ", "".join(out)).strip()


# --------------------------------------------------------------------------- parsing

_RX_EN_PART = re.compile(
    rf"(?P<n>\d+(?:\.\d+)?|{_NUMW})\s*(?P<u>{_alt(list(_EN_UNITS))})(?![A-Za-z])", _F
)
_RX_KO_PART = re.compile(
    rf"(?P<w>{_alt(list(_KO_WHOLE))})|(?P<n>\d+(?:\.\d+)?|{_alt(list(_KO_NUMBERS))})\s*"
    rf"(?P<u>{_KO_UNIT})"
)
_RX_HALF_OF = re.compile(r"half\s+(?:an?\s+)?(?P<u>hour|day|minute)", _F)
_RX_AND_HALF = re.compile(r"and\s+a\s+half|반", _F)


def _num(word: str) -> float:
    w = re.sub(r"\s+", " ", word.strip().lower())
    if w in _EN_NUMBERS:
        return _EN_NUMBERS[w]
    if w in _KO_NUMBERS:
        return _KO_NUMBERS[w]
    return float(w)


def _duration_s(text: str) -> float:
    """Seconds in a duration phrase ("1h30m", "an hour and a half", "한 시간 반", "일주일")."""
    total = 0.0
    last_unit = 0
    half = _RX_HALF_OF.search(text)
    if half:  # "half an hour": not "an hour" plus a half
        total += 0.5 * _EN_UNITS[half.group("u").lower()]
        text = text[: half.start()] + text[half.end() :]
    for m in _RX_KO_PART.finditer(text):
        if m.group("w"):
            last_unit = _KO_WHOLE[m.group("w")]
            total += last_unit
        else:
            last_unit = _KO_UNITS[m.group("u")]
            total += _num(m.group("n")) * last_unit
    if not last_unit:
        for m in _RX_EN_PART.finditer(text):
            last_unit = _EN_UNITS[m.group("u").lower()]
            total += _num(m.group("n")) * last_unit
    if last_unit and _RX_AND_HALF.search(text):
        total += 0.5 * last_unit
    return total


def _step_s(text: str) -> int:
    """Seconds in a step phrase ("every 5 minutes", "every minute", "5분 단위")."""
    secs = _duration_s(text)
    if secs == 0:
        unit = re.search(_EN_UNIT1, text, _F)
        secs = _EN_UNITS[unit.group(0).lower()] if unit else 0
    return int(secs)


def _human(seconds: float) -> str:
    s = round(seconds)
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if s >= size and s % size == 0:
            n = s // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{s} seconds"


@dataclass
class _Clock:
    hour: int
    minute: int = 0
    second: int = 0
    marker: str | None = None  # "am", "pm" or a Korean marker
    needs_marker: bool = False  # a 1-12 hour that could be am or pm
    text: str = ""

    @property
    def fixed(self) -> bool:
        """No am/pm applies: noon, midnight, or a 24-hour time past 12 ("14:00")."""
        return self.text in ("noon", "midday", "midnight", "정오", "자정") or self.hour > 12


@dataclass
class _Pt:
    text: str
    abs: datetime | None = None  # ISO timestamp or "N ago", in the user's zone
    ago_s: float | None = None
    day_text: str | None = None
    clock: _Clock | None = None

    @property
    def day_only(self) -> bool:
        return self.abs is None and self.clock is None and self.day_text is not None


def _parse_clock(text: str) -> _Clock:
    """A clock atom ("10am", "14:10", "오후 2시 10분", "열두 시 반", "정오")."""
    t = text.strip().lower()
    if t in ("noon", "midday", "정오"):
        return _Clock(12, text=t)
    if t in ("midnight", "자정"):
        return _Clock(0, text=t)
    mk = re.match(_KO_MARK, t)
    marker = mk.group(0) if mk else None
    body = t[mk.end() :] if mk else t
    ampm = re.search(r"([ap])\.?m", body)
    if ampm:
        marker = "am" if ampm.group(1) == "a" else "pm"
    if ":" in body or ampm or "clock" in body:
        nums = [int(x) for x in re.findall(r"\d+", body)] + [0, 0]
        ambiguous = marker is None and "clock" in body
        return _Clock(nums[0], nums[1], nums[2], marker, ambiguous, t)
    hm = re.match(rf"\s*(\d{{1,2}}|{_KO_HOURW})\s*시", body)
    hw = hm.group(1) if hm else "0"
    hour = int(hw) if hw.isdigit() else _KO_HOURS[hw]
    rest = body[hm.end() :] if hm else ""
    minute = 30 if "반" in rest else int((re.findall(r"\d+", rest) or ["0"])[0])
    return _Clock(hour, minute, 0, marker, marker is None and 1 <= hour <= 12, t)


def _parse_iso(text: str, tz: ZoneInfo) -> datetime:
    raw = re.sub(r"\s*UTC$", "+00:00", text.strip(), flags=_F)
    raw = re.sub(r"\s+(?=[Zz+-])", "", raw).replace("z", "Z")
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise TimeRangeError(f"could not read the timestamp {text.strip()!r}: {exc}") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=tz)).astimezone(tz)


def _point(atoms: list[_Atom], text: str, now: datetime, tz: ZoneInfo) -> _Pt:
    """A point in time from its atoms: a day, a clock, an ISO timestamp or "N ago"."""
    pt = _Pt(text=text.strip())
    for a in atoms:
        if a.kind == "T":
            pt.abs = _parse_iso(a.text, tz)
        elif a.kind == "A":
            pt.ago_s = _duration_s(a.text)
            pt.abs = (now.astimezone(UTC) - timedelta(seconds=pt.ago_s)).astimezone(tz)
        elif a.kind == "Y":
            pt.day_text = a.text.strip()
        elif a.kind == "C":
            pt.clock = _parse_clock(a.text)
    if not atoms:  # a bare hour starting a range: "오후 2~4시", "between 2 and 4pm"
        m = re.fullmatch(rf"\s*(?P<mk>{_KO_MARK})?\s*(?P<h>\d{{1,2}})\s*", text)
        if m:
            pt.clock = _Clock(int(m.group("h")), marker=m.group("mk"), text=text.strip())
    return pt


# --------------------------------------------------------------------------- resolving


@dataclass
class _Resolver:
    now: datetime  # in the user's zone
    tz: ZoneInfo
    default_s: int
    last_deploy: datetime | None
    notes: list[str] = field(default_factory=list)
    assumed: bool = False
    data_span: tuple[date, date] | None = None
    """First and last day the data holds: a date without a year falls inside it."""

    # -- helpers ------------------------------------------------------------------------

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def zone(self) -> str:
        return getattr(self.tz, "key", None) or str(self.tz)

    def note(self, text: str, assumed: bool = True) -> None:
        self.notes.append(text)
        self.assumed = self.assumed or assumed

    def midnight(self, d: date) -> datetime:
        return datetime.combine(d, dtime(0), tzinfo=self.tz)

    def wall(self, d: date, hours: float) -> datetime:
        """Wall-clock `hours` after midnight of `d` (may run into the next day)."""
        days, rem = divmod(hours, 24)
        base = datetime.combine(d + timedelta(days=int(days)), dtime(0), tzinfo=self.tz)
        return base + timedelta(hours=rem)

    def back(self, seconds: float) -> datetime:
        return (self.now.astimezone(UTC) - timedelta(seconds=seconds)).astimezone(self.tz)

    def day_of(self, text: str) -> tuple[date, bool]:
        """The date a day phrase names, and whether it said "today" explicitly."""
        t = re.sub(r"\s+", " ", text.strip().lower())
        t = re.sub(r"^on ", "", t)
        if t in ("today", "오늘", "금일"):
            return self.today, True
        if t in ("yesterday", "어제", "어저께"):
            return self.today - timedelta(days=1), False
        if "before yesterday" in t or t in ("그저께", "그제", "엊그제"):
            return self.today - timedelta(days=2), False
        for i, name in enumerate(_WEEKDAYS_EN):
            if name in t or t.endswith(f"{_WEEKDAYS_KO[i]}요일"):
                strict = t.startswith(("last", "지난", "저번"))
                if t.startswith(("this", "이번")) and "past" not in t:
                    d = self.today - timedelta(days=self.today.weekday()) + timedelta(days=i)
                    return d, d == self.today
                back = (self.today.weekday() - i) % 7 or (7 if strict else 0)
                return self.today - timedelta(days=back), back == 0
        return self.date_of(text), False

    def date_of(self, text: str) -> date:
        t = text.strip().lower()
        m = re.search(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", t)
        year: int | None
        if m:
            year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            m = re.search(r"(?:(\d{4})\s*년\s*)?(\d{1,2})\s*월\s*(\d{1,2})\s*일", t)
            if m:
                year = int(m.group(1)) if m.group(1) else None
                month, day = int(m.group(2)), int(m.group(3))
            else:
                mon = next(i for i, n in enumerate(_MONTHS_EN) if re.search(rf"\b{n}", t)) + 1
                nums = [int(x) for x in re.findall(r"\d+", t)]
                day = next(n for n in nums if n <= 31)
                years = [n for n in nums if n > 31]
                year, month = (years[0] if years else None), mon
        try:
            if year is None and self.data_span is not None:
                d_in = _within(self.data_span, month, day)
                if d_in is not None:
                    self.note(f"{text.strip()!r} has no year; read as {d_in.isoformat()}, "
                              "within the data", assumed=False)
                    return d_in
            if year is None:
                d = date(self.today.year, month, day)
                if d > self.today:
                    d = date(self.today.year - 1, month, day)
                    self.note(f"{text.strip()!r} has no year; read as {d.isoformat()}")
                return d
            return date(year, month, day)
        except ValueError as exc:
            raise TimeRangeError(f"{text.strip()!r} is not a valid date ({exc})") from None

    def hour_of(self, c: _Clock) -> int:
        """24-hour clock hour from a clock with its marker (or the working-hours guess)."""
        h, guessed = _hour24(c)
        if guessed:
            what = "오전/오후" if "시" in c.text else "am/pm"
            self.note(f"read {c.text.strip()!r} as {h:02d}:{c.minute:02d} ({what} not given)")
        return h

    @staticmethod
    def end_after_start(a: _Clock, b: _Clock) -> None:
        """An end hour with no am/pm, after a start clock: the first reading after the
        start ("0시부터 1시" ends at 01:00, "10시부터 2시" at 14:00)."""
        if b.marker is not None or not b.needs_marker or b.fixed or not 1 <= b.hour <= 11:
            return
        start, _ = _hour24(a)
        b.marker = "am" if b.hour > start else "pm"
        b.needs_marker = False

    def clock_at(self, c: _Clock, d: date) -> datetime:
        return self.wall(d, self.hour_of(c) + c.minute / 60 + c.second / 3600)

    def point_day(self, pt: _Pt, anchor: tuple[date, bool] | None) -> tuple[date, bool, bool]:
        """(day, explicit, explicit_today) for a clock point."""
        if pt.day_text:
            d, today = self.day_of(pt.day_text)
            return d, True, today
        if anchor:
            return anchor[0], True, anchor[1]
        return self.today, False, False

    def instant(
        self, pt: _Pt, anchor: tuple[date, bool] | None, end_of_day: bool = False
    ) -> tuple[datetime, bool]:
        """A point as a datetime, and whether its day was stated (no shifting allowed)."""
        if pt.abs is not None:
            return pt.abs, True
        d, explicit, _ = self.point_day(pt, anchor)
        if pt.clock is None:
            return self.midnight(d + timedelta(days=1 if end_of_day else 0)), True
        return self.clock_at(pt.clock, d), explicit

    def shift_if_future(self, t: datetime, explicit: bool, what: str) -> datetime:
        """A clock time later than now today means yesterday (or is an error if stated)."""
        if t < self.now:
            return t
        if explicit:
            raise TimeRangeError(
                f"{what} is in the future (it is now {self.now:%Y-%m-%d %H:%M} {self.zone}); "
                "ask about a time that has passed"
            )
        t = t - timedelta(days=1)
        self.note(f"{what} is later than now today; read it as yesterday ({t:%Y-%m-%d %H:%M})")
        return t

    # -- rules --------------------------------------------------------------------------

    def relative(self, text: str) -> tuple[datetime, datetime]:
        secs = _duration_s(text)
        if secs == 0:
            m = re.search(_EN_UNIT1, text, _F)
            secs = _EN_UNITS[m.group(0).lower()] if m else 0
        if secs <= 0:
            raise TimeRangeError(f"{text!r} is an empty time range; say e.g. 'last 15 minutes'")
        if re.search(r"month", text, _F) or re.search(r"개월|달", text):
            self.note("a month is read as 30 days", assumed=False)
        return self.back(secs), self.now

    def calendar(self, text: str) -> tuple[datetime, datetime]:
        t = text.lower()
        monday = self.today - timedelta(days=self.today.weekday())
        this = t.startswith(("this", "이번", "금"))
        if "weekend" in t or "주말" in re.sub(r"\s+", "", t):
            return self.midnight(monday - timedelta(days=2)), self.midnight(monday)
        if "month" in t or "달" in t or "월" in t:
            first = self.today.replace(day=1)
            if this:
                return self.midnight(first), self.now
            prev = (first - timedelta(days=1)).replace(day=1)
            self.note(
                f"read {text!r} as the previous calendar month ({prev:%Y-%m}); "
                "say 'last 30 days' for a rolling window",
                assumed=False,
            )
            return self.midnight(prev), self.midnight(first)
        if this:
            return self.midnight(monday), self.now
        start = monday - timedelta(days=7)
        self.note(
            f"read {text!r} as the previous calendar week (Mon {start:%m-%d} to Sun "
            f"{monday - timedelta(days=1):%m-%d}); say 'last 7 days' for a rolling window",
            assumed=False,
        )
        return self.midnight(start), self.midnight(monday)

    def pod(
        self, text: str, anchor: tuple[date, bool] | None, label: str
    ) -> tuple[datetime, datetime]:
        t = re.sub(r"\s+", " ", text.lower())
        windows = {
            "morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (18, 30),
            "오전": (0, 12), "오후": (12, 24), "새벽": (0, 6), "아침": (6, 12), "낮": (12, 18),
            "저녁": (18, 24), "밤": (18, 30),
        }  # fmt: skip
        if any(k in t for k in ("last night", "overnight", "어젯", "지난", "간밤", "밤새")):
            d, explicit, today_said = self.today - timedelta(days=1), True, False
            h0, h1 = 18, 30
        else:
            name = next(k for k in windows if k in t)
            h0, h1 = windows[name]
            today_said = t.startswith(("this", "tonight", "오늘"))
            if today_said:
                d, explicit = self.today, True
            elif anchor:
                d, explicit, today_said = anchor[0], True, anchor[1]
            else:
                d, explicit = self.today, False
        start = self.wall(d, h0)
        if start >= self.now:
            if explicit:
                raise TimeRangeError(
                    f"{label!r} has not started yet (it is now {self.now:%H:%M} {self.zone}); "
                    "ask about a time that has passed"
                )
            d -= timedelta(days=1)
            start = self.wall(d, h0)
            self.note(f"{label!r} has not started yet today; read it as {d.isoformat()}")
        return start, min(self.wall(d, h1), self.now)

    def point(self, pt: _Pt, anchor: tuple[date, bool] | None) -> tuple[datetime, datetime]:
        if pt.ago_s is not None and pt.ago_s >= 86400 and pt.abs is not None:
            d = pt.abs.date()
            return self.midnight(d), min(self.midnight(d + timedelta(days=1)), self.now)
        if pt.day_only:
            d, _ = self.day_of(pt.day_text or "")
            return self.midnight(d), self.midnight(d + timedelta(days=1))
        t, explicit = self.instant(pt, anchor)
        if pt.abs is None:
            t = self.shift_if_future(t, explicit, repr(pt.text))
        return t - timedelta(seconds=AROUND_S), t + timedelta(seconds=AROUND_S)

    def since(self, pt: _Pt, anchor: tuple[date, bool] | None) -> tuple[datetime, datetime]:
        t, explicit = self.instant(pt, anchor)
        if pt.abs is None and pt.clock is not None:
            t = self.shift_if_future(t, explicit, repr(pt.text))
        return t, self.now

    def until(self, pt: _Pt, anchor: tuple[date, bool] | None) -> tuple[datetime, datetime]:
        t, explicit = self.instant(pt, anchor)
        if pt.abs is None and pt.clock is not None:
            t = self.shift_if_future(t, explicit, repr(pt.text))
        self.note(f"no start given; assumed the {_human(self.default_s)} before {pt.text!r}")
        return t - timedelta(seconds=self.default_s), t

    def range(self, m: _Mention, anchor: tuple[date, bool] | None) -> tuple[datetime, datetime]:
        a = _point(m.group_atoms("a"), m.group("a") or "", self.now, self.tz)
        b = _point(m.group_atoms("b"), m.group("b") or "", self.now, self.tz)
        a.text, b.text = _atoms_text(m.group_atoms("a")) or a.text, _atoms_text(m.group_atoms("b"))
        inherited = False
        if a.clock and b.clock:  # "오후 2시부터 4시까지", "2 to 4pm": share the marker
            if a.clock.marker is None and b.clock.marker and not a.clock.fixed:
                a.clock.marker, a.clock.needs_marker = b.clock.marker, False
            elif b.clock.marker is None and a.clock.marker and not b.clock.fixed:
                b.clock.marker, b.clock.needs_marker, inherited = a.clock.marker, False, True
            else:
                self.end_after_start(a.clock, b.clock)
        if a.abs is not None and b.clock is not None and b.day_text is None:
            anchor = (a.abs.date(), a.abs.date() == self.today)
        if a.day_text and b.clock is not None and b.day_text is None:
            b.day_text = a.day_text
        start, exp_a = self.instant(a, anchor)
        end, exp_b = self.instant(b, anchor, end_of_day=True)
        if end <= start and inherited and end + timedelta(hours=12) > start:
            end += timedelta(hours=12)  # "오전 10시부터 2시까지": the 2 is in the afternoon
        open_day = b.clock is not None and b.day_text is None and b.abs is None
        if end <= start and open_day and (start - end) >= timedelta(hours=12):
            end += timedelta(days=1)  # "from 22:00 to 02:00" crosses midnight
        if end <= start and b.clock is not None and b.clock.text in ("midnight", "자정") \
                and end.date() == start.date():
            end += timedelta(days=1)  # "정오부터 자정까지", "noon to midnight": that night
        if end <= start:
            raise TimeRangeError(
                f"the range {m.text!r} ends ({end:%Y-%m-%d %H:%M}) before it "
                f"starts ({start:%Y-%m-%d %H:%M}); swap the two times"
            )
        if start >= self.now and not (exp_a or exp_b):
            start, end = start - timedelta(days=1), end - timedelta(days=1)
            self.note(
                f"{m.text!r} is later than now today; read it as yesterday ({start:%Y-%m-%d})"
            )
        if start < self.now < end:
            self.note(f"the range ends after now; cut at {self.now:%H:%M}", assumed=False)
        return start, end

    def deploy(self, text: str) -> tuple[datetime, datetime] | None:
        if self.last_deploy is None:
            self.note(
                f"{text!r} needs the time of the last deploy; look it up (an events query "
                "for deploys) and ask again with last_deploy set"
            )
            return None
        if self.last_deploy.tzinfo is None:
            raise TimeRangeError("last_deploy must be timezone-aware")
        return self.last_deploy.astimezone(self.tz), self.now

    def step(self, text: str, duration_s: float) -> int | None:
        secs = _step_s(text)
        if secs < 1:
            self.note(f"ignored the step {text!r}: below one second", assumed=False)
            return None
        if duration_s / secs > MAX_POINTS:
            self.note(f"ignored the step {text!r}: too many points for the range", False)
            return None
        return secs

    def window(
        self, primary: _Mention, anchor_m: _Mention | None, label: str
    ) -> tuple[datetime, datetime] | None:
        """The (start, end) the primary phrase names; None means "use the default"."""
        anchor = self.day_of(anchor_m.text) if anchor_m else None
        kind, text = primary.kind, primary.text
        if kind == "deploy":
            return self.deploy(text)
        if kind in ("relative", "bare"):
            span = self.relative(text)
            if kind == "bare":
                secs = (span[1].astimezone(UTC) - span[0].astimezone(UTC)).total_seconds()
                self.note(f"read {text!r} as the last {_human(secs)}")
            return span
        if kind == "just":
            self.note(f"read {text!r} as the last {_human(JUST_NOW_S)}")
            return self.back(JUST_NOW_S), self.now
        if kind == "calendar":
            return self.calendar(text)
        if kind == "pod":
            return self.pod(text, anchor, label)
        if kind == "day":
            d, _ = self.day_of(text)
            return self.midnight(d), self.midnight(d + timedelta(days=1))
        if kind == "range":
            return self.range(primary, anchor)
        name = "a" if primary.group("a") is not None else "k"  # since, until, point
        atoms = primary.group_atoms(name)
        pt = _point(atoms, primary.group(name) or "", self.now, self.tz)
        pt.text = _atoms_text(atoms) or pt.text
        if kind == "since":
            return self.since(pt, anchor)
        if kind == "until":
            return self.until(pt, anchor)
        return self.point(pt, anchor)


def _several_days(question: str, r: _Resolver, days: list[_Mention],
                  mentions: list[_Mention], steps: list[_Mention]) -> TimeResolution:
    """Two or more days named apart, with no other time phrase: each is a period of its
    own (in the question's order, a day named twice counted once); the range spans them."""
    named = [(m, r.day_of(m.text)[0]) for m in days]
    span = r.data_span
    inside = [d for _, d in named if span and span[0] <= d <= span[1]]
    if inside:  # a day with no year outside the data: the year of the others named with it
        for i, (m, d) in enumerate(named):
            if d not in inside and not re.search(r"\d{4}", m.text):
                try:
                    named[i] = (m, d.replace(year=inside[0].year))
                except ValueError:
                    continue  # 29 February
                r.note(f"read {m.text.strip()!r} as {named[i][1].isoformat()}, in the year "
                       f"of {inside[0].isoformat()}", assumed=False)
    seen: list[date] = []
    for _, d in named:
        if d not in seen:
            seen.append(d)
    if seen and min(seen) > r.today:
        raise TimeRangeError(f"{days[0].text!r} is in the future; there is no data after now "
                             f"({r.now:%Y-%m-%d %H:%M} {r.zone})")
    windows = [(r.midnight(d), min(r.midnight(d + timedelta(days=1)), r.now)) for d in seen
               if r.midnight(d) < r.now]
    return _periods(r, windows, days, mentions, steps, "day")


def _several_windows(r: _Resolver, clauses: list[_Mention], mentions: list[_Mention],
                     steps: list[_Mention]) -> TimeResolution:
    """Two or more windows of one kind named apart ("this week vs last week", "from 9 to 10
    and from 14 to 15"): each is a period of its own; the range spans them."""
    windows: list[tuple[datetime, datetime]] = []
    for c in clauses:
        w = r.window(c, None, c.text)
        if w is not None and w[0] < r.now and (w[0], min(w[1], r.now)) not in windows:
            windows.append((w[0], min(w[1], r.now)))
    return _periods(r, windows, clauses, mentions, steps, clauses[0].kind)


def _periods(r: _Resolver, windows: list[tuple[datetime, datetime]], used: list[_Mention],
             mentions: list[_Mention], steps: list[_Mention], kind: str) -> TimeResolution:
    if not windows:
        raise TimeRangeError(f"{used[0].text!r} is in the future; there is no data after now "
                             f"({r.now:%Y-%m-%d %H:%M} {r.zone})")
    periods = tuple(TimeRange(start=a, end=b, timezone=r.zone) for a, b in windows)
    start = min(p.start for p in periods)
    end = max(p.end for p in periods)
    span_s = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
    step = r.step(steps[0].text, span_s) if steps else None
    return TimeResolution(
        range=TimeRange(start=start, end=end, step_s=step, timezone=r.zone),
        matched=" ".join(m.text for m in used),
        assumed=r.assumed,
        note="; ".join(r.notes),
        kind=kind,
        spans=tuple(sorted((mt.start, mt.end) for mt in mentions)),
        periods=periods if len(periods) > 1 else (),
    )


def _within(span: tuple[date, date], month: int, day: int) -> date | None:
    """The latest `month`/`day` inside `span` (the data's first..last day), if any."""
    for year in range(span[1].year, span[0].year - 1, -1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue  # 29 February of a common year
        if span[0] <= d <= span[1]:
            return d
    return None


def _start(m: _Mention) -> int:
    return m.start


def _atoms_text(atoms: list[_Atom]) -> str:
    return " ".join(a.text.strip() for a in atoms)


def _fmt_range(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"


def _horizon_s(text: str) -> int:
    """Seconds ahead in a future phrase ("next 30 days", "tomorrow", "다음 주")."""
    secs = _duration_s(text)
    if secs == 0:
        unit = re.search(r"week|month|year|hour|minute|주|달", text, _F)
        secs = _HORIZON_UNITS.get(unit.group(0).lower(), 86400) if unit else 86400
    return int(secs)


_HORIZON_UNITS = {
    "week": 604800, "주": 604800, "month": 2592000, "달": 2592000,
    "year": 31536000, "hour": 3600, "minute": 60,
}  # fmt: skip


def _hour24(c: _Clock) -> tuple[int, bool]:
    """(24-hour clock hour, whether it was guessed) from a clock and its marker; a 1-12 hour
    with none is guessed by working hours (7-12 morning, 1-6 afternoon)."""
    h = c.hour
    if h > 24 or c.minute > 59:
        raise TimeRangeError(f"{c.text.strip()!r} is not a valid time of day")
    mk = c.marker
    if mk in ("am", "오전", "새벽", "아침"):
        return (0 if h == 12 else h), False
    if mk in ("pm", "오후", "저녁", "낮"):
        return (h if h >= 12 else h + 12), False
    if mk == "밤":
        return (h + 12 if 6 <= h < 12 else (0 if h == 12 else h)), False
    if c.needs_marker and 1 <= h <= 12:
        return (h if 7 <= h <= 12 else h + 12), True
    return h, False


def _within_calendar(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, with date arithmetic past the calendar ("the last 99999999 days",
    "9999-12-31 to 10000-01-01") raised as a `TimeRangeError` instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (OverflowError, ValueError):
            raise TimeRangeError("that time range reaches outside the calendar (years 1 to "
                                 "9999); ask about a shorter or nearer period") from None

    return wrapper


@_within_calendar
def resolve_time(
    question: str,
    now: datetime,
    tz: ZoneInfo,
    default_s: int = 3600,
    last_deploy: datetime | None = None,
    data_span: tuple[datetime, datetime] | None = None,
) -> TimeResolution:
    """Resolve the time phrase in `question` against `now`, in the zone `tz`.

    `data_span` (the first and last timestamp the data holds) places a date without a
    year ("on March 17") in the year the data has it, not in the current year.

    Raises `TimeRangeError` for future or impossible ranges ("tomorrow", "next week",
    an end before its start) and for unreadable dates.
    """
    if now.tzinfo is None:
        raise TimeRangeError("`now` must be timezone-aware (e.g. datetime.now(UTC))")
    if default_s <= 0:
        raise TimeRangeError(f"default_s must be positive, got {default_s}")
    r = _Resolver(now.astimezone(tz), tz, default_s, last_deploy)
    if data_span is not None:
        r.data_span = (data_span[0].astimezone(tz).date(), data_span[1].astimezone(tz).date())
    mentions = _scan(question)

    horizon: int | None = None
    future = [mt for mt in mentions if mt.kind == "future"]
    if future:
        if not _EXPIRY.search(question):
            raise TimeRangeError(
                f"{future[0].text!r} is in the future; there is no data after now "
                f"({r.now:%Y-%m-%d %H:%M} {r.zone}). Ask about a past window, "
                "e.g. 'last 24 hours' or 'yesterday'"
            )
        horizon = _horizon_s(future[0].text)
        r.note(f"{future[0].text!r} is a horizon ahead of now, not a window of data", False)

    steps = [mt for mt in mentions if mt.kind == "step"]
    days = [mt for mt in mentions if mt.kind == "day"]
    clauses = [mt for mt in mentions if mt.kind not in ("future", "step", "day")]
    if len(clauses) == 1 and days and clauses[0].kind == "relative" \
            and _duration_s(clauses[0].text) == 86400 and _start(days[0]) < _start(clauses[0]):
        # "6월 14일 하루 동안", "on June 14 for a day": the named day, not the last 24 hours
        clauses = []
    if not clauses and len(days) >= 2:
        return _several_days(question, r, days, mentions, steps)
    if len(clauses) >= 2 and not days and len({c.kind for c in clauses}) == 1 \
            and clauses[0].kind in PERIOD_KINDS:
        return _several_windows(r, clauses, mentions, steps)
    primary = clauses[0] if clauses else (days.pop(0) if days else None)
    anchor_m = days[0] if days and primary is not None and primary.kind in _ANCHORED else None
    ignored = clauses[1:] + [d for d in days if d is not anchor_m]
    if ignored and primary is not None:
        names = ", ".join(repr(x.text) for x in ignored)
        r.note(f"used {primary.text!r}; ignored {names}", assumed=False)
    used = sorted((x for x in (primary, anchor_m) if x is not None), key=_start)
    matched = " ".join(x.text for x in used) or None

    span = r.window(primary, anchor_m, matched or "") if primary else None
    if span is None:
        span = r.back(default_s), r.now
        if primary is None:
            r.note(f"no time given; assumed the last {_human(default_s)}")
    start, end = span
    if start >= r.now:
        raise TimeRangeError(
            f"{matched or 'the range'!r} starts at {start:%Y-%m-%d %H:%M}, after now "
            f"({r.now:%Y-%m-%d %H:%M} {r.zone}); there is no data yet"
        )
    end = min(end, r.now)
    span_s = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
    step = r.step(steps[0].text, span_s) if steps else None
    try:
        tr = TimeRange(start=start, end=end, step_s=step, timezone=r.zone)
    except ValidationError as exc:
        raise TimeRangeError(
            f"could not build a time range from {_fmt_range(start, end)}: {exc.errors()[0]['msg']}"
        ) from None
    return TimeResolution(
        range=tr,
        matched=matched,
        assumed=r.assumed,
        note="; ".join(r.notes),
        needs_last_deploy=primary is not None and primary.kind == "deploy" and last_deploy is None,
        kind=primary.kind if primary else "default",
        spans=tuple(sorted((mt.start, mt.end) for mt in mentions)),
        horizon_s=horizon,
    )
