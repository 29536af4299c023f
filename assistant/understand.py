"""Step 1 and 2 of the flow: read the question, then plan.

Reads the language, the time range (against the pinned clock), the entities (against the
live catalog), the intent, and the conversation so far; then asks the chosen planner for IR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.content_words import TextFilter, Vocabulary, text_filter, vocabulary
from assistant.conversation import Turn
from assistant.data_window import asks_whole_span, outside, query_extent, union, whole_span
from assistant.entities import Link, Links, UnknownMention
from assistant.errors import OpsaError, TimeRangeError
from assistant.intent import LEVEL_WORDS as INTENT_LEVEL_WORDS
from assistant.intent import IntentReading, field_word_spans, read_intent
from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery, TimeRange
from assistant.language import detect_language
from assistant.note_text import localized
from assistant.planner import Plan, PlanInput, PlannedQuery, plan_rules
from assistant.series_names import link_series
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
KIND_KO = {"host": "호스트", "service": "서비스", "label": "레이블 값"}
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

    def notes(self) -> list[str]:
        out = []
        if self.time.note:
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
    _only_what_the_store_holds(reading, catalog, vocab)
    text = _text_filter(question, links, reading, vocab, catalog)
    prev = history[-1].context if history else None
    followup = bool(prev) and _is_followup(question, reading, links)
    if followup and prev:
        links, time, reading = _merge(prev, links, time, reading)
    inp = PlanInput(question=strip_time_phrases(question), time_range=time.range,
                    reading=reading, links=links, catalog=catalog)
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

    try:
        queries = plan_with_llm(chat, question, inp.time_range, inp.catalog, context="")
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
    found = link_series(question, [m.name for m in catalog.metrics], taken)
    if not found or (len(found) > 1 and found[0].score - found[1].score < SERIES_MARGIN):
        return links
    best = found[0]
    if links.metrics and best.score < SERIES_OVERRIDE:
        return links
    link = Link(kind="metric", value=best.metric, span=best.span, how="alias",
                score=min(1.0, best.score), text=question[best.span[0]:best.span[1]])
    return links.model_copy(update={"metrics": [link]})


def _unknown_ko(u: UnknownMention) -> str:
    text = f"'{u.value}'라는 {KIND_KO.get(u.kind, u.kind)}가 없습니다."
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
    try:
        return vocabulary(services.logs_backend.log_vocabulary())
    except OpsaError:
        return vocabulary([])  # no log store: no words to match


def _known_words_not_hosts(links: Links, vocab: Vocabulary) -> Links:
    """An unknown 'host' written as a plain name that the logs say ("from host Kernel") is
    what the lines are about, not a host to ask about."""
    keep = [u for u in links.unknown
            if u.kind != "host" or re.search(r"\d", u.value) or not vocab.has(u.value)]
    if len(keep) == len(links.unknown):
        return links
    return links.model_copy(update={"unknown": keep})


def _text_filter(question: str, links: Links, reading: IntentReading,
                 vocab: Vocabulary, catalog: Catalog) -> TextFilter | None:
    """The content words' text filter; a word that is in the logs makes a question with no
    other subject a log question, and a word that set the level is text instead (so is a
    severity the logs have no level for: "errors" in a log without levels)."""
    levels = frozenset(catalog.log_levels) if vocab else None
    taken = [*links.time_spans, *(x.span for x in (*links.hosts, *links.services,
                                                  *links.labels, *links.patterns))]
    taken += [x.span for x in links.metrics if x.how != "semantic"]
    taken += field_word_spans(question, reading.log_field if reading.log_op else None)
    tf = text_filter(question, taken, vocab, levels)
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


def _with_text(plan: Plan, tf: TextFilter, language: str) -> Plan:
    """Log queries of `plan` (that search no text yet) filtered to the content words."""
    out: list[PlannedQuery] = []
    used = False
    for pq in plan.queries:
        q = pq.query
        if isinstance(q, LogQuery) and q.text is None and q.pattern is None \
                and pq.purpose != "errors":
            q = LogQuery.model_validate({**q.model_dump(), "text": tf.text,
                                         "pattern": tf.pattern})
            used = True
        out.append(PlannedQuery(q, pq.purpose, pq.why))
    if used:
        plan.queries = out
        shown = tf.shown if tf.text else " or ".join(tf.pattern_words())
        if language == "ko":
            plan.notes.append(f"'{shown}'가 들어간 로그 줄만 셌습니다")
        else:
            plan.notes.append(f"counted only the lines that mention {shown!r}")
    return plan


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
