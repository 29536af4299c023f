"""Time that fits the data: a question with no time covers the data it is about.

"How many fatal messages are in this log?" over a log from 2005 must not count the last
hour of today. When a question names no time, and either says it means the whole data
("in this log", "over the whole series", "전체") or the default recent window holds none of
the data the plan reads, the window becomes the span of that data (its first..last
timestamp, read cheaply from the connector), and the answer says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from assistant.errors import OpsaError
from assistant.ir import EventQuery, LogQuery, MetricQuery, Query, TimeRange
from assistant.timeparse import TimeResolution
from connectors.base import Connector, DataKind, Extent

WHOLE_SPAN = re.compile(
    r"\b(?:in|over|across|throughout|for|from|of)\s+(?:this|the|these|that)\s+"
    r"(?:log|logs|log file|data|dataset|data set|series|time series|file|record|records)\b"
    r"|\b(?:whole|entire|full|complete)\s+(?:log|logs|series|data|dataset|history|period|file|"
    r"time series|record)\b"
    r"|\ball\s+(?:the\s+)?(?:time|data|logs?|history)\b|\bever\b|\bof all time\b"
    r"|전체|이\s*로그|이\s*데이터|이\s*시계열|전\s*기간|모든\s*기간|통틀어|지금까지",
    re.IGNORECASE,
)
"""Words that ask about the whole of the data rather than a recent window."""

KIND_WORDS: dict[DataKind, tuple[str, str]] = {
    "logs": ("the whole log", "로그 전체"),
    "metric": ("the whole series", "시계열 전체"),
    "events": ("all the events", "이벤트 전체"),
}


def asks_whole_span(question: str) -> bool:
    """True when the question says it is about all of the data ("in this log")."""
    return bool(WHOLE_SPAN.search(question))


def query_extent(connector: Connector, query: Query) -> tuple[DataKind, Extent | None]:
    """The data kind a query reads and the first..last timestamp of that data."""
    kind: DataKind
    metric: str | None = None
    if isinstance(query, MetricQuery):
        kind, metric = "metric", query.metric
    elif isinstance(query, LogQuery):
        kind = "logs"
    elif isinstance(query, EventQuery):
        kind = "events"
    else:
        raise TypeError(f"{query.kind} queries read no telemetry")
    try:
        return kind, connector.extent(kind, metric)
    except OpsaError:
        return kind, None  # the store could not say: keep the default window


def union(extents: Iterable[Extent | None]) -> Extent | None:
    """The smallest span holding every known extent."""
    known = [e for e in extents if e is not None]
    if not known:
        return None
    return min(e[0] for e in known), max(e[1] for e in known)


def outside(extent: Extent, window: TimeRange) -> bool:
    """True when the data holds nothing inside `window`."""
    return extent[1] < window.start or extent[0] > window.end


def whole_span(
    time: TimeResolution, extent: Extent, kinds: set[DataKind], language: str
) -> TimeResolution:
    """`time` replaced by the data's span, with a note saying which period was covered."""
    start, last = extent
    end = last + timedelta(seconds=1)  # the last line or sample is inside the window
    tz = time.range.timezone
    tr = TimeRange(start=start, end=end, timezone=tz)
    what = KIND_WORDS[next(iter(kinds))] if len(kinds) == 1 else ("all the data", "데이터 전체")
    span = f"{_fmt(start, tr)} – {_fmt(last, tr)}"
    if language == "ko":
        note = f"기간이 없어 {what[1]}를 조회했습니다({span})"
    else:
        note = f"no time given; used {what[0]}, {span}"
    return time.model_copy(update={"range": tr, "note": note, "assumed": True,
                                   "kind": "data"})


def _fmt(t: datetime, tr: TimeRange) -> str:
    from zoneinfo import ZoneInfo

    return t.astimezone(ZoneInfo(tr.timezone)).strftime("%Y-%m-%d %H:%M")


__all__ = ["asks_whole_span", "outside", "query_extent", "union", "whole_span"]
