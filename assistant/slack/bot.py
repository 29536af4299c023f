"""The Slack bot: mentions, DMs and `/ops`, answered in a thread that keeps the conversation.

For each question: post "working..." in the thread, update it in place as the plan and
queries progress, replace it with the answer in Block Kit, and upload a chart of the main
series with the files upload API (getUploadURLExternal + completeUploadExternal). The
conversation id is `<channel>-<thread ts>`, so replies in the thread are follow-ups.
Before any query runs the plan is checked against the channel's permissions.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltResponse
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from assistant.core import AskOptions, Assistant
from assistant.errors import ConfigError, OpsaError
from assistant.models import Answer
from assistant.settings import Settings
from assistant.slack import blocks
from assistant.slack.chart import render_png
from assistant.slack.permissions import ChannelPolicy

if TYPE_CHECKING:
    from assistant.web.instruments import Instruments

log = logging.getLogger("opsa.slack")

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
USAGE = "Ask me about your services, e.g. `/ops peak CPU on web-03 in the last hour`."


def conversation_id(channel: str, thread_ts: str) -> str:
    return f"{channel}-{thread_ts}"


SEEN_EVENTS = 10_000
"""How many recent Slack event ids are remembered to answer each event once."""


class RecentIds:
    """A bounded, thread-safe set of the most recently added ids."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """True when `key` is new (and now remembered), False when it was seen recently."""
        with self._lock:
            if key in self._ids:
                self._ids.move_to_end(key)
                return False
            self._ids[key] = None
            if len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            return True


class SlackBot:
    """A bolt `App` whose listeners call the assistant. Serve it over HTTP or Socket Mode."""

    def __init__(
        self,
        settings: Settings,
        assistant: Assistant,
        *,
        client: WebClient | None = None,
        guard: Callable[[], AbstractContextManager[None]] | None = None,
        instruments: Instruments | None = None,
        update_interval_s: float = 1.0,
    ) -> None:
        cfg = settings.slack
        if not cfg.bot_token:
            raise ConfigError("slack.bot_token is not set; set OPSA_SLACK__BOT_TOKEN=xoxb-... "
                              "(the app's Bot User OAuth Token)")
        self.settings = settings
        self.assistant = assistant
        self.client = client or WebClient(token=cfg.bot_token, base_url=cfg.api_url)
        self.guard = guard or nullcontext
        self.instruments = instruments
        self.update_interval_s = update_interval_s
        self.policy = ChannelPolicy(cfg, assistant.services)
        try:
            self.app = App(client=self.client, signing_secret=cfg.signing_secret or "",
                           process_before_response=False)
        except (SlackApiError, BoltError) as exc:  # auth.test at start-up said no
            raise ConfigError(f"Slack rejected the bot token ({exc}); check "
                              "OPSA_SLACK__BOT_TOKEN") from None
        except OSError as exc:  # URLError and socket errors from auth.test at start-up
            raise ConfigError(f"cannot reach the Slack Web API at {cfg.api_url} ({exc}); "
                              "check the network or slack.api_url") from None
        self._register(self.app)

    # -- listeners ----------------------------------------------------------------------
    def _register(self, app: App) -> None:
        seen = RecentIds(SEEN_EVENTS)

        @app.middleware
        def once_per_event(body: dict[str, Any], next: Callable[[], BoltResponse]
                           ) -> BoltResponse:
            # Slack retries an event it thinks was not received; its event_id stays the same.
            event_id = body.get("event_id") if isinstance(body, dict) else None
            if isinstance(event_id, str) and not seen.add(event_id):
                log.info("Slack event %s already handled; retry acknowledged", event_id)
                return BoltResponse(status=200, body="")
            return next()

        @app.event("app_mention")
        def on_mention(event: dict[str, Any]) -> None:
            self.handle_message(event)

        @app.event("message")
        def on_message(event: dict[str, Any]) -> None:
            # Only direct messages from people: channel messages arrive as app_mention,
            # and edits, joins and bot posts carry a subtype or a bot_id.
            if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
                return
            self.handle_message(event)

        @app.command("/ops")
        def on_ops(ack: Ack, command: dict[str, Any]) -> None:
            question = (command.get("text") or "").strip()
            if not question:
                ack(text=USAGE)
                return
            ack()  # within Slack's 3 s; the answer follows in a thread
            channel = command["channel_id"]
            head = self.client.chat_postMessage(
                channel=channel,
                text=f"<@{command.get('user_id', '')}> asked: {blocks.escape(question)}")
            self.answer(channel, str(head["ts"]), question, str(command.get("user_id", "")))

    def handle_message(self, event: dict[str, Any]) -> None:
        """A mention or DM: answer in its thread (the thread of the message if it has one)."""
        question = _MENTION.sub("", event.get("text") or "").strip()
        channel = event["channel"]
        thread_ts = event.get("thread_ts") or event["ts"]
        if not question:
            self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=USAGE)
            return
        self.answer(channel, thread_ts, question, str(event.get("user", "")))

    # -- answering ----------------------------------------------------------------------
    def answer(self, channel: str, thread_ts: str, question: str, user: str = ""
               ) -> Answer | None:
        """Post "working...", stream the assistant into it, finish with the answer."""
        working = self.client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                               text=blocks.WORKING)
        ts = str(working["ts"])
        progress = blocks.Progress(question)
        last_update = time.monotonic()
        ans: Answer | None = None
        try:
            with self.guard():
                events = self.assistant.stream(
                    question, conversation_id(channel, thread_ts),
                    AskOptions(principal=f"slack:{user or '?'}@{channel}"))
                try:
                    for ev in events:
                        if ev.type == "plan":
                            denial = self.policy.check(channel, ev.data)
                            if denial is not None:
                                said = blocks.escape(denial.message())
                                self._update(channel, ts, ":no_entry: " + said)
                                self._count("denied")
                                return None  # closing the stream below runs nothing
                            progress.on_plan(ev.data)
                        elif ev.type == "query":
                            progress.on_query(ev.data)
                        elif ev.type == "result":
                            progress.on_result(ev.data)
                        elif ev.type == "answer":
                            ans = Answer.model_validate(ev.data)
                            continue
                        else:
                            continue
                        now = time.monotonic()
                        if now - last_update >= self.update_interval_s:
                            self._update(channel, ts, progress.text())
                            last_update = now
                finally:
                    close = getattr(events, "close", None)  # a generator: stop it here
                    if close is not None:
                        close()
        except OpsaError as exc:
            self._update(channel, ts, f":warning: {blocks.escape(str(exc))}")
            self._count("error")
            return None
        except SlackApiError:
            raise
        except Exception:  # any other failure: the thread still gets a readable reply
            ref = uuid.uuid4().hex[:12]
            log.exception("internal error %s answering in %s", ref, channel)
            self._update(channel, ts, f":warning: internal error (reference {ref}); the "
                                      "server log has details")
            self._count("error")
            return None
        assert ans is not None, "the agent loop always ends with an answer event"
        self.client.chat_update(channel=channel, ts=ts, text=blocks.fallback_text(ans),
                                blocks=blocks.answer_blocks(ans))
        if self.instruments is not None:
            self.instruments.answered("slack", ans)
        self._upload_chart(channel, thread_ts, ans)
        return ans

    def _update(self, channel: str, ts: str, text: str) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text,
                                blocks=[{"type": "section", "text": {"type": "mrkdwn",
                                                                     "text": text}}])

    def _count(self, outcome: str) -> None:
        if self.instruments is not None:
            self.instruments.questions.labels("slack", outcome).inc()

    def _upload_chart(self, channel: str, thread_ts: str, ans: Answer) -> None:
        png = render_png(ans.chart, title=ans.question)
        if png is None:
            return
        names = ", ".join(s.name for s in ans.chart[:3])
        self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, content=png, filename="opsa-chart.png",
            title=f"chart: {names}"[:200], alt_txt=f"line chart of {names}"[:1000])
