"""`opsa slack`'s transport: Socket Mode against a local websocket (tests/fake_slack.py).

The bolt app opens the websocket URL from apps.connections.open (fake Web API), receives
envelopes (an app mention, a slash command), acks each by envelope id within Slack's 3 s,
and answers through the Web API; the assistant is the real one on a seeded demo.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fake_slack import BOT_USER, TEAM, FakeSlack, FakeSocketMode
from web_support import cpu_peaks, demo_settings, seeded_demo

from assistant.conversation import ConversationStore
from assistant.core import Assistant
from assistant.services import Services
from assistant.slack import SlackBot, socket_mode_handler
from assistant.slack.blocks import WORKING

pytestmark = [pytest.mark.slow, pytest.mark.server]

BOT_TOKEN = "xoxb-socket-test"
APP_TOKEN = "xapp-1-socket-test"


@dataclass
class Env:
    slack: FakeSlack
    socket: FakeSocketMode
    peak: dict[str, float]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    try:
        socket_mode = FakeSocketMode()
    except ImportError:
        msg = "the websockets package is needed for the Socket Mode fake: pip install websockets"
        if os.environ.get("OPSA_REQUIRE_SERVERS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    with socket_mode as ws, FakeSlack(BOT_TOKEN, app_token=APP_TOKEN,
                                      socket_url=ws.url) as slack:
        settings = demo_settings(seeded_demo(), slack={
            "bot_token": BOT_TOKEN, "app_token": APP_TOKEN, "api_url": slack.api_url})
        assistant = Assistant(Services(settings), ConversationStore())
        bot = SlackBot(settings, assistant)
        handler = socket_mode_handler(bot, APP_TOKEN)
        handler.connect()
        try:
            slack.wait_for(lambda: ws.connected, timeout=30)
            yield Env(slack, ws, cpu_peaks(settings.store_path))
        finally:
            handler.close()
            assistant.services.close()


def _answer_in(slack: FakeSlack, channel: str, thread_ts: str) -> str:
    def done() -> str | None:
        for m in list(slack.messages.values()):
            if m.channel == channel and m.thread_ts == thread_ts \
                    and not m.text.startswith(WORKING):
                return m.text
        return None

    slack.wait_for(lambda: done() is not None)
    text = done()
    assert text is not None
    return text


def test_mention_over_socket_mode(env: Env) -> None:
    ws = env.socket
    opened = env.slack.named("apps.connections.open")
    assert opened and opened[0].token == APP_TOKEN
    event = {"type": "app_mention", "user": "UHUMAN01", "channel": "CSOCK",
             "text": f"<@{BOT_USER}> peak CPU on web-03 in the last hour",
             "ts": "1795200000.000001", "event_ts": "1795200000.000001"}
    t0 = time.monotonic()
    envelope = ws.deliver("events_api", {
        "token": "x", "team_id": TEAM, "api_app_id": "A0000001", "event": event,
        "type": "event_callback", "event_id": "EvSOCK01", "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]})
    env.slack.wait_for(lambda: ws.ack_for(envelope) is not None, timeout=10)
    assert time.monotonic() - t0 < 3.0
    text = _answer_in(env.slack, "CSOCK", event["ts"])
    assert f"{env.peak['web-03']:.1f}%" in text


def test_slash_command_over_socket_mode(env: Env) -> None:
    ws = env.socket
    since = len(env.slack.calls)
    t0 = time.monotonic()
    envelope = ws.deliver("slash_commands", {
        "token": "x", "team_id": TEAM, "channel_id": "CSOCK2", "user_id": "UHUMAN01",
        "command": "/ops", "text": "peak CPU on web-02 in the last hour",
        "api_app_id": "A0000001", "response_url": "http://127.0.0.1:9/none",
        "trigger_id": "trig-sock"})
    env.slack.wait_for(lambda: ws.ack_for(envelope) is not None, timeout=10)
    assert time.monotonic() - t0 < 3.0
    env.slack.wait_for(lambda: bool(env.slack.named("chat.postMessage", since)))
    head = env.slack.named("chat.postMessage", since)[0]
    assert "asked: peak CPU on web-02" in head.params["text"]
    head_ts = next(m.ts for m in env.slack.messages.values()
                   if m.channel == "CSOCK2" and m.thread_ts is None)
    assert f"{env.peak['web-02']:.1f}%" in _answer_in(env.slack, "CSOCK2", head_ts)
