"""Representative IR queries over the demo fleet, for benchmarks and differential tests.

They are the kinds of queries the planner emits for typical on-call questions ("CPU on web-03
in the last hour", "p95 latency by service", "most frequent errors today", "deploys since
yesterday"), using only the demo fleet's shared vocabulary.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from assistant.ir import EventQuery, LogQuery, Matcher, MetricQuery, Query, TimeRange


def representative_queries(now: datetime) -> list[Query]:
    """34 queries (23 metric, 7 log, 4 event) ending at `now` (timezone-aware)."""

    def last(hours: float = 0, minutes: float = 0) -> TimeRange:
        return TimeRange.last(timedelta(hours=hours, minutes=minutes).total_seconds(), now)

    def eq(label: str, value: str) -> Matcher:
        return Matcher(label=label, value=value)

    h1, h6, h24, m15 = last(1), last(6), last(24), last(minutes=15)
    mq, lq, evq = MetricQuery, LogQuery, EventQuery
    http, lat = "http_requests_total", "http_request_duration_seconds"
    metrics: list[Query] = [
        mq(metric="node_cpu_usage_percent", matchers=(eq("host", "web-03"),), time_range=h1),
        mq(metric="node_cpu_usage_percent", function="max_over_time", mode="instant",
           matchers=(eq("host", "web-03"),), time_range=h1),
        mq(metric="node_cpu_usage_percent", function="avg_over_time", mode="instant",
           time_range=h1),
        mq(metric="node_cpu_usage_percent", aggregation="topk", k=3, mode="instant",
           time_range=m15),
        mq(metric="node_cpu_seconds_total", function="rate", aggregation="sum", by=("mode",),
           matchers=(eq("host", "web-03"),), time_range=h1),
        mq(metric="process_resident_memory_bytes", matchers=(eq("host", "search-02"),),
           time_range=h24),
        mq(metric="process_resident_memory_bytes", function="delta", mode="instant",
           matchers=(eq("service", "search"),), time_range=h6),
        mq(metric="node_memory_MemAvailable_bytes", aggregation="bottomk", k=2, time_range=h1),
        mq(metric="node_filesystem_usage_percent", time_range=h24,
           matchers=(eq("host", "db-01"), eq("mountpoint", "/var/lib/data"))),
        mq(metric="node_filesystem_avail_bytes", function="min_over_time", mode="instant",
           matchers=(eq("host", "db-01"),), time_range=h1),
        mq(metric=http, function="rate", aggregation="sum", by=("service",), time_range=h1),
        mq(metric=http, function="rate", aggregation="sum", by=("code",), time_range=h1,
           matchers=(eq("service", "checkout"), Matcher(label="code", op="=~", value="5.."))),
        mq(metric=http, function="increase", aggregation="sum", by=("service", "code"),
           mode="instant", time_range=h24),
        mq(metric=http, function="rate", aggregation="sum", by=("service",), time_range=h24),
        mq(metric=lat, function="histogram_quantile", quantile=0.95, aggregation="sum",
           by=("service",), time_range=h1),
        mq(metric=lat, function="histogram_quantile", quantile=0.99, aggregation="sum",
           matchers=(eq("service", "payments"),), time_range=h6),
        mq(metric="db_pool_connections_in_use", matchers=(eq("service", "payments"),),
           time_range=h1),
        mq(metric="db_pool_connections_in_use", function="max_over_time", mode="instant",
           aggregation="max", by=("service",), time_range=h6),
        mq(metric="auth_login_failures_total", function="rate", matchers=(eq("host", "auth-01"),),
           time_range=h6),
        mq(metric="tls_certificate_expiry_seconds", function="last_over_time", mode="instant",
           aggregation="min", by=("service",), time_range=h1),
        mq(metric="node_load1", aggregation="p90", time_range=h1),
        mq(metric="node_network_receive_bytes_total", function="rate", aggregation="sum",
           by=("host",), time_range=h1),
        mq(metric="node_cpu_usage_percent", function="quantile_over_time", quantile=0.95,
           mode="instant", matchers=(eq("host", "web-03"),), time_range=h6),
    ]
    logs: list[Query] = [
        lq(time_range=h1, service="checkout", level="error"),
        lq(time_range=h24, level="error", count_by="template", top_k=5),
        lq(time_range=h1, level="warn", count_by="service"),
        lq(time_range=h6, service="payments", level="error", bucket_s=300),
        lq(time_range=h24, text="timeout", limit=20),
        lq(time_range=h1, pattern=r"(?i)connection (refused|reset)", limit=20),
        lq(time_range=h24, level="error", count_by="host"),
    ]
    events: list[Query] = [
        evq(time_range=h24, kinds=("deploy",)),
        evq(time_range=m15, kinds=("alert",), status="firing"),
        evq(time_range=h6, service="checkout"),
        evq(time_range=h24, kinds=("incident", "alert")),
    ]
    return metrics + logs + events


__all__ = ["representative_queries"]
