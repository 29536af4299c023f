"""Eval cases are data: one strict schema for every case file (YAML, a list of cases).

Expected *values* are never literal numbers. A fact expectation names a reference, either
an IR query that the harness runs on the store at run time (reduced to one number or
string), or a path into the scenario ground truth saved beside the demo data; so cases stay
true when the demo data changes.
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
Reduce = Literal["max", "min", "avg", "last", "sum", "total", "count", "top_template",
                 "top_value", "first_ts", "value", "max_series_avg", "argmax_series_avg"]
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
    ir: dict[str, Any] | None = None
    reduce: Reduce = "value"
    ground_truth: str | None = None
    tolerance: float = Field(default=0.01, ge=0, description="relative, for numbers")
    label_key: str | None = Field(
        default=None,
        description="compare the reference with this label of the fact (e.g. the top "
        "template's text, an event's id) instead of with its value",
    )
    rank: int | None = Field(default=None, ge=1, description="only facts at this rank")

    @model_validator(mode="after")
    def _one_ref(self) -> FactRef:
        if (self.ir is None) == (self.ground_truth is None):
            raise ValueError("a fact names exactly one reference: 'ir' or 'ground_truth'")
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
