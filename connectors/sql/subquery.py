"""PromQL subqueries of a selector (``rate(metric{...}[w:step])``) as SQL.

A subquery replaces a range function's raw samples by the selector's instant value at
every multiple of ``step`` (Unix time, as Prometheus aligns them) inside the window: the
latest raw sample in the lookback before each such time (an ASOF join). The ``sub`` CTE
built here holds those virtual samples, ``(series_id, ts, value)`` with ``ts`` the aligned
time, and the range function then reads it as it reads the samples table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant.ir import LOOKBACK_S
from connectors.sql.dialect import Dialect


def aligned_times(lo: datetime, hi: datetime, step_s: int) -> tuple[datetime, int]:
    """The first multiple of `step_s` (since the epoch) at or after `lo`, and how many
    multiples there are up to `hi`."""
    lo_s = lo.timestamp()
    first = -(-int(lo_s) // step_s) * step_s
    if first < lo_s:
        first += step_s
    last = int(hi.timestamp()) // step_s * step_s
    return datetime.fromtimestamp(first, UTC), max(0, (last - first) // step_s + 1)


def raw_span(lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    """The raw samples a subquery over ``[lo, hi]`` reads (one lookback earlier)."""
    return lo - timedelta(seconds=LOOKBACK_S), hi


def subquery_cte(d: Dialect, samples: str, span: tuple[datetime, datetime], step_s: int,
                 left_open: bool) -> tuple[str, str, str]:
    """The ``sub`` CTE: the selector's value every `step_s` seconds within `span` (reads
    ``sel`` and `samples`)."""
    first, n = aligned_times(*span, step_s)
    lo, hi = raw_span(*span)
    after = ">" if left_open else ">="
    ts = d.add_seconds(d.ts(first), f"k.k * {step_s}")
    body = (
        "SELECT g.series_id AS series_id, g.ts AS ts, r.value AS value\n"
        f"  FROM (SELECT s.series_id AS series_id, {ts} AS ts, {d.epoch_ms(ts)} AS ms\n"
        f"          FROM sel s, {d.range_table(n, 'k', 'k')}) g\n"
        f"  ASOF JOIN (SELECT series_id, value, {d.epoch_ms('ts')} AS ms FROM {samples}\n"
        "             WHERE series_id IN (SELECT series_id FROM sel)\n"
        f"               AND ts >= {d.ts(lo)} AND ts <= {d.ts(hi)}) r\n"
        "    ON g.series_id = r.series_id AND g.ms >= r.ms\n"
        f"  WHERE r.ms {after} g.ms - {LOOKBACK_S * 1000}"
    )
    return ("sub", f"the selector's value every {step_s}s (subquery: latest sample in the "
            f"{LOOKBACK_S}s lookback before each multiple of {step_s}s)", body)
