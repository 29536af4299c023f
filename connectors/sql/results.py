"""Rows of a compiled metric query -> result series, the same for every SQL engine.

The SQL returns ``(key..., i, t, value)`` columns (`MetricPlan.columns`); this module turns
them into `Series` (labels from the group-by columns or from the series table), runs the
steps PromQL does after SQL (histogram bucket interpolation, topk/bottomk, aggregations of
per-series quantiles; `connectors.sql.promql`) and sorts the series by labels.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from assistant.ir import MetricQuery
from connectors.base import Series
from connectors.sql.common import to_utc
from connectors.sql.metrics import MetricPlan
from connectors.sql.promql import aggregate, bucket_quantile, parse_le

Columns = dict[str, list[Any]]
LabelLookup = Callable[[Sequence[int]], dict[int, dict[str, str]]]
"""series ids -> their labels (without ``__name__``)."""


def columns_from_rows(plan: MetricPlan, rows: Sequence[Sequence[Any]]) -> Columns:
    """Row tuples in `plan.columns` order as named columns."""
    names = plan.columns
    if not rows:
        return {n: [] for n in names}
    return {n: list(col) for n, col in zip(names, zip(*rows, strict=True), strict=True)}


def metric_series(
    plan: MetricPlan, data: Columns, q: MetricQuery, labels_of: LabelLookup
) -> list[Series]:
    """The query's result series from its SQL output."""
    if plan.histogram:
        series = _histogram_series(plan, data, q, labels_of)
    else:
        series = _plain_series(plan, data, labels_of)
    if plan.python_aggregation:
        series = aggregate(series, plan.python_aggregation, q.by, q.k)
    series.sort(key=lambda s: sorted(s.labels.items()))
    return series


def sample_time(t: Any) -> datetime:
    """A sample time as an engine returns it (naive UTC, aware, or epoch ns) in UTC."""
    if isinstance(t, datetime):
        return to_utc(t)
    return datetime.fromtimestamp(int(t) / 1e9, UTC)


def _row_keys(plan: MetricPlan, data: Columns) -> list[Any]:
    if plan.key == "series":
        return [int(x) for x in data["series_id"]]
    if not plan.by_columns:
        return [()] * len(data["i"])
    return list(zip(*(data[c] for c in plan.by_columns), strict=True))


def _plain_series(plan: MetricPlan, data: Columns, labels_of: LabelLookup) -> list[Series]:
    points: dict[Any, list[tuple[datetime, float]]] = defaultdict(list)
    if plan.raw_samples:  # each sample at its own time
        for key, t, v in zip(_row_keys(plan, data), data["t"], data["value"], strict=True):
            points[key].append((sample_time(t), float(v)))
    else:
        times = plan.times
        for key, i, v in zip(_row_keys(plan, data), data["i"], data["value"], strict=True):
            points[key].append((times[int(i)], float(v)))
    if plan.key == "series":
        labels = labels_of(list(points))
        pairs = [(labels[sid], pts) for sid, pts in points.items()]
    else:
        pairs = [
            ({b: v for b, v in zip(plan.by, key, strict=True) if v}, pts)
            for key, pts in points.items()
        ]
    return [
        Series.model_construct(metric=plan.metric, labels=labels, points=pts)
        for labels, pts in pairs
    ]


def _histogram_series(
    plan: MetricPlan, data: Columns, q: MetricQuery, labels_of: LabelLookup
) -> list[Series]:
    assert q.quantile is not None  # guaranteed by the IR validator
    steps = [int(i) for i in data["i"]]
    values = [float(v) for v in data["value"]]
    # group -> step -> [(upper bound, rate)]
    buckets: dict[tuple[tuple[str, str], ...], dict[int, list[tuple[float, float]]]] = (
        defaultdict(lambda: defaultdict(list))
    )
    if plan.with_le:
        # thousands of rows share a few groups and bounds: build each once
        bounds = {le: parse_le(le) for le in set(data["le"])}
        groups: dict[Any, tuple[tuple[str, str], ...]] = {}
        for key, le, i, v in zip(_row_keys(plan, data), data["le"], steps, values, strict=True):
            bound = bounds[le]
            if bound is not None:
                group = groups.get(key)
                if group is None:
                    group = groups[key] = tuple(
                        (b, x) for b, x in zip(plan.by, key, strict=True) if x
                    )
                buckets[group][i].append((bound, v))
    else:
        ids = [int(x) for x in data["series_id"]]
        labels = labels_of(ids)
        for sid, i, v in zip(ids, steps, values, strict=True):
            bound = parse_le(labels[sid].get("le"))
            if bound is not None:
                group = tuple(sorted((k, x) for k, x in labels[sid].items() if k != "le"))
                buckets[group][i].append((bound, v))
    series: list[Series] = []
    for group, per_step in buckets.items():
        pts = []
        for i in sorted(per_step):
            value = bucket_quantile(q.quantile, per_step[i])
            if not math.isnan(value):
                pts.append((plan.times[i], value))
        if pts:
            series.append(
                Series.model_construct(metric=plan.metric, labels=dict(group), points=pts)
            )
    return series
