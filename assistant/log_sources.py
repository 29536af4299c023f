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
    r"^(?:['’]s\b|\s+(?:log|logs|logged|logging|writes|wrote|reports|reported|prints|printed"
    r"|emits|emitted)\b|\s*(?:가|이|에서|의)?\s*(?:로그|남긴|남겼|찍은|찍었|기록))",
    re.IGNORECASE)
"""What follows the words of a component the lines belong to."""
ASKED = re.compile(r"(?:\bwhich|\bwhat|어떤|어느)\s*$", re.IGNORECASE)
"""Before the words: they name the kind asked for ("which dispatcher logged most"), not one."""


def _name_words(segment: str) -> list[str]:
    words = [stem(p) for p in _PART.findall(segment)]
    return [w for w in words if w not in DROPPED and not w.isdigit() and len(w) > 1]


def component_in(question: str, services: Sequence[str]) -> Link | None:
    """The component the question's words name as the owner of lines, or None."""
    qwords = [(stem(m.group(0)), m.start(), m.end()) for m in _QWORD.finditer(question)]
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
        if end < 0 or not OWNER.match(question[end:]) or ASKED.search(question[:start]):
            continue
        shared = len({w for w, _, _ in qwords if w in every})
        score = (shared, -len(name))
        if at and (best is None or score > best[0]):
            link = Link(kind="service", value=name, span=(start, end), how="alias", score=0.9,
                        text=question[start:end])
            best = (score, link)
    return best[1] if best else None


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
