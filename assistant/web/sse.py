"""Server-Sent Events from the assistant's event loop.

The first frame (`event: start`) is written as soon as the request is accepted, before
the assistant starts understanding the question, so a client sees activity at once; then
one frame per assistant event (`plan`, `query`, `result`, `token`, `answer`) or a final
`error` frame. The assistant runs in a worker thread; frames cross to the event loop
through a queue. A client that goes away stops the assistant between two steps.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from assistant.errors import OpsaError
from assistant.models import AssistantEvent
from assistant.web.errors import classify, public

log = logging.getLogger("opsa.web")

KEEPALIVE_S = 15.0
MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def frame(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    """One SSE frame; the JSON payload is a single `data:` line (json.dumps has no newlines)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def stream_frames(
    run: Callable[[threading.Event], Iterator[AssistantEvent]],
    start: dict[str, Any],
    guard: Callable[[], AbstractContextManager[None]],
    on_event: Callable[[AssistantEvent], None] | None = None,
    on_error: Callable[[str], None] | None = None,
) -> AsyncIterator[bytes]:
    """Frames for one question: `start`, the assistant's events, or `error` at the end.

    `run(stop)` returns the assistant's event iterator; it is consumed in a thread inside
    `guard()` (the store gate). `stop` is set when the client disconnects.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def put(kind: str, item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, item))
        except RuntimeError:  # the event loop is gone (server shutting down)
            stop.set()

    def work() -> None:
        try:
            with guard():
                events = run(stop)
                try:
                    for ev in events:
                        put("event", ev)
                        if stop.is_set():
                            break
                finally:
                    close = getattr(events, "close", None)
                    if close is not None:
                        close()
        except OpsaError as exc:
            status, code = classify(exc)
            put("error", {"code": code, "status": status, "message": public(str(exc))})
        except Exception:  # any failure: the stream must still end with a readable error frame
            ref = uuid.uuid4().hex[:12]
            log.exception("internal error %s while streaming an answer", ref)
            put("error", {"code": "internal_error", "status": 500,
                          "message": f"internal error (reference {ref}); the server log "
                                     "has details"})
        finally:
            put("done", None)

    n = 0
    yield frame("start", start, n)
    thread = threading.Thread(target=work, name="opsa-sse", daemon=True)
    thread.start()
    try:
        while True:
            try:
                kind, item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if kind == "done":
                break
            n += 1
            if kind == "error":
                if on_error is not None:
                    on_error(item["code"])
                yield frame("error", item, n)
                continue
            ev: AssistantEvent = item
            if on_event is not None:
                on_event(ev)
            yield frame(ev.type, ev.data, n)
    finally:
        stop.set()
