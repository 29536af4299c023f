"""The window a plan reads: the data's span for a question with no time, half-open
ends for a window the question closed, the last deploy."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from assistant.data_window import asks_whole_span, outside, query_extent, union, whole_span
from assistant.entities import Links
from assistant.errors import OpsaError
from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery, TimeRange
from assistant.planner import Plan, PlannedQuery
from assistant.timeparse import TimeResolution
from connectors.base import Connector, DataKind, Extent

if TYPE_CHECKING:
    from assistant.services import Services



HALF_OPEN = timedelta(microseconds=1)


def half_open(pq: PlannedQuery) -> PlannedQuery:
    """A window the question ended ("between 14:00 and 15:00", "on March 3") is half-open:
    a line or sample at exactly its end belongs to the next window. Stores read `end`
    inclusively, so log and raw-sample queries end one microsecond earlier."""
    q = pq.query
    if not isinstance(q, LogQuery | MetricQuery) or (
            isinstance(q, MetricQuery) and q.function != "samples"):
        return pq
    tr = q.time_range
    if tr.duration_s <= HALF_OPEN.total_seconds():
        return pq
    new_tr = tr.model_copy(update={"end": tr.end - HALF_OPEN})
    return PlannedQuery(q.model_copy(update={"time_range": new_tr}), pq.purpose, pq.why)



def metric_span(services: Services, links: Links) -> Extent | None:
    """The span of the series the question names (its dates fall inside that series)."""
    if not links.metrics:
        return None
    try:
        return services.backend.extent("metric", links.metrics[0].value)
    except OpsaError:
        return None


def data_span(services: Services) -> Extent | None:
    """First..last timestamp of everything the connected stores hold (None: unknown)."""
    seen: dict[int, Connector] = {}
    try:
        for c in (services.backend, services.logs_backend, services.events_backend):
            seen.setdefault(id(c), c)
    except OpsaError:
        return None  # no store configured: questions keep the calendar's years
    kinds: tuple[DataKind, ...] = ("logs", "metric", "events")
    found: list[Extent | None] = []
    for c in seen.values():
        for kind in kinds:
            try:
                found.append(c.extent(kind))
            except OpsaError:
                continue
    return union(found)


def fit_to_data(
    question: str, language: str, time: TimeResolution, plan: Plan, services: Services
) -> TimeResolution | None:
    """The data's span for a question with no time, when it asks about all of the data
    or the default window holds none of what the plan reads; else None."""
    found: list[tuple[DataKind, Extent | None]] = []
    for pq in plan.queries:
        if isinstance(pq.query, DocQuery):
            continue
        try:
            found.append(query_extent(services.connector_for(pq.query), pq.query))
        except OpsaError:
            continue
    extent = union(e for _, e in found)
    if extent is None:
        return None
    if not (asks_whole_span(question) or outside(extent, time.range)):
        return None
    return whole_span(time, extent, {k for k, e in found if e is not None}, language)


def last_deploy(services: Services, now: datetime, tz: str) -> datetime | None:
    q = EventQuery(time_range=TimeRange(start=now - timedelta(days=7), end=now, timezone=tz),
                   kinds=("deploy",), limit=1)
    try:
        res = services.connector_for(q).run(q)
    except OpsaError:
        return None
    return max((e.ts for e in res.events), default=None)

