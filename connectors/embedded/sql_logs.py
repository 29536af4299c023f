"""LogQuery -> DuckDB SQL: newest lines, counts by a field or template, or counts per bucket.

Filters: the time range (both ends inclusive), service, host, minimum level (`level_num`),
`text` (case-insensitive substring, ``%``/``_`` taken literally) and `pattern` (an RE2
regular expression matched anywhere in the message).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from assistant.errors import IRError
from assistant.ir import MAX_POINTS, LogQuery
from connectors.embedded.schema import LEVEL_NUM
from connectors.embedded.sql_common import like_escape, lit, ts_lit

LINE_COLUMNS = ("ts", "service", "host", "level", "message", "template_id", "template", "total")


@dataclass(frozen=True)
class LogPlan:
    """A compiled log query; `bucket_times` are the bucket starts in ``buckets`` mode."""

    sql: str
    mode: Literal["lines", "count_by", "buckets"]
    bucket_times: tuple[datetime, ...] = ()


def where_sql(q: LogQuery) -> str:
    """The WHERE clause shared by every mode."""
    tr = q.time_range
    conds = [f"ts BETWEEN {ts_lit(tr.start)} AND {ts_lit(tr.end)}"]
    if q.service is not None:
        conds.append(f"service = {lit(q.service)}")
    if q.host is not None:
        conds.append(f"host = {lit(q.host)}")
    if q.level is not None:
        conds.append(f"level_num >= {LEVEL_NUM[q.level]}  -- {q.level} or worse")
    if q.text:
        conds.append(f"message ILIKE {lit('%' + like_escape(q.text) + '%')} ESCAPE '\\'")
    if q.pattern:
        conds.append(f"regexp_matches(message, {lit(q.pattern)})")
    return "WHERE " + "\n    AND ".join(conds)


def build_log_sql(q: LogQuery) -> LogPlan:
    if q.bucket_s is not None:
        return _buckets(q, q.bucket_s)
    if q.count_by == "template":
        return LogPlan(_count_by_template(q), "count_by")
    if q.count_by is not None:
        return LogPlan(_count_by_field(q, q.count_by), "count_by")
    return LogPlan(_lines(q), "lines")


def _lines(q: LogQuery) -> str:
    return (
        "WITH m AS (  -- matching lines\n"
        "  SELECT ts, service, host, level, message, template_id, line_hash FROM logs\n"
        f"  {where_sql(q)}\n"
        "),\n"
        "newest AS (SELECT * FROM m ORDER BY ts DESC, line_hash LIMIT "
        f"{q.limit})\n"
        "SELECT n.ts, n.service, n.host, n.level, n.message, n.template_id, t.template,\n"
        "       (SELECT count(*) FROM m) AS total\n"
        "FROM newest n LEFT JOIN log_templates t USING (template_id)\n"
        "ORDER BY n.ts DESC, n.line_hash"
    )


def _count_by_field(q: LogQuery, field: str) -> str:
    return (
        f"WITH g AS (  -- matching lines per {field}\n"
        f"  SELECT {field} AS value, count(*) AS count FROM logs\n"
        f"  {where_sql(q)}\n"
        "  GROUP BY value\n"
        ")\n"
        "SELECT value, count,\n"
        "       (SELECT count(*) FROM g) AS groups, (SELECT sum(count) FROM g) AS lines\n"
        f"FROM g ORDER BY count DESC, value LIMIT {q.top_k}"
    )


def _count_by_template(q: LogQuery) -> str:
    where = where_sql(q)
    return (
        "WITH g AS (  -- matching lines per mined template (ids, IPs, numbers masked)\n"
        "  SELECT template_id, count(*) AS count, min(ts) AS first_ts, max(ts) AS last_ts\n"
        f"  FROM logs\n  {where}\n"
        "  GROUP BY template_id\n"
        "),\n"
        f"top AS (SELECT * FROM g ORDER BY count DESC, template_id LIMIT {q.top_k}),\n"
        "ex AS (  -- the newest matching line of each top template, as an example\n"
        "  SELECT l.template_id, arg_max(l.message, l.line_hash) AS example\n"
        "  FROM logs l JOIN top ON l.template_id IS NOT DISTINCT FROM top.template_id\n"
        "                      AND l.ts = top.last_ts\n"
        f"  {where.replace(chr(10), chr(10) + '  ')}\n"
        "  GROUP BY l.template_id\n"
        ")\n"
        "SELECT coalesce(t.template, ex.example) AS value, top.count, top.template_id,\n"
        "       t.template, ex.example, top.first_ts, top.last_ts,\n"
        "       (SELECT count(*) FROM g) AS groups, (SELECT sum(count) FROM g) AS lines\n"
        "FROM top LEFT JOIN ex USING (template_id) LEFT JOIN log_templates t USING (template_id)\n"
        "ORDER BY top.count DESC, top.template_id"
    )


def _buckets(q: LogQuery, bucket_s: int) -> LogPlan:
    tr = q.time_range
    n = max(1, math.ceil(tr.duration_s / bucket_s))
    if n > MAX_POINTS:
        raise IRError(
            f"bucket_s={bucket_s} over {tr.duration_s:.0f}s gives {n} buckets (more than "
            f"{MAX_POINTS}); use a larger bucket_s"
        )
    t0 = f"epoch_ms({ts_lit(tr.start)})"
    sql = (
        f"WITH b AS (  -- matching lines per {bucket_s}s bucket from the range start\n"
        f"  SELECT least({n - 1}, CAST(floor((epoch_ms(ts) - {t0}) / {bucket_s * 1000})"
        " AS BIGINT)) AS i,\n"
        "         count(*) AS count\n"
        "  FROM logs\n"
        f"  {where_sql(q)}\n"
        "  GROUP BY i\n"
        ")\n"
        f"SELECT r.i, {ts_lit(tr.start)} + to_seconds(r.i * {bucket_s}) AS t,"
        " coalesce(b.count, 0) AS count\n"
        f"FROM range({n}) r(i) LEFT JOIN b USING (i)\n"
        "ORDER BY r.i"
    )
    start = tr.start.astimezone(UTC)
    times = tuple(start + timedelta(seconds=bucket_s * i) for i in range(n))
    return LogPlan(sql, "buckets", times)
