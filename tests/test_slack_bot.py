"""The Slack bot over its real protocols: signed Events API / slash-command deliveries
posted over HTTP to /slack/events (uvicorn on loopback), and the bot's Web API calls
answered and recorded by a local fake Slack (tests/fake_slack.py). The assistant is the
real one on a seeded demo; expected numbers come from plain SQL on the store.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fake_slack import BOT_USER, TEAM, FakeSlack, Message
from web_support import LiveServer, cpu_peaks, demo_settings, seeded_demo

from assistant.conversation import Turn
from assistant.slack.blocks import WORKING
from assistant.web import create_app

pytestmark = [pytest.mark.slow, pytest.mark.server]

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
API_TOKEN = "api-token"
PAY_CHANNEL = "CPAYMENTS"
_seq = itertools.count(1)


@dataclass
class Env:
    url: str
    slack: FakeSlack
    api: httpx.Client
    peak: dict[str, float]
    turns: Callable[[str], list[Turn]]
    """The stored turns of a Slack thread's conversation (not readable over the API)."""


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    data_dir = seeded_demo()
    with FakeSlack(BOT_TOKEN) as slack:
        settings = demo_settings(data_dir, api_tokens=[API_TOKEN], slack={
            "bot_token": BOT_TOKEN, "signing_secret": SECRET, "api_url": slack.api_url,
            "channel_services": {PAY_CHANNEL: ["payments"]}})
        peak = cpu_peaks(settings.store_path)
        app = create_app(settings)
        app.state.slack_bot.update_interval_s = 0.0  # every progress step becomes an update
        with LiveServer(app) as srv, httpx.Client(
                base_url=srv.url, timeout=60,
                headers={"Authorization": f"Bearer {API_TOKEN}"}) as api:
            yield Env(srv.url, slack, api, peak, app.state.slack_bot.assistant.conversations.turns)


def _sign(body: bytes, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    base = f"v0:{ts}:".encode() + body
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}


def _event_body(event: dict[str, Any]) -> bytes:
    n = next(_seq)
    return json.dumps({
        "token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0000001",
        "event": event, "type": "event_callback", "event_id": f"Ev{n:08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }).encode()


def _new_ts() -> str:
    return f"1795100000.{next(_seq):06d}"


def _post_event(env: Env, event: dict[str, Any]) -> tuple[httpx.Response, float]:
    body = _event_body(event)
    t0 = time.perf_counter()
    r = httpx.post(f"{env.url}/slack/events", content=body,
                   headers={"Content-Type": "application/json", **_sign(body)})
    return r, time.perf_counter() - t0


def _mention(channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
    ev = {"type": "app_mention", "user": "UHUMAN01", "text": f"<@{BOT_USER}> {text}",
          "ts": _new_ts(), "channel": channel, "event_ts": "0"}
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def _reply_in(env: Env, channel: str, thread_ts: str, final: bool = True) -> Message:
    """The bot's message in a thread, once it holds the answer (or a denial)."""

    def ready() -> Message | None:
        for m in list(env.slack.messages.values()):
            if m.channel == channel and m.thread_ts == thread_ts and m.text != WORKING and (
                    not final or not m.text.startswith(WORKING)):
                return m
        return None

    env.slack.wait_for(lambda: ready() is not None)
    msg = ready()
    assert msg is not None
    return msg


def _block_text(msg: Message) -> str:
    out = []
    for b in msg.blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        out += [f["text"] for f in b.get("fields", [])]
        out += [e["text"] for e in b.get("elements", [])]
    return "\n".join(out)


# -- request verification -------------------------------------------------------------------
def test_unsigned_badly_signed_and_stale_requests_get_401_and_run_nothing(env: Env) -> None:
    env.slack.settle()
    before = len(env.slack.calls)
    event = _mention("CGENERAL", "peak CPU on web-03 in the last hour")
    body = _event_body(event)
    url = f"{env.url}/slack/events"
    json_ct = {"Content-Type": "application/json"}
    cases = {
        "unsigned": {},
        "bad signature": {"X-Slack-Request-Timestamp": str(int(time.time())),
                          "X-Slack-Signature": "v0=" + "0" * 64},
        "other secret": _sign(body, secret="not-the-secret"),
        "stale": _sign(body, ts=int(time.time()) - 600),
        "future": _sign(body, ts=int(time.time()) + 600),
    }
    for name, headers in cases.items():
        r = httpx.post(url, content=body, headers={**json_ct, **headers})
        assert r.status_code == 401, name
    tampered = _sign(body)
    r = httpx.post(url, content=body.replace(b"web-03", b"web-01"),
                   headers={**json_ct, **tampered})
    assert r.status_code == 401
    time.sleep(1.0)  # a listener would have run by now
    assert len(env.slack.calls) == before
    conv = env.api.get(f"/api/conversations/CGENERAL-{event['ts']}")
    assert conv.status_code == 404


def test_a_non_numeric_timestamp_is_401_not_500(env: Env) -> None:
    body = _event_body(_mention("CGENERAL", "peak CPU on web-03 in the last hour"))
    headers = {**_sign(body), "X-Slack-Request-Timestamp": "soon"}
    r = httpx.post(f"{env.url}/slack/events", content=body,
                   headers={"Content-Type": "application/json", **headers})
    assert r.status_code == 401 and "Unix time" in r.json()["error"]["message"]


def test_a_retried_event_is_answered_once(env: Env) -> None:
    """Slack redelivers an event (same event_id, X-Slack-Retry-Num) when it thinks the first
    delivery failed; the question must not be answered twice."""
    env.slack.settle()
    event = _mention("CGENERAL", "peak CPU on web-03 in the last hour")
    body = _event_body(event)
    url = f"{env.url}/slack/events"
    first = httpx.post(url, content=body, headers={"Content-Type": "application/json",
                                                   **_sign(body)})
    retry = httpx.post(url, content=body, headers={"Content-Type": "application/json",
                                                   "X-Slack-Retry-Num": "1",
                                                   "X-Slack-Retry-Reason": "http_timeout",
                                                   **_sign(body)})
    assert first.status_code == 200 and retry.status_code == 200
    _reply_in(env, "CGENERAL", event["ts"])
    env.slack.settle()
    posted = [m for m in env.slack.messages.values()
              if m.channel == "CGENERAL" and m.thread_ts == event["ts"]]
    assert len(posted) == 1, [m.text[:60] for m in posted]


def test_url_verification_challenge(env: Env) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "ch4llenge",
                       "token": "x"}).encode()
    r = httpx.post(f"{env.url}/slack/events", content=body,
                   headers={"Content-Type": "application/json", **_sign(body)})
    assert r.status_code == 200 and "ch4llenge" in r.text


# -- answering ------------------------------------------------------------------------------
def test_mention_is_answered_in_its_thread_with_blocks_and_a_chart(env: Env) -> None:
    since = len(env.slack.calls)
    event = _mention("CGENERAL", "peak CPU on web-03 in the last hour")
    r, took = _post_event(env, event)
    assert r.status_code == 200 and took < 3.0, took
    msg = _reply_in(env, "CGENERAL", event["ts"])
    # the call is logged before the fake records it: wait for the completed upload itself
    env.slack.wait_for(lambda: any(u.get("thread_ts") == event["ts"] and u.get("completed")
                                   for u in list(env.slack.uploads.values())))

    posts = env.slack.named("chat.postMessage", since)
    assert posts[0].params["thread_ts"] == event["ts"] and posts[0].params["text"] == WORKING
    assert posts[0].token == BOT_TOKEN
    expected = f"{env.peak['web-03']:.1f}%"
    assert expected in msg.text
    text = _block_text(msg)
    assert "*peak*" in text and expected in text and "host=web-03" in text
    assert "*Queries run*" in text and "node_cpu_usage_percent" in text and "```" in text
    assert "window 2026-11-20 11:00" in text
    # Updated in place while the queries ran, before the answer replaced it.
    assert any("running 1/1" in h for h in msg.history), msg.history
    assert any(":white_check_mark:" in h for h in msg.history), msg.history

    url_call = env.slack.named("files.getUploadURLExternal", since)[0]
    assert url_call.params["filename"] == "opsa-chart.png"
    upload = next(u for u in env.slack.uploads.values() if u.get("thread_ts") == event["ts"])
    assert upload["data"].startswith(b"\x89PNG\r\n\x1a\n")
    assert int(url_call.params["length"]) == len(upload["data"])
    assert upload["channel"] == "CGENERAL" and upload["completed"]
    assert "host=web-03" in upload["title"]
    assert [t.question for t in env.turns(f"CGENERAL-{event['ts']}")] == [
        "peak CPU on web-03 in the last hour"]
    # a thread's conversation is Slack's: the web API does not serve it
    assert env.api.get(f"/api/conversations/CGENERAL-{event['ts']}").status_code == 404


def test_thread_follow_up_keeps_the_conversation(env: Env) -> None:
    first = _mention("CGENERAL", "peak CPU on web-03 in the last hour")
    _post_event(env, first)
    _reply_in(env, "CGENERAL", first["ts"])
    follow = _mention("CGENERAL", "and on web-02?", thread_ts=first["ts"])
    _post_event(env, follow)

    def second_answer() -> bool:
        return any(m.thread_ts == first["ts"] and "web-02" in m.text
                   and not m.text.startswith(WORKING) for m in env.slack.messages.values())

    env.slack.wait_for(second_answer)
    msg = next(m for m in env.slack.messages.values()
               if m.thread_ts == first["ts"] and "web-02" in m.text)
    assert f"{env.peak['web-02']:.1f}%" in msg.text
    assert [t.question for t in env.turns(f"CGENERAL-{first['ts']}")] == [
        "peak CPU on web-03 in the last hour", "and on web-02?"]


def test_direct_message_is_answered(env: Env) -> None:
    ts = _new_ts()
    r, _ = _post_event(env, {"type": "message", "channel_type": "im", "channel": "DUSER01",
                             "user": "UHUMAN01", "text": "how do we fix a full disk?",
                             "ts": ts, "event_ts": ts})
    assert r.status_code == 200
    msg = _reply_in(env, "DUSER01", ts)
    assert "disk-full.md" in _block_text(msg)  # the runbook is cited as a source


def test_bot_posts_and_edits_are_ignored(env: Env) -> None:
    env.slack.settle()
    since = len(env.slack.calls)
    for extra in ({"bot_id": "BOTHER01"}, {"subtype": "message_changed"}):
        ts = _new_ts()
        r, _ = _post_event(env, {"type": "message", "channel_type": "im", "channel": "DUSER02",
                                 "user": "UHUMAN01", "text": "peak CPU on web-03", "ts": ts,
                                 "event_ts": ts, **extra})
        assert r.status_code == 200
    time.sleep(1.0)
    assert env.slack.calls[since:] == []


def _slash(env: Env, channel: str, text: str) -> tuple[httpx.Response, float]:
    body = urlencode({"token": "x", "team_id": TEAM, "team_domain": "fake",
                      "channel_id": channel, "channel_name": "ops", "user_id": "UHUMAN01",
                      "user_name": "alice", "command": "/ops", "text": text,
                      "api_app_id": "A0000001", "response_url": "http://127.0.0.1:9/none",
                      "trigger_id": f"trig-{next(_seq)}"}).encode()
    t0 = time.perf_counter()
    r = httpx.post(f"{env.url}/slack/events", content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", **_sign(body)})
    return r, time.perf_counter() - t0


def test_slash_command_acks_fast_then_answers_in_a_thread(env: Env) -> None:
    since = len(env.slack.calls)
    r, took = _slash(env, "COPS", "peak CPU on web-03 in the last hour")
    assert r.status_code == 200 and took < 3.0, took
    env.slack.wait_for(lambda: bool(env.slack.named("chat.postMessage", since)))
    head = env.slack.named("chat.postMessage", since)[0]
    assert head.params["channel"] == "COPS" and "thread_ts" not in head.params
    assert "asked: peak CPU on web-03" in head.params["text"]
    head_ts = next(m.ts for m in env.slack.messages.values()
                   if m.channel == "COPS" and m.thread_ts is None and "asked" in m.text)
    msg = _reply_in(env, "COPS", head_ts)
    assert f"{env.peak['web-03']:.1f}%" in msg.text

    empty, _ = _slash(env, "COPS", "  ")
    assert empty.status_code == 200 and "/ops peak CPU" in empty.text


# -- permissions ------------------------------------------------------------------------------
def _denied_count(env: Env) -> float:
    for line in httpx.get(f"{env.url}/metrics").text.splitlines():
        if line.startswith('opsa_questions_total{interface="slack",outcome="denied"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_channel_permissions_deny_before_anything_runs(env: Env) -> None:
    env.slack.settle()
    denied_before = _denied_count(env)
    since = len(env.slack.calls)
    event = _mention(PAY_CHANNEL, "peak CPU on web-03 in the last hour")
    _post_event(env, event)
    msg = _reply_in(env, PAY_CHANNEL, event["ts"])
    assert msg.text.startswith(":no_entry: This channel may only ask about payments")
    assert "would query checkout" in msg.text and "Nothing was run" in msg.text
    assert msg.history == [WORKING]  # no progress: no query started
    assert not env.slack.named("files.getUploadURLExternal", since)
    assert env.api.get(f"/api/conversations/{PAY_CHANNEL}-{event['ts']}").status_code == 404
    assert _denied_count(env) == denied_before + 1

    fleet = _mention(PAY_CHANNEL, "which host has the highest CPU in the last hour?")
    _post_event(env, fleet)
    msg = _reply_in(env, PAY_CHANNEL, fleet["ts"])
    assert "may only ask about payments" in msg.text
    assert "checkout" in msg.text and "search" in msg.text  # every other service

    allowed = _mention(PAY_CHANNEL, "5xx errors for payments in the last hour")
    _post_event(env, allowed)
    msg = _reply_in(env, PAY_CHANNEL, allowed["ts"])
    assert "payments" in msg.text and "*Queries run*" in _block_text(msg)
