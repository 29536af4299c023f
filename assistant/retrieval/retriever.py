"""The retriever: index docs, catalog and events into Chroma; hybrid search over them.

Search = vector (Chroma, cosine) + keyword (BM25, in memory), fused by reciprocal rank
fusion; entries holding an exact identifier of the query (a metric name, a hostname, an
error code, an alert name) are ranked above all others. Hit scores::

    score = exact + rrf
    exact = for each query identifier found verbatim in the entry: 1, plus 0.02 when the
            entry is *named* by it (its heading or name is the identifier)
    rrf   = sum over the vector and keyword rankings of 1 / (60 + rank)

so ``score >= 1`` means an exact match and the rest orders by fused relevance.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError

from assistant.embedder import Embedder, get_embedder
from assistant.errors import RetrievalError
from assistant.retrieval import documents as docs_mod
from assistant.retrieval import store
from assistant.retrieval.entries import (
    catalog_entries,
    chunk_entry,
    content_hash,
    event_entry,
    event_last_time,
)
from assistant.retrieval.keyword import KeywordIndex, identifiers
from assistant.retrieval.models import (
    COLLECTIONS,
    CollectionName,
    Entry,
    Hit,
    IndexReport,
    MetaValue,
    SkippedFile,
)
from assistant.retrieval.vectors import Progress, embed_once, embedding_text, vector_key
from assistant.settings import Settings
from connectors.base import Catalog, Event

RRF_K = 60
OVERFETCH_MAX = 1000
"""Most neighbours asked of the vector index to filter them here instead of in Chroma."""
EXACT = 1.0
"""Added per query identifier found verbatim: more than any fused score can reach."""
NAMED = 0.02
"""Added when the entry is named by the identifier: about one first place in one ranking."""
DOC_EMBED_TOKENS = 128
"""Tokens of each document chunk that are embedded (0 = all): the title and heading that
`vectors.embedding_text` puts first plus the chunk's opening lines. Keyword search still
reads the whole chunk. Indexing time is proportional to the tokens embedded: 64 or 32
tokens embed 1.7x or 3.2x fewer tokens of the 272 OpenShift runbooks and keep their
recall, but lower the demo knowledge's recall@3 (0.98 -> 0.94 / 0.90), so 128 stays."""
VECTOR_KEY = "vkey"
"""Docs metadata: the `vectors.vector_key` of the text the entry's vector was made from."""
WhereValue = MetaValue | Sequence[MetaValue]


class Retriever:
    """Indexing and hybrid search over the ``docs``, ``catalog`` and ``events`` collections."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        client: ClientAPI | None = None,
        max_file_bytes: int = docs_mod.MAX_FILE_BYTES,
        chunk_chars: int = docs_mod.MAX_CHUNK_CHARS,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._client = client
        self.max_file_bytes = max_file_bytes
        self.chunk_chars = chunk_chars
        self.retention = timedelta(days=settings.chroma.events_retention_days)
        self._collections: dict[str, Collection] = {}
        self._keyword: dict[str, KeywordIndex] = {}
        self._open_lock = threading.RLock()

    # --- plumbing -------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._open_lock:
            if self._embedder is None:
                self._embedder = get_embedder(self.settings.chroma.embedder)
            return self._embedder

    @property
    def client(self) -> ClientAPI:
        # Opened once even when threads race here (a web request and the events refresh):
        # two PersistentClients created at once on a new path fail inside chromadb.
        with self._open_lock:
            if self._client is None:
                self._client = store.make_client(self.settings)
            return self._client

    def _collection(self, name: str, create: bool = True) -> Collection | None:
        if name not in COLLECTIONS:
            raise RetrievalError(
                f"unknown collection {name!r}; use one of: {', '.join(COLLECTIONS)}"
            )
        col = self._collections.get(name)
        if col is None:
            col = store.open_collection(self.client, name, self.embedder, create=create)
            if col is not None:
                self._collections[name] = col
        return col

    def _writable(self, name: str) -> Collection:
        col = self._collection(name, create=True)
        assert col is not None
        return col

    @store.chroma_errors("counting entries")
    def count(self, collection: CollectionName) -> int:
        """Entries in `collection` (0 if it does not exist yet)."""
        col = self._collection(collection, create=False)
        return 0 if col is None else col.count()

    @store.chroma_errors("deleting a collection")
    def reset(self, collection: CollectionName) -> None:
        """Delete `collection` entirely (e.g. to rebuild it with another embedder)."""
        if collection not in COLLECTIONS:
            raise RetrievalError(f"unknown collection {collection!r}")
        self._collections.pop(collection, None)
        self._keyword.pop(collection, None)
        with contextlib.suppress(NotFoundError):  # nothing to delete
            self.client.delete_collection(collection)

    def _embed(
        self, texts: list[str], progress: Progress | None = None
    ) -> tuple[np.ndarray, int, float]:
        """Vectors of `texts` (each distinct text embedded once), how many were embedded,
        and the seconds it took."""
        keys = [vector_key(self.embedder, t) for t in texts]
        done = embed_once(self.embedder, texts, keys, progress=progress)
        return done.vectors, done.embedded, done.seconds

    def _write(self, col: Collection, entries: list[Entry], vectors: np.ndarray) -> None:
        for start in range(0, len(entries), store.WRITE_BATCH):
            part = entries[start : start + store.WRITE_BATCH]
            col.upsert(
                ids=[e.id for e in part],
                documents=[e.text for e in part],
                metadatas=cast(Any, [e.metadata for e in part]),
                embeddings=cast(Any, vectors[start : start + len(part)]),
            )

    def _delete(self, col: Collection, ids: list[str]) -> None:
        for start in range(0, len(ids), store.WRITE_BATCH):
            col.delete(ids=ids[start : start + store.WRITE_BATCH])

    def _changed(self, col: Collection) -> None:
        store.bump_revision(col)
        self._keyword.pop(col.name, None)

    # --- docs -----------------------------------------------------------------------------

    @store.chroma_errors("indexing documents")
    def index_docs(
        self,
        paths: Iterable[str | Path],
        *,
        base: str | Path | None = None,
        progress: Progress | None = None,
    ) -> IndexReport:
        """Index markdown, text and HTML files (directories are walked); only changes are redone.

        A file's source path is relative to `base` (default: the working directory, else
        absolute). Sources that disappeared from an indexed directory, or that can no
        longer be read, are removed. Bad files are skipped and listed in the report.
        """
        t0 = time.perf_counter()
        report = IndexReport(collection="docs")
        roots = [Path(p) for p in paths]
        base_dir = Path(base).resolve() if base is not None else None
        col = self._writable("docs")
        existing = self._existing_sources(col)

        # (file, the directory it was found in, or "" when named explicitly)
        files: list[tuple[Path, str]] = []
        dir_roots: set[str] = set()
        named: set[str] = set()
        for root in roots:
            found, skipped, ignored = docs_mod.discover([root])
            report.skipped.extend(skipped)
            report.ignored += ignored
            tag = str(root.resolve()) if root.is_dir() else ""
            if tag:
                dir_roots.add(tag)
            else:
                named.add(self._source_for(root, base_dir))
            files.extend((f, tag) for f in found)

        kept: set[str] = set()
        pending: list[tuple[str, list[Entry]]] = []
        seen_paths: set[Path] = set()
        for path, tag in files:
            resolved = path.resolve()
            if resolved in seen_paths:
                continue
            seen_paths.add(resolved)
            source = self._source_for(path, base_dir)
            loaded = docs_mod.load(path, source, self.max_file_bytes)
            if isinstance(loaded, SkippedFile):
                report.skipped.append(loaded)
                continue
            old = existing.get(source)
            if old is not None and old.digest == loaded.digest:
                report.unchanged += 1
                kept.add(source)
                continue
            report.warnings.extend(SkippedFile(path=str(path), reason=problem)
                                   for problem in docs_mod.markup_problems(loaded))
            front, chunks = docs_mod.chunk_file(loaded, self.chunk_chars)
            if not chunks:
                report.skipped.append(
                    SkippedFile(path=str(path), reason="no text under any heading")
                )
                continue
            kept.add(source)
            pending.append((source, [chunk_entry(c, front, loaded.digest, tag) for c in chunks]))

        # gone: named files that are missing or unreadable now, and files that left (or
        # went bad in) a directory indexed again; other roots' sources are left alone
        gone = [
            s
            for s, old in existing.items()
            if s not in kept and (s in named or old.root in dir_roots)
        ]
        entries = [e for _, group in pending for e in group]
        texts = [embedding_text(e) for e in entries]
        if DOC_EMBED_TOKENS > 0:
            texts = [self.embedder.head(t, DOC_EMBED_TOKENS) for t in texts]
        keys = [vector_key(self.embedder, t) for t in texts]
        for entry, key in zip(entries, keys, strict=True):
            entry.metadata[VECTOR_KEY] = key
        done = embed_once(self.embedder, texts, keys, _stored_vectors(col, keys), progress)
        vectors, report.embedded, report.embed_s = done.vectors, done.embedded, done.seconds
        stale: list[str] = []
        for source, _ in pending:
            if source in existing:
                report.updated += 1
                stale.extend(existing[source].ids)
            else:
                report.added += 1
        for source in gone:
            stale.extend(existing[source].ids)
        report.removed = len(gone)
        if stale:
            self._delete(col, stale)
        if entries:
            self._write(col, entries, vectors)
        report.chunks = len(entries)
        if stale or entries:
            self._changed(col)
        report.elapsed_s = time.perf_counter() - t0
        return report

    @staticmethod
    def _source_for(path: Path, base: Path | None) -> str:
        resolved = path.resolve()
        for root in (base, Path.cwd().resolve()):
            if root is None:
                continue
            try:
                return resolved.relative_to(root).as_posix()
            except ValueError:
                continue
        return resolved.as_posix()

    @staticmethod
    def _existing_sources(col: Collection) -> dict[str, _Stored]:
        """What the collection holds per source: file digest, root and chunk ids."""
        got = store.get_all(col, ["metadatas"])
        out: dict[str, _Stored] = {}
        for id_, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            meta = meta or {}
            source = str(meta.get("source", ""))
            digest = str(meta.get("digest", ""))
            stored = out.setdefault(source, _Stored(digest, str(meta.get("root", ""))))
            stored.ids.append(id_)
            if stored.digest != digest:  # mixed versions: treat as changed
                stored.digest = ""
        return out

    # --- catalog and events -----------------------------------------------------------------

    def _sync(
        self,
        name: CollectionName,
        entries: list[Entry],
        delete_missing: bool,
        report: IndexReport,
        progress: Progress | None = None,
    ) -> None:
        """Upsert `entries`, embedding only new or changed ones; maybe delete the rest."""
        col = self._writable(name)
        for e in entries:
            e.metadata["hash"] = content_hash(e.text, e.metadata)
        if delete_missing:
            got = store.get_all(col, ["metadatas"])
        else:
            got = store.get_all(col, ["metadatas"], ids=[e.id for e in entries])
        old = {
            id_: str((m or {}).get("hash", ""))
            for id_, m in zip(got["ids"], got["metadatas"] or [], strict=True)
        }
        todo = [e for e in entries if old.get(e.id) != e.metadata["hash"]]
        report.added += sum(1 for e in todo if e.id not in old)
        report.updated += sum(1 for e in todo if e.id in old)
        report.unchanged += len(entries) - len(todo)
        wanted = {e.id for e in entries}
        gone = [i for i in old if i not in wanted] if delete_missing else []
        vectors, report.embedded, report.embed_s = self._embed([e.text for e in todo], progress)
        if gone:
            self._delete(col, gone)
            report.removed += len(gone)
        if todo:
            self._write(col, todo, vectors)
        report.chunks += len(todo)
        if todo or gone:
            self._changed(col)

    @store.chroma_errors("indexing the catalog")
    def index_catalog(self, catalog: Catalog, progress: Progress | None = None) -> IndexReport:
        """Make the ``catalog`` collection hold exactly the metrics, services and hosts given."""
        t0 = time.perf_counter()
        report = IndexReport(collection="catalog")
        self._sync("catalog", catalog_entries(catalog), True, report, progress)
        report.elapsed_s = time.perf_counter() - t0
        return report

    @store.chroma_errors("indexing events")
    def index_events(
        self, events: Sequence[Event], now: datetime, progress: Progress | None = None
    ) -> IndexReport:
        """Add events (deduplicated by id, the last one wins) within the retention window.

        Events whose latest time is older than ``now - retention`` are not added, and any
        such events already stored are pruned.
        """
        t0 = time.perf_counter()
        report = IndexReport(collection="events")
        cutoff = _aware(now) - self.retention
        by_id: dict[str, Event] = {}
        for ev in events:
            if ev.id in by_id:
                report.duplicates += 1
            by_id[ev.id] = ev
        fresh = [e for e in by_id.values() if _aware(event_last_time(e)) >= cutoff]
        report.expired = len(by_id) - len(fresh)
        if fresh:
            self._sync("events", [event_entry(e) for e in fresh], False, report, progress)
        report.removed += self._prune_events(cutoff)
        report.elapsed_s = time.perf_counter() - t0
        return report

    @store.chroma_errors("pruning events")
    def prune(self, now: datetime) -> IndexReport:
        """Delete events whose latest time is older than ``now - retention``."""
        t0 = time.perf_counter()
        report = IndexReport(collection="events")
        report.removed = self._prune_events(_aware(now) - self.retention)
        report.elapsed_s = time.perf_counter() - t0
        return report

    def _prune_events(self, cutoff: datetime) -> int:
        col = self._collection("events", create=False)
        if col is None:
            return 0
        where = cast(Any, {"last_ts": {"$lt": int(cutoff.timestamp())}})
        old = store.get_all(col, [], where=where)["ids"]
        if old:
            self._delete(col, list(old))
            self._changed(col)
        return len(old)

    # --- search -----------------------------------------------------------------------------

    def _current(self, name: str) -> tuple[Collection, str] | None:
        """The collection as it is now (reopened if another client recreated it) and its
        revision; None if it does not exist."""
        raw = store.peek(self.client, name)
        col = self._collections.get(name)
        if raw is None or col is None or col.id != raw.id:
            self._collections.pop(name, None)
            self._keyword.pop(name, None)
            if raw is None:
                return None
            col = self._collection(name, create=False)
            if col is None:
                return None
        return col, str((raw.metadata or {}).get(store.REVISION_KEY, ""))

    @staticmethod
    def _vector_search(
        col: Collection,
        kw: KeywordIndex,
        vec: list[float],
        pool: int,
        mask: np.ndarray | None,
        where: Mapping[str, WhereValue] | None,
        since: datetime | None,
        until: datetime | None,
    ) -> list[tuple[int, float]]:
        """The `pool` nearest entries that pass the filters, nearest first.

        With a filter, Chroma's filtered search is 5-10x slower than its plain one, so the
        plain one is asked for enough neighbours to hold `pool` that pass (the filtered
        nearest are then exactly those); only when it does not is the filter sent along.
        """
        n = len(kw)
        if mask is None:
            return _nearest(col, kw, vec, min(pool, n))
        allowed = int(mask.sum())
        need = min(pool, allowed)
        fetch = min(n, max(pool, math.ceil(2 * pool * n / allowed)))
        if fetch <= OVERFETCH_MAX:
            passing = [(i, d) for i, d in _nearest(col, kw, vec, fetch) if mask[i]]
            if len(passing) >= need:
                return passing[:pool]
        return _nearest(col, kw, vec, need, _chroma_where(where, since, until))

    def _keyword_index(self, name: str, col: Collection, rev: str) -> KeywordIndex:
        cached = self._keyword.get(name)
        if cached is not None and cached.revision == rev:
            return cached
        got = store.get_all(col, ["documents", "metadatas"])
        metas = [dict(m or {}) for m in got["metadatas"] or []]
        texts = list(got["documents"] or [])
        keyed = [
            f"{m.get('title', '')} {m.get('heading', '')}\n{t}"
            for t, m in zip(texts, metas, strict=True)
        ]
        index = KeywordIndex.build(got["ids"], keyed, metas, revision=rev, texts=texts)
        self._keyword[name] = index
        return index

    @store.chroma_errors("searching")
    def search(
        self,
        text: str,
        collection: CollectionName = "docs",
        k: int = 5,
        where: Mapping[str, WhereValue] | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Hit]:
        """The `k` best entries of `collection` for `text`.

        `where` filters on metadata by equality (a list means any of): ``service``,
        ``kind``, ``host``, ``severity``, ``source``, ... `since`/`until` keep events that
        overlap the window (``events`` only).
        """
        query = text.strip()
        if not query:
            raise RetrievalError("the search text is empty; say what to look for")
        if k < 1:
            raise RetrievalError(f"k must be at least 1, got {k}")
        if (since or until) and collection != "events":
            raise RetrievalError(
                f"a time window applies to the events collection only, not {collection!r}"
            )
        if collection not in COLLECTIONS:
            raise RetrievalError(
                f"unknown collection {collection!r}; use one of: {', '.join(COLLECTIONS)}"
            )
        current = self._current(collection)
        if current is None:
            return []
        col, rev = current
        kw = self._keyword_index(collection, col, rev)
        if len(kw) == 0:
            return []
        mask = _mask(kw, where, since, until)
        if mask is not None and not mask.any():
            return []
        pool = max(4 * k, 40)
        score = np.zeros(len(kw), dtype=np.float64)
        similarity: dict[int, float] = {}
        keyword: dict[int, float] = {}

        vector = self._vector_search(
            col, kw, self.embedder.embed_query(query), pool, mask, where, since, until
        )
        for rank, (i, dist) in enumerate(vector):
            similarity[i] = 1.0 - dist
            score[i] += 1.0 / (RRF_K + rank + 1)
        for rank, (i, value) in enumerate(kw.top(query, pool, mask)):
            keyword[i] = value
            score[i] += 1.0 / (RRF_K + rank + 1)

        terms = identifiers(query)
        for term in terms:
            for found, weight in ((kw.containing(term), EXACT), (kw.named(term), NAMED)):
                if mask is not None:
                    found = found[mask[found]]
                score[found] += weight

        candidates = np.flatnonzero(score > 0)
        order = candidates[np.argsort(-score[candidates], kind="stable")][:k]
        hits = []
        for i in (int(x) for x in order):
            meta = kw.metadatas[i]
            hits.append(
                Hit(
                    collection=collection,
                    id=kw.ids[i],
                    source=str(meta.get("source", kw.ids[i])),
                    heading=str(meta.get("heading", "")),
                    score=float(score[i]),
                    text=kw.texts[i],
                    metadata=meta,
                    exact=[t for t in terms if _holds(kw.containing(t), i)],
                    similarity=similarity.get(i),
                    keyword=keyword.get(i),
                )
            )
        return hits


    @store.chroma_errors("reading")
    def titles(self, collection: CollectionName = "docs") -> dict[str, str]:
        """Every indexed source of `collection` and its document title (its heading where
        the document has no title)."""
        kw = self._loaded(collection)
        out: dict[str, str] = {}
        for i, meta in enumerate(kw.metadatas if kw is not None else []):
            source = str(meta.get("source", kw.ids[i] if kw is not None else ""))
            out.setdefault(source, str(meta.get("title") or meta.get("heading") or ""))
        return out

    @store.chroma_errors("reading")
    def sections(self, source: str, collection: CollectionName = "docs") -> list[Hit]:
        """Every chunk of one source, in the order they were indexed (score 0)."""
        kw = self._loaded(collection)
        if kw is None:
            return []
        found = [i for i, m in enumerate(kw.metadatas) if str(m.get("source", "")) == source]
        return [Hit(collection=collection, id=kw.ids[i], source=source,
                    heading=str(kw.metadatas[i].get("heading", "")), score=0.0,
                    text=kw.texts[i], metadata=kw.metadatas[i]) for i in found]

    def _loaded(self, collection: CollectionName) -> KeywordIndex | None:
        current = self._current(collection)
        if current is None:
            return None
        return self._keyword_index(collection, *current)


@dataclass
class _Stored:
    digest: str
    root: str
    ids: list[str] = field(default_factory=list)


KEYS_PER_READ = 500
"""Vector keys per lookup of stored vectors (each one is a variable of Chroma's query)."""


def _stored_vectors(col: Collection, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """The stored vectors whose entries were made from one of `keys`, by key."""
    wanted = sorted(set(keys))
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(wanted), KEYS_PER_READ):
        where = cast(Any, {VECTOR_KEY: {"$in": wanted[start : start + KEYS_PER_READ]}})
        got = store.get_all(col, ["embeddings", "metadatas"], where=where)
        for vec, meta in zip(got["embeddings"], got["metadatas"], strict=True):
            out.setdefault(str((meta or {}).get(VECTOR_KEY, "")),
                           np.asarray(vec, dtype=np.float32))
    return out


def _nearest(
    col: Collection, kw: KeywordIndex, vec: list[float], n: int, where: Any = None
) -> list[tuple[int, float]]:
    """(entry index, cosine distance) of the `n` nearest entries, by Chroma's index."""
    res = col.query(
        query_embeddings=cast(Any, [vec]),
        n_results=n,
        where=where,
        include=cast(Any, ["distances"]),
    )
    out = []
    for id_, dist in zip(res["ids"][0], (res.get("distances") or [[]])[0], strict=True):
        i = kw.position(id_)
        if i is not None:  # else written after our keyword snapshot: seen on the next search
            out.append((i, float(dist)))
    return out


def _holds(sorted_ids: np.ndarray, i: int) -> bool:
    pos = int(np.searchsorted(sorted_ids, i))
    return pos < len(sorted_ids) and int(sorted_ids[pos]) == i


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _check_where(where: Mapping[str, WhereValue]) -> None:
    for key, value in where.items():
        values = value if isinstance(value, list | tuple) else [value]
        if not values or not all(isinstance(v, str | int | float | bool) for v in values):
            raise RetrievalError(
                f"filter {key}={value!r} is not supported; use a string, number or bool, "
                "or a non-empty list of them"
            )


def _chroma_where(
    where: Mapping[str, WhereValue] | None, since: datetime | None, until: datetime | None
) -> Any:
    clauses: list[dict[str, Any]] = []
    if where:
        _check_where(where)
        for key, value in where.items():
            if isinstance(value, list | tuple):
                clauses.append({key: {"$in": list(value)}})
            else:
                clauses.append({key: {"$eq": value}})
    if since is not None:
        clauses.append({"last_ts": {"$gte": int(_aware(since).timestamp())}})
    if until is not None:
        clauses.append({"ts": {"$lte": int(_aware(until).timestamp())}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _mask(
    kw: KeywordIndex,
    where: Mapping[str, WhereValue] | None,
    since: datetime | None,
    until: datetime | None,
) -> np.ndarray | None:
    """Which entries pass the filters (None: no filter)."""
    if not where and since is None and until is None:
        return None
    mask = np.ones(len(kw), dtype=bool)
    if where:
        _check_where(where)
        for key, value in where.items():
            col = kw.column(key)
            allowed = list(value) if isinstance(value, list | tuple) else [value]
            hit = np.zeros(len(kw), dtype=bool)
            for v in allowed:
                hit |= np.asarray(col == v, dtype=bool)
            mask &= hit
    if since is not None:
        mask &= kw.numeric("last_ts") >= _aware(since).timestamp()
    if until is not None:
        mask &= kw.numeric("ts") <= _aware(until).timestamp()
    return mask
