"""Conversation turns, so follow-ups ("and on web-02?") can reuse context.

Stored in SQLite under the data directory by default: one file, shared safely by the
threads of one process and by several processes on one host (WAL journal, a busy timeout,
and each append one immediate transaction, so two web workers adding to the same
conversation cannot take the same turn number). `ConversationStore()` with no path keeps
turns in memory only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_TURNS = 50
BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process's write to finish."""


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    answer: str
    context: dict[str, Any] = Field(default_factory=dict)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ConversationStore:
    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._mem: dict[str, list[Turn]] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # transactions are explicit below
            )
            self._db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS turns (conv TEXT NOT NULL, n INTEGER NOT NULL, "
                "turn TEXT NOT NULL, PRIMARY KEY (conv, n))"
            )

    def turns(self, conv_id: str) -> list[Turn]:
        with self._lock:
            if self._db is None:
                return list(self._mem.get(conv_id, []))
            rows = self._db.execute(
                "SELECT turn FROM turns WHERE conv = ? ORDER BY n", (conv_id,)
            ).fetchall()
        return [Turn.model_validate_json(r[0]) for r in rows]

    def append(self, conv_id: str, turn: Turn) -> None:
        with self._lock:
            if self._db is None:
                self._mem.setdefault(conv_id, []).append(turn)
                del self._mem[conv_id][:-MAX_TURNS]
                return
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # the write lock first: no other process's append
            try:                           # can read the same MAX(n) in between
                n = db.execute(
                    "SELECT COALESCE(MAX(n), 0) FROM turns WHERE conv = ?", (conv_id,)
                ).fetchone()[0]
                db.execute(
                    "INSERT INTO turns VALUES (?, ?, ?)", (conv_id, n + 1, turn.model_dump_json())
                )
                db.execute(
                    "DELETE FROM turns WHERE conv = ? AND n <= ?", (conv_id, n + 1 - MAX_TURNS)
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def export(self, conv_id: str) -> list[dict[str, Any]]:
        return [json.loads(t.model_dump_json()) for t in self.turns(conv_id)]
