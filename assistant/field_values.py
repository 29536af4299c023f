"""A field's value named in the question: "requests that returned 404", "status code 403",
"connections on port 22", "pid 4242". The lines are those whose message says that field
with that value, read by the field's own pattern (`assistant.ir.EXTRACT_PATTERNS`), so
"403 bytes sent" is not a 403 status and "len: 404" is not a 404 response.

The words for a field are general operations vocabulary (HTTP status, port, pid), never a
log system's own; the value comes from the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.ir import EXTRACT_PATTERNS

_STATUS_BEFORE = (r"(?:status(?:[ _]?code)?|response(?:[ _]?code)?|http|code|returned|"
                  r"returning|responded(?:\s+with)?|answered(?:\s+with)?|failed\s+with|"
                  r"응답(?:\s*코드)?|상태\s*코드|코드)")
_STATUS_AFTER = r"(?:status|responses?|errors?|codes?|응답|에러|오류|상태|코드)"
NAMED: list[tuple[str, re.Pattern[str]]] = [
    ("status_code", re.compile(
        rf"(?<![\w-]){_STATUS_BEFORE}\s*(?:of\s+|was\s+|is\s+|=\s*|:\s*|an?\s+)?"
        rf"([1-5]\d\d)(?![\w.:/-])"
        rf"|(?<![\w.:/-])([1-5]\d\d)\s*(?:s\b\s*)?(?:을|를|로|으로|이|가)?\s*{_STATUS_AFTER}",
        re.IGNORECASE)),
    ("port", re.compile(r"(?<![\w-])port\s*(?:=\s*|:\s*|number\s+)?(\d{1,5})(?![\w.:/-])"
                        r"|(?<![\w.:/-])(\d{1,5})\s*번?\s*포트|포트\s*(\d{1,5})(?![\w.:/-])",
                        re.IGNORECASE)),
    ("pid", re.compile(r"(?<![\w-])pid\s*(?:=\s*|:\s*)?(\d+)(?![\w.:/-])", re.IGNORECASE)),
    ("http_method", re.compile(r"(?<![\w-])(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS)(?![\w-])")),
]
"""Per field kind, how a question names one of its values (group: the value)."""
HTTP_METHOD = r"(?:^|[\s\"])(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS)\s+/"
"""RE2 whose group 1 is a request line's method ("GET /v2/servers HTTP/1.1")."""


@dataclass(frozen=True)
class FieldValue:
    """One field value the question names, and the pattern of the lines that say it."""

    kind: str
    value: str
    span: tuple[int, int]

    @property
    def pattern(self) -> str:
        """The field's pattern with its value group replaced by the value itself."""
        if self.kind == "http_method":  # "POST /v2/servers HTTP/1.1": a method and a path
            return rf"\b{self.value}\s+/"
        return _with_value(EXTRACT_PATTERNS[self.kind], self.value)

    @property
    def label(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.value}"


def _with_value(pattern: str, value: str) -> str:
    """`pattern` with its first capturing group replaced by `value` (a literal)."""
    depth, start = 0, -1
    for i, ch in enumerate(pattern):
        if ch == "\\":
            continue
        if i and pattern[i - 1] == "\\":
            continue
        if ch == "(":
            if start < 0 and not pattern.startswith("(?", i):
                start, depth = i, 0
            if start >= 0:
                depth += 1
        elif ch == ")" and start >= 0:
            depth -= 1
            if depth == 0:
                rest = pattern[i + 1:]
                end = "" if rest.startswith(r"\b") else r"\b"
                return pattern[:start] + re.escape(value) + end + rest
    return pattern


def field_value(question: str, taken: Iterable[tuple[int, int]] = ()) -> FieldValue | None:
    """The first field value `question` names outside the `taken` spans (time phrases)."""
    spans = list(taken)
    found: list[FieldValue] = []
    for kind, rx in NAMED:
        for m in rx.finditer(question):
            g = next(i for i in range(1, (m.lastindex or 0) + 1) if m.group(i))
            span = m.span(g)
            if any(a <= span[0] < b for a, b in spans):
                continue
            found.append(FieldValue(kind, m.group(g), m.span()))
    return min(found, key=lambda f: f.span[0]) if found else None


__all__ = ["FieldValue", "field_value"]
