"""The web API end to end: uvicorn on loopback, the real assistant on a seeded demo.

Expected numbers are computed independently with plain SQL on the store (before the
server opens it), not taken from the assistant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from web_support import LiveServer, SseEvent, cpu_peaks, demo_settings, read_sse, seeded_demo

from assistant.web import create_app

pytestmark = [pytest.mark.slow, pytest.mark.server]

TOKEN = "e2e-token"
CPU_Q = "peak CPU on web-03 in the last hour"


@dataclass
class Live:
    url: str
    client: httpx.Client
    peak: dict[str, float]  # host -> max node_cpu_usage_percent 11:00..12:00


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    data_dir = seeded_demo()
    settings = demo_settings(data_dir, api_tokens=[TOKEN], rate_limit_per_minute=10_000)
    peak = cpu_peaks(settings.store_path)
    with LiveServer(create_app(settings)) as srv, httpx.Client(
            base_url=srv.url, timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield Live(srv.url, c, peak)


def _stream(c: httpx.Client, body: dict[str, Any]) -> list[SseEvent]:
    t0 = time.perf_counter()
    with c.stream("POST", "/api/chat/stream", json=body) as resp:
        assert resp.status_code == 200
        return list(read_sse(resp, t0))


def _fact(ans: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in ans["facts"] if f["name"] == name)


def test_chat_answers_with_numbers_from_the_store(live: Live) -> None:
    r = live.client.post("/api/chat", json={"question": CPU_Q})
    assert r.status_code == 200, r.text
    ans = r.json()
    peak = _fact(ans, "peak")
    assert peak["labels"] == {"host": "web-03"}
    assert peak["value"] == pytest.approx(live.peak["web-03"], abs=1e-6)
    assert f"{live.peak['web-03']:.1f}%" in ans["answer"]
    assert ans["queries"][0]["ok"] and "node_cpu_usage_percent" in ans["queries"][0]["native"]
    assert ans["time_range"]["start"] == "2026-11-20T11:00:00Z"
    assert ans["chart"] and ans["chart"][0]["points"]
    assert ans["conversation_id"]


def test_stream_gives_the_same_answer_and_starts_at_once(live: Live) -> None:
    events = _stream(live.client, {"question": CPU_Q})
    names = [e.event for e in events]
    assert names[:2] == ["start", "plan"] and names[-2:] == ["token", "answer"]
    assert names.count("query") == names.count("result") >= 1
    assert events[0].at < 0.3, f"first event after {events[0].at:.3f} s"
    plan = events[1].data
    assert plan["queries"][0]["ir"]["metric"] == "node_cpu_usage_percent"
    ans = events[-1].data
    assert _fact(ans, "peak")["value"] == pytest.approx(live.peak["web-03"], abs=1e-6)
    assert ans["conversation_id"] == events[0].data["conversation_id"]
    assert "".join(e.data["text"] for e in events if e.event == "token") == ans["answer"]


def test_follow_up_keeps_the_conversation(live: Live) -> None:
    conv = "e2e-follow-up"
    first = live.client.post("/api/chat", json={"question": CPU_Q, "conversation_id": conv})
    assert first.status_code == 200
    events = _stream(live.client, {"question": "and on web-02?", "conversation_id": conv})
    ans = events[-1].data
    assert events[1].data["followup"] is True
    peak = _fact(ans, "peak")
    assert peak["labels"] == {"host": "web-02"}
    assert peak["value"] == pytest.approx(live.peak["web-02"], abs=1e-6)
    turns = live.client.get(f"/api/conversations/{conv}").json()["turns"]
    assert [t["question"] for t in turns] == [CPU_Q, "and on web-02?"]
    assert "web-02" in turns[1]["answer"]


def test_runbook_sources_are_cited(live: Live) -> None:
    ans = live.client.post("/api/chat", json={"question": "how do we fix a full disk?"}).json()
    assert any(s["source"].endswith("disk-full.md") for s in ans["sources"]), ans["sources"]


def test_posted_events_are_stored_indexed_and_answered(live: Live) -> None:
    event = {"kind": "deploy", "ts": "2026-11-20T11:45:00Z", "service": "payments",
             "title": "payments v9.9.9 rollout", "status": "succeeded"}
    r = live.client.post("/api/events", json={"events": [event]})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["received"] == 1 and reply["stored"] == 1 and reply["indexed"] == 1
    assert reply["index_error"] is None
    again = live.client.post("/api/events", json=event).json()  # same event: idempotent
    assert again["stored"] == 0 and again["unchanged"] == 1 and again["ids"] == reply["ids"]
    ans = live.client.post("/api/chat", json={
        "question": "show deploys for payments in the last hour"}).json()
    assert "payments v9.9.9 rollout" in ans["answer"]
    bad = live.client.post("/api/events", json=[event, {"kind": "meteor", "ts": "x"}])
    assert bad.status_code == 400
    assert "nothing was stored" in bad.json()["error"]["message"]
    assert "unknown event kind 'meteor'" in bad.json()["error"]["message"]


def _alert(name: str, host: str, status: str, fingerprint: str,
           ends: str = "0001-01-01T00:00:00Z") -> dict[str, Any]:
    return {"status": status, "labels": {"alertname": name, "host": host,
                                         "service": "checkout", "severity": "critical"},
            "annotations": {"summary": f"{name} on {host}"},
            "startsAt": "2026-11-20T11:40:00Z", "endsAt": ends,
            "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint}


def _webhook(status: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": "4", "groupKey": '{}:{alertname="WebHot"}', "truncatedAlerts": 0,
            "status": status, "receiver": "opsa", "groupLabels": {"alertname": "WebHot"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": alerts}


def test_alertmanager_webhook_is_stored_and_updated(live: Live) -> None:
    firing = _webhook("firing", [_alert("WebHot", "web-03", "firing", "f00d01"),
                                 _alert("WebHot", "web-01", "firing", "f00d02")])
    r = live.client.post("/api/alertmanager", json=firing)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["stored"] == 2
    assert sorted(reply["ids"]) == ["am-f00d01-20261120T114000", "am-f00d02-20261120T114000"]
    resolved = _webhook("resolved", [_alert("WebHot", "web-03", "resolved", "f00d01",
                                            ends="2026-11-20T11:55:00Z")])
    upd = live.client.post("/api/alertmanager", json=resolved).json()
    assert upd["stored"] == 0 and upd["updated"] == 1
    ans = live.client.post("/api/chat", json={
        "question": "show alerts for checkout in the last hour"}).json()
    assert "WebHot on web-01" in ans["answer"]

    old = live.client.post("/api/alertmanager", json={**firing, "version": "3"})
    assert old.status_code == 400 and "version '3'" in old.json()["error"]["message"]
    not_am = live.client.post("/api/alertmanager", json={"alerts": "nope"})
    assert not_am.status_code == 400
    nameless = _webhook("firing", [{**_alert("X", "web-02", "firing", "f00d03"), "labels": {}}])
    r = live.client.post("/api/alertmanager", json=nameless)
    assert r.status_code == 400 and "alertname" in r.json()["error"]["message"]
    to_events = live.client.post("/api/events", json=firing)
    assert to_events.status_code == 400 and "/api/alertmanager" in to_events.text


def test_healthz_and_metrics_on_the_demo(live: Live) -> None:
    live.client.post("/api/chat", json={"question": CPU_Q})
    health = httpx.get(f"{live.url}/healthz", timeout=60).json()
    assert health["status"] == "ok", health
    assert "6 services, 12 hosts" in health["checks"]["backend"]["detail"]
    assert health["checks"]["chroma"]["info"]["entries"]["docs"] > 0
    text = httpx.get(f"{live.url}/metrics").text
    line = next(ln for ln in text.splitlines() if ln.startswith("opsa_queries_total{")
                and 'kind="metric"' in ln and 'connector="embedded"' in ln and 'ok="true"' in ln)
    assert float(line.rsplit(" ", 1)[1]) >= 1
