"""What a data directory holds, for `opsa status`: so a new user knows what to ask about.

Read-only: the telemetry store is opened read-only (waiting briefly for a writer), the
Chroma index is only counted (no embedder is loaded; a local index is counted from its
SQLite file, without importing chromadb).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.errors import NoStore, OpsaError
from assistant.settings import Settings
from connectors.embedded import schema

NAMES_SHOWN = 20


class Span(BaseModel):
    rows: int
    first: datetime | None = None
    last: datetime | None = None


class Source(BaseModel):
    kind: str
    path: str
    rows: int
    at: datetime


class StoreStatus(BaseModel):
    data_dir: str
    store: bool = Field(description="whether a telemetry store exists")
    logs: Span = Field(default_factory=lambda: Span(rows=0))
    samples: Span = Field(default_factory=lambda: Span(rows=0))
    events: Span = Field(default_factory=lambda: Span(rows=0))
    metrics: int = 0
    series: int = 0
    templates: int = 0
    services: list[str] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list)
    levels: dict[str, int] = Field(default_factory=dict)
    sources: list[Source] = Field(default_factory=list)
    indexed: dict[str, int] = Field(default_factory=dict,
                                    description="entries per Chroma collection")
    problems: list[str] = Field(default_factory=list)


def store_status(settings: Settings) -> StoreStatus:
    """Counts, periods, names and sources of the store, and the index's collection sizes."""
    st = StoreStatus(data_dir=str(settings.data_dir), store=settings.store_path.exists())
    if st.store:
        try:
            con = schema.connect(settings.store_path, read_only=True,
                                 wait_s=schema.READER_WAIT_S)
        except NoStore:
            st.store = False
        except OpsaError as exc:
            st.problems.append(str(exc))
        else:
            try:
                _read_store(con, st)
            finally:
                con.close()
    st.indexed, problem = _indexed(settings)
    if problem:
        st.problems.append(problem)
    return st


def _span(con: Any, table: str, column: str = "ts") -> Span:
    rows, first, last = con.execute(
        f"SELECT count(*), min({column}), max({column}) FROM {table}").fetchone()
    return Span(rows=int(rows), first=first, last=last)


def _names(con: Any, sql: str) -> list[str]:
    return [str(r[0]) for r in con.execute(sql).fetchall() if r[0] is not None]


def _read_store(con: Any, st: StoreStatus) -> None:
    st.logs = _span(con, "logs")
    st.samples = _span(con, "samples")
    st.events = _span(con, "events")
    st.series = int(con.execute("SELECT count(*) FROM series").fetchone()[0])
    st.metrics = int(con.execute("SELECT count(DISTINCT metric) FROM series").fetchone()[0])
    st.templates = int(con.execute("SELECT count(*) FROM log_templates").fetchone()[0])
    st.services = _names(con, """
        SELECT service FROM (SELECT service FROM logs UNION SELECT service FROM events
                             UNION SELECT labels['service'] FROM series)
        WHERE service IS NOT NULL ORDER BY service""")
    st.hosts = _names(con, """
        SELECT host FROM (SELECT host FROM logs UNION SELECT host FROM events
                          UNION SELECT labels['host'] FROM series)
        WHERE host IS NOT NULL ORDER BY host""")
    st.levels = {str(lv or "(none)"): int(n) for lv, n in con.execute(
        "SELECT level, count(*) FROM logs GROUP BY level ORDER BY count(*) DESC").fetchall()}
    st.sources = [Source(kind=k, path=p or "-", rows=int(n), at=at) for k, p, n, at in
                  con.execute('SELECT kind, path, rows, "at" FROM ingested ORDER BY "at"')
                  .fetchall()]


def _indexed(settings: Settings) -> tuple[dict[str, int], str | None]:
    if not settings.chroma.url and not settings.chroma_path.is_dir():
        return {}, None  # nothing indexed here (and nothing is created by looking)
    if not settings.chroma.url:
        counted = count_local_index(settings.chroma_path / CHROMA_SQLITE)
        if counted is not None:
            return counted
    return _count_with_client(settings)


CHROMA_SQLITE = "chroma.sqlite3"
_COUNT_SQL = """
    SELECT c.name, count(e.id) FROM collections c
    JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA'
    LEFT JOIN embeddings e ON e.segment_id = s.id
    GROUP BY c.name ORDER BY min(c.rowid)"""


def count_local_index(db: Path) -> tuple[dict[str, int], str | None] | None:
    """Entries per collection, read from a local Chroma store's SQLite file (read-only,
    without importing chromadb: 1-2 s saved); None when the file is not in the layout this
    query knows (another Chroma version): the caller then asks a Chroma client."""
    if not db.is_file():
        return {}, None
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return {}, f"the search index could not be read: {exc}"
    try:
        rows = con.execute(_COUNT_SQL).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such" in str(exc):  # table or column: not the layout we know
            return None
        return {}, f"the search index could not be read: {exc}"
    except sqlite3.DatabaseError as exc:  # not a database, malformed
        return {}, f"the search index could not be read: {exc}"
    finally:
        con.close()
    return {str(name): int(n) for name, n in rows}, None


def _count_with_client(settings: Settings) -> tuple[dict[str, int], str | None]:
    """Entries per collection through a Chroma client (a server, or an unknown layout)."""
    try:
        from assistant.retrieval import store as chroma_store
        from assistant.retrieval.models import COLLECTIONS

        client = chroma_store.make_client(settings)
        out: dict[str, int] = {}
        for name in COLLECTIONS:
            col = chroma_store.peek(client, name)
            if col is not None:
                out[name] = col.count()
        return out, None
    except (OpsaError, ImportError, OSError) as exc:
        return {}, f"the search index could not be read: {exc}"


__all__ = ["CHROMA_SQLITE", "NAMES_SHOWN", "StoreStatus", "count_local_index", "store_status"]
