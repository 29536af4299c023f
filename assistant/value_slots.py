"""Values inside messages: which placeholder (``<*>``) of the logs' templates a question asks
about ("which registry hives were loaded", "how many different packages", "the domain that
was full most often"), chosen from the templates' own words next to it.

A placeholder is described by the literal words right before it ("registry hive: <*>") and
right after it ("<*> is full"). The question's content words (English stems, Korean through
the content-word glossary) are matched against those words; the slot with the most matches
wins (ties: the template sharing more of the question's words, then the shorter template).
The chosen slot becomes a regular expression that reads the value from each line of that
template (`assistant.ir.Extract` kind ``regex``): the same on every SQL engine (RE2).
Nothing here knows a log system: the words come from the question and the templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from assistant.content_words import content_words, stem

PLACEHOLDER = "<*>"
NEAR_WORDS = 2
"""Literal words on each side of a placeholder that describe it."""
MIN_STEM = 4
"""Two stems match when equal, or one starts the other and the shorter has this many
letters ("synchroniz" / "synchronize")."""
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
GENERIC = frozenset(stem(w) for w in (
    "log", "line", "message", "entry", "value", "name", "time", "number", "which", "what",
    "most", "often", "different", "distinct", "unique", "many", "the", "was", "were", "did",
    "does", "error", "err", "warn", "warning", "fatal", "critical", "info", "debug",
    "exception", "event", "kind", "type"))
"""Words too general to say which placeholder is meant (a severity or "message" asks for
messages, not for a value inside them)."""
_VALUE_CHAR = r"[^\s,;()\[\]]"
VALUE_CHARS = _VALUE_CHAR + "+"
VALUE = "\"?([^\\s,;()\\[\\]\"]*[^\\s,;()\\[\\]:.\"])"
"""A value: a run of characters up to a space, comma, semicolon or bracket, without a colon
or full stop that ends it ("allreduce.rts:" is "allreduce.rts") or the double quotes
around it (tag="RILJ_ACK_WL" is RILJ_ACK_WL)."""

HOST_NAME = (r"(?:^|[^\w.-])((?:\d{1,3}\.){3}\d{1,3}|(?:[A-Za-z0-9-]+\.){2,}[A-Za-z][A-Za-z0-9-]*)"
             r"(?:[^\w.-]|$)")
"""RE2 whose group 1 is the first host a message names: an IPv4 address or a name of three
or more dotted labels ("bolt.dropbox.com"; a port after it is left out). Two-label names are
not read, so that program and file names ("chrome.exe", "app.log") are not taken for hosts."""


@dataclass(frozen=True)
class Slot:
    """One placeholder of one template, and how well the question's words describe it."""

    template: str
    index: int
    matched: tuple[str, ...]
    score: tuple[int, int, int, int]
    specific: bool = False
    """The question's other words tell this template from others that name the same value
    ("loaded" the hive, not "unloaded"): the value is read only from lines of this one."""
    named_by: str = ""
    """The text between the value and a name that the templates saying it differ in
    ("HRESULT = <*> - E_FAIL]", "... - CBS_E_INVALID_PACKAGE]"): the value is read with that
    name ("0x80004005 - E_FAIL")."""

    def pattern(self) -> str:
        """RE2 whose group 1 is the value: the template's literal words around the
        placeholder that the question named ("HRESULT = <*>" reads the value wherever a
        template says it; "domain <*> is full" only in that template)."""
        parts = self.template.split(PLACEHOLDER)
        left, right = parts[self.index], parts[self.index + 1]
        words = list(_WORD.finditer(left))[-NEAR_WORDS:]
        named = [w for w in words if self._named(w.group(0))]
        start = named[0].start() if named else len(left)
        if named:  # "failed network connection on network <*>": "on network", not the first
            start = _unambiguous_start(PLACEHOLDER.join(parts[: self.index + 1]), start,
                                       len(left))
        before = _literal(left[start:]) if named else ""
        after = ""
        m = _WORD.search(right)
        if m is not None and not right[:m.start()].strip(" :=,") and (
                self._named(m.group(0)) or not before):
            after = _literal(right[m.start():m.end()])
            if not before and not self._named(m.group(0)):
                # "<*> is deprecated": read up to the word the question named
                ahead = list(_WORD.finditer(right))[:NEAR_WORDS]
                named_at = next((w for w in ahead if self._named(w.group(0))), None)
                if named_at is not None and PLACEHOLDER not in right[:named_at.end()]:
                    after = _literal(right[m.start():named_at.end()])
        if self.specific:
            before = r"\s*.*?".join(_literal(p) for p in parts[: self.index]) + (
                r".*?" if self.index else "") + _literal(left)
            after = _literal(right[m.start():m.end()]) if m is not None and not right[
                :m.start()].strip(" :=,") else after
        if not before and not after:
            return ""
        value = VALUE
        if self.named_by and not after:
            value = f"({VALUE_CHARS}(?:{_literal(self.named_by)}[A-Za-z_][\\w.]*)?)"
        elif not after and re.match(r"[:=/|>]\s", right):
            # "Error loading <*>: invalid ...": the value ends before the template's colon
            return "(?i)" + before + f"({VALUE_CHARS}?)" + re.escape(right[0]) + r"(?:\s|$)"
        # the line may punctuate after the value where the template does not ("SOFTWARE, into")
        return "(?i)" + before + value + (r"[^\w\s]*\s*" + after if after else "")

    def label(self) -> list[str]:
        """The stems of the words before the placeholder that the question named (from the
        first of them): "hive" of "registry hive: <*>" asked as "hives"."""
        left = self.template.split(PLACEHOLDER)[self.index]
        words = [w.group(0) for w in list(_WORD.finditer(left))[-NEAR_WORDS:]]
        first = next((i for i, w in enumerate(words) if self._named(w)), len(words))
        return [x for w in words[first:] for x in _stems(w)]

    def names(self, words: str) -> bool:
        """Whether one of `words` is one of the question's words that describe this slot."""
        return any(_same(stem(w), a) for w in words.split() for a in self.matched)

    def _named(self, word: str) -> bool:
        return any(_same(a, t) for t in _stems(word) for a in self.matched)


def _unambiguous_start(before: str, start: int, left_len: int) -> int:
    """Where the literal words before a value must start so that they occur once in the
    template's text before the value (`before`; `start` is relative to its last
    `left_len` characters): earlier words are added, at most `NEAR_WORDS`."""
    offset = len(before) - left_len
    at = offset + start
    for _ in range(NEAR_WORDS):
        said = before[at:].strip().lower()
        if not said or before.lower().count(said) < 2:
            break
        prev = list(_WORD.finditer(before[offset:at]))
        if not prev:
            break
        at = offset + prev[-1].start()
    return at - offset


def _literal(text: str) -> str:
    """`text` as RE2: a run of spaces between two words (or after a word, where the value
    follows) as whitespace, any other run as optional whitespace ("proxy <*>" does not read
    "proxy.cse..." as "proxy" + ".cse..."; "HRESULT = <*>" still reads "HRESULT=0x8")."""
    pieces = re.split(r"( +)", text)
    rx: list[str] = []
    for i, part in enumerate(pieces):
        if i % 2 == 0:
            rx.append(re.escape(part))
            continue
        before, after = pieces[i - 1], pieces[i + 1] if i + 1 < len(pieces) else ""
        joins_words = bool(before) and before[-1].isalnum() and (not after or after[0].isalnum())
        rx.append(r"\s+" if joins_words else r"\s*")
    return "".join(rx)


def _stems(text: str) -> list[str]:
    out: list[str] = []
    for m in _WORD.finditer(text):
        parts = [m.group(0)] + [p for p in _CAMEL.findall(m.group(0)) if p != m.group(0)]
        out.extend(stem(p) for p in parts)
    return [s for s in out if len(s) > 1]


def _same(a: str, b: str) -> int:
    """How much two stems share (the shorter one's length), 0 when they differ."""
    if a == b:
        return len(a)
    short, long_ = sorted((a, b), key=len)
    return len(short) if len(short) >= MIN_STEM and long_.startswith(short) else 0


HEAD = re.compile(
    r"(?:\bwhich|\bwhat|\bhow many(?:\s+(?:different|distinct|unique))?|\bdifferent|\bdistinct"
    r"|\bunique|\blist(?:\s+the)?)\s+((?:(?!(?:were|was|did|does|do|had|have|has|is|are|in|on"
    r"|of|that|for|with|to|from|by|made|got|showed|shows|appeared|logged)\b)[\w.-]+\s*){1,3})",
    re.IGNORECASE)
"""The words naming what is asked for: "which registry hives were ...", "how many different
packages were ...": their matches weigh most."""
ENDS_HEAD = re.compile(
    r"\b(?:first|last|latest|earliest|most\s+recent)\s+((?:(?!(?:time|one|line|log|entry|message"
    r"|was|were|is|did|in|on|of|that|to|from)\b)[A-Za-z][\w.-]*\s*){1,2})", re.IGNORECASE)
"""The value named right after "the first" / "the last" ("the last BSSID it switched to")."""
KO_HEAD = re.compile(
    r"((?:[\w.-]+\s+)?[\w.-]+?)(?:은|는|이|가|들은|들이)\s*(?:뭐|무엇|몇|어떤|어느|누구|서로\s*다른"
    r"|모두|전부|총)"
    r"|((?:[\w.-]+\s+)?[\w.-]+?)(?:들|\s+종류)\s*(?:은|는|이|가)?\s*(?:뭐뭐|무엇무엇|어떤\s*것)"
    r"|(?:어떤|어느|무슨)\s+((?:[\w.-]+\s+){0,2}[\w.-]+?)(?:들)?(?:은|는|이|가|을|를)?(?=\s|$|\?)")
"""The Korean topic a value question asks about: "RDD는 뭐야", "데이터 소스는 뭐야"."""


OBJECT_QUESTION = re.compile(
    r"\b(?:which|what)\s+(?:[\w.-]+\s+){1,3}?(?:did|does|do)\s+(?:the\s+|a\s+|an\s+|its\s+)?"
    r"((?:[\w.-]+\s+){0,2}?[\w.-]+)\s+(?!not\b)([A-Za-z]{3,})\b",
    re.IGNORECASE)
"""An object question: "which NTP server did the nodes synchronize to", "what file did the
job open": the subject after "did" is not what is asked; the verb names the value."""


KO_SUBJECT = re.compile(
    r"^\s*([A-Za-z][\w.-]*)\s*(?:가|이)\s+(.+?)\s*\S+(?:은|는)\s*(?:뭐|무엇|어떤|어느)")
"""A Korean object question: "ciod가 로딩에 가장 많이 실패한 프로그램은 뭐야" (a named
subject with 가/이, what it did, then the asked noun)."""


def object_question(question: str) -> tuple[tuple[int, int], str] | None:
    """The span of an object question's subject and its verb phrase (the verb and up to two
    words after it: "fail to load"), or None."""
    m = OBJECT_QUESTION.search(question)
    if m:
        after = re.findall(r"[A-Za-z]{3,}", question[m.end(2):])[:2]
        return m.span(1), " ".join([m.group(2), *after])
    k = KO_SUBJECT.search(question)
    if k:
        said = [x for w in content_words(k.group(2), ()) for x in w.stems if " " not in x]
        return (k.span(1), " ".join(said)) if said else None
    return None


def _modifies(word: str) -> bool:
    """A Korean word that ends a relative clause ("끝난", "찾은", "나오는", "찼던"): it
    describes the noun after it, it is not that noun."""
    last = word[-1]
    if word.endswith("던"):
        return True
    if "가" <= last <= "힣":
        final = (ord(last) - 0xAC00) % 28
        return final in (4, 8)  # ㄴ, ㄹ batchim: 난, 은, 는, 할
    return False


def head_stems(question: str) -> set[str]:
    """Stems of the words right after "which" / "how many different" / "list the", and
    the verb of an object question (the value is what the subject did it to)."""
    out: set[str] = set()
    obj = object_question(question)
    if obj is not None:
        out.update(stem(w) for w in obj[1].split())
    for m in KO_HEAD.finditer(question):  # "... 찾은 데이터 소스는 뭐야": the topic
        words = m.group(m.lastindex or 1).split()
        if len(words) > 1 and _modifies(words[0]):
            words = words[1:]  # "끝난 태스크는": the task, not "finished"
        out.update(s for w in content_words(" ".join(words), ()) for s in w.stems
                   if " " not in s)
    for m in ENDS_HEAD.finditer(question):  # "the last BSSID", "the first instance"
        out.update(stem(w) for w in _WORD.findall(m.group(1)))
    for m in HEAD.finditer(question):
        for w in _WORD.findall(m.group(1)):
            if w.lower().endswith("ed") and out:
                break  # "which program opened ...": the verb ends the name
            out.add(stem(w))
    return out


def head_noun(question: str) -> str | None:
    """The stem of the noun a "which A B C" phrase ends in (English compounds end in their
    head: "which wake lock tag" asks for a tag), or None."""
    for m in HEAD.finditer(question):
        words = [w for w in _WORD.findall(m.group(1)) if not w.lower().endswith("ed")]
        if len(words) > 1:
            return stem(words[-1])
    return None


def question_stems(question: str, taken: Iterable[tuple[int, int]] = ()) -> list[str]:
    """The stems of the question's content words that may name a value."""
    out: list[str] = []
    for w in content_words(question, taken):
        for s in w.stems:
            for part in s.split():
                p = stem(part)
                if p not in GENERIC and len(p) > 1 and p not in out:
                    out.append(p)
    return out


MERGE_TOKENS = 40
"""Templates longer than this (in tokens) are not merged (`merged_templates`)."""
MERGE_MAX = 3000
"""A store with more templates than this is not searched for merges (time)."""


@lru_cache(maxsize=8)
def merged_templates(templates: tuple[str, ...]) -> tuple[str, ...]:
    """Templates that differ from one another in one or two words only, merged with a
    placeholder there ("mapred.tip.id is deprecated. Instead, use mapreduce.task.id" and
    "mapred.job.id is deprecated. ..." -> "<*> is deprecated. Instead, use <*>"): a log
    parser that kept each value as its own template still has a value slot to ask about."""
    if len(templates) > MERGE_MAX:
        return ()
    groups: dict[tuple[object, ...], set[int]] = {}
    tokens = [t.split() for t in templates]
    for k, toks in enumerate(tokens):
        n = len(toks)
        if n < 3 or n > MERGE_TOKENS:
            continue
        for i in range(n):
            for j in range(i, n):
                key = (n, i, j, *toks[:i], *toks[i + 1:j], *toks[j + 1:])
                groups.setdefault(key, set()).add(k)
    out: dict[str, None] = {}
    seen: set[frozenset[int]] = set()
    for members in groups.values():
        if len(members) < 3 or frozenset(members) in seen:
            continue
        seen.add(frozenset(members))
        rows = [tokens[m] for m in sorted(members)]
        differ = [p for p in range(len(rows[0])) if len({r[p] for r in rows}) > 1]
        if not differ or any(PLACEHOLDER in r[p] for r in rows for p in differ):
            continue
        merged = [PLACEHOLDER if p in differ else w for p, w in enumerate(rows[0])]
        if len([w for w in merged if w != PLACEHOLDER]) >= 2:
            out[" ".join(merged)] = None
    return tuple(t for t in out if t not in templates)


def choose_slot(question: str, templates: Sequence[str],
                taken: Iterable[tuple[int, int]] = (), named_by: str = "") -> Slot | None:
    """The placeholder the question's words describe best, or None when none is named;
    with `named_by` (an object question's verb phrase) only a slot those words describe."""
    asked = question_stems(question, taken)
    heads = head_stems(question) - GENERIC
    if not asked or not heads:
        return None
    noun = head_noun(question)
    best: Slot | None = None
    for template in templates:
        parts = template.split(PLACEHOLDER)
        if len(parts) < 2:
            continue
        everywhere = _stems(template.replace(PLACEHOLDER, " "))
        shared = sum(1 for a in asked if any(_same(a, t) for t in everywhere))
        for i in range(len(parts) - 1):
            before = _stems(parts[i])[-NEAR_WORDS:]
            near = before + _stems(parts[i + 1])[:NEAR_WORDS]
            overlap = {a: max((_same(a, t) for t in near), default=0) for a in asked}
            matched = tuple(a for a, n in overlap.items() if n)
            if not matched or not heads & set(matched):
                continue  # "which registry hives": a slot the asked-for words do not name
            weight = sum((5 if a == noun else 3 if a in heads else 1)
                         * (2 if any(_same(a, t) for t in before) else 1) for a in matched)
            slot = Slot(template, i, matched,
                        (weight, sum(overlap.values()), shared, -len(template)))
            if not slot.pattern() or (named_by and not slot.names(named_by)):
                continue
            if best is None or slot.score > best.score:
                best = slot
    if best is None:
        return None
    same = _same_slot(best, templates, asked)
    if same and all(sc < best.score[2] for _, sc in same):
        return replace(best, specific=True)
    if same:
        return replace(best, named_by=_naming_gap(best, [t for t, _ in same]))
    return best


def _naming_gap(slot: Slot, others: list[str]) -> str:
    """The separator before a name right after the value, when the templates saying the
    value differ in that name; '' when they do not."""
    def after(template: str) -> tuple[str, str] | None:
        parts = template.split(PLACEHOLDER)
        for i in range(len(parts) - 1):
            if key and _stems(parts[i])[-len(key):] == key:
                m = re.match(r"([\s\-:=]+)([A-Za-z_][\w.]*)", parts[i + 1])
                return (m.group(1), m.group(2)) if m else None
        return None

    key = slot.label()
    found = [after(t) for t in [slot.template, *others]]
    if any(f is None for f in found):
        return ""
    seps = {f[0] for f in found if f}
    names = {f[1] for f in found if f}
    return seps.pop() if len(seps) == 1 and len(names) > 1 else ""


def _same_slot(slot: Slot, templates: Sequence[str], asked: list[str]
               ) -> list[tuple[str, int]]:
    """Other templates with a placeholder after the same words as `slot`'s, and how many
    of the question's words each shares."""
    key = slot.label()
    out: list[tuple[str, int]] = []
    for template in templates:
        if template == slot.template:
            continue
        tparts = template.split(PLACEHOLDER)
        if key and any(_stems(p)[-len(key):] == key for p in tparts[:-1]):
            words = _stems(template.replace(PLACEHOLDER, " "))
            out.append((template, sum(1 for a in asked if any(_same(a, t) for t in words))))
    return out
