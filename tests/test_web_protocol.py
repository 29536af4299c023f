"""The web layer over real HTTP (uvicorn on loopback) with a scripted assistant.

Auth, rate limit, body limit, JSON errors, SSE framing and timing, CORS, OpenAPI and
metrics; the assistant is scripted so each protocol path is exercised deterministically.
The end-to-end tests with the real assistant are in test_web_e2e.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_support import LiveServer, SseEvent, read_sse

from assistant.conversation import ConversationStore, Turn
from assistant.core import AskOptions, Assistant
from assistant.errors import BackendTimeout, BackendUnavailable, UnknownEntityError
from assistant.models import Answer, AssistantEvent
from assistant.services import Services
from assistant.settings import Settings
from assistant.web import create_app
from assistant.web.errors import ApiError
from assistant.web.gate import StoreGate
from assistant.web.guard import RateLimiter, TokenAuth

pytestmark = pytest.mark.server

TOKEN = "s3cret-token"
SLOW_S = 1.0


class ScriptedAssistant(Assistant):
    """Yields a fixed event sequence; some questions raise, `slow` sleeps before planning."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(Services(settings), ConversationStore())
        self.asked: list[str] = []
        self.long_steps = 0
        self.long_closed = threading.Event()

    def stream(self, question: str, conversation_id: str | None = None,
               options: AskOptions | None = None) -> Iterator[AssistantEvent]:
        self.asked.append(question)
        if question == "slow":
            time.sleep(SLOW_S)
        if question == "unknown host":
            raise UnknownEntityError("host", "web-99", ["web-01", "web-02"])
        if question == "timeout":
            raise BackendTimeout("the embedded backend did not answer within 10 s")
        if question == "unreachable":
            raise BackendUnavailable("cannot reach Prometheus at http://127.0.0.1:1")
        if question == "bug":
            raise RuntimeError("SECRET internal detail")
        if question == "locked":
            raise BackendUnavailable('Could not set lock on file "/srv/opsa/data/telemetry.duckdb":'
                                     " Conflicting lock is held in /usr/bin/python3 (PID 4242)")
        ir = {"kind": "metric", "metric": "node_load1"}
        yield AssistantEvent(type="plan", data={"queries": [{"purpose": "main", "ir": ir}]})
        if question == "long":
            try:
                for _ in range(100):
                    self.long_steps += 1
                    yield AssistantEvent(type="query", data={"purpose": "main", "ir": ir})
                    time.sleep(0.05)
            finally:
                self.long_closed.set()
            return
        yield AssistantEvent(type="query", data={"purpose": "main", "ir": ir})
        yield AssistantEvent(type="result", data={"purpose": "main", "ok": True,
                                                  "connector": "fake", "native": "SELECT 1"})
        if question == "fail midway":
            raise BackendTimeout("the fake backend timed out after the first query")
        yield AssistantEvent(type="token", data={"text": "load is 1.5"})
        ans = Answer(question=question, answer="load is 1.5", language="en", time_range=None,
                     conversation_id=conversation_id)
        self.conversations.append(conversation_id or "none",
                                  Turn(question=question, answer=ans.answer))
        yield AssistantEvent(type="answer", data=ans.model_dump(mode="json"))


def _settings(tmp: Path, **kw: Any) -> Settings:
    return Settings(data_dir=tmp / "empty", llm={"provider": "none"}, **kw)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ScriptedAssistant]]:
    s = _settings(tmp_path_factory.mktemp("web"), api_tokens=[TOKEN, "other-token"],
                  max_body_bytes=2000, rate_limit_per_minute=1000)
    assistant = ScriptedAssistant(s)
    with LiveServer(create_app(s, assistant=assistant, warm=False)) as srv:
        yield srv.url, assistant


@pytest.fixture
def client(server: tuple[str, ScriptedAssistant]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0], timeout=30,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def _base(client: httpx.Client) -> str:
    return str(client.base_url).rstrip("/")


def _error(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"error"}, body
    err: dict[str, Any] = body["error"]
    assert err["message"] and err["code"]
    assert "Traceback" not in resp.text
    return err


# -- auth ---------------------------------------------------------------------------------
def test_api_needs_a_bearer_token(server: tuple[str, ScriptedAssistant]) -> None:
    url, assistant = server
    before = len(assistant.asked)
    body = {"question": "peak cpu"}
    r = httpx.post(f"{url}/api/chat", json=body)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "missing bearer token" in _error(r)["message"]
    r = httpx.post(f"{url}/api/chat", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and _error(r)["message"] == "invalid bearer token"
    r = httpx.post(f"{url}/api/chat", json=body, headers={"Authorization": f"Basic {TOKEN}"})
    assert r.status_code == 401
    # Auth is checked before the body is read: malformed JSON without a token is a 401.
    r = httpx.post(f"{url}/api/chat", content=b"{nope")
    assert r.status_code == 401
    r = httpx.get(f"{url}/api/conversations/abc")
    assert r.status_code == 401
    assert len(assistant.asked) == before  # nothing ran
    for token in (TOKEN, "other-token"):
        r = httpx.post(f"{url}/api/chat", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    assert len(assistant.asked) == before + 2


def test_open_endpoints_need_no_token(server: tuple[str, ScriptedAssistant]) -> None:
    url, _ = server
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text
    js = httpx.get(f"{url}/static/app.js")
    assert js.status_code == 200 and "text/event-stream" in js.text
    assert httpx.get(f"{url}/metrics").status_code == 200
    spec = httpx.get(f"{url}/openapi.json").json()
    for path in ("/api/chat", "/api/chat/stream", "/api/conversations/{conversation_id}",
                 "/api/events", "/api/alertmanager", "/healthz", "/metrics"):
        assert path in spec["paths"], path
    assert "question" in spec["components"]["schemas"]["ChatRequest"]["properties"]


def test_healthz_reports_each_part_and_503_without_a_store(
        server: tuple[str, ScriptedAssistant]) -> None:
    r = httpx.get(f"{server[0]}/healthz", timeout=60)  # the first Chroma client takes seconds
    assert r.status_code == 503  # the data dir is empty: no telemetry store
    body = r.json()
    assert body["status"] == "down"
    assert set(body["checks"]) >= {"backend", "model", "chroma"}
    assert not body["checks"]["backend"]["ok"]
    assert "opsa demo" in body["checks"]["backend"]["detail"]
    assert body["checks"]["model"]["ok"]  # provider none: nothing to fail


def test_no_tokens_means_loopback_only(tmp_path: Path) -> None:
    auth = TokenAuth([])
    assert auth.check(None, "127.0.0.1").key == "ip:127.0.0.1"
    assert auth.check(None, "::1").token is False
    with pytest.raises(ApiError) as err:
        auth.check("Bearer anything", "10.1.2.3")
    assert err.value.status == 401 and "OPSA_API_TOKENS" in err.value.message
    # Over HTTP from loopback, an app without tokens answers.
    s = _settings(tmp_path)
    with LiveServer(create_app(s, assistant=ScriptedAssistant(s), warm=False)) as srv:
        r = httpx.post(f"{srv.url}/api/chat", json={"question": "peak cpu"})
        assert r.status_code == 200 and r.json()["answer"] == "load is 1.5"


# -- limits ---------------------------------------------------------------------------------
def test_oversized_bodies_get_413(client: httpx.Client,
                                  server: tuple[str, ScriptedAssistant]) -> None:
    before = len(server[1].asked)
    big = {"question": "x" * 5000}
    r = client.post("/api/chat", json=big)
    assert r.status_code == 413
    assert "over the limit of 2000 bytes" in _error(r)["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        data = json.dumps(big).encode()
        for i in range(0, len(data), 500):
            yield data[i:i + 500]

    r = client.post("/api/chat", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert len(server[1].asked) == before
    small = client.post("/api/chat", content=(chunk for chunk in [b'{"question":', b' "hi"}']),
                        headers={"Content-Type": "application/json"})
    assert small.status_code == 200, small.text


def test_lying_content_length_is_rejected(server: tuple[str, ScriptedAssistant]) -> None:
    url = server[0]
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n{}")
        reply = sock.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413")


def test_rate_limit_per_token(tmp_path: Path) -> None:
    s = _settings(tmp_path, api_tokens=["a", "b"], rate_limit_per_minute=3)
    with LiveServer(create_app(s, assistant=ScriptedAssistant(s), warm=False)) as srv:
        codes = [httpx.post(f"{srv.url}/api/chat", json={"question": "q"},
                            headers={"Authorization": "Bearer a"}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = httpx.post(f"{srv.url}/api/chat", json={"question": "q"},
                       headers={"Authorization": "Bearer a"})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert "3 requests per minute" in _error(r)["message"]
        # Another token has its own budget; open endpoints are not limited.
        assert httpx.post(f"{srv.url}/api/chat", json={"question": "q"},
                          headers={"Authorization": "Bearer b"}).status_code == 200
        assert httpx.get(f"{srv.url}/metrics").status_code == 200


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one per second
    for _ in range(60):
        limiter.take("k")
    with pytest.raises(ApiError) as err:
        limiter.take("k")
    assert err.value.headers["Retry-After"] == "1"
    now[0] += 1.0
    limiter.take("k")  # refilled one
    with pytest.raises(ApiError):
        limiter.take("k")


# -- errors -------------------------------------------------------------------------------
def test_malformed_and_invalid_requests(client: httpx.Client) -> None:
    r = client.post("/api/chat", content=b'{"question": ', headers={"Content-Type":
                                                                    "application/json"})
    assert r.status_code == 400
    assert _error(r)["code"] == "invalid_json"
    r = client.post("/api/chat", content=b"question=hi",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "application/json" in _error(r)["message"]
    r = client.post("/api/chat", content=b'"hi"', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON object" in _error(r)["message"]
    r = client.post("/api/chat", json={"question": "hi", "colour": "red"})
    assert r.status_code == 422
    err = _error(r)
    assert "colour" in err["message"] and err["problems"][0]["field"] == "colour"
    r = client.post("/api/chat", json={"question": "hi", "now": "yesterday-ish"})
    assert r.status_code == 422 and "now" in _error(r)["message"]
    r = client.post("/api/chat", json={"question": "hi", "conversation_id": "../../etc"})
    assert r.status_code == 422
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and "openapi.json" in _error(r)["message"]
    r = client.get("/api/conversations/never-seen")
    assert r.status_code == 404 and "never-seen" in _error(r)["message"]


@pytest.mark.parametrize(("question", "status", "code", "text"), [
    ("unknown host", 404, "unknown_entity", "no host named 'web-99'"),
    ("timeout", 504, "backend_timeout", "did not answer within 10 s"),
    ("unreachable", 502, "backend_error", "cannot reach Prometheus"),
])
def test_opsa_errors_map_to_statuses(client: httpx.Client, question: str, status: int,
                                     code: str, text: str) -> None:
    r = client.post("/api/chat", json={"question": question})
    assert r.status_code == status
    err = _error(r)
    assert err["code"] == code and text in err["message"]


def test_unexpected_errors_are_500_without_internals(client: httpx.Client) -> None:
    r = client.post("/api/chat", json={"question": "bug"})
    assert r.status_code == 500
    err = _error(r)
    assert err["code"] == "internal_error" and "reference" in err["message"]
    assert "SECRET" not in r.text and "RuntimeError" not in r.text


# -- SSE --------------------------------------------------------------------------------------
def _stream(client: httpx.Client, body: dict[str, Any]) -> list[SseEvent]:
    t0 = time.perf_counter()
    with client.stream("POST", "/api/chat/stream", json=body) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["cache-control"] == "no-cache"
        return list(read_sse(resp, t0))


def test_sse_frames_and_order(client: httpx.Client) -> None:
    events = _stream(client, {"question": "peak cpu", "conversation_id": "conv-1"})
    assert [e.event for e in events] == ["start", "plan", "query", "result", "token", "answer"]
    assert [e.id for e in events] == [str(i) for i in range(6)]
    assert events[0].data == {"conversation_id": "conv-1", "question": "peak cpu"}
    assert events[-1].data["answer"] == "load is 1.5"
    assert events[-1].data["conversation_id"] == "conv-1"
    turns = client.get("/api/conversations/conv-1").json()["turns"]
    assert [t["question"] for t in turns] == ["peak cpu"]


def test_sse_first_event_is_immediate_even_when_the_assistant_is_slow(
        client: httpx.Client) -> None:
    events = _stream(client, {"question": "slow"})
    assert events[0].event == "start" and events[0].at < 0.3, events[0]
    plan = next(e for e in events if e.event == "plan")
    assert plan.at >= SLOW_S  # the scripted delay really happened before planning
    assert events[0].data["conversation_id"] == events[-1].data["conversation_id"]


def test_sse_errors_end_the_stream_with_an_error_event(client: httpx.Client) -> None:
    events = _stream(client, {"question": "fail midway"})
    assert [e.event for e in events] == ["start", "plan", "query", "result", "error"]
    assert events[-1].data["code"] == "backend_timeout"
    assert "timed out" in events[-1].data["message"]
    events = _stream(client, {"question": "bug"})
    assert [e.event for e in events] == ["start", "error"]
    assert events[-1].data["code"] == "internal_error"
    assert "SECRET" not in json.dumps(events[-1].data)


def test_client_disconnect_stops_the_assistant(client: httpx.Client,
                                                server: tuple[str, ScriptedAssistant]) -> None:
    assistant = server[1]
    with client.stream("POST", "/api/chat/stream", json={"question": "long"}) as resp:
        seen = 0
        for line in resp.iter_lines():
            seen += line.startswith("event: query")
            if seen == 3:
                break
    assert assistant.long_closed.wait(10), "the assistant kept running after the disconnect"
    assert assistant.long_steps < 20


def test_store_gate_lets_a_writer_in_between_readers() -> None:
    gate = StoreGate()
    order: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def reader(name: str, hold: threading.Event | None) -> None:
        with gate.reading():
            order.append(f"{name} in")
            if hold is not None:
                first_in.set()
                hold.wait(5)
            order.append(f"{name} out")

    def writer() -> None:
        with gate.writing():
            order.append("writer")

    r1 = threading.Thread(target=reader, args=("r1", release_first))
    r1.start()
    assert first_in.wait(5)
    w = threading.Thread(target=writer)
    w.start()
    time.sleep(0.1)  # the writer is now waiting for r1
    r2 = threading.Thread(target=reader, args=("r2", None))
    r2.start()
    time.sleep(0.1)  # r2 must wait behind the waiting writer
    assert order == ["r1 in"]
    release_first.set()
    for t in (r1, w, r2):
        t.join(5)
    assert order == ["r1 in", "r1 out", "writer", "r2 in", "r2 out"]


def test_sse_request_errors_are_plain_json(client: httpx.Client) -> None:
    r = client.post("/api/chat/stream", content=b"{", headers={"Content-Type":
                                                                "application/json"})
    assert r.status_code == 400 and _error(r)["code"] == "invalid_json"
    r = httpx.post(f"{_base(client)}/api/chat/stream", json={"question": "q"})
    assert r.status_code == 401


# -- CORS and metrics ---------------------------------------------------------------------
def test_cors_is_off_by_default_and_on_when_configured(client: httpx.Client,
                                                      tmp_path: Path) -> None:
    r = client.post("/api/chat", json={"question": "q"}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    pre = client.options("/api/chat", headers={"Origin": "http://evil.example",
                                               "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers
    s = _settings(tmp_path, api_tokens=["t"], cors_origins=["http://ui.example"])
    with LiveServer(create_app(s, assistant=ScriptedAssistant(s), warm=False)) as srv:
        pre = httpx.options(f"{srv.url}/api/chat", headers={
            "Origin": "http://ui.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "http://ui.example"
        other = httpx.options(f"{srv.url}/api/chat", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert other.headers.get("access-control-allow-origin") != "http://evil.example"


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        got = dict(p.split("=", 1) for p in line[len(name) + 1:line.index("}")].split(","))
        if all(got.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_questions_queries_and_errors(client: httpx.Client) -> None:
    before = httpx.get(f"{_base(client)}/metrics").text
    assert client.post("/api/chat", json={"question": "q"}).status_code == 200
    assert client.post("/api/chat", json={"question": "timeout"}).status_code == 504
    httpx.post(f"{_base(client)}/api/chat", json={"question": "q"})  # 401
    after = httpx.get(f"{_base(client)}/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    a, b = after.text, before

    def delta(name: str, **labels: str) -> float:
        return _sample(a, name, **labels) - _sample(b, name, **labels)

    assert delta("opsa_http_requests_total", method="POST", route="/api/chat",
                 status="200") == 1
    assert delta("opsa_http_requests_total", method="POST", route="/api/chat",
                 status="504") == 1
    assert delta("opsa_http_requests_total", method="POST", route="/api/chat",
                 status="401") == 1
    assert delta("opsa_questions_total", interface="web", outcome="answered") == 1
    assert delta("opsa_errors_total", interface="web", code="backend_timeout") == 1
    assert delta("opsa_http_request_duration_seconds_count", route="/api/chat") == 3
    # Queries are counted from the answer; the scripted answer ran none.
    assert "opsa_queries_total" in a


# -- cross-site requests (loopback mode, no token) -------------------------------------------
def test_cross_site_writes_and_rebound_hosts_are_refused(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    with LiveServer(create_app(s, assistant=ScriptedAssistant(s), warm=False)) as srv:
        event = json.dumps({"kind": "deploy", "ts": "2026-11-20T11:00:00Z", "title": "x"})
        # A page on any site can make a browser send this without a CORS preflight.
        plain = httpx.post(f"{srv.url}/api/events", content=event,
                           headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415 and "application/json" in _error(plain)["message"]
        hook = httpx.post(f"{srv.url}/api/alertmanager", content='{"alerts": []}',
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert hook.status_code == 415
        assert not s.store_path.exists()  # nothing was written
        # DNS rebinding: the browser sends the attacker's name as Host.
        rebound = httpx.post(f"{srv.url}/api/chat", json={"question": "q"},
                             headers={"Host": "attacker.example"})
        assert rebound.status_code == 403 and "loopback" in _error(rebound)["message"]
        other = httpx.post(f"{srv.url}/api/chat", json={"question": "q"},
                           headers={"Origin": "http://evil.example"})
        assert other.status_code == 403 and "cors_origins" in _error(other)["message"]
        # The page itself (same origin) and plain clients (no Origin) still work.
        own = httpx.post(f"{srv.url}/api/chat", json={"question": "q"},
                         headers={"Origin": srv.url})
        assert own.status_code == 200
        assert httpx.post(f"{srv.url}/api/chat", json={"question": "q"}).status_code == 200


def test_lone_surrogates_and_deep_nesting_get_a_4xx(tmp_path: Path) -> None:
    """Not text, or nested past what a parser can read: a clear 4xx on every endpoint, never a
    500 or a reset stream, and nothing stored."""
    s = _settings(tmp_path, api_tokens=[TOKEN], max_body_bytes=1_000_000)
    assistant = ScriptedAssistant(s)
    deep = b"[" * 5000 + b"]" * 5000
    with LiveServer(create_app(s, assistant=assistant, warm=False)) as srv, \
            httpx.Client(base_url=srv.url, timeout=30,
                         headers={"Authorization": f"Bearer {TOKEN}",
                                  "Content-Type": "application/json"}) as c:
        for path in ("/api/chat", "/api/chat/stream"):
            r = c.post(path, content=b'{"question": "cpu \\ud800 now"}')
            assert r.status_code == 422 and "lone surrogate" in _error(r)["message"], path
            r = c.post(path, content=b'{"question": "x", "now": ' + deep + b"}")
            assert 400 <= r.status_code < 500, (path, r.status_code)
            _error(r)
        for path in ("/api/events", "/api/alertmanager"):
            r = c.post(path, content=deep)
            assert r.status_code == 400 and "nested too deeply" in _error(r)["message"]
            r = c.post(path, content=b'{"kind": "deploy", "service": "x", "title": "a\\udc00"}')
            assert r.status_code == 400 and "lone surrogate" in _error(r)["message"]
    assert assistant.asked == []


def test_conversations_belong_to_the_caller_that_made_them(
        server: tuple[str, ScriptedAssistant]) -> None:
    """Another token can neither read a conversation nor continue it; the caller's own id
    comes back unchanged."""
    url, _ = server
    owner = {"Authorization": f"Bearer {TOKEN}"}
    other = {"Authorization": "Bearer other-token"}
    r = httpx.post(f"{url}/api/chat", json={"question": "peak cpu", "conversation_id": "mine"},
                   headers=owner)
    assert r.status_code == 200 and r.json()["conversation_id"] == "mine"
    assert httpx.get(f"{url}/api/conversations/mine", headers=owner).status_code == 200
    assert httpx.get(f"{url}/api/conversations/mine", headers=other).status_code == 404
    r = httpx.post(f"{url}/api/chat", json={"question": "and now?", "conversation_id": "mine"},
                   headers=other)
    assert r.status_code == 200 and r.json()["conversation_id"] == "mine"
    turns = httpx.get(f"{url}/api/conversations/mine", headers=owner).json()["turns"]
    assert [t["question"] for t in turns] == ["peak cpu"]  # the other caller's turn is its own
    new = httpx.post(f"{url}/api/chat", json={"question": "peak cpu"}, headers=owner).json()
    assert httpx.get(f"{url}/api/conversations/{new['conversation_id']}",
                     headers=owner).status_code == 200


def test_error_bodies_name_no_server_paths_or_process_ids(client: httpx.Client) -> None:
    r = client.post("/api/chat", json={"question": "locked"})
    message = _error(r)["message"]
    assert "telemetry.duckdb" in message and "Conflicting lock" in message
    assert "/srv/opsa" not in message and "/usr/bin" not in message and "4242" not in message
    frames = _stream(client, {"question": "locked"})
    assert frames[-1].event == "error" and "/srv/opsa" not in str(frames[-1].data)
    assert "4242" not in str(frames[-1].data)


def test_repeated_failed_authentication_is_held_off(tmp_path: Path) -> None:
    """Guessing tokens from one address: 401s, then 429 with Retry-After, even for the good
    token, until the failures age out."""
    s = _settings(tmp_path, api_tokens=[TOKEN], rate_limit_per_minute=1000)
    with LiveServer(create_app(s, assistant=ScriptedAssistant(s), warm=False)) as srv:
        codes = [httpx.post(f"{srv.url}/api/chat", json={"question": "peak cpu"},
                            headers={"Authorization": f"Bearer guess-{i}"}).status_code
                 for i in range(12)]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        r = httpx.post(f"{srv.url}/api/chat", json={"question": "peak cpu"},
                       headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 429 and "failed authentications" in _error(r)["message"]
        assert int(r.headers["Retry-After"]) >= 1
