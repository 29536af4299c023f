"""Step 1 and 2 of the flow: read the question, then plan.

Reads the language, the time range (against the pinned clock), the entities (against the
live catalog), the intent, and the conversation so far; then asks the chosen planner for IR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.content_words import KO_GLOSSARY, TextFilter, Vocabulary, text_filter, vocabulary
from assistant.conversation import Turn
from assistant.data_window import asks_whole_span, outside, query_extent, union, whole_span
from assistant.entities import Link, Links, UnknownMention
from assistant.errors import OpsaError, TimeRangeError
from assistant.field_values import field_value
from assistant.intent import LEVEL_WORDS as INTENT_LEVEL_WORDS
from assistant.intent import (
    WRITE_ACTION,
    IntentReading,
    field_word_spans,
    read_intent,
    severities_named,
)
from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery, TimeRange
from assistant.language import detect_language, has_final_consonant
from assistant.log_sources import with_component
from assistant.note_text import localized
from assistant.planner import Plan, PlanInput, PlannedQuery, plan_rules
from assistant.series_names import MissingSeries, link_series, missing_series, number_disagrees
from assistant.template_match import TemplateIndex, refine, template_index
from assistant.template_values import specialized
from assistant.timeparse import TimeResolution, resolve_time, strip_time_phrases
from connectors.base import Catalog, Connector, DataKind, Extent

if TYPE_CHECKING:
    from assistant.services import Services

FOLLOWUP = re.compile(
    r"^\s*(and|what about|how about|also|same for|now for|then|그럼|그리고|그러면|그건|그거|"
    r"또|이번엔|같은)\b|(?:는|은|도)\s*\??\s*$|^\s*(on|for|in)\s+\S+\s*\??\s*$",
    re.IGNORECASE,
)
REFUSAL = {
    "en": "I can't do that: I am read-only. I can look up metrics, logs, events and runbooks "
          "(for example, the runbook for this situation), but changes must be made by a person.",
    "ko": "그 작업은 할 수 없습니다. 저는 읽기 전용이라 메트릭, 로그, 이벤트, 런북을 "
          "조회만 합니다. 변경은 담당자가 직접 수행해야 합니다.",
}
FORECAST = re.compile(
    r"\bwill\b|\bgoing to\b|predict|forecast|next (?:week|month|hour|day)|tomorrow|"
    r"예측|될까|내일|다음 ?주", re.IGNORECASE)
FORECAST_TEXT = {
    "en": "I can only report what the data shows up to now; I don't forecast future values. "
          "Ask about a past window, e.g. 'the last 24 hours'.",
    "ko": "지금까지의 데이터만 보고할 수 있고, 미래 값은 예측하지 않습니다. "
          "'지난 24시간'처럼 지난 기간을 물어봐 주세요.",
}
KIND_KO = {"host": "호스트", "service": "서비스", "label": "레이블 값", "series": "시계열"}
SMALLTALK = {
    "en": "I answer questions about your metrics, logs, events and runbooks, for example "
          "'peak CPU on web-03 in the last hour' or 'why did checkout fail at 14:10?'.",
    "ko": "메트릭, 로그, 이벤트, 런북에 대한 질문에 답합니다. 예: '지난 1시간 web-03 CPU 최대값', "
          "'14:10에 checkout이 왜 실패했어?'",
}


@dataclass
class Understanding:
    question: str
    language: str
    time: TimeResolution
    links: Links
    reading: IntentReading
    plan: Plan
    followup: bool = False
    extra_notes: list[str] = field(default_factory=list)

    def notes(self, with_time: bool = True) -> list[str]:
        """The answer's notes in its language; `with_time=False` leaves out the time
        window's (for an answer from documents alone)."""
        out = []
        if self.time.note and with_time:
            out.append(self.time.note)
        out.extend(self.plan.notes)
        out.extend(self.extra_notes)
        return [localized(n, self.language) for n in out]

    def refusal_text(self) -> str:
        key = "ko" if self.language == "ko" else "en"
        return REFUSAL[key]

    def plan_event(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "time_range": {
                "start": self.time.range.start.isoformat(),
                "end": self.time.range.end.isoformat(),
                "timezone": self.time.range.timezone,
                "note": self.time.note,
            },
            "followup": self.followup,
            "intents": sorted(self.reading.intents),
            "entities": self.links.model_dump(mode="json"),
            "queries": [
                {"purpose": q.purpose, "why": q.why, "ir": q.query.model_dump(mode="json")}
                for q in self.plan.queries
            ],
            "refusal": self.plan.refusal,
            "clarification": self.plan.clarification,
        }

    def allowed_tokens(self) -> list[str]:
        """Words whose digits are not claims (hostnames, metric names, the question)."""
        toks = [self.question]
        toks += [x.value for x in (*self.links.hosts, *self.links.services, *self.links.metrics)]
        return toks

    def context_for_followups(self) -> dict[str, Any]:
        return {
            "time": self.time.model_dump(mode="json"),
            "links": self.links.model_dump(mode="json"),
            "intents": sorted(self.reading.intents),
            "stat": self.reading.stat,
            "level": self.reading.level,
            "event_kinds": list(self.reading.event_kinds),
        }


def understand(
    question: str, now: datetime, services: Services, history: list[Turn], *, planner: str
) -> Understanding:
    """Language, time, entities, intent and conversation -> an `Understanding` with a plan."""
    settings = services.settings
    language = detect_language(question)
    tz = settings.tz()
    catalog = services.catalog
    links = _by_name_tokens(question, _strong(services.linker.link(question)), catalog)
    span = _metric_span(services, links) or _data_span(services)
    try:
        time = resolve_time(question, now, tz, data_span=span)
    except TimeRangeError as exc:
        msg = str(exc)
        if language == "ko":
            msg = f"요청한 기간을 조회할 수 없습니다(미래이거나 올바르지 않은 기간). ({exc})"
        return _clarify(question, language, now, settings.timezone, msg)
    if time.needs_last_deploy:
        last = _last_deploy(services, now, time.range.timezone)
        time = resolve_time(question, now, tz, last_deploy=last, data_span=span)
    reading = read_intent(strip_time_phrases(question))
    vocab = _log_vocabulary(services)
    links = _known_words_not_hosts(links, vocab)
    links = with_component(question, links, catalog.services)
    _only_what_the_store_holds(reading, catalog, vocab)
    if "refuse" in reading.intents and _asks_about_recorded_action(question, vocab, catalog):
        reading.intents.discard("refuse")
    text = _text_filter(question, links, reading, vocab, catalog, _template_index(services))
    prev = history[-1].context if history else None
    followup = bool(prev) and _is_followup(question, reading, links)
    if followup and prev:
        links, time, reading = _merge(prev, links, time, reading)
    inp = PlanInput(question=strip_time_phrases(question), time_range=time.range,
                    reading=reading, links=links, catalog=catalog,
                    templates=tuple(text for text, _ in vocab.lines), periods=time.periods)
    plan = _plan(inp, services, planner, question)
    if time.kind == "default" and not followup and plan.queries:
        fitted = _fit_to_data(question, language, time, plan, services)
        if fitted is not None:
            time = fitted
            inp = replace(inp, time_range=time.range)
            plan = _plan(inp, services, planner, question)
    if text is not None:
        plan = _with_text(plan, text, language)
    if time.kind not in ("default", "data") and time.range.end < now:
        plan.queries = [_half_open(pq) for pq in plan.queries]
    if plan.unknown is not None and language == "ko":
        plan.clarification = _unknown_ko(plan.unknown)
    if time.horizon_s and FORECAST.search(question):
        plan = Plan(clarification=FORECAST_TEXT["ko" if language == "ko" else "en"])
    if "smalltalk" in reading.intents and not plan.queries[1:] and not links.hosts:
        plan = Plan(clarification=SMALLTALK["ko" if language == "ko" else "en"])
    return Understanding(question=question, language=language, time=time, links=links,
                         reading=reading, plan=plan, followup=followup)


def _plan(inp: PlanInput, services: Services, planner: str, question: str) -> Plan:
    rules = plan_rules(inp)
    if planner == "rules" or rules.refusal or rules.clarification:
        return rules
    chat = services.chat
    if chat is None:
        rules.notes.append(f"the {planner} planner needs a model "
                           f"({services.problems.get('llm', 'none configured')}); used rules")
        return rules
    from assistant.llm_planner import plan_with_llm

    llm = services.settings.llm
    try:
        queries = plan_with_llm(chat, question, inp.time_range, inp.catalog, context="",
                                schema=llm.plan_schema,
                                examples=_bank_shots(question, services)
                                if llm.plan_schema == "full" else None)
    except OpsaError as exc:
        rules.notes.append(f"the model's plan was rejected ({exc}); used rules")
        return rules
    llm_plan = Plan(queries=[PlannedQuery(q, "main", "planned by the model") for q in queries])
    if planner == "hybrid":
        # Rules decide the shape; the model adds what rules did not find.
        have = {q.query.model_dump_json() for q in rules.queries}
        extra = [q for q in llm_plan.queries if q.query.model_dump_json() not in have]
        if not rules.queries or all(q.purpose == "docs" for q in rules.queries):
            rules.queries = extra + rules.queries
        return rules
    return llm_plan if llm_plan.queries else rules


def _bank_shots(question: str, services: Services) -> list[dict[str, str]]:
    """The exemplars nearest to `question` as few-shot turns for the full-schema planner
    (`assistant.shapes`): an operator's question and its IR skeleton, slots as
    placeholders; none when the bank or the embedder cannot be loaded."""
    import json

    from assistant.shapes import few_shot

    settings = services.settings
    try:
        shots = few_shot(question, settings.llm.few_shot, data_dir=settings.data_dir,
                         lang=detect_language(question))
    except (OpsaError, OSError, RuntimeError):
        return []
    return [{"question": s["question"],
             "plan": json.dumps({"queries": s["skeleton"]["queries"]}, ensure_ascii=False)}
            for s in shots if s["skeleton"].get("queries")]


WEAK_METRIC_SCORE = 0.3


def _strong(links: Links) -> Links:
    """Drop near-random metric links (a semantic search over a question that names no metric
    still returns its nearest neighbours)."""
    return links.model_copy(update={
        "metrics": [m for m in links.metrics if m.score >= WEAK_METRIC_SCORE]})


SERIES_OVERRIDE = 0.6
"""A series named by its tokens this well replaces the linker's (non-exact) metric links."""
SERIES_MARGIN = 0.1


def _by_name_tokens(question: str, links: Links, catalog: Catalog) -> Links:
    """The metric whose name tokens the question says best ("AAPL tweet volume" ->
    twitter_volume_aapl), when it clearly beats every other metric."""
    if any(m.how == "exact" for m in links.metrics):
        return links
    taken = [*links.time_spans, *(x.span for x in (*links.hosts, *links.services))]
    missing = missing_series(question, [m.name for m in catalog.metrics], taken)
    if missing is not None:  # "Netflix tweet volume" where no tweet series is Netflix's
        return links.model_copy(update={"metrics": [], "unknown": [
            *links.unknown, _no_such_series(missing)]})
    found = link_series(question, [m.name for m in catalog.metrics], taken)
    if not found:
        return links
    best = found[0]
    # a linked metric whose number the question does not say ("exchange 4" is not
    # exchange_2_...) gives way to the best series that carries the question's number
    wrong_number = bool(links.metrics) and number_disagrees(question, links.metrics[0].value)
    if not wrong_number and len(found) > 1 and best.score - found[1].score < SERIES_MARGIN:
        return links
    # the linker's metric stays unless the name tokens say another one clearly better
    linked = next((f.score for f in found if links.metrics
                   and f.metric == links.metrics[0].value), None)
    if links.metrics and not wrong_number and best.score < SERIES_OVERRIDE \
            and (linked is None or best.score - linked < SERIES_MARGIN):
        return links
    link = Link(kind="metric", value=best.metric, span=best.span, how="alias",
                score=min(1.0, best.score), text=question[best.span[0]:best.span[1]])
    return links.model_copy(update={"metrics": [link]})


SERIES_SUGGESTED = 5


def _no_such_series(missing: MissingSeries) -> UnknownMention:
    """The clarification for a series the catalog does not have, naming its near kin."""
    kin = list(missing.family[:SERIES_SUGGESTED])
    more = len(missing.family) - len(kin)
    listed = ", ".join(kin) + (f" and {more} more" if more > 0 else "")
    return UnknownMention(kind="series", value=missing.text, span=missing.span,
                          suggestions=kin,
                          message=f"no series matches {missing.text!r}; the series with those "
                                  f"words are {listed}")


def _unknown_ko(u: UnknownMention) -> str:
    noun = KIND_KO.get(u.kind, u.kind)
    subject = "이" if has_final_consonant(noun[-1]) else "가"  # 시계열이, 호스트가
    text = f"'{u.value}'라는 {noun}{subject} 없습니다."
    if u.suggestions:
        text += " 혹시 " + ", ".join(u.suggestions) + "을(를) 말씀하신 건가요?"
    return text


def _is_followup(question: str, reading: IntentReading, links: Links) -> bool:
    if FOLLOWUP.search(question):
        return True
    substantive = reading.intents - {"smalltalk"}
    return not substantive and bool(links.hosts or links.services or links.metrics)


def _merge(
    prev: dict[str, Any], links: Links, time: TimeResolution, reading: IntentReading
) -> tuple[Links, TimeResolution, IntentReading]:
    old = Links.model_validate(prev["links"])
    merged = links.model_copy(update={
        "hosts": links.hosts or ([] if links.services else old.hosts),
        "services": links.services or ([] if links.hosts else old.services),
        "metrics": links.metrics or old.metrics,
        "labels": links.labels or old.labels,
    })
    if time.assumed:
        time = TimeResolution.model_validate(prev["time"])
    if not (reading.intents - {"smalltalk"}):
        reading.intents = set(prev.get("intents", []))
        reading.stat = reading.stat or prev.get("stat")
        reading.level = reading.level or prev.get("level")
        reading.event_kinds = reading.event_kinds or list(prev.get("event_kinds", []))
    return merged, time, reading


def _only_what_the_store_holds(reading: IntentReading, catalog: Catalog,
                               vocab: Vocabulary) -> None:
    """In a store that holds only logs, "events" are its lines and "requests" are counted
    in them: a metric or event reading with no metric or event behind it reads the logs."""
    if not (vocab or catalog.log_levels):
        return
    if not reading.intents - {"smalltalk"} and not catalog.metrics \
            and not catalog.event_kinds and (reading.count or reading.stat == "sum"):
        reading.intents.add("logs")  # "how many events were logged ...": its lines
        return
    kinds = reading.intents & {"metric", "events"}
    missing = {k for k in kinds
               if (k == "metric" and not catalog.metrics)
               or (k == "events" and not catalog.event_kinds)}
    if missing and missing == kinds:
        reading.intents -= missing
        reading.intents.add("logs")
        if "events" in missing:
            reading.event_kinds = []


HALF_OPEN = timedelta(microseconds=1)


def _half_open(pq: PlannedQuery) -> PlannedQuery:
    """A window the question ended ("between 14:00 and 15:00", "on March 3") is half-open:
    a line or sample at exactly its end belongs to the next window. Stores read `end`
    inclusively, so log and raw-sample queries end one microsecond earlier."""
    q = pq.query
    if not isinstance(q, LogQuery | MetricQuery) or (
            isinstance(q, MetricQuery) and q.function != "samples"):
        return pq
    tr = q.time_range
    if tr.duration_s <= HALF_OPEN.total_seconds():
        return pq
    new_tr = tr.model_copy(update={"end": tr.end - HALF_OPEN})
    return PlannedQuery(q.model_copy(update={"time_range": new_tr}), pq.purpose, pq.why)


def _log_vocabulary(services: Services) -> Vocabulary:
    """The logs' templates, and those with a recurring placeholder word written in
    (`assistant.template_values`): the words the logs say."""
    try:
        backend = services.logs_backend
        templates = backend.log_vocabulary()
        return vocabulary([*templates, *specialized(backend.log_examples())]
                          if templates else templates)
    except OpsaError:
        return vocabulary([])  # no log store: no words to match


def _template_index(services: Services) -> TemplateIndex | None:
    """The log templates with their meaning vectors (cached in memory and in the data
    directory), or None without a log store."""
    try:
        templates = services.logs_backend.log_vocabulary()
    except OpsaError:
        return None
    if not templates:
        return None
    return template_index(templates, cache_dir=services.settings.data_dir / "cache")


READ_QUESTION = re.compile(
    r"^\s*(?:how\s+(?:many|often|much)|when|what|which|did|was|were|has|have|had|is|are|"
    r"show|list|count|find)\b|몇\s*(?:번|회|건|줄|개)|언제|횟수|얼마나|있었|보여",
    re.IGNORECASE)
"""A question about what happened, not a request to do something."""


def _asks_about_recorded_action(question: str, vocab: Vocabulary,
                                catalog: Catalog | None = None) -> bool:
    """A read question about an action the data records ("how many times did the app flush
    sensor data?" where the logs say "flush"; "파드 재시작 횟수" where a metric counts
    restarts): not a request to perform it. Requests ("flush the cache now", "재시작해줘")
    and actions the data never mentions stay refused."""
    metric_words = vocabulary([m.name.replace("_", " ") for m in catalog.metrics]
                              if catalog is not None else [])
    if not (vocab or metric_words) or not READ_QUESTION.search(question):
        return False
    for m in WRITE_ACTION.finditer(question):
        said = m.group(0).lower()
        stems = KO_GLOSSARY.get(said, ()) if re.search(r"[가-힣]", said) else tuple(
            w for w in said.split() if w not in ("the", "to", "up", "down", "back", "over"))
        if not any(vocab.has(x) or metric_words.has(x) for x in stems):
            return False
    return True


def _known_words_not_hosts(links: Links, vocab: Vocabulary) -> Links:
    """An unknown 'host' written as a plain name that the logs say ("from host Kernel") is
    what the lines are about, not a host to ask about."""
    keep = [u for u in links.unknown
            if u.kind != "host" or re.search(r"\d", u.value) or not vocab.has(u.value)]
    if len(keep) == len(links.unknown):
        return links
    return links.model_copy(update={"unknown": keep})


def _text_filter(question: str, links: Links, reading: IntentReading,
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
    tf = text_filter(question, taken, vocab, levels)
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


def _with_text(plan: Plan, tf: TextFilter, language: str) -> Plan:
    """Log queries of `plan` (that search no text yet) filtered to the content words."""
    out: list[PlannedQuery] = []
    used = False
    for pq in plan.queries:
        q = pq.query
        if isinstance(q, LogQuery) and q.text is None and q.pattern is not None \
                and q.mode() == "lines" and q.limit == 1 \
                and q.extract is not None and q.extract.kind == "regex" and tf.text \
                and tf.found and not tf.templates and tf.text.lower() not in q.pattern.lower():
            # a value read from a slot, in the lines that also say the words searched for
            # ("which instance was terminated first": '[instance: <*>]' and 'terminat')
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


def _metric_span(services: Services, links: Links) -> Extent | None:
    """The span of the series the question names (its dates fall inside that series)."""
    if not links.metrics:
        return None
    try:
        return services.backend.extent("metric", links.metrics[0].value)
    except OpsaError:
        return None


def _data_span(services: Services) -> Extent | None:
    """First..last timestamp of everything the connected stores hold (None: unknown)."""
    seen: dict[int, Connector] = {}
    try:
        for c in (services.backend, services.logs_backend, services.events_backend):
            seen.setdefault(id(c), c)
    except OpsaError:
        return None  # no store configured: questions keep the calendar's years
    kinds: tuple[DataKind, ...] = ("logs", "metric", "events")
    found: list[Extent | None] = []
    for c in seen.values():
        for kind in kinds:
            try:
                found.append(c.extent(kind))
            except OpsaError:
                continue
    return union(found)


def _fit_to_data(
    question: str, language: str, time: TimeResolution, plan: Plan, services: Services
) -> TimeResolution | None:
    """The data's span for a question with no time, when it asks about all of the data
    or the default window holds none of what the plan reads; else None."""
    found: list[tuple[DataKind, Extent | None]] = []
    for pq in plan.queries:
        if isinstance(pq.query, DocQuery):
            continue
        try:
            found.append(query_extent(services.connector_for(pq.query), pq.query))
        except OpsaError:
            continue
    extent = union(e for _, e in found)
    if extent is None:
        return None
    if not (asks_whole_span(question) or outside(extent, time.range)):
        return None
    return whole_span(time, extent, {k for k, e in found if e is not None}, language)


def _last_deploy(services: Services, now: datetime, tz: str) -> datetime | None:
    q = EventQuery(time_range=TimeRange(start=now - timedelta(days=7), end=now, timezone=tz),
                   kinds=("deploy",), limit=1)
    try:
        res = services.connector_for(q).run(q)
    except OpsaError:
        return None
    return max((e.ts for e in res.events), default=None)


def _clarify(question: str, language: str, now: datetime, tz: str, msg: str) -> Understanding:
    tr = TimeRange(start=now - timedelta(hours=1), end=now, timezone=tz)
    return Understanding(
        question=question,
        language=language,
        time=TimeResolution(range=tr, matched=None, assumed=True, note="", needs_last_deploy=False),
        links=Links(),
        reading=IntentReading(),
        plan=Plan(clarification=msg),
    )
