"""LogQuery -> SQL (DuckDB or ClickHouse): newest lines, counts by a field or template, or
counts per bucket, over the project's log table or a user's table by column mapping.

Filters: the time range (both ends inclusive), service, host, minimum level, `text`
(case-insensitive substring, ``%``/``_`` taken literally) and `pattern` (an RE2 regular
expression matched anywhere in the message). Lines without a mined template (a user's
table, or lines drain3 left alone) are grouped by their message with IPs, hex ids and
numbers masked.

With ``Extract(kind="field")`` the connector resolves the catalog field to its template's
pattern (`FieldPattern`); lines of other templates are left out. `value_filters` and the
``min``/``max`` aggregates read the extracted value; a numeric comparison reads it as a
number (`number`, the one place that branches on the engine's name).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, assert_never

from assistant.errors import ConfigError, IRError
from assistant.ir import LEVELS, MAX_POINTS, LogQuery, ValueFilter
from assistant.settings import ClickHouseLogTable
from connectors.sql.dialect import Dialect

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LINE_COLUMNS = ("ts", "service", "host", "level", "message", "template_id", "template", "total")

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


@dataclass(frozen=True)
class FieldPattern:
    """A catalog field compiled for SQL: its template and the RE2 pattern whose group 1 is
    its value (`assistant.log_fields.field_regex`)."""

    template_id: int
    regex: str


@dataclass(frozen=True)
class LogColumns:
    """SQL expressions for each logical log field of one table."""

    table: str
    ts: str
    service: str
    host: str
    level: str
    level_num: str
    message: str
    template_id: str | None
    templates_table: str | None
    line_id: str | None
    extract_field: FieldPattern | None = None
    """The catalog field a query's ``Extract(kind="field")`` names, resolved by the
    connector (`SqlConnector.template_field`) for that one query."""

    @classmethod
    def store(cls) -> LogColumns:
        """The project's own layout (`connectors.embedded.schema`), levels pre-numbered."""
        return cls(
            table="logs", ts="ts", service="service", host="host", level="level",
            level_num="level_num", message="message", template_id="template_id",
            templates_table="log_templates", line_id="line_hash",
        )

    @classmethod
    def from_mapping(cls, m: ClickHouseLogTable, d: Dialect) -> LogColumns:
        """A declared column mapping; ``attr:<key>`` reads a key of the attributes map."""

        def name(value: str) -> str:
            return qualified(value, d)

        def col(value: str | None) -> str:
            if value is None:
                return d.null_string()
            if value.startswith("attr:"):
                if m.attributes is None:
                    raise ConfigError(
                        f"column mapping {value!r} needs 'attributes' (a Map column) to be set"
                    )
                return f"nullIf({d.map_value(name(m.attributes), value[5:])}, '')"
            return name(value)

        level = col(m.level)
        return cls(
            table=name(m.table),
            ts=name(m.timestamp),
            service=col(m.service),
            host=col(m.host),
            level=level,
            level_num=_level_case(level, d),
            message=name(m.message),
            template_id=name(m.template_id) if m.template_id else None,
            templates_table=name(m.templates_table)
            if m.template_id and m.templates_table else None,
            line_id=name(m.line_id) if m.line_id else None,
        )

    def normalised(self, d: Dialect) -> str:
        """The message with IPs, hex ids and numbers masked (a template for unmined lines)."""
        expr = self.message
        for pattern, repl in NORMALISE_PATTERNS:
            expr = d.replace_all(expr, pattern, repl)
        return expr


def qualified(value: str, d: Dialect) -> str:
    """A configured table or column name (``name`` or ``db.name``), quoted part by part;
    anything but plain identifiers is refused, so configuration cannot inject SQL."""
    parts = value.split(".")
    if not all(_IDENT.match(p) for p in parts):
        raise ConfigError(
            f"name {value!r} is not a plain identifier (letters, digits, _; db.table for "
            "tables); fix the clickhouse table/column mapping"
        )
    return ".".join(d.ident(p) for p in parts)


def _level_case(level: str, d: Dialect) -> str:
    whens = " ".join(f"WHEN {d.lit(k)} THEN {v}" for k, v in LEVEL_ALIASES.items())
    return f"CASE lower({level}) {whens} ELSE -1 END"


@dataclass(frozen=True)
class LogPlan:
    """A compiled log query; `bucket_times` are the bucket starts in ``buckets`` mode
    (the SQL returns only non-empty buckets, ``(i, count)``)."""

    sql: str
    mode: Literal["lines", "count_by", "distinct", "buckets", "busiest", "stat"]
    bucket_times: tuple[datetime, ...] = ()


def where_sql(q: LogQuery, c: LogColumns, d: Dialect, indent: str = "") -> str:
    """The WHERE clause shared by every mode (`indent` before each continuation line; the
    values are literals, never re-indented: a newline inside one stays as it is)."""
    tr = q.time_range
    conds = [f"{c.ts} BETWEEN {d.ts(tr.start)} AND {d.ts(tr.end)}"]
    if q.service is not None:
        conds.append(f"{c.service} = {d.lit(q.service)}")
    if q.host is not None:
        conds.append(f"{c.host} = {d.lit(q.host)}")
    if q.level is not None:
        conds.append(f"{c.level_num} >= {LEVEL_ALIASES[q.level]}  -- {q.level} or worse")
    if q.levels:
        nums = ", ".join(str(LEVEL_ALIASES[lv]) for lv in sorted(set(q.levels), key=LEVELS.index))
        conds.append(f"{c.level_num} IN ({nums})  -- exactly {', '.join(q.levels)}")
    if q.text:
        conds.append(d.contains_ci(c.message, q.text))
    if q.pattern:
        conds.append(d.search(c.message, q.pattern))
    if q.extract is not None:
        if q.extract.kind == "field":
            conds.append(f"{c.template_id} = {_field_pattern(c).template_id}"
                         f"  -- the lines of the template of {q.extract.key}")
        value = extracted(q, c, d)
        conds.append(f"{value} <> ''  -- lines with a {q.extract.name}")
        conds += [_value_condition(f, value, d) for f in q.value_filters]
    return "WHERE " + f"\n{indent}    AND ".join(conds)


def extracted(q: LogQuery, c: LogColumns, d: Dialect) -> str:
    """The `extract`ed value of each line ('' where absent)."""
    assert q.extract is not None
    if q.extract.kind == "field":
        return d.extract(c.message, _field_pattern(c).regex)
    return d.extract(c.message, q.extract.regex())


def _field_pattern(c: LogColumns) -> FieldPattern:
    if c.extract_field is None or c.template_id is None:
        raise IRError("extract kind='field' needs a log table with mined templates and its "
                      "field catalog (Connector.log_fields); use kind='regex' here")
    return c.extract_field


NUMBER_VALUE = r"^([-+]?\d+(?:\.\d+)?)\s*[A-Za-z%]*$"
"""A value that is a number, alone or with a unit (``12``, ``0.25s``, ``92%``): group 1."""


def number(expr: str, d: Dialect) -> str:
    """`expr` read as a DOUBLE (a unit after the number is dropped); NULL where it is not a
    number (an IP address, a word)."""
    return d.to_number(d.extract(expr, NUMBER_VALUE))


def _value_condition(f: ValueFilter, value: str, d: Dialect) -> str:
    """One `LogQuery.value_filters` condition on the extracted `value` expression."""
    match f.op:
        case "=" | "!=":
            return f"{value} {'=' if f.op == '=' else '<>'} {d.lit(str(f.value))}"
        case "in":
            return f"{value} IN ({', '.join(d.lit(v) for v in f.values)})"
        case "regex":
            return d.search(value, str(f.value))
        case "<" | "<=" | ">" | ">=":
            assert isinstance(f.value, float | int)
            if not math.isfinite(f.value):
                raise IRError(f"value filter {f.op} {f.value}: give a finite number")
            return f"{number(value, d)} {f.op} {float(f.value)!r}"
        case other:
            assert_never(other)


def _field(q: LogQuery, c: LogColumns, d: Dialect) -> str:
    """The SQL expression `count_by` names (templates: the mined id, else the masked text)."""
    match q.count_by:
        case "service":
            return c.service
        case "host":
            return c.host
        case "level":
            return c.level
        case "message":
            return c.message
        case "extracted":
            return extracted(q, c, d)
        case "template":
            return c.template_id if c.template_id is not None else c.normalised(d)
        case None:
            raise IRError("this log query has no count_by field")
        case other:
            assert_never(other)


def build_log_sql(
    q: LogQuery, c: LogColumns, d: Dialect, limit: int | None = None, top_k: int | None = None
) -> LogPlan:
    """The plan for `q`; `limit`/`top_k` override the query's (a connector's row cap)."""
    mode = q.mode()
    if mode == "stat":
        return LogPlan(d.finish(_stat(q, c, d)), "stat")
    if mode == "buckets":
        assert q.bucket_s is not None
        plan = _buckets(q, c, d, q.bucket_s)
        return LogPlan(d.finish(plan.sql), plan.mode, plan.bucket_times)
    if mode == "busiest":
        assert q.busiest is not None
        return LogPlan(d.finish(_busiest(q, c, d, q.busiest, top_k or q.top_k)), "busiest")
    if mode == "distinct":
        return LogPlan(d.finish(_distinct(q, c, d)), "distinct")
    if q.count_by == "template":
        return LogPlan(d.finish(_count_by_template(q, c, d, top_k or q.top_k)), "count_by")
    if q.count_by is not None:
        sql = _count_by_field(q, c, d, q.count_by, _field(q, c, d), top_k or q.top_k)
        return LogPlan(d.finish(sql), "count_by")
    return LogPlan(d.finish(_lines(q, c, d, limit or q.limit)), "lines")


def _lines(q: LogQuery, c: LogColumns, d: Dialect, limit: int) -> str:
    """Matching lines newest (or oldest) first; `value` is the `extract`ed value or NULL."""
    tid = c.template_id or d.null_int()
    way = "DESC" if q.order == "newest" else "ASC"
    tie = "line_id" if c.line_id else "message, host, service"
    out_tie = "n.line_id" + ("" if c.line_id else ", n.message, n.host, n.service")
    value = extracted(q, c, d) if q.extract is not None else d.null_string()
    m = (
        "WITH m AS (  -- matching lines\n"
        f"  SELECT {c.ts} AS ts, {c.service} AS service, {c.host} AS host, {c.level} AS level,\n"
        f"         {c.message} AS message, {tid} AS template_id, {c.line_id or '0'} AS line_id,\n"
        f"         {value} AS value\n"
        f"  FROM {c.table}\n  {where_sql(q, c, d, '  ')}\n"
        "),\n"
        f"{q.order} AS (SELECT * FROM m ORDER BY ts {way}, {tie}"
        f" LIMIT {limit})\n"
    )
    fields = "       (SELECT count(*) FROM m) AS total, n.value\n"
    if c.templates_table is None:
        return (
            m + "SELECT n.ts, n.service, n.host, n.level, n.message, n.template_id,"
            f" {d.null_string()} AS template,\n" + fields +
            f"FROM {q.order} n\nORDER BY n.ts {way}, {out_tie}"
        )
    return (
        m + "SELECT n.ts, n.service, n.host, n.level, n.message, n.template_id, t.template,\n"
        + fields +
        f"FROM {q.order} n LEFT JOIN {c.templates_table} t ON n.template_id = t.template_id\n"
        f"ORDER BY n.ts {way}, {out_tie}"
    )


def _count_by_field(
    q: LogQuery, c: LogColumns, d: Dialect, name: str, field: str, top_k: int
) -> str:
    return (
        "SELECT value, n AS count,\n"
        "       count(*) OVER () AS groups, sum(n) OVER () AS lines  -- before the limit\n"
        f"FROM (  -- matching lines per {name}\n"
        f"  SELECT {field} AS value, count(*) AS n FROM {c.table}\n"
        f"  {where_sql(q, c, d, '  ')}\n"
        "  GROUP BY value\n"
        ") g\n"
        f"ORDER BY count DESC, value\nLIMIT {top_k}"
    )


def _count_by_template(q: LogQuery, c: LogColumns, d: Dialect, top_k: int) -> str:
    """Two passes: count per group and keep the top k, then read an example line only at
    the top groups' newest timestamps (an arg_max over every matching line cost 6x more on
    ClickHouse). Groups are matched NULL-safely: unmined lines form a group of their own."""
    newest = f"({c.ts}, {c.line_id})" if c.line_id else c.ts
    mined = c.template_id is not None
    key = c.template_id if mined else c.normalised(d)
    what = "mined template" if mined else "message with IPs, ids and numbers masked"
    where = where_sql(q, c, d, "  ")
    head = (
        f"WITH k AS (  -- matching lines per {what}\n"
        f"  SELECT {key} AS key, count(*) AS n, min({c.ts}) AS first_ts, max({c.ts}) AS last_ts\n"
        f"  FROM {c.table}\n  {where}\n  GROUP BY key\n"
        "),\n"
        "g AS (  -- the top groups; counts over all groups before the limit\n"
        "  SELECT key, n, first_ts, last_ts,\n"
        "         count(*) OVER () AS groups, sum(n) OVER () AS lines\n"
        f"  FROM k ORDER BY n DESC, key LIMIT {top_k}\n"
        "),\n"
        "e AS (  -- the newest matching line of each top group, as an example\n"
        f"  SELECT {key} AS key, {d.arg_max(c.message, newest)} AS example\n"
        f"  FROM {c.table}\n  {where}\n"
        f"    AND {c.ts} IN (SELECT last_ts FROM g)\n  GROUP BY key\n"
        ")\n"
    )
    joined = "FROM g LEFT JOIN e ON g.key IS NOT DISTINCT FROM e.key"
    tail = "ORDER BY g.n DESC, g.key"
    if not mined:
        return (
            head + f"SELECT g.key AS value, g.n AS count, {d.null_int()} AS template_id,"
            " g.key AS template,\n"
            "       e.example, g.first_ts, g.last_ts, g.groups, g.lines\n"
            f"{joined}\n{tail}"
        )
    if c.templates_table is None:
        return (
            head + "SELECT e.example AS value, g.n AS count, g.key AS template_id,"
            f" {d.null_string()} AS template,\n"
            "       e.example, g.first_ts, g.last_ts, g.groups, g.lines\n"
            f"{joined}\n{tail}"
        )
    return (
        head + "SELECT coalesce(t.template, e.example) AS value, g.n AS count,"
        " g.key AS template_id,\n"
        "       t.template, e.example, g.first_ts, g.last_ts, g.groups, g.lines\n"
        f"{joined}\n"
        f"LEFT JOIN {c.templates_table} t ON g.key = t.template_id\n"
        f"{tail}"
    )


def _buckets(q: LogQuery, c: LogColumns, d: Dialect, bucket_s: int) -> LogPlan:
    tr = q.time_range
    n = max(1, math.ceil(tr.duration_s / bucket_s))
    if n > MAX_POINTS:
        raise IRError(
            f"bucket_s={bucket_s} over {tr.duration_s:.0f}s gives {n} buckets (more than "
            f"{MAX_POINTS}); use a larger bucket_s"
        )
    since = f"{d.epoch_ms(c.ts)} - {d.epoch_ms(d.ts(tr.start))}"
    sql = (
        f"SELECT least({n - 1}, CAST(floor(({since}) / {bucket_s * 1000}) AS BIGINT)) AS i,\n"
        f"       count(*) AS count  -- per {bucket_s}s bucket from the range start;"
        " empty buckets are 0\n"
        f"FROM {c.table}\n{where_sql(q, c, d)}\n"
        "GROUP BY i\nORDER BY i"
    )
    start = tr.start.astimezone(UTC)
    times = tuple(start + timedelta(seconds=bucket_s * i) for i in range(n))
    return LogPlan(sql, "buckets", times)


def _distinct(q: LogQuery, c: LogColumns, d: Dialect) -> str:
    """How many distinct values `count_by` takes over the matching lines, and the lines."""
    return (
        f"SELECT count(DISTINCT {_field(q, c, d)}) AS groups,  -- distinct {q.count_by}\n"
        "       count(*) AS lines\n"
        f"FROM {c.table}\n{where_sql(q, c, d)}"
    )


def _busiest(q: LogQuery, c: LogColumns, d: Dialect, unit: str, top_k: int) -> str:
    """Matching lines per calendar `unit` of the stored (the log's own) clock, most first."""
    return (
        "SELECT t, n AS count,\n"
        "       count(*) OVER () AS groups, sum(n) OVER () AS lines  -- before the limit\n"
        f"FROM (  -- matching lines per {unit}\n"
        f"  SELECT {d.trunc(unit, c.ts)} AS t, count(*) AS n FROM {c.table}\n"
        f"  {where_sql(q, c, d, '  ')}\n"
        "  GROUP BY t\n"
        ") g\n"
        f"ORDER BY count DESC, t\nLIMIT {top_k}"
    )


def _stat(q: LogQuery, c: LogColumns, d: Dialect) -> str:
    """The least or greatest numeric extracted value, the line it came from (ties: the
    oldest, then the smallest or greatest message), how many lines had a number of them."""
    agg = q.aggregate
    epoch = d.epoch_ms("ts")
    if agg == "min":
        pick, key = d.arg_min, f"(v, {epoch}, message)"
    else:
        pick, key = d.arg_max, f"(v, -{epoch}, message)"
    return (
        "WITH m AS (  -- matching lines and their value as a number\n"
        f"  SELECT {c.ts} AS ts, {c.message} AS message, {number(extracted(q, c, d), d)} AS v\n"
        f"  FROM {c.table}\n  {where_sql(q, c, d, '  ')}\n"
        ")\n"
        f"SELECT {agg}(v) AS value, {pick('ts', key)} AS at_ts,\n"
        f"       {pick('message', key)} AS at_message,\n"
        "       count(*) AS numbers, (SELECT count(*) FROM m) AS lines\n"
        "FROM m WHERE v IS NOT NULL"
    )
