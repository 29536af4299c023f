"""Prometheus 2.42 range-function semantics in plain Python: the tests' independent oracle.

Only what the tests need: one series' samples in, one value out (None = no result).
Windows are inclusive at both ends, `[t - w, t]`, as in Prometheus 2.x.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

Points = Sequence[tuple[float, float]]

LOOKBACK_S = 300.0


def window(points: Points, t: float, w: float) -> list[tuple[float, float]]:
    return [(ts, v) for ts, v in points if t - w <= ts <= t]


def instant(points: Points, t: float) -> float | None:
    """The last sample in the 5 minute lookback `[t - 5m, t]` (both ends, as Prometheus 2.x;
    3.0 made the start exclusive)."""
    found = window(points, t, LOOKBACK_S)
    return found[-1][1] if found else None


def extrapolated(points: Points, t: float, w: float, counter: bool, rate: bool) -> float | None:
    """`rate` / `increase` (counter=True) and `delta` (counter=False), with extrapolation."""
    s = window(points, t, w)
    if len(s) < 2:
        return None
    result = s[-1][1] - s[0][1]
    if counter:
        for (_, prev), (_, cur) in itertools.pairwise(s):
            if cur < prev:
                result += prev
    start, end = t - w, t
    to_start = s[0][0] - start
    to_end = end - s[-1][0]
    sampled = s[-1][0] - s[0][0]
    avg = sampled / (len(s) - 1)
    if counter and result > 0 and s[0][1] >= 0:
        to_zero = sampled * (s[0][1] / result)
        to_start = min(to_start, to_zero)
    threshold = avg * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else avg / 2
    interval += to_end if to_end < threshold else avg / 2
    result *= interval / sampled
    return result / w if rate else result


def over_time(points: Points, t: float, w: float, fn: str, q: float | None = None) -> float | None:
    vals = [v for _, v in window(points, t, w)]
    if not vals:
        return None
    match fn:
        case "avg_over_time":
            return sum(vals) / len(vals)
        case "min_over_time":
            return min(vals)
        case "max_over_time":
            return max(vals)
        case "sum_over_time":
            return sum(vals)
        case "count_over_time":
            return float(len(vals))
        case "last_over_time":
            return vals[-1]
        case "quantile_over_time":
            assert q is not None
            return quantile(q, vals)
    raise ValueError(fn)


def quantile(q: float, values: Sequence[float]) -> float:
    """PromQL's `quantile`: linear interpolation between closest ranks."""
    vals = sorted(values)
    if not vals:
        return math.nan
    rank = q * (len(vals) - 1)
    lo = max(0, math.floor(rank))
    hi = min(len(vals) - 1, lo + 1)
    weight = rank - math.floor(rank)
    return vals[lo] * (1 - weight) + vals[hi] * weight


def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """PromQL's `histogram_quantile` over {upper bound: cumulative count}."""
    bounds = sorted(buckets)
    if len(bounds) < 2 or bounds[-1] != math.inf:
        return math.nan
    cum = [buckets[b] for b in bounds]
    for i in range(1, len(cum)):  # Prometheus forces monotonicity
        cum[i] = max(cum[i], cum[i - 1])
    total = cum[-1]
    if total == 0:
        return math.nan
    rank = q * total
    b = next(i for i, c in enumerate(cum) if c >= rank)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    lo = 0.0 if b == 0 else bounds[b - 1]
    count = cum[b] - (cum[b - 1] if b > 0 else 0.0)
    rank -= cum[b - 1] if b > 0 else 0.0
    return lo + (bounds[b] - lo) * (rank / count)
