"""The content words of a question as a filter on log lines: the words the logs say, or
the templates the question means."""

from __future__ import annotations

import re

from assistant.content_words import TextFilter, Vocabulary, text_filter
from assistant.entities import Links
from assistant.field_values import field_value
from assistant.intent import LEVEL_WORDS as INTENT_LEVEL_WORDS
from assistant.intent import (
    IntentReading,
    field_word_spans,
    severities_named,
)
from assistant.ir import LogQuery
from assistant.planner import Plan, PlannedQuery
from assistant.template_match import TemplateIndex, refine
from connectors.base import Catalog


def content_filter(question: str, links: Links, reading: IntentReading,
                 vocab: Vocabulary, catalog: Catalog,
                 index: TemplateIndex | None = None) -> TextFilter | None:
    """The content words' text filter; a word that is in the logs makes a question with no
    other subject a log question, and a word that set the level is text instead (so is a
    severity the logs have no level for: "errors" in a log without levels). Where the words
    fall short (not in the logs, too common there, or Korean over English logs) the
    templates the question means are the filter (`template_match.refine`)."""
    levels = frozenset(catalog.log_levels) if vocab else None
    taken = [*links.time_spans, *(x.span for x in (*links.hosts, *links.services,
                                                  *links.labels, *links.patterns))]
    taken += [x.span for x in links.metrics if x.how != "semantic"]
    asked = reading.log_field if reading.log_op else (
        reading.log_op_if_logs[1] if reading.log_op_if_logs else None)
    taken += field_word_spans(question, asked)
    named = field_value(question, links.time_spans) if vocab else None
    if named is not None:  # "requests that returned 404": the lines saying that status
        if not reading.intents:
            reading.intents.add("logs")
        return TextFilter(text=None, pattern=named.pattern, words=(named.value,), found=True,
                          spans=(named.span,), label=named.label)
    tf = text_filter(question, taken, vocab, levels, [*catalog.services, *catalog.hosts])
    if not reading.intents & {"docs", "refuse"} and reading.intents != {"metric"} \
            and ("why" not in reading.intents or reading.count):
        tf = refine(question, taken, tf, vocab, index, levels,
                    leveled=reading.level is not None,
                    counts=reading.count and reading.log_op is None)
    if tf is None:
        return None
    if tf.found and not reading.intents & {"logs", "metric", "events", "why", "docs",
                                           "refuse"}:
        reading.intents.add("logs")
    if reading.level is not None:
        rest = list(question)
        for s, e in tf.spans:
            rest[s:e] = " " * (e - s)
        rx = dict(INTENT_LEVEL_WORDS)[reading.level]
        if not rx.search("".join(rest)):
            reading.level = None  # "failed" was what the lines say, not their severity
    return tf


def _names_only_its_levels(q: LogQuery, tf: TextFilter) -> bool:
    """ "how many errors" counted at exactly the error level: the word that named the level
    is not also text to search for (the executor reads it from the lines' words where the
    store keeps no levels)."""
    return bool(q.levels) and bool(tf.words) and all(
        severities_named(w) for w in tf.words)


def _level_word_is_text(q: LogQuery, tf: TextFilter) -> LogQuery:
    """ "ddr error lines", "connection errors": a severity word inside the phrase searched
    for (or beside the words whose meaning chose the templates) is what the lines say, not
    their level: the exact-level filter it made is dropped."""
    if not q.levels or not tf.words or not (
            tf.templates or any(severities_named(w) for w in tf.words)):
        return q
    update: dict[str, object] = {"levels": (), "level": None}
    if q.count_by == "level":
        update |= {"count_by": "template", "top_k": 5}
    return q.model_copy(update=update)


def with_text(plan: Plan, tf: TextFilter, language: str,
              templates: tuple[str, ...] = ()) -> Plan:
    """Log queries of `plan` (that search no text yet) filtered to the content words; a
    value read from a slot keeps the words only where one of `templates` (the logs') says
    them with that slot."""
    out: list[PlannedQuery] = []
    used = False
    for pq in plan.queries:
        q = pq.query
        if isinstance(q, LogQuery) and q.text is None and q.pattern is not None \
                and (q.mode() in ("distinct", "count_by") or q.limit == 1) \
                and q.extract is not None and q.extract.kind == "regex" and tf.text \
                and tf.found and tf.text.lower() not in q.pattern.lower() \
                and _said_with(q.pattern, tf.text, templates):
            # a value read from a slot, in the lines that also say the words searched for
            # ("which instance was terminated first": '[instance: <*>]' and 'terminat';
            # "how many distinct users failed": 'user <*>' and 'fail')
            q = q.model_copy(update={"text": tf.text})
            used = True
        elif isinstance(q, LogQuery) and q.text is None and q.pattern is None \
                and pq.purpose != "errors" and not _names_only_its_levels(q, tf):
            q = _level_word_is_text(q, tf)
            q = LogQuery.model_validate({**q.model_dump(), "text": tf.text,
                                         "pattern": tf.pattern})
            used = True
        out.append(PlannedQuery(q, pq.purpose, pq.why))
    if used and tf.templates:
        plan.queries = out
        plan.notes.append(_templates_note(tf.templates, language, tf.close_call))
    elif used:
        plan.queries = out
        shown = tf.shown if tf.text or tf.label else " or ".join(tf.pattern_words())
        if language == "ko":
            plan.notes.append(f"'{shown}'가 들어간 로그 줄만 셌습니다")
        else:
            plan.notes.append(f"counted only the lines that mention {shown!r}")
    return plan


def _said_with(pattern: str, text: str, templates: tuple[str, ...]) -> bool:
    """Whether a template holds both the slot `pattern` reads and `text` (no templates
    given: assume so)."""
    if not templates:
        return True
    rx = re.compile(pattern)
    return any(text.lower() in t.lower() and rx.search(t) for t in templates)


def _templates_note(templates: tuple[str, ...], language: str, close: bool = False) -> str:
    """Which templates were read, chosen by meaning: an honest, checkable reading."""
    shown = ", ".join(f"“{t[:80]}”" for t in templates[:3])
    more = len(templates) - 3
    if language == "ko":
        extra = f" 외 {more}개" if more > 0 else ""
        tail = " (근소한 차이로 고른 템플릿이니 확인해 주세요)" if close else ""
        return f"질문의 뜻에 가장 가까운 로그 템플릿 {shown}{extra}의 줄만 조회했습니다{tail}"
    extra = f" and {more} more" if more > 0 else ""
    word = "template" if len(templates) == 1 else "templates"
    tail = " (a close call over the next template: check it)" if close else ""
    return f"read only the lines of the {word} closest in meaning to the question: " \
           f"{shown}{extra}{tail}"

