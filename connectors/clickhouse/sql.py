"""IR -> ClickHouse SQL for logs and events, mirroring the embedded DuckDB builders.

Same semantics as `connectors.embedded.sql_logs` / `sql_events`: both ends of the range
inclusive, minimum level, case-insensitive literal `text`, RE2 `pattern` matched anywhere,
newest lines first with a total, counts by a field or template, counts per bucket, and
events overlapping the range. Every statement is a SELECT ending in
``SETTINGS readonly=1, max_execution_time=N``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from assistant.errors import ConfigError, IRError
from assistant.ir import LEVELS, MAX_POINTS, EventQuery, LogQuery
from assistant.settings import ClickHouseLogTable
from connectors.embedded.sql_common import like_escape
from connectors.embedded.sql_events import OPEN_STATUSES

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# level spellings seen in the wild -> the IR's severity number (trace=0 ... fatal=5)
LEVEL_ALIASES: dict[str, int] = {
    **{lv: i for i, lv in enumerate(LEVELS)},
    "warning": 3, "err": 4, "critical": 5, "crit": 5, "panic": 5, "emerg": 5, "alert": 5,
}

# masks for grouping lines without mined templates: IPs (with port), hex ids, numbers
NORMALISE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b", "<*>"),
    (r"\b0[xX][0-9a-fA-F]+\b", "<*>"),
    (r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b", "<*>"),
    (r"\d+", "<*>"),
)


def lit(value: str) -> str:
    """A ClickHouse string literal (backslash and quote escaped)."""
    if "\x00" in value:
        raise IRError(f"a NUL character cannot appear in a query value: {value!r}")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ident(name: str) -> str:
    """A backquoted identifier; ``db.table`` is quoted part by part."""
    parts = name.split(".")
    for p in parts:
        if not _IDENT.match(p):
            raise ConfigError(
                f"ClickHouse name {name!r} is not a plain identifier (letters, digits, _); "
                "fix the clickhouse table/column mapping"
            )
    return ".".join(f"`{p}`" for p in parts)


def ts_lit(dt: datetime) -> str:
    """A UTC DateTime64(6) literal."""
    naive = dt.astimezone(UTC).replace(tzinfo=None)
    return f"toDateTime64('{naive.isoformat(sep=' ', timespec='microseconds')}', 6, 'UTC')"


def settings_clause(timeout_s: float, join_nulls: bool = False) -> str:
    """Read-only and time-limited; `join_nulls`: unmatched LEFT JOIN columns are NULL."""
    extra = ", join_use_nulls=1" if join_nulls else ""
    return f"SETTINGS readonly=1, max_execution_time={max(1, math.ceil(timeout_s))}{extra}"


@dataclass(frozen=True)
class LogColumns:
    """SQL expressions for each logical log field of one mapped table."""

    table: str
    ts: str
    service: str
    host: str
    level: str
    message: str
    template_id: str | None
    templates_table: str | None
    line_id: str | None

    @classmethod
    def from_mapping(cls, m: ClickHouseLogTable) -> LogColumns:
        def col(value: str | None) -> str:
            if value is None:
                return "CAST(NULL AS Nullable(String))"
            if value.startswith("attr:"):
                if m.attributes is None:
                    raise ConfigError(
                        f"column mapping {value!r} needs 'attributes' (a Map column) to be set"
                    )
                return f"nullIf({ident(m.attributes)}[{lit(value[5:])}], '')"
            return ident(value)

        return cls(
            table=ident(m.table),
            ts=ident(m.timestamp),
            service=col(m.service),
            host=col(m.host),
            level=col(m.level),
            message=ident(m.message),
            template_id=ident(m.template_id) if m.template_id else None,
            templates_table=ident(m.templates_table)
            if m.template_id and m.templates_table else None,
            line_id=ident(m.line_id) if m.line_id else None,
        )

    def level_num(self) -> str:
        names = ", ".join(lit(k) for k in LEVEL_ALIASES)
        nums = ", ".join(str(v) for v in LEVEL_ALIASES.values())
        return f"transform(lower({self.level}), [{names}], [{nums}], -1)"

    def normalised(self) -> str:
        expr = self.message
        for pattern, repl in NORMALISE_PATTERNS:
            expr = f"replaceRegexpAll({expr}, {lit(pattern)}, {lit(repl)})"
        return expr


@dataclass(frozen=True)
class LogPlan:
    sql: str
    mode: Literal["lines", "count_by", "buckets"]
    bucket_times: tuple[datetime, ...] = ()


def where_sql(q: LogQuery, c: LogColumns) -> str:
    tr = q.time_range
    conds = [f"{c.ts} BETWEEN {ts_lit(tr.start)} AND {ts_lit(tr.end)}"]
    if q.service is not None:
        conds.append(f"{c.service} = {lit(q.service)}")
    if q.host is not None:
        conds.append(f"{c.host} = {lit(q.host)}")
    if q.level is not None:
        conds.append(f"{c.level_num()} >= {LEVEL_ALIASES[q.level]}  -- {q.level} or worse")
    if q.text:
        conds.append(f"{c.message} ILIKE {lit('%' + like_escape(q.text) + '%')}")
    if q.pattern:
        conds.append(f"match({c.message}, {lit(q.pattern)})")
    return "WHERE " + "\n    AND ".join(conds)


def build_log_sql(q: LogQuery, c: LogColumns, limit: int, top_k: int, timeout_s: float) -> LogPlan:
    """The plan for `q`; `limit`/`top_k` are the query's, already capped by the row limit."""
    tail = "\n" + settings_clause(timeout_s, join_nulls=True)
    if q.bucket_s is not None:
        plan = _buckets(q, c, q.bucket_s)
        return LogPlan(plan.sql + tail, plan.mode, plan.bucket_times)
    if q.count_by == "template":
        return LogPlan(_count_by_template(q, c, top_k) + tail, "count_by")
    if q.count_by is not None:
        field = {"service": c.service, "host": c.host, "level": c.level}[q.count_by]
        return LogPlan(_count_by_field(q, c, field, top_k) + tail, "count_by")
    return LogPlan(_lines(q, c, limit) + tail, "lines")


def _order_newest(c: LogColumns) -> str:
    tie = c.line_id if c.line_id else f"{c.message}, {c.host}, {c.service}"
    return f"{c.ts} DESC, {tie}"


def _lines(q: LogQuery, c: LogColumns, limit: int) -> str:
    where = where_sql(q, c)
    tid = c.template_id or "CAST(NULL AS Nullable(Int64))"
    newest = (
        f"  SELECT {c.ts} AS ts, {c.service} AS service, {c.host} AS host, {c.level} AS level,\n"
        f"         {c.message} AS message, {tid} AS template_id,"
        f" {c.line_id or 'toUInt64(0)'} AS line_id\n"
        f"  FROM {c.table}\n  {where}\n  ORDER BY {_order_newest(c)}\n  LIMIT {limit}\n"
    )
    total = f"(SELECT count() FROM {c.table}\n  {where}\n  )"
    order = "n.ts DESC, n.line_id" + ("" if c.line_id else ", n.message, n.host, n.service")
    if c.templates_table is None:
        return (
            "SELECT n.ts, n.service, n.host, n.level, n.message, n.template_id,"
            " CAST(NULL AS Nullable(String)) AS template,\n"
            f"       {total} AS total\n"
            f"FROM (\n{newest}) AS n\nORDER BY {order}"
        )
    return (
        "SELECT n.ts, n.service, n.host, n.level, n.message, n.template_id, t.template,\n"
        f"       {total} AS total\n"
        f"FROM (\n{newest}) AS n\n"
        f"LEFT JOIN (SELECT template_id, template FROM {c.templates_table}) AS t"
        " ON n.template_id = t.template_id\n"
        f"ORDER BY {order}"
    )


def _count_by_field(q: LogQuery, c: LogColumns, field: str, top_k: int) -> str:
    return (
        "SELECT value, n AS count, count() OVER () AS groups, sum(n) OVER () AS lines\n"
        f"FROM (SELECT {field} AS value, count() AS n FROM {c.table}\n"
        f"  {where_sql(q, c)}\n"
        "  GROUP BY value)\n"
        f"ORDER BY count DESC, value\nLIMIT {top_k}"
    )


def _count_by_template(q: LogQuery, c: LogColumns, top_k: int) -> str:
    where = where_sql(q, c)
    newest = f"({c.ts}, {c.line_id})" if c.line_id else c.ts
    if c.template_id is None:
        key, tid = c.normalised(), "CAST(NULL AS Nullable(Int64))"
    else:
        key, tid = c.template_id, c.template_id
    grouped = (
        f"SELECT {key} AS key, any({tid}) AS tid, count() AS n,\n"
        f"         min({c.ts}) AS first_ts, max({c.ts}) AS last_ts,\n"
        f"         argMax({c.message}, {newest}) AS example,\n"
        "         count() OVER () AS groups, sum(n) OVER () AS lines\n"
        f"  FROM {c.table}\n  {where}\n  GROUP BY key\n"
        f"  ORDER BY n DESC, key\n  LIMIT {top_k}"
    )
    if c.template_id is None:
        return (
            "SELECT key AS value, n AS count, tid AS template_id, key AS template, example,"
            " first_ts, last_ts, groups, lines\n"
            f"FROM (\n  {grouped}\n)\nORDER BY n DESC, key"
        )
    if c.templates_table is None:
        return (
            "SELECT example AS value, n AS count, tid AS template_id,"
            " CAST(NULL AS Nullable(String)) AS template, example, first_ts, last_ts,"
            " groups, lines\n"
            f"FROM (\n  {grouped}\n)\nORDER BY n DESC, tid"
        )
    return (
        "SELECT coalesce(t.template, g.example) AS value, g.n AS count, g.tid AS template_id,\n"
        "       t.template, g.example, g.first_ts, g.last_ts, g.groups, g.lines\n"
        f"FROM (\n  {grouped}\n) AS g\n"
        f"LEFT JOIN (SELECT template_id, template FROM {c.templates_table}) AS t"
        " ON g.tid = t.template_id\n"
        "ORDER BY g.n DESC, g.tid"
    )


def _buckets(q: LogQuery, c: LogColumns, bucket_s: int) -> LogPlan:
    tr = q.time_range
    n = max(1, math.ceil(tr.duration_s / bucket_s))
    if n > MAX_POINTS:
        raise IRError(
            f"bucket_s={bucket_s} over {tr.duration_s:.0f}s gives {n} buckets (more than "
            f"{MAX_POINTS}); use a larger bucket_s"
        )
    t0 = f"toUnixTimestamp64Milli({ts_lit(tr.start)})"
    sql = (
        f"SELECT least({n - 1}, intDiv(toUnixTimestamp64Milli(toDateTime64({c.ts}, 6, 'UTC'))"
        f" - {t0}, {bucket_s * 1000})) AS i,\n"
        "       count() AS count  -- empty buckets are filled with 0 by the connector\n"
        f"FROM {c.table}\n{where_sql(q, c)}\n"
        "GROUP BY i\nORDER BY i"
    )
    start = tr.start.astimezone(UTC)
    times = tuple(start + timedelta(seconds=bucket_s * i) for i in range(n))
    return LogPlan(sql, "buckets", times)


EVENT_COLUMNS = (
    "id", "ts", "end_ts", "kind", "service", "host", "title", "status", "severity", "attrs",
)


def build_event_sql(q: EventQuery, table: str, limit: int, timeout_s: float) -> str:
    tr = q.time_range
    open_states = ", ".join(lit(s) for s in OPEN_STATUSES)
    conds = [
        f"ts <= {ts_lit(tr.end)}",
        f"(coalesce(end_ts, ts) >= {ts_lit(tr.start)}\n"
        f"       OR (end_ts IS NULL AND status IN ({open_states})))  -- still open",
    ]
    if q.kinds:
        conds.append(f"kind IN ({', '.join(lit(k) for k in q.kinds)})")
    if q.service is not None:
        conds.append(f"service = {lit(q.service)}")
    if q.host is not None:
        conds.append(f"host = {lit(q.host)}")
    if q.status is not None:
        conds.append(f"status = {lit(q.status)}")
    return (
        f"SELECT {', '.join(EVENT_COLUMNS)},\n"
        "       count() OVER () AS total  -- matching events before the limit\n"
        f"FROM {ident(table)}\n"
        "WHERE " + "\n  AND ".join(conds) + "\n"
        f"ORDER BY ts DESC, id\nLIMIT {limit}\n{settings_clause(timeout_s)}"
    )
