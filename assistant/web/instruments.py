"""The assistant's own Prometheus metrics (served at /metrics), one registry per app."""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.models import Answer

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Instruments:
    """Counters and histograms for HTTP requests, questions, queries and errors."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("opsa_http_requests_total", "HTTP requests served",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("opsa_http_request_duration_seconds",
                                 "HTTP request latency (streams: until the last byte)",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.questions = Counter("opsa_questions_total", "questions answered",
                                 ["interface", "outcome"], registry=r)
        self.answer_seconds = Histogram("opsa_answer_duration_seconds",
                                        "time to answer one question", ["interface"],
                                        buckets=_LATENCY_BUCKETS, registry=r)
        self.queries = Counter("opsa_queries_total", "queries run for questions",
                               ["kind", "connector", "ok"], registry=r)
        self.errors = Counter("opsa_errors_total", "errors returned to callers",
                              ["interface", "code"], registry=r)
        self.events_ingested = Counter("opsa_events_ingested_total",
                                       "events received through the API", ["source"],
                                       registry=r)

    def answered(self, interface: str, ans: Answer) -> None:
        outcome = ("refused" if ans.refused else "clarification" if ans.clarification
                   else "answered")
        self.questions.labels(interface, outcome).inc()
        self.answer_seconds.labels(interface).observe(ans.elapsed_ms / 1000.0)
        for q in ans.queries:
            kind = str(q.ir.get("kind", "unknown"))
            self.queries.labels(kind, q.connector, "true" if q.ok else "false").inc()

    def failed(self, interface: str, code: str) -> None:
        self.questions.labels(interface, "error").inc()
        self.errors.labels(interface, code).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware counting requests by route template (not raw path) and status."""

    def __init__(self, app: ASGIApp, instruments: Instruments,
                 routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.instruments = instruments
        self.routes = routes  # to name requests rejected before routing (401, 413, 429)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route(scope, self.routes)
            self.instruments.requests.labels(scope["method"], route, str(status)).inc()
            self.instruments.latency.labels(route).observe(time.perf_counter() - t0)
            if status >= 400:
                self.instruments.errors.labels("web", str(status)).inc()


def _route(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match != Match.NONE:
            found = getattr(candidate, "path", None)
            if isinstance(found, str):
                return found
    return "other"
