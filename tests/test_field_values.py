"""A field's value named in the question becomes the lines that say that field with it."""

from __future__ import annotations

import re

import pytest

from assistant.field_values import field_value

ACCESS = '10.0.0.1 - - [01/Jan/2024:00:00:01 +0000] "GET /api/v1/items HTTP/1.1" 404 512'
NOVA = ('nova.osapi_compute.wsgi.server [req-1] 10.11.10.1 "GET /v2/servers/detail HTTP/1.1" '
        "status: 404 len: 1893 time: 0.26")
PROXY = "host:443 error : Could not connect - Proxy server cannot establish, status code 403"
NOT_STATUS = "proxy:5070 close, 403 bytes sent, 404 bytes received"


@pytest.mark.parametrize(("question", "kind", "value"), [
    ("how many requests returned 404?", "status_code", "404"),
    ("how many times did the proxy answer with status code 403?", "status_code", "403"),
    ("how many 500 errors were there", "status_code", "500"),
    ("404 응답은 몇 번이야?", "status_code", "404"),
    ("connections on port 22", "port", "22"),
    ("22번 포트 접속은 몇 번?", "port", "22"),
    ("lines from pid 4242", "pid", "4242"),
    ("how many POST requests", "http_method", "POST"),
])
def test_values_named(question: str, kind: str, value: str) -> None:
    got = field_value(question)
    assert got is not None and (got.kind, got.value) == (kind, value)


@pytest.mark.parametrize("question", [
    "show the top 500 lines", "how many lines in 2015", "403 bytes sent?",
    "how many posts did the user write",  # a word, not an HTTP method
])
def test_no_value_named(question: str) -> None:
    assert field_value(question) is None


def test_time_phrase_is_not_a_value() -> None:
    q = "how many requests returned 404 at port 8080"
    at = q.index("8080")
    got = field_value(q, [(at - 8, at + 4)])
    assert got is not None and got.kind == "status_code"


def test_status_pattern_reads_the_field_not_any_number() -> None:
    rx = re.compile(field_value("returned 404").pattern)  # type: ignore[union-attr]
    assert rx.search(ACCESS) and rx.search(NOVA)
    assert not rx.search(NOT_STATUS)
    rx403 = re.compile(field_value("status code 403").pattern)  # type: ignore[union-attr]
    assert rx403.search(PROXY) and not rx403.search(NOT_STATUS)


def test_method_pattern() -> None:
    rx = re.compile(field_value("how many GET requests").pattern)  # type: ignore[union-attr]
    assert rx.search(ACCESS) and rx.search(NOVA) and not rx.search("GETTING /x")


def test_a_port_is_read_after_a_host_too() -> None:
    """ "443 포트", "port 443": the lines that say port 443 in either form ("port 443" or a
    host's "clients6.example.com:443"), never a clock ("16:12:44") or a plain "ab:443"."""
    import re

    f = field_value("443 포트로 제일 많이 접속한 호스트가 어디야?")
    assert f is not None and f.kind == "port"
    rx = re.compile(f.pattern)
    assert rx.search("clients6.example.com:443 open through proxy")
    assert rx.search("connection on port 443") and rx.search("10.0.0.1:443 closed")
    assert not rx.search("at 16:12:443 lifetime 00:443") and not rx.search("port 4430")


def test_a_field_named_with_its_value_is_a_filter_not_the_asked_field() -> None:
    """ "443 포트로 ... 호스트가 어디야": the port is a filter, the host is asked."""
    from assistant.intent import log_field, read_intent

    found = log_field("443 포트로 제일 많이 접속한 호스트가 어디야?")
    assert found is not None and found[0] == "host"
    assert read_intent("which ports were used most?").log_field == "port"
    named = log_field("which host got the most connections on port 443?")
    assert named is not None and named[0] == "host"


def test_http_methods_are_read_from_request_lines() -> None:
    """ "which HTTP methods", "HTTP 메서드 종류": the verb of each request line."""
    import re

    from assistant.field_values import HTTP_METHOD
    from assistant.intent import read_intent

    for q in ("which HTTP methods were used most?", "API에 들어온 HTTP 메서드 종류 뭐뭐 있어?",
              "how many different request methods are there?"):
        assert read_intent(q).log_field == "http_method", q
    rx = re.compile(HTTP_METHOD)
    m = rx.search('10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200')
    assert m is not None and m.group(1) == "GET"
    assert rx.search("GET requests were slow") is None
