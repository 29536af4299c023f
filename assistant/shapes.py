"""A question's *shape* (what kind of answer it asks for) from a bank of exemplars.

The bank (`prompts/exemplars/<lang>.jsonl`) holds operators' questions written in generic
operations vocabulary, each with its shape and an IR skeleton whose data names are
placeholders (``<template>``, ``<field>``, ``<metric>``, ``<service>`` ...). A question's
shape is read by its nearest exemplars under the bundled multilingual embedder:

* every exemplar is embedded once, with its placeholders rendered as neutral words
  (``<template>`` -> "this message", ``<metric>`` -> "the metric"; Korean exemplars get
  Korean words) and the same ``query:`` encoding as the question (a question is compared
  with questions, not with passages); the matrix is cached in memory and under
  ``<data_dir>/cache/`` keyed by a hash of the bank files;
* the `K` nearest exemplars (cosine) vote, each with weight ``exp((cos - best) / TEMP)``,
  so the closest few decide and a long tail of near-misses does not outvote them;
* a few keyword features (a percentile, a number after "above", "per day", "compare",
  "what does X mean", a bare severity after "how many", a request to act...) add a bonus
  (0.3-0.5) to the vote share of the shape they name, and a question with no ranking word
  ("most", "top", 가장) loses `RANKING_PENALTY` on the ranking shapes: these are words whose
  weight an embedder of this size blurs (p95 vs peak, above vs peak, "which X" vs "which X
  most"), since its vectors are dominated by what a question is about, not what it asks;
* with `kinds` (what the store holds: logs, metric, events, docs) only shapes the store can
  answer compete.

The result (`ShapeGuess`) names the best shape, its share of the vote, the margin to the
runner-up shape and the nearest exemplars; a margin under `LOW_MARGIN` or a nearest
cosine under `LOW_COSINE` is reported as low confidence, never hidden.

The same bank gives an LLM planner its few-shot examples (`few_shot`): the exemplars most
similar to the question, with their skeletons.

Cost: embedding the question is one e5 call (~30-45 ms on 2 shared cores); the vote over
the cached matrix is well under a millisecond. Question vectors are memoised (LRU), so a
question read twice (understand, then the planner) is embedded once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import OpsaError
from assistant.prompts import PROMPTS_DIR

log = logging.getLogger(__name__)

EXEMPLARS_DIR = PROMPTS_DIR / "exemplars"
LANGUAGES = ("en", "ko")

SHAPES: tuple[str, ...] = (
    "log_count", "log_count_window", "log_count_by_level", "log_top_values",
    "log_top_templates", "log_first", "log_last", "log_busiest", "log_distinct_count",
    "log_distinct_list", "log_show_lines",
    "metric_peak", "metric_min", "metric_mean", "metric_quantile", "metric_threshold",
    "metric_rate", "metric_increase", "metric_daily_sum", "metric_compare_periods",
    "metric_anomalies",
    "events_alerts", "status_overview", "why", "docs_howto", "docs_meaning",
    "refuse_action", "smalltalk",
)
"""Every shape a question can have (the bank must cover each)."""
IR_KINDS = ("metric", "logs", "events", "docs")
REPLIES = ("refuse", "smalltalk")
"""Shapes answered without a query say so in their skeleton's ``reply``."""

K = 7
"""Exemplars that vote."""
TEMP = 0.02
"""Vote weight ``exp((cos - best) / TEMP)``: an exemplar 0.02 less similar than the nearest
weighs 1/e of it."""
LOW_MARGIN = 0.15
"""A winning share this close to the runner-up's is low confidence."""
LOW_COSINE = 0.84
"""A nearest exemplar less similar than this is low confidence (e5 cosines between
unrelated short questions sit around 0.75-0.85, so this catches only plainly off-topic
text; the margin is the informative signal: on the public suite the median margin of right
readings is ~0.5, of wrong ones ~0.1)."""
QUERY_CACHE = 256

_PLACEHOLDER = re.compile(r"<([A-Za-z_]+)>")
RENDER: dict[str, dict[str, str]] = {
    "en": {
        "template": "this message", "field": "value", "value": "this value",
        "metric": "the metric", "service": "the service", "host": "the host",
        "level": "error", "alert": "this alert", "N": "100", "window": "that window",
        "date": "that day", "time": "10:00", "unit": "hour",
    },
    "ko": {
        "template": "이 메시지", "field": "필드", "value": "이 값", "metric": "지표값",
        "service": "서비스", "host": "호스트", "level": "에러", "alert": "이 알람",
        "N": "100", "window": "그 구간", "date": "그날", "time": "10시", "unit": "시간",
    },
}
"""How each placeholder reads when an exemplar is embedded, per language."""
RENDER_VERSION = 4
"""Bump when `RENDER` or the embedding of exemplars changes (it is part of the cache key)."""


@dataclass(frozen=True)
class Exemplar:
    """One line of the bank."""

    q: str
    shape: str
    skeleton: dict[str, Any]
    lang: str

    @property
    def text(self) -> str:
        """The question as embedded: placeholders rendered as neutral words."""
        return render(self.q, self.lang)


def render(question: str, lang: str) -> str:
    """`question` with its placeholders replaced by the neutral words of `lang`."""
    words = RENDER.get(lang, RENDER["en"])
    return _PLACEHOLDER.sub(lambda m: words.get(m.group(1), m.group(1)), question)


_QUOTED = re.compile(
    r"(?<![A-Za-z0-9])[\"“”'‘’`](?=\S)([^\"“”'‘’`]{2,120})(?<=\S)[\"“”'‘’`](?![A-Za-z0-9])")
_HANGUL = re.compile(r"[가-힣]")


def neutral(question: str) -> str:
    """`question` as the classifier reads it: a quoted search string reads as the
    exemplars' placeholder for a message ("lines containing 'segfault'" -> "lines
    containing this message"), so its words do not pull the question towards exemplars
    about those words."""
    lang = "ko" if _HANGUL.search(question) else "en"
    return _QUOTED.sub(RENDER[lang]["template"], question)


class BankError(OpsaError):
    """The exemplar bank is malformed (a line that is not an exemplar)."""


def _check_skeleton(sk: Any, where: str) -> None:
    if not isinstance(sk, dict) or not isinstance(sk.get("queries"), list):
        raise BankError(f"{where}: skeleton must be an object with a 'queries' list")
    for q in sk["queries"]:
        if not isinstance(q, dict) or q.get("kind") not in IR_KINDS:
            raise BankError(f"{where}: every skeleton query needs a kind in {IR_KINDS}")
    if not sk["queries"] and sk.get("reply") not in REPLIES:
        raise BankError(f"{where}: a skeleton without queries needs a reply in {REPLIES}")


def load_bank(directory: Path = EXEMPLARS_DIR) -> list[Exemplar]:
    """Every exemplar of ``<directory>/<lang>.jsonl``, validated; `BankError` names a bad
    line."""
    out: list[Exemplar] = []
    for lang in LANGUAGES:
        path = directory / f"{lang}.jsonl"
        if not path.is_file():
            raise BankError(f"exemplar bank {path} is missing")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BankError(f"{where}: not JSON ({exc})") from None
            if not isinstance(item, dict) or set(item) != {"q", "shape", "skeleton"}:
                raise BankError(f"{where}: expected the keys q, shape, skeleton")
            if item["shape"] not in SHAPES:
                raise BankError(f"{where}: unknown shape {item['shape']!r}")
            if not isinstance(item["q"], str) or not item["q"].strip():
                raise BankError(f"{where}: empty question")
            _check_skeleton(item["skeleton"], where)
            out.append(Exemplar(item["q"], item["shape"], item["skeleton"], lang))
    return out


def bank_hash(directory: Path = EXEMPLARS_DIR) -> str:
    """A hash of the bank files (and of how they are embedded)."""
    h = hashlib.sha1(f"render-{RENDER_VERSION}".encode(), usedforsecurity=False)
    for lang in LANGUAGES:
        path = directory / f"{lang}.jsonl"
        h.update(lang.encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


# -- keyword features: words the embedder blurs -------------------------------------------

_FEATURES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    ("metric_quantile", 0.5, re.compile(
        r"\bp(?:50|90|95|99)\b|\b(?:50|90|95|99)(?:th|%)?\s*(?:pct|percentile|%ile)"
        r"|\bmedian\b|퍼센타일|백분위|분위수?|중앙값", re.I)),
    ("metric_threshold", 0.4, re.compile(
        r"(?:above|over|exceed\w*|more than|greater than|higher than|cross\w*|>=?)\s*-?\d"
        r"|\d[\d,.]*\s*(?:%|퍼센트|ms)?\s*(?:을|를|이|가)?\s*(?:넘|초과|이상)", re.I)),
    ("metric_daily_sum", 0.4, re.compile(
        r"\b(?:daily|hourly|per day|per hour|each day|each hour|by day|by hour|day by day)\b"
        r"|일별|날짜별|일자별|시간별|시간당|하루하루|하루 단위", re.I)),
    ("metric_compare_periods", 0.5, re.compile(
        r"\b(?:compare[sd]?|comparison|versus|vs\.?)\b|비교|대비", re.I)),
    ("metric_compare_periods", 0.4, re.compile(
        r"\b(?:higher|lower|more|fewer|less|bigger|worse|better)\b(?!\s+than\s+-?\d).*\bor\b"
        r"|\bor\b.*\b(?:higher|lower|more|fewer|less|bigger|worse|better)\b(?!\s+than\s+-?\d)"
        r"|(?:중|중에)\s*(?:\S+\s+)?더\s*(?:많|높|낮|적|컸|작)"
        r"|보다\s*(?:\S+\s+)?(?:더|얼마나)", re.I)),
    ("metric_anomalies", 0.5, re.compile(
        r"\banomal\w*|\boutliers?\b|\babnormal\w*"
        r"|\bincidents?\s+(?:were\s+|was\s+)?(?:recorded|labell?ed|flagged|marked)"
        r"|이상치|이상\s*징후|이상\s*탐지|이상\s*구간|비정상", re.I)),
    ("metric_mean", 0.4, re.compile(
        r"\b(?:average|avg)\b|\bmean\b(?=\s+[a-z<])|\bthe mean\b|평균", re.I)),
    ("docs_meaning", 0.5, re.compile(
        r"\bwhat does\b.{1,80}\bmean\b|\bmeaning\b|\bimpact\b|\bwhat happens (?:when|if)\b"
        r"|\bhow (?:bad|serious)\b|뜻|의미|영향", re.I)),
    ("log_top_values", 0.3, re.compile(
        r"\b(?:which|what|who)\b(?!'s|\s+is\b|\s+(?:hour|day|minute|date|time|message|error"
        r"|warning|exception|kind|type|pattern)s?\b).*\b(?:most|top)\b"
        r"|(?:가장|제일)\s*많이?.*(?:뭐|누구|어디|어느|어떤)"
        r"|(?:어느|어떤).*(?:가장|제일)\s*많", re.I)),
    ("log_count_by_level", 0.4, re.compile(
        r"\bhow many (?:errors?|warnings?|fatals?|critical|info|debug|error|warn)"
        r"(?:\s+(?:level\s+)?(?:lines?|messages?|entries|logs?|events?|records?))?"
        r"(?:\s+(?:are|were|did|in|does|do|has|have|was|is|at)\b|\s*\?|\s*$)"
        r"|^\s*(?:에러|오류|경고|치명\S*|info|warn\w*|error|fatal|critical)\s*(?:레벨\s*)?"
        r"(?:로그|줄|건|상태\s*이벤트|메시지)?\s*(?:는|은|가|이)?\s*(?:몇|개수|건수)", re.I)),
    ("log_top_templates", 0.3, re.compile(
        r"\b(?:most|top)\b.*\b(?:messages?|errors?|warnings?|exceptions?|patterns?)\b"
        r"|(?:가장|제일|자주).*(?:메시지|문구|에러|오류|경고|종류|유형)", re.I)),
    ("metric_min", 0.4, re.compile(r"\b(?:min|minimum|lowest)\b|최저|최소|최솟값|가장 낮", re.I)),
    ("metric_peak", 0.4, re.compile(
        r"\b(?:max|maximum|highest)\b|\bpeak\b(?!\s*(?:hour|day|minute|time))"
        r"|최대|최고|최댓값|피크(?!\s*시간)|가장 높", re.I)),
    ("why", 0.5, re.compile(r"\bwhy\b|\broot cause\b|\bwhat caused\b|왜|원인", re.I)),
    ("log_busiest", 0.4, re.compile(
        r"\bbusiest\b|\bbusy\b|\b(?:which|what) (?:hour|day|minute|date)\b|바빴|바쁜|시간대"
        r"|(?:가장|제일)\s*많\S*\s*(?:\S+\s+)?(?:분|시간|날)(?:은|는|이|가)?(?:\s|$)",
        re.I)),
    ("log_distinct_count", 0.4, re.compile(
        r"\bhow many (?:different|distinct|unique)\b|서로 다른|고유|몇\s*(?:명|대|종류|가지)"
        r"|(?:호스트|노드|서버|컴포넌트|인스턴스|프로세스|프로그램|모듈|사용자|유저|계정|IP|아이피"
        r"|주소|세션|서비스|포트|클라이언트)\S{0,3}\s*(?:이름\S{0,2}\s*)?(?:모두\s*|총\s*)?몇\s*개",
        re.I)),
    ("log_show_lines", 0.3, re.compile(
        r"\bshow me\b|\bdisplay\b|\bprint\b|\bgrep\b|보여|출력", re.I)),
    ("refuse_action", 0.5, re.compile(
        r"^\s*(?:please\s+|can you\s+|could you\s+)?(?:restart|reboot|kill|delete|drop|"
        r"truncate|purge|flush|scale|roll ?back|shut ?down|silence|deploy|remove)\b"
        r"|(?:재시작|재부팅|삭제|지워|롤백|꺼|스케일|드롭|배포)\S*\s*(?:해|줘|좀|부탁)", re.I)),
)
"""(shape, bonus, pattern): words whose meaning an embedder of this size blurs."""
_RANKING = re.compile(r"\b(?:most|top|common|frequent\w*|often)\b|가장|제일|최다|상위|자주|흔한",
                      re.I)
RANKING_PENALTY = 0.3
"""Taken from the ranking shapes (top values, top messages) when the question has no word
of a ranking: "which hosts reported errors" lists them, it does not rank them."""


_SHAPE_KINDS: dict[str, set[str]] = {
    s: ({"metric"} if s.startswith("metric_") else {"logs"} if s.startswith("log_")
        else {"docs"} if s.startswith("docs_") else {"events"} if s == "events_alerts"
        else set())
    for s in SHAPES
}
"""The kind of data each keyword-featured shape needs (none: any store)."""


def keyword_shapes(question: str) -> list[str]:
    """The shapes whose keyword features `question` has."""
    return [shape for shape, b in keyword_bonus(question).items() if b > 0]


def keyword_bonus(question: str) -> dict[str, float]:
    """The bonus each keyword feature of `question` adds to its shape's vote share."""
    out: dict[str, float] = {}
    for shape, bonus, rx in _FEATURES:
        if rx.search(question):
            out[shape] = max(out.get(shape, 0.0), bonus)
    if not _RANKING.search(question):
        for shape in ("log_top_values", "log_top_templates"):
            out[shape] = out.get(shape, 0.0) - RANKING_PENALTY
    return out


# -- the index ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    exemplar: Exemplar
    cosine: float


@dataclass(frozen=True)
class ShapeGuess:
    """What shape a question is, and how sure the bank is."""

    shape: str
    score: float
    """The winning shape's share of the vote (plus any keyword bonus)."""
    runner_up: str | None
    margin: float
    """`score` minus the runner-up shape's score."""
    low_confidence: bool
    neighbours: tuple[Neighbour, ...]
    """The nearest exemplars, nearest first."""
    scores: dict[str, float] = field(default_factory=dict)
    """Every shape with a share of the vote."""
    keywords: tuple[str, ...] = ()
    """Shapes named by keyword features."""

    @property
    def nearest_cosine(self) -> float:
        return self.neighbours[0].cosine if self.neighbours else 0.0


class ShapeIndex:
    """The bank with its vectors (computed once, then read back from the cache)."""

    def __init__(self, exemplars: Sequence[Exemplar], *, key: str, embedder_name: str = "e5",
                 cache_dir: Path | None = None) -> None:
        self.exemplars = list(exemplars)
        self.key = key
        self.embedder_name = embedder_name
        self.cache_dir = cache_dir
        self._vectors: np.ndarray | None = None
        self._failed = False
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._masks: dict[tuple[tuple[str, ...] | None, str | None], np.ndarray] = {}

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"shape-vectors-{self.embedder_name}-{self.key}.npy"

    def vectors(self) -> np.ndarray | None:
        """One unit vector per exemplar, or None when no embedder can be loaded."""
        with self._lock:
            if self._vectors is not None or self._failed:
                return self._vectors
            path = self._cache_path()
            seen = _EMBEDDED.get((self.embedder_name, self.key))
            if seen is not None and seen.shape[0] == len(self.exemplars):
                self._vectors = seen  # the same bank, embedded for another data dir
                if path is not None and not path.is_file():
                    self._save(path, seen)
                return self._vectors
            if path is not None and path.is_file():
                try:
                    vec = np.load(path)
                    if vec.shape[0] == len(self.exemplars):
                        self._vectors = vec.astype(np.float32)
                        _EMBEDDED[(self.embedder_name, self.key)] = self._vectors
                        return self._vectors
                except (OSError, ValueError):
                    pass
            try:
                from assistant.embedder import get_embedder

                emb = get_embedder(self.embedder_name)
                # questions against questions: the same (query) encoding on both sides
                vec = np.asarray([emb.embed_query(e.text) for e in self.exemplars],
                                 dtype=np.float32).reshape(len(self.exemplars), emb.dim)
            except (OpsaError, OSError, RuntimeError) as exc:
                log.info("exemplar vectors unavailable: %s", exc)
                self._failed = True
                return None
            self._vectors = vec
            _EMBEDDED[(self.embedder_name, self.key)] = vec
            if path is not None:
                self._save(path, vec)
            return self._vectors

    def _save(self, path: Path, vec: np.ndarray) -> None:
        """Cache `vec` at `path`, replacing the vectors of an older bank (best effort)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob(f"shape-vectors-{self.embedder_name}-*.npy"):
                old.unlink()  # vectors of an older bank
            np.save(path, vec)
        except OSError:
            pass

    def query_vector(self, question: str) -> np.ndarray | None:
        """The question's unit vector (memoised), or None without an embedder."""
        with self._lock:
            hit = self._queries.get(question)
            if hit is not None:
                self._queries.move_to_end(question)
                return hit
        try:
            from assistant.embedder import get_embedder

            vec = np.asarray(get_embedder(self.embedder_name).embed_query(question),
                             dtype=np.float32)
        except (OpsaError, OSError, RuntimeError):
            return None
        with self._lock:
            self._queries[question] = vec
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vec

    def _usable(self, kinds: Collection[str] | None, lang: str | None) -> np.ndarray:
        """Which exemplars may answer: of language `lang`, and with a skeleton the store
        can run (a query of one of `kinds`, or no query at all)."""
        key = (tuple(sorted(kinds)) if kinds is not None else None, lang)
        hit = self._masks.get(key)
        if hit is None:
            allowed = set(kinds) if kinds is not None else None
            hit = np.array([
                (lang is None or e.lang == lang)
                and (allowed is None or not e.skeleton["queries"]
                     or any(q["kind"] in allowed for q in e.skeleton["queries"]))
                for e in self.exemplars], dtype=bool)
            self._masks[key] = hit
        return hit

    def neighbours(self, question: str, k: int = K, *, lang: str | None = None,
                   kinds: Collection[str] | None = None) -> list[Neighbour]:
        """The `k` exemplars nearest to `question` (of language `lang`, and runnable on a
        store holding `kinds` of data, when given)."""
        vecs = self.vectors()
        q = self.query_vector(neutral(question)) if vecs is not None else None
        if vecs is None or q is None:
            return []
        cos = vecs @ q
        if lang is not None or kinds is not None:
            cos = np.where(self._usable(kinds, lang), cos, -2.0)
        top = np.argsort(-cos)[:k]
        return [Neighbour(self.exemplars[int(i)], float(cos[i])) for i in top
                if cos[i] > -2.0]

    def classify(self, question: str, k: int = K, *,
                 kinds: Collection[str] | None = None) -> ShapeGuess | None:
        """The shape of `question`; None when no embedder can be loaded. With `kinds`
        (the kinds of data the store holds: "logs", "metric", "events", "docs") only shapes
        the store can answer compete: a store of logs alone reads "peak" as a log shape."""
        near = self.neighbours(question, k, kinds=kinds)
        if not near:
            return None
        best = near[0].cosine
        votes: dict[str, float] = {}
        for n in near:
            votes[n.exemplar.shape] = votes.get(n.exemplar.shape, 0.0) + math.exp(
                (n.cosine - best) / TEMP)
        total = sum(votes.values())
        scores = {s: v / total for s, v in votes.items()}
        bonus = keyword_bonus(question)
        if kinds is not None:
            bonus = {s: b for s, b in bonus.items() if s in _SHAPE_KINDS
                     and (not _SHAPE_KINDS[s] or _SHAPE_KINDS[s] & set(kinds))}
        for s, b in bonus.items():
            if s in scores or b > 0:
                scores[s] = scores.get(s, 0.0) + b
        kws = tuple(s for s, b in bonus.items() if b > 0)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        shape, score = ranked[0]
        runner, second = ranked[1] if len(ranked) > 1 else (None, 0.0)
        margin = score - second
        return ShapeGuess(
            shape=shape, score=score, runner_up=runner, margin=margin,
            low_confidence=margin < LOW_MARGIN or best < LOW_COSINE,
            neighbours=tuple(near), scores=dict(ranked), keywords=kws)

    def few_shot(self, question: str, k: int = 4, *,
                 lang: str | None = None) -> list[dict[str, Any]]:
        """The `k` exemplars most similar to `question` as ``{"question", "shape",
        "skeleton"}`` (distinct questions; of language `lang` when given)."""
        out: list[dict[str, Any]] = []
        for n in self.neighbours(question, k, lang=lang):
            out.append({"question": n.exemplar.q, "shape": n.exemplar.shape,
                        "skeleton": n.exemplar.skeleton})
        return out


_EMBEDDED: dict[tuple[str, str], np.ndarray] = {}
"""Exemplar vectors by (embedder, bank hash), shared by the indexes of one process."""
_INDEXES: dict[tuple[str, str, str], ShapeIndex] = {}
_INDEXES_LOCK = threading.Lock()


def shape_index(data_dir: Path | None = None, *, embedder_name: str = "e5",
                directory: Path = EXEMPLARS_DIR) -> ShapeIndex:
    """The (memoised) index over the bank in `directory`; its vectors are cached under
    ``<data_dir>/cache/`` when `data_dir` is given."""
    key = bank_hash(directory)
    cache_dir = data_dir / "cache" if data_dir is not None else None
    memo = (key, embedder_name, str(cache_dir))
    with _INDEXES_LOCK:
        idx = _INDEXES.get(memo)
        if idx is None:
            if len(_INDEXES) >= 8:
                _INDEXES.pop(next(iter(_INDEXES)))
            idx = _INDEXES[memo] = ShapeIndex(load_bank(directory), key=key,
                                              embedder_name=embedder_name,
                                              cache_dir=cache_dir)
        return idx


def classify(question: str, *, data_dir: Path | None = None, embedder_name: str = "e5",
             kinds: Collection[str] | None = None) -> ShapeGuess | None:
    """The shape of `question` by the bundled bank (None without an embedder); `kinds`
    as in `ShapeIndex.classify`."""
    return shape_index(data_dir, embedder_name=embedder_name).classify(question, kinds=kinds)


def few_shot(question: str, k: int = 4, *, data_dir: Path | None = None,
             lang: str | None = None, embedder_name: str = "e5") -> list[dict[str, Any]]:
    """The `k` exemplars most like `question`, with their IR skeletons, for a planner's
    prompt (see `ShapeIndex.few_shot`)."""
    return shape_index(data_dir, embedder_name=embedder_name).few_shot(question, k, lang=lang)


__all__ = [
    "SHAPES",
    "BankError",
    "Exemplar",
    "Neighbour",
    "ShapeGuess",
    "ShapeIndex",
    "bank_hash",
    "classify",
    "few_shot",
    "keyword_bonus",
    "keyword_shapes",
    "load_bank",
    "neutral",
    "render",
    "shape_index",
]
