"""The assistant: one loop that yields events; `ask()` and `stream()` both consume it.

understand (time, entities, intent, conversation) -> plan (IR) -> execute (connectors,
retrieval; each query on a time budget) -> facts (code) -> answer (template, optionally
phrased by the LLM, then grounding-checked).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from assistant import grounding, runbooks
from assistant.answer import compose, split_appendix
from assistant.audit import AuditLog, Recorder
from assistant.conversation import ConversationStore, Turn
from assistant.errors import LLMError, OpsaError
from assistant.execute import Budget, Executed, Executor
from assistant.facts import Fact, compare_periods
from assistant.ir import DocQuery, TimeRange
from assistant.language import scrub, unencodable
from assistant.models import Answer, AssistantEvent, ChartSeries, FactOut, SourceOut, WindowOut
from assistant.planner import PlannedQuery
from assistant.runbooks import RunbookQuote
from assistant.services import Services
from assistant.understand import Understanding, understand

MAX_QUESTION_CHARS = 2000
FENCE_LEAK = re.compile(r"<<<|>>>|\bDATA\b")


@dataclass
class AskOptions:
    planner: str | None = None  # rules | llm | hybrid; None -> settings
    phrasing: str | None = None  # template | llm; None -> settings
    now: datetime | None = None
    principal: str | None = None
    """Who asks, for the audit log: "tok:<hash>", "slack:<user>@<channel>", "cli:<user>"."""


class Assistant:
    """Answers operations questions from the services it is given."""

    def __init__(self, services: Services, conversations: ConversationStore | None = None):
        self.services = services
        self.settings = services.settings
        self.conversations = conversations or ConversationStore()
        self.executor = Executor(services)
        self.audit = (AuditLog(self.settings.data_dir / "audit.jsonl",
                               self.settings.audit_retention_days)
                      if self.settings.audit_retention_days > 0 else None)

    # -- public API -----------------------------------------------------------------------
    def ask(
        self, question: str, conversation_id: str | None = None, options: AskOptions | None = None
    ) -> Answer:
        """Answer one question (non-streaming)."""
        answer: Answer | None = None
        for event in self.stream(question, conversation_id, options):
            if event.type == "answer":
                answer = Answer.model_validate(event.data)
        assert answer is not None, "the agent loop always ends with an answer event"
        return answer

    def stream(
        self, question: str, conversation_id: str | None = None, options: AskOptions | None = None
    ) -> Iterator[AssistantEvent]:
        """Yield `plan`, `query`, `result`, `token` events, then one `answer` event; each
        question (and how it ended) is written to the audit log."""
        opts = options or AskOptions()
        rec = Recorder(self.audit, opts.principal or "local", question, conversation_id)
        try:
            for ev in self._stream(question, conversation_id, opts):
                rec.see(ev)
                yield ev
        except GeneratorExit:  # the caller stopped listening (a denial, a disconnect)
            rec.entry.outcome = "stopped" if rec.entry.outcome == "error" else rec.entry.outcome
            rec.finish()
            raise
        except BaseException as exc:
            rec.finish(exc)
            raise
        rec.finish()

    def _stream(
        self, question: str, conversation_id: str | None, opts: AskOptions
    ) -> Iterator[AssistantEvent]:
        t0 = time.perf_counter()
        conv_id = conversation_id or uuid.uuid4().hex[:12]
        now = opts.now or self.settings.clock()
        planner = opts.planner or self.settings.planner
        history = self.conversations.turns(conv_id)

        early = _reject_question(question)
        if early is not None:
            yield self._rejected(question, early, conv_id, t0, planner)
            return
        und = understand(question, now, self.services, history, planner=planner)
        yield AssistantEvent(type="plan", data=und.plan_event())
        if und.plan.refusal or und.plan.clarification:
            text = und.refusal_text() if und.plan.refusal else (und.plan.clarification or "")
            ans = self._answer(und, text, [], [], conv_id, t0, planner,
                               grounded=answer_grounded(text, [], und.time.range,
                                                        [*und.allowed_tokens(),
                                                         *quoted_examples(text),
                                                         # an error message, code-written
                                                         und.plan.clarification or ""]),
                               refused=bool(und.plan.refusal),
                               clarification=bool(und.plan.clarification))
            self._remember(conv_id, und, ans)
            yield AssistantEvent(type="answer", data=ans.model_dump(mode="json"))
            return

        executed: list[Executed] = []
        budget = Budget(self.settings.answer_budget_s, start=t0)  # shared by the queries
        for planned in und.plan.queries:
            pq = with_evidence(planned, executed) if "why" in und.intent.intents else planned
            yield AssistantEvent(type="query", data={"purpose": pq.purpose,
                                                     "ir": pq.query.model_dump(mode="json")})
            ex = self.executor.run(pq, und, budget)
            executed.append(ex)
            yield AssistantEvent(type="result", data=ex.summary())

        facts = [f for ex in executed for f in ex.facts]
        if und.plan.compared:  # periods named apart: their statistic compared (first)
            chosen = [executed[i] for i in und.plan.compared if i < len(executed)]
            facts = compare_periods(
                [(q.time_range, ex.facts) for ex in chosen
                 if not isinstance(q := ex.query, DocQuery)],
                und.plan.compare_stat, len(executed)) + facts
        und.extra_notes.extend(ex.note for ex in executed if ex.note)
        quoted = self._runbook_quote(und, executed)
        # Documents have no time window: an answer from runbooks alone states none.
        docs_only = _docs_only(executed)
        composed = compose(
            question=question,
            language=und.language,
            time_range=und.time.range,
            facts=facts,
            queries_summary=[ex.describe() for ex in executed],
            sources=[s for ex in executed for s in ex.sources],
            errors=[ex.error_text() for ex in executed if not ex.ok],
            notes=und.notes(with_time=not docs_only),
            asked=und.facts_asked(),
        )
        if docs_only:
            composed = replace(composed, window="")
        quote_text = ""
        if quoted is not None:
            quote_text = "\n".join(quoted.lines(und.language))
            # The runbook's words are the answer to a docs question; beside facts, they follow
            # them. Numbers inside the quote come from the source, so grounding allows them.
            composed = replace(
                composed,
                fact_sentences=(*(composed.fact_sentences if facts else ()), quote_text),
                allowed=(*composed.allowed, quoted.section_text))
        text = composed.text()
        phrasing = opts.phrasing or self.settings.phrasing
        if phrasing == "llm" and self.services.chat is not None and facts and budget.left():
            from assistant.phrasing import phrase_with_llm  # jinja2: only when a model phrases

            try:
                pieces: list[str] = []
                for token in phrase_with_llm(self.services.chat, und, facts, executed):
                    pieces.append(token)
                    yield AssistantEvent(type="token", data={"text": token})
                body, report = grounding.enforce(
                    "".join(pieces), facts, und.time.range, fallback=composed.facts_text,
                    extra_allowed=[*composed.allowed, *und.allowed_tokens()],
                )
                # The enforced text is grounded by construction; say what was replaced.
                body = "\n".join(line for line in body.splitlines()
                                 if not FENCE_LEAK.search(line))  # echoed prompt scaffolding
                body = "\n".join(p for p in (body, quote_text) if p)
                text = composed.text(facts_text=body or composed.facts_text)
                if report.rewritten or report.used_fallback:
                    und.extra_notes.append(
                        f"{len(report.violations)} model sentence(s) replaced: their numbers "
                        "were not in the query results")
            except LLMError as exc:
                note = f"the model could not phrase the answer ({exc}); showing the computed answer"
                und.extra_notes.append(note)
                text = replace(composed, notes=(*composed.notes, note)).text()
        else:
            yield AssistantEvent(type="token", data={"text": text})
        # The verdict of the grounding check on the text the user gets, never assumed.
        grounded = answer_grounded(text, facts, und.time.range,
                                   [*composed.allowed, *und.allowed_tokens(), *und.notes()])
        ans = self._answer(und, text, executed, facts, conv_id, t0, planner, grounded=grounded)
        self._remember(conv_id, und, ans)
        yield AssistantEvent(type="answer", data=ans.model_dump(mode="json"))

    # -- helpers --------------------------------------------------------------------------
    def _answer(
        self,
        und: Understanding,
        text: str,
        executed: list[Executed],
        facts: list[Fact],
        conv_id: str,
        t0: float,
        planner: str,
        *,
        grounded: bool,
        refused: bool = False,
        clarification: bool = False,
    ) -> Answer:
        tr = und.time.range
        chart: list[ChartSeries] = []
        for ex in executed:
            chart.extend(ex.chart())
        return Answer(
            question=und.question,
            answer=text,
            language=und.language,
            time_range=WindowOut(start=tr.start, end=tr.end, timezone=tr.timezone,
                                 note=und.time.note),
            queries=[ex.run_record() for ex in executed],
            facts=[FactOut(name=f.name, value=f.value, unit=f.unit, labels=f.labels, at=f.at,
                           display=f.display, rank=f.rank, metric=f.metric,
                           function=f.function) for f in facts],
            sources=[s for ex in executed for s in ex.sources],
            grounded=grounded,
            refused=refused,
            clarification=clarification,
            notes=und.notes(with_time=not _docs_only(executed)),
            chart=chart[:6],
            planner=planner,
            conversation_id=conv_id,
            elapsed_ms=round((time.perf_counter() - t0) * 1000, 1),
        )

    def _rejected(self, question: str, text: str, conv_id: str, t0: float,
                  planner: str) -> AssistantEvent:
        """The answer to input that is not a question (empty, too long, unreadable)."""
        end = datetime.now(UTC)
        # No window and no facts: the only numbers the message may state are the question's
        # own length and the limit it broke.
        grounded = answer_grounded(text, [], TimeRange(start=end - timedelta(seconds=1), end=end),
                                   [question, str(len(question.strip())), str(MAX_QUESTION_CHARS),
                                    *quoted_examples(text), text])  # text: code-written
        ans = Answer(
            question=scrub(question[:200]),
            answer=text,
            language="en",
            time_range=None,
            grounded=grounded,
            clarification=True,
            planner=planner,
            conversation_id=conv_id,
            elapsed_ms=round((time.perf_counter() - t0) * 1000, 1),
        )
        return AssistantEvent(type="answer", data=ans.model_dump(mode="json"))

    def _runbook_quote(self, und: Understanding, executed: list[Executed]) -> RunbookQuote | None:
        """The runbook section a how-to / meaning / impact / diagnosis question asks for,
        from the runbooks the docs queries found (or the one titled after the question's
        alert); the cited section is listed first among the sources."""
        role = und.intent.doc_role
        docs = [ex for ex in executed if isinstance(ex.query, DocQuery) and ex.ok]
        retriever = self.services.retriever() if role and docs else None
        if role is None or retriever is None:
            return None
        try:
            titles = retriever.titles("docs")
            quoted = runbooks.quote(
                und.question, role, [s.source for ex in docs for s in ex.sources], titles,
                lambda src: [runbooks.Section(h.source, h.heading, h.text,
                                              str(h.metadata.get("section", "")))
                             for h in retriever.sections(src)])
        except OpsaError as exc:
            und.extra_notes.append(f"the runbook could not be read ({exc})")
            return None
        if quoted is not None and quoted.source is not None:
            first = docs[0].sources
            score = next((s.score for s in first if s.source == quoted.source), 0.0)
            first[:] = [SourceOut(source=quoted.source, heading=quoted.heading, score=score,
                                  quote=quoted.section_text),
                        *(s for s in first if s.source != quoted.source)]
        return quoted

    def _remember(self, conv_id: str, und: Understanding, ans: Answer) -> None:
        self.conversations.append(conv_id, Turn(question=und.question, answer=ans.answer,
                                                context=und.context_for_followups()))


EVIDENCE_CHARS = 240


def _docs_only(executed: list[Executed]) -> bool:
    """Only documents were searched: the answer rests on no time window."""
    return bool(executed) and all(isinstance(ex.query, DocQuery) for ex in executed)


def answer_grounded(text: str, facts: list[Fact], time_range: TimeRange,
                    allowed: list[str]) -> bool:
    """The grounding check's verdict on an answer's text: every number in its body (the
    code-written "Queries run:" / "Sources:" appendix aside) traces to a fact, the window or
    `allowed` text (the question, error messages, notes, linked names)."""
    body, _appendix = split_appendix(text)
    return grounding.check(body, facts, time_range, extra_allowed=allowed).grounded


_QUOTED_EXAMPLE = re.compile(r"(?<!\w)'[^'\n]+'(?!\w)|“[^”\n]+”")


def quoted_examples(text: str) -> list[str]:
    """The example questions a canned message quotes ('the last 24 hours'): their numbers
    are examples, not claims."""
    return _QUOTED_EXAMPLE.findall(text)


def with_evidence(pq: PlannedQuery, executed: list[Executed]) -> PlannedQuery:
    """A runbook search that also carries what the other queries found (alert names, the top
    error template): "what happened to checkout" alone finds the service page, the evidence
    finds the runbook for the failure."""
    if not isinstance(pq.query, DocQuery):
        return pq
    clues: list[str] = []
    for ex in executed:
        for f in ex.facts:
            if f.name == "event" and f.labels.get("kind") in ("alert", "incident"):
                clues.append(str(f.value).split(":")[0])
            elif f.name == "top" and f.rank == 1 and "template" in f.labels:
                clues.append(f.labels["template"].replace("<*>", " ")[:120])
    if not clues:
        return pq
    text = (pq.query.text + " | " + " ; ".join(dict.fromkeys(clues)))[: len(pq.query.text)
                                                                      + EVIDENCE_CHARS]
    return PlannedQuery(DocQuery(text=text, k=pq.query.k), pq.purpose, pq.why + " + evidence")


def _reject_question(question: str) -> str | None:
    """A clear message for a question that cannot be answered at all, else None."""
    stripped = question.strip()
    bad = unencodable(stripped)
    if bad:
        return f"The question holds {bad}, which is not text. Send it as UTF-8 text."
    if not stripped:
        return "The question is empty. Ask about a metric, log, event or runbook, e.g. " \
               "'peak CPU on web-03 in the last hour'."
    if len(stripped) > MAX_QUESTION_CHARS:
        return (f"The question is {len(stripped)} characters long; the limit is "
                f"{MAX_QUESTION_CHARS}. Ask one focused question.")
    letters = sum(ch.isalpha() for ch in stripped)
    if letters < max(2, len(stripped) // 10):
        return "I could not read a question in that input. Ask about a metric, log, event " \
               "or runbook."
    return None


__all__ = ["AskOptions", "Assistant"]
