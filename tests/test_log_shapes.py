"""The shape of log questions: "show me X" answers with the lines themselves; "how many
errors / warnings" counts lines at exactly the levels named (each level when several are
named), and over logs whose lines carry no level, counts the lines whose words say it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assistant.answer import compose, compose_answer
from assistant.content_words import TextFilter
from assistant.execute import Executor
from assistant.facts import facts_from_result
from assistant.grounding import check
from assistant.intent import read_intent, severity_pattern
from assistant.ir import LogQuery, TimeRange
from assistant.planner import PlanInput, PlannedQuery, plan_rules
from assistant.timeparse import strip_time_phrases
from assistant.understand.text_filter import with_text as _with_text
from connectors.base import Catalog, LogLine, Result
from connectors.embedded import schema
from connectors.embedded.connector import EmbeddedConnector
from connectors.sql.dialect import ClickHouse, DuckDB
from connectors.sql.logs import LogColumns, where_sql

END = datetime(2031, 4, 2, 9, 0, tzinfo=UTC)
TR = TimeRange(start=END - timedelta(hours=1), end=END)
LEVEL_NUM = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "error": 4, "fatal": 5}

# an invented queue broker: (minutes before END, component, level, message)
BROKER: list[tuple[int, str, str | None, str]] = [
    (50, "spooler", "info", "spool segment 17 sealed"),
    (45, "spooler", "warn", "spool segment 18 nearly full"),
    (40, "relay", "error", "relay hop to 10.9.0.4 refused"),
    (35, "relay", "warn", "relay backlog at 900 frames"),
    (30, "relay", "fatal", "relay state table corrupt"),
    (25, "spooler", "error", "spool fsync stalled"),
    (20, "spooler", "info", "spool segment 19 sealed"),
    (10, "relay", "warn", "relay backlog at 1200 frames"),
]
# the same broker with no level column (plain text logs)
PLAIN: list[tuple[int, str, str | None, str]] = [
    (50, "spooler", None, "spool segment 17 sealed"),
    (45, "spooler", None, "WARNING spool segment 18 nearly full"),
    (40, "relay", None, "relay hop to 10.9.0.4 refused: Error 111"),
    (30, "relay", None, "relay handshake failed"),
    (20, "spooler", None, "spool segment 19 sealed"),
]


def _store(path: Path, lines: list[tuple[int, str, str | None, str]]) -> EmbeddedConnector:
    con = schema.connect(path)
    try:
        con.executemany(
            "INSERT INTO logs (ts, service, host, level, level_num, message, line_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [((END - timedelta(minutes=m)).replace(tzinfo=None), svc, "bk-1", lv,
              LEVEL_NUM[lv] if lv else None, msg, i + 1)
             for i, (m, svc, lv, msg) in enumerate(lines)])
    finally:
        con.close()
    return EmbeddedConnector(path)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedConnector:
    return _store(tmp_path_factory.mktemp("broker") / "telemetry.duckdb", BROKER)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedConnector:
    return _store(tmp_path_factory.mktemp("plain") / "telemetry.duckdb", PLAIN)


# -- the wording -------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "op", "levels", "oldest"), [
    ("show me the spool fsync lines", "show", [], False),
    ("display the earliest relay refusals", "show", [], True),
    ("릴레이 거부 로그 보여줘", "show", [], False),
    ("how many warnings did the broker write?", "level_count", ["warn"], False),
    ("FATAL 로그는 몇 줄이야?", "level_count", ["fatal"], False),
    ("오류랑 경고는 각각 몇 건이야?", "level_count", ["error", "warn"], False),
    ("how many DEBUG and INFO lines are there?", "level_count", ["debug", "info"], False),
])
def test_wording_reads_the_shape(question: str, op: str, levels: list[str],
                                 oldest: bool) -> None:
    r = read_intent(strip_time_phrases(question))
    assert (r.log_op, r.levels, r.oldest) == (op, levels, oldest), question


@pytest.mark.parametrize("question", [
    "how many relay hops failed?",           # a word lines say, not a level
    "how many different error messages are there?",  # distinct messages
    "which component logged the most warnings?",      # top value of a field
    "when was the last warning?",                      # an occurrence
    "show me which hosts logged warnings",             # the list of hosts
])
def test_other_shapes_are_not_taken(question: str) -> None:
    assert read_intent(strip_time_phrases(question)).log_op not in ("show", "level_count")


def _plan(question: str) -> LogQuery:
    stripped = strip_time_phrases(question)
    from assistant.entities import Links

    p = plan_rules(PlanInput(question=stripped, time_range=TR, reading=read_intent(stripped),
                             links=Links(), catalog=Catalog(log_levels=["info", "warn"])))
    q = p.queries[0].query
    assert isinstance(q, LogQuery)
    return q


def test_plans() -> None:
    q = _plan("show me the spool fsync log lines")
    assert (q.mode(), q.limit, q.order) == ("lines", 5, "newest")
    q = _plan("오류랑 경고는 각각 몇 건이야?")  # errors include the fatal ones
    assert (q.count_by, q.levels, q.level) == ("level", ("warn", "error", "fatal"), "warn")
    q = _plan("how many fatal log lines are there?")
    assert (q.count_by, q.levels, q.level) == ("template", ("fatal",), "fatal")
    q = _plan("how many warning log lines are there?")  # warnings exactly, not errors
    assert (q.count_by, q.levels, q.level) == ("template", ("warn",), "warn")
    q = _plan("how many errors and fatal log lines, each?")
    assert (q.count_by, q.levels) == ("level", ("error", "fatal"))


# -- the store ---------------------------------------------------------------------------------


def test_exact_levels_sql_is_the_same_on_both_engines() -> None:
    q = LogQuery(time_range=TR, levels=("error", "warn"))
    for d in (DuckDB(), ClickHouse()):
        sql = where_sql(q, LogColumns.store(), d)
        assert "level_num IN (3, 4)" in sql, sql


def test_exact_levels_count_each_level(broker: EmbeddedConnector) -> None:
    r = broker.run(LogQuery(time_range=TR, count_by="level", levels=("warn", "error")))
    assert {row["value"]: row["count"] for row in r.rows} == {"warn": 3, "error": 2}
    assert broker.run(LogQuery(time_range=TR, levels=("error",))).total == 2
    assert broker.run(LogQuery(time_range=TR, level="error")).total == 3  # minimum: + fatal


# -- the answer ------------------------------------------------------------------------------


def test_shown_lines_are_quoted_with_the_count(broker: EmbeddedConnector) -> None:
    q = LogQuery(time_range=TR, service="relay", limit=5)
    facts = facts_from_result(q, broker.run(q), 0)
    text = compose_answer("show me the relay lines", "en", TR, facts, [], [], [])
    head = text.split("Time window")[0]
    assert head.startswith("4 log lines matched for relay.")
    assert "relay backlog at 1200 frames" in head and "relay hop to 10.9.0.4 refused" in head
    assert head.index("1200 frames") < head.index("corrupt")  # newest first
    ko = compose_answer("relay 로그 보여줘", "ko", TR, facts, [], [], [])
    assert "4건" in ko.split("조회 기간")[0] and "relay state table corrupt" in ko
    for language in ("en", "ko"):
        composed = compose("q", language, TR, facts)
        report = check(composed.facts_text, facts, TR, composed.allowed)
        assert report.grounded, (language, report.violations)


def test_one_shown_line_is_still_a_line() -> None:
    q = LogQuery(time_range=TR, order="oldest", limit=5)
    line = LogLine(ts=END - timedelta(minutes=3), host="bk-2", service="relay",
                   message="relay drained")
    facts = facts_from_result(q, Result(connector="t", native="-", logs=[line], total=1), 0)
    head = compose_answer("q", "en", TR, facts, [], [], []).split("Time window")[0]
    assert "1 log lines matched" in head and "\u201crelay drained\u201d" in head
    assert "oldest first" in head


# -- logs without levels -------------------------------------------------------------------


class _Services:
    def __init__(self, conn: EmbeddedConnector) -> None:
        self.conn = conn
        self.settings = type("S", (), {"query_timeout_s": 10.0, "backend": "embedded"})()

    def connector_for(self, q: Any) -> EmbeddedConnector:
        return self.conn


class _Und:
    def __init__(self, pq: PlannedQuery) -> None:
        self.plan = type("P", (), {"queries": [pq]})()


def _run(conn: EmbeddedConnector, q: LogQuery) -> Any:
    pq = PlannedQuery(q, "logs", "t")
    return Executor(_Services(conn)).run(pq, _Und(pq))  # type: ignore[arg-type]


def test_without_levels_the_lines_words_say_the_severity(plain: EmbeddedConnector) -> None:
    ex = _run(plain, LogQuery(time_range=TR, levels=("error",), count_by="template"))
    assert ex.query.pattern == severity_pattern(["error"]) and not ex.query.levels
    assert ex.result.total == 2  # "Error 111" and "failed"
    assert ex.note and "no severity level" in ex.note
    ex = _run(plain, LogQuery(time_range=TR, levels=("warn", "error"), count_by="level"))
    assert ex.result.total == 3 and ex.query.count_by == "level"  # each level apart
    assert ex.result.rows == [{"value": "error", "count": 2}, {"value": "warn", "count": 1}]
    ex = _run(plain, LogQuery(time_range=TR, levels=("fatal", "warn"), count_by="level"))
    assert ex.result.rows == [{"value": "warn", "count": 1}, {"value": "fatal", "count": 0}]
    assert ex.result.total == 1 and ex.note and "each level" in ex.note


def test_without_levels_a_minimum_severity_is_what_the_lines_say(
        plain: EmbeddedConnector) -> None:
    """ "the relay's errors" in a log without levels: the relay lines saying an error or a
    failure, not every relay line."""
    ex = _run(plain, LogQuery(time_range=TR, service="relay", level="error", limit=5))
    assert ex.query.pattern == severity_pattern(["error", "fatal"]) and ex.query.level is None
    assert ex.result.total == 2 and "chosen by their words" in (ex.note or "")
    ex = _run(plain, LogQuery(time_range=TR, service="spooler", level="error", limit=5))
    assert ex.result.total == 3 and "showing all matching lines" in (ex.note or "")


def test_a_severity_word_of_the_text_where_no_line_has_that_level(
        broker: EmbeddedConnector) -> None:
    """ "relay refused errors" where no relay line saying 'refused' is at level error... is
    level error: kept. 'spool segment' lines are never errors: the words decide, and the
    answer says no line was at that level."""
    ex = _run(broker, LogQuery(time_range=TR, level="error", text="refused", limit=5))
    assert ex.result.total == 1 and ex.note is None
    ex = _run(broker, LogQuery(time_range=TR, level="fatal", text="segment", limit=5))
    assert ex.result.total == 0 and ex.query.level == "fatal"  # no line says it either


def test_shown_lines_add_the_first_one(broker: EmbeddedConnector) -> None:
    ex = _run(broker, LogQuery(time_range=TR, text="spool", limit=2))
    assert [x.message for x in ex.result.logs] == [
        "spool segment 19 sealed", "spool fsync stalled", "spool segment 17 sealed"]
    facts = facts_from_result(ex.query, ex.result, 0)
    text = compose_answer("q", "en", TR, facts, [], [], [])
    assert "- \u2026\n- first: " in text and "spool segment 17 sealed" in text


def test_with_levels_the_level_is_counted(broker: EmbeddedConnector) -> None:
    ex = _run(broker, LogQuery(time_range=TR, levels=("error",), count_by="template"))
    assert ex.result.total == 2 and ex.note is None and ex.query.levels == ("error",)


def test_a_severity_word_in_the_searched_phrase_is_text() -> None:
    from assistant.planner import Plan

    q = LogQuery(time_range=TR, levels=("error",), count_by="template")
    only = TextFilter(text="error", pattern=None, words=("errors",), found=True)
    phrase = TextFilter(text="fsync error", pattern=None, words=("fsync", "errors"), found=True)
    other = TextFilter(text="fsync", pattern=None, words=("fsync",), found=True)
    kept = _with_text(Plan(queries=[PlannedQuery(q, "logs")]), only, "en").queries[0].query
    assert isinstance(kept, LogQuery) and kept.text is None and kept.levels == ("error",)
    as_text = _with_text(Plan(queries=[PlannedQuery(q, "logs")]), phrase, "en").queries[0].query
    assert isinstance(as_text, LogQuery)
    assert as_text.text == "fsync error" and as_text.levels == ()
    both = _with_text(Plan(queries=[PlannedQuery(q, "logs")]), other, "en").queries[0].query
    assert isinstance(both, LogQuery) and both.text == "fsync" and both.levels == ("error",)


# -- values inside messages ------------------------------------------------------------------

BROKER_TEMPLATES = (
    "spool segment <*> sealed",
    "relay hop to <*> refused",
    "mounted quota volume: <*>, owner <*>",
    "quota volume <*> is exhausted",
    "cache tier <*> evicted <*> frames",
    "ack lag for consumer group: <*> at <*> ms",
)


@pytest.mark.parametrize(("question", "template", "value_of"), [
    ("which quota volumes were mounted?", "mounted quota volume: <*>, owner <*>",
     ("mounted quota volume: vol-7a, owner ops", "vol-7a")),
    ("how many different consumer groups lagged?", "ack lag for consumer group: <*> at <*> ms",
     ("ack lag for consumer group: billing-eu at 35 ms", "billing-eu")),
    ("which cache tier evicted the most frames?", "cache tier <*> evicted <*> frames",
     ("cache tier t2 evicted 900 frames", "t2")),
])
def test_the_placeholder_the_question_names(question: str, template: str,
                                            value_of: tuple[str, str]) -> None:
    import re

    from assistant.value_slots import choose_slot

    slot = choose_slot(question, BROKER_TEMPLATES)
    assert slot is not None and slot.template == template, slot
    m = re.search(slot.pattern(), value_of[0])
    assert m is not None and m.group(1) == value_of[1]


def test_no_placeholder_is_named() -> None:
    from assistant.value_slots import choose_slot

    assert choose_slot("which invoices were paid?", BROKER_TEMPLATES) is None
    assert choose_slot("which volumes were sealed?", BROKER_TEMPLATES[:1]) is None
    assert choose_slot("what happened?", BROKER_TEMPLATES) is None


def test_the_slot_value_is_planned_and_counted(broker: EmbeddedConnector) -> None:
    from assistant.entities import Links

    question = "how many different spool segments were sealed?"
    r = read_intent(question)
    r.intents.add("logs")
    p = plan_rules(PlanInput(question=question, time_range=TR, reading=r, links=Links(),
                             catalog=Catalog(services=["relay", "spooler"]),
                             templates=BROKER_TEMPLATES))
    q = p.queries[0].query
    assert isinstance(q, LogQuery) and q.extract is not None
    assert (q.count_by, q.aggregate, q.extract.kind) == ("extracted", "count_distinct", "regex")
    res = broker.run(q)
    assert (res.groups, res.total) == (2, 2)  # segments 17 and 19
    # a column the store has wins over a word in a template
    r = read_intent("which component logged the most?")
    r.intents.add("logs")
    p = plan_rules(PlanInput(question="which component logged the most?", time_range=TR,
                             reading=r, links=Links(),
                             catalog=Catalog(services=["relay", "spooler"]),
                             templates=BROKER_TEMPLATES))
    q = p.queries[0].query
    assert isinstance(q, LogQuery) and q.count_by == "service"


# -- the component a question names by its words -----------------------------------------

COMPONENTS = ("core.relay.Dispatcher", "core.relay.dispatch_pool", "spool.SegmentWriter",
              "relayctl.exe", "relayctl.exe *64", "Metrics")


@pytest.mark.parametrize(("question", "name"), [
    ("what does the dispatcher log most often?", "core.relay.Dispatcher"),
    ("show me the segment writer's warnings", "spool.SegmentWriter"),
    ("show me relayctl's connections", "relayctl.exe"),
    ("dispatch pool 로그 보여줘", "core.relay.dispatch_pool"),
])
def test_a_component_named_by_its_words(question: str, name: str) -> None:
    from assistant.log_sources import component_in

    found = component_in(question, COMPONENTS)
    assert found is not None and found.value == name, found


@pytest.mark.parametrize("question", [
    "how many segments were written?",          # words of a name, not its owner
    "which dispatcher logged the most?",        # asks which (no owner after the words)
    "how many metrics lines mention relay?",
])
def test_no_component_without_its_owner_grammar(question: str) -> None:
    from assistant.log_sources import component_in

    assert component_in(question, COMPONENTS) is None


def test_a_linked_service_is_kept() -> None:
    from assistant.entities import Link, Links
    from assistant.log_sources import with_component

    linked = Links(services=[Link(kind="service", value="Metrics", span=(0, 7), how="exact",
                                  score=1.0)])
    assert with_component("what does the dispatcher log?", linked, COMPONENTS) is linked
    found = with_component("what does the dispatcher log?", Links(), COMPONENTS)
    assert [x.value for x in found.services] == ["core.relay.Dispatcher"]


def test_the_question_tells_one_template_from_its_twin() -> None:
    import re

    from assistant.value_slots import choose_slot

    twins = ("attaching quota volume: <*> to <*>", "detaching quota volume: <*>")
    slot = choose_slot("which quota volumes were attached?", twins)
    assert slot is not None and slot.specific and slot.template == twins[0]
    assert re.search(slot.pattern(), "detaching quota volume: v9") is None
    m = re.search(slot.pattern(), "attaching quota volume: v3, to node-2")
    assert m is not None and m.group(1) == "v3"
    either = choose_slot("which quota volumes were seen?", twins)
    assert either is not None and not either.specific  # the value wherever it is said
    assert re.search(either.pattern(), "detaching quota volume: v9") is not None


def test_a_program_column_wins_in_a_store_without_metrics(broker: EmbeddedConnector) -> None:
    from assistant.entities import Links

    question = "which component opened the most connections?"
    r = read_intent(question)
    r.intents = (r.intents - {"metric"}) | {"logs"}  # what a store of logs only makes of it
    p = plan_rules(PlanInput(question=question, time_range=TR, reading=r, links=Links(),
                             catalog=Catalog(services=["relay", "spooler"]),
                             templates=("<*> opened connection <*>",)))
    q = p.queries[0].query
    assert isinstance(q, LogQuery) and q.count_by == "service"


def test_a_value_is_read_with_the_name_its_templates_differ_in() -> None:
    import re

    from assistant.value_slots import choose_slot

    codes = ("flush stalled [status = <*> - DISK_FULL]", "flush retried [status = <*> - BUSY]")
    slot = choose_slot("which status codes came up most?", codes)
    assert slot is not None and slot.named_by == " - "
    m = re.search(slot.pattern(), "flush retried [status = 0x21 - BUSY]")
    assert m is not None and m.group(1) == "0x21 - BUSY"


def test_a_slot_value_keeps_the_other_words_only_where_a_template_says_both() -> None:
    """ "how many distinct segments were sealed": the segment slot read in the lines that
    also say "sealed" (a template holds both); "which segment ... relay" keeps the slot
    alone, since no template says "relay" beside a segment."""
    from assistant.ir import Extract
    from assistant.planner import Plan

    templates = ("spool segment <*> sealed", "spool segment <*> nearly full",
                 "relay backlog at <*> frames")
    rx = r"(?i)segment\s+(\S+)"
    q = LogQuery(time_range=TR, pattern=rx, extract=Extract(kind="regex", pattern=rx),
                 count_by="extracted", aggregate="count_distinct")
    sealed = TextFilter(text="sealed", pattern=None, words=("sealed",), found=True)
    relay = TextFilter(text="relay", pattern=None, words=("relay",), found=True)
    kept = _with_text(Plan(queries=[PlannedQuery(q, "logs")]), sealed, "en", templates)
    assert kept.queries[0].query.text == "sealed"  # type: ignore[union-attr]
    alone = _with_text(Plan(queries=[PlannedQuery(q, "logs")]), relay, "en", templates)
    assert alone.queries[0].query.text is None  # type: ignore[union-attr]


def test_a_kind_of_value_no_line_holds_counts_the_lines(broker: EmbeddedConnector) -> None:
    """ "how many blocks were sealed" where no line holds an HDFS block id: the matching
    lines are counted, and the answer says no line held such a value."""
    from assistant.ir import Extract

    q = LogQuery(time_range=TR, text="sealed", extract=Extract(kind="block_id"),
                 count_by="extracted", aggregate="count_distinct")
    ex = _run(broker, q)
    assert ex.result.total == 2 and ex.query.extract is None
    assert ex.note and "block id" in ex.note


def test_a_level_no_searched_line_has_reads_the_lines_words(broker: EmbeddedConnector
                                                            ) -> None:
    """ "how many backlog warnings at level error": no "backlog" line is at that level;
    the lines searched for are answered, with a note saying none was at the level."""
    ex = _run(broker, LogQuery(time_range=TR, text="backlog", levels=("error",)))
    assert ex.result.total == 2 and ex.query.levels == ()
    assert ex.note and "no matching line was at level error" in ex.note
    kept = _run(broker, LogQuery(time_range=TR, text="nothing like this", levels=("error",)))
    assert kept.result.total == 0 and kept.query.levels == ("error",)
