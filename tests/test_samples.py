"""Answers from the raw samples (function "samples"): IR rules, facts computed in code,
the answer naming the function, and the planner's choice in English and Korean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant.answer import compose_answer
from assistant.entities import EntityLinker
from assistant.errors import IRError
from assistant.facts import Fact, facts_from_result, sample_quantile, time_above
from assistant.intent import read_intent
from assistant.ir import MetricQuery, TimeRange, parse_query
from assistant.planner import PlanInput, plan_rules
from assistant.timeparse import resolve_time, strip_time_phrases
from connectors.base import Catalog, MetricInfo, Result, Series
from connectors.prometheus.promql import compile_metric

DAY = datetime(2015, 3, 3, tzinfo=UTC)
TR = TimeRange(start=DAY - timedelta(days=1), end=DAY + timedelta(days=1))


def five_minutes(values: list[float], start: datetime = DAY - timedelta(days=1),
                 offset_s: int = 53) -> list[tuple[datetime, float]]:
    return [(start + timedelta(seconds=300 * i + offset_s), v) for i, v in enumerate(values)]


def samples_result(points: list[tuple[datetime, float]], **labels: str) -> Result:
    return Result(connector="t", native="x",
                  series=[Series(metric="tweets", labels=labels, points=points)])


def fact(facts: list[Fact], name: str) -> Fact:
    hits = [f for f in facts if f.name == name]
    assert len(hits) == 1, (name, hits)
    return hits[0]


# -- IR ---------------------------------------------------------------------------------------


def test_samples_ir_json_and_rules() -> None:
    q = parse_query({
        "kind": "metric", "metric": "tweets", "function": "samples", "quantile": 0.95,
        "threshold": 1000, "bucket_s": 86400,
        "time_range": {"start": "2015-03-02T00:00:00Z", "end": "2015-03-04T00:00:00Z"},
    })
    assert isinstance(q, MetricQuery)
    assert q.window() == 2 * 86400 and q.eval_times() == [q.time_range.end]
    assert compile_metric(q) == "tweets[172800s]"  # a range vector: the raw samples
    with pytest.raises(IRError, match="aggregation"):
        parse_query({"kind": "metric", "metric": "x", "function": "samples",
                     "aggregation": "max", "time_range": TR.model_dump(mode="json")})
    with pytest.raises(IRError, match="only used with function 'samples'"):
        parse_query({"kind": "metric", "metric": "x", "threshold": 3,
                     "time_range": TR.model_dump(mode="json")})


# -- facts ------------------------------------------------------------------------------------


def test_a_one_sample_spike_is_the_peak_with_its_own_time() -> None:
    values = [10.0] * 576
    values[400] = 3228.0  # one sample, between any two 10-minute evaluation steps
    pts = five_minutes(values)
    q = MetricQuery(metric="tweets", function="samples", time_range=TR)
    facts = facts_from_result(q, samples_result(pts), 0)
    peak = fact(facts, "peak")
    assert (peak.value, peak.at) == (3228.0, pts[400][0])
    assert peak.at is not None and peak.at.second == 53  # the sample's time, not a step's
    assert fact(facts, "sample_count").value == 576
    assert fact(facts, "average").value == pytest.approx((575 * 10 + 3228) / 576)
    text = compose_answer("peak of tweets", "en", TR, facts, [], [], [])
    assert "peaked at 3,228" in text and "peak of the 576 raw samples" in text
    assert "mean of 576 samples" in text
    ko = compose_answer("tweets 최대값", "ko", TR, facts, [], [], [])
    assert "원시 샘플 576개 중" in ko and "3,228" in ko


def test_quantile_threshold_and_daily_buckets() -> None:
    values = [float(i % 100) for i in range(576)]  # two days of 5-minute samples
    pts = five_minutes(values)
    q = MetricQuery(metric="tweets", function="samples", quantile=0.95, threshold=89.5,
                    bucket_s=86400, time_range=TR)
    facts = facts_from_result(q, samples_result(pts), 0)
    p95 = fact(facts, "quantile")
    assert p95.function == "p95" and p95.value == pytest.approx(sample_quantile(values, 0.95))
    above = [v for v in values if v > 89.5]
    assert fact(facts, "above_count").value == len(above)
    assert fact(facts, "above_time").value == len(above) * 300
    sums = [f for f in facts if f.name == "bucket_sum"]
    assert [f.at for f in sums] == [DAY - timedelta(days=1), DAY]
    assert [f.value for f in sums] == [sum(values[:288]), sum(values[288:])]
    assert fact(facts, "total").value == sum(values)
    text = compose_answer("p95, daily sums, how long above 89.5, compare", "en", TR, facts,
                          [], [], [])
    assert "p95 tweets was" in text and "raw samples" in text
    assert "above 89.50 in 50 of the 576 raw samples, about 4.2 h in total" in text
    assert "Sum of tweets per day: 2015-03-02 " in text and ", 2015-03-03 " in text
    assert "By mean per day, tweets changed by" in text


def test_time_above_does_not_count_holes_in_the_data() -> None:
    t0 = DAY
    pts = [(t0, 5.0), (t0 + timedelta(minutes=5), 5.0), (t0 + timedelta(minutes=10), 5.0),
           (t0 + timedelta(hours=10), 5.0), (t0 + timedelta(hours=10, minutes=5), 1.0)]
    assert time_above(pts, 2.0) == (4, 4 * 300)


def test_quantile_is_linear_like_promql() -> None:
    assert sample_quantile([1, 2, 3, 4], 0.5) == 2.5
    assert sample_quantile([7], 0.95) == 7


def test_several_series_get_overall_facts_and_a_ranking() -> None:
    q = MetricQuery(metric="tweets", function="samples", time_range=TR)
    r = Result(connector="t", native="x", series=[
        Series(metric="tweets", labels={"host": h}, points=five_minutes([float(i), 2.0 * i]))
        for i, h in enumerate(["a", "b", "c"], start=1)
    ])
    facts = facts_from_result(q, r, 0)
    overall = [f for f in facts if f.name == "peak" and f.scope == "all"]
    assert overall[0].value == 6.0 and overall[0].labels == {"host": "c"}
    assert [f.labels["host"] for f in facts if f.name == "top"] == ["c", "b", "a"]
    compose_answer("peak tweets", "en", TR, facts, [], [], [])  # renders without error


# -- planner ----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def catalog() -> Catalog:
    return Catalog(metrics=[
        MetricInfo(name="twitter_volume_aapl", type="gauge", labels={}),
        MetricInfo(name="http_requests_total", type="counter", labels={"code": ["200"]}),
    ], services=[], hosts=[])


def planned(question: str) -> MetricQuery:
    cat = catalog()
    time = resolve_time(question, NOW, ZoneInfo("UTC"))
    stripped = strip_time_phrases(question)
    p = plan_rules(PlanInput(question=stripped, time_range=time.range,
                             reading=read_intent(stripped),
                             links=EntityLinker(cat).link(question), catalog=cat))
    ms = [x.query for x in p.queries if isinstance(x.query, MetricQuery)]
    assert len(ms) == 1, p.queries
    return ms[0]


@pytest.mark.parametrize(("question", "want"), [
    ("peak of twitter_volume_aapl between 2015-03-01 and 2015-03-05", {}),
    ("lowest twitter_volume_aapl on 2015-03-03", {}),
    ("average twitter_volume_aapl on 2015-03-03", {}),
    ("p95 of twitter_volume_aapl on 2015-03-03", {"quantile": 0.95}),
    ("95th percentile twitter_volume_aapl on 2015-03-03", {"quantile": 0.95}),
    ("how many times did twitter_volume_aapl go above 1000 on 2015-03-03",
     {"threshold": 1000.0, "bucket_s": None}),
    ("how long was twitter_volume_aapl over 50 on 2015-03-03", {"threshold": 50.0}),
    ("daily sums of twitter_volume_aapl between 2015-03-01 and 2015-03-05",
     {"bucket_s": 86400}),
    ("total twitter_volume_aapl on 2015-03-03", {"bucket_s": 86400}),
    ("hourly mean of twitter_volume_aapl on 2015-03-03", {"bucket_s": 3600}),
    ("compare twitter_volume_aapl between 2015-03-03 and 2015-03-05", {"bucket_s": 86400}),
    ("2015-03-03 twitter_volume_aapl 최대값", {}),
    ("2015-03-03 twitter_volume_aapl 최저", {}),
    ("2015-03-03 twitter_volume_aapl 평균", {}),
    ("2015-03-03 twitter_volume_aapl 95퍼센타일", {"quantile": 0.95}),
    ("2015-03-03 twitter_volume_aapl 1000을 넘은 횟수", {"threshold": 1000.0}),
    ("2015-03-03 twitter_volume_aapl 합계", {"bucket_s": 86400}),
    ("2015-03-01부터 2015-03-05까지 twitter_volume_aapl 일별 비교", {"bucket_s": 86400}),
])
def test_statistics_of_a_gauge_are_planned_on_raw_samples(question: str, want: dict[str, object]
                                                          ) -> None:
    q = planned(question)
    assert q.function == "samples" and q.aggregation == "none"
    for k, v in want.items():
        assert getattr(q, k) == v, k


def test_counters_charts_and_rankings_keep_the_step_path() -> None:
    assert planned("total http_requests_total on 2015-03-03").function == "increase"
    assert planned("twitter_volume_aapl on 2015-03-03").function == "raw"


# -- Prometheus -------------------------------------------------------------------------------


def test_prometheus_samples_are_one_instant_range_vector_query_capped_and_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    import connectors.prometheus.connector as prom
    from assistant.settings import PrometheusSettings

    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = httpx.QueryParams(request.content.decode()) if request.content else {}
        seen.append({"path": request.url.path, **dict(request.url.params), **dict(form)})
        values = [[1425340800 + 300 * i + 53, str(10 + i)] for i in range(4)]
        return httpx.Response(200, json={"status": "success", "data": {
            "resultType": "matrix",
            "result": [{"metric": {"__name__": "tweets", "host": h}, "values": values}
                       for h in ("a", "b")]}})

    monkeypatch.setattr(prom, "MAX_SAMPLES", 6)
    conn = prom.PrometheusConnector(PrometheusSettings(url="http://prom.test"),
                                    transport=httpx.MockTransport(handler))
    q = MetricQuery(metric="tweets", function="samples", time_range=TR)
    r = conn.run(q)
    assert seen[0]["path"] == "/api/v1/query" and seen[0]["query"] == "tweets[172800s]"
    assert [len(s.points) for s in r.series] == [4, 2] and r.truncated
    assert r.series[0].points[0][0].second == 53  # each sample at its own time
    assert any("sample cap" in w for w in r.warnings)


def test_a_sample_at_the_ranges_end_is_not_a_day_of_its_own() -> None:
    day = TimeRange(start=DAY, end=DAY + timedelta(days=1))
    pts = five_minutes([1.0] * 289, start=DAY, offset_s=0)  # 00:00 .. next day's 00:00
    q = MetricQuery(metric="tweets", function="samples", bucket_s=86400, time_range=day)
    facts = facts_from_result(q, samples_result(pts), 0)
    assert [(f.at, f.value) for f in facts if f.name == "bucket_sum"] == [(DAY, 288.0)]
    assert fact(facts, "total").value == 288.0


@pytest.mark.parametrize(("question", "language", "written"), [
    ("how many minutes was tweets above 89.5?", "en", "about 250 min in total"),
    ("tweets가 89.5를 넘은 시간은 총 몇 분이었어?", "ko", "모두 약 250분"),
    ("how long was tweets above 89.5?", "en", "about 4.2 h in total"),
])
def test_time_above_is_written_in_the_unit_asked(question: str, language: str,
                                                 written: str) -> None:
    pts = five_minutes([float(i % 100) for i in range(576)])
    q = MetricQuery(metric="tweets", function="samples", threshold=89.5, time_range=TR)
    facts = facts_from_result(q, samples_result(pts), 0)
    assert written in compose_answer(question, language, TR, facts, [], [], [])


@pytest.mark.parametrize(("question", "stat"), [
    ("t4013 점유율 p95는?", "p95"), ("CPM의 95번째 백분위수는?", "p95"),
    ("시리즈의 최댓값과 그 시각은?", "peak"), ("최솟값은 언제였어?", "lowest"),
])
def test_korean_spellings_and_particles_after_ascii_words(question: str, stat: str) -> None:
    assert read_intent(question).stat == stat
