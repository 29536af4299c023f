"""Run planned queries: route each to its connector (or to retrieval), on a time budget.

A failing or slow backend becomes a stated part of the answer (`Executed.error`), never a
crash: the other queries still run and their facts still arrive.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.errors import BackendTimeout, OpsaError
from assistant.facts import Fact, facts_from_result
from assistant.intent import SEVERITY_SAID, severity_pattern
from assistant.ir import DocQuery, LogQuery, Query
from assistant.models import ChartSeries, QueryRun, SourceOut
from assistant.planner import PlannedQuery
from connectors.base import Connector, Result, Series

if TYPE_CHECKING:
    from assistant.services import Services
    from assistant.understand import Understanding

CHART_POINTS = 240


@dataclass
class Executed:
    planned: PlannedQuery
    connector: str
    native: str = ""
    result: Result | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    facts: list[Fact] = field(default_factory=list)
    sources: list[SourceOut] = field(default_factory=list)
    doc_texts: list[str] = field(default_factory=list)
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def query(self) -> Query:
        return self.planned.query

    def error_text(self) -> str:
        return f"{self.connector}: {self.error}"

    def describe(self) -> str:
        return f"{self.planned.why or self.query.kind} ({self.connector})"

    def run_record(self) -> QueryRun:
        return QueryRun(
            connector=self.connector,
            purpose=self.planned.purpose,
            ir=self.query.model_dump(mode="json"),
            native=self.native,
            ok=self.ok,
            error=self.error,
            elapsed_ms=round(self.elapsed_ms, 1),
            truncated=bool(self.result and self.result.truncated),
        )

    def summary(self) -> dict[str, Any]:
        rec = self.run_record().model_dump(mode="json")
        if self.result is not None:
            rec["series"] = len(self.result.series)
            rec["rows"] = len(self.result.rows) + len(self.result.logs) + len(self.result.events)
        rec["hits"] = len(self.sources)
        return rec

    def chart(self) -> list[ChartSeries]:
        if self.result is None or self.planned.purpose not in ("main", "context"):
            return []
        out = []
        # the peak first, then the ranked list the answer states, then any other fact's
        spoken = sorted(self.facts, key=lambda f: (f.name != "peak", f.rank is None,
                                                   f.rank or 0))
        for s in focus_first(self.result.series, [f.labels for f in spoken])[:5]:
            pts = s.points
            if len(pts) > CHART_POINTS:
                stride = len(pts) // CHART_POINTS + 1
                pts = pts[::stride]
            label = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) or s.metric
            out.append(ChartSeries(name=label, unit=self.result.unit, points=pts))
        return out


def focus_first(series: list[Series], focus: list[dict[str, str]]) -> list[Series]:
    """`series` with the ones the facts speak of first (in the facts' order: the peak's,
    then the ranked ones), then the rest as they were, so a chart of the first few shows
    what the answer is about rather than whichever labels sort first."""
    chosen: list[int] = []
    for labels in focus:
        if not labels:
            continue
        for i, s in enumerate(series):
            if i not in chosen and labels.items() <= s.labels.items():
                chosen.append(i)
                break
    return [series[i] for i in chosen] + [s for i, s in enumerate(series) if i not in chosen]


class Executor:
    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, pq: PlannedQuery, und: Understanding) -> Executed:
        q = pq.query
        if isinstance(q, DocQuery):
            return self._docs(pq)
        try:
            conn = self.services.connector_for(q)
        except OpsaError as exc:
            return Executed(planned=pq, connector=self.services.settings.backend, error=str(exc))
        ex = Executed(planned=pq, connector=conn.name)
        try:
            ex.native = conn.native(q)
        except OpsaError as exc:
            ex.error = str(exc)
            return ex
        t0 = time.perf_counter()
        try:
            ex.result = _with_budget(lambda: conn.run(q), self.services.settings.query_timeout_s,
                                     conn.name)
        except OpsaError as exc:
            ex.error = str(exc)
        if ex.result is not None and isinstance(q, LogQuery):
            ex = self._levelless_fallback(ex, q, conn)
        ex.elapsed_ms = (time.perf_counter() - t0) * 1000
        if ex.result is not None:
            ex.native = ex.result.native or ex.native
            index = next((i for i, p in enumerate(und.plan.queries) if p is pq), 0)
            ex.facts = facts_from_result(ex.query, ex.result, index)
        return ex

    def _levelless_fallback(self, ex: Executed, q: LogQuery, conn: Connector) -> Executed:
        """A level filter that matched nothing, over logs that carry no levels at all
        (plain syslog, many app logs), is rerun without it, and the answer says so."""
        res = ex.result
        if q.levels and res is not None:
            return self._levels_said(ex, q, conn)
        if q.level is None or res is None or (res.total or len(res.logs) or len(res.rows)):
            return ex
        share = _unlevelled(q, conn, {})
        if share is None:
            return ex
        unlevelled, total = share
        if not _rerun(ex, q.model_copy(update={"level": None}), conn):
            return ex
        ex.note = (f"{unlevelled:,} of {total:,} matching log lines carry no severity level, "
                   f"so nothing was at level {q.level} or above; showing all matching lines")
        return ex

    def _levels_said(self, ex: Executed, q: LogQuery, conn: Connector) -> Executed:
        """Lines at exactly the levels asked ("how many errors"), over logs where most lines
        carry no level: the lines whose words say that severity are counted instead, and
        the answer says so (a few levelled lines must not pass for all of the errors)."""
        share = _unlevelled(q, conn, {"levels": (), "text": None, "pattern": None,
                                      "extract": None})
        if share is None:
            return ex
        unlevelled, total = share
        said = q.model_copy(update={"levels": (), "level": None,
                                    "pattern": q.pattern or severity_pattern(q.levels)})
        if said.count_by == "level":
            said = said.model_copy(update={"count_by": "template", "top_k": 5})
        if not _rerun(ex, said, conn):
            return ex
        words = " or ".join(SEVERITY_SAID[lv].replace("|", "/") for lv in q.levels)
        ex.note = (f"{unlevelled:,} of {total:,} log lines carry no severity level, so the "
                   f"lines were counted by their words ({words}), not by level")
        if q.pattern is not None:  # the words searched for already say what the lines are
            ex.note = (f"{unlevelled:,} of {total:,} log lines carry no severity level; "
                       "the lines were counted by the words searched for, not by level")
        return ex

    def _docs(self, pq: PlannedQuery) -> Executed:
        assert isinstance(pq.query, DocQuery)
        ex = Executed(planned=pq, connector="chroma", native=f"hybrid search: {pq.query.text!r}")
        retriever = self.services.retriever()
        if retriever is None:
            ex.error = self.services.problems.get("retrieval", "retrieval is not configured")
            return ex
        t0 = time.perf_counter()
        try:
            hits = retriever.search(pq.query.text, collection="docs", k=pq.query.k)
        except OpsaError as exc:
            ex.error = str(exc)
            return ex
        finally:
            ex.elapsed_ms = (time.perf_counter() - t0) * 1000
        for h in hits:
            ex.sources.append(SourceOut(source=h.source, heading=h.heading or "",
                                        score=round(float(h.score), 4), collection=h.collection))
            ex.doc_texts.append(h.text)
        return ex


def _with_budget(fn: Any, budget_s: float, name: str) -> Result:
    """Run `fn` in a worker thread; past `budget_s` give up with `BackendTimeout`."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=work, daemon=True, name=f"query-{name}")
    worker.start()
    worker.join(budget_s)
    if worker.is_alive():
        raise BackendTimeout(f"the {name} backend did not answer within {budget_s:g} s")
    if "error" in box:
        raise box["error"]
    result: Result = box["result"]
    return result


def _rerun(ex: Executed, q: LogQuery, conn: Connector) -> bool:
    """Run `q` in place of `ex`'s query (kept as it was when `q` fails)."""
    try:
        ex.result = conn.run(q)
    except OpsaError:
        return False
    ex.planned = PlannedQuery(q, ex.planned.purpose, ex.planned.why)
    ex.native = ex.result.native
    return True


def _unlevelled(q: LogQuery, conn: Connector, also: dict[str, object]
                ) -> tuple[int, int] | None:
    """(lines without a level, all lines) of `q` without its level filter (and with `also`
    applied), when most of them carry no level; None otherwise or when the probe fails."""
    probe = q.model_copy(update={"level": None, "count_by": "level", "bucket_s": None,
                                 "busiest": None, "aggregate": "count", "top_k": 20, **also})
    try:
        rows = conn.run(probe).rows
    except OpsaError:
        return None
    total = sum(int(r.get("count") or 0) for r in rows)
    unlevelled = sum(int(r.get("count") or 0) for r in rows if r.get("value") is None)
    if not total or unlevelled < total / 2:
        return None
    return unlevelled, total
