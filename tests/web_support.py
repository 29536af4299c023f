"""Shared helpers for the web, Slack, browser tests and the web benchmark.

* `seeded_demo()`: a small demo fleet (scale 0.02, pinned clock) seeded once per process
  into a temporary data dir, with the runbooks indexed (MiniLM embedder, fast);
* `LiveServer`: an ASGI app served by uvicorn on a free 127.0.0.1 port in a thread;
* `read_sse()`: an independent SSE parser over an httpx streaming response.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn

from assistant.settings import Settings

DEMO_NOW = "2026-11-20T12:00:00Z"
DEMO_SEED = 7


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for the seeded demo: pinned clock, rules planner, templates, MiniLM."""
    base: dict[str, Any] = {
        "data_dir": data_dir, "now": DEMO_NOW, "planner": "rules", "phrasing": "template",
        "chroma": {"embedder": "minilm"}, "llm": {"provider": "none"},
    }
    base.update(overrides)
    return Settings(**base)


@functools.cache
def seeded_demo() -> Path:
    """The data dir of a small seeded demo (once per process; removed at exit)."""
    from assistant.demo.seed import seed_demo
    from assistant.retrieval import Retriever

    root = Path(tempfile.mkdtemp(prefix="opsa-web-demo-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    data_dir = root / "data"
    settings = demo_settings(data_dir)
    seed_demo(settings, scale=0.02, seed=DEMO_SEED, progress=False)
    runbooks = Path(__file__).resolve().parents[1] / "assistant" / "demo" / "knowledge" / "runbooks"
    Retriever(settings).index_docs([runbooks])
    return data_dir


def cpu_peaks(store: Path) -> dict[str, float]:
    """host -> max node_cpu_usage_percent sample in 11:00..12:00 (plain SQL, not the IR)."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute(
            "SELECT map_extract(labels, 'host')[1], max(value) FROM samples "
            "JOIN series USING (series_id) WHERE metric = 'node_cpu_usage_percent' AND ts "
            "BETWEEN TIMESTAMP '2026-11-20 11:00:00' AND TIMESTAMP '2026-11-20 12:00:00' "
            "GROUP BY 1").fetchall()
    finally:
        con.close()
    return {str(h): float(v) for h, v in rows}


class LiveServer:
    """`with LiveServer(app) as srv: httpx.get(srv.url + "/healthz")`."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class SseEvent:
    event: str
    data: Any
    id: str | None
    at: float  # seconds since the request was sent


def read_sse(response: httpx.Response, t0: float) -> Iterator[SseEvent]:
    """Parse `text/event-stream` per the WHATWG rules (fields, comments, blank-line dispatch)."""
    event, ident = "message", None
    data: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield SseEvent(event, json.loads("\n".join(data)), ident, time.perf_counter() - t0)
            event, data, ident = "message", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            ident = value
