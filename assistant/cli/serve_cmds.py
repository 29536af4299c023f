"""`opsa serve` (web chat, API, Slack HTTP mode) and `opsa slack` (Slack over Socket Mode)."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli.common import app, err_console, friendly, settings
from assistant.errors import ConfigError


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8080,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the chat page, the HTTP API and (when configured) Slack's /slack/events."""
    import uvicorn

    from assistant.web import create_app
    from assistant.web.guard import is_loopback

    s = settings()
    if not s.api_tokens and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve the API on {host} without tokens; set OPSA_API_TOKENS "
            "(comma-separated) or bind 127.0.0.1")
    web = create_app(s)
    slack = " and /slack/events" if s.slack.bot_token and s.slack.signing_secret else ""
    auth = "bearer tokens" if s.api_tokens else "open to loopback clients only (no tokens)"
    err_console.print(f"serving http://{host}:{port}/ (API: {auth}){slack}", highlight=False)
    uvicorn.run(web, host=host, port=port, log_level=log_level)


@app.command("slack")
@friendly
def slack_cmd() -> None:
    """Run the Slack bot over Socket Mode (needs slack.bot_token and slack.app_token)."""
    from assistant.conversation import ConversationStore
    from assistant.core import Assistant
    from assistant.services import Services
    from assistant.slack import SlackBot, run_socket_mode

    s = settings()
    if not s.slack.app_token:
        raise ConfigError("slack.app_token is not set; create an app-level token with the "
                          "connections:write scope and set OPSA_SLACK__APP_TOKEN=xapp-...")
    from assistant.web.gate import StoreGate

    assistant = Assistant(Services(s), ConversationStore(s.data_dir / "conversations.sqlite"))
    # as in `opsa serve`: the store is closed between questions, so `opsa ingest` can write
    gate = StoreGate(on_first_reader=assistant.services.refresh_if_changed,
                     on_idle=assistant.services.release_store)
    bot = SlackBot(s, assistant, guard=gate.reading)
    err_console.print("Slack bot connected over Socket Mode; Ctrl-C to stop", highlight=False)
    try:
        run_socket_mode(bot, s.slack.app_token)
    finally:
        assistant.services.close()
