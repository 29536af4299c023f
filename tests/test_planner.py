"""Rules planner: question wording + catalog -> IR, on the demo vocabulary and on a foreign one."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.entities import EntityLinker
from assistant.intent import read_intent
from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery
from assistant.planner import Plan, PlanInput, plan_rules
from assistant.timeparse import resolve_time, strip_time_phrases
from connectors.base import Catalog, MetricInfo

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOSTS = ["gw-01", "web-01", "web-02", "web-03", "db-01"]
SERVICES = ["gateway", "checkout", "postgres"]


def demo_catalog() -> Catalog:
    return Catalog(
        metrics=[
            MetricInfo(name="node_cpu_usage_percent", type="gauge", help="CPU busy percent",
                       unit="percent", labels={"host": HOSTS}),
            MetricInfo(name="node_memory_usage_percent", type="gauge", help="memory used percent",
                       labels={"host": HOSTS}),
            MetricInfo(name="http_requests_total", type="counter", help="HTTP requests",
                       labels={"service": SERVICES[:2], "host": HOSTS[:4],
                               "code": ["200", "404", "500", "503"]}),
            MetricInfo(name="http_request_duration_seconds", type="histogram",
                       help="request latency", labels={"service": SERVICES[:2],
                                                       "host": HOSTS[:4], "le": ["0.1", "+Inf"]}),
            MetricInfo(name="db_pool_connections_in_use", type="gauge",
                       help="connections in use in the DB pool",
                       labels={"service": ["checkout"], "host": HOSTS[1:4]}),
        ],
        services=SERVICES, hosts=HOSTS, event_kinds=["alert", "deploy"],
        log_levels=["info", "error"],
    )


def plan(question: str, catalog: Catalog | None = None) -> Plan:
    cat = catalog or demo_catalog()
    time = resolve_time(question, NOW, ZoneInfo("UTC"))
    stripped = strip_time_phrases(question)
    return plan_rules(PlanInput(question=stripped, time_range=time.range,
                                reading=read_intent(stripped),
                                links=EntityLinker(cat).link(question), catalog=cat))


def only_metric(p: Plan) -> MetricQuery:
    ms = [q.query for q in p.queries if isinstance(q.query, MetricQuery)]
    assert len(ms) == 1, p.queries
    return ms[0]


def test_gauge_peak_on_host() -> None:
    q = only_metric(plan("peak CPU on web-03 in the last hour"))
    assert q.metric == "node_cpu_usage_percent"
    assert q.function == "samples"  # the peak of every raw sample, not of steps
    assert [(m.label, m.value) for m in q.matchers] == [("host", "web-03")]
    assert q.time_range.duration_s == 3600


def test_counter_becomes_rate_summed_by_service() -> None:
    q = only_metric(plan("request rate of checkout in the last 30 minutes"))
    assert (q.metric, q.function, q.aggregation, q.by) == (
        "http_requests_total", "rate", "sum", ("service",))
    assert ("service", "=", "checkout") in [(m.label, m.op, m.value) for m in q.matchers]


def test_5xx_becomes_a_status_regex() -> None:
    q = only_metric(plan("5xx errors of checkout in the last hour"))
    assert ("code", "=~", "5..") in [(m.label, m.op, m.value) for m in q.matchers]


def test_latency_uses_histogram_quantile() -> None:
    q = only_metric(plan("p99 latency of gateway in the last hour"))
    assert (q.function, q.quantile) == ("histogram_quantile", 0.99)
    assert q.metric == "http_request_duration_seconds"


def test_five_min_is_not_the_min_aggregation() -> None:
    q = only_metric(plan("cpu on web-02 in the last 5 min"))
    assert q.aggregation == "none" and q.function == "raw"
    assert q.time_range.duration_s == 300


def test_host_is_not_a_service() -> None:
    q = only_metric(plan("memory on web-02"))
    assert [(m.label, m.value) for m in q.matchers] == [("host", "web-02")]


def test_logs_top_templates() -> None:
    p = plan("most frequent errors in checkout logs in the last hour")
    logs = [q.query for q in p.queries if isinstance(q.query, LogQuery)]
    assert logs and logs[0].count_by == "template" and logs[0].level == "error"
    assert logs[0].service == "checkout"


def test_events_by_kind() -> None:
    p = plan("which deploys happened today?")
    ev = [q.query for q in p.queries if isinstance(q.query, EventQuery)]
    assert ev and ev[0].kinds == ("deploy",)


def test_docs_question() -> None:
    p = plan("how do we fix a full disk?")
    assert any(isinstance(q.query, DocQuery) for q in p.queries)
    assert not any(isinstance(q.query, MetricQuery) for q in p.queries)


def test_why_gets_a_multi_query_plan() -> None:
    p = plan("why did checkout start failing in the last hour?")
    kinds = {q.query.kind for q in p.queries}
    assert {"metric", "logs", "events", "docs"} <= kinds


@pytest.mark.parametrize("question", ["restart the db", "db-01 재시작해줘", "delete the logs"])
def test_write_requests_are_refused(question: str) -> None:
    p = plan(question)
    assert p.refusal and not p.queries


def test_how_to_restart_is_a_docs_question() -> None:
    assert plan("how do I restart postgres safely?").refusal is None


def test_unknown_host_asks_back_with_suggestions() -> None:
    p = plan("peak cpu on web-07 in the last hour")
    assert p.clarification and "web-07" in p.clarification and not p.queries


def test_alias_does_not_filter_a_metric_to_nothing() -> None:
    # "database" links to postgres/db-01, which the pool metric does not have.
    q = only_metric(plan("database connections in use in the pool in the last hour"))
    assert q.metric == "db_pool_connections_in_use"
    assert not any(m.value in ("postgres", "db-01") for m in q.matchers)


def test_foreign_catalog() -> None:
    cat = Catalog(
        metrics=[
            MetricInfo(name="container_memory_working_set_bytes", type="gauge",
                       labels={"node": ["k8s-node-a3", "k8s-node-b1"], "app": ["billing-api"]}),
            MetricInfo(name="nginx_ingress_controller_requests", type="counter",
                       labels={"app": ["billing-api"], "status": ["200", "502"]}),
        ],
        services=["billing-api"], hosts=["k8s-node-a3", "k8s-node-b1"],
    )
    q = only_metric(plan("peak memory working set on k8s-node-a3 in the last hour", cat))
    assert q.metric == "container_memory_working_set_bytes"
    assert [(m.label, m.value) for m in q.matchers] == [("node", "k8s-node-a3")]
    q2 = only_metric(plan("502 errors of billing-api in the last hour", cat))
    assert q2.function == "rate" and ("status", "502") in [(m.label, m.value)
                                                            for m in q2.matchers]


def test_a_field_word_after_a_named_service_names_it() -> None:
    """ "what does the checkout service complain about most": the messages of checkout, not
    a ranking of services; "which service complains most" ranks them."""
    named = plan("what does the checkout service complain about most in the logs?")
    logs = [q.query for q in named.queries if isinstance(q.query, LogQuery)]
    assert logs and all(q.count_by != "service" for q in logs)
    assert any(q.service == "checkout" for q in logs)
    ranked = plan("which service logged the most errors?")
    assert any(isinstance(q.query, LogQuery) and q.query.count_by == "service"
               for q in ranked.queries)
