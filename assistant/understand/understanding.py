"""Steps 1 and 2 of the flow: read the question once, then plan (`understand`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.conversation import Turn
from assistant.entities import Links
from assistant.errors import TimeRangeError
from assistant.intent import IntentReading
from assistant.ir import TimeRange
from assistant.language import detect_language
from assistant.note_text import localized
from assistant.planner import Plan
from assistant.timeparse import TimeResolution
from assistant.understand.planning import make_plan
from assistant.understand.reading import read
from assistant.understand.series import unknown_ko
from assistant.understand.text_filter import with_text
from assistant.understand.texts import FORECAST_TEXT, REFUSAL, SMALLTALK
from assistant.understand.window import fit_to_data, half_open

if TYPE_CHECKING:
    from assistant.services import Services



STAT_FACTS = {"peak": "peak", "lowest": "min", "avg": "average", "sum": "total",
              "last": "last"}
"""`IntentReading.stat` -> the fact that answers it."""


@dataclass
class Understanding:
    question: str
    language: str
    time: TimeResolution
    links: Links
    intent: IntentReading
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

    def facts_asked(self) -> frozenset[str]:
        """The facts (`facts.FACT_KEYWORDS` names) the reading's statistic asks for: the
        answer leads with them whatever words named it ("the shortest" -> "min")."""
        stat = self.intent.stat
        asked = {STAT_FACTS[stat]} if stat in STAT_FACTS else set()
        if self.intent.top_templates:  # "제일 많이 나온 메시지": the ranking leads
            asked.add("top")
        return frozenset(asked)

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
            "intents": sorted(self.intent.intents),
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
            "intents": sorted(self.intent.intents),
            "stat": self.intent.stat,
            "level": self.intent.level,
            "event_kinds": list(self.intent.event_kinds),
        }


def understand(
    question: str, now: datetime, services: Services, history: list[Turn], *, planner: str
) -> Understanding:
    """Read the question once (`read`), then plan from the `Reading`: the chosen planner's
    queries over the window that holds data, filtered to the words the logs say."""
    try:
        r = read(question, now, services, history)
    except TimeRangeError as exc:
        asked_in = detect_language(question)
        msg = str(exc)
        if asked_in == "ko":
            msg = f"요청한 기간을 조회할 수 없습니다(미래이거나 올바르지 않은 기간). ({exc})"
        return _clarify(question, asked_in, now, services.settings.timezone, msg)
    time, language = r.time, r.language
    inp = r.plan_input(services)
    plan = make_plan(inp, services, planner, question)
    if time.kind == "default" and not r.followup and plan.queries:
        fitted = fit_to_data(question, language, time, plan, services)
        if fitted is not None:
            time = fitted
            inp = replace(inp, time_range=time.range)
            plan = make_plan(inp, services, planner, question)
    if r.content is not None:
        plan = with_text(plan, r.content, language, inp.templates)
    if time.kind not in ("default", "data") and time.range.end < now:
        plan.queries = [half_open(pq) for pq in plan.queries]
    if plan.unknown is not None and language == "ko":
        plan.clarification = unknown_ko(plan.unknown)
    if time.horizon_s and r.forecast:
        plan = Plan(clarification=FORECAST_TEXT["ko" if language == "ko" else "en"])
    if "smalltalk" in r.intent.intents and not plan.queries[1:] and not r.links.hosts:
        plan = Plan(clarification=SMALLTALK["ko" if language == "ko" else "en"])
    return Understanding(question=question, language=language, time=time, links=r.links,
                         intent=r.intent, plan=plan, followup=r.followup)


def _clarify(question: str, language: str, now: datetime, tz: str, msg: str) -> Understanding:
    tr = TimeRange(start=now - timedelta(hours=1), end=now, timezone=tz)
    return Understanding(
        question=question,
        language=language,
        time=TimeResolution(range=tr, matched=None, assumed=True, note="", needs_last_deploy=False),
        links=Links(),
        intent=IntentReading(),
        plan=Plan(clarification=msg),
    )
