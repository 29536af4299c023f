"""Question content -> log templates by meaning (real bundled e5 embedder, invented logs)."""

from __future__ import annotations

import re

import pytest

from assistant.content_words import text_filter, vocabulary
from assistant.template_match import (
    TemplateIndex,
    common_phrase,
    english_outline,
    hangul_outline,
    refine,
    skeleton,
    template_pattern,
)
from assistant.understand.vocabulary import (
    asks_about_recorded_action as _asks_about_recorded_action,
)

TEMPLATES = [
    "[worker: <*>] Shutting down consumer",
    "[worker: <*>] Consumer registered on queue <*>",
    "[worker: <*>] Consumer heartbeat ok",
    "[worker: <*>] Consumer lag is <*> messages",
    "[worker: <*>] Consumer rebalanced, partitions <*>",
    "Connection to broker <*> lost",
    "Reconnected to broker <*> after <*> ms",
    "Message <*> acknowledged",
    "Disk usage at <*> percent on volume <*>",
    "Scheduler started job <*>",
    "Job <*> finished in <*> ms",
    "Purging expired sessions",
    "Cache flushed for tenant <*>",
    "a.example.net:<*> error : Could not reach upstream a.example.net:<*> - timeout",
    "b.example.net:<*> error : Could not reach upstream b.example.net:<*> - timeout",
    "<*>:<*> error : Could not reach upstream via relay <*> - refused",
]


@pytest.fixture(scope="module")
def index() -> TemplateIndex:
    try:
        idx = TemplateIndex(TEMPLATES)
        if idx.vectors() is None:
            raise RuntimeError("no embedder")
    except Exception as exc:  # pragma: no cover - the bundled model is a dependency
        pytest.skip(f"e5 embedder unavailable: {exc}")
    return idx


VOCAB = vocabulary(TEMPLATES)


def _refined(question: str, index: TemplateIndex):
    tf = text_filter(question, [], VOCAB, None)
    return refine(question, [], tf, VOCAB, index)


def _lines(tf, texts: list[str]) -> list[str]:
    if tf.text is not None:
        return [t for t in texts if tf.text.lower() in t.lower()]
    rx = re.compile(tf.pattern)
    return [t for t in texts if rx.search(t)]


def test_skeleton_drops_placeholders_hosts_and_paths() -> None:
    assert skeleton("[worker: <*>] Shutting down consumer") == "[worker: Shutting down consumer"
    assert skeleton("a.example.net:<*> error : Could not reach upstream a.example.net:<*> - x") \
        == "error : Could not reach upstream - x"
    assert skeleton("<*> <*>") == ""


def test_pattern_matches_the_templates_lines() -> None:
    rx = re.compile(template_pattern(["Reconnected to broker after ms"],
                                     [["Reconnected to broker <*> after <*> ms"]]))
    assert rx.search("Reconnected  to broker b-1 after 20 ms")
    assert not rx.search("Connection to broker b-1 lost")


def test_common_phrase_is_unique_to_the_chosen_templates() -> None:
    chosen = TEMPLATES[13:16]
    others = [t.lower() for t in TEMPLATES[:13]]
    assert common_phrase(chosen, others) == "Could not reach upstream"
    assert common_phrase(["Consumer heartbeat ok"], ["consumer lag"]) == "Consumer heartbeat ok"


def test_korean_question_over_english_logs(index: TemplateIndex) -> None:
    # No Korean word is in the logs ("연결" reaches "connect" through the glossary only).
    tf = _refined("브로커 연결이 끊긴 게 몇 번이야?", index)
    assert tf is not None and tf.templates == ("Connection to broker <*> lost",)
    assert _lines(tf, TEMPLATES) == ["Connection to broker <*> lost"]


def test_too_common_word_gives_way_to_meaning(index: TemplateIndex) -> None:
    # "consumer" is in five of the templates: the question means the shutdowns.
    tf = _refined("how many consumer shutdowns were there?", index)
    assert tf is not None and tf.templates == ("[worker: <*>] Shutting down consumer",)


def test_weak_korean_match_is_no_template(index: TemplateIndex) -> None:
    # The nearest template is right but not by enough with no word in common: not guessed.
    tf = _refined("컨슈머 종료가 몇 번 있었어?", index)
    assert tf is None or not tf.templates


def test_paraphrase_found_by_words_stays_lexical(index: TemplateIndex) -> None:
    tf = _refined("how many times was the broker connection dropped?", index)
    assert tf is not None and not tf.templates
    assert _lines(tf, TEMPLATES) == ["Connection to broker <*> lost"]
    tf = _refined("how often could the upstream not be reached?", index)
    assert tf is not None
    assert set(_lines(tf, TEMPLATES)) == set(TEMPLATES[13:16])


def test_something_the_logs_never_say_is_no_template(index: TemplateIndex) -> None:
    for q in ("how many kernel panics were there?", "how many segfaults are in this log?",
              "GPU 온도 경고가 몇 번이야?"):
        tf = _refined(q, index)
        assert tf is None or not tf.templates, (q, tf)


def test_absent_name_filters_to_no_lines(index: TemplateIndex) -> None:
    # "consumer" alone is too common; the name the question gives is nowhere in the logs.
    tf = _refined("how many consumers did Outlook register?", index)
    assert tf is not None and "Outlook" in (tf.text or "") and not tf.found


def test_exact_specific_words_stay_lexical(index: TemplateIndex) -> None:
    tf = _refined("how many lines mention purging expired sessions?", index)
    assert tf is not None and tf.text == "Purging expired session" and not tf.templates


def test_read_questions_about_recorded_actions_are_not_refused() -> None:
    assert _asks_about_recorded_action("how many times did the app flush the cache?", VOCAB)
    assert not _asks_about_recorded_action("flush the cache now", VOCAB)
    assert not _asks_about_recorded_action("can you flush the cache?", VOCAB)
    assert not _asks_about_recorded_action("how many times did we restart the pod?", VOCAB)


def test_vectors_are_persisted_next_to_the_store(index: TemplateIndex, tmp_path) -> None:
    first = TemplateIndex(TEMPLATES, cache_dir=tmp_path)
    vec = first.vectors()
    assert vec is not None and len(list(tmp_path.glob("template-vectors-e5-*.npy"))) == 1
    again = TemplateIndex(TEMPLATES, cache_dir=tmp_path)
    assert again.vectors() is not None and (again.vectors() == vec).all()
    TemplateIndex(TEMPLATES[:-1], cache_dir=tmp_path).vectors()  # the store's templates changed
    assert len(list(tmp_path.glob("template-vectors-e5-*.npy"))) == 1


def test_counting_words_the_logs_never_say_is_no_lines(index: TemplateIndex) -> None:
    q = "how many segfaults are in this log?"
    tf = refine(q, [], text_filter(q, [], VOCAB, None), VOCAB, index, counts=True)
    assert tf is not None and tf.text == "segfaults" and not tf.found
    # Not for a question about a field's values: its words name the field, not the lines.
    assert refine(q, [], None, VOCAB, index, counts=False) is None


def test_a_common_word_with_a_severity_filter_stays(index: TemplateIndex) -> None:
    q = "how many consumer errors were there?"
    tf = text_filter(q, [], VOCAB, frozenset({"error"}))
    assert tf is not None and tf.found
    kept = refine(q, [], tf, VOCAB, index, frozenset({"error"}), leveled=True)
    assert kept is tf


def test_a_word_that_is_all_the_question_says_stays(index: TemplateIndex) -> None:
    # "consumer" is common, but nothing else in the question can pick among its templates.
    q = "show me the consumer lines"
    tf = text_filter(q, [], VOCAB, None)
    assert tf is not None and refine(q, [], tf, VOCAB, index) is tf


@pytest.mark.parametrize(("ko", "en"), [
    ("익스큐터", "executor"), ("샌드박스", "sandbox"), ("패키지", "package"), ("업로드", "upload"),
    ("커넥션", "connection"), ("스레드", "thread"), ("파티션", "partition"), ("컨슈머", "consumer"),
])
def test_loanword_outlines(ko: str, en: str) -> None:
    assert hangul_outline(ko) == english_outline(en)


def test_korean_loanword_is_evidence(index: TemplateIndex) -> None:
    # "하트비트" reaches "heartbeat" through the glossary; "컨슈머" is heard as "consumer",
    # and only the template saying both replaces the glossary word's filter.
    tf = _refined("컨슈머 하트비트 로그 보여줘", index)
    assert tf is not None and tf.templates == ("[worker: <*>] Consumer heartbeat ok",)
