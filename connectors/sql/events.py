"""EventQuery -> SQL (DuckDB or ClickHouse): events overlapping the range, newest first.

An event overlaps ``[start, end]`` when it begins by `end` and ends (``end_ts``, or ``ts``
for a point event without an end) at or after `start`. An event without an end whose status
says it is still open (a firing alert, an open incident) lasts until now.
"""

from __future__ import annotations

from assistant.ir import EventQuery
from connectors.sql.dialect import Dialect

OPEN_STATUSES = ("firing", "open", "active", "ongoing", "investigating")

EVENT_COLUMNS = (
    "id", "ts", "end_ts", "kind", "service", "host", "title", "status", "severity", "attrs",
    "total",
)


def build_event_sql(
    q: EventQuery, d: Dialect, table: str = "events", limit: int | None = None
) -> str:
    """`table` is an SQL name (quoted by the caller); `limit` overrides the query's."""
    tr = q.time_range
    open_states = ", ".join(d.lit(s) for s in OPEN_STATUSES)
    conds = [
        f"ts <= {d.ts(tr.end)}",
        f"(coalesce(end_ts, ts) >= {d.ts(tr.start)}\n"
        f"       OR (end_ts IS NULL AND status IN ({open_states})))  -- still open",
    ]
    if q.kinds:
        conds.append(f"kind IN ({', '.join(d.lit(k) for k in q.kinds)})")
    if q.service is not None:
        conds.append(f"service = {d.lit(q.service)}")
    if q.host is not None:
        conds.append(f"host = {d.lit(q.host)}")
    if q.status is not None:
        conds.append(f"status = {d.lit(q.status)}")
    return d.finish(
        f"SELECT {', '.join(EVENT_COLUMNS[:-1])},\n"
        "       count(*) OVER () AS total  -- matching events before the limit\n"
        f"FROM {table}\n"
        "WHERE " + "\n  AND ".join(conds) + "\n"
        f"ORDER BY ts DESC, id\nLIMIT {limit or q.limit}"
    )
