"""Metric questions over named series: periods compared, incidents recorded on a series,
and series named in other words (numbers, abbreviations, Hangul transliterations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.answer import compose
from assistant.entities import Links
from assistant.facts import Fact, compare_periods, facts_from_result
from assistant.intent import read_intent
from assistant.ir import EventQuery, MetricQuery, TimeRange
from assistant.planner import Plan, PlanInput, compare_stat, plan_rules
from assistant.runbooks import question_role
from assistant.series_names import (
    english_skeleton,
    hangul_skeleton,
    link_series,
    missing_series,
    number_disagrees,
    sounds_like,
)
from assistant.timeparse import resolve_time, strip_time_phrases
from connectors.base import Catalog, Event, MetricInfo, Result, Series

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SPAN = (datetime(2019, 5, 1, tzinfo=UTC), datetime(2019, 7, 1, tzinfo=UTC))
UTC_ZONE = ZoneInfo("UTC")


def catalog() -> Catalog:
    names = ["kiln_temp_3", "kiln_temp_8", "queue_depth_orders"]
    return Catalog(metrics=[MetricInfo(name=n, type="gauge") for n in names],
                   services=names, event_kinds=["incident"])


def plan_for(question: str, cat: Catalog | None = None) -> Plan:
    cat = cat or catalog()
    time = resolve_time(question, NOW, UTC_ZONE, data_span=SPAN)
    stripped = strip_time_phrases(question)
    found = link_series(question, [m.name for m in cat.metrics])
    from assistant.entities import Link

    links = Links(metrics=[Link(kind="metric", value=found[0].metric, span=found[0].span,
                                how="alias", score=1.0, text="x")] if found else [])
    return plan_rules(PlanInput(question=stripped, time_range=time.range,
                                reading=read_intent(stripped), links=links, catalog=cat,
                                periods=time.periods))


# ------------------------------------------------------------------- time periods


def test_two_days_named_apart_are_two_periods_in_question_order() -> None:
    r = resolve_time("was the kiln hotter on June 5 or on June 2?", NOW, UTC_ZONE,
                     data_span=SPAN)
    assert [p.start.date().isoformat() for p in r.periods] == ["2019-06-05", "2019-06-02"]
    assert all(p.duration_s == 86400 for p in r.periods)
    assert r.range.start == datetime(2019, 6, 2, tzinfo=UTC)
    assert r.range.end == datetime(2019, 6, 6, tzinfo=UTC)


def test_korean_days_named_apart_and_one_day_is_no_comparison() -> None:
    r = resolve_time("5월 7일과 5월 8일 큐 길이 비교", NOW, UTC_ZONE, data_span=SPAN)
    assert len(r.periods) == 2
    one = resolve_time("queue depth on May 7", NOW, UTC_ZONE, data_span=SPAN)
    assert one.periods == () and one.range.duration_s == 86400


def test_low_is_not_daytime() -> None:
    r = resolve_time("큐 길이가 가장 낮았던 때는?", NOW, UTC_ZONE)
    assert r.kind == "default"


# --------------------------------------------------------------- periods compared


def test_periods_plan_one_samples_query_each_with_the_asked_statistic() -> None:
    p = plan_for("which day had more queue depth orders, June 5 or June 6?")
    assert p.compared == (0, 1) and p.compare_stat == "sum"
    qs = [pq.query for pq in p.queries if isinstance(pq.query, MetricQuery)]
    assert len(qs) == 2 and all(q.function == "samples" for q in qs)
    assert [q.time_range.start.day for q in qs] == [5, 6]
    p = plan_for("compare the average kiln temp 8 on June 5 and June 9")
    assert p.compare_stat == "avg" and len(p.queries) == 2


def test_compare_stat_defaults() -> None:
    assert compare_stat(read_intent("kiln temp on two days"), "kiln temp on two days") == "avg"
    assert compare_stat(read_intent("which day was busier"), "which day was busier") == "sum"
    assert compare_stat(read_intent("peak kiln temp"), "peak kiln temp") == "peak"


def _period(day: int, values: list[float]) -> tuple[TimeRange, list[Fact]]:
    start = datetime(2019, 6, day, tzinfo=UTC)
    tr = TimeRange(start=start, end=start + timedelta(days=1), timezone="UTC")
    q = MetricQuery(metric="queue_depth_orders", function="samples", bucket_s=86400,
                    time_range=tr)
    pts = [(start + timedelta(hours=i), v) for i, v in enumerate(values)]
    res = Result(connector="t", native="-", series=[Series(metric=q.metric, points=pts)])
    return tr, facts_from_result(q, res, day)


def test_compare_periods_states_each_value_and_the_difference() -> None:
    periods = [_period(5, [10, 20, 30]), _period(6, [40, 50])]
    facts = compare_periods(periods, "sum", 9)
    values = [f.value for f in facts if f.name == "period_sum"]
    assert values == [60, 90]
    diff = next(f for f in facts if f.name == "period_diff")
    assert diff.value == 30 and diff.at == datetime(2019, 6, 6, tzinfo=UTC)
    tr = TimeRange(start=periods[0][0].start, end=periods[1][0].end, timezone="UTC")
    allf = facts + [f for _, fs in periods for f in fs]
    en = compose("which day had more, June 5 or June 6?", "en", tr, allf)
    head = en.fact_sentences[0] + " " + en.fact_sentences[1]
    assert "2019-06-05 60" in head and "2019-06-06 90" in head and "by 30" in head
    ko = compose("6월 5일과 6월 6일 비교", "ko", tr, allf)
    assert "기간별 합계" in ko.fact_sentences[0] and "더 큽니다" in ko.fact_sentences[1]


def test_compare_periods_needs_two_values() -> None:
    empty_tr, _ = _period(7, [1])
    assert compare_periods([(empty_tr, []), (empty_tr, [])], "sum", 3) == []


# ------------------------------------------------------------ incidents on a series


def test_anomalies_on_a_series_are_an_events_query_for_it() -> None:
    p = plan_for("how many anomalies were flagged on kiln temp 8, and when did each start?")
    assert len(p.queries) == 1
    q = p.queries[0].query
    assert isinstance(q, EventQuery) and q.service == "kiln_temp_8" and q.kinds == ("incident",)
    p = plan_for("kiln temp 3의 이상 구간은 몇 개야?")
    q = p.queries[0].query
    assert isinstance(q, EventQuery) and q.service == "kiln_temp_3"


def test_a_cause_question_or_a_comparison_word_is_not_a_count_of_incidents() -> None:
    p = plan_for("why was there an outage on kiln temp 3?")
    assert not (len(p.queries) == 1 and isinstance(p.queries[0].query, EventQuery))
    p = plan_for("kiln temp 3가 400 이상이었던 시간")
    assert not (len(p.queries) == 1 and isinstance(p.queries[0].query, EventQuery))


def test_one_targets_alike_events_are_stated_by_their_start_times() -> None:
    tr = TimeRange(start=datetime(2019, 5, 1, tzinfo=UTC), end=datetime(2019, 7, 1, tzinfo=UTC),
                   timezone="UTC")
    q = EventQuery(time_range=tr, kinds=("incident",), service="kiln_temp_3")
    evs = [Event(id=str(i), ts=datetime(2019, 6, d, 8, 30, tzinfo=UTC), kind="incident",
                 service="kiln_temp_3", title="kiln excursion") for i, d in enumerate((3, 9))]
    facts = facts_from_result(q, Result(connector="t", native="-", events=evs), 0)
    starts = [f.display for f in facts if f.name == "event_start"]
    assert starts == ["2019-06-03 08:30", "2019-06-09 08:30"]
    text = compose("how many incidents on kiln temp 3 and when did each start?", "en", tr,
                   facts).text()
    assert "2019-06-03 08:30, 2019-06-09 08:30" in text.split("Time window")[0]


# ----------------------------------------------------------------- series linking


def test_a_number_picks_the_series_that_carries_it() -> None:
    assert number_disagrees("kiln 3 temperature", "kiln_temp_8")
    assert not number_disagrees("kiln 8 temperature", "kiln_temp_8")
    assert not number_disagrees("kiln temperature", "kiln_temp_8")
    assert link_series("peak kiln temp for kiln 8", ["kiln_temp_3", "kiln_temp_8"])[0].metric \
        == "kiln_temp_8"


def test_abbreviated_name_tokens() -> None:
    names = ["stock_volume_amd", "stock_volume_tsla", "stock_volume_nvda"]
    for said, name in (("Tesla", "stock_volume_tsla"), ("Nvidia", "stock_volume_nvda")):
        found = link_series(f"{said} stock volume", names)
        assert found[0].metric == name and found[0].score - found[1].score >= 0.1


def test_hangul_transliterations_sound_like_the_name() -> None:
    assert english_skeleton("kafka") == hangul_skeleton("카프카") == "KPK"
    assert sounds_like("redis", "레디스") and sounds_like("kafka", "카프카의")
    assert sounds_like("gcp", "지씨피") is False  # letter names are not transliterations
    assert not sounds_like("redis", "평균") and not sounds_like("kafka", "가장")
    names = ["lag_kafka", "lag_redis"]
    assert link_series("카프카 lag 최대값", names)[0].metric == "lag_kafka"


def test_a_name_or_number_no_member_carries_is_a_missing_series() -> None:
    names = ["stock_volume_tsla", "stock_volume_nvda", "stock_volume_amd", "kiln_temp_3",
             "kiln_temp_8"]
    gone = missing_series("peak Rivian stock volume last week", names)
    assert gone is not None and gone.text == "Rivian stock volume"
    assert set(gone.family) == {"stock_volume_tsla", "stock_volume_nvda", "stock_volume_amd"}
    gone = missing_series("mean kiln temp for kiln 5", names)
    assert gone is not None and set(gone.family) == {"kiln_temp_3", "kiln_temp_8"}
    assert missing_series("peak Tesla stock volume", names) is None
    assert missing_series("kiln temp above 400", names) is None  # a value, not a kiln
    assert missing_series("how many kiln temp samples were over 500", names) is None


def test_highest_value_is_not_a_fix() -> None:
    assert question_role("큐 길이 최고치는 얼마였어?") is None
    assert question_role("이 알림은 어떻게 고치나요?") == "mitigation"


def test_a_period_without_data_is_said_first() -> None:
    empty_tr, _ = _period(7, [1])
    facts = compare_periods([_period(5, [1, 2]), (empty_tr, [])], "sum", 3)
    assert [(f.name, f.labels) for f in facts] == [("no_data", {"period": "2019-06-07"})]


def test_a_day_past_the_data_takes_the_year_of_the_day_named_with_it() -> None:
    r = resolve_time("kiln temp on June 20 versus August 3", NOW, UTC_ZONE, data_span=SPAN)
    assert [p.start.date().isoformat() for p in r.periods] == ["2019-06-20", "2019-08-03"]
    assert "in the year of 2019-06-20" in r.note


def test_windows_of_one_kind_named_apart_are_periods() -> None:
    now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    r = resolve_time("queue depth this week versus last week", now, UTC_ZONE)
    assert [p.start.day for p in r.periods] == [16, 9] and r.range.end == now
    r = resolve_time("queue depth from 9:00 to 10:00 and from 13:00 to 14:00", now, UTC_ZONE)
    assert [(p.start.hour, p.end.hour) for p in r.periods] == [(9, 10), (13, 14)]
    r = resolve_time("queue depth between 13:00 and 14:00 last week", now, UTC_ZONE)
    assert r.periods == ()


def test_a_missing_series_is_named_as_a_series_in_korean() -> None:
    from assistant.entities import UnknownMention
    from assistant.understand.series import unknown_ko as _unknown_ko

    said = _unknown_ko(UnknownMention(kind="series", value="코카콜라 트윗량", span=(0, 1),
                                      suggestions=["twitter_volume_ko"]))
    assert said.startswith("'코카콜라 트윗량'라는 시계열이 없습니다.")
    assert _unknown_ko(UnknownMention(kind="host", value="web-9", span=(0, 1))) == \
        "'web-9'라는 호스트가 없습니다."
