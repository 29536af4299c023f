"""Events posted to the API: parsed with the ingest helpers, stored, indexed for retrieval.

`POST /api/events` takes one event object, an array, or `{"events": [...]}` with flexible
field names (see `assistant.ingest.events`); `POST /api/alertmanager` takes Alertmanager's
webhook payload (version 4). Input with any malformed item is rejected as a whole (400,
nothing stored), so a caller never has to guess what was kept.

The ingest helpers (pyarrow, the store writer) load on the first posted event, not when
the server starts.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from assistant.errors import OpsaError
from assistant.services import Services
from assistant.web.errors import ApiError
from assistant.web.gate import StoreGate
from connectors.base import Event

MAX_EVENTS = 1000


class IngestReply(BaseModel):
    """What happened to posted events."""

    received: int
    stored: int = Field(description="new events written to the store")
    updated: int = Field(description="known ids whose status, end or severity changed")
    unchanged: int
    ids: list[str]
    indexed: int = Field(description="events now in the retrieval index (new, updated or known)")
    expired: int = Field(default=0, description="older than the retention window: not indexed")
    index_error: str | None = Field(default=None, description="why indexing failed, if it did")


def decode_json(body: bytes) -> Any:
    """The posted document, or a 400: invalid JSON, nesting too deep to read, or strings
    holding lone surrogates ("\\ud800"), which could be stored but never sent back."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc}); send a JSON "
                       "object or array", code="invalid_json") from None
    except RecursionError:
        raise ApiError(400, "the request body is nested too deeply to read; send events as "
                       "a flat object or array", code="invalid_json") from None
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(400, f"the request body holds a lone surrogate at {exc.start}, which "
                       "is not text; send UTF-8 text", code="invalid_json") from None
    return doc


def parse_posted_events(doc: Any, services: Services) -> list[Event]:
    """Events from a `/api/events` body, or a 400 naming the first bad items."""
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        items: Any = doc["events"]
    elif isinstance(doc, dict | list):
        items = doc if isinstance(doc, list) else [doc]
    else:
        raise ApiError(400, "send an event object, an array of events, or "
                       '{"events": [...]}')
    if not items:
        raise ApiError(400, "no events in the request")
    from assistant.ingest.events import is_alertmanager

    if any(is_alertmanager(i) for i in items):
        raise ApiError(400, "this is an Alertmanager webhook payload; post it to "
                       "/api/alertmanager")
    return _parse(items, services, what="event")


def parse_alertmanager(doc: Any, services: Services) -> list[Event]:
    """Alert events from an Alertmanager webhook payload (version 4), or a 400."""
    from assistant.ingest.events import is_alertmanager

    if not is_alertmanager(doc):
        raise ApiError(400, "not an Alertmanager webhook payload: expected an object with "
                       "'version': '4' and an 'alerts' array")
    version = str(doc.get("version", "4"))
    if version != "4":
        raise ApiError(400, f"Alertmanager webhook version {version!r} is not supported; "
                       "this endpoint speaks version 4")
    if not doc["alerts"]:
        raise ApiError(400, "the Alertmanager payload has no alerts")
    return _parse(doc, services, what="alert")


def _parse(payload: Any, services: Services, what: str) -> list[Event]:
    from assistant.ingest.events import KINDS, parse_events

    parsed = parse_events(json.dumps(payload), services.settings.tz())
    if parsed.malformed.count:
        problems = "; ".join(reason for _, reason in parsed.malformed.examples)
        raise ApiError(400, f"{parsed.malformed.count} {what}(s) could not be read, nothing "
                       f"was stored: {problems}. Each {what} needs a kind "
                       f"({', '.join(KINDS)}), a time and a title")
    if len(parsed.events) > MAX_EVENTS:
        raise ApiError(400, f"{len(parsed.events)} events in one request; the limit is "
                       f"{MAX_EVENTS}, send them in batches")
    return parsed.events


def store_and_index(events: list[Event], services: Services, gate: StoreGate) -> IngestReply:
    """Write `events` to the embedded store, then index them into the `events` collection."""
    from assistant.ingest.writer import StoreWriter

    with gate.writing():
        _close_store_readers(services)
        with StoreWriter(services.settings.store_path) as writer:
            writer.add_events(events)
            counts = writer.close()
    reply = IngestReply(received=len(events), stored=counts.events,
                        updated=counts.events_updated, unchanged=counts.events_unchanged,
                        ids=[e.id for e in events], indexed=0)
    retriever = services.retriever()
    if retriever is None:
        reply.index_error = services.problems.get("retrieval", "retrieval is unavailable")
        return reply
    try:
        report = retriever.index_events(events, now=services.settings.clock())
    except OpsaError as exc:
        reply.index_error = str(exc)
        return reply
    reply.indexed = report.added + report.updated + report.unchanged
    reply.expired = report.expired
    return reply


def _close_store_readers(services: Services) -> None:
    """Close read-only store connections (they reopen on the next query); see gate.py."""
    from connectors.embedded.connector import EmbeddedConnector

    for key in ("backend", "logs_backend", "events_backend"):
        conn = services.__dict__.get(key)
        if isinstance(conn, EmbeddedConnector):
            conn.close()
