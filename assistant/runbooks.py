"""Runbook answers: which part of a runbook a question asks for, which runbook, and the quote.

A runbook question ("what does X mean?", "how do I fix X?", "X 알림 영향은?") is answered
with the runbook's own words: the section of the asked-for *role* (meaning, impact,
diagnosis, mitigation), quoted with its steps and code blocks intact, cited by file and
heading. The role is read from general operations wording (English and Korean); a
section's role from its heading. The runbook is the one whose title or file name *is* the
name in the question (exact, spelled in words, or with a small typo), else the best
retrieval hit. A question naming an alert that no runbook is titled after gets "no
runbook found", never a weak neighbour's text.

The quoted text is data: it is shown as written (numbers in it come from the source and
are allowed by grounding) and never read as instructions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import PurePosixPath
from typing import Literal

Role = Literal["meaning", "impact", "diagnosis", "mitigation"]
ROLES: tuple[Role, ...] = ("meaning", "impact", "diagnosis", "mitigation")


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.IGNORECASE)


# What the question asks for, checked in this order (a diagnosis question often also says
# "how do I"; "what's the first step" of a diagnosis is still a diagnosis).
QUESTION_ROLES: tuple[tuple[Role, re.Pattern[str]], ...] = (
    ("diagnosis", _rx(
        r"\bdiagnos", r"\btroubleshoot", r"\binvestigat", r"\bdebug", r"\btriage",
        r"\bwhat (?:should|do|can) (?:i|we) (?:check|look at|look for)", r"\bcheck first\b",
        r"\bwhere (?:do|should|can) (?:i|we) (?:start|begin)\b", r"\bwhere to (?:start|begin)\b",
        r"\bfirst step", "진단", "점검", "조사", r"(?:뭐|무엇|어디)\s*부터",
        r"(?:무엇|뭘|뭐)을?\s*확인",
        r"\bwhat (?:should|do|can) (?:i|we) run\b", r"\bwhich commands?\b", r"\brun first\b",
        r"\b(?:see|find out|figure out|work out|tell|check) (?:why|what)\b",
        r"원인을?\s*(?:찾|파악|알아)")),
    ("mitigation", _rx(
        r"\bfix(?:es|ed|ing)?\b", r"\bmitigat", r"\bresolve\b", r"\bremediat", r"\brepair\b",
        r"\bwork ?around", r"\bwhat (?:should|do|can) (?:i|we) do\b", r"\bsteps? to\b",
        r"\bprocedure\b", "절차",
        r"\bhow (?:do|should|can) (?:i|we) (?:handle|deal with|solve|clear|stop)\b",
        "해결", "조치", r"(?<!최)고치", "고쳐", "복구", "대응", "대처", "해소",  # 최고치: max
        # "how do I free space": a how-to that no word above names is a mitigation
        r"\bhow (?:do|should|can|would) (?:i|we)\b", r"\bhow to\b", "어떻게 (?:해|하)")),
    ("impact", _rx(
        r"\bimpact", r"\bconsequence", r"\bhow bad\b", r"\bhow serious\b",
        r"\bwhat happens (?:when|if)\b", r"\bseverity of\b", r"\bhow severe\b", "영향",
        "심각",
        r"\bwhat (?:breaks|will break|would break|stops working|is affected|are affected|"
        r"goes wrong|could go wrong)\b", r"\bblast radius\b", r"\bif (?:we|i) ignore\b",
        r"\bwhy (?:does|should) (?:it|this|that) matter\b",
        # "...하면 무슨 문제가 생겨?" (a consequence); "무슨 문제가 있어?" asks what is wrong
        r"(?:무슨|어떤)\s*문제가?\s*(?:생기|생겨|생길|일어|발생)")),
    ("meaning", _rx(
        r"\bmean(?:s|ing)?\b\s*\??\s*$", r"\bwhat does .{1,80}\bmean\b", r"\bmeaning\b",
        r"\bexplain\b", r"\bdescribe\b", "뜻", "의미", "설명",
        r"\btelling (?:me|us)\b", r"\bwhat is .{1,60}\babout\b")),
)
# "what is the X alert (about)?" / "X 알림이 뭐야?": a meaning question only when it is
# about an alert or a runbook, so "what is the peak CPU?" stays a metric question.
WHAT_IS = _rx(r"\bwhat(?:'s| is| are)\b", "뭐야", "뭐지", "뭔가", "뭐예요", "무엇", "뭐임")
ALERT_WORDS = _rx(r"\balerts?\b", r"\balarms?\b", r"\brunbooks?\b", "알림", "알람", "경보", "런북")
# Questions that need the telemetry too ("why is X firing and what do I do").
CAUSE = _rx(r"\bwhy\b", r"\broot cause\b", r"\bwhat happened\b", r"\bwhat'?s going on\b",
            r"\bwhat is going on\b", "왜", "원인", "무슨 일", "무슨일")

HEADING_ROLES: tuple[tuple[Role, re.Pattern[str]], ...] = (
    ("mitigation", _rx(r"mitigat", r"remediat", r"resolution", r"resolv", r"\bfix",
                       r"solution", r"recover", r"workaround", "해결", "조치", "대응")),
    ("diagnosis", _rx(r"diagnos", r"troubleshoot", r"investigat", r"debug", r"triage",
                      r"to check", r"checks?\b", r"log patterns", r"possible causes?",
                      "진단", "확인", "점검")),
    ("impact", _rx(r"impact", r"consequence", r"severity", r"effect", "영향")),
    ("meaning", _rx(r"meaning", r"description", r"overview", r"summary", r"symptom",
                    r"about", r"what (?:it|this) means", "의미", "설명", "개요", "증상")),
)

ROLE_NAMES = {"meaning": "Meaning", "impact": "Impact", "diagnosis": "Diagnosis",
              "mitigation": "Mitigation"}
ROLE_KO = {"meaning": "의미", "impact": "영향", "diagnosis": "진단", "mitigation": "조치"}

MAX_LINES = 15
NAME_RATIO = 0.9
"""How alike a name in the question and a runbook's title must be to count as a typo of
it (difflib ratio over the lower-cased letters and digits)."""
MIN_FUZZY_CHARS = 8
FILLER = frozenset({"a", "an", "the", "is", "are", "was", "on", "of", "in", "its", "it",
                    "has", "have", "had"})
"""Words a person adds when saying a name aloud ("quota is low on space")."""
MAX_NGRAM = 8
_WORD = re.compile(r"[A-Za-z0-9]+")
# An alert-shaped identifier: one word with a lower-to-upper case change ("KubeJobFailed",
# "etcdNoLeader"); "CPU" or "PDB" are abbreviations, not names.
_IDENT = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*")
# "what is KubeNodeNotReady (telling me)?", "KubeNodeNotReady가 뭐야?": the name itself is
# what is asked about ("the message PowerManagerService logged most" is not).
WHAT_IS_NAME = re.compile(
    rf"\bwhat(?:'s| is| are)\s+(?:the\s+|an?\s+)?{_IDENT.pattern}(?![\w-])"
    rf"|{_IDENT.pattern}\s*(?:이|가|은|는|란|이란)?\s*(?:뭐야|뭐지|뭔가|무엇|뭐예요|뭐임)")
# Text in a document addressed to an assistant ("ignore previous instructions ...") is not a
# runbook step: it is left out of the quote (and never followed).
ADDRESSED_TO_AI = _rx(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions|prompt|rules)\b",
    r"\b(?:as an?|you are an?) (?:ai|assistant|language model)\b", r"\bsystem prompt\b")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}\s")


def question_role(question: str) -> Role | None:
    """The runbook section a question asks for, or None when it asks for none."""
    for role, rx in QUESTION_ROLES:
        if rx.search(question):
            return role
    if (WHAT_IS.search(question) and ALERT_WORDS.search(question)) \
            or WHAT_IS_NAME.search(question):
        return "meaning"  # "what is the X alert?", "what is KubeNodeNotReady?"
    return None


def asks_meaning_of_an_alert(question: str) -> bool:
    """"What does the X alert mean?" / "impact of X": a question about an alert's meaning
    or impact, never a request to act, even when the alert's name holds a verb ("reboot")."""
    return question_role(question) in ("meaning", "impact") and bool(
        ALERT_WORDS.search(question) or alert_names(question))


DIAGNOSE_TO = _rx(r"\b(?:see|find out|figure out|work out|tell|check|know) why\b",
                  r"원인을?\s*(?:찾|파악|알아)")
"""A cause word that says what the steps are for ("what do I run to see why"), not a
question about what happened."""


def asks_cause(question: str) -> bool:
    """The question also asks what is happening (so telemetry is needed, not only docs)."""
    return bool(CAUSE.search(DIAGNOSE_TO.sub(" ", question)))


def heading_role(heading: str) -> Role | None:
    """The role of a section, from its heading ("Mitigation", "Metrics to check")."""
    for role, rx in HEADING_ROLES:
        if rx.search(heading):
            return role
    return None


def _key(text: str) -> str:
    return "".join(_WORD.findall(text)).lower()


def doc_names(source: str, title: str) -> set[str]:
    """The normalised names a runbook goes by: its title and its file name."""
    stem = PurePosixPath(source).stem
    return {k for k in (_key(title), _key(stem)) if k}


@dataclass(frozen=True)
class NameMatch:
    source: str
    said: str  # the question's words that name it
    exact: bool
    ratio: float


def name_candidates(question: str) -> list[tuple[str, str]]:
    """(words as written, normalised key) for every run of 2..8 ASCII words, and every
    alert-shaped word alone: one plain word ("search") names a topic, not a runbook."""
    words = list(_WORD.finditer(question))
    out: list[tuple[str, str]] = []
    for i in range(len(words)):
        if _IDENT.fullmatch(words[i].group(0)):
            out.append((words[i].group(0), words[i].group(0).lower()))
        for j in range(i + 2, min(len(words), i + MAX_NGRAM) + 1):
            said = question[words[i].start():words[j - 1].end()]
            run = [w.group(0).lower() for w in words[i:j]]
            out.append((said, "".join(run)))
            kept = [w for w in run if w not in FILLER]
            if len(kept) > 1 and len(kept) < len(run) and run[0] == kept[0]:
                out.append((said, "".join(kept)))
    return out


def match_title(question: str, titles: Mapping[str, str]) -> NameMatch | None:
    """The runbook whose title or file name is a name in the question: exact first (the
    longest), else the closest within `NAME_RATIO` (typos)."""
    names = {source: doc_names(source, title) for source, title in titles.items()}
    by_key: dict[str, str] = {}
    for source, keys in names.items():
        for k in keys:
            by_key.setdefault(k, source)
    cands = name_candidates(question)
    exact = [(len(key), said, by_key[key]) for said, key in cands if key in by_key
             and (len(key) >= 4)]
    if exact:
        _, said, source = max(exact)
        return NameMatch(source=source, said=said, exact=True, ratio=1.0)
    best: NameMatch | None = None
    for said, key in cands:
        if len(key) < MIN_FUZZY_CHARS:
            continue
        for k, source in by_key.items():
            if abs(len(k) - len(key)) > 3 or k[:2] != key[:2]:
                continue
            sm = SequenceMatcher(None, key, k, autojunk=False)
            if sm.real_quick_ratio() < NAME_RATIO or sm.quick_ratio() < NAME_RATIO:
                continue
            ratio = sm.ratio()
            if ratio >= NAME_RATIO and (best is None or ratio > best.ratio):
                best = NameMatch(source=source, said=said, exact=False, ratio=ratio)
    return best


def alert_names(question: str) -> list[str]:
    """Alert-shaped identifiers written in the question ("KubeJobFailed")."""
    return list(dict.fromkeys(m.group(0) for m in _IDENT.finditer(question)))


@dataclass(frozen=True)
class Section:
    """One indexed chunk: its heading, the level 1-2 heading it sits under, its text."""

    source: str
    heading: str
    text: str
    parent: str = ""

    @property
    def under(self) -> str:
        return self.parent or self.heading


@dataclass(frozen=True)
class RunbookQuote:
    """What the answer quotes: the section, its role, the cut text; or what was missing."""

    role: Role
    source: str | None = None
    heading: str = ""
    excerpt: str = ""
    section_text: str = ""
    missing: str | None = None  # the name no runbook is titled after
    role_found: bool = True  # False: the runbook has no section of that role

    def lines(self, language: str) -> list[str]:
        """The headline lines, in `language` (the quote itself stays as written)."""
        ko = language == "ko"
        if self.source is None:
            name = self.missing or ""
            return [f"'{name}'에 대한 런북이 없습니다. 색인된 문서 중 이 알림을 다루는 "
                    "런북을 찾지 못했습니다." if ko else
                    f"No runbook found for {name}: no indexed document is titled after it."]
        cite = f"{self.source} § {self.heading}"
        if ko:
            what = ROLE_KO[self.role]
            head = (f"런북의 '{self.heading}' 섹션({what})을 원문 그대로 인용합니다 "
                    f"(출처 {cite}). 명령어와 단계는 원문 그대로입니다:")
            if not self.role_found:
                head = (f"이 런북에는 {what} 섹션이 없어 '{self.heading}' 섹션을 원문 그대로 "
                        f"인용합니다 (출처 {cite}):")
        else:
            head = f"From the runbook's {ROLE_NAMES[self.role]} section ({cite}):"
            if not self.role_found:
                head = (f"The runbook has no {ROLE_NAMES[self.role]} section; its "
                        f"'{self.heading}' section ({cite}):")
        more = self.excerpt.endswith("\n…")
        quote = self.excerpt[:-2] if more else self.excerpt
        tail = (["(이하 생략: 나머지 단계는 런북 원문을 참고하세요.)" if ko else
                 "(The section continues in the runbook.)"] if more else [])
        return [head, as_blockquote(quote), *tail]


def _units(body: str) -> list[list[str]]:
    """Paragraphs, list items and whole code blocks, in order (blank lines dropped)."""
    units: list[list[str]] = []
    cur: list[str] = []
    fence: str | None = None
    for line in body.splitlines():
        m = _FENCE.match(line)
        if fence is not None:
            cur.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
                units.append(cur)  # a code block is a unit of its own
                cur = []
            continue
        if m:
            fence = m.group(1)
            if cur:
                units.append(cur)
            cur = [line]
            continue
        if not line.strip():
            if cur:
                units.append(cur)
                cur = []
            continue
        if re.match(r"^\s{0,3}(?:[*+-]|\d+[.)])\s", line) and cur and not _FENCE.match(cur[0]):
            units.append(cur)
            cur = []
        cur.append(line)
    if cur:
        units.append(cur)
    return units


def excerpt(text: str, role: Role, max_lines: int = MAX_LINES) -> str:
    """The section's opening, whole sentences, steps and code blocks, at most about
    `max_lines` lines; a diagnosis stops after its first step that carries a command."""
    lines = text.splitlines()
    if lines and _HEADING_LINE.match(lines[0]):
        lines = lines[1:]  # the section's own heading: the citation names it
    # Deeper headings stay, as plain lines ("1. Verify the operator is running").
    body = "\n".join(_HEADING_LINE.sub("", ln) if _HEADING_LINE.match(ln) else ln
                     for ln in lines).strip("\n")
    out: list[list[str]] = []
    used = 0
    command = False
    units = [u for u in _units(body) if not ADDRESSED_TO_AI.search(" ".join(u))]
    for unit in units:
        size = sum(1 for ln in unit if not _FENCE.match(ln))  # fence lines are not content
        # A diagnosis or mitigation quote always reaches its first step with a command.
        if out and used + size > max_lines and (command or role in ("meaning", "impact")
                                                 or used + size > 2 * max_lines):
            break
        out.append(unit)
        used += size
        command = command or _has_command(unit)
    shown = len(out)
    if role in ("diagnosis", "mitigation"):
        out += _later_steps(units[shown:], 2 * max_lines)
    text_out = "\n\n".join(_dedent(unit) for unit in out).rstrip()
    complete = shown + sum(1 for u in out[shown:] if u != [ELIDED]) == len(units)
    return text_out + ("" if complete else "\n…")


ELIDED = "…"
"""Stands in a quote for the prose left out between two quoted steps."""
WARNING = _rx(r"\bwarning\b", r"\bcaution\b", r"\bdanger", r"data loss", r"irreversib",
              r"cannot be undone", r"\bimportant\b", "주의", "경고")


def _later_steps(units: list[list[str]], max_lines: int) -> list[list[str]]:
    """After a quote's opening: the section's remaining commands and warnings, in order,
    with an ellipsis where prose is left out. At 3 a.m. every command of a mitigation is
    worth seeing, and so is the line that says a step loses data."""
    out: list[list[str]] = []
    used = 0
    skipped = False
    for unit in units:
        if not (_has_command(unit) or WARNING.search(" ".join(unit))):
            skipped = True
            continue
        size = sum(1 for ln in unit if not _FENCE.match(ln))
        if used + size > max_lines:
            break
        if skipped:
            out.append([ELIDED])
            skipped = False
        out.append(unit)
        used += size
    return out


_COMMAND_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})\s*(?:console|shell|sh|bash|zsh|terminal|"
                            r"powershell|ps1|cmd|sql|promql)\b", re.IGNORECASE)


def _has_command(unit: list[str]) -> bool:
    """A code block of commands (a shell fence, or lines starting with a prompt)."""
    if not any(_FENCE.match(ln) for ln in unit):
        return False
    return any(_COMMAND_FENCE.match(ln) for ln in unit) or any(
        ln.lstrip().startswith(("$ ", "# ", "> ")) for ln in unit if not _FENCE.match(ln))


def as_blockquote(excerpt_text: str) -> str:
    """The excerpt for reading: each paragraph or step on one line behind "> " (the source's
    words, marked as a quote), code blocks as they are so commands copy cleanly."""
    out: list[str] = []
    for unit in _units(excerpt_text):
        if _FENCE.match(unit[0]):
            out.extend(unit)
        else:
            out.append("> " + " ".join(ln.strip() for ln in unit))
    return "\n".join(out)


def _dedent(unit: list[str]) -> str:
    """The unit moved left; a code block by its closing fence's indent (a chunk may have
    lost the opening fence's indent)."""
    if len(unit) > 1 and _FENCE.match(unit[0]) and _FENCE.match(unit[-1]):
        indent = len(unit[-1]) - len(unit[-1].lstrip())
    else:
        indent = min((len(ln) - len(ln.lstrip()) for ln in unit if ln.strip()), default=0)
    return "\n".join(ln[min(indent, len(ln) - len(ln.lstrip())):] for ln in unit)


def choose_section(sections: Sequence[Section], role: Role) -> tuple[Section | None, bool]:
    """The section of `role` (its chunks joined in order, subsections included), else the
    first one with a body."""
    picked = [s for s in sections if heading_role(s.under) == role]
    if picked:
        first = picked[0]
        same = [s for s in picked if s.under == first.under]
        return Section(first.source, first.under, "\n\n".join(s.text for s in same)), True
    body = [s for s in sections if s.text.strip() and not _only_heading(s.text)]
    return (body[0] if body else None), False


def _titled_with(question: str, named: Sequence[str], ranked: Sequence[str],
                 titles: Mapping[str, str]) -> str | None:
    """A runbook whose name holds a name the question writes ("NotReady" in
    KubeNodeNotReady): the best ranked one, else the one whose name holds most of the
    question's other words; None when no runbook's name holds it."""
    keys = [_key(n) for n in named]
    holding = [src for src, title in titles.items()
               if any(k in name for k in keys for name in doc_names(src, title))]
    if not holding:
        return None
    rank = {src: i for i, src in enumerate(ranked)}
    words = {w.lower() for w in _WORD.findall(question) if len(w) > 2}

    def order(src: str) -> tuple[int, int, int]:
        name = max(doc_names(src, titles[src]), key=len)
        return (rank.get(src, len(rank)), -sum(w in name for w in words), len(name))

    return min(holding, key=order)


def _only_heading(text: str) -> bool:
    return all(_HEADING_LINE.match(ln) or not ln.strip() for ln in text.splitlines())


def quote(
    question: str,
    role: Role,
    ranked_sources: Sequence[str],
    titles: Mapping[str, str],
    sections_of: Callable[[str], Sequence[Section]],
) -> RunbookQuote | None:
    """The runbook quote for `question`, or a "none found" quote, or None (nothing indexed).

    `ranked_sources`: the retrieval's hits' sources, best first; `titles`: every indexed
    source and its title; `sections_of(source)`: that source's sections in order.
    """
    match = match_title(question, titles)
    named = alert_names(question)
    source: str | None = match.source if match else None
    if source is None:
        # An alert named in the question that no runbook is titled after: say so rather
        # than quote a neighbour that merely shares words with it.
        ranked = list(dict.fromkeys(ranked_sources))
        if named:
            source = _titled_with(question, named, ranked, titles)
            if source is None:
                return RunbookQuote(role=role, missing=named[0])
        else:
            # The best hit that has a section of the asked role, else the best hit.
            source = next((s for s in ranked
                           if choose_section(sections_of(s), role)[1]),
                          next(iter(ranked), None))
    if source is None:
        return None
    section, found = choose_section(sections_of(source), role)
    if section is None:
        return None
    # The section's text with its line breaks as spaces, as the quote reflows it ("15
    # minutes" across a break is one quantity).
    return RunbookQuote(role=role, source=source, heading=section.heading,
                        excerpt=excerpt(section.text, role),
                        section_text=" ".join(section.text.split()), role_found=found)


__all__ = [
    "ROLES",
    "NameMatch",
    "Role",
    "RunbookQuote",
    "Section",
    "alert_names",
    "asks_cause",
    "asks_meaning_of_an_alert",
    "choose_section",
    "excerpt",
    "heading_role",
    "match_title",
    "question_role",
    "quote",
]
