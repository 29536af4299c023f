"""Content words -> a text filter on log messages, chosen from the logs' own vocabulary.

"How many lines mention timeouts" is about the lines containing "timeout", not every line.
After time phrases, linked entities and question words are taken, the words left over are
matched against the texts the logs are made of (their mined templates): the longest run of
adjacent words that occurs there becomes the filter, in the form the logs use it
("timeouts" -> "timeout", which also finds "timeouts"). Korean words reach the logs'
English vocabulary through a small glossary of general operations terms. A word that does
not occur in the logs at all still filters when the question asks for lines that mention it,
so the answer is an honest "no lines", not every line.

Where these words fall short (none of them in the logs, the one found in a large share of
the templates, or Korean words the glossary does not reach), `template_match.refine` picks
the templates the question means with the multilingual embedder and the same words as
evidence, and filters on their fixed text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache


def _words(text: str) -> list[str]:
    return text.split()


QUESTION_WORDS = frozenset(_words(
    """
    a an the of on in at for to from by with and or not no is are was were be been being am
    what which who whom how why when where whose show me give get list tell find display
    please any all each every there this that these those it its my our your their did do
    does has have had can could would should will may might must i we you they them us
    many much more most less least few number count counts counted total times time once
    twice occurrence occurrences occur occurred occurs happen happened happens appear
    appeared appears seen see logged recorded reported written printed shown
    log logs line lines message messages entry entries record records event events text
    mention mentions mentioning mentioned contain contains containing contained about
    regarding related relating involving concerning word words term string say says said
    data file dataset series whole entire overall ever so far than just only also
    request requests call calls api apis hit hits traffic activity
    something anything nothing everything someone anyone somewhere because since due
    first last latest earliest newest oldest top busiest distinct unique different value
    values kind kinds type types frequent common often
    write writes wrote writing emit emits emitted output outputs produce produced generate
    generated throw threw thrown raise raised return returned get got come came go went
    take took make made give gave print prints show shows showed report reports send
    up out off down goes going gone
    noisiest noisy chattiest loudest worst heaviest active complain complains complained
    complaining use used uses using
    second seconds minute minutes hour hours day days week weeks month months year years
    daily hourly utc gmt kst local
    """
))
"""Words that shape the question rather than name what the lines are about."""

FUNCTION_WORDS = frozenset(_words(
    """
    a an the of on in at for to from by with and or not no is are was were be been being am
    what which who whom how why when where whose me please any all each every there this
    that these those it its my our your their did do does has have had can could would
    should will may might must i we you they them us many much so than just only also
    """
))
"""Words never part of what lines say, not even inside a phrase."""

LEVEL_WORDS = frozenset(_words(
    "error errors err warn warning warnings fatal fatals critical info debug trace severe "
    "notice emerg alert crit verbose"
))
"""Severity names: alone they are a level filter, not a text filter."""

MENTION = re.compile(
    r"\b(?:mention\w*|contain\w*|about|regarding|related to|involving|concerning|with the "
    r"(?:word|text|string))\b|관련|포함|언급|들어간|들어있",
    re.IGNORECASE,
)
"""The question asks for lines by their text: a word not in the logs still filters."""

KO_GLOSSARY: dict[str, tuple[str, ...]] = {
    "타임아웃": ("timeout", "timed out"), "시간 초과": ("timeout", "timed out"),
    "시간초과": ("timeout", "timed out"),
    "에러": ("error",), "오류": ("error",), "실패": ("fail",), "거부": ("refused", "denied",
                                                                   "rejected"),
    "예외": ("exception",), "경고": ("warn",), "치명": ("fatal",),
    "연결": ("connect",), "접속": ("connect",), "끊김": ("disconnect",),
    "인증": ("auth",), "권한": ("permission",), "세션": ("session",), "로그인": ("login",),
    "로그아웃": ("logout",), "비밀번호": ("password",), "암호": ("password",),
    "사용자": ("user",), "메모리": ("memory",), "디스크": ("disk",), "파일": ("file",),
    "재시작": ("restart",), "재부팅": ("reboot",), "종료": ("shutdown", "exit", "terminat"),
    "시작": ("start",), "중지": ("stop",), "중단": ("abort", "stop"), "충돌": ("crash",),
    "크래시": ("crash",), "패킷": ("packet",), "인터럽트": ("interrupt",), "커널": ("kernel",),
    "네트워크": ("network",), "소켓": ("socket",), "포트": ("port",), "프록시": ("proxy",),
    "요청": ("request",), "응답": ("response",), "스레드": ("thread",),
    "프로세스": ("process",), "작업": ("job", "task"), "명령": ("command",),
    "전원": ("power",), "온도": ("temperature",), "배터리": ("battery",),
    "업데이트": ("update",), "설치": ("install",), "다운로드": ("download",),
    "동기화": ("sync",), "캐시": ("cache",), "쿼리": ("query",),
    "데이터베이스": ("database",), "손상": ("corrupt",), "누락": ("missing",),
    "재시도": ("retry",), "중복": ("duplicate",), "하트비트": ("heartbeat",),
    "스토리지": ("storage",), "볼륨": ("volume",), "인스턴스": ("instance",),
    "컨테이너": ("container",), "이미지": ("image",), "블록": ("block",),
    "알림": ("notification",), "잠금": ("lock",), "교착": ("deadlock",),
    "메일": ("mail",), "브라우저": ("browser",), "화면": ("screen",),
    "와이파이": ("wifi",), "블루투스": ("bluetooth",),
    "도메인": ("domain",), "소스": ("source",), "설정": ("setting", "config"),
    "클라이언트": ("client",), "호스트": ("host",), "서버": ("server",), "노드": ("node",),
    "주소": ("address",), "코드": ("code",), "상태": ("status",),
    "꽉 찼": ("full",), "꽉 찬": ("full",), "가득 찼": ("full",), "가득 찬": ("full",),
    "찾은": ("found", "find"), "찾았": ("found", "find"), "못 찾": ("not found", "cannot find"),
    "사용 중단": ("deprecated",), "더 이상 사용": ("deprecated",),
    "끝난": ("finish", "complete"), "끝났": ("finish", "complete"), "완료": ("complete", "finish"),
    "성공": ("success", "succeed"), "실행": ("run", "execut"), "할당": ("assign", "alloc"),
    "잡았": ("acquire",), "잡은": ("acquire",), "획득": ("acquire",), "해제": ("release",),
    "로딩": ("load",), "읽기": ("read",), "쓰기": ("write",),
    "삭제": ("delet", "remov"), "제거": ("remov", "delet"), "생성": ("creat", "spawn"),
    "열린": ("open",), "열었": ("open",), "닫힌": ("close",), "닫았": ("close",),
    "전송": ("send", "sent"), "보낸": ("sent", "send"), "수신": ("receiv",),
    "받은": ("receiv",), "차단": ("block", "deny", "denied"), "만료": ("expir",),
    "마운트": ("mount",), "초기화": ("init", "reset"), "등록": ("regist",),
    "갱신": ("renew", "refresh", "updat"), "검증": ("verif", "validat"),
    "변경": ("chang",), "바뀐": ("chang",), "바뀌": ("chang",), "감지": ("detect",),
    "초과": ("exceed",), "부족": ("insufficient", "low"), "복구": ("recover", "restor"),
    "백업": ("backup",), "마이그레이션": ("migrat",), "복제": ("replic",),
    "대기": ("wait",), "재연결": ("reconnect",), "스케줄": ("schedul",),
    "태그": ("tag",), "액션": ("action",), "메서드": ("method",), "채널": ("channel",),
    "변수": ("variable",), "스위치": ("switch",), "파티션": ("partition",),
    "끊긴": ("disconnect",), "끊겼": ("disconnect",), "끊어진": ("disconnect",),
    "잠자기": ("sleep",), "절전": ("sleep",), "깨어난": ("wake",), "깨어났": ("wake",),
}  # fmt: skip
"""General operations vocabulary, Korean -> English stems as logs write them."""

_KO_RX = re.compile("|".join(re.escape(k) for k in sorted(KO_GLOSSARY, key=len, reverse=True)))
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’][a-z]+)?")
_VOCAB_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
VARIANTS: dict[str, tuple[str, ...]] = {
    "timeout": ("timeout", "timed out", "time out"),
    "fail": ("fail",),
    "refus": ("refused", "refusing", "refuse"),
    "deny": ("denied", "deny"),
}
"""Spellings of one idea that no suffix rule joins ("timed out" for "timeout")."""


def stem(word: str) -> str:
    """A crude English stem shared by question and log words ("timeouts" -> "timeout",
    "failed" -> "fail", "interrupts" -> "interrupt", "denied" -> "deny")."""
    w = word.lower()
    if len(w) > 4 and w.endswith(("ies", "ied")):
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 6 and w.endswith("ure") and w[-4] not in "aeiou":  # "failure" -> "fail"
        return w[:-3]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "ls":  # "stopped" -> "stop"
                w = w[:-1]
            return w
    if len(w) > 4 and w.endswith("e") and w[-2] not in "aeiouy":  # "resolve" = "resolved"
        w = w[:-1]
    return w


@dataclass(frozen=True)
class Word:
    """One content word of the question: where it is and the stems it stands for."""

    text: str
    span: tuple[int, int]
    stems: tuple[str, ...]
    soft: bool = False
    """A question word ("data", "time"): part of a phrase only next to a content word."""


@dataclass(frozen=True)
class TextFilter:
    """What the log lines must contain, and the question's words it came from."""

    text: str | None
    pattern: str | None
    words: tuple[str, ...]
    found: bool
    """True when the text occurs in the logs' vocabulary."""
    spans: tuple[tuple[int, int], ...] = ()
    """Where its words are in the question."""
    templates: tuple[str, ...] = ()
    """The templates the filter was made of, when chosen by meaning."""
    close_call: bool = False
    """Those templates were chosen by a small margin over the next."""
    label: str = ""
    """How the answer names a pattern filter ("status code 404"), when not by its words."""

    @property
    def shown(self) -> str:
        return self.label or self.text or " / ".join(self.words)

    def pattern_words(self) -> list[str]:
        """The spellings a pattern filter accepts ("timeout", "timed out")."""
        if self.pattern is None:
            return [self.shown]
        inner = self.pattern.removeprefix("(?i)(?:").removesuffix(")")
        return [re.sub(r"\\(.)", r"\1", p) for p in inner.split("|")]


_CAMEL_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _with_parts(m: re.Match[str]) -> list[tuple[str, int, int]]:
    """A template word as (stem, start, end), preceded by the parts of a camel-case name
    ("ServerFileSystem" -> Server, File, System, then the whole word)."""
    word = m.group(0)
    whole = (stem(word), m.start(), m.end())
    parts = list(_CAMEL_PART.finditer(word))
    if len(parts) < 2 or word.isupper() or word.islower():
        return [whole]
    return [(stem(p.group(0)), m.start() + p.start(), m.start() + p.end()) for p in parts] \
        + [whole]


_COMPOUND = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+")


def _with_compounds(text: str, toks: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """`toks` with each hyphenated word also as one word after its parts ("Wi-Fi" is "wi",
    "fi", then "wifi"), so that a question may write it joined ("wifi", "email")."""
    for m in _COMPOUND.finditer(text):
        at = next((i for i, t in enumerate(toks) if t[2] == m.end()), None)
        if at is not None:
            toks.insert(at + 1, (stem(m.group(0).replace("-", "")), m.start(), m.end()))
    return toks


class Vocabulary:
    """The token sequences of the logs' templates, for finding phrases and their spellings."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.lines: list[tuple[str, list[tuple[str, int, int]]]] = []
        self.where: dict[str, list[int]] = {}  # stem -> the lines that hold it
        for text in texts:
            toks = _with_compounds(text, [t for m in _VOCAB_WORD.finditer(text)
                                          for t in _with_parts(m)])
            if toks:
                for s in dict.fromkeys(t[0] for t in toks):
                    self.where.setdefault(s, []).append(len(self.lines))
                self.lines.append((text, toks))

    @property
    def stems(self) -> set[str]:
        return set(self.where)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def has(self, word: str) -> bool:
        """True when the logs say `word` (in any inflection)."""
        return stem(word) in self.where

    def phrase(self, stems: Sequence[str]) -> str | None:
        """The text of the first template run whose stems are `stems`, its last word cut to
        the shared stem ("timeouts" found as "timeout"), or None."""
        if not stems or not all(s in self.where for s in stems):
            return None
        n = len(stems)
        for k in min((self.where[s] for s in stems), key=len):
            text, toks = self.lines[k]
            for i in range(len(toks) - n + 1):
                if all(toks[i + j][0] == stems[j] for j in range(n)):
                    start, end = toks[i][1], toks[i + n - 1][2]
                    if "<*>" in text[start:end]:
                        continue  # a value between the words: they are not a phrase
                    last = text[toks[i + n - 1][1]: end]
                    if last.lower().startswith(stems[-1]):
                        end = toks[i + n - 1][1] + len(stems[-1])
                    return text[start:end]
        return None

    def in_order(self, stems: Sequence[str]) -> list[str] | None:
        """The spellings of `stems` in the first template holding them all, in the order
        the template has them (each cut to its stem), or None."""
        if not stems or not all(s in self.where for s in stems):
            return None
        wanted = set(stems)
        for k in min((self.where[s] for s in stems), key=len):
            text, toks = self.lines[k]
            out: list[str] = []
            seen: set[str] = set()
            for st, a, b in toks:
                if st in wanted and st not in seen:
                    word = text[a:b]
                    out.append(word[: len(st)] if word.lower().startswith(st) else word)
                    seen.add(st)
            if seen == wanted:
                return out
        return None

    def variants(self, stem_: str) -> list[str]:
        """Spellings of `stem_` that occur in the logs (several only for VARIANTS)."""
        forms = VARIANTS.get(stem_, (stem_,))
        out = []
        for form in forms:
            parts = [stem(p) for p in form.split()]
            found = self.phrase(parts)
            if found is not None:
                out.append(found)
        return out


@lru_cache(maxsize=8)
def _vocabulary(texts: tuple[str, ...]) -> Vocabulary:
    return Vocabulary(texts)


def vocabulary(texts: Sequence[str]) -> Vocabulary:
    """A (cached) vocabulary over these template texts."""
    return _vocabulary(tuple(texts))


def content_words(question: str, taken: Iterable[tuple[int, int]]) -> list[Word]:
    """The question's words outside `taken` spans that are not question words."""
    spans = list(taken)

    def free(s: int, e: int) -> bool:
        return not any(s < b and a < e for a, b in spans)

    out: list[Word] = []
    for m in _EN_WORD.finditer(question):
        w = m.group(0).lower()
        if not free(m.start(), m.end()) or w in FUNCTION_WORDS or "'" in w or "’" in w:
            continue
        out.append(Word(m.group(0), m.span(), (stem(w),), soft=w in QUESTION_WORDS))
    for m in _KO_RX.finditer(question):
        if free(m.start(), m.end()):
            stems = tuple(stem(x) if " " not in x else x for x in KO_GLOSSARY[m.group(0)])
            out.append(Word(m.group(0), m.span(), stems))
    return sorted(out, key=lambda w: w.span)


def _runs(question: str, words: list[Word]) -> list[list[Word]]:
    """Adjacent words (nothing but spaces and punctuation between) as runs."""
    runs: list[list[Word]] = []
    for w in words:
        if runs and re.fullmatch(r"[\s\-_/:,.'\"]*", question[runs[-1][-1].span[1]: w.span[0]]):
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs


LEVEL_OF: dict[str, str] = {
    "error": "error", "errors": "error", "err": "error", "에러": "error", "오류": "error",
    "warn": "warn", "warning": "warn", "warnings": "warn", "경고": "warn",
    "fatal": "fatal", "fatals": "fatal", "critical": "fatal", "crit": "fatal",
    "info": "info", "debug": "debug", "trace": "trace",
}  # fmt: skip
"""Severity words and the level each names."""


def _is_level(word: str, levels: frozenset[str] | None) -> bool:
    """A severity word the store has as a level (any severity word when unknown)."""
    low = word.lower()
    if levels is None:
        return low in LEVEL_WORDS or low in LEVEL_OF
    return LEVEL_OF.get(low) in levels


def text_filter(question: str, taken: Iterable[tuple[int, int]],
                vocab: Vocabulary, levels: frozenset[str] | None = None,
                names: Sequence[str] = ()) -> TextFilter | None:
    """The text filter the question's content words make, or None when they make none.

    The longest run of adjacent words occurring in the logs wins; a single severity word
    ("errors") is left to the level filter where the store has that level (`levels`).
    With no word in the logs, the words still filter when the question asks for lines
    mentioning them (the answer is then "no lines"), and so does a code-like name or an
    acronym that neither the logs nor the store's `names` (services, hosts) hold ("OOM",
    "RAID" in logs that never say them: the honest answer is none).
    """
    words = content_words(question, taken)
    if not words:
        return None
    best: tuple[int, int, TextFilter] | None = None
    missing: list[list[Word]] = []
    for run in _runs(question, words):
        core = _trim_soft(run)
        if len(core) >= 2 and not any(_HANGUL.search(w.text) for w in run):
            # An English noun phrase is meant whole: "kernel panics" is not any "panic".
            phrase = _whole(run, core, vocab)
            if phrase is not None:
                n = len(phrase.words)
                key = (n, len(phrase.text or phrase.pattern or ""))
                if best is None or key > best[:2]:
                    best = (*key, phrase)
            elif (plain := [w for w in core if w.text.lower() not in LEVEL_WORDS]):
                missing.append(plain)
            continue
        if len(core) == 1 and not _is_level(core[0].text, levels) \
                and not any(vocab.has(x) for x in core[0].stems) \
                and (_names_lines(run, core) or core[0].text.lower() in LEVEL_OF):
            missing.append(core)  # "the GPS lines" in a log that never says GPS
        for n in range(len(run), 0, -1):
            for i in range(len(run) - n + 1):
                part = run[i: i + n]
                if all(w.soft for w in part):
                    continue
                found = _in_vocab(part, vocab)
                if found is None:
                    continue
                if n == 1 and _is_level(part[0].text, levels):
                    continue
                key = (n, len(found.text or found.pattern or ""))
                if best is None or key > best[:2]:
                    best = (*key, found)
    ident = _identifier(words, vocab) or _acronym(words, vocab, names)
    if ident is not None and (best is None or len(best[2].words) <= 1):
        # "SOCKS5 proxies": a code-like name the templates hold only as a value (their
        # placeholder) names the lines better than a common word beside it
        return TextFilter(text=ident.text, pattern=None, words=(ident.text,), found=False,
                          spans=(ident.span,))
    if best is not None:
        return best[2]
    if missing:
        run = missing[0]
        text = " ".join(w.stems[0] if _HANGUL.search(w.text) else w.text for w in run)
        return TextFilter(text=text, pattern=None, words=tuple(w.text for w in run),
                          found=False, spans=tuple(w.span for w in run))
    if MENTION.search(question):
        plain = [w for w in words if w.text.lower() not in LEVEL_WORDS and not w.soft]
        if plain:
            run = next(r for r in _runs(question, plain))
            text = " ".join(w.text for w in run)
            return TextFilter(text=text, pattern=None, words=tuple(w.text for w in run),
                              found=False, spans=tuple(w.span for w in run))
    return None


_HANGUL = re.compile(r"[가-힣]")
IDENTIFIER = re.compile(r"(?=[\w.:/-]*\d)[A-Za-z][\w.:/-]*[A-Za-z][\w.:/-]*")
"""A code-like name: letters with digits ("SOCKS5", "eth0"). Capitals alone ("NTP") are not
enough: they are often a program's name, which is not in the message."""


def _identifier(words: list[Word], vocab: Vocabulary) -> Word | None:
    """The first code-like word of the question that the templates never say as a word
    (they hold it as a placeholder's value), or None."""
    for w in words:
        if not w.soft and IDENTIFIER.fullmatch(w.text) and w.text.lower() not in LEVEL_WORDS \
                and not any(vocab.has(x) for x in w.stems) and not vocab.has(w.text):
            return w
    return None


ACRONYM = re.compile(r"[A-Z]{2,6}[0-9]?")
"""An operations acronym ("OOM", "RAID", "DNS")."""


def _acronym(words: list[Word], vocab: Vocabulary, names: Sequence[str]) -> Word | None:
    """The first acronym of the question that no template, line example or store name
    holds, even inside a word ("SSH" is in "sshd"), or None. Capitals that are a program's
    name ("NTP" for ntpd) stay out: the program is in `names`."""
    said = [text.lower() for text, _ in vocab.lines] + [n.lower() for n in names]
    for w in words:
        low = w.text.lower()
        if w.soft or not ACRONYM.fullmatch(w.text) or low in LEVEL_WORDS \
                or low in QUESTION_WORDS:
            continue
        if not any(low in t for t in said):
            return w
    return None


LOG_NOUNS = frozenset(_words("line lines log logs message messages entry entries record "
                             "records 로그 메시지"))


def _names_lines(run: list[Word], core: list[Word]) -> bool:
    """"the GPS lines", "GPS 로그": the word names which lines, right before a log noun."""
    i = run.index(core[-1]) + 1
    return i < len(run) and run[i].text.lower() in LOG_NOUNS


def _trim_soft(run: list[Word]) -> list[Word]:
    i, j = 0, len(run)
    while i < j and run[i].soft:
        i += 1
    while j > i and run[j - 1].soft:
        j -= 1
    return run[i:j]


def _whole(run: list[Word], core: list[Word], vocab: Vocabulary) -> TextFilter | None:
    """The phrase for all of `core` (with question words beside it where the logs have
    them too), or its words in one template in that order, or None; severity words may
    be left to the level filter."""
    a, b = run.index(core[0]), run.index(core[-1]) + 1
    spans = sorted(((i, j) for i in range(a + 1) for j in range(b, len(run) + 1)),
                   key=lambda ij: ij[0] - ij[1])
    for i, j in spans:
        found = _in_vocab(run[i:j], vocab)
        if found is not None:
            return found
    plain = [w for w in core if w.text.lower() not in LEVEL_WORDS]
    if not plain:
        return None
    if len(plain) < len(core):
        found = _in_vocab(plain, vocab) if len(plain) > 1 else None
        if found is not None:
            return found
    spelled = vocab.in_order([w.stems[0] for w in plain])
    if spelled is None and len(plain) >= 3:  # a trailing or leading verb ("... go out")
        for part in (plain[:-1], plain[1:]):
            found = _whole(part, part, vocab)
            if found is not None:
                return found
    if spelled is None:
        return None if len(plain) > 1 or not vocab.has(plain[0].text) else _in_vocab(plain, vocab)
    if len(spelled) == 1:
        return TextFilter(text=spelled[0], pattern=None, words=tuple(w.text for w in plain),
                          found=True, spans=tuple(w.span for w in plain))
    pattern = "(?i)" + ".*".join(re.escape(x) for x in spelled)
    return TextFilter(text=None, pattern=pattern, words=tuple(w.text for w in plain),
                      found=True, spans=tuple(w.span for w in plain))


def _in_vocab(part: list[Word], vocab: Vocabulary) -> TextFilter | None:
    """The filter for a run of words if the logs hold them (one stem reading per word)."""
    words = tuple(w.text for w in part)
    spans = tuple(w.span for w in part)
    if len(part) == 1:
        spellings: list[str] = []
        for s in part[0].stems:
            spellings += [v for v in vocab.variants(s) if v not in spellings]
        if not spellings:
            return None
        if len(spellings) == 1:
            return TextFilter(text=spellings[0], pattern=None, words=words, found=True,
                              spans=spans)
        alts = "|".join(re.escape(s) for s in spellings)
        return TextFilter(text=None, pattern=f"(?i)(?:{alts})", words=words, found=True,
                          spans=spans)
    first = [w.stems[0] for w in part]
    text = vocab.phrase(first)
    if text is None:
        return None
    return TextFilter(text=text, pattern=None, words=words, found=True, spans=spans)


__all__ = ["TextFilter", "Vocabulary", "Word", "content_words", "stem", "text_filter",
           "vocabulary"]
