"""Metric samples for the demo fleet: node, service, pool, auth and TLS metrics at 15 s.

Everything is computed as whole arrays over the timeline (numpy), host by host. The
incident shapes come from the shared `Script`, so metrics, logs and events agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from assistant.demo.fleet import (
    CPU_MODES,
    GIB,
    HTTP_CODES,
    HTTP_SERVICES,
    LE_BOUNDS,
    LE_LABELS,
    MOUNTPOINTS,
    POOL_SERVICES,
    SERVICES,
    TLS_DOMAINS,
    Host,
    hosts,
)
from assistant.demo.scenarios import Script
from assistant.demo.shapes import (
    LatencyMix,
    accumulate,
    diurnal,
    envelope,
    progress,
    rng_for,
    since,
    smooth_noise,
)

M = 60
H = 3600


@dataclass(frozen=True)
class MetricMeta:
    type: str
    help: str
    unit: str = ""


META: dict[str, MetricMeta] = {
    "node_cpu_seconds_total": MetricMeta("counter", "Seconds the CPUs spent in each mode.",
                                         "seconds"),
    "node_cpu_usage_percent": MetricMeta("gauge", "CPU busy percentage (100 - idle).",
                                         "percent"),
    "node_memory_usage_percent": MetricMeta("gauge", "Memory in use, percent of total.",
                                            "percent"),
    "node_memory_MemAvailable_bytes": MetricMeta("gauge", "Memory available for new work.",
                                                 "bytes"),
    "node_filesystem_usage_percent": MetricMeta("gauge", "Filesystem space used, percent.",
                                                "percent"),
    "node_filesystem_avail_bytes": MetricMeta("gauge", "Filesystem space available.", "bytes"),
    "node_load1": MetricMeta("gauge", "1-minute load average."),
    "node_network_receive_bytes_total": MetricMeta("counter", "Bytes received per device.",
                                                   "bytes"),
    "node_network_transmit_bytes_total": MetricMeta("counter", "Bytes sent per device.",
                                                    "bytes"),
    "http_requests_total": MetricMeta("counter", "HTTP requests served, by status code."),
    "http_request_duration_seconds": MetricMeta("histogram", "HTTP request latency.",
                                                "seconds"),
    "http_request_duration_seconds_bucket": MetricMeta(
        "counter", "HTTP request latency histogram buckets (cumulative, by le).", "seconds"),
    "http_request_duration_seconds_sum": MetricMeta(
        "counter", "Total seconds spent serving HTTP requests.", "seconds"),
    "http_request_duration_seconds_count": MetricMeta(
        "counter", "HTTP requests observed by the latency histogram."),
    "db_pool_connections_in_use": MetricMeta("gauge", "DB pool connections checked out."),
    "db_pool_connections_max": MetricMeta("gauge", "DB pool size limit."),
    "process_resident_memory_bytes": MetricMeta("gauge", "Resident memory of the service.",
                                                "bytes"),
    "auth_login_failures_total": MetricMeta("counter", "Failed logins (SSH and API)."),
    "tls_certificate_expiry_seconds": MetricMeta(
        "gauge", "Seconds until the served TLS certificate expires.", "seconds"),
}


@dataclass
class SeriesData:
    metric: str
    labels: dict[str, str]
    values: np.ndarray


@dataclass
class MetricSet:
    """All generated series on one shared timeline (`ts`, int64 epoch seconds)."""

    ts: np.ndarray
    series: list[SeriesData] = field(default_factory=list)
    onsets: dict[str, int] = field(default_factory=dict)

    def add(self, metric: str, labels: dict[str, str], values: np.ndarray) -> None:
        self.series.append(SeriesData(metric, labels, np.asarray(values, dtype=float)))

    def find(self, metric: str, **labels: str) -> list[SeriesData]:
        return [
            s for s in self.series
            if s.metric == metric and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def one(self, metric: str, **labels: str) -> SeriesData:
        found = self.find(metric, **labels)
        if len(found) != 1:
            raise KeyError(f"{len(found)} series match {metric}{labels}")
        return found[0]

    def __iter__(self) -> Iterator[SeriesData]:
        return iter(self.series)

    @property
    def samples(self) -> int:
        return len(self.series) * len(self.ts)

    def metric_names(self) -> list[str]:
        return sorted({s.metric for s in self.series})


# Per service: peak requests/s (whole service), median latency (s), CPU base and amplitude,
# process RSS (GiB), share of 404s.
_PEAK_RPS = {"checkout": 90.0, "payments": 30.0, "auth": 45.0, "search": 160.0}
_STATIC_RPS = 60.0
_MEDIAN = {"gateway": 0.004, "checkout": 0.075, "payments": 0.11, "auth": 0.022,
           "search": 0.045}
_CPU = {"gateway": (0.08, 0.28), "checkout": (0.10, 0.38), "payments": (0.08, 0.25),
        "auth": (0.04, 0.14), "search": (0.14, 0.36), "postgres": (0.10, 0.34)}
_RSS_GIB = {"gateway": 0.35, "checkout": 3.1, "payments": 2.6, "auth": 0.8, "search": 7.5,
            "postgres": 20.0}
_P404 = {"gateway": 0.03, "checkout": 0.012, "payments": 0.004, "auth": 0.006, "search": 0.02}
_POOL_MAX = {"checkout": 40, "payments": 80}


@dataclass
class _Http:
    """Per-step request counts by code and latency histogram for one host."""

    codes: np.ndarray  # (n, 4) increments for 200, 404, 500, 503
    buckets: np.ndarray  # (n, 12) non-cumulative bucket increments
    lat_sum: np.ndarray  # (n,)
    probs: np.ndarray  # (n, 4) code probabilities (for logs)
    median: np.ndarray  # (n,) median latency (for logs)


@dataclass
class Traffic:
    """What the log generator needs from the metric model (per service, per step)."""

    load: dict[str, np.ndarray] = field(default_factory=dict)  # service -> diurnal load
    probs: dict[str, np.ndarray] = field(default_factory=dict)  # host -> (n, 4)
    median: dict[str, np.ndarray] = field(default_factory=dict)  # host -> (n,)
    rps: dict[str, np.ndarray] = field(default_factory=dict)  # host -> (n,)


class FleetModel:
    """Generates the metric set for one script and seed."""

    def __init__(self, script: Script, seed: int) -> None:
        self.script = script
        self.seed = seed
        self.tl = script.timeline
        self.ts = self.tl.ts
        self.tsf = self.ts.astype(float)
        self.n = len(self.ts)
        self.hosts = hosts()
        self.restarts = script.restarts()
        self.traffic = Traffic()
        w = script.windows
        t = self.tsf
        self.pool = envelope(t, w["db-pool-exhaustion"].start, w["db-pool-exhaustion"].end,
                             150, 90)
        self.cpu = envelope(t, w["cpu-saturation"].start, w["cpu-saturation"].end, 100, 60)
        self.leak = progress(t, w["memory-leak"].start, w["memory-leak"].end)
        self.oom = progress(t, w["memory-leak"].end - 40 * M, w["memory-leak"].end)
        self.disk = progress(t, w["disk-full"].start, w["disk-full"].end)
        self.brute = envelope(t, w["brute-force"].start, w["brute-force"].end, 60, 30)
        new, old = script.deploy("deploy-checkout-v2.14.0"), script.deploy(
            "deploy-checkout-v2.13.4-rollback")
        self.burst = {
            h: envelope(t, new.restarts()[h], old.restarts()[h], 20, 10) for h in new.hosts
        }

    def rng(self, *keys: str) -> np.random.Generator:
        return rng_for(self.seed, "metrics", *keys)

    # ------------------------------------------------------------------ traffic and HTTP

    def _load(self, service: str) -> np.ndarray:
        if service not in self.traffic.load:
            base = diurnal(self.tl.hours())
            noise = smooth_noise(self.rng("load", service), self.n, 40)
            self.traffic.load[service] = base * (1 + 0.06 * noise)
        return self.traffic.load[service]

    def _share(self, h: Host) -> np.ndarray:
        peers = SERVICES[h.service]
        tilt = 1.0 + 0.05 * (peers.index(h.name) - (len(peers) - 1) / 2)
        noise = smooth_noise(self.rng("share", h.name), self.n, 20)
        return tilt * (1 + 0.03 * noise) / len(peers)

    def _warmup(self, host: str, tau_s: float) -> np.ndarray:
        out = np.zeros(self.n)
        for r in self.restarts.get(host, []):
            out += since(self.tsf, r, tau_s)
        return out

    def _app_http(self, h: Host) -> _Http:
        s = h.service
        rng = self.rng("http", h.name)
        rps = _PEAK_RPS[s] * self._load(s) * self._share(h)
        probs = np.zeros((self.n, 4))
        probs[:, 1] = _P404[s]
        probs[:, 2] = 0.0008
        probs[:, 3] = 0.0003
        median = _MEDIAN[s] * (1 + 0.25 * self._load(s)) * (
            1 + 0.05 * smooth_noise(rng, self.n, 30))
        median = median * (1 + 2.0 * self._warmup(h.name, 120))
        fast = np.zeros(self.n)  # fast failures (exceptions) share
        timeout_8s = np.zeros(self.n)
        timeout_30s = np.zeros(self.n)
        if s == "checkout":
            b = self.burst[h.name]
            probs[:, 2] += 0.17 * b * (1 + 0.1 * smooth_noise(rng, self.n, 8))
            fast += probs[:, 2] - 0.0008
            probs[:, 3] += 0.02 * self.pool
            timeout_8s += 0.02 * self.pool
            median = median * (1 + 1.5 * self.pool)
            if h.name == "web-03":
                probs[:, 3] += 0.04 * self.cpu
                median = median * (1 + 7.0 * self.cpu)
        elif s == "payments":
            probs[:, 3] += 0.22 * self.pool * (1 + 0.1 * smooth_noise(rng, self.n, 8))
            timeout_30s += probs[:, 3] - 0.0003
            median = median * (1 + 12.0 * self.pool)
        elif h.name == "search-01":
            # the short HighLatencyP99 flap (alert-HighLatencyP99-search-01)
            flap = next(a for a in self.script.alerts if a.id == "alert-HighLatencyP99-search-01")
            median = median * (1 + 5.0 * envelope(self.tsf, flap.at - 90, flap.resolved or flap.at,
                                                  60, 60))
        elif s == "search" and h.name == "search-02":
            probs[:, 2] += 0.03 * self.oom**2
            fast += 0.03 * self.oom**2
            median = median * (1 + 2.5 * self.leak**2)
        probs[:, 0] = 1.0 - probs[:, 1:].sum(axis=1)
        n = rng.poisson(rps * self.tl.step_s)
        codes = rng.multinomial(n, probs)
        mix = LatencyMix(LE_BOUNDS, self.n)
        main = 1.0 - 0.015 - fast - timeout_8s - timeout_30s
        mix.lognormal(main, median, 0.5)
        mix.lognormal(np.full(self.n, 0.015), median * 5, 0.8)
        mix.lognormal(fast, np.full(self.n, 0.012), 0.35)
        mix.point(timeout_8s, 8.0)
        mix.point(timeout_30s, 30.0)
        buckets, lat_sum = mix.sample(rng, n)
        self.traffic.rps[h.name] = rps
        return _Http(codes, buckets, lat_sum, probs, median)

    def _gateway_http(self, h: Host, apps: dict[str, _Http]) -> _Http:
        rng = self.rng("http", h.name)
        share = self._share(h)
        # The gateway proxies every app request plus static assets: its code mix is the
        # traffic-weighted mix of its upstreams'.
        up_n = sum(x.codes.sum(axis=1).astype(float) for x in apps.values())
        up_codes = sum(x.codes.astype(float) for x in apps.values())
        up_med = sum(x.median * x.codes.sum(axis=1) for x in apps.values()) / np.maximum(up_n, 1)
        static = _STATIC_RPS * self._load("gateway") * self.tl.step_s
        probs = (up_codes + np.outer(static, [1 - _P404["gateway"], _P404["gateway"], 0, 0]))
        probs = probs / probs.sum(axis=1, keepdims=True)
        lam = (up_n + static) * share
        n = rng.poisson(lam)
        codes = rng.multinomial(n, probs)
        up_frac = up_n / (up_n + static)
        median = _MEDIAN["gateway"] * (1 - up_frac) + up_med * up_frac + 0.002
        mix = LatencyMix(LE_BOUNDS, self.n)
        t30 = np.zeros(self.n)
        for name, x in apps.items():
            if name.startswith("pay-"):
                t30 += x.codes[:, 3] / np.maximum(up_n + static, 1)
        fast = np.clip(probs[:, 2] - 0.001, 0, None)
        mix.lognormal(1.0 - 0.015 - fast - t30, median, 0.55)
        mix.lognormal(np.full(self.n, 0.015), median * 5, 0.8)
        mix.lognormal(fast, np.full(self.n, 0.014), 0.35)
        mix.point(t30, 30.0)
        buckets, lat_sum = mix.sample(rng, n)
        self.traffic.rps[h.name] = lam / self.tl.step_s
        return _Http(codes, buckets, lat_sum, probs, median)

    def _emit_http(self, ms: MetricSet, h: Host, x: _Http) -> None:
        rng = self.rng("offset", h.name)
        resets = self.restarts.get(h.name, [])
        uptime = float(rng.uniform(0.3, 3.0))  # window-lengths of counts before the window
        base = {"service": h.service, "host": h.name}
        for k, code in enumerate(HTTP_CODES):
            inc = x.codes[:, k]
            off = np.floor(uptime * inc.sum())
            ms.add("http_requests_total", {**base, "code": code},
                   accumulate(inc, self.ts, resets, off, integer=True))
        cum = np.cumsum(x.buckets, axis=1)
        for k, le in enumerate(LE_LABELS):
            inc = cum[:, k]
            off = np.floor(uptime * inc.sum())
            ms.add("http_request_duration_seconds_bucket", {**base, "le": le},
                   accumulate(inc, self.ts, resets, off, integer=True))
        total = cum[:, -1]
        ms.add("http_request_duration_seconds_count", base,
               accumulate(total, self.ts, resets, np.floor(uptime * total.sum()), integer=True))
        ms.add("http_request_duration_seconds_sum", base,
               np.round(accumulate(x.lat_sum, self.ts, resets, uptime * x.lat_sum.sum(),
                                   integer=False), 6))
        self.traffic.probs[h.name] = x.probs
        self.traffic.median[h.name] = x.median

    # ------------------------------------------------------------------ node metrics

    def _busy(self, h: Host) -> np.ndarray:
        rng = self.rng("cpu", h.name)
        base, amp = _CPU[h.service]
        load = self._load(h.service if h.service in HTTP_SERVICES else "checkout")
        busy = base + amp * load * (1 + 0.08 * smooth_noise(rng, self.n, 25))
        busy = busy + 0.012 * rng.standard_normal(self.n)
        busy = busy + 0.35 * self._warmup(h.name, 45)
        if h.name == "web-03":
            busy = busy * (1 - self.cpu) + self.cpu * (0.972 + 0.01 * rng.standard_normal(self.n))
        if h.name == "search-02":
            busy = busy + 0.30 * self.leak**2
        if h.name == "db-01":
            busy = busy + 0.25 * self.pool
        if h.name == "auth-01":
            busy = busy + 0.15 * self.brute
        return np.clip(busy, 0.01, 0.995)

    def _cpu(self, ms: MetricSet, h: Host) -> np.ndarray:
        busy = self._busy(h)
        io = np.full(self.n, 0.004)
        if h.service == "postgres":
            io = 0.03 + 0.05 * self.disk + 0.04 * self.pool
        busy = np.maximum(busy, io + 0.01)
        system = 0.2 * (busy - io)
        frac = {"user": busy - io - system, "system": system, "iowait": io, "idle": 1 - busy}
        rng = self.rng("cpu-offset", h.name)
        uptime_s = float(rng.uniform(5, 60)) * 86400
        for mode in CPU_MODES:
            inc = frac[mode] * self.tl.step_s * h.cores
            off = float(np.mean(frac[mode])) * uptime_s * h.cores
            ms.add("node_cpu_seconds_total", {"host": h.name, "mode": mode},
                   np.round(accumulate(inc, self.ts, [], off, integer=False), 2))
        ms.add("node_cpu_usage_percent", {"host": h.name}, np.round(100 * busy, 3))
        return busy

    def _load1(self, ms: MetricSet, h: Host, busy: np.ndarray) -> None:
        rng = self.rng("load1", h.name)
        queue = busy * h.cores * (1 + 0.1 * smooth_noise(rng, self.n, 6))
        if h.name == "web-03":
            queue = queue + 2.2 * h.cores * self.cpu
        k = np.exp(-np.arange(16) * self.tl.step_s / 60.0)
        smooth = np.convolve(np.concatenate([np.full(15, queue[0]), queue]), k / k.sum(),
                             mode="valid")[: self.n]
        ms.add("node_load1", {"host": h.name}, np.round(np.clip(smooth, 0, None), 2))

    def _rss(self, h: Host) -> np.ndarray:
        rng = self.rng("rss", h.name)
        rss = _RSS_GIB[h.service] * GIB * (1 + 0.02 * smooth_noise(rng, self.n, 60))
        for r in self.restarts.get(h.name, []):
            after = self.tsf >= r
            warm = 0.55 + 0.45 * (1 - np.exp(-(self.tsf - r) / 1200.0))
            rss = np.where(after, rss * warm, rss)
        if h.name == "search-02":
            rss = rss + 19.5 * GIB * self.leak**1.15 * (1 + 0.01 * rng.standard_normal(self.n))
        return np.round(rss)

    def _memory(self, ms: MetricSet, h: Host, rss: np.ndarray) -> None:
        rng = self.rng("mem", h.name)
        other = (1.2 + 0.15 * smooth_noise(rng, self.n, 80)) * GIB
        used = np.minimum(rss + other, h.mem_bytes * 0.985)
        ms.add("node_memory_usage_percent", {"host": h.name},
               np.round(100 * used / h.mem_bytes, 3))
        ms.add("node_memory_MemAvailable_bytes", {"host": h.name},
               np.round(h.mem_bytes - used))

    def _filesystem(self, ms: MetricSet, h: Host) -> None:
        rng = self.rng("fs", h.name)
        hours_since_midnight = self.tl.hours()
        for mount in MOUNTPOINTS:
            size = h.root_bytes if mount == "/" else h.data_bytes
            if mount == "/":
                pct = rng.uniform(28, 55) + 0.15 * hours_since_midnight
            else:
                pct = rng.uniform(18, 60) + 0.02 * (self.tsf - self.tsf[0]) / H
            pct = pct + 0.004 * smooth_noise(rng, self.n, 10)
            if h.name == "db-01" and mount == "/var/lib/data":
                pct = self._db_data_pct(rng)
            used = np.floor(size * pct / 100 / 4096) * 4096
            labels = {"host": h.name, "mountpoint": mount}
            ms.add("node_filesystem_usage_percent", labels, np.round(100 * used / size, 4))
            ms.add("node_filesystem_avail_bytes", labels, size - used)

    def _db_data_pct(self, rng: np.random.Generator) -> np.ndarray:
        """db-01's data volume: slow growth, then WAL retained by an inactive slot."""
        w = self.script.windows["disk-full"]
        start_pct, end_pct = 63.0, 96.6
        before = start_pct - 0.12 * np.clip(w.start - self.tsf, 0, None) / H
        inside = self.tsf >= w.start
        wal = self._load("checkout") * (1 + 0.3 * np.abs(smooth_noise(rng, self.n, 12)))
        wal = np.where(inside, wal, 0.0)
        growth = np.cumsum(wal)
        growth = growth / growth[-1] * (end_pct - start_pct)
        jitter = 0.006 * rng.standard_normal(self.n)
        return np.where(inside, start_pct + growth + jitter, before + jitter)

    def _network(self, ms: MetricSet, h: Host) -> None:
        rng = self.rng("net", h.name)
        rps = self.traffic.rps.get(h.name, self._load("checkout") * 40.0)
        per_req = {"gateway": (1800, 26000), "postgres": (1500, 9000)}.get(
            h.service, (2200, 7000))
        rx = 20_000 + rps * per_req[0]
        tx = 15_000 + rps * per_req[1]
        if h.name == "auth-01":
            rx = rx + 32 * 1500 * self.brute
            tx = tx + 32 * 900 * self.brute
        for metric, rate in (("node_network_receive_bytes_total", rx),
                             ("node_network_transmit_bytes_total", tx)):
            inc = np.round(rate * self.tl.step_s * (1 + 0.05 * rng.standard_normal(self.n)))
            inc = np.clip(inc, 0, None)
            off = float(rng.uniform(5, 60)) * 86400 * float(rate.mean())
            ms.add(metric, {"host": h.name, "device": "eth0"},
                   accumulate(inc, self.ts, [], np.floor(off), integer=True))

    # ------------------------------------------------------------------ service extras

    def _pool(self, ms: MetricSet, h: Host) -> None:
        rng = self.rng("pool", h.name)
        base = {"service": h.service, "host": h.name}
        mx = np.full(self.n, float(_POOL_MAX[h.service]))
        load = self._load(h.service)
        if h.service == "payments":
            c50 = next(c for c in self.script.changes if c.id == "change-payments-pool-50")
            c80 = next(c for c in self.script.changes if c.id == "change-payments-pool-80")
            mx = np.where((self.tsf >= c50.at) & (self.tsf < c80.at), 50.0, mx)
            normal = 6 + 16 * load * (1 + 0.12 * smooth_noise(rng, self.n, 10))
            normal = normal + rng.normal(0, 1.5, self.n)
            dips = rng.choice([0, 0, 0, 0, 1, 2], self.n)
            cap = 50.0  # the pool size during the incident (cut by change-payments-pool-50)
            used = normal * (1 - self.pool) + (cap - dips) * self.pool
            used = np.where(self.pool >= 0.999, cap - dips, used)
        else:
            normal = 3 + 9 * load * (1 + 0.12 * smooth_noise(rng, self.n, 10))
            used = normal + rng.normal(0, 1.0, self.n)
            if h.name == "web-03":
                used = used + 22 * self.cpu
        used = np.clip(np.round(used), 0, mx)
        ms.add("db_pool_connections_in_use", base, used)
        ms.add("db_pool_connections_max", base, mx)

    def _auth_failures(self, ms: MetricSet, h: Host) -> None:
        rng = self.rng("authfail", h.name)
        rate = 0.04 + 0.2 * self._load("auth")
        if h.name == "auth-01":
            rate = rate + 32 * self.brute * (1 + 0.15 * smooth_noise(rng, self.n, 6))
        inc = rng.poisson(np.clip(rate, 0, None) * self.tl.step_s).astype(float)
        off = np.floor(float(rng.uniform(0.5, 2.0)) * inc.sum())
        ms.add("auth_login_failures_total", {"service": "auth", "host": h.name},
               accumulate(inc, self.ts, self.restarts.get(h.name, []), off, integer=True))

    def _tls(self, ms: MetricSet, h: Host) -> None:
        for domain in TLS_DOMAINS:
            left = self.script.cert_not_after[domain] - self.tsf
            ms.add("tls_certificate_expiry_seconds",
                   {"service": "gateway", "host": h.name, "domain": domain}, left)

    # ------------------------------------------------------------------ all together

    def generate(self) -> MetricSet:
        ms = MetricSet(ts=self.ts)
        apps: dict[str, _Http] = {}
        by_name = {h.name: h for h in self.hosts}
        for h in self.hosts:
            if h.service in HTTP_SERVICES and h.service != "gateway":
                apps[h.name] = self._app_http(h)
        for h in self.hosts:
            if h.service == "gateway":
                self._emit_http(ms, h, self._gateway_http(h, apps))
            elif h.name in apps:
                self._emit_http(ms, by_name[h.name], apps[h.name])
        for h in self.hosts:
            busy = self._cpu(ms, h)
            self._load1(ms, h, busy)
            rss = self._rss(h)
            ms.add("process_resident_memory_bytes", {"service": h.service, "host": h.name}, rss)
            self._memory(ms, h, rss)
            self._filesystem(ms, h)
            self._network(ms, h)
            if h.service in POOL_SERVICES:
                self._pool(ms, h)
            if h.service == "auth":
                self._auth_failures(ms, h)
            if h.service == "gateway":
                self._tls(ms, h)
        self._onsets(ms)
        return ms

    def _onsets(self, ms: MetricSet) -> None:
        w = self.script.windows
        ts = self.ts

        def first(mask: np.ndarray, default: int) -> int:
            idx = np.flatnonzero(mask)
            return int(ts[idx[0]]) if len(idx) else default

        pool = ms.find("db_pool_connections_in_use", service="payments")
        full = np.any([(s.values >= ms.one("db_pool_connections_max", **s.labels).values)
                       for s in pool], axis=0)
        win = (ts >= w["db-pool-exhaustion"].start - 5 * M) & (ts <= w["db-pool-exhaustion"].end)
        ms.onsets["db-pool-exhaustion"] = first(full & win, w["db-pool-exhaustion"].start)
        cpu = ms.one("node_cpu_usage_percent", host="web-03").values
        win = (ts >= w["cpu-saturation"].start - 5 * M) & (ts <= w["cpu-saturation"].end)
        ms.onsets["cpu-saturation"] = first((cpu > 90) & win, w["cpu-saturation"].start)
        ms.onsets["brute-force"] = first(self.brute >= 0.5, w["brute-force"].start)
        first_burst = min(first(b >= 0.5, w["5xx-after-deploy"].start)
                          for b in self.burst.values())
        ms.onsets["5xx-after-deploy"] = first_burst
        for sid in ("memory-leak", "disk-full", "certificate-expiry"):
            ms.onsets[sid] = w[sid].start


def generate_metrics(script: Script, seed: int) -> tuple[MetricSet, Traffic]:
    """All demo series for `script` (deterministic in `seed`), and the traffic model."""
    model = FleetModel(script, seed)
    ms = model.generate()
    return ms, model.traffic
