"""Derived metrics: the ratios operators ask for by name, built from the catalog's real series.

node_exporter, cAdvisor and instrumented services do not export "CPU busy %" or "5xx ratio";
dashboards compute them from raw series with PromQL binary operations. `derived_query` reads
what a question asks for (in English or Korean) and, only when the live catalog holds the
series the formula needs, returns that formula as one `MetricQuery` (ratios through its
`binary` tuple):

* CPU busy %: ``(1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[w]))) * 100``
* memory used %: ``(1 - sum by (host) (node_memory_MemAvailable_bytes)
  / sum by (host) (node_memory_MemTotal_bytes)) * 100``
* filesystem used %: the same over ``node_filesystem_avail_bytes`` /
  ``node_filesystem_size_bytes``, by host and mountpoint
* 5xx (or 4xx, or one code) share of requests: ``sum by (x) (rate(req{code=~"5.."}[w]))
  / sum by (x) (rate(req[w])) * 100`` over a request counter with a status-code label
* cAdvisor and kube-state-metrics, per pod: container CPU in cores
  ``sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=""}[w]))``,
  working-set memory ``sum by (namespace, pod) (container_memory_working_set_bytes{...})``
  and restarts over the window ``sum by (namespace, pod)
  (increase(kube_pod_container_status_restarts_total[range]))`` (an instant query)

A catalog that records the figure itself (a gauge such as ``node_cpu_usage_percent``) keeps
it: a recorded series is what the team's own dashboards show. A question that names a metric
verbatim, or asks for one mode of the CPU or the available/free/total bytes, is not a
derived question. Anything else returns None and the rules planner plans as before.

`derived_metric` recognises a query built here (from its shape alone), so the facts and the
answer name it ("memory used %") and give it its unit (percent) instead of the first
operand's name and unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.ir import Aggregation, Binary, Matcher, MetricOperand, MetricQuery, TimeRange
from assistant.language import Language
from connectors.base import Catalog, MetricInfo

if TYPE_CHECKING:
    from assistant.entities import Links

HOST_LABELS = ("host", "instance", "hostname", "node")
SERVICE_LABELS = ("service", "job", "app")
STATUS_LABELS = ("code", "status", "status_code")
FS_PSEUDO = ("tmpfs", "devtmpfs", "overlay", "squashfs", "ramfs", "nsfs", "autofs", "proc",
             "sysfs", "cgroup", "cgroup2")
"""Filesystem types that are not disks (left out of "disk used %" when the catalog has them)."""

CPU_SECONDS = "node_cpu_seconds_total"
MEM_AVAILABLE, MEM_TOTAL = "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes"
FS_AVAIL, FS_SIZE = "node_filesystem_avail_bytes", "node_filesystem_size_bytes"
CONTAINER_CPU_SECONDS = "container_cpu_usage_seconds_total"
CONTAINER_WORKING_SET = "container_memory_working_set_bytes"
POD_RESTARTS = "kube_pod_container_status_restarts_total"
POD_LABELS = ("namespace", "pod")


@dataclass(frozen=True)
class Derived:
    """One derived metric: how facts and answers name it, its unit, its formula."""

    key: str
    """`Fact.metric` of its facts (a recording-rule-like name)."""
    subject: dict[Language, str]
    unit: str
    formula: str
    """`Fact.function` of its facts: the computation in PromQL-like words."""


CPU_BUSY = Derived("cpu_busy_percent", {"en": "CPU busy %", "ko": "CPU 사용률"}, "percent",
                   f'100 * (1 - avg(rate({CPU_SECONDS}{{mode="idle"}})))')
MEMORY_USED = Derived("memory_used_percent", {"en": "memory used %", "ko": "메모리 사용률"},
                      "percent", f"100 * (1 - {MEM_AVAILABLE} / {MEM_TOTAL})")
FILESYSTEM_USED = Derived("filesystem_used_percent",
                          {"en": "filesystem used %", "ko": "파일시스템 사용률"}, "percent",
                          f"100 * (1 - {FS_AVAIL} / {FS_SIZE})")
STATUS_SHARES: dict[str, Derived] = {
    f"{c}..": Derived(f"http_{c}xx_ratio_percent",
                      {"en": f"{c}xx share of requests", "ko": f"요청 중 {c}xx 비율"}, "percent",
                      f'100 * sum(rate(requests{{code=~"{c}.."}})) / sum(rate(requests))')
    for c in "12345"
}
STATUS_SHARE = Derived("http_status_ratio_percent",
                       {"en": "share of requests with that status",
                        "ko": "요청 중 해당 상태 코드 비율"}, "percent",
                       '100 * sum(rate(requests{code="..."})) / sum(rate(requests))')
CONTAINER_CPU = Derived("container_cpu_cores",
                        {"en": "container CPU (cores)", "ko": "컨테이너 CPU 사용량(코어)"}, "",
                        f'sum by (namespace, pod) (rate({CONTAINER_CPU_SECONDS}{{container!=""}}))')
CONTAINER_MEMORY = Derived("container_memory_working_set",
                           {"en": "container memory (working set)",
                            "ko": "컨테이너 메모리(워킹 셋)"}, "bytes",
                           f'sum by (namespace, pod) ({CONTAINER_WORKING_SET}{{container!=""}})')
RESTARTS = Derived("container_restarts", {"en": "container restarts in the window",
                                          "ko": "기간 중 컨테이너 재시작 횟수"}, "count",
                   f"sum by (namespace, pod) (increase({POD_RESTARTS}[range]))")
DERIVED: tuple[Derived, ...] = (CPU_BUSY, MEMORY_USED, FILESYSTEM_USED, *STATUS_SHARES.values(),
                                STATUS_SHARE, CONTAINER_CPU, CONTAINER_MEMORY, RESTARTS)
SUBJECTS: dict[str, dict[Language, str]] = {d.key: d.subject for d in DERIVED}
"""Readable names of the derived metrics, for `assistant.answer.SUBJECTS`."""

# -------------------------------------------------------------------- the question's words

_CPU = re.compile(r"(?<![a-z])cpus?(?![a-z])|processor|씨피유", re.I)
_CPU_NOT = re.compile(
    r"(?<![a-z])(?:idle|iowait|io ?wait|user|system|steal|nice|irq|softirq|guest)(?![a-z])"
    r"|cpu[ _-]?(?:seconds?|time)|cpu ?시간|유휴|container|pod|컨테이너|파드|load ?av\w*|부하"
    r"|throttl\w*|스로틀", re.I)
_MEMORY = re.compile(r"(?<![a-z])(?:memory|mem|ram)(?![a-z])|메모리|램", re.I)
_MEMORY_NOT = re.compile(
    r"avail|free|total|cache|buffer|swap|resident|rss|heap|process|jvm|container|pod"
    r"|여유|가용|사용 ?가능|전체|총|스왑|캐시|컨테이너|파드|프로세스", re.I)
_DISK = re.compile(
    r"(?<![a-z])(?:disks?|filesystems?|file ?systems?|fs|volumes?|partitions?|mount ?points?"
    r"|storage)(?![a-z])|디스크|파일 ?시스템|볼륨|파티션|스토리지", re.I)
_DISK_NOT = re.compile(
    r"(?<![a-z])(?:io|i/o|iops|reads?|writes?|throughput|latency|avail|available|free|left"
    r"|remaining|inodes?|size|total|capacity)(?![a-z])|읽기|쓰기|여유|남은|가용|아이노드|전체|총",
    re.I)
_ERRORS = re.compile(r"(?<![a-z0-9])[1-5]xx(?![a-z])|(?<![a-z0-9])[1-5]\d\d(?![a-z0-9])"
                     r"|(?<![a-z])(?:errors?|fail\w*)(?![a-z])|에러|오류|실패", re.I)
_SHARE = re.compile(
    r"(?<![a-z])(?:ratio|percent|percentage|share|fraction|proportion)(?![a-z])|%|비율|비중"
    r"|퍼센트|백분율", re.I)
"""Words that ask for a share of requests: "error rate" / "에러율" alone keeps today's plan
(the per-second rate of 5xx responses)."""
_CONTAINER = re.compile(r"(?<![a-z])(?:containers?|pods?|cadvisor)(?![a-z])|컨테이너|파드|포드",
                        re.I)
_RESTARTS = re.compile(r"(?<![a-z])restart\w*|재시작|재기동", re.I)
_STATUS = re.compile(r"(?<![a-z0-9])([1-5])(xx|\d\d)(?![a-z0-9])", re.I)
_DIRECT = {
    "cpu": re.compile(r"cpu"),
    "memory": re.compile(r"mem"),
    "filesystem": re.compile(r"filesystem|disk|(?<![a-z])fs(?![a-z])|volume"),
    "errors": re.compile(r"error|5xx|fail"),
}
_DIRECT_END = re.compile(r"(?:_percent|_pct|_ratio|utili[sz]ation\w*)$")


def target(question: str) -> str | None:
    """What derived figure the words ask for: cpu, memory, filesystem, errors,
    container_cpu, container_memory, restarts (or None)."""
    q = question.lower()
    if _ERRORS.search(q) and _SHARE.search(q):
        return "errors"
    if _RESTARTS.search(q):
        return "restarts"
    if _CONTAINER.search(q):
        if _CPU.search(q) and not re.search(r"throttl|스로틀", q):
            return "container_cpu"
        if _MEMORY.search(q):
            return "container_memory"
        return None
    if _DISK.search(q) and not _DISK_NOT.search(q):
        return "filesystem"
    if _MEMORY.search(q) and not _MEMORY_NOT.search(q):
        return "memory"
    if _CPU.search(q) and not _CPU_NOT.search(q):
        return "cpu"
    return None


# ----------------------------------------------------------------------------- planning


def derived_query(
    question: str,
    catalog: Catalog,
    time_range: TimeRange,
    stat: str | None = None,
    *,
    links: Links | None = None,
) -> MetricQuery | None:
    """The derived metric the question asks for, from the catalog's own series; None when
    the question asks for none, names a metric itself, or the catalog lacks a series the
    formula needs (or records the figure directly). `stat` is the statistic asked for: the
    facts read peak, minimum and mean from the query's steps whichever it is."""
    del stat  # every statistic comes from the same range query
    want = target(question)
    if want is None or _records_it(catalog, want):
        return None
    if links is not None and any(lk.how == "exact" for lk in links.metrics):
        return None  # the question names the series it wants
    if want == "cpu":
        return _cpu(catalog, time_range, links)
    if want == "memory":
        return _ratio_used(catalog, time_range, links, MEM_AVAILABLE, MEM_TOTAL, ())
    if want == "filesystem":
        return _ratio_used(catalog, time_range, links, FS_AVAIL, FS_SIZE, ("mountpoint",))
    if want in ("container_cpu", "container_memory", "restarts"):
        return _kubernetes(want, catalog, time_range, links)
    return _error_share(question, catalog, time_range, links)


def _records_it(catalog: Catalog, want: str) -> bool:
    """Whether the catalog holds a gauge that records the figure itself."""
    word = _DIRECT.get(want)
    return word is not None and any(
        word.search(m.name.lower()) and _DIRECT_END.search(m.name.lower())
        and m.type != "counter" and not m.name.endswith("_total") for m in catalog.metrics)


def _label_in(m: MetricInfo, candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in m.labels), None)


def _value_matcher(m: MetricInfo, label: str, values: list[str]) -> Matcher | None:
    """One or several linked values as a matcher on `label` (an ``instance`` given as a
    bare host matches ``host:port``); None when the series know none of them."""
    known = m.labels.get(label, [])
    exact = [v for v in values if not known or v in known]
    ported = [v for v in values if v not in exact
              and any(k.split(":")[0] == v for k in known)]
    if not exact and not ported:
        return None
    if len(exact) == 1 and not ported:
        return Matcher(label=label, value=exact[0])
    alts = [re.escape(v) for v in exact] + [re.escape(v) + r"(:\d+)?" for v in ported]
    return Matcher(label=label, op="=~", value="|".join(alts))


def _filters(m: MetricInfo, links: Links | None, *, skip: tuple[str, ...] = ()) -> list[Matcher]:
    """The question's hosts, services and label values that series `m` has."""
    if links is None:
        return []
    out: list[Matcher] = []
    for candidates, found in ((HOST_LABELS, links.hosts), (SERVICE_LABELS, links.services)):
        label = _label_in(m, candidates)
        if label and found:
            hit = _value_matcher(m, label, [lk.value for lk in found])
            if hit is not None:
                out.append(hit)
    for lk in [*links.labels, *links.patterns]:
        if lk.label and lk.label in m.labels and lk.label not in skip \
                and lk.label not in {x.label for x in out}:
            out.append(Matcher(label=lk.label, op=lk.op, value=lk.value))
    return out


USED_PERCENT = (Binary(op="-", right=1, scalar_left=True), Binary(op="*", right=100))
"""``(1 - x) * 100``: a free fraction as a used percentage."""


def _cpu(catalog: Catalog, tr: TimeRange, links: Links | None) -> MetricQuery | None:
    m = catalog.metric(CPU_SECONDS)
    if m is None or "idle" not in m.labels.get("mode", ["idle"]):
        return None
    host = _label_in(m, HOST_LABELS)
    return MetricQuery(
        metric=m.name,
        matchers=(*_filters(m, links, skip=("mode",)), Matcher(label="mode", value="idle")),
        function="rate", aggregation="avg", by=(host,) if host else (), time_range=tr,
        binary=USED_PERCENT)


def _ratio_used(catalog: Catalog, tr: TimeRange, links: Links | None, avail_name: str,
                size_name: str, keep: tuple[str, ...]) -> MetricQuery | None:
    avail, size = catalog.metric(avail_name), catalog.metric(size_name)
    if avail is None or size is None:
        return None
    host = _label_in(avail, HOST_LABELS)
    by = tuple(x for x in (host, *keep) if x and x in avail.labels and x in size.labels)
    matchers = _filters(avail, links)
    pseudo = [t for t in avail.labels.get("fstype", []) if t in FS_PSEUDO]
    if pseudo and not any(x.label == "fstype" for x in matchers):
        matchers.append(Matcher(label="fstype", op="!~", value="|".join(pseudo)))
    agg: Aggregation = "sum" if by else "none"
    right = MetricOperand(metric=size.name, aggregation=agg, by=by,
                          matchers=tuple(x for x in matchers if x.label in size.labels))
    return MetricQuery(
        metric=avail.name, matchers=tuple(matchers), aggregation=agg, by=by, time_range=tr,
        binary=(Binary(op="/", right=right), *USED_PERCENT))


def _kubernetes(want: str, catalog: Catalog, tr: TimeRange,
                links: Links | None) -> MetricQuery | None:
    """cAdvisor's container CPU (cores) and working-set memory, kube-state-metrics' restarts
    over the window: summed per pod (cAdvisor's per-pod ``container=""`` cgroup totals and
    the ``POD`` pause containers left out, so nothing counts twice)."""
    name = {"container_cpu": CONTAINER_CPU_SECONDS, "container_memory": CONTAINER_WORKING_SET,
            "restarts": POD_RESTARTS}[want]
    m = catalog.metric(name)
    if m is None:
        return None
    # "pod" names cAdvisor's pause container POD too: never the one asked about
    matchers = [x for x in _filters(m, links) if (x.label, x.value) != ("container", "POD")]
    if want != "restarts" and "container" in m.labels:
        matchers.append(Matcher(label="container", op="!=", value=""))
        if "POD" in m.labels["container"]:
            matchers.append(Matcher(label="container", op="!=", value="POD"))
    by = tuple(x for x in POD_LABELS if x in m.labels)
    if want == "container_cpu":
        return MetricQuery(metric=name, matchers=tuple(matchers), function="rate",
                           aggregation="sum", by=by, time_range=tr)
    if want == "container_memory":
        return MetricQuery(metric=name, matchers=tuple(matchers), aggregation="sum", by=by,
                           time_range=tr)
    return MetricQuery(metric=name, matchers=tuple(matchers), function="increase",
                       aggregation="sum", by=by, mode="instant", time_range=tr)


def request_counter(catalog: Catalog, links: Links | None = None) -> MetricInfo | None:
    """The request counter with a status-code label: the linked one if it qualifies, else
    the best ``*_total`` counter (one named for requests first)."""
    counters = [m for m in catalog.metrics
                if (m.type == "counter" or m.name.endswith("_total"))
                and _label_in(m, STATUS_LABELS)]
    linked = {lk.value for lk in links.metrics} if links is not None else set()
    counters.sort(key=lambda m: (m.name not in linked, "request" not in m.name.lower(),
                                 not m.name.endswith("_total"), m.name))
    return counters[0] if counters else None


def _error_share(question: str, catalog: Catalog, tr: TimeRange,
                 links: Links | None) -> MetricQuery | None:
    m = request_counter(catalog, links)
    if m is None:
        return None
    status = _label_in(m, STATUS_LABELS)
    assert status is not None
    code = _STATUS.search(question)
    if code is None:
        asked = Matcher(label=status, op="=~", value="5..")
    elif code.group(2).lower() == "xx":
        asked = Matcher(label=status, op="=~", value=f"{code.group(1)}..")
    else:
        asked = Matcher(label=status, value=code.group(0))
    filters = tuple(_filters(m, links, skip=STATUS_LABELS))
    host, service = _label_in(m, HOST_LABELS), _label_in(m, SERVICE_LABELS)
    if host and links is not None and links.hosts:
        by: tuple[str, ...] = (host,)
    elif service:
        by = (service,)
    else:
        by = (host,) if host else ()
    return MetricQuery(
        metric=m.name, matchers=(*filters, asked), function="rate", aggregation="sum", by=by,
        time_range=tr,
        binary=(Binary(op="/", right=MetricOperand(
            metric=m.name, matchers=filters, function="rate", aggregation="sum", by=by)),
            Binary(op="*", right=100)))


# -------------------------------------------------------------------------- recognising


def _is_used_percent(tail: tuple[Binary, ...]) -> bool:
    return tail == USED_PERCENT


def derived_metric(q: MetricQuery) -> Derived | None:
    """The derived metric `q` computes, recognised by its shape (None for any other query,
    so a hand-written binary query keeps its own name and unit)."""
    b = q.binary
    if not b:
        return _kubernetes_metric(q)
    if (q.metric == CPU_SECONDS and q.function == "rate" and q.aggregation == "avg"
            and Matcher(label="mode", value="idle") in q.matchers and _is_used_percent(b)):
        return CPU_BUSY
    first = b[0].right
    if len(b) == 3 and b[0].op == "/" and isinstance(first, MetricOperand) \
            and _is_used_percent(b[1:]) and q.function == "raw":
        pair = (q.metric, first.metric)
        if pair == (MEM_AVAILABLE, MEM_TOTAL):
            return MEMORY_USED
        if pair == (FS_AVAIL, FS_SIZE):
            return FILESYSTEM_USED
    if len(b) == 2 and b[0].op == "/" and isinstance(first, MetricOperand) \
            and b[1] == Binary(op="*", right=100) and first.metric == q.metric \
            and q.function == first.function == "rate" \
            and q.aggregation == first.aggregation == "sum" \
            and not any(x.label in STATUS_LABELS for x in first.matchers):
        asked = [x for x in q.matchers if x.label in STATUS_LABELS]
        if len(asked) == 1 and asked[0].op == "=~":
            return STATUS_SHARES.get(asked[0].value)
        if len(asked) == 1 and asked[0].op == "=":
            return STATUS_SHARE
    return None


def _kubernetes_metric(q: MetricQuery) -> Derived | None:
    if q.aggregation != "sum" or q.by != tuple(x for x in POD_LABELS if x in q.by):
        return None
    if q.metric == CONTAINER_CPU_SECONDS and q.function == "rate":
        return CONTAINER_CPU
    if q.metric == CONTAINER_WORKING_SET and q.function == "raw":
        return CONTAINER_MEMORY
    if q.metric == POD_RESTARTS and q.function == "increase" and q.mode == "instant":
        return RESTARTS
    return None


def why(q: MetricQuery) -> str:
    """How a plan lists a derived query: its name and formula."""
    d = derived_metric(q)
    return f"derived {d.key} = {d.formula}" if d else f"metric {q.metric}"
