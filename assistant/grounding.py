"""The grounding check: every number in an answer must trace to something the code computed.

`check` extracts every number from a text (plain, "1,234", "93.4%", "1.2 GiB", "350ms",
"3건", times "14:12" / "2:12 PM" / "오후 2시 12분", dates "2026-11-20" / "Nov 20" /
"11월 20일", versions and IPs) and traces each to:

* a fact's value, within the rounding of the precision written (97% and 97.3% both trace
  to 97.31), in any unit of the same kind (ms / s / min / h / days; B / KiB ... / GB;
  a ratio as a percentage);
* the time window (start, end, duration, step) or a fact's time, in the user's timezone or
  UTC; a date of either;
* an identifier that the facts or the caller know: digits inside "web-03", a metric name,
  a label value, a log template or event title, the timezone (these are masked first);
* `extra_allowed`: other text whose numbers may be repeated (the question, error messages).

`enforce` keeps the grounded sentences of a (model-written) text, replaces each ungrounded
one by the best-matching template sentence (or drops it), and falls back to the whole
template text when nothing grounded is left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

from pydantic import BaseModel, Field

from assistant.facts import Fact, fact_names_in, zone
from assistant.ir import TimeRange


class Violation(NamedTuple):
    """A sentence and the number in it that traces to nothing."""

    sentence: str
    number: str


class GroundingReport(BaseModel):
    grounded: bool
    violations: list[Violation] = Field(default_factory=list)
    numbers_checked: int = 0
    rewritten: bool = Field(default=False, description="enforce replaced or dropped sentences")
    used_fallback: bool = Field(default=False, description="enforce returned the template text")


# ---------------------------------------------------------------------- tokens

_CONSUMED = "\ue001"
_MASK = "\ue000"
_NOT_ASCII_WORD_BEFORE = r"(?<![A-Za-z0-9_])"


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, time, date, offset, ident, version, slash
    start: int
    end: int
    cands: tuple[tuple[float, float], ...] = ()  # number: (value in base units, tolerance)
    dim: str = ""  # number: "", "bytes", "time", "percent"
    hour: int = -1
    minute: int = -1  # -1: an hour only ("2pm", "14시")
    second: int = -1
    half: str = ""  # "am", "pm" or "" (unknown, for hours <= 12)
    year: int = 0
    month: int = 0
    day: int = 0
    parts: tuple[float, ...] = ()  # slash: the two numbers of "11/20"


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_MONTH_RX = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_KO_HALF = {"오전": "am", "새벽": "am", "아침": "am", "오후": "pm", "저녁": "pm", "밤": "pm"}

_ISO = re.compile(
    _NOT_ASCII_WORD_BEFORE + r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_KO_DATE = re.compile(r"(?:(\d{4})\s?년\s?)?(\d{1,2})\s?월\s?(\d{1,2})\s?일")
_EN_DATE_MD = re.compile(
    r"(?<![A-Za-z])" + _MONTH_RX + r"\s+(\d{1,2})(?:st|nd|rd|th)?(?![\d:])(?:,?\s+(\d{4}))?",
    re.IGNORECASE,
)
_EN_DATE_DM = re.compile(
    _NOT_ASCII_WORD_BEFORE + r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RX
    + r"(?![a-z])(?:,?\s+(\d{4}))?",
    re.IGNORECASE,
)
_KO_TIME = re.compile(
    r"(오전|오후|새벽|아침|저녁|밤)?\s?(?<![\d.])(\d{1,2})\s?시(?!간)"
    r"(?:\s?(\d{1,2})\s?분|\s?(반))?(?:\s?(\d{1,2})\s?초)?"
)
_EN_TIME = re.compile(
    r"(?<![A-Za-z0-9_:.])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])"
    r"(?:\s?([ap])\.?m\.?(?![A-Za-z]))?",
    re.IGNORECASE,
)
_EN_HOUR = re.compile(r"(?<![A-Za-z0-9_:.])(\d{1,2})\s?([ap])\.?m\.?(?![A-Za-z])", re.IGNORECASE)
_OFFSET = re.compile(r"(?<![A-Za-z])(?:UTC|GMT)\s?([+\-\u2212])\s?(\d{1,2})(?::?(\d{2}))?",
                     re.IGNORECASE)
_VERSION = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:\.\d+){2,}(?::\d+)?(?![A-Za-z0-9_]|\.\d)")
_SLASH = re.compile(r"(?<![A-Za-z0-9_/.,])(\d{1,2})/(\d{1,2})(?![\d/])")
_IDENT = re.compile(_NOT_ASCII_WORD_BEFORE + r"[A-Za-z_][A-Za-z0-9_]*(?:[-./:][A-Za-z0-9_]+)*")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\d)")
_DIGITS = re.compile(r"\d+")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?")
_MULTIPLIER = re.compile(r"(k|K|천|만|억)(?![A-Za-z])")
_MULTIPLIERS = {"k": 1e3, "K": 1e3, "천": 1e3, "만": 1e4, "억": 1e8}
_RATE = re.compile(r"\s?(?:/\s?s(?:ec)?(?![A-Za-z])|/초|per\s+sec(?:ond)?(?![A-Za-z]))",
                   re.IGNORECASE)
_ORDINAL = re.compile(r"(?:st|nd|rd|th)(?![A-Za-z])")
_IDENT_TAIL = re.compile(r"[A-Za-z0-9_]+(?:[-./:][A-Za-z0-9_]+)*")

_UNITS: tuple[tuple[re.Pattern[str], str, tuple[float, ...]], ...] = tuple(
    (re.compile(r"\s?(?:" + rx + r")" + ("(?![A-Za-z])" if rx[0].isascii() else ""),
                re.IGNORECASE), dim, scales)
    for rx, dim, scales in (
        (r"%|percent|per cent|pct", "percent", (1.0,)),
        (r"퍼센트|프로", "percent", (1.0,)),
        (r"ms|msec|millis(?:econds?)?", "time", (1e-3,)),
        (r"밀리초", "time", (1e-3,)),
        (r"µs|us|microseconds?", "time", (1e-6,)),
        (r"s|secs?|seconds?", "time", (1.0,)),
        (r"초", "time", (1.0,)),
        (r"mins?|minutes?", "time", (60.0,)),
        (r"분", "time", (60.0,)),
        (r"h|hrs?|hours?", "time", (3600.0,)),
        (r"시간", "time", (3600.0,)),
        (r"days?", "time", (86400.0,)),
        (r"일", "time", (86400.0,)),
        (r"weeks?", "time", (604800.0,)),
        (r"KiB", "bytes", (1024.0,)),
        (r"MiB", "bytes", (1024.0**2,)),
        (r"GiB", "bytes", (1024.0**3,)),
        (r"TiB", "bytes", (1024.0**4,)),
        (r"PiB", "bytes", (1024.0**5,)),
        (r"KB", "bytes", (1e3, 1024.0)),
        (r"MB", "bytes", (1e6, 1024.0**2)),
        (r"GB", "bytes", (1e9, 1024.0**3)),
        (r"TB", "bytes", (1e12, 1024.0**4)),
        (r"B|bytes?", "bytes", (1.0,)),
        (r"바이트", "bytes", (1.0,)),
    )
)


def _hour_candidates(hour: int, half: str) -> list[int]:
    if half == "am":
        return [hour % 12]
    if half == "pm":
        return [hour % 12 + 12]
    return [hour, (hour + 12) % 24] if hour <= 12 else [hour]


class _Scanner:
    """Finds tokens stage by stage; each stage blanks what it consumed for the next."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Tok] = []

    def consume(self, start: int, end: int) -> None:
        self.text = self.text[:start] + _CONSUMED * (end - start) + self.text[end:]

    def run(self) -> list[_Tok]:
        for stage in (self._iso, self._dates, self._times, self._offsets, self._versions,
                      self._slashes, self._idents, self._numbers, self._leftovers):
            stage()
        return sorted(self.tokens, key=lambda t: t.start)

    def _each(self, rx: re.Pattern[str]) -> list[re.Match[str]]:
        found = list(rx.finditer(self.text))
        for m in found:
            self.consume(m.start(), m.end())
        return found

    def _iso(self) -> None:
        for m in self._each(_ISO):
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
            if m[4] is None:
                self.tokens.append(_Tok("date", m.start(), m.end(), year=y, month=mo, day=d))
                continue
            h, mi, s = int(m[4]), int(m[5]), int(m[6]) if m[6] else -1
            if m[7]:
                try:
                    local = datetime(y, mo, d, h, mi, max(s, 0), tzinfo=_parse_offset(m[7]))
                except ValueError:
                    local = None
                if local is not None:
                    u = local.astimezone(UTC)
                    y, mo, d, h, mi = u.year, u.month, u.day, u.hour, u.minute
                    s = u.second if s >= 0 else -1
            self.tokens.append(_Tok("date", m.start(), m.end(), year=y, month=mo, day=d))
            self.tokens.append(_Tok("time", m.start(), m.end(), hour=h, minute=mi, second=s,
                                    half="am" if h < 12 else "pm"))

    def _dates(self) -> None:
        for m in self._each(_KO_DATE):
            self.tokens.append(_Tok("date", m.start(), m.end(), year=int(m[1] or 0),
                                    month=int(m[2]), day=int(m[3])))
        for m in self._each(_EN_DATE_MD):
            self.tokens.append(_Tok("date", m.start(), m.end(), year=int(m[3] or 0),
                                    month=_MONTHS[m[1].lower()[:3]], day=int(m[2])))
        for m in self._each(_EN_DATE_DM):
            self.tokens.append(_Tok("date", m.start(), m.end(), year=int(m[3] or 0),
                                    month=_MONTHS[m[2].lower()[:3]], day=int(m[1])))

    def _times(self) -> None:
        for m in self._each(_KO_TIME):
            minute = 30 if m[4] else int(m[3]) if m[3] else -1
            self.tokens.append(_Tok("time", m.start(), m.end(), hour=int(m[2]), minute=minute,
                                    second=int(m[5]) if m[5] else -1,
                                    half=_KO_HALF.get(m[1] or "", "")))
        for m in self._each(_EN_TIME):
            self.tokens.append(_Tok("time", m.start(), m.end(), hour=int(m[1]),
                                    minute=int(m[2]), second=int(m[3]) if m[3] else -1,
                                    half=(m[4] or "").lower() + "m" if m[4] else ""))
        for m in self._each(_EN_HOUR):
            self.tokens.append(_Tok("time", m.start(), m.end(), hour=int(m[1]),
                                    half=m[2].lower() + "m"))

    def _offsets(self) -> None:
        for m in self._each(_OFFSET):
            minutes = int(m[2]) * 60 + int(m[3] or 0)
            sign = -1 if m[1] in "-\u2212" else 1
            self.tokens.append(_Tok("offset", m.start(), m.end(), cands=((sign * minutes, 0),)))

    def _versions(self) -> None:
        for m in self._each(_VERSION):
            self.tokens.append(_Tok("version", m.start(), m.end()))

    def _slashes(self) -> None:
        for m in self._each(_SLASH):
            self.tokens.append(_Tok("slash", m.start(), m.end(),
                                    parts=(float(m[1]), float(m[2]))))

    def _idents(self) -> None:
        for m in list(_IDENT.finditer(self.text)):
            if any(c.isdigit() for c in m[0]):
                self.consume(m.start(), m.end())
                self.tokens.append(_Tok("ident", m.start(), m.end()))

    def _numbers(self) -> None:
        for m in list(_NUMBER.finditer(self.text)):
            self._number(m)

    def _leftovers(self) -> None:
        """Digits no pattern took ("3,4", ".5"): checked as plain numbers, never skipped."""
        for m in list(_DIGITS.finditer(self.text)):
            self.consume(m.start(), m.end())
            self.tokens.append(_Tok("number", m.start(), m.end(), cands=((float(m[0]), 0.5),)))

    def _number(self, m: re.Match[str]) -> None:
        raw = m[1].replace(",", "")
        value = float(raw)
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        tol = 0.5 * 10.0**-decimals
        pos = m.end()
        mult = _MULTIPLIER.match(self.text, pos)
        if mult:
            value, tol = value * _MULTIPLIERS[mult[1]], tol * _MULTIPLIERS[mult[1]]
            pos = mult.end()
        dim: str = ""
        scales: tuple[float, ...] = (1.0,)
        for rx, unit_dim, unit_scales in _UNITS:
            u = rx.match(self.text, pos)
            if u:
                dim, scales, pos = unit_dim, unit_scales, u.end()
                break
        rate = _RATE.match(self.text, pos)
        if rate:
            pos = rate.end()
        if not dim and pos < len(self.text) and self.text[pos].isascii() \
                and self.text[pos].isalpha():
            ordinal = _ORDINAL.match(self.text, pos)
            if ordinal:
                pos = ordinal.end()
            else:  # "5xx", "2x": an identifier that starts with a digit
                tail = _IDENT_TAIL.match(self.text, pos)
                end = tail.end() if tail else pos
                self.consume(m.start(), end)
                self.tokens.append(_Tok("ident", m.start(), end))
                return
        self.consume(m.start(), pos)
        self.tokens.append(_Tok("number", m.start(), pos, dim=dim,
                                cands=tuple((value * s, tol * s) for s in scales)))


def _parse_offset(text: str) -> timezone:
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)))


def extract_numbers(text: str) -> list[str]:
    """Every number-bearing token in `text`, as written (for tests and debugging)."""
    return [text[t.start:t.end] for t in _Scanner(text).run()]


# --------------------------------------------------------------------- context

_DIM_UNIT = {"bytes": "bytes", "time": "seconds", "percent": "percent", "": ""}


@dataclass
class _Allowed:
    """Everything an answer's numbers may trace to."""

    pool: list[tuple[float, str]] = field(default_factory=list)  # (value, fact unit)
    hm: set[tuple[int, int]] = field(default_factory=set)
    hms: set[tuple[int, int, int]] = field(default_factory=set)
    dates: set[tuple[int, int, int]] = field(default_factory=set)
    offsets: set[int] = field(default_factory=lambda: {0})
    masks: set[str] = field(default_factory=set)
    strings: list[str] = field(default_factory=list)
    mask_rx: re.Pattern[str] | None = None

    def add_instant(self, at: datetime, zones: Sequence[tzinfo]) -> None:
        for tz in zones:
            local = at.astimezone(tz)
            rounded = (local + timedelta(seconds=30)).replace(second=0, microsecond=0)
            self.hm.add((local.hour, local.minute))
            self.hm.add((rounded.hour, rounded.minute))
            self.hms.add((local.hour, local.minute, local.second))
            self.dates.add((local.year, local.month, local.day))

    def add_string(self, text: str) -> None:
        if not text or not any(c.isdigit() for c in text):
            return
        self.strings.append(text)
        if any(c.isalpha() for c in text):
            self.masks.add(text)
            return
        if _PLAIN_NUMBER.fullmatch(text):
            self.pool.append((float(text.replace(",", "")), ""))
        # other digits with punctuation ("2.3.1", "10.0.0.5:80") match as strings

    def add_extra(self, text: str) -> None:
        """Allow the numbers, times, dates and identifiers that appear in `text`."""
        for t in _Scanner(text).run():
            written = text[t.start:t.end]
            if t.kind in ("ident", "version"):
                self.add_string(written)
            elif t.kind == "number":
                self.pool.extend((v, _DIM_UNIT[t.dim]) for v, _ in t.cands)
            elif t.kind == "time":
                for h in _hour_candidates(t.hour, t.half):
                    self.hm.add((h, max(t.minute, 0)))
                    if t.second >= 0:
                        self.hms.add((h, t.minute, t.second))
            elif t.kind == "date":
                self.dates.add((t.year, t.month, t.day))
            elif t.kind == "offset":
                self.offsets.add(int(t.cands[0][0]))
            elif t.kind == "slash":
                self.pool.extend((p, "") for p in t.parts)
                self.dates.add((0, int(t.parts[0]), int(t.parts[1])))

    def names(self, written: str, word: str) -> bool:
        """True if `written` occurs in a known string (label, title, ...), not inside a
        longer run of `word` characters."""
        rx = re.compile(f"(?<!{word})" + re.escape(written) + f"(?!{word})", re.IGNORECASE)
        return any(rx.search(s) for s in self.strings)

    def compile(self) -> None:
        masks = sorted(self.masks, key=len, reverse=True)
        if masks:
            self.mask_rx = re.compile(
                _NOT_ASCII_WORD_BEFORE + "(?:" + "|".join(re.escape(m) for m in masks)
                + ")(?![A-Za-z0-9_])", re.IGNORECASE)


def _context(facts: Sequence[Fact], time_range: TimeRange,
             extra_allowed: Iterable[str]) -> _Allowed:
    tz = zone(time_range.timezone)
    zones = (tz, UTC)
    a = _Allowed()
    for at in (time_range.start, time_range.end):
        a.add_instant(at, zones)
        local = at.astimezone(tz)
        off = local.utcoffset()
        if off is not None:
            a.offsets.add(int(off.total_seconds() // 60))
        for name in (local.tzname() or "", time_range.timezone):
            if any(c.isdigit() for c in name):
                a.masks.add(name)
    a.pool.append((time_range.duration_s, "seconds"))
    a.pool.append((float(time_range.resolved_step()), "seconds"))
    for f in facts:
        if f.at is not None:
            a.add_instant(f.at, zones)
        if isinstance(f.value, str):
            a.add_string(f.value)
            a.add_string(f.display)
        else:
            a.pool.append((float(f.value), f.unit))
        if f.rank is not None:
            a.pool.append((float(f.rank), ""))
        for k, v in f.labels.items():
            a.add_string(k)
            a.add_string(v)
        a.add_string(f.metric)
        a.add_string(f.function)
    for y, _, _ in list(a.dates):
        if y:
            a.pool.append((float(y), ""))
    for text in extra_allowed:
        a.add_extra(text)
    a.compile()
    return a


def _views(value: float, unit: str, dim: str) -> list[float]:
    """`value` (in `unit`) as the numbers a text of dimension `dim` could write for it."""
    sized = unit in ("bytes", "bytes/s")
    if dim == "bytes":
        return [value] if sized else []
    if dim == "time":
        return [value] if unit == "seconds" else []
    if dim == "percent":
        if unit == "ratio":
            return [value * 100]
        return [] if sized or unit == "seconds" else [value]
    if sized:
        scaled = [value / 1024**k for k in range(1, 6)] + [value / 1000**k for k in range(1, 6)]
    elif unit == "seconds":
        scaled = [value * 1000, value / 60, value / 3600, value / 86400]
    elif unit == "ratio":
        scaled = [value * 100]
    else:
        scaled = []
    # a value is written in a larger unit only while it is at least 1 of it ("0 days" for
    # 2 s would make every small number look grounded)
    return [value, *(c for c in scaled if abs(c) >= 1)]


def _close(x: float, tol: float, c: float) -> bool:
    return abs(abs(x) - abs(c)) <= tol + 1e-9 * max(1.0, abs(c))


class _Checker:
    def __init__(self, allowed: _Allowed) -> None:
        self.a = allowed

    def ok(self, t: _Tok, written: str) -> bool:
        match t.kind:
            case "number":
                return self.number(t.cands, t.dim)
            case "time":
                return self.time(t)
            case "date":
                return any((y == t.year or not t.year or not y) and m == t.month
                           and d == t.day for y, m, d in self.a.dates)
            case "offset":
                return int(t.cands[0][0]) in self.a.offsets
            case "ident":  # "web-03" from labels, "v2.3.1" from an event title
                return self.a.names(written, r"[A-Za-z0-9_]")
            case "version":  # "2.3.1" inside "v2.3.1", "10.0.0.5" inside a log template
                return self.a.names(written, r"[0-9.]")
            case "slash":
                first, second = int(t.parts[0]), int(t.parts[1])
                as_date = any((m, d) in ((first, second), (second, first))
                              for _, m, d in self.a.dates)
                return as_date or all(self.number(((p, 0.5),), "") for p in t.parts)
            case _:
                raise AssertionError(f"unknown token kind {t.kind!r}")

    def number(self, cands: Iterable[tuple[float, float]], dim: str) -> bool:
        return any(_close(x, tol, c) for x, tol in cands for v, unit in self.a.pool
                   for c in _views(v, unit, dim))

    def time(self, t: _Tok) -> bool:
        hours = _hour_candidates(t.hour, t.half)
        if t.minute < 0:
            return any(h in hours or ((h + 1) % 24 in hours and m >= 30) for h, m in self.a.hm)
        if t.second >= 0:
            return any((h, t.minute, t.second) in self.a.hms for h in hours)
        return any((h, t.minute) in self.a.hm for h in hours)


# ------------------------------------------------------------------- sentences

_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u3002])[ \t]+|[ \t]*\n\s*")


@dataclass(frozen=True)
class _Sentence:
    text: str
    sep: str
    bad: tuple[str, ...]
    numbers: int


def _scan(text: str, allowed: _Allowed) -> list[_Sentence]:
    masked = text
    if allowed.mask_rx is not None:
        masked = allowed.mask_rx.sub(lambda m: _MASK * len(m[0]), text)
    tokens = _Scanner(masked).run()
    checker = _Checker(allowed)
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for m in _SENTENCE_BREAK.finditer(masked):
        spans.append((pos, m.start(), m[0]))
        pos = m.end()
    spans.append((pos, len(text), ""))
    out = []
    for start, end, sep in spans:
        if start == end:
            continue
        inside = [t for t in tokens if start <= t.start < end]
        bad = tuple(text[t.start:t.end] for t in inside if not checker.ok(t, text[t.start:t.end]))
        out.append(_Sentence(text[start:end], sep, bad, len(inside)))
    return out


def check(text: str, facts: Sequence[Fact], time_range: TimeRange,
          extra_allowed: Iterable[str] = ()) -> GroundingReport:
    """Trace every number in `text` to the facts, the window or `extra_allowed`."""
    sentences = _scan(text, _context(facts, time_range, extra_allowed))
    violations = [Violation(s.text, n) for s in sentences for n in s.bad]
    return GroundingReport(grounded=not violations, violations=violations,
                           numbers_checked=sum(s.numbers for s in sentences))


# Claims without numbers that facts must back all the same: absence ("no errors were
# logged"), health ("the service is healthy"), alert state and direction of change.
_ABSENCE = re.compile(r"\b(?:no|none|nothing|never|zero|not any|without)\b|n't\b|없", re.I)
_HEALTH = re.compile(r"\b(?:healthy|unhealthy|(?:is|are|looks?|seems?|back to|running|"
                     r"operating|working) (?:normal(?:ly)?|fine|ok(?:ay)?|well|as expected)|"
                     r"stable|no (?:issues?|problems?)|all good|all is well|degraded|"
                     r"outage)\b|정상|문제\s*없|안정", re.I)
_STATE = re.compile(r"\b(?:firing|resolved|fired|active)\b|발생 중|해결", re.I)
_UP = re.compile(r"\b(?:increas\w*|rose|risen|rising|grew|grown|growing|went up|higher|"
                 r"spik\w*|climb\w*)\b|증가|상승|늘", re.I)
_DOWN = re.compile(r"\b(?:decreas\w*|fell|fallen|falling|dropped|dropping|went down|"
                   r"lower|declin\w*|shrank)\b|감소|하락|줄", re.I)


def unsupported_claims(sentence: str, reference: str, facts: Sequence[Fact]) -> list[str]:
    """Number-free claims in `sentence` that the facts do not support.

    `reference` is what the code wrote for the same facts (the template answer): a claim of
    absence, health or alert state stands only when the reference makes the same kind of
    claim; a direction of change only when a computed change has that sign.
    """
    bad = []
    for rx in (_ABSENCE, _HEALTH, _STATE):
        m = rx.search(sentence)
        if m and not rx.search(reference):
            bad.append(m[0])
    changes = [f.value for f in facts if f.name in ("change_vs_previous", "bucket_change")
               and isinstance(f.value, int | float)]
    for rx, sign in ((_UP, 1), (_DOWN, -1)):
        m = rx.search(sentence)
        if m and not any(v * sign > 0 for v in changes) and not rx.search(reference):
            bad.append(m[0])
    return bad


def enforce(text: str, facts: Sequence[Fact], time_range: TimeRange, fallback: str,
            extra_allowed: Iterable[str] = ()) -> tuple[str, GroundingReport]:
    """`text` with each ungrounded sentence replaced by its template sentence (or dropped).

    A sentence is ungrounded when a number in it traces to nothing or when it makes a claim
    the facts do not support (`unsupported_claims`). `fallback` is the template text for
    the same facts (e.g. `ComposedAnswer.facts_text`); it is returned whole when no grounded
    sentence of `text` is left, and any of its sentences whose numbers the result lost is
    added back, so no fact the template states is dropped.
    """
    allowed = _context(facts, time_range, extra_allowed)
    sentences = [
        replace(s, bad=(*s.bad, *unsupported_claims(s.text, fallback, facts)))
        for s in _scan(text, allowed)]
    violations = [Violation(s.text, n) for s in sentences for n in s.bad]
    report = GroundingReport(grounded=not violations, violations=violations,
                             numbers_checked=sum(s.numbers for s in sentences))
    if not violations:
        return text, report
    templates = [s.text for s in _scan(fallback, allowed)]
    kept = 0
    used: set[str] = {s.text for s in sentences if not s.bad}
    parts: list[str] = []
    for s in sentences:
        if not s.bad:
            parts.append(s.text + s.sep)
            kept += any(c.isalnum() for c in s.text)
            continue
        replacement = _replacement(s.text, templates, facts, used)
        if replacement is not None:
            used.add(replacement)
            parts.append(replacement + (s.sep or " "))
    report.rewritten = True
    if kept == 0:
        report.used_fallback = True
        return fallback, report
    out = "".join(parts).strip()
    said = set(extract_numbers(out))
    missing = [t for t in templates if t not in used and _values(t) and not _values(t) & said]
    return " ".join([out, *missing]).strip(), report


def _values(sentence: str) -> set[str]:
    """The numbers of a sentence that are values: not clock times (when it happened) nor
    names that hold digits ("web-03")."""
    return {n for n in extract_numbers(sentence)
            if n[:1].isdigit() and not re.fullmatch(r"\d{1,2}:\d{2}", n)}


def _replacement(bad: str, templates: Sequence[str], facts: Sequence[Fact],
                 used: set[str]) -> str | None:
    """The template sentence about the same facts and labels as `bad`, if any."""
    names = fact_names_in(bad)
    low = bad.lower()
    labels = {v.lower() for f in facts for v in f.labels.values() if v and v.lower() in low}
    best, best_score = None, 0
    for tpl in templates:
        if tpl in used:
            continue
        tpl_low = tpl.lower()
        tpl_names = fact_names_in(tpl) | {
            f.name for f in facts if not isinstance(f.value, str) and _contains(tpl, f.display)}
        score = 3 * len(names & tpl_names) + 2 * sum(1 for v in labels if v in tpl_low)
        if score > best_score:
            best, best_score = tpl, score
    return best


def _contains(text: str, display: str) -> bool:
    return bool(display) and re.search(
        r"(?<![\d.,])" + re.escape(display) + r"(?!\d)", text) is not None


__all__ = ["GroundingReport", "Violation", "check", "enforce", "extract_numbers",
           "unsupported_claims"]
