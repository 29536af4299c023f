"""Headline grading: does the answer's opening state the expected values?

The grader reads the answer as a person would, with no knowledge of how the product built
it: the headline is the text before the first statement of the time window, assumptions,
notes, sources or queries; numbers, times and names are found in it by pattern. It imports
nothing from the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_BOUNDARY = re.compile(
    r"^\s*(?:[-*#>]\s*)?(?:time\s*window|window|period|range|assum\w*|note\w*|sources?|"
    r"quer(?:y|ies)(?:\s+run)?|based on|caveat|조회\s*기간|기간|가정|참고|출처|실행한\s*쿼리|쿼리)"
    r"\s*[:：]",
    re.IGNORECASE,
)
_HEADLINE_CHARS = 600
_W = "A-Za-z0-9_"  # ASCII word characters: Korean particles attach to numbers and names
_NUMBER = re.compile(rf"(?<![{_W}.:/-])[-+]?\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?(?![{_W}:/-])"
                     rf"|(?<![{_W}.:/-])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![{_W}:/-])")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_YMD_HM = re.compile(
    r"(?P<y>\d{4})[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})(?:[T\s,]+|\s*at\s*)"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})")
_MD_HM = re.compile(
    r"(?<![\d-])(?P<mo>\d{1,2})[-/](?P<d>\d{1,2})[T\s,]+(?P<h>\d{1,2}):(?P<mi>\d{2})")
_NAMED_HM = re.compile(
    r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<d>\d{1,2})"
    r"(?:st|nd|rd|th)?,?\s*(?:(?P<y>\d{4}),?\s*)?(?:at\s*)?(?P<h>\d{1,2}):(?P<mi>\d{2})",
    re.IGNORECASE)
_KO_HM = re.compile(
    r"(?:(?P<y>\d{4})\s*년\s*)?(?P<mo>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일\s*(?:(?P<ap>오전|오후)\s*)?"
    r"(?P<h>\d{1,2})(?::(?P<mi>\d{2})|\s*시(?:\s*(?P<mi2>\d{1,2})\s*분)?)")
_NAMED_DATE = re.compile(
    r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<d>\d{1,2})"
    r"(?:st|nd|rd|th)?(?:,?\s*(?P<y>\d{4}))?", re.IGNORECASE)
_KO_DATE = re.compile(r"(?:(?P<y>\d{4})\s*년\s*)?(?P<mo>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일")
_DATE = re.compile(r"(?P<y>\d{4})[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})")
_CLOCK = re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<mi>\d{2})(?::\d{2})?")
_NONE = re.compile(
    r"\b(?:no|none|not|never|nothing|zero|0)\b|n't\b|없|않|0\s*(?:건|개|번|회)", re.IGNORECASE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_QUOTED = re.compile(r"\u201c[^\u201d]*(?:\u201d|$)|`[^`]*`|\"[^\"\n]*\"")
"""Text quoted verbatim (a log message, a command): the source's language, not the answer's."""
_LETTER = re.compile(r"[A-Za-z\uac00-\ud7a3]")


@dataclass
class Grade:
    passed: bool
    headline: str
    reasons: list[str] = field(default_factory=list)


def headline(answer: str, *, quotes: bool = True) -> str:
    """The answer's opening: lines before the first window/assumption/source/query line.

    With `quotes=False`, block-quoted lines ("> ...") and code blocks are left out: what
    the answer itself says, without the text it quotes from a source.
    """
    out: list[str] = []
    fenced = False
    for line in answer.splitlines():
        if _BOUNDARY.match(line):
            break
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            if not quotes:
                continue
        if not quotes and (fenced or line.lstrip().startswith(">")):
            continue  # a quoted passage or a code block is the source's text
        if line.strip():
            out.append(line.strip())
    return " ".join(out)[:_HEADLINE_CHARS]


def numbers(text: str) -> list[float]:
    """Numbers stated in `text`, leaving out the digits of dates and clock times."""
    masked = _CLOCK.sub(" ", _DATE.sub(" ", text))
    return [float(m.group(0).replace(",", "")) for m in _NUMBER.finditer(masked)]


def times(text: str) -> list[tuple[int | None, int, int, int, int]]:
    """(year or None, month, day, hour, minute) of every date-and-time stated in `text`.

    A clock time stated apart from its date ("on 2005-06-03 ... at 15:42") is paired with
    every date in the text.
    """
    found: list[tuple[int | None, int, int, int, int]] = []
    for m in _YMD_HM.finditer(text):
        found.append((int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"])))
    for m in _MD_HM.finditer(text):
        found.append((None, int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"])))
    for m in _NAMED_HM.finditer(text):
        y = int(m["y"]) if m["y"] else None
        found.append((y, _MONTHS[m["mon"][:3].lower()], int(m["d"]), int(m["h"]), int(m["mi"])))
    for m in _KO_HM.finditer(text):
        h = int(m["h"]) + (12 if m["ap"] == "오후" and int(m["h"]) < 12 else 0)
        mi = int(m["mi"] or m["mi2"] or 0)
        y = int(m["y"]) if m["y"] else None
        found.append((y, int(m["mo"]), int(m["d"]), h, mi))
    dates = [(int(m["y"]), int(m["mo"]), int(m["d"])) for m in _DATE.finditer(text)]
    for c in _CLOCK.finditer(text):
        found.extend((y, mo, d, int(c["h"]), int(c["mi"])) for y, mo, d in dates)
    return found


def _time_ok(expected: str, text: str) -> bool:
    date, clock = expected.split(" ")
    parts = [int(p) for p in date.split("-")]
    year = parts[0] if len(parts) == 3 else None
    month, day = parts[-2], parts[-1]
    hour, minute = (int(p) for p in clock.split(":"))
    def same_day(y: int | None, mo: int, d: int) -> bool:
        return (mo, d) == (month, day) and (y is None or year is None or y == year)

    if any(same_day(y, mo, d) and (h, mi) == (hour, minute) for y, mo, d, h, mi in times(text)):
        return True
    # A whole day ("busiest day") is stated as a date alone.
    return (hour, minute) == (0, 0) and any(same_day(*d) for d in dates(text))


def dates(text: str) -> list[tuple[int | None, int, int]]:
    """(year or None, month, day) of every date stated in `text`, with or without a time."""
    found: list[tuple[int | None, int, int]] = [
        (int(m["y"]), int(m["mo"]), int(m["d"])) for m in _DATE.finditer(text)]
    found.extend((int(m["y"]) if m["y"] else None, _MONTHS[m["mon"][:3].lower()], int(m["d"]))
                 for m in _NAMED_DATE.finditer(text))
    found.extend((int(m["y"]) if m["y"] else None, int(m["mo"]), int(m["d"]))
                 for m in _KO_DATE.finditer(text))
    return found


def _mentions(name: str, text: str) -> list[int]:
    pat = re.compile(rf"(?<![{_W}]){re.escape(name)}(?![{_W}])", re.IGNORECASE)
    return [m.start() for m in pat.finditer(text)]


def _name_ok(value: dict[str, Any], text: str) -> str | None:
    """None when the headline names the value (and not a list of candidates), else why."""
    name = str(value["value"])
    others = [(alt, _mentions(str(alt), text)) for alt in value.get("alternatives", [])
              if str(alt).lower() != name.lower()]
    # A mention inside a longer alternative ("chrome.exe" in "chrome.exe *64") is that one.
    spans = [(p, p + len(str(alt))) for alt, pos in others for p in pos]
    at = [p for p in _mentions(name, text)
          if not any(a <= p and p + len(name) <= b for a, b in spans)]
    if not at:
        return f"name {value['value']!r} not in the headline"
    named = [(alt, pos) for alt, pos in others if pos]
    if len(named) > 3:
        return f"the headline lists {len(named) + 1} candidates"
    before = [alt for alt, pos in named if min(pos) < at[0]]
    if before:
        return f"the headline names {before[0]!r} before {value['value']!r}"
    return None


def _number_ok(value: dict[str, Any], got: list[float]) -> bool:
    want = float(value["value"])
    tol = max(float(value.get("abs_tol", 0)), float(value.get("rel_tol", 0)) * abs(want))
    return any(abs(g - want) <= tol + 1e-9 for g in got)


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def language_ok(language: str, text: str) -> bool:
    """Korean asked, Korean answered (Hangul among the letters); English: mostly not Hangul.

    Verbatim quotes (“…”, `…`, "…"; a “ quote cut off by the headline's length runs to its
    end) do not count: a Korean answer quoting an English log message or command is still
    a Korean answer.
    """
    letters = _LETTER.findall(_QUOTED.sub(" ", text))
    if not letters:
        return True
    share = len(_HANGUL.findall(_QUOTED.sub(" ", text))) / len(letters)
    return share >= 0.2 if language == "ko" else share < 0.5


def grade(case: dict[str, Any], expected: dict[str, Any], answer: str) -> Grade:
    """Grade one answer against the oracle's expected entry."""
    head = headline(answer)
    g = Grade(passed=True, headline=head)
    own = headline(answer, quotes=False)  # the answer's own words, not what it quotes
    if not language_ok(case.get("language", "en"), own or head or answer):
        g.reasons.append(f"answer is not in {case.get('language', 'en')}")
    if expected["none"] and not _NONE.search(head):
        g.reasons.append("the headline does not say there is none")
    got = numbers(head)
    for v in expected["values"]:
        match v["type"]:
            case "number":
                if not _number_ok(v, got):
                    g.reasons.append(f"number {v['value']} not in the headline")
            case "time":
                if not _time_ok(v["value"], head):
                    g.reasons.append(f"time {v['value']} not in the headline")
            case "name":
                why = _name_ok(v, head)
                if why:
                    g.reasons.append(why)
            case other:
                g.reasons.append(f"unknown expected value type {other!r}")
    body = _norm(answer)
    g.reasons.extend(f"phrase {p!r} not in the answer" for p in expected.get("phrases", [])
                     if _norm(p) not in body)
    g.passed = not g.reasons
    return g
