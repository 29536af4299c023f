"""IR -> PromQL: every function, aggregation, matcher and window rule, as exact text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.errors import IRError
from assistant.ir import (
    Aggregate,
    Apply,
    Binary,
    LabelJoin,
    LabelReplace,
    Matcher,
    MetricOperand,
    MetricQuery,
    TimeRange,
)
from connectors.prometheus.promql import compile_metric, quote, selector

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = TimeRange(start=END - timedelta(hours=1), end=END)


def q(**kw: Any) -> MetricQuery:
    kw.setdefault("time_range", HOUR)
    kw.setdefault("metric", "http_requests_total")
    return MetricQuery(**kw)


@pytest.mark.parametrize(
    ("query", "promql"),
    [
        (q(), "http_requests_total"),
        (q(function="rate"), "rate(http_requests_total[300s])"),
        (q(function="increase", window_s=60), "increase(http_requests_total[60s])"),
        (q(function="delta", metric="node_load1"), "delta(node_load1[300s])"),
        *[
            (q(function=f, metric="node_load1"), f"{f}(node_load1[300s])")
            for f in (
                "avg_over_time",
                "min_over_time",
                "max_over_time",
                "sum_over_time",
                "count_over_time",
                "last_over_time",
            )
        ],
        (
            q(function="quantile_over_time", quantile=0.9, metric="node_load1"),
            "quantile_over_time(0.9, node_load1[300s])",
        ),
        # instant mode: the window is the whole range
        (q(function="rate", mode="instant"), "rate(http_requests_total[3600s])"),
        (
            q(function="rate", aggregation="sum", by=("service", "code")),
            "sum by (service, code) (rate(http_requests_total[300s]))",
        ),
        (q(function="rate", aggregation="avg"), "avg (rate(http_requests_total[300s]))"),
        (q(aggregation="max", by=("host",)), "max by (host) (http_requests_total)"),
        (q(aggregation="min"), "min (http_requests_total)"),
        (q(aggregation="count", by=("service",)), "count by (service) (http_requests_total)"),
        (
            q(function="rate", aggregation="p95", by=("service",)),
            "quantile by (service) (0.95, rate(http_requests_total[300s]))",
        ),
        (q(aggregation="p50"), "quantile (0.5, http_requests_total)"),
        (q(function="rate", aggregation="topk", k=3), "topk(3, rate(http_requests_total[300s]))"),
        (q(aggregation="bottomk", k=1), "bottomk(1, http_requests_total)"),
        (
            q(
                metric="http_request_duration_seconds",
                function="histogram_quantile",
                quantile=0.99,
                aggregation="sum",
                by=("service",),
            ),
            "histogram_quantile(0.99, sum by (le, service) "
            "(rate(http_request_duration_seconds_bucket[300s])))",
        ),
        (
            q(
                metric="http_request_duration_seconds_bucket",
                function="histogram_quantile",
                quantile=0.5,
                aggregation="sum",
            ),
            "histogram_quantile(0.5, sum by (le) "
            "(rate(http_request_duration_seconds_bucket[300s])))",
        ),
        (
            q(
                metric="http_request_duration_seconds",
                function="histogram_quantile",
                quantile=0.9,
            ),
            "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[300s]))",
        ),
        (
            q(
                metric="http_request_duration_seconds",
                function="histogram_quantile",
                quantile=0.9,
                aggregation="max",
                by=("service",),
            ),
            "max by (service) (histogram_quantile(0.9, "
            "rate(http_request_duration_seconds_bucket[300s])))",
        ),
    ],
)
def test_compile(query: MetricQuery, promql: str) -> None:
    assert compile_metric(query) == promql


def test_matchers_all_operators_and_escaping() -> None:
    m = (
        Matcher(label="service", value="checkout"),
        Matcher(label="code", op="!=", value="200"),
        Matcher(label="host", op="=~", value="web-0[12]"),
        Matcher(label="path", op="!~", value='/a"b\\c'),
    )
    assert compile_metric(q(matchers=m, function="rate", window_s=120)) == (
        'rate(http_requests_total{service="checkout",code!="200",host=~"web-0[12]",'
        'path!~"/a\\"b\\\\c"}[120s])'
    )


def test_range_window_follows_large_steps() -> None:
    day = TimeRange(start=END - timedelta(days=1), end=END)  # resolved step 600 s
    assert day.resolved_step() == 600
    assert compile_metric(q(function="rate", time_range=day)) == "rate(http_requests_total[600s])"


def test_odd_metric_names_use_name_matcher() -> None:
    assert selector("my.metric", (Matcher(label="a", value="b"),)) == '{__name__="my.metric",a="b"}'
    assert quote("line\nbreak") == '"line\\nbreak"'


def test_bad_label_name_is_an_ir_error() -> None:
    with pytest.raises(IRError, match="not valid in PromQL"):
        compile_metric(q(matchers=(Matcher(label="bad-label", value="x"),)))


@pytest.mark.parametrize(
    ("query", "promql"),
    [
        (q(function="changes", window_s=600), "changes(http_requests_total[600s])"),
        (q(function="predict_linear", window_s=3600, horizon_s=600),
         "predict_linear(http_requests_total[3600s], 600.0)"),
        (q(at_s=1700000000, offset_s=60), "http_requests_total @ 1700000000.0 offset 60s"),
        (q(function="rate", window_s=300, subquery_step_s=30, at_s=1.5),
         "rate(http_requests_total[300s:30s] @ 1.5)"),
        (q(then=(Apply(apply="round", args=(0.5,)), Apply(apply="clamp", args=(0, 100)))),
         "clamp(round(http_requests_total, 0.5), 0.0, 100.0)"),
        (q(function="rate", binary=(Binary(op="*", right=60),),
           then=(Aggregate(aggregate="sum", without=("code",)), Binary(op="/", right=2))),
         "(sum without (code) (rate(http_requests_total[300s]) * 60.0)) / 2.0"),
        (q(then=(Aggregate(aggregate="count_values", label="v", by=("job",)),)),
         'count_values by (job) ("v", http_requests_total)'),
        (q(then=(Aggregate(aggregate="topk", param=2, by=("job",)),)),
         "topk by (job) (2.0, http_requests_total)"),
        (q(then=(LabelReplace(dst="d", replacement="$1", src="s", regex='"(.*)'),
                 LabelJoin(dst="j", separator=",", src=("a", "b")))),
         'label_join(label_replace(http_requests_total, "d", "$1", "s", "\\"(.*)"), '
         '"j", ",", "a", "b")'),
        (q(metric="h_bucket", then=(Apply(apply="histogram_fraction", args=(0, 0.3)),)),
         "histogram_fraction(0.0, 0.3, h_bucket)"),
        (q(aggregation="sum", then=(Apply(apply="absent"),)),
         "absent(sum (http_requests_total))"),
        (q(binary=(Binary(op="+", right=MetricOperand(metric="b"), on=("x",), group="left",
                          fill_left=0, fill_right=0),)),
         "http_requests_total + on(x) group_left fill(0.0) b"),
        (q(binary=(Binary(op="/", right=MetricOperand(metric="b"), fill_right=1),)),
         "http_requests_total / fill_right(1.0) b"),
    ],
)
def test_compile_new_functions_modifiers_and_steps(query: MetricQuery, promql: str) -> None:
    assert compile_metric(query) == promql


def test_step_labels_are_checked_like_group_by_labels() -> None:
    with pytest.raises(IRError, match="not valid in PromQL"):
        compile_metric(q(then=(Aggregate(aggregate="sum", by=("bad-label",)),)))
