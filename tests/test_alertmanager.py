"""Alertmanager v2 alerts and silences as events: against a real server, plus faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from servers import free_port

from assistant.errors import BackendError, BackendUnavailable, ConfigError
from assistant.ir import EventQuery, MetricQuery, TimeRange
from assistant.settings import AlertmanagerSettings, load_settings
from connectors.alertmanager import AlertmanagerConnector


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def last(hours: float) -> TimeRange:
    now = datetime.now(UTC)
    return TimeRange(start=now - timedelta(hours=hours), end=now + timedelta(minutes=1))


@pytest.fixture(scope="module")
def am(alertmanager_url: str) -> Iterator[AlertmanagerConnector]:
    now = datetime.now(UTC)
    alerts = [
        {
            "labels": {
                "alertname": "HighCPU",
                "host": "web-03",
                "service": "checkout",
                "severity": "critical",
            },
            "annotations": {"summary": "CPU above 95% for 10m"},
            "startsAt": iso(now - timedelta(hours=1)),
        },
        {
            "labels": {"alertname": "DiskFilling", "instance": "db-01:9100", "job": "postgres"},
            "startsAt": iso(now - timedelta(minutes=10)),
        },
    ]
    httpx.post(f"{alertmanager_url}/api/v2/alerts", json=alerts).raise_for_status()
    silence = {
        "matchers": [{"name": "alertname", "value": "HighCPU", "isRegex": False}],
        "startsAt": iso(now),
        "endsAt": iso(now + timedelta(hours=2)),
        "createdBy": "oncall",
        "comment": "scaling web-03",
    }
    httpx.post(f"{alertmanager_url}/api/v2/silences", json=silence).raise_for_status()
    conn = AlertmanagerConnector(AlertmanagerSettings(url=alertmanager_url, timeout_s=5))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the silence applies asynchronously
        statuses = {e.status for e in conn.fetch_events() if e.kind == "alert"}
        if statuses == {"silenced", "firing"}:
            break
        time.sleep(0.1)
    yield conn
    conn.close()


@pytest.mark.server
def test_alerts_and_silences_become_events(am: AlertmanagerConnector) -> None:
    res = am.run(EventQuery(time_range=last(2)))
    by_title = {e.title: e for e in res.events}
    cpu = by_title["HighCPU: CPU above 95% for 10m"]
    assert (cpu.kind, cpu.service, cpu.host, cpu.status, cpu.severity) == (
        "alert",
        "checkout",
        "web-03",
        "silenced",
        "critical",
    )
    disk = by_title["DiskFilling"]
    assert (disk.service, disk.host, disk.status) == ("postgres", "db-01", "firing")
    silence = by_title['silence {alertname="HighCPU"}: scaling web-03']
    assert (silence.kind, silence.status, silence.attrs["type"]) == ("change", "active", "silence")
    assert silence.end is not None and silence.end > silence.ts
    assert res.total == 3 and not res.truncated
    # newest first
    assert [e.ts for e in res.events] == sorted((e.ts for e in res.events), reverse=True)


@pytest.mark.server
def test_event_filters(am: AlertmanagerConnector) -> None:
    def titles(**kw: Any) -> list[str]:
        return [e.title.split(":")[0] for e in am.run(EventQuery(time_range=last(2), **kw)).events]

    assert titles(kinds=("alert",), service="checkout") == ["HighCPU"]
    assert titles(host="db-01") == ["DiskFilling"]
    assert titles(status="firing") == ["DiskFilling"]
    assert titles(kinds=("change",)) == ['silence {alertname="HighCPU"}']
    assert titles(kinds=("deploy",)) == []
    # HighCPU started an hour ago: a range ending 30 minutes ago sees only it
    now = datetime.now(UTC)
    old = TimeRange(start=now - timedelta(hours=3), end=now - timedelta(minutes=30))
    assert [e.title for e in am.run(EventQuery(time_range=old)).events] == [
        "HighCPU: CPU above 95% for 10m"
    ]
    res = am.run(EventQuery(time_range=last(2), limit=1))
    assert len(res.events) == 1 and res.total == 3 and res.truncated
    assert res.warnings == ["showing the newest 1 of 3 events"]


@pytest.mark.server
def test_resolved_alert_is_remembered(alertmanager_url: str) -> None:
    conn = AlertmanagerConnector(AlertmanagerSettings(url=alertmanager_url))
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "Blip", "host": "auth-01", "service": "auth"},
        "startsAt": iso(now - timedelta(minutes=1)),
        "endsAt": iso(now + timedelta(seconds=1.5)),
    }
    httpx.post(f"{alertmanager_url}/api/v2/alerts", json=[alert]).raise_for_status()
    first = [e for e in conn.fetch_events() if e.title == "Blip"]
    assert [e.status for e in first] == ["firing"]
    time.sleep(2.0)
    later = [e for e in conn.fetch_events() if e.title == "Blip"]
    assert [e.status for e in later] == ["resolved"]
    assert later[0].end is not None and later[0].end >= now
    res = conn.run(EventQuery(time_range=last(1), status="resolved"))
    assert [e.title for e in res.events] == ["Blip"]


def test_catalog_lists_kinds_services_hosts() -> None:
    body = [
        {
            "labels": {"alertname": "A", "service": "payments", "host": "pay-01"},
            "startsAt": "2026-11-20T11:00:00Z",
            "endsAt": "2026-11-20T13:00:00Z",
            "fingerprint": "abc",
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        }
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body if request.url.path.endswith("alerts") else [])

    conn = AlertmanagerConnector(
        AlertmanagerSettings(url="http://am.test"), transport=httpx.MockTransport(handler)
    )
    cat = conn.catalog()
    assert (cat.services, cat.hosts, cat.event_kinds) == (
        ["payments"],
        ["pay-01"],
        ["alert", "change"],
    )
    ev = conn.fetch_events()[0]
    assert ev.id == "am-alert-abc-1795172400" and ev.status == "firing" and ev.end is None


def test_unreachable_and_garbage() -> None:
    conn = AlertmanagerConnector(AlertmanagerSettings(url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(BackendUnavailable, match="cannot reach Alertmanager"):
        conn.run(EventQuery(time_range=last(1)))

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>proxy login</html>")

    conn = AlertmanagerConnector(
        AlertmanagerSettings(url="http://am.test"), transport=httpx.MockTransport(garbage)
    )
    with pytest.raises(BackendError, match="not JSON"):
        conn.fetch_events()

    def wrong_shape(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps({"data": []}).encode())

    conn = AlertmanagerConnector(
        AlertmanagerSettings(url="http://am.test"), transport=httpx.MockTransport(wrong_shape)
    )
    with pytest.raises(BackendError, match="v2 API"):
        conn.fetch_events()

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json="silences store unavailable")

    conn = AlertmanagerConnector(
        AlertmanagerSettings(url="http://am.test"), transport=httpx.MockTransport(failing)
    )
    with pytest.raises(BackendError, match="HTTP 500: silences store unavailable"):
        conn.fetch_events()


def test_only_events_are_supported() -> None:
    conn = AlertmanagerConnector(AlertmanagerSettings(url="http://am.test"))
    mq = MetricQuery(metric="up", time_range=last(1))
    assert not conn.supports(mq) and conn.supports(EventQuery(time_range=last(1)))
    with pytest.raises(BackendError, match="event queries only"):
        conn.run(mq)


def test_from_settings_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSA_ALERTMANAGER__URL", raising=False)
    with pytest.raises(ConfigError, match=r"alertmanager\.url"):
        AlertmanagerConnector.from_settings(load_settings())
    monkeypatch.setenv("OPSA_ALERTMANAGER__URL", "http://127.0.0.1:9093")
    assert AlertmanagerConnector.from_settings(load_settings()).http.url == "http://127.0.0.1:9093"
