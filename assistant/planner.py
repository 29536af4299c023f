"""Rules planner: intent + linked entities + time range -> a list of IR queries.

Deterministic and fast; it works on any catalog because it chooses metrics by their type,
labels and names as linked by `assistant.entities`, never by a list of demo names. The LLM
planner (`assistant.llm_planner`) can replace or back it up (`hybrid`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, cast

from assistant.entities import Links, UnknownMention
from assistant.intent import LOG_FIELD_WORDS, IntentReading
from assistant.ir import (
    AGG_QUANTILES,
    Aggregation,
    DocQuery,
    EventQuery,
    Extract,
    ExtractKind,
    LogField,
    LogQuery,
    Matcher,
    MetricFunction,
    MetricQuery,
    Query,
    TimeRange,
)
from assistant.runbooks import asks_cause, asks_meaning_of_an_alert, question_role
from connectors.base import Catalog, MetricInfo

Purpose = Literal["main", "context", "errors", "latency", "logs", "events", "docs"]

HOST_LABELS = ("host", "instance", "hostname", "node")
SERVICE_LABELS = ("service", "job", "app")
STATUS_LABELS = ("code", "status", "status_code")
ERROR_WORDS = re.compile(r"5xx|error|errors|fail|에러|오류|실패", re.IGNORECASE)
LATENCY_WORDS = re.compile(r"latency|duration|response time|slow|지연|응답 ?시간|느려", re.I)


@dataclass
class PlannedQuery:
    query: Query
    purpose: Purpose = "main"
    why: str = ""


@dataclass
class Plan:
    queries: list[PlannedQuery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None
    clarification: str | None = None
    unknown: UnknownMention | None = None


def _label_in(metric: MetricInfo, candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        if name in metric.labels:
            return name
    return None


def _status_matcher(metric: MetricInfo, text: str) -> Matcher | None:
    label = _label_in(metric, STATUS_LABELS)
    if label is None:
        return None
    m = re.search(r"\b([1-5])(?:xx|\d\d)\b", text, re.IGNORECASE)
    if m and m.group(0).lower().endswith("xx"):
        return Matcher(label=label, op="=~", value=f"{m.group(1)}..")
    if m:
        return Matcher(label=label, value=m.group(0))
    if ERROR_WORDS.search(text):
        return Matcher(label=label, op="=~", value="5..")
    return None


def find_metric(
    catalog: Catalog, *, kind: Literal["errors", "latency"], service_label: bool
) -> MetricInfo | None:
    """A generic choice when no metric was named: the request counter or latency histogram."""
    best: tuple[int, MetricInfo] | None = None
    for m in catalog.metrics:
        name = m.name.lower()
        score = 0
        if kind == "errors" and (m.type == "counter" or name.endswith("_total")):
            if _label_in(m, STATUS_LABELS):
                score = 3 + ("request" in name)
        elif kind == "latency" and (m.type == "histogram" or name.endswith("_bucket")):
            score = 2 + any(w in name for w in ("duration", "latency", "seconds"))
        if score and service_label and _label_in(m, SERVICE_LABELS) is None:
            score -= 1
        if score and (best is None or score > best[0]):
            best = (score, m)
    return best[1] if best else None


def _is_counter(m: MetricInfo) -> bool:
    return m.type == "counter" or m.name.endswith("_total")


def _is_histogram(m: MetricInfo) -> bool:
    return m.type == "histogram" or m.name.endswith("_bucket") or "le" in m.labels


def histogram_base(name: str) -> str:
    """`x` for any of a histogram family's series names (`x_bucket`, `x_count`, `x_sum`)."""
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass
class PlanInput:
    question: str  # time phrases removed
    time_range: TimeRange
    reading: IntentReading
    links: Links
    catalog: Catalog


def metric_query(
    m: MetricInfo,
    inp: PlanInput,
    *,
    quantile_stat: str | None = None,
    force_status: bool = False,
) -> MetricQuery:
    """One metric question -> one range query with matchers and a sensible function."""
    r, links = inp.reading, inp.links
    matchers: list[Matcher] = []
    host_label = _label_in(m, HOST_LABELS)
    service_label = _label_in(m, SERVICE_LABELS)
    hosts = _applicable(m, host_label, [h.value for h in links.hosts])
    services = _applicable(m, service_label, [s.value for s in links.services])
    if hosts and host_label:
        matchers.append(_one_or_regex(host_label, hosts, m, host=True))
    if services and service_label:
        matchers.append(_one_or_regex(service_label, services, m, host=False))
    for lv in [*links.labels, *links.patterns]:
        if lv.label and lv.label in m.labels and lv.label not in {x.label for x in matchers}:
            matchers.append(Matcher(label=lv.label, op=lv.op, value=lv.value))
    if force_status or not any(x.label in STATUS_LABELS for x in matchers):
        sm = _status_matcher(m, inp.question) if (force_status or ERROR_WORDS.search(
            inp.question) or re.search(r"\b[1-5]xx\b", inp.question, re.I)) else None
        if sm is not None:
            matchers = [x for x in matchers if x.label != sm.label] + [sm]

    function: MetricFunction = "raw"
    quantile: float | None = None
    aggregation: Aggregation = "none"
    by: tuple[str, ...] = ()
    if _is_histogram(m):
        function = "histogram_quantile"
        stat = quantile_stat or r.stat
        quantile = 0.5 if stat == "avg" else AGG_QUANTILES.get(stat or "", 0.95)
    elif _is_counter(m):
        function = "increase" if (r.count or r.stat == "sum") and not r.rate else "rate"
    elif wants_samples(r, inp.time_range):
        return _samples_query(m, tuple(matchers), r, inp.time_range)
    if function != "raw":
        # Sum away every other label so each answer line is one host or one service.
        if host_label and (hosts or (r.topk and not services)):
            by = (host_label,)
        elif service_label:
            by = (service_label,)
        elif host_label:
            by = (host_label,)
        aggregation = "sum"
    metric_name = m.name
    if function == "histogram_quantile":
        metric_name = histogram_base(metric_name)
    return MetricQuery(
        metric=metric_name,
        matchers=tuple(matchers),
        function=function,
        quantile=quantile,
        aggregation=aggregation,
        by=by,
        time_range=inp.time_range,
    )


SAMPLE_STATS = frozenset({"peak", "lowest", "avg", "sum", *AGG_QUANTILES})
SAMPLES_MAX_RANGE_S = 366 * 86400
"""Longer ranges keep the step-sampled path (the raw samples would pass the sample cap)."""


def wants_samples(r: IntentReading, tr: TimeRange) -> bool:
    """A statistic of one gauge over the window (peak, minimum, mean, quantile, time above a
    value, per-day sums, a comparison): computed from every raw sample, so a one-sample
    spike between evaluation steps is not missed."""
    if r.topk or r.rate or tr.duration_s > SAMPLES_MAX_RANGE_S:
        return False
    return (r.stat in SAMPLE_STATS or r.threshold is not None or r.bucket_s is not None
            or r.compare)


def _samples_query(
    m: MetricInfo, matchers: tuple[Matcher, ...], r: IntentReading, tr: TimeRange
) -> MetricQuery:
    bucket = r.bucket_s
    # "total" means per-day sums; "how many times above 1000" is a count of samples
    if bucket is None and (r.compare or (r.stat == "sum" and r.threshold is None)):
        bucket = 86400 if tr.duration_s >= 86400 else 3600
    return MetricQuery(
        metric=m.name,
        matchers=matchers,
        function="samples",
        quantile=AGG_QUANTILES.get(r.stat or ""),
        threshold=r.threshold,
        bucket_s=bucket,
        time_range=tr,
    )


LABEL_VALUES_CAP = 50


def _applicable(m: MetricInfo, label: str | None, values: list[str]) -> list[str]:
    """Linked values this metric actually has (a derived alias like "db" -> postgres must
    not filter a metric that only knows checkout and payments down to nothing)."""
    if label is None:
        return []
    known = m.labels.get(label, [])
    if not known or len(known) >= LABEL_VALUES_CAP:
        return values
    strip = {k.split(":")[0] for k in known}
    return [v for v in values if v in known or v in strip]


def _one_or_regex(label: str, values: list[str], m: MetricInfo, *, host: bool) -> Matcher:
    known = m.labels.get(label, [])
    if host and label == "instance" and known and values[0] not in known:
        # instance is often host:port
        return Matcher(label=label, op="=~", value="|".join(re.escape(v) + "(:\\d+)?"
                                                            for v in values))
    if len(values) == 1:
        return Matcher(label=label, value=values[0])
    return Matcher(label=label, op="=~", value="|".join(re.escape(v) for v in values))


def _log_query(inp: PlanInput, *, top: bool) -> LogQuery:
    r, links = inp.reading, inp.links
    text = r.quoted[0] if r.quoted else None
    return LogQuery(
        time_range=inp.time_range,
        service=links.services[0].value if links.services else None,
        host=links.hosts[0].value if links.hosts else None,
        level=r.level,
        text=text,
        count_by="template" if top else None,
        top_k=r.topk or 5,
        limit=20,
    )


COLUMN_FIELDS: dict[str, LogField] = {
    "host": "host", "service": "service", "level": "level", "template": "template",
}
VALUES_LISTED = 20
"""How many values a "which X" / "list the X" question lists."""
RUNNER_UPS = 2
"""Values named after the top one in a "which X ... most" answer."""


def _log_op_query(inp: PlanInput) -> LogQuery | None:
    """The log operation the wording asks for (`IntentReading.log_op`) as one query: the
    first/last matching line, the busiest period, the number or list of distinct values of
    a field, or its most frequent values. The field is a column or a value read from the
    message by a named pattern (see `intent.LOG_FIELD_WORDS`)."""
    r = inp.reading
    if r.log_op is None:
        return None
    words = dict(LOG_FIELD_WORDS).get(r.log_field or "")
    if words is not None:  # "which node ...": the field's own word filters nothing
        links = inp.links
        asked = {"hosts": [x for x in links.hosts if not words.fullmatch(x.text)],
                 "services": [x for x in links.services if not words.fullmatch(x.text)]}
        inp = PlanInput(inp.question, inp.time_range, r, links.model_copy(update=asked),
                        inp.catalog)
    base = _log_query(inp, top=False)
    column = COLUMN_FIELDS.get(r.log_field or "")
    extract = None if r.log_field is None or column else \
        Extract(kind=cast(ExtractKind, r.log_field))
    update: dict[str, object] = {"extract": extract}
    match r.log_op:
        case "first" | "last":
            update |= {"order": "oldest" if r.log_op == "first" else "newest", "limit": 1}
        case "busiest":
            update |= {"busiest": r.busiest_unit or "hour", "top_k": 3}
        case "distinct_count":
            update |= {"count_by": column or "extracted", "aggregate": "count_distinct"}
        case "distinct_list":
            update |= {"count_by": column or "extracted", "top_k": VALUES_LISTED}
        case "top_value":
            update |= {"count_by": column or "extracted", "top_k": 1 + RUNNER_UPS}
        case _:
            return None
    return LogQuery.model_validate({**base.model_dump(), **update})


def _asked_field_words(links: Links, r: IntentReading) -> Links:
    """A question about the hosts (or services) themselves ("which node reported ...", "how
    many hosts couldn't ...") has a word after "node" that is not a name: an unknown
    mention of the asked-for kind without a digit or separator is dropped."""
    if r.log_op is None or r.log_field not in ("host", "service") or not links.unknown:
        return links
    kept = [u for u in links.unknown
            if u.kind != r.log_field or re.search(r"[\d._:-]", u.value)]
    return links.model_copy(update={"unknown": kept})


def _event_query(inp: PlanInput, *, widen_s: int = 0) -> EventQuery:
    from datetime import timedelta

    tr = inp.time_range
    if widen_s:
        tr = TimeRange(
            start=tr.start - timedelta(seconds=widen_s), end=tr.end, timezone=tr.timezone
        )
    links = inp.links
    return EventQuery(
        time_range=tr,
        kinds=tuple(inp.reading.event_kinds),
        service=links.services[0].value if links.services else None,
        host=links.hosts[0].value if links.hosts else None,
        limit=50,
    )


def plan_rules(inp: PlanInput) -> Plan:
    """The deterministic plan for one question."""
    r, links, cat = inp.reading, inp.links, inp.catalog
    plan = Plan()
    intents = set(r.intents)

    if "refuse" in intents and not asks_meaning_of_an_alert(inp.question):
        plan.refusal = "write"
        return plan
    links = _asked_field_words(links, r)
    if links.unknown and not (("docs" in intents or question_role(inp.question))
                              and not links.hosts and not links.services):
        # A how-to question may name things we do not monitor ("a JVM service"); a question
        # about telemetry must not silently drop an unknown host or service.
        plan.unknown = links.unknown[0]
        plan.clarification = links.unknown[0].message or f"no {links.unknown[0].kind} named "\
            f"{links.unknown[0].value!r}"
        return plan

    role = question_role(inp.question)
    if role is not None and not asks_cause(inp.question):
        # "What does X mean?", "how do I fix X?": the runbook answers it, even when X looks
        # like a metric or an alert; telemetry is not asked for.
        plan.queries.append(PlannedQuery(DocQuery(text=inp.question, k=RUNBOOK_HITS), "docs",
                                         f"runbooks ({role})"))
        return plan
    named = _named_metrics(links, cat)
    if "why" in intents:
        return _plan_why(inp, named)

    if named and ("metric" in intents or not intents - {"docs"}):
        for m in named[:2]:
            mq = metric_query(m, inp)
            plan.queries.append(PlannedQuery(mq, "main", f"metric {mq.metric}"))
    elif "metric" in intents and not ({"logs", "events"} & intents):
        kind: Literal["errors", "latency"] = (
            "latency" if LATENCY_WORDS.search(inp.question) else "errors"
        )
        found = find_metric(cat, kind=kind, service_label=bool(links.services))
        if found is not None and (kind == "latency" or ERROR_WORDS.search(inp.question)
                                  or r.rate or "request" in inp.question.lower()):
            plan.queries.append(PlannedQuery(
                metric_query(found, inp, force_status=kind == "errors"), "main",
                f"{kind} {found.name}"))
    op = _log_op_query(inp) if not plan.queries else None
    if op is not None:
        plan.queries.append(PlannedQuery(op, "logs", f"log {r.log_op}"))
    elif "logs" in intents or (r.level and not plan.queries and "events" not in intents):
        plan.queries.append(PlannedQuery(_log_query(inp, top=True), "logs", "log templates"))
        if not (r.top_templates or r.count):
            plan.queries.append(PlannedQuery(_log_query(inp, top=False), "logs", "log lines"))
    if "events" in intents:
        plan.queries.append(PlannedQuery(_event_query(inp), "events", "events"))
    if "docs" in intents or not plan.queries:
        plan.queries.append(PlannedQuery(DocQuery(text=inp.question, k=3), "docs", "runbooks"))
        cat = inp.catalog
        if not (cat.metrics or cat.services or cat.hosts or cat.log_levels):
            plan.notes.append("there is no telemetry here (no metrics, logs or events); "
                              "searched the runbooks; 'opsa ingest' adds telemetry")
        elif not ({"docs"} & intents) and not named:
            plan.notes.append("the question named no metric, log or event; searched the runbooks")
    return plan


SECOND_METRIC_SCORE = 0.7
RUNBOOK_HITS = 3
WHY_RUNBOOKS = 5  # an investigation cites the alert catalogue, service page and runbook


def _named_metrics(links: Links, cat: Catalog) -> list[MetricInfo]:
    """The best-linked metric, plus a second one only for a separate mention of its own
    ("cpu and memory"), never a weaker reading of the same words."""
    out: list[MetricInfo] = []
    spans: list[tuple[int, int]] = []
    for link in links.metrics:
        info = cat.metric(link.value)
        if info is None:
            continue
        if any(link.span[0] < e and s < link.span[1] for s, e in spans):
            continue
        if out and link.score < SECOND_METRIC_SCORE:
            continue
        out.append(info)
        spans.append(link.span)
    return out


def _plan_why(inp: PlanInput, named: list[MetricInfo]) -> Plan:
    """'Why' / 'what happened': the signal around the window, errors, changes, runbooks."""
    plan = Plan()
    links, cat = inp.links, inp.catalog
    chosen: list[MetricInfo] = list(named[:2])
    if not chosen and links.services:
        kinds: tuple[Literal["errors", "latency"], ...] = ("errors", "latency")
        for kind in kinds:
            found = find_metric(cat, kind=kind, service_label=True)
            if found is not None:
                chosen.append(found)
    if not chosen and links.hosts:
        chosen = [
            m for m in cat.metrics
            if _label_in(m, HOST_LABELS) and not _is_counter(m) and not _is_histogram(m)
            and re.search(r"percent|ratio|utili[sz]ation", m.name)
        ][:3]
    for m in chosen:
        is_err = _is_counter(m) and _label_in(m, STATUS_LABELS) is not None
        plan.queries.append(PlannedQuery(
            metric_query(m, inp, force_status=is_err), "main", f"signal {m.name}"))
    err_reading = IntentReading(
        intents=inp.reading.intents, level=inp.reading.level or "error", topk=5
    )
    log_inp = PlanInput(inp.question, inp.time_range, err_reading, links, cat)
    plan.queries.append(PlannedQuery(_log_query(log_inp, top=True), "errors", "top errors"))
    ev_reading = IntentReading(intents=inp.reading.intents)
    ev_inp = PlanInput(inp.question, inp.time_range, ev_reading, links, cat)
    plan.queries.append(PlannedQuery(_event_query(ev_inp, widen_s=3600), "events",
                                     "deploys, alerts and changes"))
    plan.queries.append(
        PlannedQuery(DocQuery(text=inp.question, k=WHY_RUNBOOKS), "docs", "runbooks"))
    return plan
