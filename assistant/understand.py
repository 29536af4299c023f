"""Step 1 and 2 of the flow: read the question, then plan.

Reads the language, the time range (against the pinned clock), the entities (against the
live catalog), the intent, and the conversation so far; then asks the chosen planner for IR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.conversation import Turn
from assistant.entities import Links, UnknownMention
from assistant.errors import OpsaError, TimeRangeError
from assistant.intent import IntentReading, read_intent
from assistant.ir import EventQuery, TimeRange
from assistant.language import detect_language
from assistant.planner import Plan, PlanInput, PlannedQuery, plan_rules
from assistant.timeparse import TimeResolution, resolve_time, strip_time_phrases

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
        return out

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
    try:
        time = resolve_time(question, now, tz)
    except TimeRangeError as exc:
        msg = str(exc)
        if language == "ko":
            msg = f"요청한 기간을 조회할 수 없습니다(미래이거나 올바르지 않은 기간). ({exc})"
        return _clarify(question, language, now, settings.timezone, msg)
    if time.needs_last_deploy:
        last = _last_deploy(services, now, time.range.timezone)
        time = resolve_time(question, now, tz, last_deploy=last)
    catalog = services.catalog
    links = _strong(services.linker.link(question))
    reading = read_intent(strip_time_phrases(question))
    prev = history[-1].context if history else None
    followup = bool(prev) and _is_followup(question, reading, links)
    if followup and prev:
        links, time, reading = _merge(prev, links, time, reading)
    inp = PlanInput(question=strip_time_phrases(question), time_range=time.range,
                    reading=reading, links=links, catalog=catalog)
    plan = _plan(inp, services, planner, question)
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
