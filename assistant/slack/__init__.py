"""The Slack interface: a slack-bolt app over HTTP (/slack/events) or Socket Mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.slack.bot import SlackBot, conversation_id
from assistant.slack.permissions import ChannelPolicy, Denial

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

__all__ = ["ChannelPolicy", "Denial", "SlackBot", "conversation_id", "run_socket_mode",
           "socket_mode_handler"]


def socket_mode_handler(bot: SlackBot, app_token: str) -> SocketModeHandler:
    """A Socket Mode connection for `bot` (its Web API client opens the websocket URL);
    `.connect()` to start in the background, `.close()` to stop."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(bot.app, app_token)


def run_socket_mode(bot: SlackBot, app_token: str) -> None:
    """Serve `bot` over Socket Mode (no public URL needed); blocks until interrupted."""
    socket_mode_handler(bot, app_token).start()
