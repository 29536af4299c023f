"""What the assistant hands to its interfaces: events while it works, and the final Answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["plan", "query", "result", "token", "answer", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowOut(_Model):
    start: datetime
    end: datetime
    timezone: str
    note: str = ""


class QueryRun(_Model):
    """One query as run: the IR, the backend's native text, and how it went."""

    connector: str
    purpose: str
    ir: dict[str, Any]
    native: str
    ok: bool
    error: str | None = None
    elapsed_ms: float = 0.0
    truncated: bool = False


class FactOut(_Model):
    name: str
    value: float | int | str
    unit: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    at: datetime | None = None
    display: str = ""
    rank: int | None = None
    metric: str = ""
    function: str = ""


class SourceOut(_Model):
    source: str
    heading: str = ""
    score: float = 0.0
    collection: str = "docs"
    quote: str = ""
    """The section text the answer quotes from this source, verbatim ("" if none): numbers
    the answer repeats from it are the source's, not claims of the assistant."""


class ChartSeries(_Model):
    name: str
    unit: str = ""
    points: list[tuple[datetime, float]]


class Answer(_Model):
    """The answer object shared by `opsa ask --json`, the web API and the eval harness."""

    question: str
    answer: str
    language: Literal["en", "ko"]
    time_range: WindowOut | None
    queries: list[QueryRun] = Field(default_factory=list)
    facts: list[FactOut] = Field(default_factory=list)
    sources: list[SourceOut] = Field(default_factory=list)
    grounded: bool = True
    refused: bool = False
    clarification: bool = False
    notes: list[str] = Field(default_factory=list)
    chart: list[ChartSeries] = Field(default_factory=list)
    planner: str = "rules"
    conversation_id: str | None = None
    elapsed_ms: float = 0.0


class AssistantEvent(_Model):
    """One step of the agent loop, as streamed to interfaces (SSE, Slack updates, CLI)."""

    type: EventType
    data: dict[str, Any] = Field(default_factory=dict)
