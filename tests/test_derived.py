"""Derived metrics (`assistant.derived`): CPU busy %, memory used %, filesystem used % and
the 5xx share of requests, planned from a node_exporter-style catalog's own series.

The store holds what node_exporter and an instrumented service export (no
``*_usage_percent`` gauges). The expected numbers are computed here from the inserted
samples with the test oracle `promref` (Prometheus' documented rate extrapolation and
lookback), not by the engine; the same IR is also run on a real Prometheus server when its
binary is installed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from zoneinfo import ZoneInfo

import promref
import pytest
from differential import EXACT, compare, write_store
from servers import SeriesData, ServerPool

from assistant.core import Answer, AskOptions, Assistant
from assistant.derived import (
    CONTAINER_CPU,
    CONTAINER_MEMORY,
    CPU_BUSY,
    FILESYSTEM_USED,
    MEMORY_USED,
    RESTARTS,
    STATUS_SHARES,
    derived_metric,
    derived_query,
    target,
)
from assistant.entities import EntityLinker
from assistant.facts import facts_from_result
from assistant.intent import read_intent
from assistant.ir import Binary, Matcher, MetricQuery, TimeRange
from assistant.planner import Plan, PlanInput, plan_rules
from assistant.services import Services
from assistant.settings import PrometheusSettings, load_settings
from assistant.timeparse import resolve_time, strip_time_phrases
from connectors.base import Catalog, MetricInfo, Result
from connectors.embedded.connector import EmbeddedConnector
from connectors.prometheus.promql import compile_metric

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = END - timedelta(hours=2)
CHANGE = END - timedelta(minutes=20)  # CPU and 5xx step up here
SCRAPE_S, OFFSET_S = 15, 7  # samples off the evaluation grid: no sample on a window edge
INSTANCES = ("node-a:9100", "node-b:9100")
GIB = 2**30
Points = list[tuple[float, float]]

# ------------------------------------------------------------------------------ the data


def _times() -> list[float]:
    t, out = START.timestamp() + OFFSET_S, []
    while t <= END.timestamp():
        out.append(t)
        t += SCRAPE_S
    return out


def dataset() -> list[SeriesData]:
    """node_exporter-like series for two instances and a request counter with a code label."""
    rng = random.Random(16)
    times = _times()
    change = CHANGE.timestamp()
    out: list[SeriesData] = []
    for inst in INSTANCES:
        node = {"instance": inst, "job": "node"}
        for cpu in ("0", "1"):
            idle_before = 0.9 if inst.startswith("node-a") else 0.6
            idle_after = 0.2 if inst.startswith("node-a") else 0.55
            totals = {"idle": 1000.0, "user": 500.0, "system": 100.0}
            series: dict[str, Points] = {mode: [] for mode in totals}
            for i, t in enumerate(times):
                idle = (idle_after if t >= change else idle_before) - rng.uniform(0, 0.1)
                user = (1 - idle) * rng.uniform(0.6, 0.9)
                for mode, share in (("idle", idle), ("user", user),
                                    ("system", 1 - idle - user)):
                    totals[mode] += share * SCRAPE_S
                    if inst.startswith("node-b") and cpu == "1" and i == 200:
                        totals[mode] = share * SCRAPE_S  # a counter reset (a reboot)
                    series[mode].append((t, round(totals[mode], 6)))
            for mode, pts in series.items():
                out.append(("node_cpu_seconds_total", "counter", {**node, "cpu": cpu,
                                                                   "mode": mode}, pts))
        total = (8 if inst.startswith("node-a") else 16) * GIB
        out.append(("node_memory_MemTotal_bytes", "gauge", node, [(t, total) for t in times]))
        out.append(("node_memory_MemAvailable_bytes", "gauge", node,
                    [(t, float(round(total * rng.uniform(0.05, 0.6)))) for t in times]))
        mounts = [("/", "/dev/sda1", "ext4", 100 * GIB)]
        if inst.startswith("node-a"):
            mounts += [("/data", "/dev/sdb1", "xfs", 500 * GIB), ("/run", "tmpfs", "tmpfs", GIB)]
        for mountpoint, device, fstype, size in mounts:
            fs = {**node, "mountpoint": mountpoint, "device": device, "fstype": fstype}
            free = size * rng.uniform(0.3, 0.6)
            avail: Points = []
            for t in times:
                free = max(0.0, free - size * rng.uniform(0, 0.001))
                avail.append((t, float(round(free))))
            out.append(("node_filesystem_size_bytes", "gauge", fs, [(t, size) for t in times]))
            out.append(("node_filesystem_avail_bytes", "gauge", fs, avail))
    for service in ("checkout", "payments"):
        for inst in INSTANCES:
            for code, per_s in (("200", 40.0), ("404", 2.0), ("500", 1.0), ("503", 0.5)):
                value, pts = 0.0, []
                for t in times:
                    step = per_s * (4 if code.startswith("5") and service == "checkout"
                                    and t >= change else 1)
                    value += step * SCRAPE_S * rng.uniform(0.5, 1.5)
                    pts.append((t, round(value, 3)))
                out.append(("http_requests_total", "counter",
                            {"service": service, "instance": inst, "code": code}, pts))
    pods = {"checkout-7d9": ("node-a:10250", (0.8, 0.1), (1.2e9, 3e8), (4300, 6100)),
            "payments-5f2": ("node-b:10250", (0.3, 0.05), (6e8, 1e8), ())}
    for pod, (kubelet, cores, memory, restarts_at) in pods.items():
        where = {"namespace": "shop", "pod": pod, "instance": kubelet}
        cpu_total = {"app": 0.0, "sidecar": 0.0}
        cpu: dict[str, Points] = {c: [] for c in cpu_total}
        mem: dict[str, Points] = {c: [] for c in cpu_total}
        for t in times:
            for c, per_s, rss in (("app", cores[0], memory[0]), ("sidecar", cores[1], memory[1])):
                cpu_total[c] += per_s * SCRAPE_S * rng.uniform(0.5, 1.5)
                cpu[c].append((t, round(cpu_total[c], 6)))
                mem[c].append((t, float(round(rss * rng.uniform(0.9, 1.1)))))
        for c in cpu_total:
            out.append(("container_cpu_usage_seconds_total", "counter",
                        {**where, "container": c}, cpu[c]))
            out.append(("container_memory_working_set_bytes", "gauge",
                        {**where, "container": c}, mem[c]))
        # cAdvisor's pod cgroup (no container label) and the pause container: never counted
        pod_cpu = [(t, sum(cpu[c][i][1] for c in cpu)) for i, t in enumerate(times)]
        out.append(("container_cpu_usage_seconds_total", "counter", where, pod_cpu))
        out.append(("container_cpu_usage_seconds_total", "counter", {**where, "container": "POD"},
                    [(t, 0.01 * i) for i, t in enumerate(times)]))
        out.append(("container_memory_working_set_bytes", "gauge", where,
                    [(t, mem["app"][i][1] + mem["sidecar"][i][1]) for i, t in enumerate(times)]))
        restarts = [(t, float(sum(t >= START.timestamp() + s for s in restarts_at)))
                    for t in times]
        out.append(("kube_pod_container_status_restarts_total", "counter",
                    {"namespace": "shop", "pod": pod, "container": "app"}, restarts))
    return out


DATA = dataset()
META = {
    "node_cpu_seconds_total": ("counter", "Seconds the CPUs spent in each mode."),
    "node_memory_MemTotal_bytes": ("gauge", "Memory information field MemTotal_bytes."),
    "node_memory_MemAvailable_bytes": ("gauge", "Memory information field MemAvailable_bytes."),
    "node_filesystem_size_bytes": ("gauge", "Filesystem size in bytes."),
    "node_filesystem_avail_bytes": ("gauge",
                                    "Filesystem space available to non-root users in bytes."),
    "http_requests_total": ("counter", "Total HTTP requests by status code."),
    "container_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed in seconds."),
    "container_memory_working_set_bytes": ("gauge", "Current working set in bytes."),
    "kube_pod_container_status_restarts_total": (
        "counter", "The number of container restarts per container."),
}


def points(metric: str, **labels: str) -> list[tuple[dict[str, str], Points]]:
    return [(lab, pts) for m, _, lab, pts in DATA
            if m == metric and all(lab.get(k) == v for k, v in labels.items())]


# ------------------------------------------------------------ the expected values (oracle)

HOUR = TimeRange(start=END - timedelta(hours=1), end=END)
W = 300.0  # the rate window of a 1 h range query: max(step 15 s, 300 s)


def steps(tr: TimeRange = HOUR) -> list[float]:
    return [t.timestamp() for t in tr.steps()]


def rate(pts: Points, t: float) -> float:
    r = promref.extrapolated(pts, t, W, counter=True, rate=True)
    assert r is not None
    return r


def now(pts: Points, t: float) -> float:
    v = promref.instant(pts, t)
    assert v is not None
    return v


def expected_cpu_busy(inst: str) -> list[float]:
    idle = [pts for _, pts in points("node_cpu_seconds_total", instance=inst, mode="idle")]
    return [100 * (1 - fmean(rate(p, t) for p in idle)) for t in steps()]


def expected_memory_used(inst: str) -> list[float]:
    (_, avail), = points("node_memory_MemAvailable_bytes", instance=inst)
    (_, total), = points("node_memory_MemTotal_bytes", instance=inst)
    return [100 * (1 - now(avail, t) / now(total, t)) for t in steps()]


def expected_fs_used(inst: str, mountpoint: str) -> list[float]:
    (_, avail), = points("node_filesystem_avail_bytes", instance=inst, mountpoint=mountpoint)
    (_, size), = points("node_filesystem_size_bytes", instance=inst, mountpoint=mountpoint)
    return [100 * (1 - now(avail, t) / now(size, t)) for t in steps()]


def expected_5xx_share(service: str) -> list[float]:
    every = points("http_requests_total", service=service)
    out = []
    for t in steps():
        bad = sum(rate(p, t) for lab, p in every if lab["code"].startswith("5"))
        out.append(100 * bad / sum(rate(p, t) for _, p in every))
    return out


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("derived")
    write_store(root / "telemetry.duckdb", DATA, META)
    return root


@pytest.fixture(scope="module")
def conn(data_dir: Path) -> Iterator[EmbeddedConnector]:
    c = EmbeddedConnector(data_dir / "telemetry.duckdb")
    yield c
    c.close()


@pytest.fixture(scope="module")
def bot(data_dir: Path) -> Assistant:
    s = load_settings(data_dir=data_dir, now=END.isoformat(), timezone="UTC")
    services = Services(s)
    services.__dict__["_retriever"] = None
    services.problems["retrieval"] = "retrieval is not configured in this test"
    return Assistant(services)


def plan(question: str, catalog: Catalog) -> Plan:
    time = resolve_time(question, END, ZoneInfo("UTC"))
    stripped = strip_time_phrases(question)
    return plan_rules(PlanInput(question=stripped, time_range=time.range,
                                reading=read_intent(stripped),
                                links=EntityLinker(catalog).link(question), catalog=catalog))


def only_metric(p: Plan) -> MetricQuery:
    ms = [q.query for q in p.queries if isinstance(q.query, MetricQuery)]
    assert len(ms) == 1, p.queries
    return ms[0]


def ask(bot: Assistant, question: str) -> tuple[Answer, MetricQuery]:
    ans = bot.ask(question, options=AskOptions(now=END))
    irs = [MetricQuery.model_validate(q.ir) for q in ans.queries if q.ir.get("kind") == "metric"]
    assert len(irs) == 1, ans.answer
    return ans, irs[0]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def assert_series(result: Result, expected: dict[tuple[tuple[str, str], ...], list[float]]) -> None:
    got = {tuple(sorted(s.labels.items())): s for s in result.series}
    assert set(got) == set(expected)
    for key, values in expected.items():
        s = got[key]
        assert [p[0].timestamp() for p in s.points] == steps()
        bad = [(t, v, e) for (t, v), e in zip(s.points, values, strict=True) if not close(v, e)]
        assert not bad, f"{key}: {bad[:3]}"


# -------------------------------------------------------------------------- the planned IR

USED = (Binary(op="-", right=1, scalar_left=True), Binary(op="*", right=100))
IDLE = Matcher(label="mode", value="idle")
A = Matcher(label="instance", op="=~", value=r"node\-a(:\d+)?")


@pytest.mark.parametrize("question", [
    "peak cpu busy on node-a in the last hour",
    "cpu utilization of node-a in the last hour",
    "what was the CPU usage on node-a in the last hour?",
    "지난 1시간 node-a CPU 사용률 최대값",
    "지난 1시간 동안 node-a의 CPU 사용률",
])
def test_cpu_busy_is_one_minus_the_idle_rate(question: str, conn: EmbeddedConnector) -> None:
    q = only_metric(plan(question, conn.catalog()))
    assert (q.metric, q.function, q.aggregation, q.by) == (
        "node_cpu_seconds_total", "rate", "avg", ("instance",))
    assert set(q.matchers) == {A, IDLE}
    assert q.binary == USED
    assert derived_metric(q) == CPU_BUSY
    assert compile_metric(q).startswith("(1.0 - avg by (instance) (rate(node_cpu_seconds_total{")


@pytest.mark.parametrize("question", [
    "memory used percent on node-a in the last hour",
    "peak memory usage on node-a in the last hour",
    "지난 1시간 node-a 메모리 사용률",
    "지난 1시간 node-a 메모리 사용률 최대",
])
def test_memory_used_is_one_minus_available_over_total(
        question: str, conn: EmbeddedConnector) -> None:
    q = only_metric(plan(question, conn.catalog()))
    assert (q.metric, q.function, q.aggregation, q.by) == (
        "node_memory_MemAvailable_bytes", "raw", "sum", ("instance",))
    assert q.matchers == (A,)
    first = q.binary[0]
    assert first.op == "/" and not isinstance(first.right, float)
    assert (first.right.metric, first.right.aggregation, first.right.by, first.right.matchers) \
        == ("node_memory_MemTotal_bytes", "sum", ("instance",), (A,))
    assert q.binary[1:] == USED
    assert derived_metric(q) == MEMORY_USED


@pytest.mark.parametrize("question", [
    "how full is the disk on node-a in the last hour",
    "disk usage of / on node-a in the last hour",
    "filesystem used percent on node-a in the last hour",
    "지난 1시간 node-a 디스크 사용률",
])
def test_filesystem_used_leaves_out_pseudo_filesystems(
        question: str, conn: EmbeddedConnector) -> None:
    q = only_metric(plan(question, conn.catalog()))
    assert (q.metric, q.aggregation, q.by) == (
        "node_filesystem_avail_bytes", "sum", ("instance", "mountpoint"))
    assert A in q.matchers
    assert Matcher(label="fstype", op="!~", value="tmpfs") in q.matchers
    if " / " in question:
        assert Matcher(label="mountpoint", value="/") in q.matchers
    assert derived_metric(q) == FILESYSTEM_USED
    first = q.binary[0].right
    assert not isinstance(first, float) and first.metric == "node_filesystem_size_bytes"
    assert first.matchers == q.matchers  # the same filesystems on both sides


@pytest.mark.parametrize("question", [
    "5xx ratio of checkout in the last hour",
    "what percentage of checkout requests were errors in the last hour",
    "지난 1시간 checkout 5xx 비율",
    "지난 1시간 checkout 에러 비율",
])
def test_5xx_share_divides_by_all_requests(question: str, conn: EmbeddedConnector) -> None:
    q = only_metric(plan(question, conn.catalog()))
    svc = Matcher(label="service", value="checkout")
    assert (q.metric, q.function, q.aggregation, q.by) == (
        "http_requests_total", "rate", "sum", ("service",))
    assert set(q.matchers) == {svc, Matcher(label="code", op="=~", value="5..")}
    first = q.binary[0].right
    assert not isinstance(first, float)
    assert (first.metric, first.function, first.aggregation, first.by, first.matchers) == (
        "http_requests_total", "rate", "sum", ("service",), (svc,))
    assert q.binary[1] == Binary(op="*", right=100)
    assert derived_metric(q) == STATUS_SHARES["5.."]


@pytest.mark.parametrize("question", [
    "error rate of checkout in the last hour",  # the per-second rate of 5xx, as today
    "지난 1시간 checkout 5xx 에러율",
    "iowait cpu on node-a in the last hour",  # one mode's time
    "available memory on node-a in the last hour",
    "free disk space on node-a in the last hour",
    "node_cpu_seconds_total on node-a in the last hour",  # a series named verbatim
    "request rate of checkout in the last hour",
])
def test_other_questions_keep_their_plan(question: str, conn: EmbeddedConnector) -> None:
    q = only_metric(plan(question, conn.catalog()))
    assert not q.binary and derived_metric(q) is None


def test_words_in_english_and_korean() -> None:
    for text, want in [
        ("cpu busy", "cpu"), ("CPU utilization", "cpu"), ("CPU 사용률", "cpu"),
        ("memory used", "memory"), ("메모리 사용률", "memory"), ("disk full", "filesystem"),
        ("디스크 사용률", "filesystem"), ("파일시스템 사용률", "filesystem"),
        ("5xx ratio", "errors"), ("5xx 비율", "errors"), ("error percentage", "errors"),
        ("에러 비율", "errors"), ("4xx share", "errors"),
        ("error rate", None), ("에러율", None), ("idle cpu", None), ("free memory", None),
        ("disk read throughput", None), ("사용 가능한 메모리", None),
        ("container cpu", "container_cpu"), ("파드 메모리", "container_memory"),
        ("pod restarts", "restarts"), ("파드 재시작 횟수", "restarts"),
        ("cpu load average", None), ("container cpu throttling", None),
    ]:
        assert target(text) == want, text


def test_no_derived_query_without_the_series() -> None:
    """A catalog without the formula's series, or one that records the figure itself (the
    demo's *_usage_percent gauges), gets no derived query: the planner does what it did."""
    hosts = ["web-01"]
    bare = Catalog(metrics=[
        MetricInfo(name="node_load1", type="gauge", labels={"instance": hosts}),
        MetricInfo(name="node_memory_MemAvailable_bytes", type="gauge",
                   labels={"instance": hosts}),  # no MemTotal
        MetricInfo(name="http_requests_total", type="counter",
                   labels={"service": ["api"]}),  # no status label
    ], hosts=hosts)
    for question in ("cpu busy on web-01", "memory used on web-01", "disk full on web-01",
                     "5xx ratio of api", "CPU 사용률", "메모리 사용률"):
        assert derived_query(question, bare, HOUR) is None, question
    recorded = Catalog(metrics=[
        MetricInfo(name="node_cpu_seconds_total", type="counter",
                   labels={"host": hosts, "mode": ["idle", "user"]}),
        MetricInfo(name="node_cpu_usage_percent", type="gauge", labels={"host": hosts}),
    ], hosts=hosts)
    assert derived_query("cpu busy on web-01", recorded, HOUR) is None
    assert derived_query("cpu busy on web-01", Catalog(metrics=recorded.metrics[:1]),
                         HOUR) is not None
    q = only_metric(plan("peak CPU on web-01 in the last hour", recorded))
    assert q.metric == "node_cpu_usage_percent" and not q.binary


def test_a_hand_written_binary_query_keeps_its_own_name() -> None:
    q = MetricQuery(metric="node_memory_MemAvailable_bytes", time_range=HOUR,
                    binary=(Binary(op="/", right=1024),))
    assert derived_metric(q) is None


@pytest.mark.parametrize(("question", "derived"), [
    ("container cpu by pod in the last hour", CONTAINER_CPU),
    ("지난 1시간 파드별 컨테이너 CPU 사용량", CONTAINER_CPU),
    ("pod memory in the last hour", CONTAINER_MEMORY),
    ("지난 1시간 컨테이너 메모리", CONTAINER_MEMORY),
    ("pod restarts in the last hour", RESTARTS),
    ("container restarts per pod in the last hour", RESTARTS),
])
def test_cadvisor_and_kube_state_metrics_per_pod(
        question: str, derived: object, conn: EmbeddedConnector) -> None:
    q = only_metric(plan(question, conn.catalog()))
    assert derived_metric(q) == derived
    assert (q.aggregation, q.by) == ("sum", ("namespace", "pod"))
    if derived == RESTARTS:
        assert (q.metric, q.function, q.mode, q.matchers) == (
            "kube_pod_container_status_restarts_total", "increase", "instant", ())
    else:
        pause = "POD" in (conn.catalog().metric(q.metric) or MetricInfo(name="x")).labels.get(
            "container", [])
        assert set(q.matchers) == {Matcher(label="container", op="!=", value=""),
                                   *([Matcher(label="container", op="!=", value="POD")]
                                     if pause else [])}


# ---------------------------------------------------------------------- the numbers, end to end


def test_every_derived_point_matches_the_oracle(conn: EmbeddedConnector) -> None:
    cat = conn.catalog()
    cpu = only_metric(plan("cpu busy in the last hour", cat))
    assert_series(conn.run(cpu), {(("instance", i),): expected_cpu_busy(i) for i in INSTANCES})
    mem = only_metric(plan("memory used in the last hour", cat))
    assert_series(conn.run(mem), {(("instance", i),): expected_memory_used(i)
                                  for i in INSTANCES})
    fs = only_metric(plan("disk usage in the last hour", cat))
    mounts = [("node-a:9100", "/"), ("node-a:9100", "/data"), ("node-b:9100", "/")]
    assert_series(conn.run(fs), {(("instance", i), ("mountpoint", m)): expected_fs_used(i, m)
                                 for i, m in mounts})
    share = only_metric(plan("5xx ratio in the last hour", cat))
    assert_series(conn.run(share), {(("service", s),): expected_5xx_share(s)
                                    for s in ("checkout", "payments")})
    cores = only_metric(plan("container cpu by pod in the last hour", cat))
    assert_series(conn.run(cores), {
        (("namespace", "shop"), ("pod", pod)): [
            sum(rate(p, t) for lab, p in points("container_cpu_usage_seconds_total", pod=pod)
                if lab.get("container") in ("app", "sidecar")) for t in steps()]
        for pod in ("checkout-7d9", "payments-5f2")})
    restarts = conn.run(only_metric(plan("pod restarts in the last hour", cat)))
    got = {s.labels["pod"]: s.points[-1][1] for s in restarts.series}
    for pod, n in (("checkout-7d9", 2), ("payments-5f2", 0)):
        (_, pts), = points("kube_pod_container_status_restarts_total", pod=pod)
        want = promref.extrapolated(pts, END.timestamp(), 3600, counter=True, rate=False)
        assert want is not None and round(want) == n and close(got[pod], want)
    facts = facts_from_result(share, conn.run(share), 0)
    peak = [f for f in facts if f.name == "peak" and f.scope == "all"]
    assert peak and close(float(peak[0].value), max(expected_5xx_share("checkout")))
    assert peak[0].unit == "percent" and peak[0].metric == "http_5xx_ratio_percent"


@pytest.mark.parametrize(("question", "subject", "expected"), [
    ("peak cpu busy on node-a in the last hour", "CPU busy %",
     lambda: expected_cpu_busy("node-a:9100")),
    ("peak memory used on node-a in the last hour", "Memory used %",
     lambda: expected_memory_used("node-a:9100")),
    ("지난 1시간 node-a 메모리 사용률 최대", "메모리 사용률",
     lambda: expected_memory_used("node-a:9100")),
    ("peak 5xx ratio of checkout in the last hour", "5xx share of requests",
     lambda: expected_5xx_share("checkout")),
    ("지난 1시간 checkout 5xx 비율 최대", "요청 중 5xx 비율",
     lambda: expected_5xx_share("checkout")),
])
def test_the_answer_names_the_derived_metric_and_its_peak(
        bot: Assistant, question: str, subject: str, expected: Callable[[], list[float]]) -> None:
    ans, q = ask(bot, question)
    values = expected()
    derived = derived_metric(q)
    hi = max(range(len(values)), key=lambda i: (values[i], -i))
    peak = [f for f in ans.facts if f.name == "peak"]
    assert len(peak) == 1, ans.answer
    assert close(float(peak[0].value), values[hi])
    assert derived is not None and peak[0].unit == "percent" and peak[0].metric == derived.key
    assert peak[0].at == datetime.fromtimestamp(steps()[hi], UTC)
    first = ans.answer.splitlines()[0]
    assert subject in first and f"{values[hi]:.1f}%" in first, ans.answer
    assert ans.grounded, ans.answer


def test_the_disk_answer_ranks_filesystems(bot: Assistant) -> None:
    ans, _ = ask(bot, "how full are the disks on node-a in the last hour")
    assert "Filesystem used %" in ans.answer or "filesystem used %" in ans.answer, ans.answer
    top = sorted((f for f in ans.facts if f.name == "top"), key=lambda f: f.rank or 0)
    means = {m: fmean(expected_fs_used("node-a:9100", m)) for m in ("/", "/data")}
    assert [f.labels["mountpoint"] for f in top] == sorted(means, key=lambda m: -means[m])
    assert all(close(float(f.value), means[f.labels["mountpoint"]]) for f in top)
    assert ans.grounded


# ------------------------------------------------------- the same IR on a real Prometheus


@pytest.mark.server
def test_the_same_ir_gives_the_same_numbers_on_prometheus(
        conn: EmbeddedConnector, server_pool: ServerPool) -> None:
    from connectors.prometheus import PrometheusConnector

    prom = PrometheusConnector(PrometheusSettings(
        url=server_pool.prometheus("derived", dataset), timeout_s=30, max_series=5000))
    try:
        cat = conn.catalog()
        for question in ("cpu busy in the last hour", "memory used in the last hour",
                         "disk usage in the last hour", "5xx ratio in the last hour",
                         "4xx share on node-b in the last hour", "container cpu by pod",
                         "pod memory in the last hour", "pod restarts in the last hour"):
            q = only_metric(plan(question, cat))
            assert derived_metric(q) is not None, question
            emb, got = conn.run(q), prom.run(q)
            assert got.series, f"{question}: Prometheus returned nothing\n{got.native}"
            diff = compare(emb, got, EXACT)
            assert not diff.only_a and not diff.only_b, f"{question}: {diff.summary()}"
            assert diff.within(EXACT), f"{question}: {diff.worst}\n{got.native}"
            assert sorted(s.labels.items() for s in emb.series) == \
                sorted(s.labels.items() for s in got.series)
    finally:
        prom.close()


def test_a_korean_read_question_about_restarts_is_answered(bot: Assistant) -> None:
    """ "파드 재시작 횟수는?" reads a metric that counts restarts: not a request to restart
    anything (a request stays refused)."""
    ans, q = ask(bot, "지난 1시간 파드 재시작 횟수는?")
    assert not ans.refused and q.metric == "kube_pod_container_status_restarts_total"
    refused = bot.ask("파드 재시작해줘", options=AskOptions(now=END))
    assert refused.refused
