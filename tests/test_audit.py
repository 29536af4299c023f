"""The audit log: every question with its caller, plan, native queries, timings and outcome;
no token in it; old entries pruned; `opsa audit` reads it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from web_support import LiveServer

from assistant.audit import AuditEntry, AuditLog
from assistant.cli import app
from assistant.core import AskOptions
from assistant.web import create_app
from tests.test_core import NOW, FakeConnector, assistant

TOKEN = "audit-secret-token"


def _tiny_store(data: Path) -> None:
    from assistant.ingest.pipeline import ingest_paths

    log = data.parent / f"{data.name}.log"
    log.write_text("2026-11-20T11:30:00Z web-03 shop[1]: ERROR payment declined\n")
    ingest_paths(data / "telemetry.duckdb", "logs", [log], progress=False)


def test_each_question_is_recorded_with_its_plan_queries_and_outcome(tmp_path: Path) -> None:
    a = assistant(tmp_path, FakeConnector())
    a.ask("peak cpu on web-03 in the last hour", options=AskOptions(now=NOW, principal="cli:ana"))
    a.ask("restart web-03", options=AskOptions(now=NOW, principal="slack:U1@C1"))
    entries = list(AuditLog(tmp_path / "audit.jsonl").entries())
    assert [(e.principal, e.outcome) for e in entries] == [("cli:ana", "answered"),
                                                           ("slack:U1@C1", "refused")]
    first = entries[0]
    assert first.plan and first.plan[0]["kind"] == "metric"
    assert first.queries and first.queries[0].native and first.queries[0].ok
    assert first.grounded is True and first.elapsed_ms > 0


def test_web_callers_are_named_by_a_hash_never_the_token(tmp_path: Path) -> None:
    from assistant.settings import Settings

    _tiny_store(tmp_path)
    s = Settings(data_dir=tmp_path, api_tokens=[TOKEN], llm={"provider": "none"},
                 now=NOW.isoformat())
    with LiveServer(create_app(s, warm=False)) as srv:
        r = httpx.post(f"{srv.url}/api/chat", json={"question": "peak cpu"},
                       headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert r.status_code == 200
    text = (tmp_path / "audit.jsonl").read_text()
    assert TOKEN not in text
    (entry,) = [json.loads(line) for line in text.splitlines()]
    assert entry["principal"].startswith("web:tok:") and entry["question"] == "peak cpu"


def test_old_entries_are_pruned_and_the_cli_filters_by_time(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", retention_days=7)
    now = datetime.now(UTC)
    for days, q in ((30, "old"), (2, "recent"), (0, "now")):
        log.record(AuditEntry(at=now - timedelta(days=days), principal="cli:x", question=q,
                              outcome="answered", elapsed_ms=1.0))
    log.prune()
    assert [e.question for e in log.entries()] == ["recent", "now"]
    res = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "audit", "--since", "1d",
                                   "--json"])
    assert res.exit_code == 0
    assert [json.loads(x)["question"] for x in res.stdout.splitlines()] == ["now"]
    bad = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "audit", "--since", "soon"])
    assert bad.exit_code == 1 and "--since" in bad.stderr


@pytest.mark.parametrize("retention", [0])
def test_retention_zero_turns_the_log_off(tmp_path: Path, retention: int) -> None:
    from assistant.conversation import ConversationStore
    from assistant.core import Assistant
    from assistant.services import Services
    from assistant.settings import load_settings

    _tiny_store(tmp_path)
    s = load_settings(data_dir=tmp_path, now=NOW.isoformat(), audit_retention_days=retention,
                      llm={"provider": "none"})
    a = Assistant(Services(s), ConversationStore())
    a.ask("restart web-03")
    assert not (tmp_path / "audit.jsonl").exists()
