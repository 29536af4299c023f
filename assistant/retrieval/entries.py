"""Turning catalogs, events and document chunks into collection entries (text + metadata)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from assistant.retrieval.models import Chunk, Entry, MetaValue
from connectors.base import Catalog, Event, MetricInfo

MAX_LABEL_VALUES = 20


def content_hash(text: str, metadata: dict[str, MetaValue]) -> str:
    """Stable hash of what an entry stores, to skip re-embedding unchanged entries."""
    blob = json.dumps([text, metadata], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def chunk_entry(chunk: Chunk, front: dict[str, Any], digest: str, root: str = "") -> Entry:
    """A docs entry. Front matter ``service``, ``kind`` and ``alerts`` become filterable.

    `root` is the directory the file was found in ("" when it was named on its own).
    """
    meta: dict[str, MetaValue] = {
        "source": chunk.source,
        "anchor": chunk.anchor,
        "heading": chunk.heading,
        "title": chunk.title,
        "part": chunk.part,
        "section": chunk.section or chunk.heading,
        "digest": digest,
        "root": root,
        "kind": _scalar(front.get("kind")) or "doc",
    }
    for key in ("service", "alerts", "tags"):
        value = _scalar(front.get(key))
        if value:
            meta[key] = value
    return Entry(id=chunk.id, text=chunk.text, metadata=meta)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set):
        return ",".join(str(v) for v in value)
    return str(value)


def _labels_text(labels: dict[str, list[str]]) -> str:
    parts = []
    for name, values in sorted(labels.items()):
        shown = ", ".join(values[:MAX_LABEL_VALUES])
        more = (
            f" (+{len(values) - MAX_LABEL_VALUES} more)" if len(values) > MAX_LABEL_VALUES else ""
        )
        parts.append(f"{name}: {shown}{more}" if values else name)
    return "; ".join(parts)


def metric_entry(m: MetricInfo) -> Entry:
    kind = m.type if m.type != "unknown" else "metric"
    unit = f", unit {m.unit}" if m.unit else ""
    lines = [f"{m.name} ({kind}{unit})"]
    if m.help:
        lines.append(m.help)
    if m.labels:
        lines.append("labels: " + _labels_text(m.labels))
    meta: dict[str, MetaValue] = {
        "kind": "metric",
        "name": m.name,
        "type": m.type,
        "unit": m.unit,
        "labels": ",".join(sorted(m.labels)),
        "source": f"metric:{m.name}",
        "heading": m.name,
    }
    services = m.labels.get("service") or []
    if len(services) == 1:
        meta["service"] = services[0]
    return Entry(id=f"metric:{m.name}", text="\n".join(lines), metadata=meta)


def catalog_entries(catalog: Catalog) -> list[Entry]:
    """One entry per metric, service and host of `catalog`."""
    entries = [metric_entry(m) for m in catalog.metrics]
    entries += [_entity_entry("service", s, catalog) for s in catalog.services]
    entries += [_entity_entry("host", h, catalog) for h in catalog.hosts]
    return entries


def _epoch(ts: datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp())


def event_last_time(event: Event) -> datetime:
    """The latest moment an event covers: its end if known, else its start."""
    return event.end if event.end is not None and event.end > event.ts else event.ts


def event_entry(event: Event) -> Entry:
    """An events entry: readable text plus time, kind, service, host, severity, status."""
    lines = [f"{event.kind}: {event.title}"]
    for key in ("service", "host", "severity", "status"):
        value = getattr(event, key)
        if value:
            lines.append(f"{key}: {value}")
    when = event.ts.astimezone(UTC).isoformat()
    lines.append(
        f"time: {when}" + (f" to {event.end.astimezone(UTC).isoformat()}" if event.end else "")
    )
    for key, value in sorted(event.attrs.items()):
        if isinstance(value, str | int | float | bool) and len(str(value)) <= 300:
            lines.append(f"{key}: {value}")
    meta: dict[str, MetaValue] = {
        "kind": event.kind,
        "ts": _epoch(event.ts),
        "last_ts": _epoch(event_last_time(event)),
        "time": when,
        "source": f"event:{event.id}",
        "heading": event.title[:200],
    }
    for key in ("service", "host", "severity", "status"):
        value = getattr(event, key)
        if value:
            meta[key] = str(value)
    return Entry(id=event.id, text="\n".join(lines), metadata=meta)


def _entity_entry(kind: str, name: str, catalog: Catalog) -> Entry:
    """A service or host (`kind`, also its label name) and the metrics that carry it."""
    metrics = [m.name for m in catalog.metrics if name in m.labels.get(kind, [])]
    text = f"{kind} {name}"
    if metrics:
        text += "\nmetrics: " + ", ".join(metrics)
    return Entry(
        id=f"{kind}:{name}",
        text=text,
        metadata={"kind": kind, "name": name, kind: name, "source": f"{kind}:{name}",
                  "heading": name},
    )
