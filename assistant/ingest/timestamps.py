"""Timestamp formats found in logs: how to recognise, parse (Python) and parse in bulk (SQL).

Every format yields UTC. Naive timestamps are read in the ingest timezone; formats without
a year (RFC 3164 syslog, glog, logcat's `03-17`, `[10.30 ...]`) take a year from the caller
(`year`), who handles rollover. Most formats are described by strptime patterns (`strp`),
which Python and DuckDB read alike, so adding a format is one line.
The regexes have no capture groups and are valid for both Python `re` and RE2 (Arrow,
DuckDB), so line layouts can embed them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class TsFormat:
    """One timestamp family."""

    name: str
    regex: str
    """The timestamp text (no groups); Python- and RE2-compatible."""
    yearless: bool = False
    strp: tuple[str, ...] = ()
    """strptime patterns tried in order (Python and DuckDB alike); year-less ones get the
    year prepended as ``%Y ``. Empty for the formats with their own parsers below."""
    month: Literal["name", "digits"] | None = None
    """Year-less formats: the month leads the text, as a name (`Nov`) or two digits."""
    example: str = ""

    def sql(self, col: str, tz: str, year: str = "NULL", offsets: str = "mixed") -> str:
        """SQL turning the text in `col` into a naive UTC TIMESTAMP (NULL when unparseable).

        `year` is a SQL expression for year-less formats (e.g. a column); `offsets` says
        whether ISO timestamps carry a UTC offset: "all", "none" or "mixed" (the first two
        are cheaper; see `offset_mode`).
        """
        if self is ISO8601:
            return _sql_iso(col, tz, offsets)
        if self.strp:
            return _sql_strp(self, col, tz, year)
        return _SQL[self.name](col, tz, year)

    def parse(self, text: str, tz: ZoneInfo, year: int | None = None) -> datetime | None:
        """Parse one timestamp (aware UTC), or None when `text` is not this format."""
        if not re.fullmatch(self.regex, text):
            return None
        y = year if year is not None else datetime.now(UTC).year
        try:
            dt = _py_strp(self, text, y) if self.strp else _PY[self.name](text, y)
        except (ValueError, OverflowError):
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=tz)
        return dt.astimezone(UTC)


ISO8601 = TsFormat(
    "iso8601",
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}(?::?\d{2})?)?",
    example="2017-05-16 00:00:00.008",
)
RFC3164 = TsFormat(
    "rfc3164",
    r"[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?",
    True,
    month="name",
    example="Nov  9 12:01:01",
)
CLF = TsFormat("clf", r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}")
SLASHED = TsFormat("slashed", r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")
CTIME = TsFormat(
    "ctime",
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d{1,6})? \d{4}",
)
YYMMDD = TsFormat("yymmdd", r"\d{6} \d{6}", strp=("%y%m%d %H%M%S",), example="081109 203615")
GLOG = TsFormat("glog", r"\d{4} \d{2}:\d{2}:\d{2}\.\d{6}", True, month="digits")
EPOCH = TsFormat("epoch", r"1\d{9}(?:\.\d{1,9})?|1\d{12}(?:\.\d{1,6})?|1\d{15}|1\d{18}")
DASHED_DOTTED = TsFormat(
    "ymd-hms",
    r"\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}(?:\.\d{1,6})?",
    strp=("%Y-%m-%d-%H.%M.%S.%f", "%Y-%m-%d-%H.%M.%S"),
    example="2005-06-03-15.42.50.675872",
)
COMPACT = TsFormat(
    "yyyymmdd-hms",
    r"\d{8}-\d{1,2}:\d{1,2}:\d{1,2}(?:[:.]\d{1,6})?",
    strp=("%Y%m%d-%H:%M:%S:%f", "%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"),
    example="20171223-22:15:29:606",
)
YY_SLASHED = TsFormat(
    "yy/mm/dd",
    r"\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?",
    strp=("%y/%m/%d %H:%M:%S", "%y/%m/%d %H:%M:%S.%f", "%y/%m/%d %H:%M:%S,%f"),
    example="17/06/09 20:10:40",
)
YMD_DOTTED = TsFormat(
    "yyyy.mm.dd",
    r"\d{4}\.\d{2}\.\d{2}[ -]\d{2}[:.]\d{2}[:.]\d{2}(?:\.\d{1,6})?",
    strp=("%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M:%S.%f", "%Y.%m.%d-%H.%M.%S", "%Y.%m.%d-%H.%M.%S.%f"),
    example="2005.06.03 15:42:50",
)
MD_DASHED = TsFormat(
    "mm-dd",
    r"\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?",
    True,
    strp=("%m-%d %H:%M:%S.%f", "%m-%d %H:%M:%S"),
    month="digits",
    example="03-17 16:13:38.811",
)
MD_DOTTED = TsFormat(
    "mm.dd",
    r"\d{2}\.\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?",
    True,
    strp=("%m.%d %H:%M:%S", "%m.%d %H:%M:%S.%f"),
    month="digits",
    example="10.30 16:49:06",
)

FORMATS: tuple[TsFormat, ...] = (
    ISO8601,
    RFC3164,
    CLF,
    SLASHED,
    CTIME,
    YYMMDD,
    GLOG,
    DASHED_DOTTED,
    COMPACT,
    YY_SLASHED,
    YMD_DOTTED,
    MD_DASHED,
    MD_DOTTED,
    EPOCH,
)
"""Most specific first; the epoch last (a written time is preferred to it)."""
BY_NAME: dict[str, TsFormat] = {f.name: f for f in FORMATS}


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _local(expr: str, tz: str) -> str:
    """Naive local TIMESTAMP expr -> naive UTC TIMESTAMP."""
    if tz == "UTC":
        return expr
    return f"timezone('UTC', timezone({_q(tz)}, {expr}))"


def _utc(expr: str) -> str:
    """TIMESTAMPTZ expr -> naive UTC TIMESTAMP (epoch arithmetic: cheaper than timezone())."""
    return f"make_timestamp(epoch_us({expr}))"


OFFSET_RE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _sql_iso(col: str, tz: str, offsets: str) -> str:
    s = f"replace({col}, ',', '.')"
    aware = _utc(f"try_cast({s} AS TIMESTAMPTZ)")
    naive = _local(f"try_cast({s} AS TIMESTAMP)", tz)
    if offsets == "all":
        return aware
    if offsets == "none":
        return naive
    return f"(CASE WHEN regexp_matches({col}, {_q(OFFSET_RE)}) THEN {aware} ELSE {naive} END)"


def offset_mode(values: Iterable[str]) -> str:
    """Whether ISO timestamp texts carry an offset: "all", "none" or "mixed"."""
    has = {bool(re.search(OFFSET_RE, v)) for v in values}
    if has == {True}:
        return "all"
    if has == {False}:
        return "none"
    return "mixed"


def _sql_strp(fmt: TsFormat, col: str, tz: str, year: str) -> str:
    pats = fmt.strp
    text = col
    if fmt.yearless:
        pats = tuple(f"%Y {p}" for p in pats)
        text = f"CAST({year} AS VARCHAR) || ' ' || {col}"
    listed = "[" + ", ".join(_q(p) for p in pats) + "]"
    return _local(f"try_strptime({text}, {listed})", tz)


def _py_strp(fmt: TsFormat, text: str, year: int) -> datetime:
    for p in fmt.strp:
        try:
            if fmt.yearless:
                return datetime.strptime(f"{year} {text}", f"%Y {p}")
            return datetime.strptime(text, p)
        except ValueError:
            continue
    raise ValueError(text)


def _sql_rfc3164(col: str, tz: str, year: str) -> str:
    fmts = "['%Y %b %d %H:%M:%S', '%Y %b %d %H:%M:%S.%f']"
    return _local(f"try_strptime(CAST({year} AS VARCHAR) || ' ' || {col}, {fmts})", tz)


def _sql_glog(col: str, tz: str, year: str) -> str:
    return _local(
        f"try_strptime(CAST({year} AS VARCHAR) || ' ' || {col}, '%Y %m%d %H:%M:%S.%f')", tz
    )


def _sql_epoch(col: str, tz: str, year: str) -> str:
    digits = f"length(split_part({col}, '.', 1))"
    return (
        f"(CASE WHEN {digits} = 10 THEN {_utc(f'to_timestamp(try_cast({col} AS DOUBLE))')} "
        f"WHEN {digits} = 13 THEN make_timestamp(CAST(round(try_cast({col} AS DOUBLE) * 1000)"
        " AS BIGINT)) "
        f"WHEN {digits} = 16 THEN make_timestamp(try_cast({col} AS BIGINT)) "
        f"WHEN {digits} = 19 THEN make_timestamp(try_cast({col} AS BIGINT) // 1000) END)"
    )


_SQL: dict[str, Callable[[str, str, str], str]] = {
    "rfc3164": _sql_rfc3164,
    "clf": lambda c, tz, y: _utc(f"try_strptime({c}, '%d/%b/%Y:%H:%M:%S %z')"),
    "slashed": lambda c, tz, y: _local(
        f"try_strptime({c}, ['%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M:%S.%f'])", tz
    ),
    "ctime": lambda c, tz, y: _local(
        f"try_strptime({c}, ['%a %b %d %H:%M:%S %Y', '%a %b %d %H:%M:%S.%f %Y'])", tz
    ),
    "glog": _sql_glog,
    "epoch": _sql_epoch,
}


def _py_iso(text: str, year: int) -> datetime:
    text = text.replace(",", ".")
    m = re.search(r"\.(\d{7,9})", text)
    if m:  # Python keeps microseconds only
        text = text[: m.start(1)] + m.group(1)[:6] + text[m.end(1) :]
    return datetime.fromisoformat(text)


def _py_yearless(text: str, year: int) -> datetime:
    fmt = "%Y %b %d %H:%M:%S.%f" if "." in text else "%Y %b %d %H:%M:%S"
    return datetime.strptime(f"{year} {' '.join(text.split())}", fmt)


def _py_epoch(text: str, year: int) -> datetime:
    digits = len(text.split(".")[0])
    if digits == 10:
        return datetime.fromtimestamp(float(text), UTC)
    if digits == 13:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=float(text))
    scale = 1 if digits == 16 else 1000
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(text) // scale)


def _fmt(*formats: str) -> Callable[[str, int], datetime]:
    def parse(text: str, year: int) -> datetime:
        for f in formats:
            try:
                return datetime.strptime(" ".join(text.split()) if "%a" in f else text, f)
            except ValueError:
                continue
        raise ValueError(text)

    return parse


_PY: dict[str, Callable[[str, int], datetime]] = {
    "iso8601": _py_iso,
    "rfc3164": _py_yearless,
    "clf": _fmt("%d/%b/%Y:%H:%M:%S %z"),
    "slashed": _fmt("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f"),
    "ctime": _fmt("%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S.%f %Y"),
    "glog": lambda text, year: datetime.strptime(f"{year} {text}", "%Y %m%d %H:%M:%S.%f"),
    "epoch": _py_epoch,
}


def detect(values: Iterable[str]) -> TsFormat | None:
    """The format that parses most of `values` (timestamp strings), or None."""
    vals = [v.strip() for v in values if v and v.strip()]
    best: tuple[int, TsFormat] | None = None
    utc = ZoneInfo("UTC")
    for fmt in FORMATS:
        n = sum(1 for v in vals if fmt.parse(v, utc, 2000) is not None)
        if n and (best is None or n > best[0]):
            best = (n, fmt)
    return best[1] if best else None


def parse_any(value: object, tz: ZoneInfo, year: int | None = None) -> datetime | None:
    """Parse a timestamp of any known format: a string, epoch number or datetime (aware UTC)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return epoch_number(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in FORMATS:
        dt = fmt.parse(text, tz, year)
        if dt is not None:
            return dt
    return None


def epoch_number(x: float) -> datetime | None:
    """An epoch number in s, ms, us or ns (by magnitude) as aware UTC."""
    ax = abs(x)
    if ax >= 1e17:
        x /= 1e9
    elif ax >= 1e14:
        x /= 1e6
    elif ax >= 1e11:
        x /= 1e3
    try:
        return datetime.fromtimestamp(x, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def epoch_number_sql(col: str) -> str:
    """SQL for an epoch number column (s/ms/us/ns by magnitude) -> naive UTC TIMESTAMP."""
    x = f"CAST({col} AS DOUBLE)"
    return (
        f"(CASE WHEN abs({x}) >= 1e17 THEN make_timestamp(CAST({x} / 1000 AS BIGINT)) "
        f"WHEN abs({x}) >= 1e14 THEN make_timestamp(CAST({x} AS BIGINT)) "
        f"WHEN abs({x}) >= 1e11 THEN make_timestamp(CAST({x} * 1000 AS BIGINT)) "
        f"ELSE make_timestamp(CAST({x} * 1000000 AS BIGINT)) END)"
    )
