"""The connector seam: what exists (`catalog`), run a query (`run`), show it (`native`).

Every backend (embedded DuckDB, Prometheus, Alertmanager, ClickHouse, ...) implements
`Connector` and returns the same `Result`, so the assistant never knows which engine
answered. Connectors are read-only by construction and raise `assistant.errors`
exceptions, mapping their client's errors at the boundary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery, Query
from assistant.log_fields import TemplateField

MetricType = Literal["counter", "gauge", "histogram", "summary", "unknown"]
Scalar = str | int | float | None
DataKind = Literal["metric", "logs", "events"]
Extent = tuple[datetime, datetime]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricInfo(_Model):
    """One metric as the backend knows it."""

    name: str
    type: MetricType = "unknown"
    help: str = ""
    unit: str = ""
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="label name -> known values (bounded)"
    )


class Catalog(_Model):
    """What a backend holds: the vocabulary the planner may use."""

    metrics: list[MetricInfo] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list)
    event_kinds: list[str] = Field(default_factory=list)
    log_levels: list[str] = Field(default_factory=list)

    def metric(self, name: str) -> MetricInfo | None:
        for m in self.metrics:
            if m.name == name:
                return m
        return None

    def label_names(self) -> list[str]:
        return sorted({label for m in self.metrics for label in m.labels})

    def merged(self, other: Catalog) -> Catalog:
        """Union of two catalogs (metrics by name: first wins)."""
        names = {m.name for m in self.metrics}
        return Catalog(
            metrics=self.metrics + [m for m in other.metrics if m.name not in names],
            services=sorted(set(self.services) | set(other.services)),
            hosts=sorted(set(self.hosts) | set(other.hosts)),
            event_kinds=sorted(set(self.event_kinds) | set(other.event_kinds)),
            log_levels=sorted(set(self.log_levels) | set(other.log_levels)),
        )


class Series(_Model):
    """One time series: its labels and (time, value) points in time order."""

    metric: str
    labels: dict[str, str] = Field(default_factory=dict)
    points: list[tuple[datetime, float]] = Field(default_factory=list)


class LogLine(_Model):
    ts: datetime
    service: str | None = None
    host: str | None = None
    level: str | None = None
    message: str
    template_id: int | None = None
    template: str | None = None
    fields: dict[str, str] = Field(
        default_factory=dict, description="values read from the message (LogQuery.extract)")


class Event(_Model):
    id: str
    ts: datetime
    end: datetime | None = None
    kind: str
    service: str | None = None
    host: str | None = None
    title: str
    status: str | None = None
    severity: str | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)


class Result(_Model):
    """The uniform answer of every connector to one IR query."""

    connector: str
    native: str = Field(description="the query as the backend ran it (SQL, PromQL, ...)")
    series: list[Series] = Field(default_factory=list)
    rows: list[dict[str, Scalar]] = Field(default_factory=list)
    logs: list[LogLine] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    total: int | None = Field(
        default=None,
        description="matching items before any limit: log lines (also for count_by, where "
        "`rows` are the top groups), events, or series",
    )
    groups: int | None = Field(
        default=None, description="count_by: how many distinct values there are in all")
    unit: str = ""
    truncated: bool = False
    elapsed_ms: float = 0.0
    warnings: list[str] = Field(default_factory=list)


class Connector(ABC):
    """A read-only telemetry backend."""

    name: ClassVar[str]
    handles: ClassVar[frozenset[str]] = frozenset({"metric", "logs", "events"})

    @abstractmethod
    def catalog(self) -> Catalog:
        """What exists: metrics (type, help, labels), services, hosts."""

    @abstractmethod
    def run(self, query: Query) -> Result:
        """Run one IR query; raise `BackendError` (or a subclass) on failure."""

    @abstractmethod
    def native(self, query: Query) -> str:
        """The backend's own query text for `query`, without running it."""

    def supports(self, query: Query) -> bool:
        return query.kind in self.handles

    def extent(self, kind: DataKind, metric: str | None = None) -> Extent | None:
        """First and last timestamp of the data of `kind` (one metric's samples when
        `metric` is given); None when empty or the backend cannot say cheaply."""
        return None

    def log_vocabulary(self) -> list[str]:
        """The texts log lines are made of (mined templates), for matching a question's
        words to words that occur in the logs; empty when the backend has none."""
        return []

    def log_examples(self) -> list[tuple[str, str]]:
        """(template, line) pairs: the newest few lines of each template, for the values
        its placeholders take; empty when the backend keeps no templates."""
        return []

    def log_fields(self) -> list[TemplateField]:
        """The field catalog: each mined template's placeholders as named, typed fields
        (`assistant.log_fields.TemplateField`: key, name, type, unit, examples, distinct
        count); empty when the backend keeps no templates."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing
        """Release connections."""

    def ping(self) -> None:  # noqa: B027 - optional hook
        """Raise `BackendError` when the data cannot be read right now (for health checks)."""

    def stamp(self) -> object | None:
        """Something that changes when another process writes the data (None: no way to
        tell; a server's data is always current)."""
        return None

    def refresh(self) -> None:
        """Forget what was read from the data (catalog, extents) and release connections."""
        self.close()


__all__ = [
    "Catalog",
    "Connector",
    "DataKind",
    "DocQuery",
    "Event",
    "EventQuery",
    "Extent",
    "LogLine",
    "LogQuery",
    "MetricInfo",
    "MetricQuery",
    "Result",
    "Series",
]
