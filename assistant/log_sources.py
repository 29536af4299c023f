"""Which component (program, logger, module: the logs' service column) a question is about,
when it names one by its words rather than its exact name: "what does the compute manager
log most often" -> ``nova.compute.manager``, "the executor's warnings" -> ``executor.Executor``,
"putty's connections" -> ``putty.exe``.

A component is named when every word of its last name segment (split at dots, underscores,
dashes and camel case; file suffixes such as ``exe`` dropped) is a word of the question, and
those words are what the lines belong to: right before "log(s)/logged/writes/reports", or
with a possessive ("the executor's ..."); Korean: before 로그 / 가·이·에서 남긴. Among several, the
one whose name shares most words with the question wins, then the shorter name. Nothing
here knows a log system: the names come from the store's catalog.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.content_words import stem
from assistant.entities import Link, Links

_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_QWORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
DROPPED = frozenset({"exe", "dll", "bin", "app", "sh", "py", "jar", "d"})
"""File suffixes and daemon markers that are not part of what a component is called."""
OWNER = re.compile(
    r"^(?:['’]s\b|\s+(?:(?:error|errors|warning|warnings|info|debug)\s+)?"
    r"(?:log|logs|logged|logging|writes|wrote|reports|reported|prints|printed|emits|emitted)\b"
    r"|\s*(?:가|이|에서|의)?\s*(?:(?:오류|에러|경고)\s*)?(?:로그|남긴|남겼|찍은|찍었|기록))",
    re.IGNORECASE)
"""What follows the words of a component the lines belong to ("X logs", "X's", "X error
logs", "X 오류 로그")."""
OWNER_OF_A_NAME = re.compile(r"^\s+(?:lines|messages|entries|output)\b|^\s*메시지",
                             re.IGNORECASE)
"""After a name written as one ("the SecurityManager lines"), but not after plain words
("metrics lines" are lines about metrics)."""
_NAME_SHAPED = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2,}[a-z]")
ASKED = re.compile(r"(?:\bwhich|\bwhat|어떤|어느)\s*$", re.IGNORECASE)
"""Before the words: they name the kind asked for ("which dispatcher logged most"), not one."""


def _name_words(segment: str) -> list[str]:
    words = [stem(p) for p in _PART.findall(segment)]
    return [w for w in words if w not in DROPPED and not w.isdigit() and len(w) > 1]


def component_in(question: str, services: Sequence[str]) -> Link | None:
    """The component the question's words name as the owner of lines, or None."""
    qwords = _question_words(question)
    if not qwords:
        return None
    best: tuple[tuple[int, int], Link] | None = None
    for name in services:
        segments = [w for w in (_name_words(s) for s in re.split(r"[.\s/]+", name)) if w]
        if not segments:
            continue
        last = set(segments[-1])
        every = {w for s in segments for w in s}
        at = [(s, e) for w, s, e in qwords if w in every]
        if not last <= {w for w, _, _ in qwords}:
            continue
        start, end = _run(qwords, every, last)
        if end < 0 or ASKED.search(question[:start]) or not (
                OWNER.match(question[end:]) or (OWNER_OF_A_NAME.match(question[end:])
                                                and _NAME_SHAPED.search(question[start:end]))):
            continue
        shared = len({w for w, _, _ in qwords if w in every})
        score = (shared, -len(name))
        if at and (best is None or score > best[0]):
            link = Link(kind="service", value=name, span=(start, end), how="alias", score=0.9,
                        text=question[start:end])
            best = (score, link)
    return best[1] if best else None


def _question_words(question: str) -> list[tuple[str, int, int]]:
    """The question's words as (stem, start, end); a camel-case word also as its parts
    ("SecurityManager": security, manager, each spanning the whole word)."""
    out: list[tuple[str, int, int]] = []
    for m in _QWORD.finditer(question):
        parts = _name_words(m.group(0))
        if len(parts) > 1:
            out.extend((p, m.start(), m.end()) for p in parts)
        else:
            out.append((stem(m.group(0)), m.start(), m.end()))
    return out


def _run(qwords: list[tuple[str, int, int]], every: set[str], last: set[str]
         ) -> tuple[int, int]:
    """The span of adjacent question words from the name that include all of `last`."""
    for i in range(len(qwords)):
        j = i
        seen: set[str] = set()
        while j < len(qwords) and qwords[j][0] in every:
            seen.add(qwords[j][0])
            j += 1
            if last <= seen:
                return qwords[i][1], qwords[j - 1][2]
    return -1, -1


def with_component(question: str, links: Links, services: Sequence[str]) -> Links:
    """`links` with the component the question names by its words, when it links none."""
    if links.services or not services:
        return links
    found = component_in(question, services)
    if found is None:
        return links
    unknown = [u for u in links.unknown
               if not (u.kind == "service" and u.value.lower() in found.text.lower())]
    return links.model_copy(update={"services": [found], "unknown": unknown})
