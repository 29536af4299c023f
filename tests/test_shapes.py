"""The exemplar bank (prompts/exemplars/) and the nearest-neighbour shape classifier.

Near-duplicate guard: an exemplar must not be an eval question in other words, or the
eval would measure the bank instead of generalisation. A pair is a near-duplicate when

* the Jaccard similarity of their normalised token sets (lower-cased words; exemplar
  placeholders rendered as the classifier renders them) is >= 0.8, or
* the cosine of their e5 query vectors is >= 0.95 (e5 cosines between short questions
  are compressed high: unrelated ones sit at ~0.75-0.85, questions sharing a frame such
  as "how many X are in the log" at ~0.90-0.94, rewordings of one question >= 0.95).

The classification tests use questions written for this file, not taken from the evals.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from assistant.ir import DocQuery, EventQuery, Extract, LogQuery, MetricQuery
from assistant.shapes import (
    IR_KINDS,
    SHAPES,
    BankError,
    ShapeIndex,
    keyword_shapes,
    load_bank,
    render,
    shape_index,
)

ROOT = Path(__file__).resolve().parent.parent
JACCARD_MAX = 0.8
COSINE_MAX = 0.95
MODELS: dict[str, Any] = {"metric": MetricQuery, "logs": LogQuery, "events": EventQuery,
                          "docs": DocQuery}

BANK = load_bank()


def test_bank_is_big_enough_and_covers_every_shape() -> None:
    langs = Counter(e.lang for e in BANK)
    assert langs["en"] >= 300 and langs["ko"] >= 150, langs
    per = Counter((e.shape, e.lang) for e in BANK)
    thin = [(s, lang, per[(s, lang)]) for s in SHAPES for lang, least in (("en", 6), ("ko", 3))
            if per[(s, lang)] < least]
    assert not thin, f"shapes with too few exemplars: {thin}"
    assert {e.shape for e in BANK} <= set(SHAPES)


def test_questions_are_unique() -> None:
    seen = Counter((e.lang, e.q.strip().lower()) for e in BANK)
    assert [q for q, n in seen.items() if n > 1] == []


def test_skeletons_are_ir_shaped() -> None:
    """Every skeleton query is of an IR kind and names only that IR model's fields."""
    for e in BANK:
        queries = e.skeleton["queries"]
        if not queries:
            assert e.skeleton.get("reply") in ("refuse", "smalltalk"), e
            assert e.shape in ("refuse_action", "smalltalk"), e
        for q in queries:
            assert q["kind"] in IR_KINDS, e
            fields = set(MODELS[q["kind"]].model_fields)
            assert set(q) <= fields, (e.q, set(q) - fields)
            if "extract" in q:
                assert set(q["extract"]) <= set(Extract.model_fields), e.q
        if e.shape.startswith("log_"):
            assert queries and all(q["kind"] == "logs" for q in queries), e.q
        if e.shape.startswith("docs_"):
            assert [q["kind"] for q in queries] == ["docs"], e.q


def test_bad_bank_lines_are_named(tmp_path: Path) -> None:
    (tmp_path / "en.jsonl").write_text(
        json.dumps({"q": "x", "shape": "log_count", "skeleton": {"queries": [{"kind": "sql"}]}})
        + "\n", encoding="utf-8")
    (tmp_path / "ko.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(BankError, match=r"en\.jsonl:1"):
        load_bank(tmp_path)
    (tmp_path / "en.jsonl").write_text('{"q": "x", "shape": "nope", "skeleton": {}}\n',
                                       encoding="utf-8")
    with pytest.raises(BankError, match="unknown shape"):
        load_bank(tmp_path)


def test_placeholders_render_as_neutral_words() -> None:
    assert render("how many times did <template> show up on <host>?", "en") == \
        "how many times did this message show up on the host?"
    assert render("<metric> 평균", "ko") == "지표값 평균"
    assert all("<" not in e.text for e in BANK)


def test_keyword_features() -> None:
    assert "metric_quantile" in keyword_shapes("p95 of queue wait")
    assert "metric_threshold" in keyword_shapes("how long was load above 4")
    assert "metric_threshold" not in keyword_shapes("errors in the last 5 minutes")
    assert "docs_meaning" in keyword_shapes("what does DiskPressure mean?")
    assert "metric_mean" not in keyword_shapes("what does DiskPressure mean?")
    assert "refuse_action" in keyword_shapes("restart the worker pool")
    assert "refuse_action" not in keyword_shapes("how many times did the worker restart")


# -- near-duplicates of eval questions ---------------------------------------------------


def _eval_questions() -> list[str]:
    out: list[str] = []
    paths = sorted((ROOT / "evals" / "public" / "cases").glob("*.yaml"))
    paths += sorted(p for p in (ROOT / "evals" / "cases").glob("*") if p.is_file())
    for path in paths:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for case in items if isinstance(items, list) else []:
            if not isinstance(case, dict):
                continue
            if isinstance(case.get("question"), str):
                out.append(case["question"])
            out.extend(h for h in case.get("history") or [] if isinstance(h, str))
    assert len(out) > 300, "the eval suites were not found"
    return out


EVAL_QUESTIONS = _eval_questions()
_TOKEN = re.compile(r"[^\W_]+")


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def test_no_exemplar_is_an_eval_question_by_words() -> None:
    evals = [(q, _tokens(q)) for q in EVAL_QUESTIONS]
    dups = []
    for e in BANK:
        mine = _tokens(e.text)
        for q, theirs in evals:
            j = len(mine & theirs) / max(1, len(mine | theirs))
            if j >= JACCARD_MAX:
                dups.append((round(j, 2), e.q, q))
    assert not dups, f"exemplars too close to eval questions (token Jaccard): {dups[:10]}"


@pytest.fixture(scope="module")
def cache_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        cache = request.config.cache
        assert cache is not None
        return Path(cache.mkdir("opsa-shapes"))
    except (AssertionError, AttributeError, OSError):
        return tmp_path_factory.mktemp("opsa-shapes")


@pytest.fixture(scope="module")
def index(cache_dir: Path) -> ShapeIndex:
    try:
        idx = shape_index(cache_dir)
        if idx.vectors() is None:
            raise RuntimeError("no embedder")
    except Exception as exc:  # pragma: no cover - the bundled model is a dependency
        pytest.skip(f"e5 embedder unavailable: {exc}")
    return idx


def test_no_exemplar_is_an_eval_question_by_meaning(index: ShapeIndex, cache_dir: Path) -> None:
    key = hashlib.sha1("\n".join(EVAL_QUESTIONS).encode(), usedforsecurity=False).hexdigest()
    path = cache_dir / f"eval-questions-{key[:16]}.npy"
    if path.is_file():
        qv = np.load(path)
    else:
        vecs = [index.query_vector(q) for q in EVAL_QUESTIONS]
        assert all(v is not None for v in vecs)
        qv = np.stack([v for v in vecs if v is not None])
        np.save(path, qv)
    vectors = index.vectors()
    assert vectors is not None
    sims = qv @ vectors.T
    hits = np.argwhere(sims >= COSINE_MAX)
    dups = [(round(float(sims[i, j]), 3), index.exemplars[j].q, EVAL_QUESTIONS[i])
            for i, j in hits]
    assert not dups, f"exemplars too close to eval questions (cosine): {dups[:10]}"


# -- classification ----------------------------------------------------------------------

HELD_OUT = [
    ("how many times was the connection reset by peer", "log_count"),
    ("how many lines were written between 04:00 and 04:30 on May 2", "log_count_window"),
    ("5월 2일 4시부터 4시 반까지 로그 몇 줄?", "log_count_window"),
    ("which account got locked out most often", "log_top_values"),
    ("what's the most frequent exception", "log_top_templates"),
    ("when did the first disk error occur", "log_first"),
    ("디스크 에러 처음 난 시각", "log_first"),
    ("재연결 마지막으로 된 게 언제야", "log_last"),
    ("during which hour were the most lines written", "log_busiest"),
    ("how many unique usernames tried to log in", "log_distinct_count"),
    ("list the hostnames that reported disk errors", "log_distinct_list"),
    ("권한 거부 로그 좀 보여줘", "log_show_lines"),
    ("what was the maximum queue depth yesterday", "metric_peak"),
    ("디스크 여유 공간 최저치", "metric_min"),
    ("what's the 99th percentile of queue wait time", "metric_quantile"),
    ("큐 길이가 1000 넘은 횟수", "metric_threshold"),
    ("was cpu higher on saturday or sunday", "metric_compare_periods"),
    ("토요일이랑 일요일 CPU 비교", "metric_compare_periods"),
    ("did any alert go off overnight", "events_alerts"),
    ("밤사이 알람 울린 거 있어?", "events_alerts"),
    ("are we healthy right now", "status_overview"),
    ("요청이 왜 타임아웃 나?", "why"),
    ("how do I deal with a full disk alert", "docs_howto"),
    ("노드 준비 안 됨 알람은 무슨 뜻이야", "docs_meaning"),
    ("go ahead and restart the web servers", "refuse_action"),
    ("웹 서버 재시작해", "refuse_action"),
    ("hey, thanks for the help", "smalltalk"),
]
"""Questions written for this test (none in the bank, none from the evals)."""


def test_held_out_questions_are_not_in_the_bank() -> None:
    bank = {e.q.lower() for e in BANK}
    assert not [q for q, _ in HELD_OUT if q.lower() in bank]


def test_held_out_questions(index: ShapeIndex) -> None:
    wrong = []
    for q, want in HELD_OUT:
        guess = index.classify(q)
        assert guess is not None
        if guess.shape != want:
            wrong.append((q, want, guess.shape, round(guess.margin, 2)))
    # a nearest-neighbour reading is not perfect; at most two of these may miss
    assert len(wrong) <= 2, wrong


def test_guess_reports_margin_neighbours_and_confidence(index: ShapeIndex) -> None:
    guess = index.classify("what's the 99th percentile of queue wait time")
    assert guess is not None and guess.shape == "metric_quantile"
    assert guess.neighbours and guess.neighbours[0].cosine >= guess.neighbours[-1].cosine
    second = guess.scores[guess.runner_up] if guess.runner_up else 0.0
    assert guess.margin == pytest.approx(guess.score - second)
    assert not guess.low_confidence
    for off_topic in ("banana bread recipe", "asdf qwer"):
        vague = index.classify(off_topic)
        assert vague is not None and vague.low_confidence, off_topic


def test_store_kinds_restrict_the_shapes(index: ShapeIndex) -> None:
    """A store of logs alone has no metric shapes to offer."""
    guess = index.classify("what was the highest number of lines in an hour", kinds={"logs"})
    assert guess is not None and guess.shape.startswith("log_")
    assert all(not n.exemplar.skeleton["queries"]
               or any(q["kind"] == "logs" for q in n.exemplar.skeleton["queries"])
               for n in guess.neighbours)


def test_few_shot_returns_the_nearest_exemplars(index: ShapeIndex) -> None:
    shots = index.few_shot("p95 of queue wait over the last day", k=3)
    assert len(shots) == 3
    assert all(set(s) == {"question", "shape", "skeleton"} for s in shots)
    assert shots[0]["shape"] == "metric_quantile"
    assert shots[0]["skeleton"]["queries"][0]["function"] == "samples"
    ko = index.few_shot("큐 대기 시간 p95", k=2, lang="ko")
    assert len(ko) == 2 and all(re.search(r"[가-힣]", s["question"]) for s in ko)


def test_vectors_are_cached_by_bank_hash(index: ShapeIndex, cache_dir: Path) -> None:
    files = list((cache_dir / "cache").glob("shape-vectors-e5-*.npy"))
    assert [f.name for f in files] == [f"shape-vectors-e5-{index.key}.npy"]
    again = ShapeIndex(index.exemplars, key=index.key, cache_dir=cache_dir / "cache")
    t0 = time.perf_counter()
    vecs, first = again.vectors(), index.vectors()
    assert vecs is not None and time.perf_counter() - t0 < 1.0  # read back, not embedded
    assert first is not None and np.allclose(vecs, first)


def test_classify_is_fast_once_embedded(index: ShapeIndex) -> None:
    q = "how many distinct sessions were opened yesterday"
    assert index.classify(q) is not None  # embeds the question (memoised)
    t0 = time.perf_counter()
    for _ in range(10):
        index.classify(q)
    per_call_ms = (time.perf_counter() - t0) * 100
    assert per_call_ms < 30, per_call_ms
