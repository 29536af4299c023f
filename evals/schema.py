"""Eval cases are data: one strict schema for every case file (YAML, a list of cases).

Expected *values* are never literal numbers, and never come from the system under test. A
fact expectation names a reference, either

* `sql`: a hand-written DuckDB query over the embedded store's raw tables (`samples`,
  `series`, `logs`, `events`, ...) that the harness runs directly with duckdb, with the
  case's window bound to `$start` / `$end` (naive UTC timestamps). It is written by a
  person, independently of the product's query generation (`connectors/sql/`); every row's
  first column is an acceptable value (ties); or
* `ground_truth`: a path into the scenario ground truth saved beside the demo data,

so cases stay true when the demo data changes. An IR query (`ir`) is refused: run through
the product's own connector it would ask the system under test for its own answer.

A `mentions` string must not occur in the question: an answer that merely echoes the
question would otherwise pass.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import ConfigError

Tag = Literal[
    "metrics", "logs", "events", "docs", "why", "time", "follow-up", "ko", "en", "adversarial",
    "refusal", "injection", "unknown", "topk", "latency", "errors",
]
_WINDOW_PARAM = re.compile(r"\$(start|end)\b")
_REL = re.compile(r"^(now)?\s*(?:([+-])\s*(\d+)\s*([smhd]))?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def resolve_when(spec: str, now: datetime) -> datetime:
    """`now`, `-1h`, `now-30m`, or an ISO 8601 time with offset."""
    s = spec.strip()
    m = _REL.match(s)
    if m and (m.group(1) or m.group(2)):
        if not m.group(2):
            return now
        n = int(m.group(3)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(4)]
        return now + timedelta(seconds=n if m.group(2) == "+" else -n)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {spec!r} is neither relative (-1h, now) nor ISO 8601") from None
    if dt.tzinfo is None:
        raise ValueError(f"time {spec!r} needs a timezone offset")
    return dt


class ExpectedQuery(_Strict):
    """Slots one planned query must have (unset slots are not checked)."""

    kind: Literal["metric", "logs", "events", "docs"]
    metric: str | None = None
    function: str | None = None
    aggregation: str | None = None
    host: str | None = None
    service: str | None = None
    level: str | None = None
    count_by: str | None = None
    event_kinds: list[str] | None = None


class ExpectedWindow(_Strict):
    start: str
    end: str = "now"
    tolerance_s: int = Field(default=120, ge=0)


class FactRef(_Strict):
    """An expected fact: its name in the answer and where its value comes from."""

    fact: str
    labels: dict[str, str] = Field(default_factory=dict)
    sql: str | None = Field(
        default=None, description="hand-written DuckDB SQL over the store's raw tables; "
        "$start/$end are the case window; any row's first column is an acceptable value")
    ground_truth: str | None = None
    tolerance: float = Field(default=0.01, ge=0, description="relative, for numbers")
    label_key: str | None = Field(
        default=None,
        description="compare the reference with this label of the fact (e.g. the top "
        "template's text, an event's id) instead of with its value",
    )
    rank: int | None = Field(default=None, ge=1, description="only facts at this rank")
    match: Literal["equal", "template"] = Field(
        default="equal",
        description="template: the fact's text is a log template whose <*> stand for any "
        "text, and it must match the expected raw message",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_ir(cls, data: Any) -> Any:
        if isinstance(data, dict) and "ir" in data:
            raise ValueError("an expected value may not come from an IR query (the system "
                             "under test would answer its own check); use 'sql' over the "
                             "raw tables or 'ground_truth'")
        return data

    @model_validator(mode="after")
    def _one_ref(self) -> FactRef:
        if (self.sql is None) == (self.ground_truth is None):
            raise ValueError("a fact names exactly one reference: 'sql' or 'ground_truth'")
        return self


class Expect(_Strict):
    queries: list[ExpectedQuery] = Field(default_factory=list)
    window: ExpectedWindow | None = None
    facts: list[FactRef] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="any one must be cited")
    mentions: list[str] = Field(default_factory=list, description="strings the answer contains")
    mentions_ground_truth: list[str] = Field(default_factory=list)
    refusal: bool = False
    clarification: bool = False
    forbidden: list[str] = Field(
        default_factory=list, description="strings that must not appear (e.g. injected text)"
    )


class Case(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    question: str
    history: list[str] = Field(default_factory=list)
    now: AwareDatetime | None = None
    timezone: str = "UTC"
    language: Literal["en", "ko"] = "en"
    tags: list[Tag] = Field(default_factory=list)
    must_pass: bool = False
    expect: Expect

    @model_validator(mode="after")
    def _mentions_not_echoes(self) -> Case:
        asked = self.question.lower()
        echoed = [m for m in self.expect.mentions if m.strip().lower() in asked]
        if echoed:
            raise ValueError(f"mentions {echoed} occur in the question: an answer that echoes "
                             "the question would pass")
        if any(f.sql is not None and _WINDOW_PARAM.search(f.sql) for f in self.expect.facts) \
                and self.expect.window is None:
            raise ValueError("a fact's sql uses $start/$end but the case states no window")
        return self


def load_cases(paths: list[Path]) -> list[Case]:
    """All cases in the given files/folders; any schema problem is a ConfigError."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.rglob("*.yaml")) + sorted(p.rglob("*.yml")))
        elif p.is_file():
            files.append(p)
        else:
            raise ConfigError(f"eval cases path {p} does not exist")
    cases: list[Case] = []
    seen: set[str] = set()
    for f in files:
        try:
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise ConfigError(f"{f}: not valid YAML: {exc}") from None
        if not isinstance(data, list):
            raise ConfigError(f"{f}: expected a list of cases")
        for i, raw in enumerate(data):
            try:
                case = Case.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                loc = ".".join(str(x) for x in first["loc"])
                ident = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"
                raise ConfigError(f"{f}: case {ident}: {loc}: {first['msg']}") from None
            if case.id in seen:
                raise ConfigError(f"{f}: duplicate case id {case.id!r}")
            seen.add(case.id)
            cases.append(case)
    if not cases:
        raise ConfigError(f"no eval cases found in {', '.join(map(str, paths))}")
    return cases
