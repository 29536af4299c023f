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
    "노출": ("impression",), "부하": ("load",), "균형": ("balancer",),
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
            out.extend(_QTok(e, m.span()) for e in _korean(w))
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
    return 0.0, 0


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


__all__ = ["SeriesLink", "link_series", "question_tokens", "score"]
