"""Link the words of a question to the catalog: hosts, services, metrics and label values.

Everything is derived from the live `Catalog`, so the linker works on any fleet, not only
the demo one. Per mention, the first stage that finds something wins:

1. **exact**: a host, service, metric name or label value written as is (any case);
   ``label=value`` and "label value" ("mountpoint /var/lib/data", "code 500").
2. **alias**: forms derived from the catalog: a service's singular/plural ("payment" ->
   payments), its name without separators or a generic suffix ("billing api", "billing"
   -> billing-api), a host's short name (web-01.prod.example.com) or name without port;
   generic synonyms (db/database/데이터베이스 -> a postgres or mysql service, and its host
   when exactly one host is named after it) applied only when such a service exists;
   "web hosts" -> every host of the family web-NN; status classes (5xx -> code=~"5..").
   Metric mentions ("cpu", "CPU 사용률", "memory", "디스크", "latency", "에러") are matched
   by tokens against metric names, help text and label names, through a small table of
   ops synonyms (EN and KO) - never a list of metric names.
3. **fuzzy**: a host written with other separators or zero padding (web02, web-2 ->
   web-02; the digits must be equal: web-07 is never web-01), typos of service names and
   of metric vocabulary (memroy -> memory).
4. **semantic**: the optional callback (the retrieval layer's catalog search) for metric
   mentions, only when nothing else found a metric. Hosts and services are identifiers and
   are never linked by meaning.

Host-like words that are not in the catalog ("web-07", "db-9", "host foo-01", "billing
service") become `UnknownMention`s with suggestions. Time phrases are masked first, so the
"min" in "5 min" is neither a metric word nor an aggregation.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import suggest
from assistant.timeparse import time_spans
from connectors.base import Catalog, MetricInfo

LinkKind = Literal["host", "service", "metric", "label"]
How = Literal["exact", "alias", "fuzzy", "semantic"]
SemanticSearch = Callable[[str], list[tuple[str, str, float]]]
"""text -> [(kind, value, score)], e.g. the retrieval layer's `catalog` collection search."""

__all__ = ["EntityLinker", "Link", "Links", "SemanticSearch", "UnknownMention"]


class Link(BaseModel):
    """One catalog entity found in the question."""

    model_config = ConfigDict(frozen=True)

    kind: LinkKind
    value: str = Field(description="the catalog name (for labels: the label value)")
    span: tuple[int, int] = Field(description="character span of the mention in the question")
    how: How
    score: float = Field(ge=0, le=1)
    text: str = Field(default="", description="the mention as written")
    label: str | None = Field(default=None, description="the label name, for kind='label'")
    op: Literal["=", "=~"] = "="


class UnknownMention(BaseModel):
    """Something that looks like a host or service but is not in the catalog."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["host", "service", "label", "series"]
    value: str
    span: tuple[int, int]
    suggestions: list[str] = Field(default_factory=list)
    message: str = ""


class Links(BaseModel):
    """What `EntityLinker.link` found, best first within each kind."""

    hosts: list[Link] = Field(default_factory=list)
    services: list[Link] = Field(default_factory=list)
    metrics: list[Link] = Field(default_factory=list)
    labels: list[Link] = Field(default_factory=list, description="label = value (op '=')")
    patterns: list[Link] = Field(
        default_factory=list, description="label =~ regex, e.g. 5xx -> code=~'5..'"
    )
    unknown: list[UnknownMention] = Field(default_factory=list)
    time_spans: list[tuple[int, int]] = Field(default_factory=list)

    def values(self, kind: LinkKind) -> list[str]:
        """Distinct linked values of one kind, best first."""
        items = {
            "host": self.hosts,
            "service": self.services,
            "metric": self.metrics,
            "label": self.labels,
        }[kind]
        return list(dict.fromkeys(x.value for x in items))


# --------------------------------------------------------------------------- vocabulary


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _stem(word: str) -> str:
    """A crude stem, the same for question and catalog words ("connections", "connected"
    -> "connect"; "errors" -> "error"; "latencies" -> "latency")."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ation", "ion", "ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


_STOP = _words(
    """
    a an the of on in at for to from by with and or not no is are was were be been being
    what which who whom how why when where show me give get list tell find display plot
    graph chart draw please any all each every there this that these those it its my our
    your their did do does has have had happen happened happening going wrong right up
    down high low higher lower highest lowest over under top bottom most least max min avg
    average mean sum total count rate p50 p90 p95 p99 median percentile quantile peak
    current currently now value values number numbers per second seconds minute minutes
    hour hours day days week spike spiking increase increased decrease decreased change
    changed trend compare vs versus than across between during since last past today
    yesterday cause caused root issue issues problem problems incident incidents alert
    alerts deploy deploys deployment log logs event events runbook runbooks see look check
    doing happens slowest fastest biggest largest many much more less also just only about
    around like so as if but then else other same can could would should will shall may
    might must i we you he she they them us there here service services svc metric metrics
    host hosts server servers node nodes instance instances machine machines box boxes vm
    vms fleet cluster whole entire overall
    """
)
_HOST_WORDS = _words(
    "host hosts server servers node nodes instance instances machine machines box boxes vm vms"
)
_WHICH = _words("which what each every per by any all many how the a one")
_KO_HOST_WORDS = ("호스트", "서버", "노드", "장비", "인스턴스", "머신")
_NOT_HOSTS = frozenset({"utf-8", "utf-16", "sha-1", "sha-256", "x86-64", "x86_64", "iso-8601"})
_SKIP_LABELS = frozenset({"le", "quantile", "__name__"})
_SUFFIXES = ("api", "svc", "service", "server", "srv", "app", "backend", "worker", "web", "ui")

_STATUS = "__status__"
"""A pseudo word carried by metrics with an HTTP status label (code="500", status="502")."""
_STATUS_LABELS = frozenset({"code", "status", "status_code", "http_status", "response_code"})

# Ops synonyms: a word (EN, stemmed) or a Korean stem -> terms to look for in metric names,
# help texts and label names. Generic vocabulary, not the names of any one catalog.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "cpu": ("cpu", "processor", "core"),
    "memory": ("memory", "mem", "ram", "rss", "heap", "resident"),
    "disk": ("disk", "filesystem", "fs", "storage", "volume", "partition", "mountpoint"),
    "network": ("network", "net", "bandwidth", "receive", "transmit", "rx", "tx"),
    "latency": ("latency", "duration", "response", "slow"),
    "error": ("error", "fail", "failure", "failed", _STATUS),
    "status": (_STATUS,),
    "request": ("request", "traffic", "throughput", "qps", "rps", "call", "hit"),
    "load": ("load",),
    "connection": ("connection", "conn", "pool"),
    "certificate": ("certificate", "cert", "tls", "ssl", "expiry", "expire", "expiration"),
    "login": ("login", "signin", "auth", "authentication"),
    "usage": ("usage", "utilization", "util", "used", "percent", "use"),
    "available": ("available", "avail", "free"),
    "restart": ("restart", "reset", "crash"),
    "container": ("container", "pod"),
    "queue": ("queue", "backlog", "lag"),
    "io": ("io", "iowait", "wait"),
    "process": ("process",),
    "space": ("space", "size", "avail", "usage"),
}
_EN_CONCEPT: dict[str, str] = {
    "cpu": "cpu", "cpus": "cpu", "processor": "cpu",
    "memory": "memory", "mem": "memory", "ram": "memory", "rss": "memory", "heap": "memory",
    "disk": "disk", "filesystem": "disk", "fs": "disk", "storage": "disk", "volume": "disk",
    "partition": "disk",
    "network": "network", "net": "network", "bandwidth": "network",
    "latency": "latency", "duration": "latency", "slow": "latency", "slowness": "latency",
    "response": "latency",
    "error": "error", "fail": "error", "failure": "error", "failed": "error", "failing": "error",
    "5xx": "status", "4xx": "status", "status": "status", "code": "status",
    "request": "request", "traffic": "request network", "throughput": "request",
    "qps": "request", "rps": "request",
    "load": "load", "connection": "connection", "conn": "connection", "pool": "connection",
    "certificate": "certificate", "cert": "certificate", "tls": "certificate",
    "ssl": "certificate", "expiry": "certificate", "expire": "certificate",
    "expiration": "certificate",
    "login": "login", "logins": "login", "signin": "login",
    "usage": "usage", "utilization": "usage", "util": "usage", "used": "usage",
    "free": "available", "available": "available",
    "restart": "restart", "crash": "restart",
    "container": "container", "pod": "container",
    "queue": "queue", "backlog": "queue", "lag": "queue",
    "io": "io", "iowait": "io",
    "space": "space",
}  # fmt: skip
"""English word (stemmed) -> its concepts (space-separated keys of `_CONCEPTS`)."""
_MODIFIERS = frozenset({"usage", "available", "space"})
"""Concepts that refine a metric word ("cpu usage") but do not name a metric alone."""
_RESOURCES = frozenset({"cpu", "memory", "disk"})
"""A bare resource ("memory") prefers its usage metric (..._usage_percent)."""
_USAGE_WORDS = frozenset({"usage", "percent", "utilization", "util", "ratio"})
_GENERIC = frozenset({"total", "count", "sum", "bucket", "node", "process", "info", "created"})
_KO_CONCEPT: dict[str, str] = {
    "씨피유": "cpu", "시피유": "cpu", "프로세서": "cpu",
    "메모리": "memory", "램": "memory",
    "디스크": "disk", "스토리지": "disk", "파일시스템": "disk", "저장공간": "disk",
    "볼륨": "disk",
    "네트워크": "network", "대역폭": "network",
    "지연": "latency", "레이턴시": "latency", "응답시간": "latency", "응답": "latency",
    "느려": "latency", "느림": "latency",
    "에러": "error", "오류": "error", "실패": "error",
    "요청": "request", "트래픽": "request", "호출": "request", "처리량": "request",
    "부하": "load", "로드": "load",
    "커넥션": "connection", "연결": "connection", "풀": "connection",
    "인증서": "certificate", "만료": "certificate",
    "로그인": "login",
    "사용률": "usage", "사용량": "usage", "점유율": "usage", "사용": "usage",
    "여유": "available", "남은": "available", "가용": "available",
    "재시작": "restart", "재기동": "restart",
    "컨테이너": "container", "파드": "container",
    "대기열": "queue",
    "입출력": "io",
    "용량": "space", "공간": "space",
}  # fmt: skip


_EN_CONCEPT = {_stem(k): v for k, v in _EN_CONCEPT.items()}
_CONCEPTS = {c: tuple(dict.fromkeys(_stem(t) for t in ts)) for c, ts in _CONCEPTS.items()}
_STOP = _STOP | {_stem(w) for w in _STOP}


@dataclass(frozen=True)
class _Role:
    """A kind of service, named by generic words; linked only if such a service exists."""

    words: frozenset[str]
    ko: tuple[str, ...]
    names: re.Pattern[str]  # searched in service names
    hosts: re.Pattern[str]  # full-matched against host families ("db" of db-01)


def _role(words: str, ko: tuple[str, ...], names: str, hosts: str | None = None) -> _Role:
    return _Role(frozenset(words.split()), ko, re.compile(names), re.compile(hosts or names))


_DB = r"postgres|postgresql|pg|mysql|maria|mongo|db|database|rds|aurora|cockroach|oracle"
_ROLES: tuple[_Role, ...] = (
    _role("db dbs database databases rdbms", ("데이터베이스", "디비"), _DB),
    _role("postgres postgresql pg psql", ("포스트그레스", "포스트그레"), r"postgres|pg", _DB),
    _role("mysql mariadb", ("마이에스큐엘",), r"mysql|maria", _DB),
    _role("cache redis memcached", ("캐시", "레디스"), r"redis|memcache|cache|valkey"),
    _role("queue broker kafka rabbitmq mq", ("카프카",), r"kafka|rabbit|nats|queue|mq|pulsar"),
    _role("gateway gw ingress lb proxy", ("게이트웨이",), r"gateway|gw|ingress|nginx|envoy|proxy"),
    _role("auth authentication sso identity oauth", ("인증",), r"auth|identity|sso|keycloak"),
    _role("elasticsearch elastic opensearch solr", ("검색",), r"search|elastic|solr"),
    _role("payment payments pay", ("결제",), r"pay"),
    _role("cart", ("체크아웃", "장바구니"), r"checkout|cart"),
    _role("frontend website www", ("프론트", "웹"), r"web|frontend|www|site"),
)

_TOKEN = re.compile(r"/?[A-Za-z0-9_][A-Za-z0-9_./:\-]*|/(?=\s|$)")
_SUBWORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+[a-z]*")
_LABEL_EQ = re.compile(
    r"(?P<l>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|=)\s*(?P<q>[\"'`]?)(?P<v>[^\s\"'`,}]+)(?P=q)"
)
_STATUS_CLASS = re.compile(r"(?<![\w])([1-5])xx\b", re.IGNORECASE)
_HANGUL = re.compile(r"[가-힣]+")
_KO_NOT = {"로드": "(?<![운업])로드", "사용": "사용(?!자)"}  # 다운로드 is no load, 사용자 no usage
_KO_CONCEPT_RX = re.compile(
    "|".join(_KO_NOT.get(k, re.escape(k)) for k in sorted(_KO_CONCEPT, key=len, reverse=True))
)


def _name_words(name: str) -> list[str]:
    """Stemmed words of an identifier ("node_memory_MemAvailable_bytes" -> node, memory, ...)."""
    return [_stem(w) for w in _SUBWORD.findall(name) if not w.isdigit()]


def _host_key(name: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Letters and numbers of a host name, ignoring separators and zero padding."""
    low = name.lower()
    return tuple(re.findall(r"[a-z]+", low)), tuple(int(d) for d in re.findall(r"\d+", low))


def _family(host: str) -> str | None:
    """The word a numbered host name starts with ("web-01" -> "web"), if it is one word."""
    m = re.fullmatch(r"([a-z]+)[-_]?\d+", host.lower().split(".")[0])
    return m.group(1) if m else None


def _plural_forms(word: str) -> set[str]:
    w = word.lower()
    out = {w + "s", w + "es"}
    if w.endswith("ies"):
        out.add(w[:-3] + "y")
    if w.endswith("es"):
        out.add(w[:-2])
    if w.endswith("s"):
        out.add(w[:-1])
    if w.endswith("y"):
        out.add(w[:-1] + "ies")
    return out - {w}


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower()


@dataclass
class _MetricIndex:
    info: MetricInfo
    name_words: frozenset[str]
    help_words: frozenset[str]
    label_words: frozenset[str]  # label names and known label values
    core: frozenset[str]  # name words that say what it measures (not total, bucket, ...)
    type_rank: int
    services: frozenset[str]  # known values of labels that hold service names
    hosts: frozenset[str]


class EntityLinker:
    """Finds catalog entities in questions. Build once per catalog; `link` is fast."""

    def __init__(self, catalog: Catalog, semantic: SemanticSearch | None = None) -> None:
        self.catalog = catalog
        self.semantic = semantic
        self._hosts = {h.lower(): h for h in catalog.hosts}
        self._services = {s.lower(): s for s in catalog.services}
        self._metrics = {m.name.lower(): m.name for m in catalog.metrics}
        self._host_alias = self._build_host_aliases()
        self._host_keys = self._unique({_host_key(h): h for h in catalog.hosts}, catalog.hosts)
        self._families: dict[str, list[str]] = defaultdict(list)
        for h in sorted(catalog.hosts):
            fam = _family(h)
            if fam:
                self._families[fam].append(h)
        self._service_alias = self._build_service_aliases()
        self._label_values = self._build_label_values()
        self._label_names = {n.lower(): n for n in catalog.label_names() if n not in _SKIP_LABELS}
        self._status_labels = sorted(
            {
                name
                for m in catalog.metrics
                for name, vals in m.labels.items()
                if any(re.fullmatch(r"[1-5]\d\d", v) for v in vals)
            }
        )
        self._index = [self._index_metric(m) for m in catalog.metrics]
        self._metric_vocab = frozenset(
            w for ix in self._index for w in ix.name_words | ix.help_words | ix.label_words
        )
        self._bigrams = {
            pair for ix in self._index for pair in itertools.pairwise(_name_words(ix.info.name))
        }
        self._vocab = sorted(self._metric_vocab | set(_EN_CONCEPT))

    # -- construction -------------------------------------------------------------------

    @staticmethod
    def _unique(mapping: dict[object, str], names: Iterable[str]) -> dict[object, str]:
        counts: dict[object, int] = defaultdict(int)
        for n in names:
            counts[_host_key(n)] += 1
        return {k: v for k, v in mapping.items() if counts[k] == 1}

    def _build_host_aliases(self) -> dict[str, str]:
        """Short names (web-01 for web-01.prod.example.com) and names without a port."""
        seen: dict[str, list[str]] = defaultdict(list)
        for h in self.catalog.hosts:
            low = h.lower()
            for alias in {low.split(".")[0], re.sub(r":\d+$", "", low)}:
                if alias != low and alias not in self._hosts:
                    seen[alias].append(h)
        return {a: hs[0] for a, hs in seen.items() if len(hs) == 1}

    def _build_service_aliases(self) -> dict[str, str]:
        """Plural/singular, separator-free and suffix-free forms of each service name."""
        cands: dict[str, set[str]] = defaultdict(set)
        for s in self.catalog.services:
            low = s.lower()
            parts = [p for p in re.split(r"[-_.\s]+", low) if p]
            forms = _plural_forms(low) | {
                " ".join(parts),
                "".join(parts),
                "-".join(parts),
                "_".join(parts),
            }
            if len(parts) > 1 and parts[-1] in _SUFFIXES:
                base = " ".join(parts[:-1])
                forms |= {base, *_plural_forms(base)}
            for f in forms - {low}:
                cands[f].add(s)
        taken = set(self._services) | set(self._hosts) | set(self._metrics)
        return {f: next(iter(ss)) for f, ss in cands.items() if len(ss) == 1 and f not in taken}

    def _build_label_values(self) -> dict[str, list[tuple[str, str]]]:
        names = set(self._hosts) | set(self._services)
        out: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for m in self.catalog.metrics:
            for label, vals in m.labels.items():
                if label in _SKIP_LABELS:
                    continue
                for v in vals:
                    if v and v.lower() not in names:
                        out[v.lower()].add((label, v))
        return {k: sorted(v) for k, v in out.items()}

    def _index_metric(self, m: MetricInfo) -> _MetricIndex:
        help_words = {_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", m.help)}
        label_words: set[str] = set()
        svc: set[str] = set()
        hst: set[str] = set()
        for label, values in m.labels.items():
            if label in _SKIP_LABELS:
                continue
            label_words.update(_name_words(label))
            if label.lower() in _STATUS_LABELS or any(
                re.fullmatch(r"[1-5]\d\d", v) for v in values
            ):
                label_words.add(_STATUS)
            for v in values:
                low = v.lower()
                svc.update({low} & self._services.keys())
                hst.update({low} & self._hosts.keys())
                if low not in self._services and low not in self._hosts:
                    label_words.add(_stem(low) if low.isalpha() else low)
        name_words = frozenset(_name_words(m.name))
        rank = {"gauge": 0, "histogram": 0, "summary": 0, "counter": 1}.get(m.type, 2)
        return _MetricIndex(
            info=m,
            name_words=name_words,
            help_words=frozenset(help_words - _STOP),
            label_words=frozenset(label_words),
            core=name_words - _GENERIC,
            type_rank=rank,
            services=frozenset(svc),
            hosts=frozenset(hst),
        )

    # -- linking ------------------------------------------------------------------------

    def link(self, question: str) -> Links:
        """Every catalog entity mentioned in `question` (see the module docstring)."""
        run = _Run(self, question)
        run.explicit_labels()
        run.tokens_exact()
        run.status_classes()
        run.services_alias()
        run.host_groups()
        run.unknown_services()
        run.label_values()
        run.metrics()
        run.keep_relevant_labels()
        run.semantic_fallback()
        return run.result()


def _overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


class _Run:
    """The state of one `link` call."""

    def __init__(self, linker: EntityLinker, question: str) -> None:
        self.lk = linker
        self.q = question
        self.time = time_spans(question)
        self.used: list[tuple[int, int]] = list(self.time)
        self.label_spans: list[tuple[int, int]] = []
        self.links: list[Link] = []
        self.unknown: list[UnknownMention] = []
        self.toks = [
            _Tok(t, m.start(), m.start() + len(t))
            for m in _TOKEN.finditer(question)
            if (t := m.group(0).rstrip(".:-") or m.group(0))
            and not _overlaps((m.start(), m.start() + len(t)), self.time)
        ]

    # -- helpers ------------------------------------------------------------------------

    def add(
        self,
        kind: LinkKind,
        value: str,
        tok: _Tok | tuple[int, int],
        how: How,
        score: float,
        **extra: str,
    ) -> None:
        span = (tok.start, tok.end) if isinstance(tok, _Tok) else tok
        text = self.q[span[0] : span[1]]
        self.links.append(
            Link(
                kind=kind,
                value=value,
                span=span,
                how=how,
                score=round(min(1.0, score), 3),
                text=text,
                **extra,
            )
        )

    def free(self, tok: _Tok) -> bool:
        return not _overlaps((tok.start, tok.end), self.used)

    def take(self, tok: _Tok) -> None:
        self.used.append((tok.start, tok.end))

    def neighbours(self, tok: _Tok) -> tuple[str, str]:
        """The word before and the text right after a token (lower case)."""
        before = re.findall(r"[A-Za-z가-힣]+", self.q[: tok.start])
        return (before[-1].lower() if before else ""), self.q[tok.end : tok.end + 12].lower()

    def host_context(self, tok: _Tok) -> bool:
        prev, after = self.neighbours(tok)
        nxt = re.match(r"\s*([a-z]+|[가-힣]+)", after)
        word = nxt.group(1) if nxt else ""
        return (
            prev in _HOST_WORDS
            or word in _HOST_WORDS
            or any(word.startswith(k) or prev.endswith(k) for k in _KO_HOST_WORDS)
        )

    def unknown_host(self, tok: _Tok) -> None:
        hosts = self.lk.catalog.hosts
        fam = re.match(r"[a-z]+", tok.low)
        same = self.lk._families.get(fam.group(0), []) if fam else []
        sugg = same[:3] or suggest(tok.text, hosts)
        msg = f"no host named {tok.text!r}"
        if sugg:
            msg += "; did you mean " + ", ".join(repr(s) for s in sugg) + "?"
        elif hosts:
            msg += "; known hosts: " + ", ".join(sorted(hosts)[:12])
        self.unknown.append(
            UnknownMention(
                kind="host",
                value=tok.text,
                span=(tok.start, tok.end),
                suggestions=sugg,
                message=msg,
            )
        )
        self.take(tok)

    def host_shaped(self, tok: _Tok) -> bool:
        low = tok.low
        if low in _NOT_HOSTS or re.match(r"v\d", low) or low in self.lk._label_values:
            return False
        if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", low):  # an IPv4 address
            return True
        if not re.match(r"[a-z]", low) or not re.search(r"\d", low):
            return False
        fam = re.match(r"[a-z]+", low)
        if fam and fam.group(0) in self.lk._families and re.fullmatch(r"[a-z]+[-_.]?\d+", low):
            return True
        return bool(re.search(r"[-.]", low)) and not re.search(r"_", low)

    # -- stages -------------------------------------------------------------------------

    def explicit_labels(self) -> None:
        """``label=value`` / ``label=~regex`` and "label value" ("mountpoint /var/lib/data")."""
        lk = self.lk
        for m in _LABEL_EQ.finditer(self.q):
            name = lk._label_names.get(m.group("l").lower())
            span = (m.start(), m.end())
            if name is None or _overlaps(span, self.used):
                continue
            value, op = m.group("v"), m.group("op")
            known = sorted({v for mi in lk.catalog.metrics for v in mi.labels.get(name, [])})
            if op == "=~":
                self.add("label", value, span, "exact", 1.0, label=name, op="=~")
            elif not known or value in known:
                self.add("label", value, span, "exact", 1.0, label=name)
            else:
                sugg = suggest(value, known)
                self.unknown.append(
                    UnknownMention(
                        kind="label",
                        value=f"{name}={value}",
                        span=span,
                        suggestions=sugg,
                        message=f"label {name!r} has no value {value!r}"
                        + (f"; did you mean {', '.join(map(repr, sugg))}?" if sugg else ""),
                    )
                )
            self.used.append(span)
        for a, b in itertools.pairwise(self.toks):
            name = lk._label_names.get(a.low)
            if name is None or not self.free(a) or not self.free(b):
                continue
            if not re.fullmatch(r"\s*", self.q[a.end : b.start]):
                continue
            for label, value in lk._label_values.get(b.low, []):
                if label == name:
                    self.add("label", value, (a.start, b.end), "exact", 1.0, label=label)
                    self.label_spans.append((a.start, b.end))
                    break

    def tokens_exact(self) -> None:
        """Whole tokens: metric names, hosts, services; host-shaped unknowns."""
        lk = self.lk
        for tok in self.toks:
            if not self.free(tok):
                continue
            low = tok.low
            if low in lk._metrics:
                self.add("metric", lk._metrics[low], tok, "exact", 1.0)
            elif low in lk._hosts:
                self.add("host", lk._hosts[low], tok, "exact", 1.0)
            elif low in lk._services:
                self.add("service", lk._services[low], tok, "exact", 1.0)
                self.role_hosts(low, tok)
            elif low in lk._host_alias:
                self.add("host", lk._host_alias[low], tok, "alias", 0.95)
            elif low in lk._service_alias:
                self.add("service", lk._service_alias[low], tok, "alias", 0.9)
            elif re.search(r"\d", low) and _host_key(low) in lk._host_keys and self.host_like(tok):
                self.add("host", lk._host_keys[_host_key(low)], tok, "fuzzy", 0.9)
            elif self.host_shaped(tok) or (self.host_context(tok) and self.unknown_word(tok)
                                           and self.named_as_host(tok)):
                self.unknown_host(tok)
                continue
            else:
                continue
            self.take(tok)

    @staticmethod
    def name_like(tok: _Tok) -> bool:
        """Written like a name (a digit, a separator or a capital: "Apollo", "db_7")."""
        return bool(re.search(r"[\d\-._:]|[A-Z]", tok.text))

    def named_as_host(self, tok: _Tok) -> bool:
        """A word next to a host noun that names a host (not one asking or describing)."""
        return self.name_like(tok) or not (self.asks_which(tok) or self.modifies_host_word(tok))

    def modifies_host_word(self, tok: _Tok) -> bool:
        """A plain word that describes a host noun rather than names one: right before it
        ("the first instance", "a new node") or a verb form right after it ("instance
        terminated", "node rebooting"); a name would be written like one ("Apollo")."""
        prev, after = self.neighbours(tok)
        nxt = re.match(r"\s*([a-z]+)", after)
        if nxt is not None and nxt.group(1) in _HOST_WORDS:
            return True
        return prev in _HOST_WORDS and len(tok.low) > 4 and tok.low.endswith(("ed", "ing"))

    def asks_which(self, tok: _Tok) -> bool:
        """The host word before `tok` is asked about ("which node logged the most"): the
        plain word after it is the question going on, not a host name."""
        before = re.findall(r"[A-Za-z]+", self.q[: tok.start].lower())
        return len(before) >= 2 and before[-1] in _HOST_WORDS and before[-2] in _WHICH

    def host_like(self, tok: _Tok) -> bool:
        return bool(re.match(r"[a-z]", tok.low)) and tok.low not in self.lk._label_values

    def unknown_word(self, tok: _Tok) -> bool:
        """A word after "host"/"server" that is not something else we know."""
        low = tok.low
        return (
            bool(re.match(r"[a-z]", low))
            and low not in _STOP
            and _stem(low) not in _EN_CONCEPT
            and low not in self.lk._label_values
            and _stem(low) not in self.lk._metric_vocab
            and low not in self.lk._families
            and not any(low in r.words for r in _ROLES)
        )

    def status_classes(self) -> None:
        """ "5xx" -> label=~"5.." on every label whose values are HTTP status codes."""
        for m in _STATUS_CLASS.finditer(self.q):
            span = (m.start(), m.end())
            if _overlaps(span, self.used):
                continue
            for label in self.lk._status_labels:
                self.add("label", f"{m.group(1)}..", span, "alias", 0.9, label=label, op="=~")

    def role_hosts(
        self, word: str, span: _Tok | tuple[int, int], roles: list[int] | None = None
    ) -> None:
        """Link the one host named after a service's role ("db" -> db-01), if exactly one.

        Only roles that some service of the catalog has count, so "mysql" never links the
        host of a postgres fleet.
        """
        idx = roles if roles is not None else [i for i, r in enumerate(_ROLES) if word in r.words]
        for i in idx:
            role = _ROLES[i]
            if not any(role.names.search(s.lower()) for s in self.lk.catalog.services):
                continue
            hosts = [
                h for fam, hs in self.lk._families.items() if role.hosts.fullmatch(fam) for h in hs
            ]
            if len(hosts) == 1:
                self.add("host", hosts[0], span, "alias", 0.7)

    def services_alias(self) -> None:
        """Multi-word service names, role words (db, 결제), typos of service names."""
        lk = self.lk
        free = [t for t in self.toks if self.free(t)]
        for a, b in itertools.pairwise(free):  # "billing api" -> billing-api
            if re.fullmatch(r"\s+", self.q[a.end : b.start]):
                joined = f"{a.low} {b.low}"
                svc = lk._services.get(joined.replace(" ", "-")) or lk._service_alias.get(joined)
                if svc and self.free(a) and self.free(b):
                    self.add("service", svc, (a.start, b.end), "alias", 0.9)
                    self.take(a)
                    self.take(b)
        words: list[tuple[str, tuple[int, int]]] = [
            (t.low, (t.start, t.end)) for t in self.toks if self.free(t)
        ]
        for m in _HANGUL.finditer(self.q):
            for r in _ROLES:
                for k in r.ko:
                    if k in m.group(0) and not m.group(0).startswith(k + "서"):  # 인증서 != 인증
                        i = m.start() + m.group(0).index(k)
                        words.append((k, (i, i + len(k))))
        linked = {x.value for x in self.links if x.kind == "service"}
        for word, span in words:
            if _overlaps(span, self.used):
                continue
            roles = [i for i, r in enumerate(_ROLES) if word in r.words or word in r.ko]
            if roles and not self.metric_bigram(span):
                svcs = [
                    s
                    for s in lk.catalog.services
                    if any(_ROLES[i].names.search(s.lower()) for i in roles)
                ]
                for s in svcs:
                    if s not in linked:
                        self.add("service", s, span, "alias", 0.8 if len(svcs) == 1 else 0.6)
                        linked.add(s)
                self.role_hosts(word, span, roles)
                if svcs:
                    self.used.append(span)
                continue
            if len(word) >= 5 and re.fullmatch(r"[a-z][a-z0-9_-]*", word) and word not in _STOP:
                close = difflib.get_close_matches(word, list(lk._services), n=1, cutoff=0.85)
                if close and lk._services[close[0]] not in linked:
                    ratio = difflib.SequenceMatcher(None, word, close[0]).ratio()
                    self.add("service", lk._services[close[0]], span, "fuzzy", 0.9 * ratio)
                    linked.add(lk._services[close[0]])
                    self.used.append(span)

    def metric_bigram(self, span: tuple[int, int]) -> bool:
        """True when a word starts a metric name with the next word ("db pool")."""
        word = self.q[span[0] : span[1]].lower()
        nxt = re.match(r"[\s_]*([A-Za-z]+)", self.q[span[1] :])
        return nxt is not None and (word, _stem(nxt.group(1))) in self.lk._bigrams

    def host_groups(self) -> None:
        """Host families: "web hosts" / "web 서버" -> every host of the family web-NN."""
        for tok in self.toks:
            hosts = self.lk._families.get(tok.low)
            if not hosts or not self.free(tok):
                continue
            _, after = self.neighbours(tok)
            nxt = re.match(r"\s*([a-z]+|[가-힣]+)", after)
            word = nxt.group(1) if nxt else ""
            if word in _HOST_WORDS or any(word.startswith(k) for k in _KO_HOST_WORDS):
                for h in hosts:
                    self.add("host", h, tok, "alias", 0.6)
                self.take(tok)

    def unknown_services(self) -> None:
        """Unknown services: "billing service" / "billing 서비스" where no such service exists."""
        linked = {x.span for x in self.links}
        for tok in self.toks:
            if not self.free(tok) or (tok.start, tok.end) in linked:
                continue
            _, after = self.neighbours(tok)
            if not re.match(r"\s*(?:service|svc)\b|\s*서비스", after):
                continue
            low = tok.low
            if low in _STOP or _stem(low) in _EN_CONCEPT or not re.match(r"[a-z]", low):
                continue
            if any(x.kind == "service" and x.span[0] <= tok.start < x.span[1] for x in self.links):
                continue
            sugg = suggest(tok.text, self.lk.catalog.services)
            msg = f"no service named {tok.text!r}"
            if sugg:
                msg += "; did you mean " + ", ".join(repr(s) for s in sugg) + "?"
            elif self.lk.catalog.services:
                msg += "; known services: " + ", ".join(sorted(self.lk.catalog.services))
            self.unknown.append(
                UnknownMention(
                    kind="service",
                    value=tok.text,
                    span=(tok.start, tok.end),
                    suggestions=sugg,
                    message=msg,
                )
            )
            self.take(tok)

    # -- label values -------------------------------------------------------------------

    def label_values(self) -> None:
        """Known label values written as is: "500", "/var/lib/data", "eth0", "iowait".

        Plain words ("user", "system") are kept only if a linked metric has that label
        (see `keep_relevant_labels`). Label tokens still count as metric words.
        """
        lk = self.lk
        for tok in self.toks:
            if not self.free(tok):
                continue
            low = tok.low[:-1] if re.fullmatch(r"\d{3}s", tok.low) else tok.low  # "500s"
            distinct = bool(re.search(r"[\d/._-]", low)) and (len(low) >= 3 or "/" in low)
            for label, value in lk._label_values.get(low, []):
                if distinct or (len(low) >= 3 and low not in _STOP):
                    self.add("label", value, tok, "exact", 0.9 if distinct else 0.7, label=label)
                    self.label_spans.append((tok.start, tok.end))
        m = re.search(r"\broot\s+(?:file\s*system|partition|volume|disk|mount)|루트", self.q, re.I)
        if m:
            for label, value in lk._label_values.get("/", []):
                self.add("label", value, m.span(), "alias", 0.7, label=label)

    def keep_relevant_labels(self) -> None:
        """Drop plain-word label values whose label no linked metric has."""
        names: set[str] = set()
        for x in self.links:
            info = self.lk.catalog.metric(x.value) if x.kind == "metric" else None
            if info is not None:
                names.update(info.labels)
        self.links = [
            x
            for x in self.links
            if not (x.kind == "label" and x.score < 0.9 and x.label not in names)
        ]

    # -- metrics ------------------------------------------------------------------------

    def metric_words(self) -> list[tuple[str, tuple[int, int], float]]:
        """(word, span, weight) for every free word the metric vocabulary knows."""
        lk = self.lk
        out: list[tuple[str, tuple[int, int], float]] = []
        for tok in self.toks:
            if not self.free(tok):
                continue
            low = tok.low[:-1] if re.fullmatch(r"\d{3}s", tok.low) else tok.low
            if _STATUS_CLASS.fullmatch(tok.text):
                out.append(("5xx", (tok.start, tok.end), 1.0))
                continue
            if low in lk._metric_vocab and not low.isalpha():  # "500", "eth0"
                out.append((low, (tok.start, tok.end), 1.0))
                continue
            for m in _SUBWORD.finditer(tok.text):
                w = _stem(m.group(0))
                span = (tok.start + m.start(), tok.start + m.end())
                if w in _STOP or w.isdigit() or len(w) < 2:
                    continue
                if w in _EN_CONCEPT or w in lk._metric_vocab:
                    out.append((w, span, 1.0))
                elif len(w) >= 5:
                    close = difflib.get_close_matches(w, lk._vocab, n=1, cutoff=0.8)
                    if close:
                        out.append((close[0], span, 0.8))
        for m in _KO_CONCEPT_RX.finditer(self.q):
            if not _overlaps(m.span(), self.used):
                out.append((m.group(0), m.span(), 1.0))
        return sorted(out, key=lambda x: x[1])

    @staticmethod
    def concepts(word: str) -> list[str]:
        return (_KO_CONCEPT.get(word) or _EN_CONCEPT.get(word) or "").split()

    def word_terms(self, word: str) -> list[tuple[str, float]]:
        """The word itself (weight 1) and its synonyms (0.9; a status-code label counts 1)."""
        terms = [] if word in _KO_CONCEPT else [(word, 1.0)]
        for c in self.concepts(word):
            terms += [(t, 1.0 if t == _STATUS else 0.9) for t in _CONCEPTS[c] if t != word]
        return terms

    @staticmethod
    def word_score(ix: _MetricIndex, terms: list[tuple[str, float]]) -> float:
        """1 for a name match, 0.6 label name/value, 0.5 help only; +0.2 when the word
        itself (not a synonym) is also in the help text."""
        best, bonus = 0.0, 0.0
        for t, w in terms:
            if t in ix.name_words or (t == _STATUS and t in ix.label_words):
                best = max(best, w)
            elif t in ix.label_words:
                best = max(best, 0.6 * w)
            if t in ix.help_words:
                best = max(best, 0.5 * w)
                bonus = 0.2 if w == 1.0 else bonus
        return best + bonus if best else 0.0

    def metrics(self) -> None:
        """Group adjacent metric words into mentions and rank metrics for each."""
        groups: list[list[tuple[str, tuple[int, int], float]]] = []
        for w in self.metric_words():
            if groups and re.fullmatch(r"[\s_\-/]*", self.q[groups[-1][-1][1][1] : w[1][0]]):
                groups[-1].append(w)
            else:
                groups.append([w])
        svc = {x.value.lower() for x in self.links if x.kind == "service" and x.score >= 0.8}
        hst = {x.value.lower() for x in self.links if x.kind == "host" and x.score >= 0.8}
        for group in groups:
            self.metric_group(group, svc, hst)

    def metric_group(
        self, group: list[tuple[str, tuple[int, int], float]], svc: set[str], hst: set[str]
    ) -> None:
        words = [(self.word_terms(w), weight, self.concepts(w)) for w, _, weight in group]
        heads = [i for i, (_, _, cs) in enumerate(words) if not set(cs) <= _MODIFIERS]
        all_terms = {t for terms, _, _ in words for t, _ in terms}
        resource = any(set(cs) & _RESOURCES for _, _, cs in words)
        table = [
            [self.word_score(ix, terms) * weight for terms, weight, _ in words]
            for ix in self.lk._index
        ]
        tops = [max(col, default=0.0) for col in zip(*table, strict=True)]
        if not any(tops):
            return
        ranked: list[tuple[float, int, int, str]] = []
        for ix, per in zip(self.lk._index, table, strict=True):
            if not any(per) or (heads and not any(per[i] for i in heads)):
                continue
            s = sum(per) / sum(tops)  # words nothing matches well weigh less
            if ix.core:
                s += 0.1 * len(ix.core & all_terms) / len(ix.core)
            if resource and ix.name_words & _USAGE_WORDS:
                s += 0.1
            if (svc and ix.services and not svc & ix.services) or (
                hst and ix.hosts and not hst & ix.hosts
            ):
                s *= 0.5  # the catalog says this metric has no series for that service/host
            ranked.append((s, ix.type_rank, len(ix.info.name), ix.info.name))
        if not ranked:
            return
        ranked.sort(key=lambda r: (-r[0], r[1], r[2]))
        best = ranked[0][0]
        span = (group[0][1][0], group[-1][1][1])
        how: How = "fuzzy" if all(w < 1.0 for _, _, w in group) else "alias"
        for s, _, _, name in ranked[:5]:
            if s < 0.5 * best or s < 0.3:
                break
            # the mention's strength (its best absolute word score: a label-value or help-only
            # match is weaker than a name match), shared out by rank
            strength = min(1.0, max(tops))
            self.add("metric", name, span, how, 0.9 * strength * s / best)

    def semantic_fallback(self) -> None:
        if self.lk.semantic is None or any(x.kind == "metric" for x in self.links):
            return
        rest = list(self.q)
        for s, e in self.used + self.label_spans:
            rest[s:e] = " " * (e - s)
        text = re.sub(r"\s+", " ", "".join(rest)).strip()
        if not re.search(r"[A-Za-z가-힣]{2,}", text):
            return
        known = {m.name for m in self.lk.catalog.metrics}
        hits = [(v, s) for k, v, s in self.lk.semantic(text) if k == "metric" and v in known]
        span = (0, len(self.q))
        for value, score in sorted(hits, key=lambda h: -h[1])[:3]:
            self.add("metric", value, span, "semantic", max(0.0, min(1.0, score)))

    def result(self) -> Links:
        order = {"exact": 0, "alias": 1, "fuzzy": 2, "semantic": 3}
        best: dict[tuple[str, str, str | None, str], Link] = {}
        for x in self.links:
            key = (x.kind, x.value, x.label, x.op)
            old = best.get(key)
            if old is None or (order[x.how], -x.score) < (order[old.how], -old.score):
                best[key] = x
        items = list(best.values())

        def pick(kind: str, op: str = "=") -> list[Link]:
            chosen = [x for x in items if x.kind == kind and x.op == op]
            return sorted(chosen, key=lambda x: (order[x.how], -x.score, x.span[0]))

        return Links(
            hosts=pick("host"),
            services=pick("service"),
            metrics=pick("metric"),
            labels=pick("label"),
            patterns=pick("label", "=~"),
            unknown=self.unknown,
            time_spans=self.time,
        )
