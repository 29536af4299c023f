"""Rules planner: intent + linked entities + time range -> a list of IR queries.

Deterministic and fast; it works on any catalog because it chooses metrics by their type,
labels and names as linked by `assistant.entities`, never by a list of demo names. The LLM
planner (`assistant.llm_planner`) can replace or back it up (`hybrid`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal, cast

from assistant.content_words import QUESTION_WORDS, content_words, vocabulary
from assistant.derived import derived_query
from assistant.derived import why as derived_why
from assistant.entities import Links, UnknownMention
from assistant.field_values import HTTP_METHOD
from assistant.intent import HOW_MANY, LOG_FIELD_WORDS, IntentReading, log_field
from assistant.ir import (
    AGG_QUANTILES,
    EXTRACT_PATTERNS,
    LEVELS,
    Aggregation,
    DocQuery,
    EventQuery,
    Extract,
    ExtractKind,
    Level,
    LogField,
    LogQuery,
    Matcher,
    MetricFunction,
    MetricQuery,
    Query,
    TimeRange,
)
from assistant.value_slots import (
    HOST_NAME,
    Slot,
    choose_slot,
    head_stems,
    merged_templates,
    object_question,
)
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
    compared: tuple[int, ...] = ()
    """Indexes of queries that each read one named period with the same statistic
    (`compare_stat`): their results are compared period by period (`facts.compare_periods`)."""
    compare_stat: str = ""


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
    templates: tuple[str, ...] = ()  # the logs' message templates (values at their <*>)
    periods: tuple[TimeRange, ...] = ()  # periods named apart, to compare (timeparse)


def metric_query(
    m: MetricInfo,
    inp: PlanInput,
    *,
    quantile_stat: str | None = None,
    force_status: bool = False,
) -> MetricQuery:
    """One metric question -> one range query with matchers and a sensible function."""
    r, links = _one_series_extreme(m, inp.reading), inp.links
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


MORE_WORDS = re.compile(r"(?<![\w-])(?:more|fewer|less|busier|quieter)(?![\w-])"
                        r"|더\s*(?:많|적)", re.IGNORECASE)
"""Which period had more (or fewer): amounts, so the periods' sums are compared."""


def compare_stat(r: IntentReading, question: str) -> str:
    """The statistic two periods are compared on: the one asked for ("average", "total",
    "peak", "p95"); a question about which had more compares sums; else the mean."""
    if r.stat in ("sum", "avg", "peak", "lowest") or r.stat in AGG_QUANTILES:
        return r.stat or "avg"
    return "sum" if MORE_WORDS.search(question) else "avg"


def _compare_periods(m: MetricInfo, inp: PlanInput) -> tuple[list[PlannedQuery], str] | None:
    """A gauge over two or more periods named apart ("on May 3 or May 4", "5월 3일과 4일
    비교"): the same raw-sample statistic, one query per period, in the question's order.
    A counter or histogram keeps its usual plan over the whole span."""
    if _is_counter(m) or _is_histogram(m):
        return None
    stat = compare_stat(inp.reading, inp.question)
    reading = replace(inp.reading, stat=stat, compare=False, topk=None, rate=False)
    out: list[PlannedQuery] = []
    for i, tr in enumerate(inp.periods, start=1):
        mq = metric_query(m, replace(inp, time_range=tr, reading=reading))
        if mq.function != "samples":
            return None
        out.append(PlannedQuery(mq, "main", f"metric {mq.metric}, period {i} of "
                                            f"{len(inp.periods)} ({stat})"))
    return out, stat


def _one_series_extreme(m: MetricInfo, r: IntentReading) -> IntentReading:
    """ "When was X the most / 가장 많았던 때" over a metric with no host or service label
    to rank: there is nothing to rank, the question asks for its highest (or lowest)
    moment."""
    if not r.topk or _label_in(m, HOST_LABELS) or _label_in(m, SERVICE_LABELS) \
            or _is_counter(m) or _is_histogram(m):
        return r
    keep = r.stat in ("avg", "peak", "lowest") or r.stat in AGG_QUANTILES
    stat = r.stat if keep else ("lowest" if r.bottom else "peak")
    return replace(r, topk=None, stat=stat)


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
    if r.log_op is None and r.log_op_if_logs and "logs" in r.intents \
            and not inp.catalog.metrics:
        # "which program opened the most connections" in a store of logs only: its lines
        r.log_op, r.log_field = r.log_op_if_logs
    slot = _value_slot_query(inp)
    if slot is not None:
        return slot
    if r.log_op == "top_value" and _field_word_names_a_link(inp):
        r.log_op, r.log_field = None, None  # "what does the APP component complain about
        return None  # most": that component's messages, not a ranking of components
    if r.log_op is None:
        return None
    if r.log_op in ("show", "level_count"):
        return _lines_or_levels_query(inp)
    words = dict(LOG_FIELD_WORDS).get(r.log_field or "")
    if words is not None:  # "which node ...": the field's own word filters nothing
        links = inp.links
        asked = {"hosts": [x for x in links.hosts if not words.fullmatch(x.text)],
                 "services": [x for x in links.services if not words.fullmatch(x.text)]}
        inp = PlanInput(inp.question, inp.time_range, r, links.model_copy(update=asked),
                        inp.catalog)
    base = _log_query(inp, top=False)
    column = COLUMN_FIELDS.get(r.log_field or "")
    extract = None if r.log_field is None or column else (
        Extract(kind="regex", pattern=HTTP_METHOD) if r.log_field == "http_method"
        else Extract(kind=cast(ExtractKind, r.log_field)))  # "which HTTP methods": verbs
    if column == "host" and not inp.catalog.hosts and r.log_op in (
            "top_value", "distinct_count", "distinct_list"):  # lines with no host column:
        column, extract = None, Extract(kind="regex", pattern=HOST_NAME)  # the hosts named
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


def _value_slot_query(inp: PlanInput) -> LogQuery | None:
    """ "which registry hives were loaded", "how many different packages": a value that sits
    at a placeholder of the logs' templates, named by the template's own words next to it
    (`assistant.value_slots`), read from each line of that template by a regular
    expression, then ranked, listed or counted. Only where the glossary has no column for
    the asked-for word in this store (a host or program column the logs have wins)."""
    r = inp.reading
    ends = r.log_op in ("first", "last")
    things = r.value_shape is None and r.log_op is None and bool(HOW_MANY.search(inp.question))
    if not inp.templates or (r.value_shape is None and not ends and not things) \
            or ("logs" not in r.intents and r.intents):
        return None  # a question with no other reading may ask for values in the lines
    if r.log_op not in (None, "distinct_count", "distinct_list", "top_value", "first", "last"):
        return None
    if ends and r.log_field is not None and r.log_field not in EXTRACT_PATTERNS:
        return None  # "which host failed first": the line's own host column
    named = log_field(inp.question)
    obj = object_question(inp.question)
    subject = inp.question[obj[0][0]:obj[0][1]] if obj is not None else ""
    by_verb = by_field = ""
    if obj is not None and named is not None and subject and (
            words := dict(LOG_FIELD_WORDS).get(named[0])) is not None and (
            words.search(subject) or _a_name(subject, inp.templates)):
        named, by_verb = None, obj[1]  # "which server did the nodes sync to", "which
        # program did ciod fail to load": a value the verb names, not the subject's column
    elif r.log_op is not None and r.log_field in EXTRACT_PATTERNS:
        by_field = r.log_field.split("_")[0]  # "block" of block_id: a template slot
        # right after the data's own word for it ("Found block <*> locally") reads it
    elif r.log_op is not None:
        column = COLUMN_FIELDS.get(r.log_field or "")
        if column is None or column in ("level", "template") \
                or (column == "host" and inp.catalog.hosts) \
                or (column == "service" and inp.catalog.services):
            return None
    if named is not None and named[0] in COLUMN_FIELDS and _has_column(inp.catalog, named[0]):
        return None  # "which program ...": the program column, not a word in a message
    slot = choose_slot(inp.question, inp.templates + merged_templates(inp.templates),
                       named_by=by_verb)  # only slots the verb names
    heads = head_stems(inp.question)
    if slot is None and r.log_field == "host" and not inp.catalog.hosts:
        return None  # "which host did it connect to most" in logs with no host column and
        # no template word for hosts: the host names the messages say (_log_op_query)
    elif slot is None or not heads or (by_field and not slot.names(by_field)):
        return None
    elif things and not _only_the_noun(inp.question, slot, heads):
        return None  # "how many timeouts": lines; "how many instances": instance <*> values
    else:
        pattern = slot.pattern()
    base = _log_query(inp, top=False)
    update: dict[str, object] = {
        "extract": Extract(kind="regex", pattern=pattern), "pattern": pattern,
        "count_by": "extracted"}
    if ends:  # "which instance was terminated first": the first line with it, and its value
        update = {"extract": update["extract"], "pattern": pattern,
                  "order": "oldest" if r.log_op == "first" else "newest", "limit": 1}
        return LogQuery.model_validate({**base.model_dump(), **update})
    match "count" if things else r.value_shape:
        case "count":
            update["aggregate"] = "count_distinct"
        case "top":
            update["top_k"] = 1 + RUNNER_UPS
        case _:
            update["top_k"] = VALUES_LISTED
    return LogQuery.model_validate({**base.model_dump(), **update})


def _field_word_names_a_link(inp: PlanInput) -> bool:
    """ "the APP component", "the sshd service": the field's word says what a service or
    host the question names is, so the question is about that one."""
    r = inp.reading
    named = {"service": inp.links.services, "host": inp.links.hosts}.get(r.log_field or "", [])
    words = dict(LOG_FIELD_WORDS).get(r.log_field or "")
    return words is not None and any(
        re.search(rf"(?<![\w-]){re.escape(x.text)}\s+(?:{words.pattern})", inp.question,
                  re.IGNORECASE) for x in named if x.text)


def _a_name(subject: str, templates: tuple[str, ...]) -> bool:
    """A subject that is one name the logs say ("ciod"), not a pronoun or a phrase."""
    words = subject.split()
    return len(words) == 1 and words[0].lower() not in QUESTION_WORDS \
        and vocabulary(templates).has(words[0])


def _only_the_noun(question: str, slot: Slot, heads: set[str]) -> bool:
    """ "how many instances (appear in this log)": the question says nothing but a noun,
    and that noun is the word right before the slot's placeholder ("[instance: <*>]"): it
    counts the values. "how many connections did X open" or "끝난 태스크는 몇 개" say what
    happened: they count lines."""
    label = slot.label()
    if not label or not any(slot.names(h) and label[-1].startswith(h[:4]) for h in heads):
        return False
    said = [w for w in content_words(question, ()) if not w.soft]
    return all(any(s[:4] == h[:4] for s in w.stems for h in heads) for w in said)


def _has_column(catalog: Catalog, field: str) -> bool:
    """Whether the store's lines carry `field` (hosts and services only when it names
    some; levels and templates always)."""
    return {"host": bool(catalog.hosts), "service": bool(catalog.services)}.get(field, True)


LINES_SHOWN = 5
"""How many lines a "show me X" question quotes (with the count of all of them)."""


def _lines_or_levels_query(inp: PlanInput) -> LogQuery | None:
    """ "show me X": the matching lines themselves, newest (or oldest) first, a few of them
    with the count of all. "how many errors / warnings": lines at exactly the levels named
    (not the minimum severity), one count per level when several are named. Only for a
    question about logs (a metric question keeps its metric plan)."""
    r = inp.reading
    if "logs" not in r.intents and not ((r.level or r.levels) and "events" not in r.intents):
        return None
    base = _log_query(inp, top=False)
    update: dict[str, object]
    if r.log_op == "show":
        update = {"order": "oldest" if r.oldest else "newest", "limit": LINES_SHOWN}
    else:
        levels = counted_levels(r.levels)
        update = {"level": min(r.levels, key=LEVELS.index), "levels": levels}
        update |= {"count_by": "level", "top_k": len(levels)} if len(r.levels) > 1 else \
            {"count_by": "template", "top_k": 5}
    return LogQuery.model_validate({**base.model_dump(), **update})


def counted_levels(named: list[Level]) -> tuple[Level, ...]:
    """The levels a count of `named` severities reads: each named level exactly, and for
    "errors" also the fatal lines (a fatal error is an error) unless fatal is named too;
    "warnings" are not errors, "INFO lines" are not warnings."""
    out = list(dict.fromkeys(named))
    if "error" in out and "fatal" not in out:
        out.append("fatal")
    return tuple(sorted(out, key=LEVELS.index))


def _asked_field_words(links: Links, r: IntentReading) -> Links:
    """A question about the hosts (or services) themselves ("which node reported ...", "how
    many hosts couldn't ...") has a word after "node" that is not a name: an unknown
    mention of the asked-for kind without a digit or separator is dropped."""
    if r.log_op is None or r.log_field not in ("host", "service") or not links.unknown:
        return links
    kept = [u for u in links.unknown
            if u.kind != r.log_field or re.search(r"[\d._:-]", u.value)]
    return links.model_copy(update={"unknown": kept})


ANOMALY_WORDS = re.compile(
    r"(?<![\w-])(?:anomal(?:y|ies|ous)|incidents?|outages?|outliers?|abnormal(?:ity|ities)?)"
    r"(?![\w-])|(?<![\d.%])(?<![\d.%]\s)이상\s*(?:구간|치|징후|현상|탐지|감지|이\s*(?:있|없|발생))"
    r"|인시던트|장애", re.IGNORECASE)
"""Operations words for what was recorded as going wrong on something: anomalies (labelled,
flagged, detected), incidents, outages (이상 구간, 이상치, 인시던트, 장애). "80 이상" (at least
80) is a comparison, not an anomaly."""
CAUSE_WORDS = re.compile(r"(?<![\w-])(?:why|cause[sd]?|root cause|explain|what happened)"
                         r"(?![\w-])|왜|원인|무슨\s*일", re.IGNORECASE)


def _recorded_events(inp: PlanInput, named: list[MetricInfo]) -> EventQuery | None:
    """ "How many anomalies are labelled on X, and when did each start?", "X의 이상 구간은
    몇 개": the incidents the event store holds for the series or service the question
    names, in the asked window (the whole data when none is given). The series is an event
    target when the store has a service of its name. A question about their cause keeps
    the investigation plan."""
    q = inp.question
    if not ANOMALY_WORDS.search(q) or CAUSE_WORDS.search(q):
        return None
    cat, links = inp.catalog, inp.links
    target = next((m.name for m in named if m.name in cat.services), None)
    if target is None and links.services:
        target = links.services[0].value
    if target is None or not cat.event_kinds:
        return None
    kinds = tuple(inp.reading.event_kinds) or (
        ("incident",) if "incident" in cat.event_kinds else ())
    return EventQuery(time_range=inp.time_range, kinds=kinds, service=target,
                      host=links.hosts[0].value if links.hosts else None, limit=50)


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

    if "refuse" in intents and not r.alert_meaning:
        plan.refusal = "write"
        return plan
    links = _asked_field_words(links, r)
    if links.unknown and not (("docs" in intents or r.doc_role)
                              and not links.hosts and not links.services):
        # A how-to question may name things we do not monitor ("a JVM service"); a question
        # about telemetry must not silently drop an unknown host or service.
        plan.unknown = links.unknown[0]
        plan.clarification = links.unknown[0].message or f"no {links.unknown[0].kind} named "\
            f"{links.unknown[0].value!r}"
        return plan

    role = r.doc_role
    if role is not None and not r.asks_cause:
        # "What does X mean?", "how do I fix X?": the runbook answers it, even when X looks
        # like a metric or an alert; telemetry is not asked for.
        plan.queries.append(PlannedQuery(DocQuery(text=inp.question, k=RUNBOOK_HITS), "docs",
                                         f"runbooks ({role})"))
        return plan
    named = _named_metrics(links, cat)
    recorded = _recorded_events(inp, named)
    if recorded is not None:
        plan.queries.append(PlannedQuery(recorded, "events", "incidents recorded on "
                                         f"{recorded.service}"))
        return plan
    if "why" in intents:
        return _plan_why(inp, named)

    compared = _compare_periods(named[0], inp) if named and len(inp.periods) > 1 else None
    if compared is not None:
        plan.queries, plan.compare_stat = compared
        plan.compared = tuple(range(len(plan.queries)))
    elif ("metric" in intents or not intents - {"docs"}) and (dq := derived_query(
            inp.question, cat, inp.time_range, r.stat, links=links)) is not None:
        plan.queries.append(PlannedQuery(dq, "main", derived_why(dq)))
    elif named and ("metric" in intents or not intents - {"docs"}):
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
