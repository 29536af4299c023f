"""The audit log: who asked what, how it was read and planned, which native queries ran,
how long each took and how it ended — one JSON line per question in
`<data_dir>/audit.jsonl`, kept for `audit_retention_days`.

A file, not a table in the store: questions only ever read the store. Tokens are never
written (the caller is named by a short hash of its token, a Slack user and channel, or the
local user); the questions and native queries are.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.language import scrub
from assistant.models import Answer, AssistantEvent

log = logging.getLogger(__name__)

NATIVE_CHARS = 4000
"""A native query longer than this is cut in the log."""
PRUNE_EVERY_S = 3600.0


class AuditQuery(BaseModel):
    purpose: str
    connector: str
    ok: bool
    elapsed_ms: float
    native: str
    error: str | None = None


class AuditEntry(BaseModel):
    at: datetime
    principal: str
    question: str
    conversation_id: str | None = None
    language: str = ""
    plan: list[dict[str, Any]] = Field(default_factory=list, description="the IR planned")
    queries: list[AuditQuery] = Field(default_factory=list)
    outcome: str = Field(description="answered, refused, clarification or error")
    grounded: bool | None = None
    error: str | None = None
    elapsed_ms: float


class AuditLog:
    """Append-only JSON lines with a retention window (pruned at most once an hour)."""

    def __init__(self, path: Path, retention_days: int = 30) -> None:
        self.path = path
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._pruned = 0.0

    def record(self, entry: AuditEntry) -> None:
        line = entry.model_dump_json() + "\n"
        with self._lock:
            if not self.path.parent.is_dir():
                return  # no data directory (yet): asking creates nothing on disk
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
            if time.monotonic() - self._pruned > PRUNE_EVERY_S:
                self._prune()

    def entries(self, since: datetime | None = None) -> Iterator[AuditEntry]:
        """The entries at or after `since` (all when None), oldest first."""
        if not self.path.is_file():
            return
        with self.path.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    e = AuditEntry.model_validate_json(line)
                except ValueError:
                    continue  # a line cut by a crash mid-write
                if since is None or e.at >= since:
                    yield e

    def prune(self) -> None:
        """Drop the entries older than the retention window (also done hourly on write)."""
        with self._lock:
            self._prune()

    def _prune(self) -> None:
        self._pruned = time.monotonic()
        cutoff = datetime.now(UTC) - self.retention
        kept = [e for e in self.entries() if e.at >= cutoff]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(e.model_dump_json() + "\n" for e in kept), encoding="utf-8")
        os.replace(tmp, self.path)


class Recorder:
    """Follows one question's events and writes its entry when the answer (or error) comes."""

    def __init__(self, log: AuditLog | None, principal: str, question: str,
                 conversation_id: str | None) -> None:
        self.log = log
        self.t0 = time.perf_counter()
        self.entry = AuditEntry(at=datetime.now(UTC), principal=principal,
                                question=scrub(question),
                                conversation_id=conversation_id, outcome="error",
                                elapsed_ms=0.0)

    def see(self, ev: AssistantEvent) -> None:
        if ev.type == "plan":
            self.entry.plan = [q.get("ir", {}) for q in ev.data.get("queries", [])
                               if isinstance(q, dict)]
        elif ev.type == "answer":
            self.answered(Answer.model_validate(ev.data))

    def answered(self, ans: Answer) -> None:
        e = self.entry
        e.language = ans.language
        e.queries = [AuditQuery(purpose=q.purpose, connector=q.connector, ok=q.ok,
                                elapsed_ms=q.elapsed_ms, native=q.native[:NATIVE_CHARS],
                                error=q.error) for q in ans.queries]
        e.outcome = ("refused" if ans.refused else "clarification" if ans.clarification
                     else "answered")
        e.grounded = ans.grounded

    def finish(self, error: BaseException | None = None) -> None:
        if self.log is None:
            return
        if error is not None:
            self.entry.outcome = "error"
            self.entry.error = f"{type(error).__name__}: {error}"[:500]
        self.entry.elapsed_ms = round((time.perf_counter() - self.t0) * 1000, 1)
        try:
            self.log.record(self.entry)
        except (OSError, ValueError):  # a full disk must not fail the answer
            log.exception("could not write the audit log")


def since_arg(text: str, now: datetime) -> datetime:
    """ "1h", "30m", "7d" or an ISO 8601 time -> an aware datetime."""
    units = {"m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return now - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def dumps(entry: AuditEntry) -> str:
    return json.dumps(entry.model_dump(mode="json"), ensure_ascii=False)


__all__ = ["AuditEntry", "AuditLog", "AuditQuery", "Recorder", "dumps", "since_arg"]
