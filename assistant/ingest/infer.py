"""Layout inference: where a file's timestamp is, its format, and the fields around it.

The known layouts (`layouts.LAYOUTS`) are anchored at the start of the line. Real files put
the timestamp after a marker, an epoch or a file name, or mid-line after a node and a
component (LogHub's BGL, HPC, Thunderbird, OpenStack), in forms of their own. Inference
reads a sample of the file's lines in three steps:

1. *Where is the timestamp.* Every timestamp format (`timestamps.FORMATS`) is searched in
   the head of each line at a token boundary; a hit is keyed by (format, number of
   whitespace-separated fields before it, an opening bracket). The key found in most lines
   wins; a written time beats an epoch found about as often (BGL, Thunderbird have both).
2. *What are the columns.* The fields before the timestamp, and the tokens after it, are
   classified by their values across the sample: integers, level words (`INFO`, `Info`,
   `W`, `FATAL`), a program tag (`sshd[42]:`, `WindowManager:`), a bracketed context,
   dates and epochs, log file names, constants and other names. The header after the
   timestamp ends at a program tag, after a level (plus the component next to it), at a
   ` - ` separator, or where free text starts: a name column with no level or tag after it.
   A `|` right after the timestamp makes the line pipe-delimited instead.
3. *Which column is what.* Level: the level column. Program/component: the tag, else the
   name next to the level, else the first name after the host. Host: the first column of
   host-like names (letters with digits or dashes), else the name just before a tag. Pid:
   the tag's `[pid]`, else the first non-negative integer column after the timestamp.

The result is an ordinary `Layout` (one anchored regex with named groups), checked on the
whole sample and shortened column by column until it parses the lines the timestamp was
found in, so the file is then parsed in bulk by `TextLogParser` (Arrow regex extraction,
DuckDB strptime) like the known layouts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from assistant.ingest.layouts import TAG, Detection, Layout, detect_layout
from assistant.ingest.levels import normalise_level
from assistant.ingest.timestamps import EPOCH, FORMATS, TsFormat

HEAD_CHARS = 256
"""How far into a line the timestamp and the header columns are looked for."""
LOCATE_LINES = 500
"""Sample lines used to locate the timestamp and classify columns."""
MAX_COLUMNS = 8
SP = "[ \\t]+"
_END = "(?:[ \\t]+|$)"
_UTC = ZoneInfo("UTC")
_TAG_NAME = re.compile(r"(?:\[\d+\])?:$")

ColumnKind = Literal[
    "int", "level", "tag", "dash", "bracket", "date", "epoch", "file", "const", "name"
]


@dataclass(frozen=True)
class TsSpot:
    """Where the timestamp is: `before` whitespace-separated fields, then `opener`."""

    fmt: TsFormat
    before: int
    opener: str
    found: int
    """Sample lines it was found in."""


@dataclass
class Column:
    kind: ColumnKind
    side: Literal["before", "after"]
    index: int
    """0-based: the field number before the timestamp, or the column number after it."""
    values: list[str] = field(default_factory=list, repr=False)
    role: str | None = None
    """The regex group that captures it (host, app, pid, level, ...), or None."""

    @property
    def where(self) -> str:
        if self.side == "before":
            return f"field {self.index + 1} before the timestamp"
        return f"column {self.index + 1} after the timestamp"

    def examples(self, n: int = 3) -> list[str]:
        vals = (_TAG_NAME.sub("", v) if self.kind == "tag" else v for v in self.values if v)
        return [v for v, _ in Counter(vals).most_common(n)]


@dataclass
class Inference:
    """An inferred layout and how it was found."""

    layout: Layout
    spot: TsSpot
    columns: list[Column]
    pipe: bool
    matched: int
    sampled: int

    def describe(self) -> dict[str, Any]:
        """What goes where, in words (for `opsa ingest --explain`)."""
        roles = {c.role: c for c in self.columns if c.role}
        out: dict[str, Any] = {
            "timestamp": {
                "format": self.spot.fmt.name,
                "example": self.spot.fmt.example or None,
                "position": _ts_position(self.spot),
                "year": _year_source(self.layout, roles),
            }
        }
        for role, label in (("host", "host"), ("app", "service"), ("pid", "pid")):
            col = roles.get(role)
            out[label] = _column_words(col) if col else None
        if out["pid"] is None and "pid" in self.layout.groups and "app" in roles:
            out["pid"] = "the [pid] of the program tag"
        lv = roles.get("level")
        out["level"] = (
            _column_words(lv) if lv else "no level column: level words searched in the text"
        )
        out["other"] = [
            {"field": c.role, "at": c.where, "examples": c.examples()}
            for c in self.columns
            if c.role and c.role not in ("host", "app", "pid", "level", "line_date")
        ]
        out["delimiter"] = "|" if self.pipe else "spaces"
        return out


def _ts_position(spot: TsSpot) -> str:
    where = "at the start of the line" if spot.before == 0 else f"after {spot.before} fields"
    return where + (f", inside {spot.opener}...{_CLOSER[spot.opener]}" if spot.opener else "")


def _year_source(layout: Layout, roles: dict[str, Column]) -> str | None:
    if not layout.ts.yearless:
        return None
    col = roles.get("line_date")
    if col is not None:
        return f"from the line's own {col.kind} ({col.where})"
    return "not written: --year, else the file's modification time (reported)"


def _column_words(col: Column) -> str:
    shown = ", ".join(col.examples())
    what = {"tag": "program tag", "dash": "program before ' - '"}.get(col.kind, col.kind)
    return f"{col.where} ({what}; e.g. {shown})"


_CLOSER = {"[": "]", "(": ")", "": ""}


# -- step 1: the timestamp -------------------------------------------------------------
def _searchers() -> list[tuple[TsFormat, re.Pattern[str]]]:
    return [
        (fmt, re.compile(r"(?:(?<=[\s\[(|])|^)(?:" + fmt.regex + r")(?!\w)")) for fmt in FORMATS
    ]


_SEARCH = _searchers()


def _hits(line: str) -> set[tuple[str, int, str]]:
    """(format, fields before, opener) of every timestamp in the head of `line`."""
    head = line[:HEAD_CHARS]
    out: set[tuple[str, int, str]] = set()
    for fmt, rx in _SEARCH:
        for m in rx.finditer(head):
            pre = head[: m.start()]
            opener = pre[-1] if pre and pre[-1] in "[(" else ""
            if opener:
                pre = pre[:-1]
            if pre and not pre[-1].isspace():
                continue
            if fmt.parse(m.group(0), _UTC, 2000) is None:
                continue
            out.add((fmt.name, len(pre.split()), opener))
            break
    return out


def locate_timestamp(lines: Sequence[str]) -> TsSpot | None:
    """The most common timestamp position and format in `lines` (a written time beats an
    epoch found in at least 80% as many lines; then fewer fields before it wins)."""
    counts: Counter[tuple[str, int, str]] = Counter()
    for line in lines:
        counts.update(_hits(line))
    if not counts:
        return None
    top = max(counts.values())
    order = {f.name: i for i, f in enumerate(FORMATS)}
    key = min(
        (k for k, n in counts.items() if n >= 0.8 * top),
        key=lambda k: (k[0] == EPOCH.name, k[1], order[k[0]], -counts[k]),
    )
    fmt = next(f for f in FORMATS if f.name == key[0])
    return TsSpot(fmt, key[1], key[2], counts[key])


# -- step 2: the columns ---------------------------------------------------------------
_INT = re.compile(r"-?\d+")
_EPOCH = re.compile(EPOCH.regex)
_TAGGISH = re.compile(r"[^\s:\[\]]+(?:\[\d+\])?:|[^\s:\[\]]+\[\d+\]")
_BRACKET = re.compile(r"\[[^\]]*\]")
_DATE = re.compile(r"\d{4}[./-]\d{2}[./-]\d{2}")
_FILE = re.compile(r".*\.(?:log|txt|out|err)(?:[._-].*)?")
_HOSTY = re.compile(r"(?=.*[A-Za-z])(?=.*[\d-])[\w.:@#/-]+")
_TOKEN = re.compile(r"\[[^\]]*\]|\S+")
_DASH = re.compile(r"\S+(?: \S+){0,2}? - ")


def _share(values: list[str], rx: re.Pattern[str]) -> float:
    return sum(1 for v in values if rx.fullmatch(v)) / len(values) if values else 0.0


def classify(values: list[str]) -> ColumnKind:
    """The kind of a column from its values across the sample."""
    present = [v for v in values if v]
    if not present:
        return "const"
    if _share(present, _EPOCH) >= 0.95:
        return "epoch"
    if _share(present, _INT) >= 0.95:
        return "int"
    levels = sum(1 for v in present if normalise_level(v) and not v.isdigit())
    if levels >= 0.95 * len(present) and len(set(present)) <= 12:
        return "level"
    if _share(present, _TAGGISH) >= 0.6:
        return "tag"
    for kind, rx in (("bracket", _BRACKET), ("date", _DATE), ("file", _FILE)):
        if _share(present, rx) >= 0.95:
            return kind  # type: ignore[return-value]
    if len(set(present)) == 1 and not any(ch.isalnum() for ch in present[0]):
        return "const"  # a marker or separator such as `-`
    return "name"


def _host_like(col: Column) -> bool:
    named = [v for v in col.values if v and v != "-"]
    return col.kind == "name" and _share(named, _HOSTY) >= 0.5


def _spot_regex(spot: TsSpot) -> re.Pattern[str]:
    fields = r"(\S+)\s+" * spot.before
    return re.compile("^" + fields + re.escape(spot.opener) + "(?:" + spot.fmt.regex + r")(?!\w)")


@dataclass
class _Split:
    before: list[list[str]]
    rests: list[str]


def _split(lines: Sequence[str], spot: TsSpot) -> _Split:
    rx = _spot_regex(spot)
    closer = _CLOSER[spot.opener]
    out = _Split([], [])
    for line in lines:
        m = rx.match(line)
        if m is None:
            continue
        rest = line[m.end() :]
        if closer:
            if not rest.startswith(closer):
                continue
            rest = rest[1:]
        out.before.append(list(m.groups()))
        out.rests.append(rest)
    return out


def _lead(rests: list[str]) -> str:
    """The punctuation right after the timestamp (`|`, `,`, `-`...), or ''."""
    firsts = Counter(r.lstrip(" \t")[:2] for r in rests)
    for punct in "|,;:-":
        n = sum(c for k, c in firsts.items() if k[:1] == punct and (punct == "|" or k[1:] != ":"))
        if n >= 0.9 * len(rests):
            return punct
    return ""


def _after_lead(rest: str, punct: str) -> str:
    rest = rest.lstrip(" \t")
    if punct and rest.startswith(punct):
        rest = rest[1:]
    return rest.lstrip(" \t") if punct != "|" else rest


def _post_columns(rests: list[str], pipe: bool) -> list[Column]:
    if pipe:
        parts = [r.split("|") for r in rests]
        n = min((len(p) - 1 for p in parts), default=0)
        rows = [p[:n] for p in parts]
    else:
        n = MAX_COLUMNS
        rows = [_TOKEN.findall(r[:HEAD_CHARS])[:n] for r in rests]
    columns = []
    for i in range(min(n, MAX_COLUMNS)):
        vals = [r[i] if i < len(r) else "" for r in rows]
        columns.append(Column(classify(vals), "after", i, vals))
    return columns


def _header(cols: list[Column], pipe: bool) -> list[Column]:
    """The columns after the timestamp that belong to the header (the rest is the message)."""
    if pipe:
        return cols
    out: list[Column] = []
    for i, col in enumerate(cols):
        if col.kind == "tag":
            return [*out, col]
        if col.kind == "level":
            return out + _after_level(cols[i:], named=any(c.kind == "name" for c in out))
        if col.kind == "name" and not any(c.kind in ("level", "tag") for c in cols[i + 1 : i + 4]):
            return out
        out.append(col)
    return out


def _after_level(cols: list[Column], named: bool) -> list[Column]:
    """The level column and what may follow it: a bracketed thread/context, then a program
    tag or (when no name came before the level) one component name, then a context, then a
    separator such as `-`."""
    out, rest = [cols[0]], cols[1:]
    if rest and rest[0].kind == "bracket":
        out.append(rest.pop(0))
    if rest and (rest[0].kind == "tag" or (not named and _component_like(rest[0]))):
        out.append(rest.pop(0))
        if out[-1].kind == "name" and rest and rest[0].kind == "bracket":
            out.append(rest.pop(0))
    if rest and rest[0].kind == "const":
        out.append(rest.pop(0))
    return out


_IDENT = re.compile(r"[A-Z0-9_]{2,}|\S*[._$/]\S*[A-Za-z]\S*|[a-z]+[A-Z]\S*|[A-Z]\w*[A-Z]\w*")
"""A component name rather than a word of text: `CBS`, `nova.compute.manager`, `fooBar`."""


def _component_like(col: Column) -> bool:
    """A name column after the level that names a component (not the message's first word):
    identifier-like values (upper case, dotted, camelCase), few of them."""
    present = [v for v in col.values if v]
    return col.kind == "name" and _share(present, _IDENT) >= 0.9 and len(set(present)) <= 50


def _dash_column(rests: list[str], header: list[Column], pipe: bool) -> Column | None:
    """A program before ` - ` right after the header (Proxifier), when most lines have it."""
    if pipe or any(c.kind in ("tag", "level") for c in header):
        return None
    n = len(header)
    tails = [" ".join(_TOKEN.findall(r[:HEAD_CHARS])[n:]) for r in rests]
    found = [m.group(0)[:-3] for t in tails if (m := _DASH.match(t))]
    if len(found) < 0.95 * max(len(tails), 1):
        return None
    return Column("dash", "after", n, found)


# -- step 3: roles ---------------------------------------------------------------------
def assign_roles(before: list[Column], after: list[Column], yearless: bool) -> None:
    """Set each column's `role` (the group capturing it) in place."""
    cols = before + after
    for c in cols:
        c.role = None
    level = next((c for c in after if c.kind == "level"), None)
    if level is not None:
        level.role = "level"
    tag = next((c for c in after if c.kind in ("tag", "dash")), None)
    if tag is not None:
        tag.role = "app"
    host = next((c for c in cols if _host_like(c) and c is not tag), None)
    if host is None and tag is not None and tag.kind == "tag":
        i = cols.index(tag)
        if i > 0 and cols[i - 1].kind == "name":
            host = cols[i - 1]
    if host is not None:
        host.role = "host"
    if tag is None:
        app = _component(cols, level, host)
        if app is not None:
            app.role = "app"
    ints = [c for c in after if c.kind == "int" and not any(v.startswith("-") for v in c.values)]
    for c, name in zip(ints, ("pid", "tid"), strict=False):
        c.role = name
    if yearless:
        year = next((c for c in cols if c.kind == "date"), None) or next(
            (c for c in cols if c.kind == "epoch"), None
        )
        if year is not None:
            year.role = "line_date"
    used = {c.role for c in cols if c.role}
    for c in cols:
        if c.role is None and c.kind in ("name", "int", "bracket", "file"):
            name = _attr_name(c)
            c.role = name if name not in used else f"{name}_{c.side[0]}{c.index + 1}"
            used.add(c.role)


def _component(cols: list[Column], level: Column | None, host: Column | None) -> Column | None:
    names = [c for c in cols if c.kind == "name" and c is not host]
    if level is not None:
        i = cols.index(level)
        near = [cols[j] for j in (i - 1, i + 1) if 0 <= j < len(cols)]
        for c in near:
            if c in names:
                return c
    if host is not None:
        later = [c for c in names if cols.index(c) > cols.index(host)]
        if later:
            return later[0]
    return names[0] if names else None


def _attr_name(col: Column) -> str:
    if col.kind == "bracket":
        return "context"
    if col.kind == "file":
        return "logfile"
    side = "b" if col.side == "before" else "a"
    return f"field_{side}{col.index + 1}"


# -- the regex -------------------------------------------------------------------------
def _column_regex(col: Column, pipe: bool, pid_taken: bool = False) -> str:
    cell = "[^|]*" if pipe else r"\S+"
    if col.kind == "tag":
        tag = TAG.replace("(?P<pid>", "(?P<tag_pid>") if pid_taken else TAG
        return "(?:" + tag + _END + ")?"
    if col.kind == "dash":
        return r"(?P<app>\S+(?: \S+){0,2}?) - [ \t]*"
    if col.kind == "bracket":
        body = r"[^\]]*"
        return r"\[" + (f"(?P<{col.role}>{body})" if col.role else body) + r"\]"
    if col.kind == "int" and not pipe:
        cell = r"-?\d+"
    if col.kind == "level" and not pipe:
        cell = "[A-Za-z]+"
    return f"(?P<{col.role}>{cell})" if col.role else cell


def build_regex(spot: TsSpot, before: list[Column], after: list[Column], lead: str) -> str:
    """The anchored layout regex (with `{TS}`) for the columns found."""
    pipe = lead == "|"
    pid_taken = any(c.role == "pid" for c in before + after)
    parts = ["^"]
    for col in before:
        parts.append(_column_regex(col, False) + SP)
    parts.append(re.escape(spot.opener) + "{TS}" + re.escape(_CLOSER[spot.opener]))
    if lead:
        parts.append("[ \\t]*" + re.escape(lead) + ("" if pipe else "[ \\t]*"))
    elif after:
        parts.append(SP)
    for i, col in enumerate(after):
        last = i == len(after) - 1
        parts.append(_column_regex(col, pipe, pid_taken))
        if col.kind in ("tag", "dash"):
            continue
        parts.append(r"\|" if pipe else (_END if last else SP))
    if not after and not lead:
        parts.append(_END)
    return "".join(parts)


# -- all together ----------------------------------------------------------------------
def infer_layout(lines: Sequence[str], verify: int = 40) -> Inference | None:
    """Infer the layout of a file from its sample `lines` (blank ones ignored), or None."""
    sample = [ln for ln in lines if ln.strip()]
    if not sample:
        return None
    spot = locate_timestamp(sample[:LOCATE_LINES])
    if spot is None:
        return None
    found = _columns(sample[:LOCATE_LINES], spot)
    if found is None:
        return None
    before, after, lead = found
    target = min(spot.found * len(sample) / min(len(sample), LOCATE_LINES), len(sample))
    return _fit(spot, before, after, lead, sample, target, verify)


def _columns(lines: Sequence[str], spot: TsSpot) -> tuple[list[Column], list[Column], str] | None:
    """The header columns before and after the timestamp (roles set), and the lead."""
    split = _split(lines, spot)
    if not split.rests:
        return None
    before = [
        Column(classify(vals), "before", i, vals)
        for i in range(spot.before)
        for vals in ([b[i] for b in split.before],)
    ]
    lead = _lead(split.rests)
    pipe = lead == "|"
    rests = [_after_lead(r, lead) for r in split.rests]
    after = _header(_post_columns(rests, pipe), pipe)
    dash = _dash_column(rests, after, pipe)
    if dash is not None:
        after.append(dash)
    assign_roles(before, after, spot.fmt.yearless)
    return before, after, lead


def _fit(
    spot: TsSpot,
    before: list[Column],
    after: list[Column],
    lead: str,
    sample: list[str],
    target: float,
    verify: int,
) -> Inference | None:
    """The layout, shortened column by column from the end until it parses (95% of) the
    `target` lines: those the timestamp was found in."""
    while True:
        layout = _layout(spot, before, after, lead)
        matched = _count(layout, sample, verify)
        if matched >= 0.95 * target or not after:
            break
        after.pop()
        assign_roles(before, after, spot.fmt.yearless)
    if not matched:
        return None
    return Inference(layout, spot, before + after, lead == "|", matched, len(sample))


def _layout(spot: TsSpot, before: list[Column], after: list[Column], lead: str) -> Layout:
    cols = before + after
    roles = {c.role for c in cols if c.role}
    attrs = tuple(
        r for c in cols if (r := c.role) and r not in ("host", "app", "level", "line_date")
    )
    if any(c.kind == "tag" for c in after):
        attrs += ("tag_pid",) if "pid" in roles else ("pid",)
    return Layout(
        "inferred",
        spot.fmt,
        build_regex(spot, before, after, lead),
        level="group" if "level" in roles else "search",
        attrs=attrs,
        service_group="app" if "app" in roles else None,
        host_group="host" if "host" in roles else None,
        year_group="line_date" if "line_date" in roles else None,
    )


def _count(layout: Layout, sample: list[str], verify: int) -> int:
    """Sample lines the layout matches (timestamp parse checked on the first `verify`)."""
    matches = [m for ln in sample if (m := layout.compiled.match(ln)) is not None]
    if not matches:
        return 0
    checked = matches[:verify]
    ok = sum(1 for m in checked if layout.accepts(m))
    return round(len(matches) * ok / len(checked))


# -- known or inferred -----------------------------------------------------------------
@dataclass
class Choice:
    """The layout a file is parsed with, and how well it fit the sample."""

    layout: Layout
    matched: int
    sampled: int
    inference: Inference | None = None

    def describe(self, sample: Sequence[str]) -> dict[str, Any]:
        """The layout in words, with the exact count of `sample` lines it parses."""
        lines = [ln for ln in sample if ln.strip()]
        found = [m for ln in lines if (m := self.layout.compiled.match(ln))]
        parsed = [m for m in found if self.layout.accepts(m)]
        out: dict[str, Any] = {"layout": self.layout.name}
        out.update(self.inference.describe() if self.inference else _describe_known(self.layout))
        if parsed:
            out["timestamp"]["example"] = parsed[0]["ts"]
        out["regex"] = self.layout.regex
        n = len(parsed)
        out["sample"] = {"lines": len(lines), "parsed": n, "not_parsed": len(lines) - n}
        return out


def choose_layout(lines: Sequence[str], tz: ZoneInfo) -> Choice | None:
    """A specific known layout when it parses the whole sample; else whichever of the known
    and the inferred layouts parses the larger share of it. On a tie the known one wins,
    unless it is a generic one that misses the level column inference found."""
    det = detect_layout(lines, tz)
    if det is not None and det.matched >= det.sampled and not _generic(det.layout):
        return Choice(det.layout, det.matched, det.sampled)
    inf = infer_layout(lines)
    known = det.matched / det.sampled if det else 0.0
    share = inf.matched / inf.sampled if inf is not None else 0.0
    if inf is not None and (
        share > known or (det is not None and share >= known and _richer(inf, det, lines))
    ):
        return Choice(inf.layout, inf.matched, inf.sampled, inf)
    if det is not None:
        return Choice(det.layout, det.matched, det.sampled)
    return None


def _richer(inf: Inference, det: Detection, lines: Sequence[str]) -> bool:
    """On a tie with a generic known layout (a timestamp, then maybe a level word), the
    inferred one wins when it reads a level column that the generic one misses on most
    lines (`time - LEVEL ...`, `time pid LEVEL ...`). Otherwise the generic one stays."""
    if not _generic(det.layout) or inf.layout.level != "group":
        return False
    found = [m for ln in lines[:LOCATE_LINES] if (m := det.layout.compiled.match(ln))]
    return sum(1 for m in found if m.group("level")) < 0.5 * len(found)


def _generic(layout: Layout) -> bool:
    return layout.name.endswith("-generic")


def _describe_known(layout: Layout) -> dict[str, Any]:
    groups = layout.groups
    level = {
        "group": "the level field",
        "pri": "the syslog <PRI>, else level words in the text",
        "status": "the HTTP status",
        "search": "level words searched in the text",
    }[layout.level]
    year = None
    if layout.ts.yearless:
        year = "not written: --year, else the file's modification time (reported)"
    return {
        "timestamp": {
            "format": layout.ts.name,
            "example": layout.ts.example or None,
            "position": "at the start of the line",
            "year": year,
        },
        "host": "the host field" if layout.host_group else None,
        "service": f"the {layout.service_group} field" if layout.service_group else None,
        "pid": "the pid field" if "pid" in groups else None,
        "level": level,
        "other": [{"field": a} for a in layout.attrs if a not in ("app", "pid")],
        "delimiter": "spaces",
    }
