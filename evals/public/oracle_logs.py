"""Expected answers for the LogHub cases, computed with the standard library alone.

Each system's `<System>_2k.log_structured.csv` (the LogHub authors' parse) is read row by
row; its rows line up one to one with the raw `.log` lines, which the loader checks. A
case's `oracle:` mapping names an `op` and its parameters.

Line filters (every op; all optional, all must hold):

* `match` / `exclude`: regex (case-insensitive) searched in `field` (default `content`,
  the message; `line` is the whole raw line; also `component`, `host`, `level`, `pid`,
  `template`);
* `level`, `component`, `host`: one value or a list, exact and case-insensitive;
* `date`: the line's day as written ("2005-06-03", or "07-04" on logs with no year);
* `start` / `end`: a clock window, half-open [start, end), in the line's own time format.

Ops:

* `count`: matching lines (none when 0);
* `count_by_level`: one count per entry of `levels`; on a log with no level field,
  `level_from: {name: regex over the raw line}` defines what a level is;
* `top_value`: the most frequent value (the regex `extract`'s group 1 over `field`, or the
  whole `field`), with the other values as alternatives; `with_count` adds its count;
* `first` / `last`: the earliest / latest matching line's time, and with `extract` or
  `value_field` the value it carries;
* `busiest`: the `unit` (minute, hour, day) bucket with the most matching lines, as its
  start time; `with_count` adds the count;
* `distinct_list` / `distinct_count`: the distinct values (as `top_value` extracts them);
* `top_message`: the most frequent message template; the phrase is the case's `phrase`
  (checked to belong to that template and no other) or the template's longest literal
  stretch; `with_count` adds its count;
* `show_lines`: the number of matching lines, and the message of the first one
  (chronologically, or the newest with `pick: last`) as a phrase.

Values (`top_value`, `first`/`last`, `distinct_*`) come from `value_field` (default: `field`),
through `extract` when given. Times are the line's own written time, to the minute: HPC's
epoch is read as UTC; on logs with no year (Android, Mac, Proxifier), first/last/show_lines
raise when time order and file order disagree. Any op finding nothing answers "none".

A top value, busiest bucket or top message that ties raises: the question would have no
single right answer. So does a case whose `none:` disagrees with the data.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

_MONTHS = {m: i + 1 for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}
_MAX_ALTERNATIVES = 50
# systems whose lines carry no year: times are "MM-DD HH:MM"
NO_YEAR = ("Android", "Mac", "Proxifier")


@dataclass(frozen=True)
class Line:
    n: int  # 1-based line number in the .log
    raw: str
    key: str  # sortable full-precision time: "YYYY-MM-DD HH:MM:SS[.f]" or "MM-DD HH:MM:SS[.f]"
    fields: dict[str, str]  # content, component, template, and level / host / pid if any

    @property
    def minute(self) -> str:
        return self.key[:16] if self.key[4] == "-" else self.key[:11]

    @property
    def day(self) -> str:
        return self.minute[:-6]


def _key(system: str, r: dict[str, str]) -> str:
    """The line's own written time, sortable, to its full precision."""
    match system:
        case "Android" | "Windows" | "OpenStack":
            return f"{r['Date']} {r['Time']}"
        case "BGL":  # "2005-06-03-15.42.50.675872": the written time, not the epoch
            day, t = r["Time"][:10], r["Time"][11:]
            return f"{day} {t[:2]}:{t[3:5]}:{t[6:]}"
        case "HPC":  # only an epoch: read as UTC
            return datetime.fromtimestamp(int(r["Time"]), UTC).strftime("%Y-%m-%d %H:%M:%S")
        case "HealthApp":  # "20171224-1:2:35:789": fields are not zero-padded
            ymd, clock = r["Time"].split("-")
            h, mi, sec, ms = (int(p) for p in clock.split(":"))
            return f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]} {h:02d}:{mi:02d}:{sec:02d}.{ms:03d}"
        case "Mac":  # "Jul  1 09:00:55"
            return f"{_MONTHS[r['Month']]:02d}-{int(r['Date']):02d} {r['Time']}"
        case "Proxifier":  # "10.30 16:49:06"
            md, clock = r["Time"].split(" ")
            return f"{md.replace('.', '-')} {clock}"
        case "Spark":  # "17/06/09 20:10:40"
            y, mo, d = r["Date"].split("/")
            return f"20{y}-{mo}-{d} {r['Time']}"
        case "Thunderbird":  # "Nov 9 12:01:01" has no year; the line's "2005.11.09" does
            return f"{r['Date'].replace('.', '-')} {r['Time']}"
    raise ValueError(f"unknown LogHub system {system!r}")


_COLUMNS = {  # our field name -> the structured CSV's column, where the system has it
    "level": ("Level",),
    "component": ("Component", "Program"),
    "host": ("Node", "User"),  # BGL/HPC Node; Mac/Thunderbird "User" is the host name
    "pid": ("Pid", "PID"),
}


@cache
def load(root: Path, system: str) -> tuple[Line, ...]:
    base = root / "loghub" / system / f"{system}_2k.log"
    raw = base.read_text(encoding="utf-8", errors="replace").split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    with open(f"{base}_structured.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(raw):
        raise ValueError(f"{system}: {len(raw)} log lines but {len(rows)} parsed rows")
    lines = []
    for i, (text, r) in enumerate(zip(raw, rows, strict=True), 1):
        if r["Content"].strip() not in text:
            raise ValueError(f"{system} line {i}: parsed content not in the raw line")
        fields = {"content": r["Content"], "template": r["EventTemplate"], "line": text}
        for name, cols in _COLUMNS.items():
            for col in cols:
                if col in r:
                    fields[name] = r[col]
        lines.append(Line(i, text, _key(system, r), fields))
    return tuple(lines)


def _one_of(want: Any) -> set[str]:
    return {str(w).lower() for w in (want if isinstance(want, list) else [want])}


def _field(line: Line, name: str) -> str:
    if name not in line.fields:
        raise ValueError(f"this log has no {name!r} field")
    return line.fields[name]


def _keep(ln: Line, o: dict[str, Any]) -> bool:
    field = o.get("field", "content")
    if "match" in o and not re.search(o["match"], _field(ln, field), re.IGNORECASE):
        return False
    if "exclude" in o and re.search(o["exclude"], _field(ln, field), re.IGNORECASE):
        return False
    for name in ("level", "component", "host"):
        if name in o and _field(ln, name).lower() not in _one_of(o[name]):
            return False
    if "date" in o and ln.day != str(o["date"]):
        return False
    if "start" in o and ln.key < str(o["start"]):
        return False
    return not ("end" in o and ln.key >= str(o["end"]))


def select(lines: tuple[Line, ...], o: dict[str, Any]) -> list[Line]:
    """The lines that pass every filter in the oracle mapping `o`."""
    return [ln for ln in lines if _keep(ln, o)]


def _value(line: Line, o: dict[str, Any]) -> str | None:
    """The value `o` asks about in this line: `extract`'s group 1 over `field`, or `field`."""
    text = _field(line, o.get("value_field", o.get("field", "content")))
    if "extract" not in o:
        return text
    m = re.search(o["extract"], text, re.IGNORECASE)
    return m.group(1) if m else None


def _values(lines: list[Line], o: dict[str, Any]) -> Counter[str]:
    return Counter(v for v in (_value(ln, o) for ln in lines) if v is not None)


def _unique_top(counts: Counter[str], what: str) -> tuple[str, int]:
    ranked = counts.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        raise ValueError(f"top {what} ties: {ranked[:3]}")
    return ranked[0]


def number(n: int) -> dict[str, Any]:
    return {"type": "number", "value": n, "abs_tol": 0, "rel_tol": 0.0}


def time(t: str) -> dict[str, Any]:
    return {"type": "time", "value": t}


def _mentioned(name: str, text: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, re.IGNORECASE) is not None


def name(value: str, *ranked: Counter[str], exclude: set[str] | None = None) -> dict[str, Any]:
    """A name; its alternatives are the other values in `ranked` (first counter first).

    An alternative that reads as part of an expected name ("chrome.exe" in "chrome.exe *64")
    is left out: naming the expected one would seem to name it too.
    """
    expected = {value} | (exclude or set())
    skip = {e.lower() for e in expected}
    alts: list[str] = []
    for counts in ranked:
        for v, _ in counts.most_common():
            if v.lower() not in skip and not any(_mentioned(v, e) for e in expected):
                skip.add(v.lower())
                alts.append(v)
    return {"type": "name", "value": value, "alternatives": alts[:_MAX_ALTERNATIVES]}


def _bucket(line: Line, unit: str) -> str:
    match unit:
        case "minute":
            return line.minute
        case "hour":
            return line.minute[:-2] + "00"
        case "day":
            return line.day + " 00:00"
    raise ValueError(f"unknown unit {unit!r}")


def _phrase(template: str, others: list[str], given: str | None) -> str:
    if given is None:
        parts = [p.strip(" ,.:;=[]()") for p in template.split("<*>")]
        return max(parts, key=len)
    if given.lower() not in template.lower():
        raise ValueError(f"phrase {given!r} is not in the top template {template!r}")
    clash = [t for t in others if given.lower() in t.lower()]
    if clash:
        raise ValueError(f"phrase {given!r} also names {clash[0]!r}")
    return given


def _clip(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def _pick(hits: list[Line], system: str, last: bool) -> Line:
    """The earliest (or latest) line by its written time, file order breaking ties."""
    ordered = sorted(hits, key=lambda ln: (ln.key, ln.n))
    line = ordered[-1] if last else ordered[0]
    if system in NO_YEAR and line is not (hits[-1] if last else hits[0]):
        raise ValueError("no year in the lines, and time order and file order disagree")
    return line


def _answer(o: dict[str, Any], system: str, lines: tuple[Line, ...]) -> dict[str, Any]:
    op = o["op"]
    hits = select(lines, o)
    if op == "count_by_level":
        values = []
        for lv in o["levels"]:
            if "level_from" in o:
                rx = re.compile(o["level_from"][lv], re.IGNORECASE)
                values.append(sum(1 for ln in hits if rx.search(ln.raw)))
            else:
                values.append(sum(1 for ln in hits if _field(ln, "level").lower()
                                  == str(lv).lower()))
        if not any(values):
            return {"none": True, "values": []}
        return {"none": False, "values": [number(v) for v in values]}
    if op == "count":
        return {"none": not hits, "values": [number(len(hits))] if hits else []}
    counts = _values(hits, o)
    # the same kind of value in the whole log: a column's values, or what `extract` finds in
    # the lines that `match` (the other filters aside)
    kind: dict[str, Any] = {}
    if "extract" in o:
        kind = {k: o[k] for k in ("match", "exclude", "field") if k in o}
    universe = _values(select(lines, kind), o)
    if not hits or (op not in ("busiest", "top_message", "show_lines") and not counts):
        return {"none": True, "values": []}
    match op:
        case "top_value":
            top, n = _unique_top(counts, "value")
            out = [name(top, counts, universe)]
            return {"none": False, "values": out + ([number(n)] if o.get("with_count") else [])}
        case "first" | "last":
            line = _pick(hits, system, op == "last")
            same = {_value(ln, o) for ln in hits if ln.key == line.key}
            out = [time(line.minute)]
            if "extract" in o or "value_field" in o:
                if len(same) > 1:
                    raise ValueError(f"{op} line's time is shared by values {same}")
                v = _value(line, o)
                if v is None:
                    raise ValueError(f"the {op} line carries no value")
                out.append(name(v, counts, universe))
            return {"none": False, "values": out}
        case "busiest":
            buckets = Counter(_bucket(ln, o["unit"]) for ln in hits)
            top, n = _unique_top(buckets, o["unit"])
            return {"none": False,
                    "values": [time(top)] + ([number(n)] if o.get("with_count") else [])}
        case "distinct_list":
            if len(counts) > o.get("max", 10):
                raise ValueError(f"{len(counts)} distinct values: too many to list")
            members = set(counts)
            listed = sorted(counts, key=lambda v: (-counts[v], v))
            return {"none": False, "values": [name(v, universe, exclude=members) for v in listed]}
        case "distinct_count":
            return {"none": False, "values": [number(len(counts))]}
        case "top_message":
            templates = Counter(ln.fields["template"] for ln in hits)
            top, n = _unique_top(templates, "message")
            others = [t for t in templates if t != top]
            phrase = _phrase(top, others, o.get("phrase"))
            return {"none": False, "values": [number(n)] if o.get("with_count") else [],
                    "phrases": [phrase]}
        case "show_lines":
            line = _pick(hits, system, o.get("pick") == "last")
            return {"none": False, "values": [number(len(hits))],
                    "phrases": [_clip(line.fields["content"])]}
    raise ValueError(f"unknown op {op!r}")


def compute(case: dict[str, Any], root: Path) -> dict[str, Any]:
    """The expected answer to one LogHub case: {"none", "values", "phrases"}."""
    system = case["system"]
    try:
        out = _answer(case["oracle"], system, load(root, system))
    except (ValueError, KeyError, re.error) as e:
        raise ValueError(f"case {case['id']}: {e}") from e
    out.setdefault("phrases", [])
    if out["none"] != bool(case.get("none", False)):
        raise ValueError(f"case {case['id']}: none is {case.get('none')} but the data says "
                         f"{out['none']} ({out['values']})")
    return out
