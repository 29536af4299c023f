"""Understanding fitted to the data: its time span, its words, its series names.

An old log (2005) in a real embedded store, asked about with no time, with dates that have
no year, and with content words; series named in words against made-up metric names.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant.content_words import Vocabulary, stem, text_filter
from assistant.core import AskOptions, Assistant
from assistant.ir import LogQuery
from assistant.series_names import link_series
from assistant.services import Services
from assistant.settings import load_settings
from assistant.timeparse import resolve_time
from connectors.embedded import schema
from connectors.embedded.connector import EmbeddedConnector
from connectors.embedded.schema import LEVEL_NUM

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = datetime(2005, 6, 3, 15, 0, tzinfo=UTC)
TEMPLATES = {
    1: "Connection to <*> timed out after <*> ms",
    2: "request timeout on queue <*>",
    3: "session opened for user <*>",
    4: "disk quota exceeded on volume <*>",
    5: "worker <*> failed to start",
}
# (template, message, level, hours after START)
LINES = [
    (1, "Connection to 10.0.0.1 timed out after 300 ms", "error", 1),
    (1, "Connection to 10.0.0.2 timed out after 500 ms", "error", 30),
    (2, "request timeout on queue q1", "warn", 26),
    (2, "request timeout on queue q7", "warn", 27),
    (2, "request timeout on queue q9", "warn", 800),
    (3, "session opened for user root", "info", 2),
    (3, "session opened for user bob", "info", 25),
    (3, "session opened for user eve", "info", 900),
    (4, "disk quota exceeded on volume v3", "error", 28),
    (5, "worker 7 failed to start", "error", 29),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("oldlog")
    con = schema.connect(root / "telemetry.duckdb")
    try:
        for tid, text in TEMPLATES.items():
            con.execute("INSERT INTO log_templates VALUES (?, ?)", [tid, text])
        for i, (tid, msg, level, hours) in enumerate(LINES):
            ts = (START + timedelta(hours=hours)).replace(tzinfo=None)
            h = int.from_bytes(hashlib.blake2b(f"{i}".encode(), digest_size=7).digest(), "big")
            con.execute(
                "INSERT INTO logs (ts, service, host, level, level_num, message, template_id, "
                "line_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [ts, "app", "node-1", level, LEVEL_NUM[level], msg, tid, h])
    finally:
        con.close()
    return root


@pytest.fixture(scope="module")
def bot(data_dir: Path) -> Assistant:
    s = load_settings(data_dir=data_dir, now=NOW.isoformat(), timezone="UTC")
    services = Services(s)
    services.__dict__["_retriever"] = None
    services.problems["retrieval"] = "retrieval is not configured in this test"
    return Assistant(services)


def ask(bot: Assistant, question: str) -> tuple[str, list[LogQuery]]:
    ans = bot.ask(question, options=AskOptions(now=NOW))
    logs = [LogQuery.model_validate(q.ir) for q in ans.queries if q.ir.get("kind") == "logs"]
    return ans.answer, logs


def test_the_store_reports_its_extent_and_vocabulary(data_dir: Path) -> None:
    conn = EmbeddedConnector(data_dir / "telemetry.duckdb")
    try:
        first, last = conn.extent("logs") or (None, None)
        assert first == START + timedelta(hours=1)
        assert last == START + timedelta(hours=900)
        assert conn.extent("events") is None  # no events at all
        assert "request timeout on queue <*>" in conn.log_vocabulary()
    finally:
        conn.close()


def test_no_time_given_covers_the_whole_log(bot: Assistant) -> None:
    text, logs = ask(bot, "how many error lines are there?")
    assert logs and logs[0].time_range.start.year == 2005
    assert logs[0].time_range.end > START + timedelta(hours=900)
    assert "whole log" in text
    assert text.splitlines()[0].startswith("4 ")  # 4 lines at error level or worse


def test_content_words_filter_lines_in_the_logs_own_spelling(bot: Assistant) -> None:
    text, logs = ask(bot, "how many lines mention timeouts?")
    q = logs[0]
    assert q.pattern is not None and q.text is None  # "timeout" and "timed out"
    assert text.splitlines()[0].startswith("5 ")
    _, logs = ask(bot, "show me the lines about disk quotas in this log")
    assert logs[0].text == "disk quota"


def test_a_word_the_logs_never_say_counts_nothing(bot: Assistant) -> None:
    text, logs = ask(bot, "how many lines mention kangaroos?")
    assert logs[0].text == "kangaroos"
    assert text.lower().startswith("no ")


def test_failed_is_what_lines_say_not_a_level(bot: Assistant) -> None:
    _, logs = ask(bot, "how many lines say failed?")
    assert logs[0].level is None and logs[0].text == "fail"


def test_korean_words_reach_the_logs_through_the_glossary(bot: Assistant) -> None:
    _, logs = ask(bot, "타임아웃이 몇 번 났어?")
    assert logs and logs[0].pattern is not None and "timeout" in logs[0].pattern


def test_a_date_without_year_falls_in_the_data(bot: Assistant) -> None:
    text, logs = ask(bot, "how many lines on June 4 between 14:00 and 16:00?")
    tr = logs[0].time_range
    # half-open: a line at 16:00:00 belongs to the next window (stores read `end` inclusively)
    assert (tr.start, tr.end) == (datetime(2005, 6, 4, 14, tzinfo=UTC),
                                  datetime(2005, 6, 4, 16, tzinfo=UTC) - timedelta(microseconds=1))
    assert "2005-06-04 14:00–16:00" in text


def test_a_store_without_events_reads_events_as_its_lines(bot: Assistant) -> None:
    _, logs = ask(bot, "how many events were logged on June 4?")
    assert logs and logs[0].time_range.start == datetime(2005, 6, 4, tzinfo=UTC)


def test_an_english_phrase_is_meant_whole(bot: Assistant) -> None:
    text, logs = ask(bot, "how many disk timeouts are in this log?")
    assert logs[0].text == "disk timeouts"  # both words occur, never together
    assert text.lower().startswith("no ")
    _, logs = ask(bot, "how many lines say connection timed out?")  # one template, in order
    assert logs[0].pattern is not None and logs[0].pattern.startswith("(?i)Connection.*")


def test_year_from_the_data_span_only_when_the_date_is_inside_it() -> None:
    span = (datetime(2005, 6, 3, tzinfo=UTC), datetime(2006, 1, 3, tzinfo=UTC))
    tz = ZoneInfo("UTC")
    assert resolve_time("errors on 12월 23일", NOW, tz, data_span=span).range.start.date() \
        == date(2005, 12, 23)
    assert resolve_time("errors on March 17", NOW, tz, data_span=span).range.start.date() \
        == date(2026, 3, 17)  # not in the data: the calendar's most recent one


def test_stems_join_inflections() -> None:
    assert {stem(w) for w in ("timeout", "timeouts")} == {"timeout"}
    assert stem("failed") == stem("fails") == "fail"
    assert stem("denied") == "deny"


def test_longest_phrase_the_logs_hold_wins() -> None:
    vocab = Vocabulary(["disk quota exceeded on volume <*>", "quota check ok"])
    tf = text_filter("how many disk quota warnings?", [], vocab)
    assert tf is not None and tf.text == "disk quota"
    assert text_filter("how many errors?", [], vocab) is None  # a level, not a text


NAMES = ["wind_speed_site_12", "wind_speed_site_40", "rainfall_mm_site_12",
         "ads_cpc_eu", "ads_cpm_eu", "pageviews_total"]


@pytest.mark.parametrize(("question", "metric"), [
    ("peak wind speed at site 40", "wind_speed_site_40"),
    ("how much rainfall at site 12 yesterday", "rainfall_mm_site_12"),
    ("average cost per click for ads in the eu", "ads_cpc_eu"),
    ("page views over the whole series", "pageviews_total"),
    ("12번 사이트 풍속 말고 속도", "wind_speed_site_12"),
])
def test_series_named_in_words(question: str, metric: str) -> None:
    found = link_series(question, NAMES)
    assert found and found[0].metric == metric


def test_a_number_the_name_lacks_links_nothing() -> None:
    assert all(x.metric != "wind_speed_site_12" for x in link_series("wind speed at site 7",
                                                                     NAMES))


def test_a_plain_word_after_node_is_not_an_unknown_host() -> None:
    from assistant.entities import EntityLinker
    from connectors.base import Catalog

    linker = EntityLinker(Catalog(hosts=["R01-M0-N4", "R02-M1-N0"]))
    assert linker.link("which node logged the most fatal messages?").unknown == []
    unknown = linker.link("how many lines from node R99-M0-N0?").unknown
    assert unknown and unknown[0].value == "R99-M0-N0"  # a clear host reference still asks
    assert linker.link("how many lines from host Apollo?").unknown[0].value == "Apollo"


def test_an_unknown_host_word_the_logs_say_becomes_text(bot: Assistant) -> None:
    text, logs = ask(bot, "how many lines from server Worker?")
    assert logs and logs[0].text == "worker"
    assert "no host" not in text


def test_name_tokens_replace_a_tie_of_weak_metric_links() -> None:
    from assistant.entities import Link, Links
    from assistant.understand.series import by_name_tokens as _by_name_tokens
    from connectors.base import Catalog, MetricInfo

    cat = Catalog(metrics=[MetricInfo(name=n) for n in NAMES])
    tie = [Link(kind="metric", value=n, span=(5, 15), how="alias", score=0.9)
           for n in ("wind_speed_site_12", "wind_speed_site_40")]
    got = _by_name_tokens("peak wind speed at site 40", Links(metrics=tie), cat)
    assert [m.value for m in got.metrics] == ["wind_speed_site_40"]
    exact = [Link(kind="metric", value="pageviews_total", span=(0, 15), how="exact", score=1)]
    kept = _by_name_tokens("pageviews_total at site 40", Links(metrics=exact), cat)
    assert [m.value for m in kept.metrics] == ["pageviews_total"]  # a name as written wins


def test_a_severity_the_log_has_no_level_for_is_text() -> None:
    vocab = Vocabulary(["Link error on port <*>", "link up"])
    assert text_filter("how many errors?", [], vocab, frozenset({"error"})) is None
    tf = text_filter("how many errors?", [], vocab, frozenset())  # no levels at all
    assert tf is not None and tf.text == "error"


def test_verbs_and_nouns_in_any_order_of_one_template() -> None:
    vocab = Vocabulary(["Finished task <*> in stage <*>", "Lustre mount FAILED : <*>"])
    tf = text_filter("how many tasks finished?", [], vocab)
    assert tf is not None and tf.pattern == "(?i)Finish.*task"
    tf = text_filter("when was the last Lustre mount failure?", [], vocab)
    assert tf is not None and tf.text == "Lustre mount FAIL"  # a phrase, cut to the stem


def test_a_number_counts_where_it_follows_its_word() -> None:
    names = ["exchange_2_cpm", "exchange_4_cpm", "exchange_4_cpc"]
    found = link_series("how many readings of exchange 4 cpm were above 2?", names)
    assert found[0].metric == "exchange_4_cpm"


def test_one_word_the_logs_never_say_is_an_honest_none(bot: Assistant) -> None:
    text, logs = ask(bot, "show me the GPS lines")
    assert logs[0].text == "GPS" and text.lower().startswith("no ")


def test_time_units_and_loose_words_are_no_text() -> None:
    vocab = Vocabulary(["Link error on port <*>"])
    assert text_filter("when was the busiest minute?", [], vocab) is None
    assert text_filter("which codes did the API return?", [], vocab) is None


def test_camel_case_names_are_read_as_their_words() -> None:
    vocab = Vocabulary(["sendSyncFailedBroadcast", "There is no server for ServerFileSystem <*>"])
    tf = text_filter("how many sync failed broadcasts?", [], vocab)
    assert tf is not None and tf.text == "SyncFailedBroadcast"
    tf = text_filter("show me the file system lines", [], vocab)
    assert tf is not None and tf.text == "FileSystem"


def test_the_first_value_of_a_slot_with_the_words_asked(bot: Assistant) -> None:
    """ "which user ... first": the oldest line of the template holding a user, with its
    value; the words asked for ("opened") stay a filter beside the slot's pattern."""
    text, logs = ask(bot, "which user had a session opened first?")
    q = logs[0]
    assert q.order == "oldest" and q.limit == 1 and q.extract is not None
    assert "root" in text.splitlines()[0]
    text, logs = ask(bot, "which user had a session opened last?")
    assert logs[0].order == "newest" and "eve" in text.splitlines()[0]


def test_traffic_words_and_something_are_not_text(bot: Assistant) -> None:
    text, logs = ask(bot, "show me the lines where something failed")
    assert logs[0].text == "fail" and text.splitlines()[0].startswith("1 ")


def test_how_many_of_a_noun_that_labels_a_slot_counts_its_values(bot: Assistant) -> None:
    """ "how many queues are there": "queue <*>" names values, 3 of them (q1, q7, q9);
    "how many requests timed out on a queue" says what happened: it counts lines."""
    text, logs = ask(bot, "how many queues are in this log?")
    assert logs[0].aggregate == "count_distinct" and "3 distinct" in text
    text, logs = ask(bot, "how many times did a request time out on a queue?")
    assert logs[0].aggregate == "count" and text.splitlines()[0].startswith("3 ")


def test_a_korean_modifier_is_not_the_asked_noun() -> None:
    from assistant.value_slots import head_stems

    assert head_stems("끝난 태스크는 몇 개야?") == set()  # 태스크, not "finished"
    assert head_stems("가장 자주 꽉 찼던 도메인은 뭐야?") == {"domain"}


def test_a_hyphenated_word_may_be_asked_joined() -> None:
    """ "wifi" finds the logs' "Wi-Fi" (and "email" their "e-mail"): the filter is the
    logs' own spelling, so the lines that say it match."""
    vocab = Vocabulary(["Wi-Fi will stay on", "sent e-mail to <*>"])
    assert vocab.has("wifi") and vocab.has("email") and vocab.has("fi")
    tf = text_filter("how many wifi messages are there?", [], vocab)
    assert tf is not None and tf.found and tf.text == "Wi-Fi"


def test_korean_most_may_stand_apart_from_its_verb() -> None:
    """ "가장 로그를 많이 남긴 프로세스는?" asks for the program with the most lines, like
    "가장 많이 로그를 남긴"."""
    from assistant.intent import read_intent

    for q in ("가장 로그를 많이 남긴 프로세스는?", "가장 많이 로그를 남긴 프로세스는?"):
        r = read_intent(q)
        assert (r.log_op, r.log_field) == ("top_value", "service"), q
    assert read_intent("가장 최근 로그를 보여줘").log_op != "top_value"


def test_a_korean_question_about_a_recorded_deletion_is_not_a_request() -> None:
    """ "삭제된 인스턴스는 몇 개야?" over logs that say "Deleting instance files" asks what
    the data records; "인스턴스 삭제해줘" stays a request (refused)."""
    from assistant.understand.vocabulary import asks_about_recorded_action

    vocab = Vocabulary(["[instance: <*>] Deleting instance files <*>"])
    assert asks_about_recorded_action("삭제된 인스턴스는 몇 개야?", vocab)
    assert not asks_about_recorded_action("인스턴스 삭제해줘", vocab)


@pytest.mark.parametrize("question,field", [
    ("how many lines per component?", "service"),
    ("count the messages for each component", "service"),
    ("errors by node?", "host"),
    ("노드별 에러 수는?", "host"),
    ("프로그램마다 몇 줄씩 남겼어?", "service"),
])
def test_a_count_for_each_value_of_a_field(question: str, field: str) -> None:
    """ "per X", "by X", "for each X", "X별", "X마다": every value of the field with its
    count (the values listed), not the number of distinct values."""
    from assistant.intent import read_intent

    r = read_intent(question)
    assert (r.log_op, r.log_field) == ("distinct_list", field)


def test_a_field_word_without_per_is_not_a_breakdown() -> None:
    from assistant.intent import read_intent

    assert read_intent("how many components are there?").log_op == "distinct_count"
    assert read_intent("which component logged the most?").log_op == "top_value"


@pytest.mark.parametrize("question,expect", [
    ("what was the worst day for FATAL events, and how many were there?", ("busiest", None)),
    ("which day was the kernel noisiest?", ("busiest", None)),
    ("in which minute was ActivityManager chattiest?", ("busiest", None)),
    ("which subsystem produced the most fatal events?", ("top_value", "service")),
    ("what severity levels appear in this log?", ("distinct_list", "level")),
])
def test_everyday_words_for_log_operations(question: str, expect: tuple[str, str | None]
                                           ) -> None:
    """ "worst day", "noisiest", "chattiest" ask for the busiest period (with a level, of
    those lines); "subsystem" names the program column; "severity levels" the levels."""
    from assistant.intent import read_intent

    r = read_intent(question)
    assert (r.log_op, r.log_field) == expect


def test_verbose_is_a_level_and_logged_is_about_logs() -> None:
    from assistant.intent import read_intent
    from assistant.runbooks import question_role

    assert read_intent("how many verbose lines did logcat record?").levels == ["trace"]
    assert "logs" in read_intent("show me what KeyguardUpdateMonitor logged").intents
    assert question_role("what severity levels appear in this log?") is None
    assert question_role("what is the severity of the DiskFull alert?") == "impact"


def test_a_component_named_by_its_camel_case_name_or_without_its_suffix() -> None:
    """ "the SecurityManager lines" -> spark.SecurityManager; "WeChat 오류 로그" ->
    WeChat.exe: the name's last segment, its camel-case words, file suffix dropped."""
    from assistant.log_sources import component_in

    names = ["spark.SecurityManager", "executor.Executor", "WeChat.exe", "chrome.exe"]
    for q, want in [("show me the SecurityManager lines", "spark.SecurityManager"),
                    ("7월 26일 WeChat 오류 로그 보여줘", "WeChat.exe"),
                    ("show me the WeChat error logs", "WeChat.exe")]:
        got = component_in(q, names)
        assert got is not None and got.value == want, q
    assert component_in("which manager has the most security lines?", names) is None


def test_last_wins_over_a_start_verb() -> None:
    from assistant.intent import read_intent

    assert read_intent("when was the last time the service started?").log_op == "last"
    assert read_intent("when did the failures start?").log_op == "first"


def test_names_the_logs_say_or_field_words_are_not_unknown_names() -> None:
    """An unknown 'service' the logs say (TrustedInstaller) is text; an unknown 'host'
    that is a kind of value ("IP") is that kind: neither aborts the question."""
    from assistant.entities import Links, UnknownMention
    from assistant.understand.vocabulary import known_words_not_hosts

    vocab = Vocabulary(["TrustedInstaller service starts successfully."])
    links = Links(unknown=[
        UnknownMention(kind="service", value="TrustedInstaller", span=(0, 16)),
        UnknownMention(kind="host", value="IP", span=(20, 22)),
        UnknownMention(kind="host", value="web-07", span=(30, 36))])
    kept = known_words_not_hosts(links, vocab).unknown
    assert [u.value for u in kept] == ["web-07"]


def test_every_frequent_word_of_a_placeholder_is_a_template_word() -> None:
    """A placeholder with a handful of word values (VM Started / Stopped / Paused /
    Resumed) has each of them written in, so "the last VM Stopped event" finds its lines."""
    from assistant.template_values import specialized

    template = "[instance: <*>] VM <*> (Lifecycle Event)"
    lines = [f"[instance: {i}] VM {state} (Lifecycle Event)"
             for i, state in enumerate(["Started", "Paused", "Resumed", "Stopped"] * 3)]
    made = specialized([(template, x) for x in lines])
    assert any("VM Stopped" in t for t in made)
    assert Vocabulary([template, *made]).has("Stopped")


def test_an_acronym_the_store_never_holds_filters_to_none() -> None:
    """ "how many times did the OOM killer fire" over logs that never say OOM: no lines
    (not the lines about "nodes"); an acronym inside a word or a program's name the store
    holds ("SSH" in sshd, "NTP" for ntpd) does not filter."""
    vocab = Vocabulary(["Out of memory: Kill process <*>", "node <*> is up",
                        "Accepted password for <*>"])
    tf = text_filter("how many times did the OOM killer fire on the nodes?", [], vocab,
                     names=["sshd", "ntpd"])
    assert tf is not None and tf.text == "OOM" and not tf.found
    ssh = text_filter("how many SSH logins were accepted?", [], vocab, names=["sshd"])
    assert ssh is None or ssh.text != "SSH"
    ntp = text_filter("how many NTP nodes are up?", [], vocab, names=["ntpd"])
    assert ntp is None or ntp.text != "NTP"
