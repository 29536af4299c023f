"""Plan with a language model: the question -> IR queries, decoded under a catalog schema.

Two output schemas, both with enums filled from the live catalog so the model cannot name
a metric, service or host that does not exist:

* ``"compact"`` (default; for small local models): ``{"steps": [PlanStep, ...]}``, a flat
  object per query whose every field is a closed choice (`step_schema`). Code converts
  each step to IR (`step_to_query`). Fields that do not apply to a step's kind are ignored.
* ``"full"`` (for large models behind an OpenAI-compatible server): the IR itself, from
  `assistant.ir.query_json_schema`, with `time_range` removed and `kind` required.

Either way the time range is filled in by code, never by the model, and every query is
validated (`parse_query` plus catalog membership). Anything invalid raises `IRError`:
never a guessed query.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import IRError, UnknownEntityError
from assistant.ir import (
    AGG_QUANTILES,
    LEVELS,
    NEEDS_QUANTILE,
    Aggregation,
    DocQuery,
    EventKind,
    EventQuery,
    LogQuery,
    Matcher,
    MetricFunction,
    MetricQuery,
    Query,
    TimeRange,
    format_validation_error,
    parse_query,
    query_json_schema,
)
from assistant.llm import ChatModel, prompt_messages
from connectors.base import Catalog

SchemaKind = Literal["compact", "full"]
TOOL_NAME = "plan"
ANY = "any"
NONE = "none"

KINDS: tuple[str, ...] = tuple(
    str(m.model_fields["kind"].default) for m in (MetricQuery, LogQuery, EventQuery, DocQuery)
)
STEP_FUNCTIONS: tuple[str, ...] = get_args(MetricFunction)
STEP_QUANTILES: tuple[str, ...] = (NONE, *(str(q) for q in sorted(AGG_QUANTILES.values())))
# topk/bottomk need a `k` the compact step does not carry; the full schema allows them
STEP_AGGREGATIONS: tuple[str, ...] = tuple(
    a for a in get_args(Aggregation) if a not in ("topk", "bottomk")
)
STEP_LEVELS: tuple[str, ...] = (ANY, *LEVELS)
STEP_EVENT_KINDS: tuple[str, ...] = (ANY, *get_args(EventKind))
TEXT_MAX = 40
STEP_TOKENS = 256
"""Token budget per planned query: a full step with the whitespace a grammar allows."""


class PlanStep(BaseModel):
    """One query as a small model writes it: every field present, every choice closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="metric, logs, events or docs")
    metric: str = Field(description="metric name from the catalog, or none")
    function: str = Field(description="raw, rate, increase, avg_over_time, ... (metric only)")
    quantile: str = Field(description="for histogram_quantile/quantile_over_time, else none")
    aggregation: str = Field(description="across series: none, sum, avg, max, min, p95, ...")
    by: str = Field(description="group-by label for the aggregation, or none")
    service: str = Field(description="service name, or any")
    host: str = Field(description="host name, or any")
    level: str = Field(description="minimum log level (logs only), or any")
    event_kind: str = Field(description="deploy, alert, incident, change (events), or any")
    text: str = Field(description="words to search in logs or docs, or empty")


def step_fields() -> list[str]:
    """One 'name: meaning' line per PlanStep field, for the prompt."""
    return [f"{name}: {info.description}" for name, info in PlanStep.model_fields.items()]


def _choices(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """The allowed values of each PlanStep field (except free `text`) for `catalog`."""
    metrics = tuple(sorted({m.name for m in catalog.metrics}))
    if not metrics:
        raise IRError("the catalog holds no metrics; ingest data before planning")
    return {
        "kind": KINDS,
        "metric": (NONE, *metrics),
        "function": STEP_FUNCTIONS,
        "quantile": STEP_QUANTILES,
        "aggregation": STEP_AGGREGATIONS,
        "by": (NONE, *catalog.label_names()),
        "service": (ANY, *sorted(set(catalog.services))),
        "host": (ANY, *sorted(set(catalog.hosts))),
        "level": STEP_LEVELS,
        "event_kind": STEP_EVENT_KINDS,
    }


def step_schema(catalog: Catalog, max_steps: int = 3) -> dict[str, Any]:
    """The compact plan schema: ``{"steps": [PlanStep, ...]}`` with catalog enums."""
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    choices = _choices(catalog)
    props: dict[str, Any] = {}
    for name in PlanStep.model_fields:
        if name == "text":
            props[name] = {"type": "string", "maxLength": TEXT_MAX}
        else:
            props[name] = {"type": "string", "enum": list(choices[name])}
    step = {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }
    return _plan_object("steps", step, max_steps)


def full_schema(catalog: Catalog, max_steps: int = 3) -> dict[str, Any]:
    """The IR schema for the model: ``{"queries": [Query, ...]}``, no `time_range`."""
    ir = query_json_schema(
        metrics=[m.name for m in catalog.metrics],
        services=catalog.services,
        hosts=catalog.hosts,
        labels=catalog.label_names(),
    )
    defs = copy.deepcopy(ir.pop("$defs", {}))
    defs.pop("TimeRange", None)
    for definition in defs.values():
        props = definition.get("properties", {})
        props.pop("time_range", None)
        for prop in props.values():
            _bound_free_text(prop)
        required = [r for r in definition.get("required", []) if r != "time_range"]
        if "kind" in props:  # a grammar must emit the discriminator, and first
            definition["properties"] = {"kind": props.pop("kind"), **props}
            required = ["kind", *(r for r in required if r != "kind")]
        if required:
            definition["required"] = required
        else:
            definition.pop("required", None)
    items = {k: v for k, v in ir.items() if k in ("oneOf", "anyOf")}
    return {**_plan_object("queries", items, max_steps), "$defs": defs}


def _plan_object(key: str, items: dict[str, Any], max_steps: int) -> dict[str, Any]:
    """The top-level schema both plan forms share: ``{key: [items, 1..max_steps]}``."""
    return {
        "type": "object",
        "description": "Read-only queries that answer the question.",
        "properties": {
            key: {"type": "array", "items": items, "minItems": 1, "maxItems": max_steps}
        },
        "required": [key],
        "additionalProperties": False,
    }


def _bound_free_text(prop: dict[str, Any]) -> None:
    """Cap free strings at TEXT_MAX: a grammar-bound small model may otherwise ramble."""
    for alt in prop.get("anyOf", [prop]):
        if alt.get("type") == "string" and "enum" not in alt and "const" not in alt:
            alt["maxLength"] = TEXT_MAX


def catalog_summary(catalog: Catalog, max_metrics: int = 60) -> str:
    """The catalog as short text lines for a prompt."""
    lines = []
    for m in sorted(catalog.metrics, key=lambda m: m.name)[:max_metrics]:
        labels = ",".join(sorted(m.labels))
        help_text = f": {m.help}" if m.help else ""
        lines.append(f"{m.name} ({m.type}; labels {labels or '-'}){help_text}")
    if len(catalog.metrics) > max_metrics:
        lines.append(f"... and {len(catalog.metrics) - max_metrics} more metrics")
    lines.append("services: " + (", ".join(sorted(catalog.services)) or "-"))
    lines.append("hosts: " + (", ".join(sorted(catalog.hosts)) or "-"))
    return "\n".join(lines)


def describe_range(tr: TimeRange) -> str:
    return f"{tr.start.isoformat()} to {tr.end.isoformat()} ({tr.timezone})"


# ---------------------------------------------------------------- step -> IR


def _step_to_dict(step: PlanStep, catalog: Catalog, question: str) -> dict[str, Any]:
    """The IR fields (without time_range) that `step` stands for."""
    service = None if step.service == ANY else step.service
    host = None if step.host == ANY else step.host
    text = step.text.strip() or None
    match step.kind:
        case "metric":
            info = catalog.metric(step.metric)
            if info is None:
                raise UnknownEntityError("metric", step.metric, [m.name for m in catalog.metrics])
            matchers = []
            for label, value in (("service", service), ("host", host)):
                if value is None:
                    continue
                if label not in info.labels:
                    raise IRError(
                        f"metric {info.name!r} has no label {label!r} to select {value!r}; "
                        f"its labels: {sorted(info.labels) or 'none'}"
                    )
                matchers.append(Matcher(label=label, value=value).model_dump())
            grouping = step.aggregation not in ("none", "topk", "bottomk")
            return {
                "kind": "metric",
                "metric": info.name,
                "matchers": matchers,
                "function": step.function,
                "quantile": float(step.quantile)
                if step.function in NEEDS_QUANTILE and step.quantile != NONE
                else None,
                "aggregation": step.aggregation,
                "by": [step.by] if grouping and step.by != NONE else [],
            }
        case "logs":
            level = None if step.level == ANY else step.level
            return {"kind": "logs", "service": service, "host": host, "level": level, "text": text}
        case "events":
            kinds = [] if step.event_kind == ANY else [step.event_kind]
            return {"kind": "events", "service": service, "host": host, "kinds": kinds}
        case "docs":
            # an empty search text means 'the question itself', not a made-up topic
            return {"kind": "docs", "text": text or question.strip()}
    raise IRError(f"unknown query kind {step.kind!r}; allowed: {', '.join(KINDS)}")


def step_to_query(
    data: dict[str, Any], catalog: Catalog, time_range: TimeRange, question: str
) -> Query:
    """One compact step (as the model returned it) -> validated IR."""
    try:
        step = PlanStep.model_validate(data)
    except ValidationError as exc:
        raise IRError("invalid plan step: " + format_validation_error(exc)) from None
    for name, allowed in _choices(catalog).items():
        value = getattr(step, name)
        if value not in allowed:
            if name in ("metric", "service", "host"):
                raise UnknownEntityError(name, value, allowed[1:])
            raise IRError(f"plan step field {name!r}: got {value!r}; allowed: {list(allowed)}")
    if len(step.text) > TEXT_MAX:
        raise IRError(f"plan step text is longer than {TEXT_MAX} characters: {step.text!r}")
    return _with_time(_step_to_dict(step, catalog, question), time_range)


def _with_time(fields: dict[str, Any], time_range: TimeRange) -> Query:
    if fields.get("kind") != "docs":
        if "time_range" in fields:
            raise IRError("the model chose a time range; time ranges are set by code only")
        fields = {**fields, "time_range": time_range.model_dump(mode="json")}
    return parse_query(fields)


def check_entities(query: Query, catalog: Catalog) -> None:
    """Raise UnknownEntityError if `query` names a metric, service or host not in `catalog`."""
    services, hosts = set(catalog.services), set(catalog.hosts)
    if isinstance(query, MetricQuery):
        info = catalog.metric(query.metric)
        if info is None:
            raise UnknownEntityError("metric", query.metric, [m.name for m in catalog.metrics])
        for m in query.matchers:
            if m.label not in info.labels:
                raise IRError(f"metric {info.name!r} has no label {m.label!r}")
            if m.op == "=" and m.label in ("service", "host"):
                known = services if m.label == "service" else hosts
                if m.value not in known:
                    raise UnknownEntityError(m.label, m.value, known)
    elif isinstance(query, LogQuery | EventQuery):
        if query.service is not None and query.service not in services:
            raise UnknownEntityError("service", query.service, services)
        if query.host is not None and query.host not in hosts:
            raise UnknownEntityError("host", query.host, hosts)


# ---------------------------------------------------------------- examples


# Most recent last: small models lean towards the kind of the last example, so the
# common case (a metric) closes the list.
_EXAMPLES: tuple[tuple[str, dict[str, str]], ...] = (
    ("How do I fix a full disk?", {"kind": "docs", "text": "disk full"}),
    (
        "Were there any deploys of gateway?",
        {"kind": "events", "service": "gateway", "event_kind": "deploy"},
    ),
    ("Show error logs from payments", {"kind": "logs", "service": "payments", "level": "error"}),
    (
        "How many requests did search get?",
        {
            "kind": "metric",
            "metric": "http_requests_total",
            "function": "increase",
            "service": "search",
            "aggregation": "sum",
        },
    ),
    ("What is the load on gw-02?", {"kind": "metric", "metric": "node_load1", "host": "gw-02"}),
)
_STEP_DEFAULTS = {
    "metric": NONE,
    "function": "raw",
    "quantile": NONE,
    "aggregation": "none",
    "by": NONE,
    "service": ANY,
    "host": ANY,
    "level": ANY,
    "event_kind": ANY,
    "text": "",
}


def examples_for(catalog: Catalog) -> list[dict[str, str]]:
    """Few-shot examples whose names all exist in `catalog` (as prompt variables)."""
    choices = _choices(catalog)
    out = []
    for question, partial in _EXAMPLES:
        step = {
            "kind": partial["kind"],
            **{k: partial.get(k, v) for k, v in _STEP_DEFAULTS.items()},
        }
        if all(step[k] in allowed for k, allowed in choices.items()):
            out.append({"question": question, "plan": json.dumps({"steps": [step]})})
    return out


# ---------------------------------------------------------------- entry point


def plan_with_llm(
    chat: ChatModel,
    question: str,
    time_range: TimeRange,
    catalog: Catalog,
    context: str,
    *,
    schema: SchemaKind = "compact",
    max_steps: int = 3,
    examples: Sequence[dict[str, str]] | None = None,
) -> list[Query]:
    """Ask `chat` for a plan under the catalog-constrained schema; validated IR or IRError.

    `context` (retrieved runbook/event text) reaches the model only as delimited data.
    `examples` default to `examples_for(catalog)` for the compact schema, none for full.
    """
    if not question.strip():
        raise IRError("the question is empty; nothing to plan")
    if schema == "compact":
        out_schema, fields = step_schema(catalog, max_steps), step_fields()
        shots = list(examples) if examples is not None else examples_for(catalog)
        key = "steps"
    else:
        out_schema = full_schema(catalog, max_steps)
        fields = ["queries: a list of queries, each with 'kind' first (see the tool schema)"]
        shots, key = list(examples or []), "queries"
    messages = prompt_messages(
        "plan",
        question=question,
        time_range=describe_range(time_range),
        catalog=catalog_summary(catalog),
        context=context,
        fields=fields,
        examples=shots,
    )
    reply = chat.structured(
        messages, out_schema, name=TOOL_NAME, max_tokens=STEP_TOKENS * max_steps + 16
    )
    items = reply.get(key)
    if not isinstance(items, list) or not items:
        raise IRError(
            f"the model's plan has no {key!r} list (got keys {sorted(reply)}); "
            "try the rules planner"
        )
    if len(items) > max_steps:
        raise IRError(f"the model planned {len(items)} queries; at most {max_steps} allowed")
    queries: list[Query] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise IRError(f"plan item {i + 1} is a {type(item).__name__}, not an object")
        try:
            if schema == "compact":
                query = step_to_query(item, catalog, time_range, question)
            else:
                query = _with_time(item, time_range)
            check_entities(query, catalog)
        except UnknownEntityError:
            raise
        except IRError as exc:
            raise IRError(f"plan item {i + 1}: {exc}") from None
        queries.append(query)
    return queries


__all__ = [
    "PlanStep",
    "catalog_summary",
    "check_entities",
    "examples_for",
    "full_schema",
    "plan_with_llm",
    "step_schema",
    "step_to_query",
]
