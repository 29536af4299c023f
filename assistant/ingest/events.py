"""Events from JSON: deploys, incidents, changes and alerts, and Alertmanager webhooks.

Input is one JSON object, an array of objects, or JSON lines. Field names are flexible
(``ts``/``timestamp``/``start``/``startsAt``..., ``kind``/``type``..., ``title``/
``summary``...). An object without an id gets a stable one (a hash of its kind, time,
title, service and host), so re-ingesting the same file adds nothing. An Alertmanager
webhook payload (``{"version": "4", "alerts": [...]}``) becomes one ``alert`` event per
alert, keyed by fingerprint and start time (so a later "resolved" payload updates it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from assistant.ingest.logs_text import Malformed, snippet
from assistant.ingest.timestamps import parse_any
from connectors.base import Event

KINDS = ("alert", "deploy", "incident", "change")
KIND_SYNONYMS = {
    "alert": "alert", "alarm": "alert", "page": "alert", "alertname": "alert",
    "deploy": "deploy", "deployment": "deploy", "release": "deploy", "rollout": "deploy",
    "rollback": "deploy",
    "incident": "incident", "outage": "incident", "postmortem": "incident",
    "change": "change", "config": "change", "configuration": "change",
    "maintenance": "change", "migration": "change", "feature_flag": "change",
}  # fmt: skip

FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "event_id", "eventId", "uid", "uuid", "key"),
    "ts": (
        "ts", "timestamp", "time", "start", "start_time", "started_at", "startsAt", "startTime",
        "created_at", "createdAt", "date", "at", "@timestamp",
    ),
    "end": (
        "end", "end_ts", "end_time", "ended_at", "endsAt", "endTime", "resolved_at",
        "finished_at", "resolvedAt",
    ),
    "kind": ("kind", "type", "event_type", "eventType", "category"),
    "service": ("service", "app", "application", "component", "job", "labels.service"),
    "host": ("host", "hostname", "instance", "node", "server", "labels.host"),
    "title": (
        "title", "summary", "name", "message", "description", "text", "alertname",
        "labels.alertname", "annotations.summary",
    ),
    "status": ("status", "state"),
    "severity": ("severity", "priority", "level", "labels.severity"),
}  # fmt: skip


@dataclass
class EventsResult:
    events: list[Event] = field(default_factory=list)
    malformed: Malformed = field(default_factory=Malformed)
    format: str = "events-json"
    records: int = 0


def _get(obj: Mapping[str, Any], name: str) -> Any:
    if name in obj:
        return obj[name]
    cur: Any = obj
    for part in name.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _first(obj: Mapping[str, Any], role: str) -> tuple[str | None, Any]:
    for name in FIELDS[role]:
        value = _get(obj, name)
        if value not in (None, ""):
            return name, value
    return None, None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float | bool):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _host(value: str | None) -> str | None:
    """`instance` labels are often host:port; keep the host."""
    if value and value.count(":") == 1 and value.rsplit(":", 1)[1].isdigit():
        return value.rsplit(":", 1)[0]
    return value


def stable_id(*parts: Any) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return "ev-" + hashlib.blake2b(raw.encode(), digest_size=10).hexdigest()


def is_alertmanager(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and isinstance(obj.get("alerts"), list)
        and ("version" in obj or "receiver" in obj or "groupKey" in obj)
    )


def iter_documents(text: str) -> Iterator[tuple[int, Any | None, str]]:
    """(line number, parsed value or None, problem) for a JSON document or JSON lines."""
    stripped = text.strip()
    if not stripped:
        return
    try:
        yield 1, json.loads(stripped), ""
        return
    except json.JSONDecodeError:
        pass
    for i, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line), ""
        except json.JSONDecodeError as exc:
            yield i, None, f"invalid JSON ({exc.msg}): {snippet(line.strip())!r}"


def parse_events(text: str, tz: ZoneInfo, default_kind: str | None = None) -> EventsResult:
    """All events in a JSON text (document or JSON lines)."""
    out = EventsResult()
    for line_no, doc, problem in iter_documents(text):
        if doc is None:
            out.malformed.add(line_no, problem)
            continue
        items = doc if isinstance(doc, list) else [doc]
        for j, item in enumerate(items):
            where = line_no
            if is_alertmanager(item):
                out.format = "alertmanager-webhook"
                for alert in item["alerts"]:
                    out.records += 1
                    _add(out, where, _alert_event(alert, item, tz))
                continue
            out.records += 1
            nth = j + 1 if isinstance(doc, list) else None
            if isinstance(item, Mapping) and "labels" in item and "startsAt" in item:
                _add(out, where, _alert_event(item, {}, tz), nth)
                continue
            if not isinstance(item, Mapping):
                _add(out, where, "not a JSON object", nth)
                continue
            _add(out, where, _generic_event(item, tz, default_kind), nth)
    return out


def _add(out: EventsResult, line_no: int, result: Event | str, item: int | None = None) -> None:
    if isinstance(result, str):
        out.malformed.add(line_no, result if item is None else f"item {item}: {result}")
    else:
        out.events.append(result)


def _generic_event(obj: Mapping[str, Any], tz: ZoneInfo, default_kind: str | None) -> Event | str:
    used: set[str] = set()

    def take(role: str) -> Any:
        name, value = _first(obj, role)
        if name:
            used.add(name.split(".")[0])
        return value

    raw_kind = _text(take("kind"))
    kind = KIND_SYNONYMS.get((raw_kind or "").lower()) or default_kind
    if kind is None:
        tried = "/".join(FIELDS["kind"])
        return (
            f"unknown event kind {raw_kind!r} (field {tried}); use one of {', '.join(KINDS)}"
            if raw_kind
            else f"no event kind (field {tried}); use one of {', '.join(KINDS)}"
        )
    ts_raw = take("ts")
    ts = parse_any(ts_raw, tz)
    if ts is None:
        return (
            f"unparseable time {ts_raw!r}"
            if ts_raw is not None
            else f"no time field ({'/'.join(FIELDS['ts'])})"
        )
    end_raw = take("end")
    end = parse_any(end_raw, tz) if end_raw is not None else None
    if end_raw is not None and end is None:
        return f"unparseable end time {end_raw!r}"
    service = _text(take("service"))
    host = _host(_text(take("host")))
    title = _text(take("title")) or f"{kind} {service or ''}".strip()
    status = _text(take("status"))
    severity = _text(take("severity"))
    ident = _text(take("id")) or stable_id(kind, ts, title, service, host)
    attrs = {k: v for k, v in obj.items() if k not in used}
    try:
        return Event(
            id=ident, ts=ts, end=end, kind=kind, service=service, host=host, title=title,
            status=status, severity=severity, attrs=attrs,
        )  # fmt: skip
    except ValidationError as exc:
        return f"invalid event: {exc.errors()[0]['msg']}"


def _alert_event(alert: Any, payload: Mapping[str, Any], tz: ZoneInfo) -> Event | str:
    if not isinstance(alert, Mapping):
        return "alert is not a JSON object"
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    if not isinstance(labels, Mapping) or not isinstance(annotations, Mapping):
        return "alert labels/annotations are not objects"
    name = _text(labels.get("alertname"))
    if not name:
        return "alert without labels.alertname"
    starts = parse_any(alert.get("startsAt"), tz)
    if starts is None:
        return f"alert {name}: unparseable startsAt {alert.get('startsAt')!r}"
    end = parse_any(alert.get("endsAt"), tz) if alert.get("endsAt") else None
    if end is not None and end.year <= 1:  # Go's zero time: still firing
        end = None
    status = alert.get("status")
    if isinstance(status, Mapping):  # API v2 shape: {"state": "active", ...}
        status = status.get("state")
    status = _text(status) or _text(payload.get("status"))
    if status in ("firing", "active", "suppressed", "unprocessed"):
        end = None  # a firing alert's endsAt is only its expected expiry
    service = next((_text(labels.get(k)) for k in ("service", "job", "app") if labels.get(k)), None)
    host = next(
        (
            _host(_text(labels.get(k)))
            for k in ("host", "instance", "hostname", "node")
            if labels.get(k)
        ),
        None,
    )
    fingerprint = _text(alert.get("fingerprint"))
    ident = (
        f"am-{fingerprint}-{starts.strftime('%Y%m%dT%H%M%S')}"
        if fingerprint
        else stable_id("alert", name, sorted(labels.items()), starts)
    )
    title = _text(annotations.get("summary")) or _text(annotations.get("description")) or name
    attrs: dict[str, Any] = {"alertname": name, "labels": dict(labels)}
    if annotations:
        attrs["annotations"] = dict(annotations)
    for key in ("generatorURL", "fingerprint"):
        if alert.get(key):
            attrs[key] = alert[key]
    for key in ("receiver", "groupKey"):
        if payload.get(key):
            attrs[key] = payload[key]
    return Event(
        id=ident, ts=starts, end=end, kind="alert", service=service, host=host, title=title,
        status=status, severity=_text(labels.get("severity")), attrs=attrs,
    )  # fmt: skip
