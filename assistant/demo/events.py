"""Demo events (deploys, config changes, alerts, incidents) as `connectors.base.Event`."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant.demo.scenarios import Script
from connectors.base import Event


def _dt(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def build_events(script: Script) -> list[Event]:
    """Every event of the demo, in time order (ids are stable names, not random)."""
    out: list[Event] = []
    for d in script.deploys:
        restarts = d.restarts()
        out.append(Event(
            id=d.id, ts=_dt(d.at), end=_dt(max(restarts.values()) + 30), kind="deploy",
            service=d.service, host=d.hosts[0] if len(d.hosts) == 1 else None,
            title=f"Deploy {d.service} {d.version} (from {d.previous})", status="succeeded",
            severity="info",
            attrs={"version": d.version, "previous_version": d.previous, "hosts": list(d.hosts),
                   "author": d.author, "note": d.note, "strategy": "rolling",
                   "restarts": {h: _dt(t).isoformat() for h, t in restarts.items()}},
        ))
    for c in script.changes:
        out.append(Event(
            id=c.id, ts=_dt(c.at), kind="change", service=c.service, host=c.host,
            title=c.title, status="applied", severity="info", attrs=dict(c.attrs),
        ))
    for a in script.alerts:
        labels = {"alertname": a.name, "service": a.service, "severity": a.severity, **a.labels}
        if a.host:
            labels["host"] = a.host
        out.append(Event(
            id=a.id, ts=_dt(a.at), end=_dt(a.resolved) if a.resolved else None, kind="alert",
            service=a.service, host=a.host, title=f"{a.name}: {a.summary}",
            status="resolved" if a.resolved else "firing", severity=a.severity,
            attrs={"alertname": a.name, "labels": labels,
                   "annotations": {"summary": a.summary}},
        ))
    for i in script.incidents:
        out.append(Event(
            id=i.id, ts=_dt(i.at), end=_dt(i.resolved) if i.resolved else None, kind="incident",
            service=i.service, host=i.host, title=i.title,
            status="resolved" if i.resolved else "investigating", severity=i.severity,
            attrs={},
        ))
    out.sort(key=lambda e: (e.ts, e.id))
    return out
