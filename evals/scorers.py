"""Deterministic scorers: each looks at one case and one Answer and says pass/fail and why.

Scorers: plan (per slot), window, numeric facts (relative tolerance), grounding (every
number in the answer traces to a fact), sources (retrieval hit), refusal/clarification,
language, mentions. A scorer that does not apply to a case returns None.

Two scorers read the answer's own words, not what the system says about it: language is
the share of Hangul among the letters of the answer's body (without the queries/sources
appendix, code or quoted log text), and a mention counts only when the answer does not
merely repeat the question's text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant import grounding
from assistant.answer import split_appendix
from assistant.facts import Fact
from assistant.ir import TimeRange
from assistant.models import Answer
from evals.schema import Case, ExpectedQuery, FactRef, resolve_when

HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
# Quoted material is data (log lines, templates, commands), not the answer's own language.
# Quoted material: code blocks and spans, quoted strings, Markdown blockquote lines ("> ").
QUOTED = re.compile(r"```.*?```|`[^`\n]*`|“[^”\n]*”|\"[^\"\n]*\"|^>[^\n]*", re.S | re.M)
# A token in no natural language: a host, path, metric, label=value, version or number.
IDENTIFIER = re.compile(r"[\d_=/@.:≥≤<>]")
TEMPLATE_HOLE = "<*>"
HOST_LABELS = ("host", "instance", "hostname", "node")
SERVICE_LABELS = ("service", "job", "app")


@dataclass
class Score:
    name: str
    ok: bool
    detail: str = ""
    expected: Any = None
    got: Any = None


@dataclass
class SlotTally:
    """Per-slot confusion: expected value -> got value -> count."""

    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def add(self, slot: str, expected: str, got: str) -> None:
        row = self.counts.setdefault(slot, {}).setdefault(expected, {})
        row[got] = row.get(got, 0) + 1


def _slots(ir: dict[str, Any]) -> dict[str, Any]:
    """The comparable slots of one planned IR query."""
    out: dict[str, Any] = {"kind": ir.get("kind")}
    if ir.get("kind") == "metric":
        out.update(metric=ir.get("metric"), function=ir.get("function"),
                   aggregation=ir.get("aggregation"))
        for m in ir.get("matchers", []):
            if m["label"] in HOST_LABELS:
                out["host"] = m["value"]
            if m["label"] in SERVICE_LABELS:
                out["service"] = m["value"]
    elif ir.get("kind") == "logs":
        out.update(host=ir.get("host"), service=ir.get("service"), level=ir.get("level"),
                   count_by=ir.get("count_by"))
    elif ir.get("kind") == "events":
        out.update(host=ir.get("host"), service=ir.get("service"),
                   event_kinds=sorted(ir.get("kinds", [])))
    return out


def _matches(exp: ExpectedQuery, slots: dict[str, Any]) -> list[str]:
    """Slots of `exp` that `slots` gets wrong (empty = match)."""
    wrong = []
    for key, want in exp.model_dump(exclude_none=True).items():
        got = slots.get(key)
        if key == "event_kinds":
            if sorted(want) != (got or []):
                wrong.append(key)
        elif key == "host" and isinstance(got, str) and "|" in got:
            if want not in got.split("|"):
                wrong.append(key)
        elif got != want:
            wrong.append(key)
    return wrong


def score_plan(case: Case, ans: Answer, tally: SlotTally) -> Score | None:
    if not case.expect.queries:
        return None
    planned = [_slots(q.ir) for q in ans.queries]
    problems = []
    for exp in case.expect.queries:
        candidates = [p for p in planned if p.get("kind") == exp.kind]
        best = min(candidates, key=lambda p: len(_matches(exp, p)), default=None)
        for key, want in exp.model_dump(exclude_none=True).items():
            got = best.get(key) if best else None
            tally.add(key, str(want), str(got))
        if best is None:
            problems.append(f"no {exp.kind} query")
        elif wrong := _matches(exp, best):
            problems.append(f"{exp.kind}: " + ", ".join(
                f"{k} expected {getattr(exp, k)!r} got {best.get(k)!r}" for k in wrong))
    return Score("plan", not problems, "; ".join(problems),
                 [e.model_dump(exclude_none=True) for e in case.expect.queries], planned)


def score_window(case: Case, ans: Answer, now: datetime) -> Score | None:
    w = case.expect.window
    if w is None:
        return None
    if ans.time_range is None:
        return Score("window", False, "no time range in the answer")
    start, end = resolve_when(w.start, now), resolve_when(w.end, now)
    ds = abs((ans.time_range.start - start).total_seconds())
    de = abs((ans.time_range.end - end).total_seconds())
    ok = ds <= w.tolerance_s and de <= w.tolerance_s
    return Score("window", ok, "" if ok else f"start off by {ds:.0f}s, end off by {de:.0f}s",
                 [start.isoformat(), end.isoformat()],
                 [ans.time_range.start.isoformat(), ans.time_range.end.isoformat()])


def close(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(float(a)) or math.isnan(float(b)):
            return False
        return abs(float(a) - float(b)) <= tol * max(abs(float(b)), 1e-9) + 1e-9
    return str(a).strip().lower() == str(b).strip().lower()


def template_matches(template: str, message: str) -> bool:
    """`template` (a log template: `<*>` stands for any text) matches the whole `message`;
    runs of whitespace are one space on both sides, case is ignored. Its fixed text must be
    at least a third of the message, so that a template of holes matches nothing."""
    tpl = " ".join(str(template).split())
    msg = " ".join(str(message).split())
    fixed = tpl.split(TEMPLATE_HOLE)
    if 3 * len("".join(fixed).replace(" ", "")) < len(msg.replace(" ", "")):
        return False
    parts = [re.escape(p) for p in fixed]
    return re.fullmatch(".*?".join(parts), msg, re.I | re.S) is not None


def _agrees(got: Any, want: Any, ref: FactRef) -> bool:
    if got is None:
        return False
    if ref.match == "template":
        return template_matches(str(got), str(want))
    return close(got, want, 0 if ref.label_key is not None else ref.tolerance)


def score_facts(case: Case, ans: Answer, refs: list[tuple[FactRef, list[Any] | str]]
                ) -> Score | None:
    """Each expected fact against the answer's facts; a reference with several values (a
    tie) accepts any of them; a string in place of the values is why the reference failed."""
    if not refs:
        return None
    problems = []
    for ref, wants in refs:
        if isinstance(wants, str) or not wants:
            why = wants if isinstance(wants, str) else "it has no value"
            problems.append(f"{ref.fact}: no reference value ({why})")
            continue
        # "No log lines matched" (a no_data fact) states a count of zero.
        names = {ref.fact, "no_data"} if ref.fact in ("count", "total") else {ref.fact}
        cands = [f for f in ans.facts if f.name in names
                 and all(f.labels.get(k) == v for k, v in ref.labels.items())]
        if ref.rank is not None:
            cands = [f for f in cands if f.rank == ref.rank]
        if ref.label_key is not None:
            got: list[Any] = [f.labels.get(ref.label_key) for f in cands]
        else:
            got = [f.value for f in cands]
        ok = any(_agrees(g, w, ref) for g in got for w in wants)
        if not ok:
            shown = wants[0] if len(wants) == 1 else wants[:3]
            problems.append(f"{ref.fact}{ref.labels or ''}: expected {shown!r}, got {got[:3]}")
    return Score("numeric", not problems, "; ".join(problems))


def score_grounding(ans: Answer, tr: TimeRange | None) -> Score | None:
    if tr is None or ans.refused or ans.clarification:
        return None
    facts = [Fact(name=f.name, value=f.value, unit=f.unit, labels=f.labels, at=f.at,
                  query_index=0, display=f.display, metric=f.metric, function=f.function,
                  rank=f.rank) for f in ans.facts]
    body, _appendix = split_appendix(ans.answer)
    # Numbers repeated from the runbook text an answer quotes are the source's, not claims.
    quotes = [s.quote for s in ans.sources if s.quote]
    report = grounding.check(body, facts, tr, extra_allowed=[ans.question, *ans.notes, *quotes])
    detail = "; ".join(f"{n!r} in {s[:60]!r}" for s, n in report.violations)
    return Score("grounding", report.grounded, detail)


def score_sources(case: Case, ans: Answer) -> Score | None:
    if not case.expect.sources:
        return None
    got = [s.source for s in ans.sources]
    ok = any(any(src.endswith(want) or want in src for src in got) for want in case.expect.sources)
    return Score("sources", ok, "" if ok else "expected runbook not cited",
                 case.expect.sources, got)


def score_refusal(case: Case, ans: Answer) -> Score | None:
    exp = case.expect
    if not (exp.refusal or exp.clarification or "adversarial" in case.tags):
        return None
    if exp.refusal:
        ok = ans.refused and not any(q.ok and q.purpose == "main" for q in ans.queries)
        return Score("refusal", ok, "" if ok else "expected a refusal")
    if exp.clarification:
        return Score("refusal", ans.clarification, "" if ans.clarification else
                     "expected a clarification / clear error")
    return Score("refusal", not ans.refused, "" if not ans.refused else "refused wrongly")


def own_text(answer: str) -> str:
    """The answer's own words: its body without the queries/sources appendix, code, quoted
    material (log lines, templates, titles) and identifiers (web-03, kind=alert, a/b/c)."""
    body, _appendix = split_appendix(answer)
    words = QUOTED.sub(" ", body).split()
    return " ".join(w for w in words if HANGUL.search(w)
                    or not IDENTIFIER.search(w.strip("()[]{},;:.!?'\"")))


def hangul_share(text: str) -> float | None:
    """Hangul among the letters of `text` (None: no letters at all).

    Letters are counted as letters, not as characters: a Hangul syllable block is two or
    three letters (jamo), as "web" is three, so a Korean sentence that names a service is
    not outweighed by the name.
    """
    hangul = latin = 0
    for c in text:
        if "\uac00" <= c <= "\ud7a3":
            hangul += 3 if (ord(c) - 0xAC00) % 28 else 2
        elif HANGUL.match(c):
            hangul += 1
        elif c.isalpha():
            latin += 1
    total = hangul + latin
    return hangul / total if total else None


def score_language(case: Case, ans: Answer) -> Score:
    """Korean expected: the answer's own text is mostly Hangul among its letters; English
    expected: it is not. What the system says the language is does not count."""
    share = hangul_share(own_text(ans.answer))
    if case.language == "ko":
        ok = share is not None and share > 0.5
    else:
        ok = share is None or share <= 0.5
    shown = "no letters" if share is None else f"{share:.0%} Hangul among letters"
    return Score("language", ok, "" if ok else f"expected {case.language} answer ({shown})",
                 case.language, shown)


def score_mentions(case: Case, ans: Answer, gt_mentions: list[str]) -> Score | None:
    """Each wanted string must be in the answer with the echoed question removed; no
    forbidden string may be anywhere in the answer."""
    wanted = list(case.expect.mentions) + gt_mentions
    if not wanted and not case.expect.forbidden:
        return None
    text = ans.answer.lower()
    missing = [m for m in wanted if not mentioned(ans.answer, m, case.question)]
    present = [m for m in case.expect.forbidden if m.lower() in text]
    ok = not missing and not present
    detail = "; ".join([f"missing {m!r}" + (" (only as an echo of the question)"
                                            if m.lower() in text else "") for m in missing]
                       + [f"contains {m!r}" for m in present])
    return Score("mentions", ok, detail)


def mentioned(answer: str, mention: str, question: str) -> bool:
    """`mention` occurs in `answer` outside any stretch that repeats the question's text.

    Every substring of the question that the answer repeats is an echo and does not count.
    An occurrence of `mention` lies inside such a stretch exactly when `mention` itself is
    part of the question (the occurrence is that stretch), so: the answer contains it and
    the question does not (case-insensitive).
    """
    m = mention.strip().lower()
    return bool(m) and m in answer.lower() and m not in question.lower()
