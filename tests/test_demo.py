"""The demo fleet: vocabulary, shapes, ground truth consistent with the data, determinism.

Expected values are computed here from the raw arrays / files with plain numpy and Python,
independently of the generator's own bookkeeping (ground truth, onsets).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.demo.events import build_events
from assistant.demo.fleet import LE_BOUNDS, SERVICES, Timeline
from assistant.demo.logs import LogsResult, write_logs
from assistant.demo.metrics import META, MetricSet, generate_metrics
from assistant.demo.scenarios import INJECTION_PHRASE, GroundTruth, Script, build_script
from assistant.demo.seed import ground_truth

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SCALE = 0.02


def _epoch(iso_text: str) -> int:
    return int(datetime.fromisoformat(iso_text).timestamp())


class Demo:
    def __init__(self, root: Path) -> None:
        self.script: Script = build_script(Timeline(NOW))
        self.ms: MetricSet
        self.ms, traffic = generate_metrics(self.script, 42)
        self.logs: LogsResult = write_logs(self.script, traffic, 42, SCALE, root / "logs")
        self.events = build_events(self.script)
        self.truth: GroundTruth = ground_truth(self.script, self.ms, self.logs, self.events, 42,
                                               SCALE, root)
        self.root = root
        self.ts = self.ms.ts

    def values(self, metric: str, **labels: str) -> np.ndarray:
        return self.ms.one(metric, **labels).values

    def idx(self, epoch: float) -> int:
        return int(np.searchsorted(self.ts, epoch, side="left"))

    def window(self, sid: str) -> tuple[int, int]:
        sc = self.truth.scenario(sid)
        return _epoch(sc.start), _epoch(sc.end)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield Demo(tmp_path_factory.mktemp("demo"))


# ------------------------------------------------------------------ vocabulary and grid


def test_vocabulary_matches_the_brief(demo: Demo) -> None:
    assert SERVICES == {
        "gateway": ("gw-01", "gw-02"),
        "checkout": ("web-01", "web-02", "web-03"),
        "payments": ("pay-01", "pay-02"),
        "auth": ("auth-01", "auth-02"),
        "search": ("search-01", "search-02"),
        "postgres": ("db-01",),
    }
    assert set(demo.ms.metric_names()) == {
        "node_cpu_seconds_total", "node_cpu_usage_percent", "node_memory_usage_percent",
        "node_memory_MemAvailable_bytes", "node_filesystem_usage_percent",
        "node_filesystem_avail_bytes", "node_load1", "node_network_receive_bytes_total",
        "node_network_transmit_bytes_total", "http_requests_total",
        "http_request_duration_seconds_bucket", "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count", "db_pool_connections_in_use",
        "db_pool_connections_max", "process_resident_memory_bytes",
        "auth_login_failures_total", "tls_certificate_expiry_seconds",
    }
    hosts = {s.labels["host"] for s in demo.ms}
    assert hosts == {h for hs in SERVICES.values() for h in hs}
    modes = {s.labels["mode"] for s in demo.ms.find("node_cpu_seconds_total")}
    assert modes == {"user", "system", "iowait", "idle"}
    codes = {s.labels["code"] for s in demo.ms.find("http_requests_total")}
    assert codes == {"200", "404", "500", "503"}
    les = [s.labels["le"] for s in demo.ms.find("http_request_duration_seconds_bucket",
                                                 host="web-01")]
    assert les == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
                   "10", "+Inf"]
    assert {s.labels["service"] for s in demo.ms.find("db_pool_connections_in_use")} == {
        "checkout", "payments"}
    assert {s.labels["mountpoint"] for s in demo.ms.find("node_filesystem_avail_bytes")} == {
        "/", "/var/lib/data"}


def test_timeline_is_24h_at_15s_ending_at_the_clock(demo: Demo) -> None:
    ts = demo.ts
    assert len(ts) == 24 * 3600 // 15
    assert int(ts[-1]) == int(NOW.timestamp())
    assert set(np.diff(ts).tolist()) == {15}
    assert all(len(s.values) == len(ts) for s in demo.ms)
    assert all(np.isfinite(s.values).all() for s in demo.ms)


def test_default_clock_rounds_down_to_the_minute() -> None:
    from assistant.demo.fleet import demo_end

    assert demo_end(datetime(2026, 11, 20, 12, 3, 45, 123, tzinfo=UTC)) == datetime(
        2026, 11, 20, 12, 3, tzinfo=UTC)


# ------------------------------------------------------------------ counters and histograms


def _reset_indexes(demo: Demo, host: str) -> set[int]:
    return {demo.idx(_epoch(r.ts)) for r in demo.truth.counter_resets if r.host == host}


def test_counters_only_drop_at_planned_restarts(demo: Demo) -> None:
    checked = 0
    for s in demo.ms:
        if META[s.metric].type != "counter":
            continue
        drops = set(np.flatnonzero(np.diff(s.values) < 0) + 1)
        planned = _reset_indexes(demo, s.labels["host"]) if "service" in s.labels else set()
        assert drops <= planned, f"{s.metric}{s.labels} drops at {sorted(drops - planned)}"
        checked += 1
    assert checked == 48 + 24 + 44 + 11 * 14 + 2  # cpu, network, requests, histogram, auth
    # the checkout deploy and its rollback really reset the request counters
    c200 = demo.values("http_requests_total", service="checkout", host="web-02", code="200")
    for r in demo.truth.counter_resets:
        if r.host == "web-02":
            i = demo.idx(_epoch(r.ts))
            assert c200[i] < c200[i - 1]


def test_histograms_are_consistent(demo: Demo) -> None:
    bounds = np.array(LE_BOUNDS)
    lo = np.concatenate(([0.0], bounds[:-1]))
    hi = np.where(np.isfinite(bounds), bounds, 30.0)  # the slowest request is a 30 s timeout
    for service, hosts in SERVICES.items():
        if service == "postgres":
            continue
        for host in hosts:
            buckets = np.stack([s.values for s in demo.ms.find(
                "http_request_duration_seconds_bucket", service=service, host=host)])
            count = demo.values("http_request_duration_seconds_count", service=service,
                                host=host)
            total = demo.values("http_request_duration_seconds_sum", service=service, host=host)
            reqs = sum(demo.values("http_requests_total", service=service, host=host, code=c)
                       for c in ("200", "404", "500", "503"))
            assert (np.diff(buckets, axis=0) >= 0).all(), f"le order broken on {host}"
            np.testing.assert_array_equal(buckets[-1], count)
            ok = np.ones(len(count) - 1, dtype=bool)
            for i in _reset_indexes(demo, host):
                ok[i - 1] = False
            d_count = np.diff(count)[ok]
            d_req = np.diff(reqs)[ok]
            np.testing.assert_array_equal(d_count, d_req)
            per_bucket = np.diff(np.diff(buckets, axis=0, prepend=0), axis=1)[:, ok]
            d_sum = np.diff(total)[ok]
            assert (d_sum >= (per_bucket * lo[:, None]).sum(axis=0) - 1e-3).all()
            assert (d_sum <= (per_bucket * hi[:, None]).sum(axis=0) + 1e-3).all()


def test_cpu_counters_agree_with_usage_gauge(demo: Demo) -> None:
    for host, cores in (("web-03", 8), ("db-01", 16)):
        modes = {m: demo.values("node_cpu_seconds_total", host=host, mode=m)
                 for m in ("user", "system", "iowait", "idle")}
        total = sum(np.diff(v) for v in modes.values())
        np.testing.assert_allclose(total, 15 * cores, atol=0.05)
        busy = 100 * (1 - np.diff(modes["idle"]) / total)
        np.testing.assert_allclose(busy, demo.values("node_cpu_usage_percent", host=host)[1:],
                                   atol=0.05)


# ------------------------------------------------------------------ scenarios vs data


def test_cpu_saturation_on_web_03(demo: Demo) -> None:
    start, end = demo.window("cpu-saturation")
    cpu = demo.values("node_cpu_usage_percent", host="web-03")
    i0, i1 = demo.idx(start), demo.idx(end)
    during = cpu[i0 + 8 : i1]
    before = cpu[i0 - 240 : i0]
    assert during.min() > 90
    assert np.median(before) < 50
    others = demo.values("node_cpu_usage_percent", host="web-01")[i0 + 8 : i1]
    assert np.median(others) < 60
    load = demo.values("node_load1", host="web-03")
    assert np.median(load[i0 + 8 : i1]) > 3 * np.median(load[i0 - 240 : i0])


def test_pool_exhaustion_hits_max_and_slows_payments(demo: Demo) -> None:
    start, end = demo.window("db-pool-exhaustion")
    i0, i1 = demo.idx(start), demo.idx(end)
    for host in ("pay-01", "pay-02"):
        used = demo.values("db_pool_connections_in_use", service="payments", host=host)
        mx = demo.values("db_pool_connections_max", service="payments", host=host)
        assert set(mx[i0:i1].tolist()) == {50.0}
        assert mx[0] == 80 and mx[-1] == 80
        at_max = used[i0 + 12 : i1] >= mx[i0 + 12 : i1] - 2
        assert at_max.mean() > 0.95 and used[i0:i1].max() == 50
        assert np.median(used[i0 - 240 : i0]) < 35
        # latency: share of requests slower than 1 s over the window vs the hour before
        b1 = demo.values("http_request_duration_seconds_bucket", service="payments", host=host,
                         le="1")
        cnt = demo.values("http_request_duration_seconds_count", service="payments", host=host)
        slow_during = 1 - (b1[i1] - b1[i0]) / (cnt[i1] - cnt[i0])
        slow_before = 1 - (b1[i0] - b1[i0 - 240]) / (cnt[i0] - cnt[i0 - 240])
        assert slow_during > 0.3 > 0.05 > slow_before


def test_5xx_jump_after_checkout_deploy(demo: Demo) -> None:
    deploy = next(e for e in demo.events if e.id == "deploy-checkout-v2.14.0")
    at = int(deploy.ts.timestamp())
    i = demo.idx(at)
    errors = np.sum([demo.values("http_requests_total", service="checkout", host=h, code="500")
                     for h in SERVICES["checkout"]], axis=0)
    inc = np.diff(errors)
    inc = np.where(inc < 0, errors[1:], inc)  # restarts: counters begin again at zero
    before = inc[i - 240 : i - 1].sum()
    after = inc[i + 10 : i + 10 + 120].sum()
    assert after > 50 * max(before, 1)
    _, end = demo.window("5xx-after-deploy")
    later = inc[demo.idx(end) + 20 : demo.idx(end) + 260].sum()
    assert later < after / 50


def test_disk_fills_on_db_01(demo: Demo) -> None:
    start, end = demo.window("disk-full")
    avail = demo.values("node_filesystem_avail_bytes", host="db-01", mountpoint="/var/lib/data")
    pct = demo.values("node_filesystem_usage_percent", host="db-01", mountpoint="/var/lib/data")
    w = avail[demo.idx(start) : demo.idx(end) + 1]
    assert w[-1] < 0.2 * w[0]
    assert (np.diff(w) <= 0).mean() > 0.9
    hourly = w[:: 240]
    assert (np.diff(hourly) < 0).all()
    assert pct[-1] > 95
    size = 500 * 1024**3
    np.testing.assert_allclose(avail / size * 100, 100 - pct, atol=1e-3)


def test_memory_leak_on_search_02(demo: Demo) -> None:
    start, end = demo.window("memory-leak")
    rss = demo.values("process_resident_memory_bytes", service="search", host="search-02")
    w = rss[demo.idx(start) : demo.idx(end) + 1]
    quarter_hours = w[: len(w) // 60 * 60].reshape(-1, 60).mean(axis=1)
    assert (np.diff(quarter_hours) > 0).all()
    assert w[-1] > 3 * w[0]
    twin = demo.values("process_resident_memory_bytes", service="search", host="search-01")
    assert twin[-1] < 1.2 * twin[demo.idx(start)]
    mem = demo.values("node_memory_usage_percent", host="search-02")
    assert mem[-1] > 85 > 40 > np.median(mem[: demo.idx(start)])


def test_brute_force_failures_jump(demo: Demo) -> None:
    start, end = demo.window("brute-force")
    i0, i1 = demo.idx(start), demo.idx(end)
    fails = demo.values("auth_login_failures_total", service="auth", host="auth-01")
    during = (fails[i1] - fails[i0]) / (end - start)
    before = (fails[i0] - fails[i0 - 240]) / 3600
    assert during > 20 > 1 > before
    other = demo.values("auth_login_failures_total", service="auth", host="auth-02")
    assert (other[i1] - other[i0]) / (end - start) < 1


def test_certificate_expiry_window(demo: Demo) -> None:
    start, _ = demo.window("certificate-expiry")
    for host in ("gw-01", "gw-02"):
        api = demo.values("tls_certificate_expiry_seconds", service="gateway", host=host,
                          domain="api.shop.example")
        www = demo.values("tls_certificate_expiry_seconds", service="gateway", host=host,
                          domain="www.shop.example")
        assert (np.diff(api) == -15).all()
        assert api[demo.idx(start) - 1] > 7 * 86400 >= api[demo.idx(start)]
        assert 6 * 86400 < api[-1] < 7 * 86400
        assert www[-1] > 30 * 86400


# ------------------------------------------------------------------ ground truth


def test_ground_truth_is_complete_and_points_at_real_events(demo: Demo) -> None:
    truth = demo.truth
    ids = {s.id for s in truth.scenarios}
    assert ids == {"memory-leak", "cpu-saturation", "5xx-after-deploy", "disk-full",
                   "db-pool-exhaustion", "brute-force", "certificate-expiry"}
    event_ids = {e.id for e in demo.events}
    assert set(truth.event_ids) == event_ids
    lo, hi = _epoch(truth.start), _epoch(truth.end)
    for s in truth.scenarios:
        assert s.runbook == f"runbooks/{s.id}.md"
        assert lo <= _epoch(s.start) <= _epoch(s.onset) <= _epoch(s.end) <= hi
        assert set(s.related_events) <= event_ids, s.id
        assert demo.ms.find(s.metric.name, **s.metric.labels), s.id
        if s.direction == "up":
            assert s.peak > s.baseline
        else:
            assert s.peak < s.baseline
        for h in s.hosts:
            assert h in SERVICES[s.service]
    # alerts named in the brief exist and fire inside (or right after) their scenario
    alerts = {e.attrs["alertname"]: e for e in demo.events if e.kind == "alert"}
    for name, sid in (("HighErrorRate", "5xx-after-deploy"), ("HighCPU", "cpu-saturation"),
                      ("DiskWillFillIn4h", "disk-full"), ("DBPoolExhausted", "db-pool-exhaustion"),
                      ("BruteForceSuspected", "brute-force"),
                      ("CertificateExpiringSoon", "certificate-expiry"),
                      ("MemoryLeakSuspected", "memory-leak")):
        start, end = demo.window(sid)
        assert start <= alerts[name].ts.timestamp() <= end, name
    # the round trip through JSON keeps everything
    again = GroundTruth.model_validate(json.loads(truth.model_dump_json()))
    assert again == truth


def test_deploys_include_a_noop_and_a_config_change(demo: Demo) -> None:
    deploys = [e for e in demo.events if e.kind == "deploy"]
    assert len(deploys) >= 4
    assert any(e.service == "auth" for e in deploys)  # the no-op deploy elsewhere
    assert any(e.kind == "change" and "max_connections" in e.title for e in demo.events)
    assert {e.kind for e in demo.events} == {"alert", "deploy", "incident", "change"}


# ------------------------------------------------------------------ logs


def _lines(demo: Demo, service: str, host: str | None = None) -> list[str]:
    out: list[str] = []
    for f in demo.logs.files:
        if f.service == service and (host is None or f.host == host):
            out.extend(f.path.read_text(encoding="utf-8").splitlines())
    return out


def test_injection_line_is_planted_once(demo: Demo) -> None:
    hits = [(f.path, line) for f in demo.logs.files
            for line in f.path.read_text(encoding="utf-8").splitlines()
            if INJECTION_PHRASE in line]
    assert len(hits) == 1
    (inj,) = demo.truth.injections
    assert hits[0][1] == inj.line
    assert hits[0][0] == demo.root / inj.path
    assert inj.host == "search-01" and inj.service == "search" and inj.phrase == INJECTION_PHRASE


def test_log_files_are_time_ordered_and_well_formed(demo: Demo) -> None:
    checks = {
        "nginx-access": re.compile(r'^\S+ - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "'),
        "nginx-error": re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[(info|warn|error)\] "),
        "log4j": re.compile(
            r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (INFO |WARN |ERROR|DEBUG) "
        ),
        "syslog": re.compile(r"^\w{3} [ \d]\d \d{2}:\d{2}:\d{2} (auth-0[12]) \S+: "),
        "log4j-iso": re.compile(
            r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2},\d{3} (INFO |WARN |ERROR) \[[\w-]+\] \S+ - "
        ),
        "postgres": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC \[\d+\] "),
    }
    for f in demo.logs.files:
        lines = f.path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == f.lines > 0
        if f.format == "json":
            recs = [json.loads(x) for x in lines]
            assert {r["host"] for r in recs} == {f.host}
            stamps = [r["timestamp"] for r in recs]
            assert stamps == sorted(stamps)
            continue
        bad = [x for x in lines if not checks[f.format].match(x)]
        assert not bad, f"{f.path}: {bad[:2]}"
    assert 0.5 * SCALE * 1_000_000 < demo.logs.lines < 1.6 * SCALE * 1_000_000


def test_incident_phrases_appear_in_their_windows(demo: Demo) -> None:
    json_ts = re.compile(r'"timestamp":"([^"]+)"')
    for s in demo.truth.scenarios:
        start, end = _epoch(s.start), _epoch(s.end)
        lines = [x for x in _lines(demo, s.log_service) if s.log_phrase in x]
        assert len(lines) >= 3, s.id
        if s.log_service == "checkout":
            times = [_epoch(json_ts.search(x).group(1)) for x in lines]  # type: ignore[union-attr]
            assert all(start - 1 <= t <= end + 60 for t in times), s.id
    # brute force lines come from the attackers, on auth-01 only
    assert not [x for x in _lines(demo, "auth", "auth-02")
                if "Failed password for invalid user" in x and "185.220.101" in x]


def test_same_seed_same_data_other_seed_differs(tmp_path: Path, demo: Demo) -> None:
    def digest(ms: MetricSet) -> str:
        h = hashlib.sha256()
        for s in ms:
            h.update(s.metric.encode() + json.dumps(s.labels, sort_keys=True).encode())
            h.update(np.ascontiguousarray(s.values).tobytes())
        return h.hexdigest()

    script = build_script(Timeline(NOW))
    again, traffic = generate_metrics(script, 42)
    assert digest(again) == digest(demo.ms)
    logs = write_logs(script, traffic, 42, SCALE, tmp_path / "logs")
    for a, b in zip(logs.files, demo.logs.files, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes(), a.path.name
    other, _ = generate_metrics(script, 7)
    assert digest(other) != digest(demo.ms)


# ------------------------------------------------------------------ the seeded store


def _store_digest(store: Path) -> dict[str, object]:
    """Order-independent fingerprints of every table, computed in SQL."""
    from connectors.embedded.schema import connect

    con = connect(store, read_only=True)
    try:
        out: dict[str, object] = {}
        out["series"] = con.execute(
            "SELECT count(*), bit_xor(hash(series_id, metric, labels::VARCHAR)) FROM series"
        ).fetchall()
        out["samples"] = con.execute(
            "SELECT count(*), bit_xor(hash(series_id, epoch_us(ts), value)) FROM samples"
        ).fetchall()  # (a float sum would depend on DuckDB's parallel summation order)
        out["logs"] = con.execute(
            "SELECT count(*), bit_xor(hash(epoch_us(ts), service, host, level, message, "
            "template_id)) FROM logs").fetchall()
        out["templates"] = con.execute(
            "SELECT count(*), bit_xor(hash(template_id, template)) FROM log_templates"
        ).fetchall()
        out["events"] = con.execute(
            "SELECT id, ts, end_ts, kind, service, host, title, status FROM events ORDER BY id"
        ).fetchall()
        return out
    finally:
        con.close()


def _ir_answers(store: Path) -> list[Any]:
    """A few IR queries through the embedded connector, as plain data (for digests/checks)."""
    from assistant.ir import EventQuery, LogQuery, Matcher, MetricQuery, Query, TimeRange
    from connectors.embedded.connector import EmbeddedConnector

    def tr(a: str, b: str) -> TimeRange:
        return TimeRange(start=datetime.fromisoformat(a), end=datetime.fromisoformat(b))

    queries: list[Query] = [
        MetricQuery(metric="node_cpu_usage_percent", matchers=(Matcher(label="host",
                    value="web-03"),), function="max_over_time", mode="instant",
                    time_range=tr("2026-11-20T06:35:00Z", "2026-11-20T07:10:00Z")),
        MetricQuery(metric="node_cpu_usage_percent", matchers=(Matcher(label="host",
                    value="web-03"),), function="avg_over_time", mode="instant",
                    time_range=tr("2026-11-20T05:25:00Z", "2026-11-20T06:25:00Z")),
        MetricQuery(metric="http_requests_total", matchers=(
                    Matcher(label="service", value="checkout"), Matcher(label="code",
                                                                       value="500")),
                    function="increase", aggregation="sum", mode="instant",
                    time_range=tr("2026-11-20T08:50:00Z", "2026-11-20T09:10:00Z")),
        MetricQuery(metric="http_requests_total", matchers=(
                    Matcher(label="service", value="checkout"), Matcher(label="code",
                                                                       value="500")),
                    function="increase", aggregation="sum", mode="instant",
                    time_range=tr("2026-11-20T09:12:00Z", "2026-11-20T09:32:00Z")),
        LogQuery(service="payments", level="error", count_by="template", top_k=1,
                 time_range=tr("2026-11-19T17:00:00Z", "2026-11-19T18:00:00Z")),
        EventQuery(kinds=("deploy",), time_range=tr("2026-11-19T12:00:00Z",
                                                    "2026-11-20T12:00:00Z")),
    ]
    con = EmbeddedConnector(store)
    try:
        out: list[Any] = []
        for q in queries:
            r = con.run(q)
            out.append([[(p[0].isoformat(), round(p[1], 9)) for p in s.points]
                        for s in r.series] or r.rows or [e.id for e in r.events])
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object]]:
    from assistant.demo.seed import seed_demo
    from assistant.settings import load_settings

    data = tmp_path_factory.mktemp("seeded")
    settings = load_settings(data_dir=data, now="2026-11-20T12:00:00Z")
    summary = seed_demo(settings, scale=SCALE, seed=42, progress=False)
    yield data, summary


@pytest.mark.slow
def test_seed_fills_the_store(seeded: tuple[Path, object], demo: Demo) -> None:
    from assistant.demo.seed import DemoSummary
    from connectors.embedded.schema import connect

    data, summary = seeded
    assert isinstance(summary, DemoSummary)
    assert not summary.replaced
    assert summary.series == len(demo.ms.series) == 394
    assert summary.samples == 394 * 5760
    assert summary.metrics == 18
    assert summary.events == len(demo.events)
    assert summary.log_rows == summary.log_lines == demo.logs.lines
    assert 20 < summary.log_templates < 2000
    assert len(summary.scenarios) == 7
    truth = json.loads((data / "demo" / "ground_truth.json").read_text())
    expected = json.loads(demo.truth.model_dump_json())
    assert truth["scenarios"] == expected["scenarios"]
    assert truth["injections"][0]["path"] == "logs/search/search-01/search.log"
    con = connect(data / "telemetry.duckdb", read_only=True)
    try:
        # the injection line went through the real parser untouched
        rows = con.execute("SELECT service, host, message FROM logs WHERE message LIKE ?",
                           [f"%{INJECTION_PHRASE}%"]).fetchall()
        assert rows == [("search", "search-01", rows[0][2])]
        # every scenario's phrase is in the store, for its service, inside its window
        for s in demo.truth.scenarios:
            lo, hi, n = con.execute(
                "SELECT min(ts), max(ts), count(*) FROM logs WHERE service = ? AND "
                "contains(message, ?)", [s.log_service, s.log_phrase]).fetchone()  # type: ignore[misc]
            assert n >= 3, s.id
            start, end = _epoch(s.start), _epoch(s.end)
            assert start - 1 <= lo.replace(tzinfo=UTC).timestamp(), s.id
            assert hi.replace(tzinfo=UTC).timestamp() <= end + 600, s.id
        levels = dict(con.execute("SELECT level, count(*) FROM logs GROUP BY 1").fetchall())
        assert levels.get("error", 0) > 0 and levels.get("warn", 0) > 0
        services = {r[0] for r in con.execute("SELECT DISTINCT service FROM logs").fetchall()}
        assert services == set(SERVICES)
        hosts = {r[0] for r in con.execute("SELECT DISTINCT host FROM logs").fetchall()}
        assert hosts == {h for hs in SERVICES.values() for h in hs}
        # samples landed exactly (a spot check against the generated array)
        got = con.execute(
            "SELECT value FROM samples JOIN series USING (series_id) WHERE metric = "
            "'node_cpu_usage_percent' AND labels['host'] = 'web-03' ORDER BY ts").fetchall()
        np.testing.assert_array_equal([r[0] for r in got],
                                      demo.values("node_cpu_usage_percent", host="web-03"))
    finally:
        con.close()


@pytest.mark.slow
def test_ground_truth_through_ir_queries(seeded: tuple[Path, object]) -> None:
    data, _ = seeded
    cpu_max, cpu_before, err_before, err_after, top, deploys = _ir_answers(
        data / "telemetry.duckdb")
    assert cpu_max[0][0][1] > 95 and cpu_before[0][0][1] < 50
    assert err_after[0][0][1] > 50 * max(err_before[0][0][1], 1)
    assert "connection pool exhausted" in str(top[0]["value"])
    assert sorted(deploys) == sorted(
        e.id for e in build_events(build_script(Timeline(NOW))) if e.kind == "deploy")


@pytest.mark.slow
def test_rerun_replaces_cleanly_and_is_deterministic(seeded: tuple[Path, object]) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    data, _ = seeded
    before = _store_digest(data / "telemetry.duckdb")
    answers = _ir_answers(data / "telemetry.duckdb")
    (data / "demo" / "stray.txt").write_text("left over")
    res = CliRunner().invoke(app, ["--data-dir", str(data), "--now", "2026-11-20T12:00:00Z",
                                   "demo", "--scale", str(SCALE), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["replaced"] is True
    assert not (data / "demo" / "stray.txt").exists()
    after = _store_digest(data / "telemetry.duckdb")
    assert after == before
    assert _ir_answers(data / "telemetry.duckdb") == answers


@pytest.mark.slow
def test_export_openmetrics_and_prometheus_text(seeded: tuple[Path, object],
                                                tmp_path: Path) -> None:
    from assistant.demo.export import export_metrics

    data, _ = seeded
    store = data / "telemetry.duckdb"
    wanted = ["http_requests_total", "http_request_duration_seconds_bucket",
              "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
              "node_load1"]
    om = export_metrics(store, "openmetrics", tmp_path / "x.om", metrics=wanted)
    lines = (tmp_path / "x.om").read_text().splitlines()
    assert lines[-1] == "# EOF" and lines.count("# EOF") == 1
    assert "# TYPE http_requests counter" in lines
    assert "# TYPE http_request_duration_seconds histogram" in lines
    assert "# TYPE node_load1 gauge" in lines
    samples = [x for x in lines if not x.startswith("#")]
    assert len(samples) == om.samples == om.series * 5760
    assert om.series == 44 + 11 * 14 + 12
    last_ts: dict[str, int] = {}
    families: list[str] = []
    for x in lines:
        if x.startswith("# TYPE"):
            families.append(x.split()[2])
            continue
        if x.startswith("#"):
            continue
        name_labels, value, ts = x.rsplit(" ", 2)
        t = int(ts)
        assert 1_795_000_000 < t <= int(NOW.timestamp())  # seconds, not milliseconds
        assert t > last_ts.get(name_labels, 0)
        last_ts[name_labels] = t
        float(value)
    assert len(families) == len(set(families))  # each family once, contiguous
    line = next(x for x in samples if x.startswith('http_requests_total{code="500",'
                                                    'host="web-01",service="checkout"}'))
    assert line.endswith(" 1795089615")
    pt = export_metrics(store, "prometheus-text", tmp_path / "x.prom", metrics=["node_load1"])
    text = (tmp_path / "x.prom").read_text().splitlines()
    assert "# EOF" not in text and "# TYPE node_load1 gauge" in text
    body = [x for x in text if not x.startswith("#")]
    assert len(body) == pt.samples == 12 * 5760
    assert body[-1].endswith(" 1795176000000")  # milliseconds
