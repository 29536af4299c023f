"""`/healthz`: is each part the assistant needs reachable? Backends, model and Chroma."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from pydantic import BaseModel, Field

from assistant.errors import OpsaError
from assistant.services import Services
from assistant.store_status import CHROMA_SQLITE, count_local_index
from assistant.web.refresh import EventsRefresher
from connectors.base import Connector


class Check(BaseModel):
    ok: bool
    detail: str = ""
    elapsed_ms: float = 0.0
    info: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    status: str = Field(description="ok | degraded (optional parts failing) | down")
    checks: dict[str, Check]


def _timed(fn: Any) -> Check:
    t0 = time.perf_counter()
    try:
        check: Check = fn()
    except (OpsaError, ImportError, OSError) as exc:
        check = Check(ok=False, detail=str(exc))
    check.elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
    return check


def _backend(services: Services, which: str) -> Check:
    conn: Connector = getattr(services, which)
    conn.ping()  # the store as it is now, not as it was when the catalog was read
    cat = conn.catalog()
    return Check(ok=True, detail=f"{conn.name}: {len(cat.metrics)} metrics, "
                 f"{len(cat.services)} services, {len(cat.hosts)} hosts",
                 info={"connector": conn.name})


def _model(services: Services) -> Check:
    s = services.settings
    used = s.planner != "rules" or s.phrasing == "llm"
    info = {"provider": s.llm.provider, "planner": s.planner, "phrasing": s.phrasing}
    if s.llm.provider == "none":
        return Check(ok=True, detail="no model configured; rules planner and templates",
                     info=info)
    chat = services.chat
    if chat is None:
        problem = services.problems.get("llm", "the model could not be built")
        # A model that is not used cannot make answers fail.
        return Check(ok=not used, detail=problem, info=info)
    detail = f"{s.llm.provider} model ready" + ("" if used else " (not used by the "
                                               "rules planner with template phrasing)")
    return Check(ok=True, detail=detail, info=info)


def _chroma(services: Services) -> Check:
    if not services.settings.chroma.url:
        local = _local_chroma(services)
        if local is not None:
            return local
    retriever = services.retriever()
    if retriever is None:
        return Check(ok=False, detail=services.problems.get("retrieval", "unavailable"))
    retriever.client.heartbeat()
    counts = {name: retriever.count(name) for name in ("docs", "catalog", "events")}
    where = services.settings.chroma.url or str(services.settings.chroma_path)
    detail = f"chroma at {where}"
    if counts["docs"] == 0:
        detail += "; no runbooks indexed yet (opsa index docs PATH)"
    return Check(ok=True, detail=detail, info={"entries": counts})


def _local_chroma(services: Services) -> Check | None:
    """A local index, counted from its SQLite file: no wait for chromadb to load (the
    warm-up loads it beside), so the server answers within a second or two of starting.
    None when the file cannot be counted so (an unknown layout, or damaged)."""
    problem = services.problems.get("retrieval")
    if problem:
        return Check(ok=False, detail=problem)
    path = services.settings.chroma_path
    counted = count_local_index(path / CHROMA_SQLITE)
    if counted is None or counted[1]:
        return None  # unknown layout, or damaged: the retriever's check says what to do
    entries = counted[0]
    counts = {name: entries.get(name, 0) for name in ("docs", "catalog", "events")}
    detail = f"chroma at {path}"
    if counts["docs"] == 0:
        detail += "; no runbooks indexed yet (opsa index docs PATH)"
    return Check(ok=True, detail=detail, info={"entries": counts})


def _refresh(refresher: EventsRefresher) -> Check:
    st = refresher.state
    info = {"interval_s": refresher.interval_s, "rounds": st.rounds, "indexed": st.indexed}
    if st.error is not None:
        return Check(ok=False, detail=f"events refresh failing: {st.error}", info=info)
    detail = (f"every {refresher.interval_s:g}s; last round indexed {st.indexed} events"
              if st.rounds else f"every {refresher.interval_s:g}s; first round pending")
    return Check(ok=True, detail=detail, info=info)


def health(services: Services, refresher: EventsRefresher | None = None) -> Health:
    """Run every check; `down` when the metrics backend fails, `degraded` for the rest."""
    checks = {"backend": _timed(lambda: _backend(services, "backend"))}
    if refresher is not None:
        checks["events_refresh"] = _refresh(refresher)
    for key in ("logs_backend", "events_backend"):
        if getattr(services.settings, key):
            checks[key] = _timed(partial(_backend, services, key))
    checks["model"] = _timed(lambda: _model(services))
    checks["chroma"] = _timed(lambda: _chroma(services))
    if not checks["backend"].ok:
        status = "down"
    elif all(c.ok for c in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return Health(status=status, checks=checks)
