"""Log operations end to end: IR validation, the planner's reading of question shapes (English
and Korean), facts and the headline of the answer, and the embedded store running them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_embedded_logs_events import END, LINES, write_store
from test_planner import demo_catalog

from assistant.answer import compose_answer
from assistant.entities import EntityLinker
from assistant.errors import IRError
from assistant.facts import facts_from_result
from assistant.intent import read_intent
from assistant.ir import EXTRACT_PATTERNS, Extract, LogQuery, TimeRange, parse_query
from assistant.planner import PlanInput, plan_rules
from assistant.timeparse import resolve_time, strip_time_phrases
from connectors.base import LogLine, Result
from connectors.embedded.connector import EmbeddedConnector

TR = TimeRange(start=END - timedelta(hours=2), end=END)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


# -- IR -------------------------------------------------------------------------------------


def test_ir_validates_the_new_operations() -> None:
    base = {"kind": "logs", "time_range": {"start": "2026-11-20T10:00:00Z",
                                           "end": "2026-11-20T12:00:00Z"}}
    q = parse_query({**base, "count_by": "extracted", "extract": {"kind": "ipv4"}})
    assert isinstance(q, LogQuery) and q.mode() == "count_by"
    busiest = parse_query({**base, "busiest": "hour"})
    assert isinstance(busiest, LogQuery) and busiest.mode() == "busiest"
    for bad in ({"count_by": "extracted"}, {"aggregate": "count_distinct"},
                {"busiest": "hour", "count_by": "host"}, {"busiest": "week"},
                {"extract": {"kind": "key"}}, {"extract": {"kind": "regex", "pattern": "("}},
                {"extract": {"kind": "ipv4", "pattern": "x"}}, {"order": "random"}):
        with pytest.raises(IRError):
            parse_query({**base, **bad})


@pytest.mark.parametrize(("kind", "line", "value"), [
    ("ipv4", "Connection refused to 10.0.0.7:5432", "10.0.0.7"),
    ("ip_port", "Connection refused to 10.0.0.7:5432", "10.0.0.7:5432"),
    ("ip_port", "accepted from 192.168.1.20 now", "192.168.1.20"),
    ("user", "Failed password for invalid user admin from 1.2.3.4", "admin"),
    ("mac", "DHCPDISCOVER from 00:11:43:e3:ba:c3 via eth1", "00:11:43:e3:ba:c3"),
    ("user", "session opened for user root by (uid=0)", "root"),
    ("block_id", "Receiving block blk_-1608999687919862906 src", "blk_-1608999687919862906"),
    ("request_id", "[req-3f2a9c1e-77b1-4f0e] GET /v2", "req-3f2a9c1e-77b1-4f0e"),
    ("pid", "worker exited pid=4242 status 1", "4242"),
    ("port", "listening on port 8080", "8080"),
    ("status_code", '"GET / HTTP/1.1" 404 512', "404"),
    ("status_code", "upstream returned status=503", "503"),
])
def test_named_patterns(kind: str, line: str, value: str) -> None:
    import re

    m = re.search(EXTRACT_PATTERNS[kind], line)
    assert m is not None and m.group(1) == value


def test_key_and_regex_extracts() -> None:
    import re

    m = re.search(Extract(kind="key", key="user_id").regex(), "a user_id=u42 b")
    assert m is not None and m.group(1) == "u42"
    assert Extract(kind="regex", pattern=r"took \d+").regex() == r"(took \d+)"


# -- the store --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emb(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedConnector:
    path: Path = tmp_path_factory.mktemp("ops") / "telemetry.duckdb"
    write_store(path)
    return EmbeddedConnector(path)


def test_first_occurrence_with_its_extracted_value(emb: EmbeddedConnector) -> None:
    lines = sorted((ln for ln in LINES if TR.start <= ln.ts <= TR.end and "refused" in
                    ln.message), key=lambda ln: ln.ts)
    r = emb.run(LogQuery(time_range=TR, text="refused", order="oldest", limit=1,
                         extract=Extract(kind="ip_port")))
    assert r.total == len(lines)
    assert r.logs[0].ts == lines[0].ts and r.logs[0].message == lines[0].message
    assert r.logs[0].fields == {"ip_port": lines[0].message.rsplit(" ", 1)[1]}


def test_a_quote_or_newline_in_a_value_is_data(emb: EmbeddedConnector) -> None:
    for text in ("refused' OR '1'='1", "refused\n    AND 1=1", "x\\'; --"):
        q = LogQuery(time_range=TR, text=text, count_by="extracted",
                     extract=Extract(kind="key", key=text))
        assert emb.run(q).total == 0


# -- facts and answers -----------------------------------------------------------------------


def answer(q: LogQuery, r: Result, question: str = "q", language: str = "en") -> str:
    return compose_answer(question, language, q.time_range, facts_from_result(q, r, 0), [], [],
                          [])


def test_first_occurrence_headline_names_time_and_where() -> None:
    q = LogQuery(time_range=TR, order="oldest", limit=1, extract=Extract(kind="user"))
    line = LogLine(ts=datetime(2026, 11, 20, 10, 7, 12, tzinfo=UTC), host="h2", service="api",
                   message="login failed for alice", fields={"user": "alice"})
    r = Result(connector="t", native="-", logs=[line], total=9)
    text = answer(q, r)
    head = text.split("\n")[0]
    assert head.startswith("The first matching log line was at 2026-11-20 10:07:12 on h2")
    assert "user=alice" in head and "login failed for alice" in head
    assert "9 log lines matched" in text.split("Time window")[1]  # evidence, after the window
    ko = answer(q, r, language="ko").split("\n")[0]
    assert ko.startswith("처음 일치한 로그는 2026-11-20 10:07:12 h2")


def test_busiest_headline_lists_buckets_busiest_first() -> None:
    q = LogQuery(time_range=TR, busiest="hour")
    r = Result(connector="t", native="-", total=30, groups=2, rows=[
        {"value": "2026-11-20T11:00:00+00:00", "count": 20},
        {"value": "2026-11-20T10:00:00+00:00", "count": 10}])
    head = answer(q, r).split("\n")[0]
    assert head == "Busiest hour by log lines: 2026-11-20 11:00 (20), 2026-11-20 10:00 (10)."
    assert answer(q, r, language="ko").startswith("로그가 가장 많은 시간: 2026-11-20 11:00 (20)")


def test_distinct_count_and_top_values_headlines() -> None:
    q = LogQuery(time_range=TR, count_by="extracted", aggregate="count_distinct",
                 extract=Extract(kind="ipv4"), level="error")
    r = Result(connector="t", native="-", total=120, groups=7)
    assert answer(q, r, "how many distinct IPs").startswith(
        "7 distinct IP addresses among the 120 matching log lines (level≥error).")
    assert "서로 다른 IP 주소: 7개" in answer(q, r, "몇 개", "ko").split("\n")[0]
    q = LogQuery(time_range=TR, count_by="host", top_k=3)
    r = Result(connector="t", native="-", total=60, groups=4, rows=[
        {"value": "h1", "count": 30}, {"value": "h2", "count": 20},
        {"value": "h3", "count": 6}])
    head = answer(q, r, "which host logged the most").split("\n")[0]
    assert head == "Most frequent log hosts: h1 (30), h2 (20), h3 (6)."


def test_no_lines_says_none() -> None:
    q = LogQuery(time_range=TR, busiest="day")
    assert answer(q, Result(connector="t", native="-", total=0)).startswith("No log lines")


# -- planner ---------------------------------------------------------------------------------


def plan_log(question: str) -> LogQuery:
    cat = demo_catalog()
    time = resolve_time(question, NOW, ZoneInfo("UTC"))
    stripped = strip_time_phrases(question)
    p = plan_rules(PlanInput(question=stripped, time_range=time.range,
                             reading=read_intent(stripped),
                             links=EntityLinker(cat).link(question), catalog=cat))
    logs = [pq.query for pq in p.queries if isinstance(pq.query, LogQuery)]
    assert logs, p.queries
    return logs[0]


@pytest.mark.parametrize(("question", "expected"), [
    ("when did the first error happen yesterday?", {"order": "oldest", "limit": 1}),
    ("when was the last log line from web-02?", {"order": "newest", "limit": 1,
                                                  "host": "web-02"}),
    ("어제 처음 에러가 난 건 언제고 어느 계정이야?", {"order": "oldest", "extract": "user"}),
    ("which hour was busiest yesterday?", {"busiest": "hour"}),
    ("어제 로그가 가장 바쁜 시간대는?", {"busiest": "hour"}),
    ("which minute had the most errors today?", {"busiest": "minute", "level": "error"}),
    ("how many distinct IP addresses were refused today?",
     {"count_by": "extracted", "aggregate": "count_distinct", "extract": "ipv4"}),
    ("오늘 몇 개의 서로 다른 세션이 있었어?",
     {"aggregate": "count_distinct", "extract": "session_id"}),
    ("list the different status codes in today's logs",
     {"count_by": "extracted", "extract": "status_code", "top_k": 20}),
    ("오늘 어떤 컴포넌트들이 경고를 남겼어?", {"count_by": "service", "level": "warn"}),
    ("which user failed to log in most often today?",
     {"count_by": "extracted", "extract": "user", "top_k": 3}),
    ("오늘 가장 많은 에러를 남긴 노드는?", {"count_by": "host", "top_k": 3}),
    ("what's the most common message in today's logs?", {"count_by": "template"}),
    ("오늘 가장 많이 나온 메시지는 뭐야?", {"count_by": "template"}),
    ("how many distinct MAC addresses asked for a lease today?",
     {"aggregate": "count_distinct", "extract": "mac"}),
])
def test_question_shapes_map_to_operations(question: str, expected: dict[str, object]) -> None:
    q = plan_log(question)
    for key, want in expected.items():
        got = getattr(q, key)
        if key == "extract":
            got = got.kind if got is not None else None
        assert got == want, (question, key, q)


def test_metric_questions_keep_their_metric_reading() -> None:
    r = read_intent(strip_time_phrases("which host has the highest cpu"))
    assert r.log_op is None
    r = read_intent(strip_time_phrases("which host had the most requests"))
    assert r.log_op is None


@pytest.mark.parametrize(("question", "expected"), [
    ("which node reported the most errors today?", {"count_by": "host", "top_k": 3}),
    ("how many hosts logged errors today?", {"count_by": "host",
                                             "aggregate": "count_distinct"}),
    ("when did the failures start today?", {"order": "oldest", "limit": 1}),
    ("오늘 로그가 가장 많이 찍힌 분은 언제야?", {"busiest": "minute"}),
])
def test_asked_field_words_are_not_names(question: str, expected: dict[str, object]) -> None:
    q = plan_log(question)
    for key, want in expected.items():
        assert getattr(q, key) == want, (question, key, q)


def test_an_unknown_host_name_is_still_refused() -> None:
    cat = demo_catalog()
    question = "which node logged the most errors on web-99 today?"
    stripped = strip_time_phrases(question)
    p = plan_rules(PlanInput(question=stripped, time_range=resolve_time(
        question, NOW, ZoneInfo("UTC")).range, reading=read_intent(stripped),
        links=EntityLinker(cat).link(question), catalog=cat))
    assert p.unknown is not None and p.unknown.value == "web-99"


def test_operation_answers_are_grounded(emb: EmbeddedConnector) -> None:
    """Every number in the new sentences traces back to a fact (both languages)."""
    from assistant.answer import compose
    from assistant.grounding import check

    queries = [
        LogQuery(time_range=TR, busiest="minute", top_k=3),
        LogQuery(time_range=TR, order="oldest", limit=1, extract=Extract(kind="ip_port")),
        LogQuery(time_range=TR, count_by="extracted", extract=Extract(kind="user"), top_k=3),
        LogQuery(time_range=TR, count_by="host", aggregate="count_distinct", level="warn"),
    ]
    for q in queries:
        facts = facts_from_result(q, emb.run(q), 0)
        for language in ("en", "ko"):
            composed = compose("q", language, q.time_range, facts)
            report = check(composed.facts_text, facts, q.time_range, composed.allowed)
            assert report.grounded, (q, language, report.violations)


def test_lines_without_the_field_are_a_dash_not_none() -> None:
    q = LogQuery(time_range=TR, count_by="host", top_k=3)
    r = Result(connector="t", native="-", total=5, groups=2, rows=[
        {"value": None, "count": 3}, {"value": "h1", "count": 2}])
    head = answer(q, r, "which host logged the most").split("\n")[0]
    assert head == "Most frequent log hosts: - (3), h1 (2)."
