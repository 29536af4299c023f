"""Entity linking against a catalog: the demo fleet's and one that is nothing like it."""

from __future__ import annotations

import time

import pytest

from assistant.entities import EntityLinker, Links
from connectors.base import Catalog, MetricInfo

FLEET = {
    "gateway": ["gw-01", "gw-02"],
    "checkout": ["web-01", "web-02", "web-03"],
    "payments": ["pay-01", "pay-02"],
    "auth": ["auth-01", "auth-02"],
    "search": ["search-01", "search-02"],
    "postgres": ["db-01"],
}
HOSTS = [h for hs in FLEET.values() for h in hs]
SERVICES = list(FLEET)
APP = ["gateway", "checkout", "payments", "auth", "search"]


def _m(name: str, type_: str, help_: str, **labels: list[str]) -> MetricInfo:
    return MetricInfo(name=name, type=type_, help=help_, labels={"host": HOSTS, **labels})


DEMO = Catalog(
    hosts=HOSTS,
    services=SERVICES,
    metrics=[
        _m("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.",
           mode=["user", "system", "iowait", "idle"]),
        _m("node_cpu_usage_percent", "gauge", "CPU busy percentage (100 - idle)."),
        _m("node_memory_usage_percent", "gauge", "Memory in use, percent of total."),
        _m("node_memory_MemAvailable_bytes", "gauge", "Memory available for new work."),
        _m("node_filesystem_usage_percent", "gauge", "Filesystem space used, percent.",
           mountpoint=["/", "/var/lib/data"]),
        _m("node_filesystem_avail_bytes", "gauge", "Filesystem space available.",
           mountpoint=["/", "/var/lib/data"]),
        _m("node_load1", "gauge", "1-minute load average."),
        _m("node_network_receive_bytes_total", "counter", "Bytes received per device.",
           device=["eth0"]),
        _m("node_network_transmit_bytes_total", "counter", "Bytes sent per device.",
           device=["eth0"]),
        _m("http_requests_total", "counter", "HTTP requests served, by status code.",
           service=APP, code=["200", "404", "500", "503"]),
        _m("http_request_duration_seconds_bucket", "counter",
           "HTTP request latency histogram buckets (cumulative, by le).", service=APP,
           le=["0.1", "0.5", "+Inf"]),
        _m("http_request_duration_seconds_sum", "counter",
           "Total seconds spent serving HTTP requests.", service=APP),
        _m("http_request_duration_seconds_count", "counter",
           "HTTP requests observed by the latency histogram.", service=APP),
        _m("db_pool_connections_in_use", "gauge", "DB pool connections checked out.",
           service=["checkout", "payments"]),
        _m("db_pool_connections_max", "gauge", "DB pool size limit.",
           service=["checkout", "payments"]),
        _m("process_resident_memory_bytes", "gauge", "Resident memory of the service.",
           service=SERVICES),
        _m("auth_login_failures_total", "counter", "Failed logins (SSH and API).",
           service=["auth"]),
        _m("tls_certificate_expiry_seconds", "gauge",
           "Seconds until the served TLS certificate expires.", service=["gateway"],
           domain=["shop.example.com"]),
    ],
)  # fmt: skip

K8S_HOSTS = ["ip-10-0-1-17", "ip-10-0-2-33", "k8s-node-a1", "k8s-node-a3", "k8s-node-b2"]
K8S_SERVICES = ["billing-api", "user-service", "orders", "redis-cache", "mysql-primary"]


def _k(name: str, type_: str, help_: str, **labels: list[str]) -> MetricInfo:
    return MetricInfo(name=name, type=type_, help=help_, labels={"instance": K8S_HOSTS, **labels})


K8S = Catalog(
    hosts=K8S_HOSTS,
    services=K8S_SERVICES,
    metrics=[
        _k("container_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the container in core-seconds",
           namespace=["prod", "staging"], service=K8S_SERVICES[:3]),
        _k("container_memory_working_set_bytes", "gauge",
           "Current working set of the container in bytes", service=K8S_SERVICES[:3]),
        _k("kube_pod_container_status_restarts_total", "counter",
           "The number of container restarts per container.", namespace=["prod", "staging"]),
        _k("nginx_ingress_controller_requests", "counter", "The total number of client requests",
           status=["200", "499", "502", "504"], service=["billing-api", "orders"]),
        _k("nginx_ingress_controller_request_duration_seconds_bucket", "histogram",
           "The request processing time in milliseconds", service=["billing-api", "orders"]),
        _k("node_filesystem_avail_bytes", "gauge", "Filesystem space available in bytes.",
           mountpoint=["/", "/data"]),
        _k("redis_connected_clients", "gauge", "Number of client connections",
           service=["redis-cache"]),
        _k("mysql_global_status_threads_connected", "gauge",
           "Generic metric from SHOW GLOBAL STATUS.", service=["mysql-primary"]),
    ],
)  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> EntityLinker:
    return EntityLinker(DEMO)


@pytest.fixture(scope="module")
def k8s() -> EntityLinker:
    return EntityLinker(K8S)


def hosts(links: Links) -> list[str]:
    return links.values("host")


def services(links: Links) -> list[str]:
    return links.values("service")


def metrics(links: Links) -> list[str]:
    return links.values("metric")


# --------------------------------------------------------------------------- hosts


@pytest.mark.parametrize(
    "question",
    [
        "cpu on web-02",
        "web-02의 cpu",
        "WEB-02 memory",
        "what happened to web-02?",
        "web-02에서 에러",
    ],
)
def test_web_02_is_exactly_that_host(demo: EntityLinker, question: str) -> None:
    links = demo.link(question)
    assert hosts(links) == ["web-02"]
    assert links.hosts[0].how == "exact"
    assert services(links) == []  # never service "web", never host "web-01"
    assert links.unknown == []


def test_web_02_never_becomes_service_web_even_if_it_exists() -> None:
    cat = DEMO.model_copy(update={"services": [*SERVICES, "web"]})
    links = EntityLinker(cat).link("cpu on web-02")
    assert hosts(links) == ["web-02"] and services(links) == []


def test_spans_point_at_the_mention(demo: EntityLinker) -> None:
    q = "db-01에서 디스크 사용량, checkout 서비스 5xx 에러는?"
    links = demo.link(q)
    for link in links.hosts + links.services + links.metrics + links.labels + links.patterns:
        assert q[link.span[0] : link.span[1]] == link.text
    assert links.hosts[0].text == "db-01"
    assert links.services[0].text == "checkout"


@pytest.mark.parametrize(
    ("question", "value"),
    [("web02 cpu", "web-02"), ("web-2 cpu", "web-02"), ("Web_02 cpu", "web-02")],
)
def test_host_spelling_variants_are_fuzzy(demo: EntityLinker, question: str, value: str) -> None:
    links = demo.link(question)
    assert hosts(links) == [value] and links.hosts[0].how == "fuzzy"


@pytest.mark.parametrize(
    ("question", "value", "suggestions"),
    [
        ("memory on web-07", "web-07", ["web-01", "web-02", "web-03"]),
        ("db-9 disk", "db-9", ["db-01"]),
        ("host foo-01 cpu", "foo-01", []),
        ("cpu of host foo", "foo", []),
        ("errors on web07", "web07", ["web-01", "web-02", "web-03"]),
    ],
)
def test_unknown_hosts_get_suggestions(
    demo: EntityLinker, question: str, value: str, suggestions: list[str]
) -> None:
    links = demo.link(question)
    assert hosts(links) == []  # web-07 is not web-01: the digits must agree
    assert [(u.kind, u.value) for u in links.unknown] == [("host", value)]
    assert links.unknown[0].suggestions == suggestions
    assert f"no host named {value!r}" in links.unknown[0].message
    if not suggestions:
        assert "known hosts: auth-01" in links.unknown[0].message


def test_things_that_merely_look_like_hosts_are_not_unknown_hosts(demo: EntityLinker) -> None:
    for q in (
        "utf-8 logs from v1.2-rc",
        "errors in the last 5 min",
        "p95 latency at 14:10",
        "since 2026-11-19",
        "5xx on checkout",
        "when was the first instance terminated?",
        "which new node joined the cluster",
    ):
        assert demo.link(q).unknown == [], q
    # written like a name, the word before a host noun still is one
    assert [u.value for u in demo.link("cpu of the Apollo server").unknown] == ["Apollo"]


def test_host_group_by_family(demo: EntityLinker) -> None:
    links = demo.link("cpu of the web servers")
    assert hosts(links) == ["web-01", "web-02", "web-03"]
    assert all(x.how == "alias" for x in links.hosts)


# --------------------------------------------------------------------------- services


def test_exact_and_plural_services(demo: EntityLinker) -> None:
    links = demo.link("checkout service errors")
    assert services(links) == ["checkout"] and links.services[0].how == "exact"
    assert links.unknown == []
    links = demo.link("payment errors")
    assert services(links) == ["payments"] and links.services[0].how == "alias"
    links = demo.link("payments and payment")
    assert len(links.services) == 1 and links.services[0].how == "exact"  # exact > alias


def test_singular_catalog_name_from_a_plural_question() -> None:
    cat = Catalog(hosts=["h-1"], services=["payment"], metrics=[])
    links = EntityLinker(cat).link("payments latency")
    assert services(links) == ["payment"] and links.services[0].how == "alias"


@pytest.mark.parametrize(
    "question", ["checkout 서비스 에러", "checkout서비스 지연", "checkout의 cpu"]
)
def test_korean_particles_do_not_block_links(demo: EntityLinker, question: str) -> None:
    assert services(demo.link(question)) == ["checkout"]


def test_service_typo_is_fuzzy(demo: EntityLinker) -> None:
    links = demo.link("chekout errors")
    assert services(links) == ["checkout"] and links.services[0].how == "fuzzy"


@pytest.mark.parametrize(
    "question",
    ["is the db slow", "database connections", "DB load", "데이터베이스 메모리", "postgres"],
)
def test_database_words_link_the_database_service_and_its_one_host(
    demo: EntityLinker, question: str
) -> None:
    links = demo.link(question)
    assert services(links) == ["postgres"]
    assert hosts(links) == ["db-01"]
    assert links.hosts[0].how == "alias" and links.hosts[0].score < 0.8


def test_database_words_need_a_database_in_the_catalog(k8s: EntityLinker) -> None:
    assert services(k8s.link("is the db ok")) == ["mysql-primary"]
    links = k8s.link("postgres connections")  # this fleet runs mysql, not postgres
    assert "mysql-primary" not in services(links) and hosts(links) == []
    bare = EntityLinker(Catalog(hosts=["a-1"], services=["api"], metrics=[]))
    links = bare.link("is the db slow")
    assert services(links) == [] and hosts(links) == []


def test_db_pool_is_a_metric_not_the_database(demo: EntityLinker) -> None:
    links = demo.link("db pool connections on payments")
    assert services(links) == ["payments"]
    assert set(metrics(links)) == {"db_pool_connections_in_use", "db_pool_connections_max"}


def test_unknown_service(demo: EntityLinker) -> None:
    links = demo.link("billing service errors")
    assert [(u.kind, u.value) for u in links.unknown] == [("service", "billing")]
    assert "known services" in links.unknown[0].message


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize(
    ("question", "first", "must_contain"),
    [
        ("cpu on web-01", "node_cpu_usage_percent", "cpu"),
        ("web-02의 CPU 사용률", "node_cpu_usage_percent", "cpu"),
        ("memory on web-01", "node_memory_usage_percent", "memory"),
        ("메모리 사용량", "node_memory_usage_percent", "memory"),
        ("disk usage on db-01", "node_filesystem_usage_percent", "filesystem"),
        ("db-01에서 디스크 사용량", "node_filesystem_usage_percent", "filesystem"),
        ("p95 latency of checkout", None, "duration"),
        ("checkout 지연", None, "duration"),
        ("checkout 5xx", "http_requests_total", "http_requests_total"),
        ("checkout errors", "http_requests_total", "http_requests_total"),
        ("checkout 서비스 에러", "http_requests_total", "http_requests_total"),
        ("failed logins on auth", "auth_login_failures_total", "login"),
        ("로그인 실패", "auth_login_failures_total", "login"),
        ("인증서 만료", "tls_certificate_expiry_seconds", "certificate"),
        ("network traffic on gw-01", None, "network"),
        ("system load on web-01", "node_load1", "load"),
        ("memroy on web-01", "node_memory_usage_percent", "memory"),
    ],
)
def test_metric_mentions(
    demo: EntityLinker, question: str, first: str | None, must_contain: str
) -> None:
    found = metrics(demo.link(question))
    assert found, question
    if first:
        assert found[0] == first
    assert must_contain in found[0]


def test_metric_names_are_exact(demo: EntityLinker) -> None:
    links = demo.link("node_load1 on web-03")
    assert metrics(links) == ["node_load1"] and links.metrics[0].how == "exact"


def test_five_min_is_time_not_min() -> None:
    cat = DEMO.model_copy(
        update={
            "metrics": [
                *DEMO.metrics,
                MetricInfo(name="request_latency_min", type="gauge", help="Minimum latency."),
            ]
        }
    )
    lk = EntityLinker(cat)
    links = lk.link("errors in the last 5 min")
    assert "request_latency_min" not in metrics(links)
    q = "errors in the last 5 min"
    assert [q[s:e] for s, e in links.time_spans] == ["in the last 5 min"]
    assert "request_latency_min" not in metrics(lk.link("min cpu over 5 min"))


def test_semantic_is_only_a_fallback(demo: EntityLinker) -> None:
    calls: list[str] = []

    def search(text: str) -> list[tuple[str, str, float]]:
        calls.append(text)
        return [
            ("metric", "no_such_metric", 0.99),
            ("host", "web-01", 0.9),
            ("metric", "http_request_duration_seconds_bucket", 0.7),
        ]

    lk = EntityLinker(DEMO, semantic=search)
    links = lk.link("how snappy is checkout")
    assert calls == ["how snappy is"]  # the linked service is not sent
    assert metrics(links) == ["http_request_duration_seconds_bucket"]
    assert links.metrics[0].how == "semantic" and links.metrics[0].score == 0.7
    assert hosts(links) == []  # hosts are identifiers: never linked by meaning
    calls.clear()
    assert metrics(lk.link("cpu on web-01"))[0] == "node_cpu_usage_percent"
    assert calls == []


# --------------------------------------------------------------------------- labels


def test_label_values(demo: EntityLinker) -> None:
    links = demo.link("disk usage of /var/lib/data on db-01")
    assert [(x.label, x.value) for x in links.labels] == [("mountpoint", "/var/lib/data")]
    links = demo.link("code 500 on checkout")
    assert [(x.label, x.value) for x in links.labels] == [("code", "500")]
    assert metrics(links)[0] == "http_requests_total"
    links = demo.link("how many 500s on checkout")
    assert [(x.label, x.value) for x in links.labels] == [("code", "500")]
    links = demo.link("iowait on web-03")
    assert [(x.label, x.value) for x in links.labels] == [("mode", "iowait")]
    assert metrics(links) == ["node_cpu_seconds_total"]
    links = demo.link("mode=iowait cpu")
    assert [(x.label, x.value, x.how) for x in links.labels] == [("mode", "iowait", "exact")]


def test_plain_word_label_values_need_a_metric_with_that_label(demo: EntityLinker) -> None:
    assert [(x.label, x.value) for x in demo.link("user cpu on web-01").labels] == [
        ("mode", "user")
    ]
    # "system load": node_load1 has no `mode` label, so mode=system is not linked
    assert demo.link("system load on web-01").labels == []


def test_status_classes_become_regex_patterns(demo: EntityLinker) -> None:
    links = demo.link("checkout service 5xx errors")
    assert [(x.label, x.op, x.value) for x in links.patterns] == [("code", "=~", "5..")]
    assert links.labels == []  # never code="5.." as an exact value


def test_unknown_label_value(demo: EntityLinker) -> None:
    links = demo.link("cpu mode=steal")
    assert [(u.kind, u.value) for u in links.unknown] == [("label", "mode=steal")]


# --------------------------------------------------------------------------- other catalogs


@pytest.mark.parametrize(
    ("question", "host", "service", "metric"),
    [
        ("cpu of billing-api on ip-10-0-1-17", "ip-10-0-1-17", "billing-api",
         "container_cpu_usage_seconds_total"),
        ("k8s-node-a3 memory", "k8s-node-a3", None, "container_memory_working_set_bytes"),
        ("K8S-NODE-A3의 메모리", "k8s-node-a3", None, "container_memory_working_set_bytes"),
        ("billing api 5xx", None, "billing-api", "nginx_ingress_controller_requests"),
        ("billing latency", None, "billing-api",
         "nginx_ingress_controller_request_duration_seconds_bucket"),
        ("billing-api 서비스 지연", None, "billing-api",
         "nginx_ingress_controller_request_duration_seconds_bucket"),
        ("ingress requests for orders", None, "orders", "nginx_ingress_controller_requests"),
        ("pod restarts", None, None, "kube_pod_container_status_restarts_total"),
        ("cache clients", None, "redis-cache", "redis_connected_clients"),
        ("database connections", None, "mysql-primary",
         "mysql_global_status_threads_connected"),
        ("user service cpu", None, "user-service", "container_cpu_usage_seconds_total"),
        ("disk space on /data", None, None, "node_filesystem_avail_bytes"),
    ],
)  # fmt: skip
def test_generalises_to_another_fleet(
    k8s: EntityLinker, question: str, host: str | None, service: str | None, metric: str
) -> None:
    links = k8s.link(question)
    assert hosts(links) == ([host] if host else [])
    assert services(links) == ([service] if service else [])
    assert metrics(links)[0] == metric
    assert links.unknown == []


def test_unknown_host_in_another_fleet(k8s: EntityLinker) -> None:
    links = k8s.link("errors on ip-10-0-1-18")
    assert links.unknown[0].value == "ip-10-0-1-18"
    assert links.unknown[0].suggestions[0] == "ip-10-0-1-17"
    links = k8s.link("billing api 5xx")
    assert [(x.label, x.value) for x in links.patterns] == [("status", "5..")]


def test_empty_catalog_links_nothing() -> None:
    links = EntityLinker(Catalog()).link("cpu on web-02 in the last hour")
    assert metrics(links) == [] and services(links) == []
    assert [u.value for u in links.unknown] == ["web-02"]


def test_links_serialise(demo: EntityLinker) -> None:
    data = demo.link("cpu on web-02").model_dump(mode="json")
    assert data["hosts"][0]["value"] == "web-02" and data["hosts"][0]["span"] == [7, 13]


def test_linking_is_fast(demo: EntityLinker) -> None:
    questions = [
        "web-02의 CPU 사용률",
        "checkout service 5xx errors in the last 15 minutes",
        "why did payments latency spike yesterday between 14:00 and 14:30?",
        "db-01에서 디스크 사용량",
        "memory on web-07",
        "the db is slow",
        "iowait on web-03",
        "어제 오후 2시부터 4시까지 checkout 에러",
        "network traffic on gw-01",
        "failed logins on auth since 10am",
    ]
    best = float("inf")
    for _ in range(3):  # best of three, so a busy machine does not fail the test
        t0 = time.perf_counter()
        for _ in range(5):
            for q in questions:
                demo.link(q)
        best = min(best, (time.perf_counter() - t0) / (5 * len(questions)))
    assert best < 0.005


def test_links_round_trip_through_json(demo: EntityLinker) -> None:
    links = demo.link("checkout 5xx on web-02 in the last hour, memory on web-07")
    assert Links.model_validate(links.model_dump(mode="json")) == links
