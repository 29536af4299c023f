"""`opsa serve` pulls events: a real Alertmanager's alerts reach the `events` collection.

A real Alertmanager on loopback holds a firing alert; the web app, configured with
``events_backend = "alertmanager"`` and ``events_refresh_s``, indexes it into a real
(embedded) Chroma with the MiniLM embedder without anyone calling `opsa index events`,
reports the refresh in `/healthz`, and reports a failing backend there too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.settings import Settings
from assistant.web.app import create_app


def _settings(data_dir: Path, am_url: str) -> Settings:
    return Settings(
        data_dir=data_dir, events_backend="alertmanager", alertmanager={"url": am_url},
        events_refresh_s=0.5, chroma={"embedder": "minilm"}, llm={"provider": "none"},
    )


def _wait_for(client: TestClient, done: Any, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        check: dict[str, Any] = client.get("/healthz").json()["checks"]["events_refresh"]
        if done(check) or time.monotonic() > deadline:
            return check
        time.sleep(0.2)


@pytest.mark.server
def test_serve_indexes_alertmanager_alerts_on_its_own(alertmanager_url: str,
                                                      tmp_path: Path) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "QueueBacklogGrowing", "service": "orders",
                   "severity": "warning"},
        "annotations": {"summary": "orders queue backlog above 10k for 15m"},
        "startsAt": (now - timedelta(minutes=20)).isoformat().replace("+00:00", "Z"),
    }
    httpx.post(f"{alertmanager_url}/api/v2/alerts", json=[alert]).raise_for_status()
    app = create_app(_settings(tmp_path, alertmanager_url), warm=False)
    with TestClient(app) as client:
        check = _wait_for(client, lambda c: c["ok"] and c["info"]["indexed"] >= 1)
        assert check["ok"] and check["info"]["indexed"] >= 1, check
        retriever = app.state.ctx.services.retriever()
        hits = retriever.search("orders queue backlog", collection="events", k=3)
        assert any("QueueBacklogGrowing" in (h.text or "") for h in hits), hits


@pytest.mark.server
def test_a_failing_events_backend_shows_in_healthz(tmp_path: Path) -> None:
    from servers import free_port

    app = create_app(_settings(tmp_path, f"http://127.0.0.1:{free_port()}"), warm=False)
    with TestClient(app) as client:
        check = _wait_for(client, lambda c: c["info"]["rounds"] >= 1)
        assert not check["ok"] and "events refresh failing" in check["detail"], check
        assert client.get("/healthz").json()["status"] != "ok"
