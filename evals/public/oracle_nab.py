"""Expected answers for the NAB cases, computed from the raw CSVs with the csv module alone.

A case's `oracle:` mapping names the `series` (its path under `nab/`, as the labels file
keys it: "realTweets/Twitter_volume_AAPL.csv"), an `op` and its parameters. Timestamps are
naive and read as UTC; a time is stated to the minute (seconds dropped: 04:37:53 -> 04:37).

Period (every op but `compare_days`; optional): `date` ("2015-03-03", the UTC day
[00:00, next 00:00)); without it, the whole series.

Ops:

* `max` / `min`: the highest / lowest raw sample and its time; a tie between samples at
  different times raises unless `with_time: false` (then only the value is expected);
* `mean`: the arithmetic mean of the samples;
* `quantile`: `q` (default 0.95) by linear interpolation between the two nearest ranks,
  numpy's default: h = (n - 1) * q, x[floor h] + (h - floor h) * (x[ceil h] - x[floor h]);
  the case raises when the lower or higher rank differs from it by more than the
  tolerance (the answer would then depend on the quantile method);
* `count_above`: the number of samples strictly above `threshold`, and (unless
  `with_time: false`) the total time above in `unit` (minutes, default, or hours), defined
  as count x the series' sampling interval (its most common gap between samples): each
  sample stands for one interval. The case raises when the step-function reading (each
  sample above holds until the next sample, the last one for one interval) differs by more
  than the tolerance, so the two common definitions agree on every case;
* `daily_sum`: the sum of the samples on `date`;
* `anomalies`: the labelled windows of `labels/combined_windows.json` that overlap the
  period (one that starts the day before raises: "on that day" would be ambiguous); the
  count, and the start of the first (`report: first`, default), of each (`report: all`)
  or of none (`report: count`);
* `compare_days`: `agg` (mean or sum) of the samples on day `a` and on day `b`; `report`
  lists which of `a`, `b`, `diff` (a - b, stated as its absolute value) are expected
  (default [a, b]).

Tolerances: integers that every sample involved is (tweet counts, sensor readings) are
exact; anything else rel_tol 0.01. A case with no sample in its period, no sample above
its threshold or no window is "none"; a case whose `none:` disagrees with the data raises.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

REL_TOL = 0.01


@dataclass(frozen=True)
class Series:
    times: tuple[datetime, ...]
    values: tuple[float, ...]
    integral: bool  # every value is written as an integer
    step: timedelta  # the most common gap between consecutive samples


@cache
def load(root: Path, name: str, dedup: bool = False) -> Series:
    """One NAB CSV (`timestamp,value`), sorted by time; `dedup` keeps the last of the rows
    that share a timestamp (four files have one such pair, with different values)."""
    with (root / "nab" / name).open(newline="", encoding="utf-8") as f:
        rows = [(datetime.fromisoformat(r["timestamp"]), r["value"]) for r in csv.DictReader(f)]
    if dedup:
        rows = list(dict(rows).items())
    rows.sort(key=lambda r: r[0])
    times = tuple(t for t, _ in rows)
    gaps = Counter(b - a for a, b in pairwise(times))
    return Series(times, tuple(float(v) for _, v in rows),
                  all(v.lstrip("-").isdigit() for _, v in rows), gaps.most_common(1)[0][0])


@cache
def windows(root: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    raw = json.loads((root / "nab" / "labels" / "combined_windows.json").read_text("utf-8"))
    return {k: [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in v]
            for k, v in raw.items()}


def _day(date: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(date)
    return start, start + timedelta(days=1)


def select(s: Series, o: dict[str, Any]) -> list[tuple[datetime, float]]:
    """The samples in the case's period (its `date`, else the whole series)."""
    pairs = list(zip(s.times, s.values, strict=True))
    if "date" not in o:
        return pairs
    start, end = _day(str(o["date"]))
    return [(t, v) for t, v in pairs if start <= t < end]


def number(x: float, exact: bool) -> dict[str, Any]:
    if exact:
        return {"type": "number", "value": round(x), "abs_tol": 0, "rel_tol": 0.0}
    return {"type": "number", "value": round(x, 6), "abs_tol": 0, "rel_tol": REL_TOL}


def time(t: datetime) -> dict[str, Any]:
    return {"type": "time", "value": t.strftime("%Y-%m-%d %H:%M")}


def _extreme(s: Series, pts: list[tuple[datetime, float]], o: dict[str, Any]) -> list[Any]:
    best = (max if o["op"] == "max" else min)(v for _, v in pts)
    at = [t for t, v in pts if v == best]
    out = [number(best, s.integral)]
    if o.get("with_time", True):
        if len({t.strftime("%Y-%m-%d %H:%M") for t in at}) > 1:
            raise ValueError(f"{o['op']} {best} is reached at {len(at)} times: {at[:3]}")
        out.append(time(at[0]))
    return out


def quantile(xs: list[float], q: float) -> tuple[float, float, float]:
    """(linear interpolation, lower rank, higher rank) of sorted `xs` at `q`."""
    h = (len(xs) - 1) * q
    lo, hi = xs[math.floor(h)], xs[math.ceil(h)]
    return lo + (h - math.floor(h)) * (hi - lo), lo, hi


def _quantile(pts: list[tuple[datetime, float]], o: dict[str, Any]) -> list[Any]:
    q = float(o.get("q", 0.95))
    value, lo, hi = quantile(sorted(v for _, v in pts), q)
    if max(abs(lo - value), abs(hi - value)) > REL_TOL * abs(value):
        raise ValueError(f"p{q * 100:g} depends on the method: {lo} .. {value} .. {hi}")
    return [number(value, False)]


def _above(s: Series, pts: list[tuple[datetime, float]], o: dict[str, Any]) -> list[Any]:
    limit = float(o["threshold"])
    above = [t for t, v in pts if v > limit]
    if not above:
        return []
    out = [number(len(above), True)]
    if not o.get("with_time", True):
        return out
    unit = {"minutes": 60.0, "hours": 3600.0}[o.get("unit", "minutes")]
    total = len(above) * s.step.total_seconds() / unit
    nxt = dict(pairwise(s.times))
    held = sum(((nxt[t] - t) if t in nxt else s.step).total_seconds() for t in above) / unit
    if abs(held - total) > REL_TOL * total:
        raise ValueError(f"time above: {total} by count x step but {held} held")
    out.append(number(total, total == round(total)))
    return out


def _anomalies(name: str, root: Path, o: dict[str, Any]) -> list[Any]:
    found = windows(root)[name]
    if "date" in o:
        start, end = _day(str(o["date"]))
        found = [w for w in found if w[0] < end and w[1] > start]
        if any(a < start for a, _ in found):
            raise ValueError(f"a window overlapping {o['date']} starts the day before")
    if not found:
        return []
    report = o.get("report", "first")
    starts = [a for a, _ in found] if report == "all" else [found[0][0]]
    return [number(len(found), True)] + ([] if report == "count" else [time(t) for t in starts])


def _compare(s: Series, o: dict[str, Any]) -> list[Any]:
    aggs: list[float] = []
    exact = s.integral and o["agg"] == "sum"
    for day in (o["a"], o["b"]):
        vals = [v for _, v in select(s, {"date": day})]
        if not vals:
            return []
        aggs.append(sum(vals) if o["agg"] == "sum" else sum(vals) / len(vals))
    got = {"a": aggs[0], "b": aggs[1], "diff": abs(aggs[0] - aggs[1])}
    return [number(got[k], exact) for k in o.get("report", ["a", "b"])]


def _answer(o: dict[str, Any], root: Path, dedup: bool) -> list[Any]:
    name, op = o["series"], o["op"]
    s = load(root, name, dedup)
    if op == "anomalies":
        return _anomalies(name, root, o)
    if op == "compare_days":
        return _compare(s, o)
    pts = select(s, o)
    if not pts:
        return []
    vals = [v for _, v in pts]
    match op:
        case "max" | "min":
            return _extreme(s, pts, o)
        case "mean":
            return [number(sum(vals) / len(vals), False)]
        case "quantile":
            return _quantile(pts, o)
        case "count_above":
            return _above(s, pts, o)
        case "daily_sum":
            if "date" not in o:
                raise ValueError("daily_sum needs a date")
            return [number(sum(vals), s.integral)]
    raise ValueError(f"unknown op {op!r}")


def _same(a: list[Any], b: list[Any]) -> bool:
    def close(x: dict[str, Any], y: dict[str, Any]) -> bool:
        if x["type"] != "number" or y["type"] != "number":
            return x == y
        return abs(x["value"] - y["value"]) <= max(x["abs_tol"], x["rel_tol"] * abs(x["value"]))

    return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))


def compute(case: dict[str, Any], root: Path) -> dict[str, Any]:
    """One NAB case's expected answer; raises when the case's `none:` disagrees, or when the
    answer changes if the rows sharing a timestamp are collapsed to one."""
    try:
        values = _answer(case["oracle"], root, dedup=False)
        if not _same(values, _answer(case["oracle"], root, dedup=True)):
            raise ValueError("the answer depends on the rows that share a timestamp")
    except (KeyError, ValueError) as e:
        raise ValueError(f"case {case['id']}: {e}") from e
    none = not values
    if none != bool(case.get("none", False)):
        raise ValueError(f"case {case['id']}: none is {case.get('none')} but the data says "
                         f"{none}")
    return {"none": none, "values": values, "phrases": []}
