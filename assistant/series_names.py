"""Series named in words: "AAPL tweet volume" -> `twitter_volume_aapl`.

Metric names of data sets that were not written for Prometheus (`traveltime_387`,
`exchange_2_cpc_results`, `art_daily_jumpsup`) are made of tokens. A question names a series
by saying its tokens in its own words: the same word or its plural, a shared beginning
("tweet" / "twitter", "Google" / "goog"), two words written together ("travel time" ->
"traveltime"), the initials of a run of words ("cost per click" -> "cpc") or a number
("sensor 387"). Each metric is scored by how much of its name the question covers; numbers
must agree, so "exchange 4" never picks exchange 2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.content_words import stem

KO_WORDS: dict[str, tuple[str, ...]] = {
    "트윗": ("tweet",), "트위터": ("twitter",), "속도": ("speed",), "점유율": ("occupancy",),
    "비용": ("cost",), "클릭": ("click",), "클릭당": ("click", "per"), "당": ("per",),
    "이동": ("travel",), "이동시간": ("travel", "time"), "소요시간": ("travel", "time"),
    "온도": ("temperature",), "요청": ("request",), "지연": ("latency",), "량": ("volume",),
    "양": ("volume",), "거래소": ("exchange",), "센서": ("sensor",), "매출": ("revenue",),
    "가격": ("price",), "전력": ("power",), "사용량": ("usage",), "처리량": ("throughput",),
    "노출": ("impression",), "부하": ("load",), "균형": ("balancer",), "구간": ("window",),
}  # fmt: skip
"""General measurement words, Korean -> English (each Hangul run is read from its start)."""

_TOKEN = re.compile(r"[A-Za-z]+|\d+|[가-힣]+")
_NAME_TOKEN = re.compile(r"[A-Za-z]+|\d+")
_NOISE = frozenset({"the", "a", "an", "of", "on", "in", "at", "for", "and", "or", "to", "by",
                    "what", "was", "is", "when", "how", "did", "it", "its", "this", "that"})
MIN_SCORE = 0.35
NUMBER_APART = 0.6
"""A number matches less when it does not follow the word before it in the name."""


@dataclass(frozen=True)
class SeriesLink:
    """A metric the question names by its tokens, how well (0..1) and where."""

    metric: str
    score: float
    span: tuple[int, int]


@dataclass(frozen=True)
class _QTok:
    word: str
    span: tuple[int, int]


def question_tokens(question: str, taken: Iterable[tuple[int, int]] = ()) -> list[_QTok]:
    """Lower-case words and numbers of the question (Korean words through `KO_WORDS`)."""
    spans = list(taken)
    out: list[_QTok] = []
    for m in _TOKEN.finditer(question):
        if any(m.start() < b and a < m.end() for a, b in spans):
            continue
        w = m.group(0).lower()
        if re.match(r"[가-힣]", w):
            said = _korean(w)
            out.extend(_QTok(e, m.span()) for e in said)
            if not said:  # perhaps an English name written in Hangul ("아마존")
                out.append(_QTok(w, m.span()))
        elif w not in _NOISE:
            out.append(_QTok(w, m.span()))
    return out


def _korean(word: str) -> list[str]:
    """English words for a Hangul run: the longest glossary entries it is made of."""
    out: list[str] = []
    i = 0
    while i < len(word):
        for j in range(len(word), i, -1):
            if word[i:j] in KO_WORDS:
                out.extend(KO_WORDS[word[i:j]])
                i = j
                break
        else:
            i += 1
    return out


def _token_weight(tok: str, words: Sequence[_QTok], i: int) -> tuple[float, int]:
    """How well question words starting at `i` say the name token `tok`, and how many."""
    w = words[i].word
    if _HANGUL.match(w):
        return (SOUNDS_ALIKE, 1) if sounds_like(tok, w) else (0.0, 0)
    if tok.isdigit() or w.isdigit():
        return (1.0, 1) if tok.isdigit() and w.isdigit() and int(tok) == int(w) else (0.0, 0)
    if w == tok or stem(w) == stem(tok):
        return 1.0, 1
    for n in (2, 3):  # "travel time" -> traveltime, "jumps up" -> jumpsup
        run = words[i: i + n]
        if len(run) == n and "".join(x.word for x in run) == tok:
            return 1.0, n
    for n in (2, 3, 4):  # "cost per click" -> cpc
        run = words[i: i + n]
        if len(run) == n and len(tok) == n and "".join(x.word[0] for x in run) == tok \
                and not any(x.word.isdigit() for x in run):
            return 0.9, n
    common = len(_prefix(w, tok))
    if common >= 3 and common >= 0.6 * min(len(w), len(tok)):
        return 0.7, 1  # "tweet" / "twitter", "google" / "goog"
    if _abbreviates(tok, w):
        return ABBREVIATION, 1  # "amzn" / "amazon", "fb" / "facebook"
    if common >= 2 and w.isalpha() and _same_sounds(stem(w), stem(tok)):
        return ABBREVIATION, 1  # "tweet" / "twitter"
    return 0.0, 0


ABBREVIATION = 0.6
SOUNDS_ALIKE = 0.5
"""How well a Hangul word says a name token it sounds like ("아마존" / "amzn")."""
_HANGUL = re.compile(r"[가-힣]")

# Consonant classes shared by English spelling and Hangul transliteration: English names
# written in Hangul keep their consonants (b/p/f/v -> ㅂ/ㅍ, z/j -> ㅈ, l/r -> ㄹ, ...) and
# add or change vowels, so two spellings of one name share their consonant skeleton.
_INITIALS = ("K", "K", "N", "T", "T", "L", "M", "P", "P", "S", "S", "", "J", "J", "J", "K",
             "T", "P", "")
_FINALS = ("", "K", "K", "KS", "N", "NJ", "N", "T", "L", "LK", "LM", "LP", "LS", "LT", "LP",
           "L", "M", "P", "PS", "T", "T", "NK", "J", "J", "K", "T", "P", "")
_EN_CLASS = {**dict.fromkeys("bpfv", "P"), **dict.fromkeys("dt", "T"),
             **dict.fromkeys("jz", "J"), **dict.fromkeys("kq", "K"), "s": "S", "l": "L",
             "r": "L", "m": "M", "n": "N"}
_VOWELS = frozenset("aeiouy")


def hangul_skeleton(word: str) -> str:
    """The consonant classes of a Hangul word (silent ㅇ and ㅎ left out; a final sound
    repeated by the next initial, as in 콜라, said once)."""
    out, last = "", ""
    for ch in word:
        code = ord(ch) - 0xAC00
        if not 0 <= code < 11172:
            continue
        first = _INITIALS[code // 588]
        out += first[1:] if last and first and last.endswith(first) else first
        last = _FINALS[code % 28]
        out += last
    return out


def english_skeleton(token: str) -> str:
    """The consonant classes of an English name token, as Hangul would write them
    ("exchange" -> KSJNJ: x is ks, ch and a soft g are ㅊ/ㅈ; a final r is not said)."""
    t = token.lower()
    out: list[str] = []
    i = 0
    while i < len(t):
        c, nxt = t[i], t[i + 1: i + 2]
        if t.startswith(("ch", "sh", "ph", "th", "ck"), i):
            out.append({"c": "J", "s": "S", "p": "P", "t": "T"}[c] if c != "c" or nxt == "h"
                       else "K")
            i += 2
            continue
        if c == "x":
            out.append("KS")
        elif c == "c":
            out.append("S" if nxt in ("e", "i", "y") else "K")
        elif c == "g":
            out.append("J" if nxt in ("e", "i") else "K")
        elif c == "r" and (not nxt or nxt not in _VOWELS):
            pass
        elif c in _EN_CLASS and not (i and t[i - 1] == c):
            out.append(_EN_CLASS[c])
        i += 1
    return "".join(out)


def sounds_like(token: str, word: str) -> bool:
    """A Hangul `word` that transliterates the English name `token`: the token's consonant
    skeleton (two sounds at least) starts the word's, or is found in it in order from the
    word's first sound ("fb" in 페이스북)."""
    if not token.isalpha() or not token.isascii():
        return False
    if len(word) > 2 and word.endswith(_PARTICLES):
        word = word[:-1]
    mine, theirs = english_skeleton(token), hangul_skeleton(word)
    if len(mine) < 2 or not theirs or mine[0] != theirs[0]:
        return False
    if theirs.startswith(mine):
        return len(theirs) <= len(mine) + 1  # "구글" says goog; "퍼센타일" is not ups
    if any(c in _VOWELS for c in token.lower()) or len(theirs) > 2 * len(mine):
        return False  # only an initialism ("fb") is said with sounds in between
    rest = iter(theirs[1:])
    return all(c in rest for c in mine[1:])


_PARTICLES = ("은", "는", "이", "가", "을", "를", "의", "에", "도", "과", "와", "로", "만")
"""Korean particles a name may carry (one syllable, read off before comparing)."""
"""How well a word says a short name token made of its letters in order ("amzn")."""


def _same_sounds(a: str, b: str) -> bool:
    """Two English words with the same consonants (two at least)."""
    sa = english_skeleton(a)
    return len(sa) >= 2 and sa == english_skeleton(b)


def _abbreviates(tok: str, word: str) -> bool:
    """`tok` is a short abbreviation of `word`: 2-4 letters, the word's first letter, the
    rest in the word's order ("pfe" / "pfizer", "mgmt" / "management")."""
    if not (2 <= len(tok) <= 4 and tok.isalpha() and len(word) > len(tok)
            and word.isalpha() and word[0] == tok[0]):
        return False
    rest = iter(word[1:])
    return all(c in rest for c in tok[1:])


def _prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def name_tokens(metric: str) -> list[str]:
    return [t.lower() for t in _NAME_TOKEN.findall(metric)]


def score(metric: str, words: Sequence[_QTok],
          idf: dict[str, float] | None = None) -> tuple[float, tuple[int, int] | None]:
    """The share of `metric`'s name tokens the question says, each token weighted by how
    rare it is among the metrics (`idf`); numbers must all agree."""
    toks = name_tokens(metric)
    if not toks:
        return 0.0, None
    got = total = 0.0
    spans: list[tuple[int, int]] = []
    after: int | None = None  # the question word after the previous token's match
    for tok in toks:
        best, where, nxt = 0.0, None, None
        for i in range(len(words)):
            wgt, n = _token_weight(tok, words, i)
            if wgt and tok.isdigit() and i != after:
                wgt *= NUMBER_APART  # "exchange 4 ... above 2": the 2 is not exchange_2
            if wgt > best:
                best, where, nxt = wgt, (words[i].span[0], words[i + n - 1].span[1]), i + n
        after = nxt
        if tok.isdigit() and best == 0.0 and any(w.word.isdigit() for w in words):
            return 0.0, None  # the question names another number
        weight = (idf or {}).get(tok, 1.0)
        got += best * weight
        total += weight
        if where is not None:
            spans.append(where)
    if not spans or not total:
        return 0.0, None
    return got / total, (min(s for s, _ in spans), max(e for _, e in spans))


def number_disagrees(question: str, metric: str) -> bool:
    """The metric's name carries numbers and the question says numbers, none of them one of
    the name's ("exchange 4" against exchange_2_cpc_results)."""
    own = {int(t) for t in name_tokens(metric) if t.isdigit()}
    said = {int(w.word) for w in question_tokens(question) if w.word.isdigit()}
    return bool(own) and bool(said) and not own & said


SERIES_MARGIN = 0.1
"""A series is named when it beats the next one by this much."""
_NOT_A_NAME = re.compile(
    r"(?:above|over|below|under|exceed\w*|than|top|bottom|>=?|<=?)\s*-?\d[\d,.]*"
    r"|-?\d[\d,.]*\s*(?:%|퍼센트)?\s*(?:을|를|이|가)?\s*(?:넘|초과|이상|이하|미만)"
    r"|\bp\d{2}\b|\d{2}(?:th|st|nd|rd)?\s*(?:%ile|percentile|퍼센타일|백분위|분위|번째)",
    re.IGNORECASE)
"""Numbers that are values or ranks ("above 70", "80 이상", "p95"), not identifiers."""


@dataclass(frozen=True)
class MissingSeries:
    """A name or number the question gives a family of series that no member carries."""

    text: str
    span: tuple[int, int]
    family: tuple[str, ...]


def missing_series(question: str, metrics: Iterable[str],
                   taken: Iterable[tuple[int, int]] = ()) -> MissingSeries | None:
    """ "Netflix tweet volume" where the store has twitter_volume_aapl, _fb, ...; "speed at
    sensor 9999" where it has speed_6005 and speed_7578: the question names a family by the
    words its members share, and beside them a name (a capitalised word, a Hangul word of
    three syllables or more) or an identifying number that matches no member. None when a
    series is named, or when no such word stands beside the family's words."""
    names = list(metrics)
    spans = list(taken)
    found = link_series(question, names, spans)
    if found and (len(found) == 1 or found[0].score - found[1].score >= SERIES_MARGIN):
        return None
    spans += [m.span() for m in _NOT_A_NAME.finditer(question)]
    words = question_tokens(question, spans)
    for i, w in enumerate(words):
        if not _could_name(question, w, i):
            continue
        rest = link_series(question, names, [*spans, w.span])
        family = [x for x in rest if x.score > rest[0].score - SERIES_MARGIN]
        if len(family) < 2 or any(_token_weight(t, words, i)[0] > 0
                                  for x in rest for t in name_tokens(x.metric)):
            continue
        near = [j for j, v in enumerate(words) if family[0].span[0] <= v.span[0]
                and v.span[1] <= family[0].span[1]]
        if near and min(abs(j - i) for j in near) <= 2:
            lo, hi = min(w.span[0], family[0].span[0]), max(w.span[1], family[0].span[1])
            return MissingSeries(question[lo:hi], (lo, hi), tuple(x.metric for x in family))
    return None


def _could_name(question: str, w: _QTok, i: int) -> bool:
    """A word that may name one member of a family: a number, a capitalised word that does
    not start the question, or a Hangul word of three syllables or more."""
    written = question[w.span[0]:w.span[1]]
    if w.word.isdigit():
        return True
    if _HANGUL.match(w.word):
        return len(w.word) >= 3 and w.word == written
    return written[:1].isupper() and w.span[0] > 0 and written.isalpha()


def link_series(question: str, metrics: Iterable[str],
                taken: Iterable[tuple[int, int]] = ()) -> list[SeriesLink]:
    """Metrics the question names by their tokens, best first (score >= MIN_SCORE)."""
    words = question_tokens(question, taken)
    names = list(metrics)
    df: dict[str, int] = {}
    for name in names:
        for tok in set(name_tokens(name)):
            df[tok] = df.get(tok, 0) + 1
    idf = {t: math.log(1 + len(names) / n) for t, n in df.items()}
    out: list[SeriesLink] = []
    for name in names:
        s, span = score(name, words, idf)
        if s >= MIN_SCORE and span is not None:
            out.append(SeriesLink(name, round(s, 3), span))
    return sorted(out, key=lambda x: (-x.score, len(x.metric)))


__all__ = ["MissingSeries", "SeriesLink", "link_series", "missing_series", "number_disagrees",
           "question_tokens", "score"]
