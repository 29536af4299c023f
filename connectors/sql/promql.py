"""The few PromQL steps done in Python after SQL: histogram bucket interpolation and the
aggregation of its per-series output. Ported from Prometheus 2.42 (promql/quantile.go,
promql/engine.go) so results match a real Prometheus."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from assistant.ir import AGG_QUANTILES
from connectors.base import Series


def bucket_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float:
    """Prometheus' bucketQuantile over ``(upper_bound, cumulative_count)`` pairs.

    NaN when there is no ``+Inf`` bucket, fewer than two buckets or no observations.
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged = _prepared(buckets)
    if merged is None:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    # sort.Search over all but the +Inf bucket: the first bucket with count >= rank.
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    bucket_start = 0.0
    bucket_end = merged[b][0]
    count = merged[b][1]
    if b > 0:
        bucket_start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return bucket_start + (bucket_end - bucket_start) * (rank / count)


def _prepared(buckets: Iterable[tuple[float, float]], least: int = 2
              ) -> list[list[float]] | None:
    """Buckets sorted by upper bound, equal bounds merged, counts made monotonic; None
    without a ``+Inf`` bucket or with fewer than `least`."""
    ordered = sorted(buckets, key=lambda b: b[0])
    if not ordered or not math.isinf(ordered[-1][0]) or ordered[-1][0] < 0:
        return None
    # coalesceBuckets: equal upper bounds (e.g. "1" and "1.0") add up.
    merged: list[list[float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    # ensureMonotonic: a cumulative count never decreases (rates of buckets may jitter).
    highest = -math.inf
    for bucket in merged:
        if bucket[1] > highest:
            highest = bucket[1]
        elif bucket[1] < highest:
            bucket[1] = highest
    return merged if len(merged) >= least else None


def bucket_fraction(lower: float, upper: float, buckets: Iterable[tuple[float, float]]
                    ) -> float:
    """Prometheus' classic-histogram ``histogram_fraction``: the estimated share of
    observations between `lower` and `upper`, interpolating linearly inside a bucket (the
    first bucket starts at 0 unless its bound is <= 0, then at -Inf)."""
    merged = _prepared(buckets, least=1)
    if merged is None:
        return math.nan
    count = merged[-1][1]
    if count == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0
    rank = 0.0
    ranks: dict[str, float] = {}
    low_bound = -math.inf if merged[0][0] <= 0 else 0.0
    for i, (up_bound, bucket_count) in enumerate(merged):
        if i > 0:
            low_bound = merged[i - 1][0]
        for name, v in (("lower", lower), ("upper", upper)):
            if name not in ranks and low_bound >= v:
                ranks[name] = rank
        if len(ranks) == 2:
            break
        for name, v in (("lower", lower), ("upper", upper)):
            if name not in ranks and low_bound < v < up_bound:
                ranks[name] = bucket_count if low_bound == -math.inf else (
                    rank + (bucket_count - rank) * (v - low_bound) / (up_bound - low_bound))
        if len(ranks) == 2:
            break
        rank = bucket_count
    low_rank = min(ranks.get("lower", count), count)
    up_rank = min(ranks.get("upper", count), count)
    return (up_rank - low_rank) / count


def parse_le(value: str | None) -> float | None:
    """A bucket's upper bound; None when the `le` label is missing or malformed (skipped,
    as Prometheus does)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def quantile(q: float, values: Sequence[float]) -> float:
    """PromQL's quantile: linear interpolation between the closest ranks."""
    if not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values, key=lambda v: (not math.isnan(v), v))  # NaN first, as Go
    rank = q * (len(ordered) - 1)
    lower = max(0, math.floor(rank))
    upper = min(len(ordered) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def aggregate(
    series: list[Series], aggregation: str, by: tuple[str, ...], k: int | None
) -> list[Series]:
    """Aggregate `series` across series per timestamp, as PromQL's aggregation operators.

    Output labels are the `by` labels (absent ones dropped); topk/bottomk keep the input
    series' labels and pick the k best at each timestamp.
    """
    if aggregation == "none" or not series:
        return series
    metric = series[0].metric
    if aggregation in ("topk", "bottomk"):
        assert k is not None  # guaranteed by the IR validator
        return _topk(series, k, reverse=aggregation == "topk")
    groups: dict[tuple[str, ...], dict[datetime, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for s in series:
        key = tuple(s.labels.get(b, "") for b in by)
        for t, v in s.points:
            groups[key][t].append(v)
    out: list[Series] = []
    for key, by_time in sorted(groups.items()):
        points = [(t, combine(aggregation, vals)) for t, vals in sorted(by_time.items())]
        labels = {b: v for b, v in zip(by, key, strict=True) if v}
        out.append(Series.model_construct(metric=metric, labels=labels, points=points))
    return out


def combine(aggregation: str, values: list[float]) -> float:
    if aggregation == "sum":
        return _fsum(values)
    if aggregation == "avg":
        return _mean(values)
    if aggregation in ("min", "max"):  # NaN only when every value is NaN
        numbers = [v for v in values if not math.isnan(v)]
        if not numbers:
            return math.nan
        return min(numbers) if aggregation == "min" else max(numbers)
    if aggregation == "count":
        return float(len(values))
    if aggregation in ("stddev", "stdvar"):
        m = _mean(values)
        var = _mean([(v - m) ** 2 for v in values])
        return math.sqrt(var) if aggregation == "stddev" else var
    if aggregation in AGG_QUANTILES:
        return quantile(AGG_QUANTILES[aggregation], values)
    raise ValueError(f"unknown aggregation {aggregation!r}")


def _fsum(values: list[float]) -> float:
    """A compensated sum (exact where it does not overflow), Inf and NaN as plain addition."""
    try:
        return math.fsum(values)
    except OverflowError:  # an intermediate sum overflowed: as plain addition does
        return sum(values)
    except ValueError:  # -inf + inf
        return math.nan


def _mean(values: list[float]) -> float:
    """The mean without overflowing where the sum would (as Prometheus' avg)."""
    total = _fsum(values)
    if math.isinf(total) and not any(math.isinf(v) for v in values):
        return _fsum([v * 2.0 ** -64 for v in values]) / len(values) * 2.0 ** 64
    return total / len(values)


def prometheus_order(s: Series) -> list[tuple[str, str]]:
    """Prometheus' series order (labels.Compare over the sorted label pairs, name included):
    the order a PromQL aggregation sees its input in."""
    return sorted([("__name__", s.metric), *s.labels.items()])


def _topk(series: list[Series], k: int, reverse: bool) -> list[Series]:
    """topk (`reverse`) / bottomk per timestamp, replaying Prometheus' heap (engine.go)."""
    ordered = sorted(series, key=prometheus_order)
    by_time: dict[datetime, list[tuple[int, float]]] = defaultdict(list)
    for idx, s in enumerate(ordered):
        for t, v in s.points:
            by_time[t].append((idx, v))
    kept: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for t in sorted(by_time):
        values = dict(by_time[t])
        for idx in heap_select(by_time[t], k, top=reverse):
            kept[idx].append((t, values[idx]))
    return [
        Series.model_construct(
            metric=ordered[i].metric, labels=ordered[i].labels, points=sorted(pts)
        )
        for i, pts in sorted(kept.items())
    ]


def heap_select(items: Sequence[tuple[int, float]], k: int, top: bool) -> list[int]:
    """The ids Prometheus 2.42's topk (`top`) / bottomk keeps from ``(id, value)`` pairs in
    input order.

    A port of its k-element heap (promql/engine.go with Go's container/heap): once full, the
    root (the worst kept value) is popped and the new element pushed when the new value is
    strictly better (or the root is NaN). Which of several equal values survives therefore
    depends on the input order and the heap's shape, exactly as in Prometheus.
    """
    heap: list[tuple[int, float]] = []

    def less(a: int, b: int) -> bool:
        va, vb = heap[a][1], heap[b][1]
        if math.isnan(va):
            return True
        return va < vb if top else va > vb

    def up(j: int) -> None:
        while j > 0:
            i = (j - 1) // 2
            if not less(j, i):
                break
            heap[i], heap[j] = heap[j], heap[i]
            j = i

    def down(i: int, n: int) -> None:
        while True:
            j = 2 * i + 1
            if j >= n:
                break
            if j + 1 < n and less(j + 1, j):
                j += 1
            if not less(j, i):
                break
            heap[i], heap[j] = heap[j], heap[i]
            i = j

    for idx, v in items:
        if len(heap) == k:
            root = heap[0][1]
            if not ((root < v if top else root > v) or math.isnan(root)):
                continue
            if k == 1:  # replaced in place
                heap[0] = (idx, v)
                continue
            last = len(heap) - 1  # heap.Pop: swap the root to the end, restore, drop it
            heap[0], heap[last] = heap[last], heap[0]
            down(0, last)
            heap.pop()
        heap.append((idx, v))  # heap.Push
        up(len(heap) - 1)
    return [idx for idx, _ in heap]
