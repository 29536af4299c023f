"""The one factory: settings (data) -> the services the assistant uses (objects).

Everything is built lazily and once; a service that cannot be built (an optional package
missing, an unreachable server) is reported where it is used, not at start-up.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from assistant.errors import ConfigError, NoStore, OpsaError
from assistant.ir import Query
from assistant.settings import Settings
from connectors.base import Catalog, Connector
from connectors.registry import connector_class

if TYPE_CHECKING:
    from assistant.entities import EntityLinker
    from assistant.llm import ChatModel
    from assistant.retrieval import Retriever
    from assistant.retrieval.models import IndexReport
    from assistant.retrieval.retriever import Progress


def build_connector(name: str, settings: Settings) -> Connector:
    """A connector by registry name, configured from settings."""
    cls = connector_class(name)
    factory = getattr(cls, "from_settings", None)
    if factory is None:
        raise ConfigError(f"connector {name!r} has no from_settings(settings) constructor")
    conn: Connector = factory(settings)
    return conn


EVENTS_LIMIT = 10_000
"""The most events one refresh of the events collection reads (the IR's own maximum)."""


class Services:
    """Connectors, catalog, retrieval, model and entity linker for one settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self.problems: dict[str, str] = {}
        self._stamp: object | None = None  # the backend's stamp when the catalog was read

    @cached_property
    def backend(self) -> Connector:
        return build_connector(self.settings.backend, self.settings)

    @cached_property
    def events_backend(self) -> Connector:
        name = self.settings.events_backend
        return build_connector(name, self.settings) if name else self.backend

    @cached_property
    def logs_backend(self) -> Connector:
        name = self.settings.logs_backend
        return build_connector(name, self.settings) if name else self.backend

    def connector_for(self, query: Query) -> Connector:
        """The connector that answers this kind of query."""
        if query.kind == "events":
            return self.events_backend
        if query.kind == "logs" and self.settings.logs_backend:
            return self.logs_backend
        if not self.backend.supports(query):
            raise ConfigError(
                f"the {self.backend.name} backend cannot answer {query.kind} queries; "
                "configure a backend that holds them (e.g. backend = \"embedded\")"
            )
        return self.backend

    def refresh_if_changed(self) -> bool:
        """Forget the catalog (and what is built from it) when another process has written
        the store since it was read: a server sees an `opsa ingest` on its next question."""
        with self._lock:
            backend = self.__dict__.get("backend")
            if backend is None or "catalog" not in self.__dict__:
                return False
            if backend.stamp() == self._stamp:
                return False
            backend.refresh()
            for key in ("catalog", "linker"):
                self.__dict__.pop(key, None)
            return True

    def release_store(self) -> None:
        """Close local store files between questions, so that another process may write
        (connectors to servers keep their connections)."""
        for key in ("backend", "logs_backend", "events_backend"):
            conn = self.__dict__.get(key)
            if conn is not None and conn.stamp() is not None:
                conn.close()

    @cached_property
    def catalog(self) -> Catalog:
        with self._lock:
            self._stamp = self.backend.stamp()
            try:
                cat = self.backend.catalog()
            except NoStore as exc:
                if not self.settings.chroma_path.is_dir():
                    raise  # nothing at all to answer from: say how to get data
                # Runbooks without telemetry: documentation questions are still answered.
                self.problems["store"] = str(exc)
                cat = Catalog(metrics=[], services=[], hosts=[])
            for key in ("logs_backend", "events_backend"):
                if getattr(self.settings, key):
                    try:
                        cat = cat.merged(getattr(self, key).catalog())
                    except OpsaError as exc:
                        self.problems[key] = str(exc)
            return cat

    def retriever(self) -> Retriever | None:
        """The retrieval layer, or None (with the reason in `problems`) when unavailable."""
        with self._lock:
            if "_retriever" in self.__dict__:
                cached: Retriever | None = self.__dict__["_retriever"]
                return cached
            try:
                from assistant.retrieval import Retriever

                r: Retriever | None = Retriever(self.settings)
            except (OpsaError, ImportError) as exc:
                self.problems["retrieval"] = str(exc)
                r = None
            self.__dict__["_retriever"] = r
            return r

    @cached_property
    def chat(self) -> ChatModel | None:
        from assistant.llm import build_chat_model

        try:
            return build_chat_model(self.settings)
        except OpsaError as exc:
            self.problems["llm"] = str(exc)
            return None

    @cached_property
    def linker(self) -> EntityLinker:
        from assistant.entities import EntityLinker

        return EntityLinker(self.catalog, semantic=self._semantic_catalog_search)

    def _semantic_catalog_search(self, text: str) -> list[tuple[str, str, float]]:
        retriever = self.retriever()
        if retriever is None:
            return []
        try:
            hits = retriever.search(text, collection="catalog", k=5)
        except OpsaError as exc:
            self.problems["retrieval"] = str(exc)
            return []
        out: list[tuple[str, str, float]] = []
        for h in hits:
            meta: dict[str, Any] = h.metadata or {}
            kind = str(meta.get("kind", "metric"))
            name = str(meta.get("name", h.id))
            out.append((kind, name, float(h.score)))
        return out

    def refresh_events(
        self, progress: Progress | None = None, rebuild: bool = False
    ) -> tuple[IndexReport, bool]:
        """Index the events backend's events of the retention window into the `events`
        collection (what `opsa index events` and `opsa serve`'s refresh run); `rebuild`
        empties the collection first, once the backend has answered. Returns the report
        and whether the backend had more events than one query returns."""
        from datetime import timedelta

        from assistant.ir import EventQuery, TimeRange

        retriever = self.retriever()
        if retriever is None:
            raise ConfigError(self.problems.get("retrieval", "retrieval is unavailable"))
        now = self.settings.clock()
        window = TimeRange(start=now - retriever.retention, end=now + timedelta(seconds=1))
        result = self.events_backend.run(EventQuery(time_range=window, limit=EVENTS_LIMIT))
        if rebuild:
            retriever.reset("events")
        return retriever.index_events(result.events, now, progress=progress), result.truncated

    def close(self) -> None:
        for key in ("backend", "logs_backend", "events_backend"):
            conn = self.__dict__.get(key)
            if conn is not None:
                conn.close()
