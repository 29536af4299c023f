"""IR -> PromQL: every function, aggregation, matcher and window rule, as exact text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.errors import IRError
from assistant.ir import Matcher, MetricQuery, TimeRange
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
