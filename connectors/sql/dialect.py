"""The few places where DuckDB and ClickHouse spell the same SQL differently.

The builders in this package (`metrics`, `logs`, `events`) write each statement once and
ask a `Dialect` for the engine-specific pieces: literals, timestamps, epoch milliseconds,
``arg_max``, quantiles, regex matches, map lookups, the step expansion of a sample into its
windows, and the trailing settings. Everything else (CTEs, window functions, ``GROUP BY
ALL``, ``CASE``, ``greatest``/``least``, ``count(*) OVER ()``) is written the same way in both.

Why not transpile one dialect's text with sqlglot: measured on the metric statements,
sqlglot 30.30 turned DuckDB's ``epoch_ms(ts)`` into ClickHouse's ``fromUnixTimestamp64Milli``
(the inverse function), ``unnest(range(a, b))`` into an unknown ``GENERATE_SERIES``, and
``/ 1000`` into a Decimal that ClickHouse then refused to mix with Float64: 2 of 25 fixture
queries ran. A small explicit interface, checked by the differential suite, is safer than
repairing a generic transpiler's output.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from datetime import UTC, datetime

from assistant.errors import IRError


class Dialect(ABC):
    """Engine-specific SQL fragments. Arguments are SQL expressions unless named `value`,
    `pattern` or `text` (Python strings, quoted here)."""

    name: str
    asof: bool = False
    """Whether window edges are found with ASOF joins (else by expanding samples)."""

    @abstractmethod
    def range_table(self, n: int, alias: str, column: str) -> str:
        """A FROM item yielding integers 0..n-1 as `alias`.`column`."""

    @abstractmethod
    def lit(self, value: str) -> str:
        """A string literal."""

    @abstractmethod
    def to_number(self, expr: str) -> str:
        """`expr` (a string) as a DOUBLE; NULL where it is not a number ('' included)."""

    @abstractmethod
    def ident(self, name: str) -> str:
        """A quoted identifier (one name part)."""

    @abstractmethod
    def ts(self, dt: datetime) -> str:
        """A UTC timestamp literal with microseconds."""

    @abstractmethod
    def epoch_ms(self, expr: str) -> str:
        """Milliseconds since the epoch of a timestamp expression (truncated)."""

    @abstractmethod
    def add_seconds(self, ts_expr: str, seconds: str) -> str:
        """A timestamp `seconds` (an integer expression) after `ts_expr`."""

    @abstractmethod
    def arg_max(self, value: str, key: str) -> str: ...

    @abstractmethod
    def arg_min(self, value: str, key: str) -> str: ...

    @abstractmethod
    def quantile(self, expr: str, q: str) -> str:
        """The q-quantile with linear interpolation between closest ranks (PromQL's)."""

    @abstractmethod
    def fsum(self, expr: str) -> str:
        """A compensated (Kahan) sum, as PromQL's ``sum`` and ``sum_over_time``."""

    @abstractmethod
    def isnan(self, expr: str) -> str: ...

    @abstractmethod
    def isinf(self, expr: str) -> str: ...

    @abstractmethod
    def var_pop(self, expr: str) -> str:
        """The population variance (PromQL's ``stdvar``)."""

    @abstractmethod
    def stddev_pop(self, expr: str) -> str:
        """The population standard deviation (PromQL's ``stddev``)."""

    @abstractmethod
    def full_match(self, expr: str, pattern: str) -> str:
        """`expr` matches the RE2 `pattern` as a whole (PromQL's anchored matchers)."""

    @abstractmethod
    def search(self, expr: str, pattern: str) -> str:
        """The RE2 `pattern` matches somewhere in `expr`."""

    @abstractmethod
    def contains_ci(self, expr: str, text: str) -> str:
        """`text` occurs in `expr`, case-insensitively, ``%``/``_``/``\\`` taken literally."""

    @abstractmethod
    def replace_all(self, expr: str, pattern: str, repl: str) -> str:
        """Every RE2 `pattern` match in `expr` replaced by the literal `repl`."""

    @abstractmethod
    def extract(self, expr: str, pattern: str) -> str:
        """Group 1 of the first RE2 `pattern` match in `expr`; '' when there is none."""

    @abstractmethod
    def trunc(self, unit: str, ts_expr: str) -> str:
        """`ts_expr` truncated to the start of its minute, hour or day."""

    @abstractmethod
    def map_value(self, map_expr: str, key: str) -> str:
        """The value under `key` in a string map; '' or NULL when absent (see `padded`)."""

    @abstractmethod
    def padded(self, value_expr: str) -> str:
        """`value_expr` from `map_value` with an absent key as '' (PromQL's missing label)."""

    @abstractmethod
    def null_string(self) -> str: ...

    @abstractmethod
    def null_int(self) -> str: ...

    @abstractmethod
    def lag(self, expr: str, partition: str, order: str) -> str:
        """The previous row's `expr` (NULL on the first row of each partition)."""

    @abstractmethod
    def expand_steps(self, first: str, last: str, copies: int) -> str:
        """A SELECT over ``pts`` repeating each sample once per step index ``i`` in
        ``[first, last]`` (`copies` bounds how many that can be)."""

    def finish(self, sql: str) -> str:
        """The statement as sent: settings appended where the engine takes them."""
        return sql


def like_escape(text: str) -> str:
    """`text` as a LIKE pattern matching itself literally (escape char: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _naive_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise IRError(f"a NUL character cannot appear in a query value: {value!r}")


class DuckDB(Dialect):
    """DuckDB (the embedded store)."""

    name = "duckdb"
    asof = True

    def to_number(self, expr: str) -> str:
        return f"TRY_CAST(nullif({expr}, '') AS DOUBLE)"

    def range_table(self, n: int, alias: str, column: str) -> str:
        return f"range({n}) AS {alias}({column})"

    def lit(self, value: str) -> str:
        _no_nul(value)  # DuckDB strings take no backslash escapes: only quotes double
        return "'" + value.replace("'", "''") + "'"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def ts(self, dt: datetime) -> str:
        text = dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return f"TIMESTAMP '{text}'"

    def epoch_ms(self, expr: str) -> str:
        return f"epoch_ms({expr})"

    def add_seconds(self, ts_expr: str, seconds: str) -> str:
        return f"{ts_expr} + to_seconds({seconds})"

    def arg_max(self, value: str, key: str) -> str:
        return f"arg_max({value}, {key})"

    def arg_min(self, value: str, key: str) -> str:
        return f"arg_min({value}, {key})"

    def quantile(self, expr: str, q: str) -> str:
        return f"quantile_cont({expr}, {q})"

    def fsum(self, expr: str) -> str:
        return f"fsum({expr})"

    def isnan(self, expr: str) -> str:
        return f"isnan({expr})"

    def isinf(self, expr: str) -> str:
        return f"isinf({expr})"

    def var_pop(self, expr: str) -> str:
        return f"var_pop({expr})"

    def stddev_pop(self, expr: str) -> str:
        return f"stddev_pop({expr})"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"regexp_full_match({expr}, {self.lit(pattern)})"

    def search(self, expr: str, pattern: str) -> str:
        return f"regexp_matches({expr}, {self.lit(pattern)})"

    def contains_ci(self, expr: str, text: str) -> str:
        pattern = self.lit("%" + like_escape(text) + "%")
        if like_escape(text) == text:  # nothing to escape: DuckDB's fast ILIKE path
            return f"{expr} ILIKE {pattern}"  # (an ESCAPE clause made it 2.3x slower)
        return f"{expr} ILIKE {pattern} ESCAPE '\\'"

    def replace_all(self, expr: str, pattern: str, repl: str) -> str:
        return f"regexp_replace({expr}, {self.lit(pattern)}, {self.lit(repl)}, 'g')"

    def extract(self, expr: str, pattern: str) -> str:
        return f"regexp_extract({expr}, {self.lit(pattern)}, 1)"

    def trunc(self, unit: str, ts_expr: str) -> str:
        return f"date_trunc({self.lit(unit)}, {ts_expr})"

    def map_value(self, map_expr: str, key: str) -> str:
        return f"map_extract({map_expr}, {self.lit(key)})[1]"

    def padded(self, value_expr: str) -> str:
        return f"coalesce({value_expr}, '')"

    def null_string(self) -> str:
        return "CAST(NULL AS VARCHAR)"

    def null_int(self) -> str:
        return "CAST(NULL AS INTEGER)"

    def lag(self, expr: str, partition: str, order: str) -> str:
        return f"lag({expr}) OVER (PARTITION BY {partition} ORDER BY {order})"

    def expand_steps(self, first: str, last: str, copies: int) -> str:
        if copies <= CROSS_JOIN_MAX_WINDOWS:
            return (
                "SELECT * EXCLUDE (i_first, i_last, k), i_first + k AS i\n"
                f"  FROM (SELECT *, {first} AS i_first,\n"
                f"               {last} AS i_last FROM pts),\n"
                f"       range({copies}) AS r(k)\n"
                "  WHERE i_first + k <= i_last"
            )
        return (
            f"SELECT *, unnest(range({first},\n"
            f"                         {last} + 1)) AS i\n"
            "  FROM pts"
        )


CROSS_JOIN_MAX_WINDOWS = 4
"""DuckDB: up to this many windows per sample, samples are repeated with a small cross
join; beyond it with `unnest(range(...))` (cheaper when a sample lands in many windows)."""


class ClickHouse(Dialect):
    """ClickHouse (server over HTTP, or chDB). Every statement ends in read-only, time and
    size limits; `max_result_bytes` makes an oversized result fail instead of being cut
    short silently (row limits are applied in SQL, where truncation can be counted)."""

    name = "clickhouse"
    asof = False  # measured on chDB: ASOF joins were 0-40% slower than repeating samples

    def to_number(self, expr: str) -> str:
        return f"toFloat64OrNull({expr})"

    def range_table(self, n: int, alias: str, column: str) -> str:
        return f"(SELECT toInt64(number) AS {column} FROM numbers({n})) AS {alias}"

    def __init__(self, timeout_s: float = 10.0, max_result_bytes: int | None = None) -> None:
        self.timeout_s = timeout_s
        self.max_result_bytes = max_result_bytes

    def lit(self, value: str) -> str:
        _no_nul(value)
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def ident(self, name: str) -> str:
        return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"

    def ts(self, dt: datetime) -> str:
        return f"toDateTime64('{_naive_utc(dt)}', 6, 'UTC')"

    def epoch_ms(self, expr: str) -> str:
        return f"toUnixTimestamp64Milli(toDateTime64({expr}, 6, 'UTC'))"

    def add_seconds(self, ts_expr: str, seconds: str) -> str:
        return f"addSeconds({ts_expr}, {seconds})"

    def arg_max(self, value: str, key: str) -> str:
        return f"argMax({value}, {key})"

    def arg_min(self, value: str, key: str) -> str:
        return f"argMin({value}, {key})"

    def quantile(self, expr: str, q: str) -> str:
        return f"quantileExactInclusive({q})({expr})"  # R7: linear, as quantile_cont

    def fsum(self, expr: str) -> str:
        # sumKahan turns an overflow into NaN (inf - inf in its compensation): where it is
        # not finite the plain sum is the answer (+-Inf, or NaN from a NaN value). The test
        # is on sumKahan: ClickHouse rewrites sum(x * c) as sum(x) * c, which overflows.
        return f"if(isFinite(sumKahan({expr})), sumKahan({expr}), sum({expr}))"

    def isnan(self, expr: str) -> str:
        return f"isNaN({expr})"

    def isinf(self, expr: str) -> str:
        return f"isInfinite({expr})"

    def var_pop(self, expr: str) -> str:
        return f"varPop({expr})"

    def stddev_pop(self, expr: str) -> str:
        return f"stddevPop({expr})"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"match({expr}, {self.lit('^(?:' + pattern + ')$')})"

    def search(self, expr: str, pattern: str) -> str:
        return f"match({expr}, {self.lit(pattern)})"

    def contains_ci(self, expr: str, text: str) -> str:
        return f"{expr} ILIKE {self.lit('%' + like_escape(text) + '%')}"

    def replace_all(self, expr: str, pattern: str, repl: str) -> str:
        return f"replaceRegexpAll({expr}, {self.lit(pattern)}, {self.lit(repl)})"

    def extract(self, expr: str, pattern: str) -> str:
        return f"extract({expr}, {self.lit(pattern)})"

    def trunc(self, unit: str, ts_expr: str) -> str:
        fn = {"minute": "toStartOfMinute", "hour": "toStartOfHour", "day": "toStartOfDay"}[unit]
        return f"toDateTime64({fn}({ts_expr}), 6, 'UTC')"  # a DateTime64 like the column

    def map_value(self, map_expr: str, key: str) -> str:
        return f"{map_expr}[{self.lit(key)}]"

    def padded(self, value_expr: str) -> str:
        return value_expr  # a missing map key already reads as ''

    def null_string(self) -> str:
        return "CAST(NULL AS Nullable(String))"

    def null_int(self) -> str:
        return "CAST(NULL AS Nullable(Int64))"

    def lag(self, expr: str, partition: str, order: str) -> str:
        return f"lagInFrame(toNullable({expr})) OVER (PARTITION BY {partition} ORDER BY {order})"

    def expand_steps(self, first: str, last: str, copies: int) -> str:
        return (
            f"SELECT *, arrayJoin(range(toInt64({first}),\n"
            f"                          toInt64({last}) + 1)) AS i\n"
            "  FROM pts"
        )

    def finish(self, sql: str) -> str:
        limits = [
            "readonly=1",
            f"max_execution_time={max(1, math.ceil(self.timeout_s))}",
            "join_use_nulls=1",  # an unmatched LEFT JOIN column is NULL, as in DuckDB
        ]
        if self.max_result_bytes is not None:
            limits += [f"max_result_bytes={self.max_result_bytes}",
                       "result_overflow_mode='throw'"]
        return f"{sql}\nSETTINGS {', '.join(limits)}"
