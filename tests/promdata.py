"""A small deterministic metrics dataset for the Prometheus tests and the differential test.

Two hours at a 15 s scrape, ending at END, with what makes PromQL semantics bite: per-series
scrape offsets (samples never sit on step boundaries), a dropped scrape, counter resets, a
series that goes stale 20 min before the end, and a classic histogram (`_bucket`/`_sum`/
`_count`) with a reset. Values are rounded to 3 decimals so every engine reads the same
numbers from text.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from servers import SeriesData

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = END - timedelta(hours=2)
SCRAPE_S = 15
HOSTS = ("a-01", "b-02", "c-03")
OFFSETS = {"a-01": 0.0, "b-02": 4.2, "c-03": 11.7}
CODES = ("200", "500")
LE = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")
STALE_HOST = "c-03"
STALE_AFTER = END - timedelta(minutes=20)
RESET_AT = {  # host -> times the process restarted (counters start again from 0)
    "b-02": [START + timedelta(minutes=50), START + timedelta(minutes=95)],
    "a-01": [START + timedelta(minutes=101, seconds=7)],
}


def _times(host: str) -> list[float]:
    t0 = START.timestamp() + OFFSETS[host]
    n = int((END - START).total_seconds() // SCRAPE_S)
    out = [t0 + i * SCRAPE_S for i in range(n)]
    out = [t for i, t in enumerate(out) if i != 137]  # one dropped scrape
    if host == STALE_HOST:
        out = [t for t in out if t <= STALE_AFTER.timestamp()]
    return out


def _resets(host: str, t: float) -> int:
    return sum(1 for r in RESET_AT.get(host, []) if t >= r.timestamp())


def dataset(seed: int = 7) -> list[SeriesData]:
    """Every series of the fixture, samples in time order."""
    rng = random.Random(seed)
    out: list[SeriesData] = []
    for host in HOSTS:
        times = _times(host)
        # counter with resets: a per-host request rate with noise
        for code in CODES:
            base = 40.0 if code == "200" else 1.5
            value, epoch = 0.0, 0
            points: list[tuple[float, float]] = []
            for t in times:
                if _resets(host, t) != epoch:
                    epoch, value = _resets(host, t), 0.0
                value += max(0.0, base * SCRAPE_S / 15 * (1 + 0.3 * rng.uniform(-1, 1)))
                points.append((t, round(value, 3)))
            labels = {"service": "api", "host": host, "code": code}
            out.append(("req_total", "counter", labels, points))
        # gauge: a wave plus noise
        phase = HOSTS.index(host)
        gauge = [
            (t, round(50 + 30 * math.sin(t / 1800 + phase) + rng.uniform(-5, 5), 3)) for t in times
        ]
        out.append(("cpu_percent", "gauge", {"host": host}, gauge))
        # histogram: cumulative bucket counters
        counts = [0.0] * len(LE)
        total_sum, epoch = 0.0, 0
        buckets: list[list[tuple[float, float]]] = [[] for _ in LE]
        sums: list[tuple[float, float]] = []
        cnts: list[tuple[float, float]] = []
        slow = 0.35 if host == "b-02" else 0.08
        for t in times:
            if _resets(host, t) != epoch:
                epoch, counts, total_sum = _resets(host, t), [0.0] * len(LE), 0.0
            for _ in range(rng.randint(5, 15)):
                x = rng.expovariate(1 / slow)
                total_sum += x
                for i, le in enumerate(LE):
                    if le == "+Inf" or x <= float(le):
                        counts[i] += 1
            for i in range(len(LE)):
                buckets[i].append((t, counts[i]))
            sums.append((t, round(total_sum, 3)))
            cnts.append((t, counts[-1]))
        for i, le in enumerate(LE):
            labels = {"service": "api", "host": host, "le": le}
            out.append(("latency_seconds_bucket", "histogram", labels, buckets[i]))
        out.append(("latency_seconds_sum", "histogram", {"service": "api", "host": host}, sums))
        out.append(("latency_seconds_count", "histogram", {"service": "api", "host": host}, cnts))
    return out
