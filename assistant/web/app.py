"""The FastAPI app: chat (JSON and SSE), conversations, event intake, health, metrics, page.

`create_app(settings)` builds everything from settings; tests inject `services` or a
scripted `assistant`. Every `/api/*` route needs a bearer token (see guard.py); `/`,
`/static`, `/healthz`, `/metrics` and `/openapi.json` are open. `/slack/events` (Slack's
HTTP mode) is mounted when `slack.bot_token` and `slack.signing_secret` are set; Slack
requests are authenticated by their signature instead.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.conversation import ConversationStore
from assistant.core import AskOptions, Assistant
from assistant.errors import OpsaError
from assistant.models import Answer, AssistantEvent
from assistant.services import Services
from assistant.settings import Settings
from assistant.web import errors, ingest, sse
from assistant.web.errors import ApiError
from assistant.web.gate import StoreGate
from assistant.web.guard import BodyLimit, CrossSiteCheck, RateLimiter, TokenAuth
from assistant.web.health import Health, health
from assistant.web.instruments import Instruments, RequestMetrics
from assistant.web.refresh import EventsRefresher
from assistant.web.schemas import CONVERSATION_ID, ChatRequest, ConversationOut, ErrorOut, TurnOut

log = logging.getLogger("opsa.web")

STATIC_DIR = resources.files("assistant.web") / "static"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut}
    for code in (400, 401, 403, 404, 413, 415, 422, 429, 502, 503, 504)
}


AUTH_FAILURES = 10
"""Failed authentications per minute an address may make before it gets 429s."""


@dataclass
class WebContext:
    """What the routes share: one assistant, its services, the gate and the metrics."""

    settings: Settings
    services: Services
    assistant: Assistant
    gate: StoreGate
    instruments: Instruments
    auth: TokenAuth
    limiter: RateLimiter
    cross_site: CrossSiteCheck
    auth_failures: RateLimiter = field(default_factory=lambda: RateLimiter(AUTH_FAILURES))
    refresher: EventsRefresher | None = None


class ApiGuard:
    """ASGI middleware: token check and rate limit for `/api/*`, before any body is read."""

    def __init__(self, app: ASGIApp, ctx: WebContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        client = scope.get("client")
        address = f"ip:{client[0] if client else '-'}"
        try:
            self.ctx.cross_site.check_host(headers)
            # an address that keeps failing authentication is held off, even with a good token
            self.ctx.auth_failures.take(address, "failed authentications", spend=False)
            try:
                caller = self.ctx.auth.check(headers.get("authorization"),
                                             client[0] if client else None)
            except ApiError as exc:
                if exc.status == 401:
                    self.ctx.auth_failures.take(address, "failed authentications")
                raise
            self.ctx.limiter.take(caller.key)
            self.ctx.cross_site.check_request(str(scope.get("method", "GET")), headers)
        except ApiError as exc:
            resp = errors.error_response(exc.status, exc.code, exc.message, headers=exc.headers)
            await resp(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller.key
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    services: Services | None = None,
    *,
    assistant: Assistant | None = None,
    warm: bool = True,
) -> FastAPI:
    """The web app for `settings`; `services`/`assistant` are built from settings if absent."""
    if assistant is None:
        services = services or Services(settings)
        assistant = Assistant(services,
                              ConversationStore(settings.data_dir / "conversations.sqlite"))
    # Between questions the store is closed, so that an `opsa ingest` in another process
    # can write; the next question notices the write and reads the new catalog.
    gate = StoreGate(on_first_reader=assistant.services.refresh_if_changed,
                     on_idle=assistant.services.release_store)
    ctx = WebContext(
        settings=settings, services=assistant.services, assistant=assistant,
        gate=gate, instruments=Instruments(), auth=TokenAuth(settings.api_tokens),
        limiter=RateLimiter(settings.rate_limit_per_minute),
        cross_site=CrossSiteCheck(bool(settings.api_tokens), settings.cors_origins),
        refresher=EventsRefresher(assistant.services, settings.events_refresh_s, gate.reading)
        if settings.events_refresh_s > 0 else None,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=_warm_up, args=(ctx,), name="opsa-warm", daemon=True).start()
        if ctx.refresher is not None:
            ctx.refresher.start()
        yield
        if ctx.refresher is not None:
            ctx.refresher.stop()
        ctx.services.close()

    app = FastAPI(
        title="Ops Assistant",
        version="0.1.0",
        description="Grounded answers from your metrics, logs, events and runbooks. "
                    "Send `Authorization: Bearer <token>` to every /api route.",
        docs_url=None, redoc_url=None,  # their pages load scripts from a CDN: not offline
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    _routes(app, ctx)
    if settings.slack.bot_token and settings.slack.signing_secret:
        _mount_slack(app, ctx)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    # Added innermost first: metrics see every response, CORS answers preflights before
    # the guard, the body limit applies to all routes (Slack's too).
    app.add_middleware(ApiGuard, ctx=ctx)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(RequestMetrics, instruments=ctx.instruments, routes=app.router.routes)
    return app


def _warm_up(ctx: WebContext) -> None:
    """Build the catalog, entity linker and retriever before the first question needs them."""
    try:
        with ctx.gate.reading():
            _ = ctx.services.linker
            retriever = ctx.services.retriever()
            if retriever is not None:
                _ = retriever.embedder
    except OpsaError as exc:  # reported by /healthz and by the first question
        log.warning("warm-up: %s", exc)


def owned(request: Request, conversation_id: str) -> str:
    """The stored id of a caller's conversation: scoped to the caller (its token, or its
    address when no tokens are configured), so another caller, or a Slack thread, with the
    same id is a different conversation, neither readable nor continued from here."""
    caller = getattr(request.state, "caller", "anonymous")
    return f"web:{caller}:{conversation_id}"


def _options(req: ChatRequest, request: Request) -> AskOptions:
    """The request's options; the caller (a hash of its token, or its address) for the audit
    log."""
    return AskOptions(planner=req.planner, now=req.now,
                      principal=f"web:{getattr(request.state, 'caller', 'anonymous')}")


def _routes(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC_DIR / "index.html"), media_type="text/html")

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> JSONResponse:
        """Backends, model and Chroma, each with ok/detail; 503 when the backend is down."""
        with ctx.gate.reading():
            report = health(ctx.services, ctx.refresher)
        return JSONResponse(report.model_dump(mode="json"),
                            status_code=503 if report.status == "down" else 200)

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def metrics() -> Response:
        """Prometheus exposition: requests, latencies, questions, queries run, errors."""
        return Response(ctx.instruments.exposition(), media_type=ctx.instruments.content_type)

    @app.post("/api/chat", response_model=Answer, responses=_ERRORS, tags=["chat"])
    def chat(req: ChatRequest, request: Request) -> Answer:
        """Answer one question: the same object as `opsa ask --json`."""
        conv_id = req.conversation_id or uuid.uuid4().hex[:12]
        try:
            with ctx.gate.reading():
                ans = ctx.assistant.ask(req.question, owned(request, conv_id),
                                       _options(req, request))
        except OpsaError as exc:
            ctx.instruments.failed("web", errors.classify(exc)[1])
            raise
        ctx.instruments.answered("web", ans)
        return ans.model_copy(update={"conversation_id": conv_id})

    @app.post("/api/chat/stream", responses=_ERRORS, tags=["chat"],
              response_class=StreamingResponse)
    async def chat_stream(req: ChatRequest, request: Request) -> StreamingResponse:
        """Server-Sent Events: `start` at once, then `plan`, `query`, `result`, `token`,
        `answer` (the final answer object) or `error` (`{code, message}`)."""
        conv_id = req.conversation_id or uuid.uuid4().hex[:12]
        stored = owned(request, conv_id)
        options = _options(req, request)

        def run(stop: threading.Event) -> Iterator[AssistantEvent]:
            for ev in ctx.assistant.stream(req.question, stored, options):
                if ev.type == "answer":  # the caller's own id, not the stored one
                    ev = ev.model_copy(update={"data": {**ev.data, "conversation_id": conv_id}})
                yield ev

        def on_event(ev: AssistantEvent) -> None:
            if ev.type == "answer":
                ctx.instruments.answered("web", Answer.model_validate(ev.data))

        frames = sse.stream_frames(
            run, {"conversation_id": conv_id, "question": req.question},
            ctx.gate.reading, on_event=on_event,
            on_error=lambda code: ctx.instruments.failed("web", code))
        return StreamingResponse(frames, media_type=sse.MEDIA_TYPE, headers=sse.HEADERS)

    @app.get("/api/conversations/{conversation_id}", response_model=ConversationOut,
             responses=_ERRORS, tags=["chat"])
    def conversation(
        conversation_id: Annotated[str, Path(pattern=CONVERSATION_ID)], request: Request,
    ) -> ConversationOut:
        """The turns of a conversation so far, oldest first (only the caller's own)."""
        turns = ctx.assistant.conversations.turns(owned(request, conversation_id))
        if not turns:
            raise ApiError(404, f"no conversation {conversation_id!r}; it has no turns yet "
                           "or the id is wrong")
        return ConversationOut(conversation_id=conversation_id, turns=[
            TurnOut(question=t.question, answer=t.answer, at=t.at.isoformat(),
                    context=t.context) for t in turns])

    _json_body = {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": ["object", "array"]}}}}}

    @app.post("/api/events", response_model=ingest.IngestReply, responses=_ERRORS,
              tags=["events"], openapi_extra=_json_body)
    async def post_events(request: Request) -> ingest.IngestReply:
        """Deploy, incident, change (or alert) events: one object, an array, or
        `{"events": [...]}`; stored and indexed into the `events` collection."""
        doc = ingest.decode_json(await request.body())
        events = ingest.parse_posted_events(doc, ctx.services)
        reply = await run_in_threadpool(ingest.store_and_index, events, ctx.services, ctx.gate)
        ctx.instruments.events_ingested.labels("api").inc(len(events))
        return _public(reply)

    @app.post("/api/alertmanager", response_model=ingest.IngestReply, responses=_ERRORS,
              tags=["events"], openapi_extra=_json_body)
    async def post_alertmanager(request: Request) -> ingest.IngestReply:
        """Alertmanager webhook receiver (payload version 4): one `alert` event per alert,
        keyed by fingerprint and start, so a later `resolved` delivery updates it."""
        doc = ingest.decode_json(await request.body())
        events = ingest.parse_alertmanager(doc, ctx.services)
        reply = await run_in_threadpool(ingest.store_and_index, events, ctx.services, ctx.gate)
        ctx.instruments.events_ingested.labels("alertmanager").inc(len(events))
        return _public(reply)


def _public(reply: ingest.IngestReply) -> ingest.IngestReply:
    """The reply with its indexing error as a client may see it (no server paths)."""
    if reply.index_error:
        reply.index_error = errors.public(reply.index_error)
    return reply


def _mount_slack(app: FastAPI, ctx: WebContext) -> None:
    """Slack's HTTP mode at /slack/events, served by the bolt app of `assistant.slack`."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    from assistant.slack import SlackBot

    bot = SlackBot(ctx.settings, ctx.assistant, guard=ctx.gate.reading,
                   instruments=ctx.instruments)
    app.state.slack_bot = bot

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        # The fastapi adapter's handler calls bolt's (blocking) dispatch on the event loop;
        # use its request/response converters and dispatch in a worker thread instead.
        stamp = request.headers.get("x-slack-request-timestamp", "")
        if stamp and not (stamp.isascii() and stamp.isdigit()):
            return errors.error_response(401, "unauthorized", "X-Slack-Request-Timestamp is not a "
                                  "Unix time in seconds; Slack signs every request with one")
        body = await request.body()
        bolt_response = await run_in_threadpool(bot.app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)
