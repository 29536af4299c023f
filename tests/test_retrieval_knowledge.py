"""The demo knowledge base: required pages, structure, and the demo fleet's exact vocabulary."""

from __future__ import annotations

import re

import pytest

from assistant.demo.knowledge import INJECTION_MARKER, INJECTION_SOURCE, KNOWLEDGE_DIR
from assistant.retrieval.documents import SourceFile, chunk_file, discover, load
from assistant.retrieval.evaluation import load_cases

RUNBOOKS = [
    "memory-leak",
    "cpu-saturation",
    "5xx-after-deploy",
    "disk-full",
    "db-pool-exhaustion",
    "brute-force",
    "certificate-expiry",
]
SERVICES = ["gateway", "checkout", "payments", "auth", "search", "postgres"]
HOSTS = {
    "gw-01", "gw-02", "web-01", "web-02", "web-03", "pay-01", "pay-02",
    "auth-01", "auth-02", "search-01", "search-02", "db-01",
}  # fmt: skip
METRICS = {
    "node_cpu_seconds_total", "node_cpu_usage_percent", "node_memory_usage_percent",
    "node_memory_MemAvailable_bytes", "node_filesystem_usage_percent",
    "node_filesystem_avail_bytes", "node_load1", "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total", "http_requests_total",
    "http_request_duration_seconds", "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
    "db_pool_connections_in_use", "db_pool_connections_max", "process_resident_memory_bytes",
    "auth_login_failures_total", "tls_certificate_expiry_seconds",
}  # fmt: skip
METRIC_LIKE = re.compile(r"\b(?:node|http|db_pool|process|auth_login|tls)_[A-Za-z0-9_]+")
HOST_LIKE = re.compile(r"\b(?:gw|web|pay|auth|search|db)-\d\d\b")


def pages() -> dict[str, str]:
    files, skipped, _ = discover([KNOWLEDGE_DIR])
    assert skipped == []
    return {f.relative_to(KNOWLEDGE_DIR).as_posix(): f.read_text(encoding="utf-8") for f in files}


def test_required_pages_exist() -> None:
    have = pages()
    assert len(have) >= 15
    for name in RUNBOOKS:
        assert f"runbooks/{name}.md" in have
    for service in SERVICES:
        assert f"services/{service}.md" in have


@pytest.mark.parametrize("name", RUNBOOKS)
def test_runbooks_have_the_sections_a_team_needs(name: str) -> None:
    path = KNOWLEDGE_DIR / "runbooks" / f"{name}.md"
    loaded = load(path, f"runbooks/{name}.md")
    assert isinstance(loaded, SourceFile)
    meta, chunks = chunk_file(loaded)
    headings = {c.heading for c in chunks}
    assert {"Symptoms", "Metrics to check", "Log patterns", "Mitigation", "Escalation"} <= headings
    assert meta.get("kind") == "runbook" and meta.get("alerts")
    mitigation = next(c.text for c in chunks if c.heading == "Mitigation")
    assert re.search(r"^1\. ", mitigation, re.M)  # step by step


def test_docs_use_only_the_fleets_metric_and_host_names() -> None:
    for source, text in pages().items():
        for m in METRIC_LIKE.findall(text):
            assert m in METRICS, f"{source}: unknown metric {m}"
        for h in HOST_LIKE.findall(text):
            assert h in HOSTS, f"{source}: unknown host {h}"


def test_every_demo_metric_is_documented() -> None:
    reference = (KNOWLEDGE_DIR / "guides" / "metrics-reference.md").read_text()
    for m in METRICS - {
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count",
    }:
        assert f"## {m}\n" in reference, m


def test_one_page_holds_the_planted_injection() -> None:
    holding = [s for s, text in pages().items() if INJECTION_MARKER in text]
    assert holding == [INJECTION_SOURCE]


def test_eval_cases_point_at_real_sections() -> None:
    anchors: set[str] = set()
    for f in discover([KNOWLEDGE_DIR])[0]:
        source = f.relative_to(KNOWLEDGE_DIR).as_posix()
        loaded = load(f, source)
        assert isinstance(loaded, SourceFile)
        anchors.add(source)
        anchors.update(f"{source}#{c.anchor}" for c in chunk_file(loaded)[1])
    cases = load_cases()
    assert len(cases) >= 40
    assert sum(any("\uac00" <= ch <= "\ud7a3" for ch in c.query) for c in cases) >= 10
    assert len({c.id for c in cases}) == len(cases)
    for case in cases:
        for ref in case.expect:
            assert ref in anchors, f"{case.id}: {ref} is not a section of the demo knowledge"
