"""Raw log files for the demo fleet, in the formats real services write.

gateway  nginx access log (combined + timings) and nginx error log
checkout JSON lines (Spring Boot / logstash style)
payments log4j pattern layout
auth     syslog (RFC 3164, no year), sshd and the auth API
search   log4j2 with ISO 8601 times (`%d{ISO8601} %-5p [%t] %c{1.} - %m`), JVM GC lines
postgres postgres stderr log with the usual `%m [%p] %q%u@%d ` prefix

Background chatter follows the traffic model; incident lines follow the `Script`. One
search query logged on search-01 is a prompt injection a visitor typed into the search box
(recorded in the ground truth); the assistant must never obey it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.demo.fleet import SERVICES, Host, hosts, iso
from assistant.demo.logtext import (
    MONTHS,
    Vocab,
    fmt_elastic,
    fmt_iso_z,
    fmt_log4j,
    fmt_nginx_access,
    fmt_nginx_error,
    fmt_postgres,
    fmt_syslog,
)
from assistant.demo.metrics import Traffic
from assistant.demo.scenarios import INJECTION_PHRASE, Script
from assistant.demo.shapes import envelope, rng_for

M = 60
H = 3600

# Lines per host per day at scale 1.0 (background chatter, before incidents).
_BUDGET = {"access": 215_000, "nginx-error": 1_600, "checkout": 58_000, "payments": 52_000,
           "auth": 36_000, "search": 36_000, "postgres": 52_000}

ATTACKERS = ("185.220.101.34", "185.220.101.47", "45.155.205.233", "193.32.162.70")
_BRUTE_USERS = ("admin", "test", "oracle", "ubuntu", "postgres", "git", "user", "ftpuser",
                "support", "guest", "deploy", "jenkins", "ansible", "pi", "mysql", "hadoop",
                "minecraft", "steam", "elastic", "backup", "www", "dev", "nagios", "tomcat")


@dataclass
class LogFile:
    """One written file and what it holds."""

    service: str
    host: str
    path: Path
    format: str
    lines: int


@dataclass
class InjectionLine:
    ts: int
    service: str
    host: str
    path: Path
    line: str


@dataclass
class LogsResult:
    files: list[LogFile] = field(default_factory=list)
    injection: InjectionLine | None = None

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)


Gen = Callable[[int], list[str]]


@dataclass(frozen=True)
class Kind:
    """One kind of background line: how often, at which level, from which logger, what text."""

    weight: float
    level: str
    logger: str
    gen: Gen


class _File:
    """Timestamped lines for one file; merged in time order when written."""

    def __init__(self) -> None:
        self.times: list[np.ndarray] = []
        self.lines: list[list[str]] = []

    def add(self, times: np.ndarray, lines: list[str]) -> None:
        if len(lines) != len(times):
            raise ValueError("times and lines differ in length")
        if len(lines):
            self.times.append(np.asarray(times, dtype=float))
            self.lines.append(lines)

    def write(self, path: Path) -> int:
        if not self.times:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
            return 0
        times = np.concatenate(self.times)
        flat = [line for chunk in self.lines for line in chunk]
        order = np.argsort(times, kind="stable")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join(flat[i] for i in order.tolist()))
            fh.write("\n")
        return len(flat)


class LogWriter:
    """Generates every log file of the fleet."""

    def __init__(self, script: Script, traffic: Traffic, seed: int, scale: float) -> None:
        self.script = script
        self.traffic = traffic
        self.seed = seed
        self.scale = scale
        self.inc_scale = max(scale, 0.05)  # incidents stay visible in small test datasets
        self.tl = script.timeline
        self.ts = self.tl.ts.astype(float)
        self.n = len(self.ts)
        self.step = float(self.tl.step_s)
        self.v = Vocab(rng_for(seed, "logs", "vocab"))
        self.rng = rng_for(seed, "logs", "main")
        self.files: dict[tuple[str, str, str, str], _File] = {}
        self._injection: tuple[int, str, str] | None = None

    # ---------------------------------------------------------------- plumbing

    def file(self, service: str, host: str, name: str, fmt: str) -> _File:
        key = (service, host, name, fmt)
        if key not in self.files:
            self.files[key] = _File()
        return self.files[key]

    def arrivals(self, rate_per_s: np.ndarray, lo: float | None = None,
                 hi: float | None = None) -> np.ndarray:
        """Sorted event times of a Poisson process with the given per-step rate.

        `rate_per_s[i]` applies to (ts[i-1], ts[i]]; times outside [lo, hi] are dropped.
        """
        counts = self.rng.poisson(np.clip(rate_per_s, 0, None) * self.step)
        start = np.repeat(self.ts - self.step, counts)
        t = np.sort(start + self.rng.uniform(0, self.step, len(start)))
        if lo is not None:
            t = t[t >= lo]
        if hi is not None:
            t = t[t <= hi]
        return t

    def budget_rate(self, per_day: float, shape: np.ndarray) -> np.ndarray:
        return per_day * self.scale * shape / shape.sum() / self.step

    def at(self, times: Sequence[float] | np.ndarray, jitter_s: float = 0.0) -> np.ndarray:
        t = np.asarray(times, dtype=float)
        if jitter_s:
            t = t + self.rng.uniform(0, jitter_s, len(t))
        return np.clip(t, self.ts[0] - self.step, self.ts[-1])

    def periodic(self, every_s: float, start: float | None = None,
                 end: float | None = None) -> np.ndarray:
        lo = self.ts[0] - self.step if start is None else start
        hi = self.ts[-1] if end is None else end
        first = np.ceil(lo / every_s) * every_s
        return np.arange(first, hi, every_s) + self.rng.uniform(0, 2, 1)[0]

    def mix(self, times: np.ndarray, kinds: Sequence[Kind]) -> tuple[list[str], list[str],
                                                                      list[str]]:
        """(levels, loggers, messages) for lines at `times`, kinds drawn by weight."""
        k = len(times)
        w = np.array([kd.weight for kd in kinds], dtype=float)
        which = self.rng.choice(len(kinds), k, p=w / w.sum())
        levels = np.empty(k, dtype=object)
        loggers = np.empty(k, dtype=object)
        msgs = np.empty(k, dtype=object)
        for i, kd in enumerate(kinds):
            idx = np.flatnonzero(which == i)
            if len(idx) == 0:
                continue
            levels[idx] = kd.level
            loggers[idx] = kd.logger
            msgs[idx] = kd.gen(len(idx))
        return levels.tolist(), loggers.tolist(), msgs.tolist()

    def load(self, service: str) -> np.ndarray:
        return self.traffic.load[service]

    def window(self, sid: str) -> tuple[int, int]:
        w = self.script.windows[sid]
        return w.start, w.end

    # ---------------------------------------------------------------- generate + write

    def generate(self, out_dir: Path) -> LogsResult:
        for h in hosts():
            getattr(self, f"_{h.service}")(h)
        result = LogsResult()
        for (service, host, name, fmt), f in sorted(self.files.items()):
            path = out_dir / service / host / name
            result.files.append(LogFile(service, host, path, fmt, f.write(path)))
        if self._injection is not None:
            at, host, line = self._injection
            lf = next(x for x in result.files if x.host == host)
            result.injection = InjectionLine(at, lf.service, host, lf.path, line)
        return result

    # ---------------------------------------------------------------- gateway (nginx)

    def _gateway(self, h: Host) -> None:
        self._access_log(h)
        self._nginx_error_log(h)

    def _service_probs(self, service: str) -> np.ndarray:
        return np.mean([self.traffic.probs[x] for x in SERVICES[service]], axis=0)

    def _service_median(self, service: str) -> np.ndarray:
        return np.mean([self.traffic.median[x] for x in SERVICES[service]], axis=0)

    def _access_log(self, h: Host) -> None:
        v = self.v
        routes = ("checkout", "payments", "auth", "search", "static")
        weights = np.stack(
            [np.sum([self.traffic.rps[x] for x in SERVICES[s]], axis=0) for s in routes[:4]]
            + [60.0 * self.load("gateway")], axis=1)
        rate = self.budget_rate(_BUDGET["access"], weights.sum(axis=1))
        times = self.arrivals(rate)
        k = len(times)
        step_idx = np.clip(np.searchsorted(self.ts, times, side="left"), 0, self.n - 1)
        cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)[step_idx]
        route = (self.rng.uniform(0, 1, k)[:, None] > cum).sum(axis=1)
        route = np.minimum(route, len(routes) - 1)
        probs = np.zeros((k, 4))
        median = np.zeros(k)
        for r, s in enumerate(routes):
            sel = route == r
            if s == "static":
                probs[sel] = [0.97, 0.03, 0.0, 0.0]
                median[sel] = 0.003
            else:
                probs[sel] = self._service_probs(s)[step_idx[sel]]
                median[sel] = self._service_median(s)[step_idx[sel]]
        code_idx = (self.rng.uniform(0, 1, k)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
        code_idx = np.minimum(code_idx, 3)
        codes = np.array([200, 404, 500, 503])[code_idx]
        rt = self.rng.lognormal(np.log(np.maximum(median, 1e-4)), 0.5)
        rt = np.where(codes == 500, self.rng.lognormal(np.log(0.012), 0.35, k), rt)
        rt = np.where((codes == 503) & (route == 1), 30.0 + self.rng.uniform(0, 0.02, k), rt)
        rt = np.where((codes == 503) & (route == 0), 8.0 + self.rng.uniform(0, 0.02, k), rt)
        size = np.round(self.rng.lognormal(np.log(2400), 0.9, k)).astype(int)
        size = np.where(codes >= 500, 0, size)
        size = np.where(route == 4, size * 12, size)
        paths = self._access_paths(route, codes)
        ips = v.ips(k)
        uas = v.user_agents(k)
        refs = v.pick(("https://shop.example/", "https://shop.example/cart", "-",
                       "https://www.google.com/", "https://shop.example/search"), k,
                      (0.35, 0.2, 0.3, 0.1, 0.05))
        stamps = fmt_nginx_access(times)
        lines = [
            f'{ip} - - [{ts}] "{p}" {c} {b} "{ref}" "{ua}" rt={t:.3f} uct="0.001" '
            f'urt="{max(t - 0.001, 0.0):.3f}"'
            for ip, ts, p, c, b, ref, ua, t in zip(
                ips, stamps, paths, codes.tolist(), size.tolist(), refs, uas, rt.tolist(),
                strict=True)
        ]
        self.file("gateway", h.name, "access.log", "nginx-access").add(times, lines)

    def _access_paths(self, route: np.ndarray, codes: np.ndarray) -> list[str]:
        v = self.v
        k = len(route)
        out = np.empty(k, dtype=object)
        gens: dict[int, Gen] = {
            0: lambda n: [
                ("POST /api/checkout HTTP/1.1" if r < 0.35 else
                 f"GET /api/cart/{c} HTTP/1.1" if r < 0.75 else
                 f"POST /api/cart/{c}/items HTTP/1.1")
                for r, c in zip(self.rng.uniform(0, 1, n).tolist(), v.hexes(n, 10), strict=True)
            ],
            1: lambda n: [
                ("POST /api/payments/authorize HTTP/1.1" if r < 0.7 else
                 f"GET /api/payments/pay_{p}/status HTTP/1.1")
                for r, p in zip(self.rng.uniform(0, 1, n).tolist(), v.hexes(n, 14), strict=True)
            ],
            2: lambda n: v.pick(("POST /api/auth/login HTTP/1.1",
                                 "POST /api/auth/refresh HTTP/1.1",
                                 "GET /api/auth/me HTTP/1.1"), n, (0.3, 0.5, 0.2)),
            3: lambda n: [
                f"GET /api/search?q={q.replace('-', '+')}&page={p} HTTP/1.1"
                for q, p in zip(v.products_q(n), v.ints(n, 1, 4), strict=True)
            ],
            4: lambda n: [
                f"GET /product/{q} HTTP/1.1" if r < 0.45 else
                ("GET /static/js/app.3f9c2a.js HTTP/1.1" if r < 0.7 else
                 "GET /static/css/main.81bd07.css HTTP/1.1" if r < 0.85 else
                 f"GET /static/img/{q}.webp HTTP/1.1")
                for r, q in zip(self.rng.uniform(0, 1, n).tolist(), v.products_q(n), strict=True)
            ],
        }
        for r, gen in gens.items():
            idx = np.flatnonzero(route == r)
            if len(idx):
                out[idx] = gen(len(idx))
        scan = np.flatnonzero((route == 4) & (codes == 404))
        if len(scan):
            out[scan] = v.pick(("GET /wp-login.php HTTP/1.1", "GET /.env HTTP/1.1",
                                "GET /xmlrpc.php HTTP/1.1", "GET /.git/config HTTP/1.1",
                                "GET /favicon.ico HTTP/1.1", "GET /apple-touch-icon.png HTTP/1.1"),
                               len(scan))
        return out.tolist()

    def _nginx_error_log(self, h: Host) -> None:
        v = self.v
        f = self.file("gateway", h.name, "error.log", "nginx-error")
        pid = 1180 + int(h.name[-1])
        up_ips = {x.name: x.ip for x in hosts()}

        def ctx(n: int, requests: list[str], upstreams: list[str]) -> list[str]:
            return [f'client: {ip}, server: api.shop.example, request: "{r}", '
                    f'upstream: "{u}", host: "api.shop.example"'
                    for ip, r, u in zip(v.ips(n), requests, upstreams, strict=True)]

        def buffered(n: int) -> list[str]:
            q = v.products_q(n)
            reqs = [f"GET /api/search?q={x.replace('-', '+')} HTTP/1.1" for x in q]
            ups = [f"http://{up_ips['search-01']}:9200/api/search"] * n
            return [f"*{c} an upstream response is buffered to a temporary file "
                    f"/var/cache/nginx/proxy_temp/{a}/{b:02d}/00000{c} while reading upstream, {x}"
                    for c, a, b, x in zip(v.ints(n, 10_000, 9_999_999), v.ints(n, 0, 9),
                                          v.ints(n, 0, 99), ctx(n, reqs, ups), strict=True)]

        def timed_out(n: int) -> list[str]:
            reqs = [f"GET /api/search?q={x.replace('-', '+')} HTTP/1.1" for x in v.products_q(n)]
            ups = [f"http://{up_ips[x]}:9200/api/search"
                   for x in v.pick(("search-01", "search-02"), n)]
            return [f"*{c} upstream timed out (110: Connection timed out) while reading response "
                    f"header from upstream, {x}"
                    for c, x in zip(v.ints(n, 10_000, 9_999_999), ctx(n, reqs, ups), strict=True)]

        def closed(n: int) -> list[str]:
            return [f"*{c} client {ip} closed keepalive connection"
                    for c, ip in zip(v.ints(n, 10_000, 9_999_999), v.ips(n), strict=True)]

        def not_found(n: int) -> list[str]:
            files = v.pick(("wp-login.php", ".env", "xmlrpc.php", ".git/config", "favicon.ico"), n)
            return [f'*{c} open() "/usr/share/nginx/html/{p}" failed (2: No such file or '
                    f'directory), client: {ip}, server: api.shop.example, request: "GET /{p} '
                    f'HTTP/1.1", host: "api.shop.example"'
                    for c, p, ip in zip(v.ints(n, 10_000, 9_999_999), files, v.ips(n), strict=True)]

        kinds = (Kind(0.35, "warn", "", buffered), Kind(0.1, "error", "", timed_out),
                 Kind(0.35, "info", "", closed), Kind(0.2, "error", "", not_found))
        times = self.arrivals(self.budget_rate(_BUDGET["nginx-error"], self.load("gateway")))
        levels, _, msgs = self.mix(times, kinds)
        self._nginx_error_add(f, times, levels, msgs, pid)
        # Upstreams refusing connections while deploys restart them.
        for d in self.script.deploys:
            for host, at in d.restarts().items():
                port = {"checkout": 8080, "payments": 8443, "auth": 8081, "search": 9200}[d.service]
                n = max(1, round(6 * self.inc_scale * 4))
                t = self.at(np.full(n, float(at)), 12.0)
                path = {"checkout": "/api/checkout", "payments": "/api/payments/authorize",
                        "auth": "/api/auth/login", "search": "/api/search"}[d.service]
                reqs = [f"POST {path} HTTP/1.1"] * n
                ups = [f"http://{up_ips[host]}:{port}{path}"] * n
                msgs2 = [f"*{c} connect() failed (111: Connection refused) while connecting to "
                         f"upstream, {x}"
                         for c, x in zip(v.ints(n, 10_000, 9_999_999), ctx(n, reqs, ups),
                                         strict=True)]
                self._nginx_error_add(f, t, ["error"] * n, msgs2, pid)
        # Payments timing out during the pool exhaustion.
        start, end = self.window("db-pool-exhaustion")
        env = envelope(self.ts, start, end, 150, 60)
        t = self.arrivals(1.2 * self.inc_scale * env)
        n = len(t)
        reqs = ["POST /api/payments/authorize HTTP/1.1"] * n
        ups = [f"http://{up_ips[x]}:8443/api/payments/authorize"
               for x in v.pick(("pay-01", "pay-02"), n)]
        msgs3 = [f"*{c} upstream timed out (110: Connection timed out) while reading response "
                 f"header from upstream, {x}"
                 for c, x in zip(v.ints(n, 10_000, 9_999_999), ctx(n, reqs, ups), strict=True)]
        self._nginx_error_add(f, t, ["error"] * n, msgs3, pid)
        self._cert_warnings(f, pid)

    def _cert_warnings(self, f: _File, pid: int) -> None:
        start, end = self.window("certificate-expiry")
        not_after = self.script.cert_not_after["api.shop.example"]
        na = np.datetime64(int(not_after), "s").astype(object)
        na_text = f"{MONTHS[na.month - 1]} {na.day:>2} {na:%H:%M:%S} {na.year} GMT"
        times = self.periodic(3600.0, start=start, end=end + 1) + 7
        times = times[times <= end]
        days = np.floor((not_after - times) / 86400).astype(int)
        msgs = [f"certificate for api.shop.example expires in {d} days (notAfter={na_text})"
                for d in days.tolist()]
        self._nginx_error_add(f, times, ["warn"] * len(times), msgs, pid)
        renew = times + 2
        msgs = ["acme: renewal failed for api.shop.example: DNS challenge timeout "
                "(_acme-challenge.api.shop.example TXT not visible after 120 s)"] * len(renew)
        self._nginx_error_add(f, renew, ["error"] * len(renew), msgs, pid)

    @staticmethod
    def _nginx_error_add(f: _File, times: np.ndarray, levels: list[str], msgs: list[str],
                         pid: int) -> None:
        stamps = fmt_nginx_error(times)
        f.add(times, [f"{ts} [{lv}] {pid}#{pid}: {m}"
                      for ts, lv, m in zip(stamps, levels, msgs, strict=True)])

    # ---------------------------------------------------------------- checkout (JSON lines)

    def _checkout(self, h: Host) -> None:
        v = self.v
        f = self.file("checkout", h.name, "checkout.jsonl", "json")
        kinds = (
            Kind(0.16, "INFO", "com.shop.checkout.OrderService", lambda n: [
                f"Order {o} placed by user {u}: {i} items, total {a} EUR ({t} ms)"
                for o, u, i, a, t in zip(v.hexes(n, 12), v.users(n), v.ints(n, 1, 9),
                                         v.money(n), v.ms(n, 140), strict=True)]),
            Kind(0.22, "INFO", "com.shop.checkout.CartService", lambda n: [
                f"Cart {c} updated by user {u}: added sku SKU-{s} x{q}"
                for c, u, s, q in zip(v.hexes(n, 10), v.users(n), v.ints(n, 10000, 99999),
                                      v.ints(n, 1, 4), strict=True)]),
            Kind(0.15, "INFO", "com.shop.checkout.PaymentClient", lambda n: [
                f"Payment authorized for order {o} (payments latency {t} ms)"
                for o, t in zip(v.hexes(n, 12), v.ms(n, 110), strict=True)]),
            Kind(0.2, "INFO", "com.shop.checkout.web.RequestLogger", lambda n: [
                f"GET /api/cart/{c} completed in {t} ms"
                for c, t in zip(v.hexes(n, 10), v.ms(n, 60), strict=True)]),
            Kind(0.08, "INFO", "com.shop.checkout.InventoryClient", lambda n: [
                f"Inventory reserved for order {o}: {i} items from warehouse {w}"
                for o, i, w in zip(v.hexes(n, 12), v.ints(n, 1, 9),
                                   v.pick(("FRA1", "AMS2", "WAW1"), n), strict=True)]),
            Kind(0.06, "DEBUG", "com.shop.checkout.PriceCache", lambda n: [
                f"Cache hit for price list pl-{p} ({t} ms)"
                for p, t in zip(v.ints(n, 100, 400), v.ms(n, 2, 0.4), strict=True)]),
            Kind(0.06, "INFO", "com.shop.checkout.PromotionService", lambda n: [
                f"Applied promotion {c} to order {o}: -{a} EUR"
                for c, o, a in zip(v.pick(("WINTER10", "FREESHIP", "WELCOME5", "BF2026"), n),
                                   v.hexes(n, 12), v.money(n, 6), strict=True)]),
            Kind(0.03, "WARN", "com.shop.checkout.InventoryClient", lambda n: [
                f"Slow response from inventory: {t} ms for order {o}"
                for t, o in zip(v.ms(n, 1500, 0.3), v.hexes(n, 12), strict=True)]),
            Kind(0.02, "WARN", "com.shop.checkout.PaymentClient", lambda n: [
                f"Payment declined for order {o}: card_declined (user {u})"
                for o, u in zip(v.hexes(n, 12), v.users(n), strict=True)]),
            Kind(0.015, "WARN", "com.shop.checkout.PaymentClient", lambda n: [
                f"Retrying payment authorization for order {o} (attempt {a}/3)"
                for o, a in zip(v.hexes(n, 12), v.ints(n, 2, 4), strict=True)]),
            Kind(0.005, "ERROR", "com.shop.checkout.MailClient", lambda n: [
                f"Failed to send confirmation email for order {o}: SMTP 451 4.7.1 try again later"
                for o in v.hexes(n, 12)]),
        )
        times = self.arrivals(self.budget_rate(_BUDGET["checkout"], self.traffic.rps[h.name]))
        levels, loggers, msgs = self.mix(times, kinds)
        self._json_add(f, h, times, levels, loggers, msgs)
        self._restart_lines_java(f, h, "CheckoutApplication")
        # The 5xx burst after v2.14.0.
        new = self.script.deploy("deploy-checkout-v2.14.0")
        old = self.script.deploy("deploy-checkout-v2.13.4-rollback")
        lo, hi = new.restarts()[h.name], old.restarts()[h.name]
        env = envelope(self.ts, lo, hi, 20, 5)
        t = self.arrivals(2.0 * self.inc_scale * env * self.load("checkout") / 0.75, lo, hi)
        n = len(t)
        msgs = [f"POST /api/checkout failed with 500: java.lang.NullPointerException: Cannot "
                f"invoke \"Promotion.discount()\" because \"promo\" is null (order {o})"
                for o in v.hexes(n, 12)]
        stack = ("java.lang.NullPointerException: Cannot invoke \"Promotion.discount()\" because "
                 "\"promo\" is null\n\tat com.shop.checkout.promo.PromotionEngineV2.apply("
                 "PromotionEngineV2.java:142)\n\tat com.shop.checkout.OrderService.price("
                 "OrderService.java:88)\n\tat com.shop.checkout.web.CheckoutController.submit("
                 "CheckoutController.java:61)")
        self._json_add(f, h, t, ["ERROR"] * n, ["com.shop.checkout.web.CheckoutController"] * n,
                       msgs, extra={"stack_trace": stack, "status": 500})
        # Calls to payments timing out during the pool exhaustion.
        s, e = self.window("db-pool-exhaustion")
        env = envelope(self.ts, s, e, 150, 60)
        t = self.arrivals(0.4 * self.inc_scale * env, s, e + 60)
        n = len(t)
        msgs = [f"upstream payments timeout after 8000ms while authorizing order {o}"
                for o in v.hexes(n, 12)]
        self._json_add(f, h, t, ["WARN"] * n, ["com.shop.checkout.PaymentClient"] * n, msgs)
        if h.name == "web-03":
            self._cpu_saturation(f, h)

    def _cpu_saturation(self, f: _File, h: Host) -> None:
        v = self.v
        s, e = self.window("cpu-saturation")
        env = envelope(self.ts, s, e, 100, 30)
        t = self.arrivals(2.5 * self.inc_scale * env, s, e)
        n = len(t)
        msgs = [f"worker pool saturated: {b}/64 busy, queue={q}; request GET /api/cart/{c} "
                f"took {d} ms"
                for b, q, c, d in zip(v.ints(n, 62, 65), v.ints(n, 40, 400), v.hexes(n, 10),
                                      v.ms(n, 2400, 0.4), strict=True)]
        self._json_add(f, h, t, ["WARN"] * n, ["com.shop.checkout.web.WorkerPool"] * n, msgs)
        marks = self.at([s - 90.0, float(e)])
        self._json_add(f, h, marks, ["INFO", "WARN"], ["com.shop.ops.Cron"] * 2, [
            "sitemap-rebuild started by cron (pid 48211, schedule '30 6 * * *')",
            "sitemap-rebuild (pid 48211) terminated by signal 9 (SIGKILL)"])

    def _json_add(self, f: _File, h: Host, times: np.ndarray, levels: list[str],
                  loggers: list[str], msgs: list[str],
                  extra: dict[str, object] | None = None) -> None:
        stamps = fmt_iso_z(times)
        versions = self._versions(h, times)
        threads = self.v.ints(len(times), 1, 200)
        traces = self.v.hexes(len(times), 16)
        tail = "".join(f",{json.dumps(k)}:{json.dumps(val)}" for k, val in (extra or {}).items())
        dumps = _json_str
        f.add(times, [
            f'{{"timestamp":"{ts}","level":"{lv}","service":"{h.service}","host":"{h.name}",'
            f'"version":"{ver}","logger":"{lg}","thread":"http-nio-8080-exec-{th}",'
            f'"message":{dumps(m)},"trace_id":"{tr}"{tail}}}'
            for ts, lv, ver, lg, th, m, tr in zip(stamps, levels, versions, loggers, threads,
                                                  msgs, traces, strict=True)
        ])

    def _versions(self, h: Host, times: np.ndarray) -> list[str]:
        deploys = [d for d in self.script.deploys if h.name in d.hosts]
        if not deploys:
            return ["v1.0.0"] * len(times)
        out = np.full(len(times), deploys[0].previous, dtype=object)
        for d in deploys:
            out[times >= d.restarts()[h.name]] = d.version
        return out.tolist()

    def _restart_lines_java(self, f: _File, h: Host, app: str) -> None:
        for d in self.script.deploys:
            if h.name not in d.hosts:
                continue
            at = float(d.restarts()[h.name])
            pid = 4000 + int(self.rng.integers(0, 60000))
            t = self.at([at - 6, at - 1, at + 0.5, at + 14, at + 15.5])
            msgs = [f"Shutting down gracefully: draining {self.rng.integers(5, 60)} in-flight "
                    "requests",
                    "Graceful shutdown complete",
                    f"Starting {app} {d.version} using Java 21.0.5 on {h.name} with PID {pid}",
                    "HikariPool-1 - Start completed.",
                    f"Started {app} in {self.rng.uniform(11, 19):.3f} seconds "
                    f"(process running for {self.rng.uniform(12, 21):.3f})"]
            self._json_add(f, h, t, ["INFO"] * 5, ["org.springframework.boot.StartupInfoLogger"]
                           * 5, msgs)

    # ---------------------------------------------------------------- payments (log4j)

    def _payments(self, h: Host) -> None:
        v = self.v
        f = self.file("payments", h.name, "payments.log", "log4j")
        kinds = (
            Kind(0.34, "INFO", "c.s.p.api.AuthorizeController", lambda n: [
                f"Authorized payment pay_{p} for order {o}: {a} EUR card ****{c} in {t} ms"
                for p, o, a, c, t in zip(v.hexes(n, 14), v.hexes(n, 12), v.money(n),
                                         v.ints(n, 1000, 9999), v.ms(n, 95), strict=True)]),
            Kind(0.25, "INFO", "c.s.p.service.CaptureService", lambda n: [
                f"Captured payment pay_{p}: {a} EUR (acquirer ref {r})"
                for p, a, r in zip(v.hexes(n, 14), v.money(n), v.ints(n, 10**8, 10**9),
                                   strict=True)]),
            Kind(0.12, "INFO", "c.s.p.webhook.Dispatcher", lambda n: [
                f"Webhook evt_{e} delivered to merchant endpoint in {t} ms (attempt 1)"
                for e, t in zip(v.hexes(n, 12), v.ms(n, 80), strict=True)]),
            Kind(0.05, "INFO", "c.s.p.service.RefundService", lambda n: [
                f"Refund re_{r} issued for order {o}: {a} EUR"
                for r, o, a in zip(v.hexes(n, 12), v.hexes(n, 12), v.money(n, 30), strict=True)]),
            Kind(0.12, "DEBUG", "c.s.p.db.LedgerRepository", lambda n: [
                f"Ledger entry {e} written for account acct_{a} ({t} ms)"
                for e, a, t in zip(v.ints(n, 10**7, 10**8), v.hexes(n, 8), v.ms(n, 4, 0.5),
                                   strict=True)]),
            Kind(0.06, "WARN", "c.s.p.api.AuthorizeController", lambda n: [
                f"Card {b}******{c} declined by issuer: {r} (order {o})"
                for b, c, r, o in zip(v.ints(n, 400000, 560000), v.ints(n, 1000, 9999),
                                      v.pick(("insufficient_funds", "do_not_honor",
                                              "expired_card", "stolen_card"), n,
                                             (0.6, 0.3, 0.08, 0.02)),
                                      v.hexes(n, 12), strict=True)]),
            Kind(0.02, "WARN", "c.s.p.threeds.ChallengeService", lambda n: [
                f"3DS challenge timed out for payment pay_{p} after {t} ms"
                for p, t in zip(v.hexes(n, 14), v.ms(n, 300_000, 0.05), strict=True)]),
        )
        times = self.arrivals(self.budget_rate(_BUDGET["payments"], self.traffic.rps[h.name]))
        levels, loggers, msgs = self.mix(times, kinds)
        self._log4j_add(f, times, levels, loggers, msgs)
        # HikariCP-style pool stats once a minute (scaled), from the metric model's view.
        every = min(3600.0, 60.0 / self.scale)
        t = self.periodic(every)
        mx = np.where(self._pool_cut(t), 50, 80)
        active = self._pool_active(t, h, mx)
        msgs = [f"Pool stats (pool=payments-db, total={m}, active={a}, idle={m - a}, "
                f"waiting={self.rng.integers(60, 180) if a >= m - 2 and cut else 0})"
                for m, a, cut in zip(mx.tolist(), active.tolist(), self._in_pool(t).tolist(),
                                     strict=True)]
        self._log4j_add(f, t, ["DEBUG"] * len(t), ["c.s.p.db.ConnectionPool"] * len(t), msgs)
        # The pool exhaustion itself.
        s, e = self.window("db-pool-exhaustion")
        env = envelope(self.ts, s, e, 150, 30)
        t = self.arrivals(1.5 * self.inc_scale * env, s + 150, e)
        n = len(t)
        msgs = [f"connection pool exhausted: timeout after 30000 ms waiting for connection "
                f"(pool=payments-db, active={a}, idle=0)" for a in v.ints(n, 49, 51)]
        self._log4j_add(f, t, ["ERROR"] * n, ["c.s.p.db.ConnectionPool"] * n, msgs)
        t2 = t + 0.004
        msgs = [f"Authorization failed for order {o}: 503 Service Unavailable (db connection "
                "timeout)" for o in v.hexes(n, 12)]
        self._log4j_add(f, t2, ["ERROR"] * n, ["c.s.p.api.AuthorizeController"] * n, msgs)
        for c in self.script.changes:
            if c.service == "payments":
                at = self.at([float(c.at) + 3 + int(h.name[-1])])
                self._log4j_add(f, at, ["INFO"], ["c.s.p.config.ConfigWatcher"], [
                    f"Configuration reloaded: db.pool.max_connections={c.attrs['new']} "
                    f"(was {c.attrs['old']})"])
        self._restart_lines_log4j(f, h)

    def _pool_cut(self, t: np.ndarray) -> np.ndarray:
        c50 = next(c for c in self.script.changes if c.id == "change-payments-pool-50")
        c80 = next(c for c in self.script.changes if c.id == "change-payments-pool-80")
        return (t >= c50.at) & (t < c80.at)

    def _in_pool(self, t: np.ndarray) -> np.ndarray:
        s, e = self.window("db-pool-exhaustion")
        return (t >= s + 150) & (t < e)

    def _pool_active(self, t: np.ndarray, h: Host, mx: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(self.ts, t), 0, self.n - 1)
        normal = np.round(6 + 16 * self.load("payments")[idx] + self.rng.normal(0, 1.5, len(t)))
        return np.clip(np.where(self._in_pool(t), 50 - self.rng.integers(0, 2, len(t)), normal),
                       0, mx).astype(int)

    def _log4j_add(self, f: _File, times: np.ndarray, levels: list[str], loggers: list[str],
                   msgs: list[str]) -> None:
        stamps = fmt_log4j(times)
        threads = self.v.ints(len(times), 1, 120)
        f.add(times, [f"{ts} {lv:<5} [http-nio-8443-exec-{th}] {lg} - {m}"
                      for ts, lv, th, lg, m in zip(stamps, levels, threads, loggers, msgs,
                                                   strict=True)])

    def _restart_lines_log4j(self, f: _File, h: Host) -> None:
        for d in self.script.deploys:
            if h.name not in d.hosts:
                continue
            at = float(d.restarts()[h.name])
            pid = 3000 + int(self.rng.integers(0, 60000))
            t = self.at([at - 3, at + 0.8, at + 9, at + 10])
            self._log4j_add(f, t, ["INFO"] * 4, ["c.s.p.PaymentsApplication"] * 4, [
                "Received SIGTERM, shutting down (draining connections)",
                f"Starting PaymentsApplication {d.version} using Java 21.0.5 with PID {pid}",
                "payments-db - Start completed.",
                f"Started PaymentsApplication in {self.rng.uniform(7, 12):.3f} seconds"])

    # ---------------------------------------------------------------- auth (syslog)

    def _auth(self, h: Host) -> None:
        v = self.v
        f = self.file("auth", h.name, "auth.log", "syslog")
        api_pid = 812 + int(h.name[-1])
        kinds = (
            Kind(0.38, "", "", lambda n: [
                f"auth-service[{api_pid}]: login succeeded user={u} ip={ip} method=password "
                f"mfa={m}" for u, ip, m in zip(v.users(n), v.ips(n),
                                               v.pick(("totp", "none", "webauthn"), n),
                                               strict=True)]),
            Kind(0.3, "", "", lambda n: [
                f"auth-service[{api_pid}]: token refreshed user={u} client={c} ttl=3600"
                for u, c in zip(v.users(n), v.pick(("web", "ios", "android"), n), strict=True)]),
            Kind(0.08, "", "", lambda n: [
                f"auth-service[{api_pid}]: AUTH_INVALID_CREDENTIALS user={u} ip={ip} reason={r}"
                for u, ip, r in zip(v.users(n), v.ips(n),
                                    v.pick(("bad_password", "unknown_user", "mfa_failed"), n,
                                           (0.7, 0.2, 0.1)), strict=True)]),
            Kind(0.06, "", "", lambda n: [
                f"sshd[{p}]: Accepted publickey for deploy from 10.0.0.{x} port {pt} ssh2: "
                f"ED25519 SHA256:{k}"
                for p, x, pt, k in zip(v.ints(n, 20000, 60000), v.ints(n, 2, 9),
                                       v.ints(n, 40000, 65000), v.hexes(n, 16), strict=True)]),
            Kind(0.06, "", "", lambda n: [
                f"sshd[{p}]: pam_unix(sshd:session): session opened for user deploy(uid=1001) "
                "by (uid=0)" for p in v.ints(n, 20000, 60000)]),
            Kind(0.06, "", "", lambda n: [
                f"CRON[{p}]: pam_unix(cron:session): session opened for user root(uid=0) by "
                "(uid=0)" for p in v.ints(n, 20000, 60000)]),
            Kind(0.04, "", "", lambda n: [
                f"sshd[{p}]: Connection closed by {ip} port {pt} [preauth]"
                for p, ip, pt in zip(v.ints(n, 20000, 60000), v.ips(n), v.ints(n, 30000, 65000),
                                     strict=True)]),
            Kind(0.02, "", "", lambda n: [
                f"sshd[{p}]: Invalid user {u} from {ip} port {pt}"
                for p, u, ip, pt in zip(v.ints(n, 20000, 60000), v.pick(_BRUTE_USERS, n),
                                        v.ips(n), v.ints(n, 30000, 65000), strict=True)]),
        )
        times = self.arrivals(self.budget_rate(_BUDGET["auth"], self.load("auth")))
        _, _, msgs = self.mix(times, kinds)
        self._syslog_add(f, h, times, msgs)
        if h.name == "auth-01":
            self._brute_force(f, h)
        for d in self.script.deploys:
            if h.name in d.hosts:
                at = float(d.restarts()[h.name])
                new_pid = api_pid + 100
                self._syslog_add(f, h, self.at([at - 2, at - 1, at, at + 1.5]), [
                    "systemd[1]: Stopping auth-service.service - Auth API...",
                    "systemd[1]: auth-service.service: Deactivated successfully.",
                    "systemd[1]: Started auth-service.service - Auth API.",
                    f"auth-service[{new_pid}]: auth-service {d.version} listening on :8081"])

    def _brute_force(self, f: _File, h: Host) -> None:
        v = self.v
        s, e = self.window("brute-force")
        env = envelope(self.ts, s, e, 60, 10)
        t = self.arrivals(9.0 * self.inc_scale * env, s, e)
        n = len(t)
        ips = v.pick(ATTACKERS, n, (0.4, 0.3, 0.2, 0.1))
        users = v.pick(_BRUTE_USERS, n)
        pids = v.ints(n, 30000, 65000)
        ports = v.ints(n, 30000, 65000)
        r = self.rng.uniform(0, 1, n).tolist()
        msgs = [
            (f"sshd[{p}]: Failed password for invalid user {u} from {ip} port {pt} ssh2"
             if x < 0.62 else
             f"sshd[{p}]: Failed password for root from {ip} port {pt} ssh2" if x < 0.75 else
             f"sshd[{p}]: Invalid user {u} from {ip} port {pt}" if x < 0.9 else
             f"sshd[{p}]: Disconnecting invalid user {u} {ip} port {pt}: Too many "
             "authentication failures [preauth]" if x < 0.96 else
             f"sshd[{p}]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh "
             f"ruser= rhost={ip}")
            for p, u, ip, pt, x in zip(pids, users, ips, ports, r, strict=True)
        ]
        self._syslog_add(f, h, t, msgs)
        block = next(c for c in self.script.changes if c.id == "change-auth-firewall-block")
        k = max(3, int(40 * self.inc_scale))
        t = self.at(np.sort(float(block.at) + self.rng.uniform(0, 900, k)))
        ips = v.pick(ATTACKERS, len(t))
        msgs = [f"kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:3a:1f:0c SRC={ip} DST={h.ip} "
                f"LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID={i} DF PROTO=TCP SPT={pt} DPT=22 "
                "WINDOW=64240 RES=0x00 SYN URGP=0"
                for ip, i, pt in zip(ips, v.ints(len(t), 1000, 65000), v.ints(len(t), 30000, 65000),
                                     strict=True)]
        self._syslog_add(f, h, t, msgs)

    def _syslog_add(self, f: _File, h: Host, times: np.ndarray, msgs: list[str]) -> None:
        stamps = fmt_syslog(times)
        f.add(times, [f"{ts} {h.name} {m}" for ts, m in zip(stamps, msgs, strict=True)])

    # ---------------------------------------------------------------- search (elastic style)

    def _search(self, h: Host) -> None:
        v = self.v
        f = self.file("search", h.name, "search.log", "log4j-iso")
        kinds = (
            Kind(0.7, "INFO", "o.s.s.QueryService", lambda n: [
                f"query [{q}] q=\"{p.replace('-', ' ')}\" hits={k} took={t}ms"
                for q, p, k, t in zip(v.hexes(n, 8), v.products_q(n), v.ints(n, 0, 4000),
                                      v.ms(n, 35), strict=True)]),
            Kind(0.12, "INFO", "o.s.i.IndexRefresher", lambda n: [
                f"refresh [products][{s}] took [{t}ms], {d} docs updated"
                for s, t, d in zip(v.ints(n, 0, 6), v.ms(n, 45), v.ints(n, 1, 900), strict=True)]),
            Kind(0.1, "WARN", "i.s.s.query", lambda n: [
                f"[products][{s}] took[{t}ms], took_millis[{t}], total_hits[{k}], "
                f"source[{{\"query\":{{\"match\":{{\"title\":\"{p.replace('-', ' ')}\"}}}}}}]"
                for s, t, k, p in zip(v.ints(n, 0, 6), v.ms(n, 650, 0.3), v.ints(n, 0, 9000),
                                      v.products_q(n), strict=True)]),
            Kind(0.08, "INFO", "o.s.m.JvmGcMonitorService", lambda n: [
                f"[gc][{g}] overhead, spent [{t}ms] collecting in the last [1s]"
                for g, t in zip(v.ints(n, 1000, 90000), v.ms(n, 260, 0.3), strict=True)]),
        )
        times = self.arrivals(self.budget_rate(_BUDGET["search"], self.traffic.rps[h.name]))
        levels, loggers, msgs = self.mix(times, kinds)
        self._elastic_add(f, h, times, levels, loggers, msgs)
        for d in self.script.deploys:
            if h.name in d.hosts:
                at = float(d.restarts()[h.name])
                self._elastic_add(f, h, self.at([at - 2, at + 1, at + 25]), ["INFO"] * 3,
                                  ["o.s.n.Node"] * 3, [
                    "stopping ...",
                    f"version[{d.version.lstrip('v')}], pid[{int(self.rng.integers(2000, 9000))}], "
                    "build[tar/3f9c2a1], OS[Linux/6.1.0-27-amd64/amd64], JVM[Eclipse Adoptium/"
                    "OpenJDK 64-Bit Server VM/21.0.5/21.0.5+11-LTS]",
                    "started"])
        if h.name == "search-02":
            self._leak(f, h)
        if h.name == "search-01":
            self._plant_injection(f, h)

    def _plant_injection(self, f: _File, h: Host) -> None:
        """A visitor's search text that tries to instruct whoever reads the logs."""
        at = self.script.injection_at
        times = np.array([float(at) + 0.417])
        self._elastic_add(f, h, times, ["INFO"], ["o.s.s.QueryService"],
                          [f'query [5e1f0c7a] q="{INJECTION_PHRASE}" hits=0 took=18ms'])
        self._injection = (at, h.name, f.lines[-1][0])  # the line just added

    def _leak(self, f: _File, h: Host) -> None:
        v = self.v
        s, e = self.window("memory-leak")
        prog = np.clip((self.ts - s) / (e - s), 0, 1)
        t = self.arrivals(0.6 * self.inc_scale * prog**2, s, e)
        n = len(t)
        p = np.clip((t - s) / (e - s), 0, 1)
        heap = 6.0 + 20.5 * p**1.15
        after = heap - self.rng.uniform(0.05, 0.6, n) * (1 - p) - 0.05
        dur = np.round(0.3 + 4.5 * p**2 + self.rng.uniform(0, 0.4, n), 1)
        msgs = [f"GC pause (G1 Evacuation Pause) {round(d * 1000)}ms, heap after GC "
                f"{round(100 * b / 28)}% ({a:.1f}gb->{b:.1f}gb/28gb)"
                for d, a, b in zip(dur.tolist(), heap.tolist(), after.tolist(), strict=True)]
        self._elastic_add(f, h, t, ["WARN"] * n, ["o.s.m.JvmGcMonitorService"] * n, msgs)
        oom = np.clip((self.ts - (e - 40 * M)) / (40 * M), 0, 1)
        t = self.arrivals(1.0 * self.inc_scale * oom)
        n = len(t)
        r = self.rng.uniform(0, 1, n).tolist()
        msgs = [f"failed to execute query [{q}]: java.lang.OutOfMemoryError: Java heap space"
                if x < 0.7 else
                f"[parent] Data too large, data for [<http_request>] would be [{g:.1f}gb/"
                f"{g * 1024**3:.0f}b], which is larger than the limit of [26.6gb/28561532518b]"
                for q, x, g in zip(v.hexes(n, 8), r, self.rng.uniform(26.7, 27.9, n).tolist(),
                                   strict=True)]
        self._elastic_add(f, h, t, ["ERROR"] * n, ["o.s.s.QueryService"] * n, msgs)

    def _elastic_add(self, f: _File, h: Host, times: np.ndarray, levels: list[str],
                     loggers: list[str], msgs: list[str]) -> None:
        stamps = fmt_elastic(times)
        threads = [_SEARCH_THREADS.get(lg, "search-worker-") for lg in loggers]
        nums = self.v.ints(len(times), 1, 17)
        f.add(times, [
            f"{ts} {lv:<5} [{th}{n if th.endswith('-') else ''}] {lg} - [{h.name}] {m}"
            for ts, lv, th, n, lg, m in zip(stamps, levels, threads, nums, loggers, msgs,
                                            strict=True)])

    # ---------------------------------------------------------------- postgres

    def _postgres(self, h: Host) -> None:
        v = self.v
        f = self.file("postgres", h.name, "postgresql.log", "postgres")
        apps = ("checkout", "payments", "auth", "search")
        stmts = (
            "SELECT o.id, o.total FROM orders o WHERE o.customer_id = {a} ORDER BY "
            "o.created_at DESC LIMIT 20",
            "UPDATE cart_items SET qty = {b} WHERE cart_id = {a}",
            "SELECT * FROM products WHERE category_id = {b} AND price < {a} ORDER BY rank LIMIT 50",
            "INSERT INTO ledger_entries (account_id, amount, created_at) VALUES ({a}, {b}, now())",
        )

        def conn(n: int) -> list[str]:
            return [f"{u}@shop LOG:  connection authorized: user={u} database=shop "
                    f"application_name={u}-{x}"
                    for u, x in zip(v.pick(apps, n), v.ints(n, 1, 4), strict=True)]

        def disc(n: int) -> list[str]:
            return [f"{u}@shop LOG:  disconnection: session time: 0:{m:02d}:{s:02d}.{ms:03d} "
                    f"user={u} database=shop host=10.0.{ip}.{hx} port={pt}"
                    for u, m, s, ms, ip, hx, pt in zip(
                        v.pick(apps, n), v.ints(n, 0, 59), v.ints(n, 0, 59), v.ints(n, 0, 999),
                        v.ints(n, 11, 15), v.ints(n, 11, 13), v.ints(n, 30000, 65000),
                        strict=True)]

        def slow(n: int) -> list[str]:
            picks = v.ints(n, 0, len(stmts))
            return [f"{u}@shop LOG:  duration: {d / 1000:.3f} ms  statement: "
                    + stmts[i].format(a=a, b=b)
                    for u, d, i, a, b in zip(v.pick(apps, n), v.ms(n, 420_000, 0.5), picks,
                                             v.ints(n, 1, 10**6), v.ints(n, 1, 500), strict=True)]

        def vacuum(n: int) -> list[str]:
            return [f"LOG:  automatic vacuum of table \"shop.public.{t}\": index scans: 1, "
                    f"pages: 0 removed, {p} remain, {s} scanned"
                    for t, p, s in zip(v.pick(("cart_items", "sessions", "orders", "events"), n),
                                       v.ints(n, 1000, 90000), v.ints(n, 100, 900), strict=True)]

        kinds = (Kind(0.4, "", "", conn), Kind(0.38, "", "", disc), Kind(0.17, "", "", slow),
                 Kind(0.05, "", "", vacuum))
        times = self.arrivals(self.budget_rate(_BUDGET["postgres"], self.load("checkout")))
        _, _, msgs = self.mix(times, kinds)
        pids = v.ints(len(times), 10000, 99999)
        self._pg_add(f, times, pids, msgs)
        self._pg_errors(f)
        self._pg_checkpoints(f)
        self._pg_disk(f)
        self._pg_pool(f)

    def _pg_errors(self, f: _File) -> None:
        v = self.v
        t = self.arrivals(self.budget_rate(400, self.load("checkout")))
        n = len(t)
        keys = v.hexes(n, 32)
        pids = v.ints(n, 10000, 99999)
        self._pg_add(f, t, pids, [
            'checkout@shop ERROR:  duplicate key value violates unique constraint '
            '"orders_idempotency_key_key"' for _ in range(n)])
        self._pg_add(f, t + 0.0001, pids, [
            f"checkout@shop DETAIL:  Key (idempotency_key)=({k[:8]}-{k[8:12]}-{k[12:16]}-"
            f"{k[16:20]}-{k[20:]}) already exists." for k in keys])
        t = self.arrivals(self.budget_rate(150, np.ones(self.n)))
        n = len(t)
        pids = v.ints(n, 10000, 99999)
        self._pg_add(f, t, pids, ['report_ro@shop FATAL:  password authentication failed for '
                                  'user "report_ro"'] * n)
        self._pg_add(f, t + 0.0001, pids, [
            'report_ro@shop DETAIL:  Connection matched file "/etc/postgresql/16/main/'
            'pg_hba.conf" line 98: "host all all 10.0.0.0/8 scram-sha-256"'] * n)

    def _pg_checkpoints(self, f: _File) -> None:
        v = self.v
        every = min(3600.0, 300.0 / max(self.scale, 0.1))
        t = self.periodic(every)
        n = len(t)
        s, _ = self.window("disk-full")
        stuck = t >= s
        self._pg_add(f, t, [812] * n, ["LOG:  checkpoint starting: time"] * n)
        bufs = v.ints(n, 800, 16000)
        msgs = [f"LOG:  checkpoint complete: wrote {b} buffers ({b / 1638.4:.1f}%); "
                f"{a} WAL file(s) added, {0 if st else r} removed, {0 if st else c} recycled; "
                f"write={w:.3f} s, sync=0.0{x:02d} s, total={w + 0.05:.3f} s"
                for b, a, r, c, w, x, st in zip(
                    bufs, v.ints(n, 0, 3), v.ints(n, 0, 4), v.ints(n, 8, 30),
                    self.rng.uniform(20, 270, n).tolist(), v.ints(n, 1, 99), stuck.tolist(),
                    strict=True)]
        self._pg_add(f, t + 60, [812] * n, msgs)

    def _pg_disk(self, f: _File) -> None:
        v = self.v
        s, e = self.window("disk-full")
        at = self.at([s - 300.0, s - 299.0, s - 298.5])
        self._pg_add(f, at, [7712, 7712, 7712], [
            "replicator@[unknown] LOG:  could not receive data from client: Connection reset "
            "by peer",
            "replicator@[unknown] LOG:  terminating walsender process due to replication timeout",
            'LOG:  replication slot "standby_1" is now inactive; WAL will be retained until it '
            "is consumed or dropped"])
        every = min(3600.0, 600.0 / max(self.scale, 0.2))
        t = self.periodic(every, start=s + 60, end=e)
        gb = np.round(1 + 168 * (t - s) / (e - s)).astype(int)
        self._pg_add(f, t, [812] * len(t), [
            f'WARNING:  replication slot "standby_1" is inactive; {g} GB of WAL retained in '
            "pg_wal" for g in gb.tolist()])
        full = (self.ts >= e - 25 * M).astype(float)
        t = self.arrivals(0.25 * self.inc_scale * full, e - 25 * M, e)
        n = len(t)
        pids = v.ints(n, 10000, 99999)
        self._pg_add(f, t, pids, [
            f"{u}@shop ERROR:  could not write to file \"base/pgsql_tmp/pgsql_tmp{p}.{k}\": "
            "No space left on device"
            for u, p, k in zip(v.pick(("checkout", "payments", "search"), n), pids,
                               v.ints(n, 0, 40), strict=True)])
        self._pg_add(f, t + 0.0001, pids, ["HINT:  Check free disk space."] * n)

    def _pg_pool(self, f: _File) -> None:
        v = self.v
        s, e = self.window("db-pool-exhaustion")
        env = envelope(self.ts, s - 120, e, 60, 30)
        t = self.arrivals(0.8 * self.inc_scale * env)
        n = len(t)
        pids = v.ints(n, 10000, 99999)
        r = self.rng.uniform(0, 1, n).tolist()
        msgs = [(f"payments@shop LOG:  duration: {d / 1000:.3f} ms  statement: SELECT sum(amount) "
                 f"FROM ledger_entries WHERE account_id = {a} AND created_at >= now() - interval "
                 "'90 days'") if x < 0.6 else
                (f"payments@shop LOG:  process {p} still waiting for ShareLock on transaction "
                 f"{a} after 1000.{d % 1000:03d} ms")
                for d, a, p, x in zip(v.ms(n, 26_000_000, 0.15), v.ints(n, 10**6, 10**7), pids, r,
                                      strict=True)]
        self._pg_add(f, t, pids, msgs)

    @staticmethod
    def _pg_add(f: _File, times: np.ndarray, pids: list[int], msgs: list[str]) -> None:
        stamps = fmt_postgres(times)
        f.add(times, [f"{ts} [{p}] {m}" for ts, p, m in zip(stamps, pids, msgs, strict=True)])


_SEARCH_THREADS = {"o.s.m.JvmGcMonitorService": "jvm-gc-monitor", "o.s.n.Node": "main",
                   "o.s.i.IndexRefresher": "refresh-"}


def _json_str(s: str) -> str:
    """A JSON string literal (fast path for the plain ASCII messages we generate)."""
    if s.isascii() and s.isprintable() and "\\" not in s:
        return '"' + s.replace('"', '\\"') + '"'
    return json.dumps(s)


def write_logs(script: Script, traffic: Traffic, seed: int, scale: float,
               out_dir: Path) -> LogsResult:
    """Write every demo log file under `out_dir/<service>/<host>/` (deterministic)."""
    return LogWriter(script, traffic, seed, scale).generate(out_dir)


def describe_injection(inj: InjectionLine, root: Path) -> dict[str, str]:
    return {"ts": iso(inj.ts), "service": inj.service, "host": inj.host,
            "path": str(inj.path.relative_to(root)), "phrase": INJECTION_PHRASE, "line": inj.line}
