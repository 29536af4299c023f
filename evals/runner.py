"""Run eval cases through the real assistant and score them; store each run for comparison.

Expected values never come from the system under test: a case's `sql` reference is run
here directly with duckdb, read-only, on the store's raw tables (not through the IR, a
connector or the product's SQL generation), and a `ground_truth` reference is read from the
scenario truth the demo generator saved beside the data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from assistant.conversation import ConversationStore
from assistant.core import AskOptions, Assistant
from assistant.errors import ConfigError, OpsaError
from assistant.ir import TimeRange
from assistant.services import Services
from assistant.settings import Settings
from evals.schema import Case, FactRef, resolve_when
from evals.scorers import (
    Score,
    SlotTally,
    score_facts,
    score_grounding,
    score_language,
    score_mentions,
    score_plan,
    score_refusal,
    score_sources,
    score_window,
)

DEFAULT_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class CaseResult(BaseModel):
    id: str
    question: str
    tags: list[str]
    must_pass: bool
    passed: bool
    scores: list[dict[str, Any]]
    answer: str
    queries: list[dict[str, Any]] = Field(default_factory=list)
    latency_ms: float
    error: str | None = None


class RunSummary(BaseModel):
    run_id: str
    planner: str
    phrasing: str
    model: str | None
    cases: int
    passed: int
    pass_rate: float
    by_tag: dict[str, dict[str, float]]
    plan_accuracy: float
    numeric_accuracy: float
    grounding_violations: int
    latency_ms: dict[str, float]
    must_pass_failed: list[str]
    slot_confusion: dict[str, dict[str, dict[str, int]]]
    elapsed_s: float
    results: list[CaseResult]

    def brief(self) -> dict[str, Any]:
        """The summary without the per-case detail (what `--json` prints)."""
        return self.model_dump(mode="json", exclude={"results", "slot_confusion"})


def ground_truth_value(gt: dict[str, Any], path: str) -> Any:
    """Follow `a.b.0.c` through dicts and lists; a list element may be picked by its `id`."""
    cur: Any = gt
    for part in path.split("."):
        if isinstance(cur, dict):
            if part not in cur:
                raise ConfigError(f"ground truth has no {part!r} (path {path})")
            cur = cur[part]
        elif isinstance(cur, list):
            if part.isdigit():
                cur = cur[int(part)]
            else:
                match = [x for x in cur if isinstance(x, dict) and x.get("id") == part]
                if not match:
                    raise ConfigError(f"ground truth has no item with id {part!r} (path {path})")
                cur = match[0]
        else:
            raise ConfigError(f"ground truth path {path} goes through a scalar at {part!r}")
    return cur


_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


class ReferenceStore:
    """The embedded store opened read-only for hand-written reference SQL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = None

    def rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """The first column of every row of `sql`, with `$name` bound from `params`."""
        if self._con is None:
            if not self.path.is_file():
                raise ConfigError(f"no telemetry store at {self.path} for reference SQL")
            self._con = duckdb.connect(str(self.path), read_only=True)
            self._con.execute("SET TimeZone = 'UTC'")
        names = set(_PARAM.findall(sql))
        unknown = names - params.keys()
        if unknown:
            raise ConfigError(f"reference SQL uses unknown parameters {sorted(unknown)}")
        try:
            out = self._con.execute(sql, {k: params[k] for k in names}).fetchall()
        except duckdb.Error as exc:
            raise ConfigError(f"reference SQL failed: {exc}") from None
        return [_plain(r[0]) for r in out if r and r[0] is not None]


def _plain(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


def _naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


class Runner:
    def __init__(self, settings: Settings, planner: str, phrasing: str = "template",
                 ground_truth: dict[str, Any] | None = None) -> None:
        self.settings = settings.model_copy(update={"planner": planner, "phrasing": phrasing})
        self.services = Services(self.settings)
        self.assistant = Assistant(self.services, ConversationStore())
        self.ground_truth = ground_truth or {}
        self.store = ReferenceStore(self.settings.store_path)
        self.planner = planner
        self.phrasing = phrasing

    def reference(self, ref: FactRef, case: Case, now: datetime) -> list[Any]:
        """The acceptable expected values of one fact (several when the reference ties)."""
        if ref.ground_truth is not None:
            return [ground_truth_value(self.ground_truth, ref.ground_truth)]
        assert ref.sql is not None
        params: dict[str, Any] = {"now": _naive_utc(now)}
        if case.expect.window is not None:
            w = case.expect.window
            params["start"] = _naive_utc(resolve_when(w.start, now))
            params["end"] = _naive_utc(resolve_when(w.end, now))
        return self.store.rows(ref.sql, params)

    def run_case(self, case: Case, tally: SlotTally) -> CaseResult:
        now = case.now or self.settings.now or DEFAULT_NOW
        opts = AskOptions(now=now)
        conv = f"eval-{case.id}"
        t0 = time.perf_counter()
        try:
            for prior in case.history:
                self.assistant.ask(prior, conversation_id=conv, options=opts)
            t0 = time.perf_counter()
            ans = self.assistant.ask(case.question, conversation_id=conv, options=opts)
        except OpsaError as exc:
            latency = (time.perf_counter() - t0) * 1000
            ok = case.expect.clarification
            return CaseResult(id=case.id, question=case.question[:200], tags=case.tags,
                              must_pass=case.must_pass, passed=ok, latency_ms=latency,
                              scores=[{"name": "error", "ok": ok, "detail": str(exc)}],
                              answer="", error=str(exc))
        latency = (time.perf_counter() - t0) * 1000
        refs: list[tuple[FactRef, list[Any] | str]] = []
        for ref in case.expect.facts:
            try:
                refs.append((ref, self.reference(ref, case, now)))
            except OpsaError as exc:  # the reference itself is broken: say why
                refs.append((ref, str(exc)))
        gt_mentions = [str(ground_truth_value(self.ground_truth, p))
                       for p in case.expect.mentions_ground_truth]
        tr = None
        if ans.time_range is not None:
            tr = TimeRange(start=ans.time_range.start, end=ans.time_range.end,
                           timezone=ans.time_range.timezone)
        scores: list[Score | None] = [
            score_plan(case, ans, tally),
            score_window(case, ans, now),
            score_facts(case, ans, refs),
            score_grounding(ans, tr),
            score_sources(case, ans),
            score_refusal(case, ans),
            score_language(case, ans),
            score_mentions(case, ans, gt_mentions),
        ]
        real = [s for s in scores if s is not None]
        return CaseResult(
            id=case.id, question=case.question[:300], tags=case.tags, must_pass=case.must_pass,
            passed=all(s.ok for s in real), latency_ms=round(latency, 1),
            scores=[{"name": s.name, "ok": s.ok, "detail": s.detail, "expected": s.expected,
                     "got": s.got} for s in real],
            answer=ans.answer,
            queries=[{"purpose": q.purpose, "native": q.native, "ok": q.ok, "error": q.error}
                     for q in ans.queries],
        )

    def run(self, cases: list[Case], progress: Callable[[str], None] | None = None
            ) -> RunSummary:
        t0 = time.perf_counter()
        tally = SlotTally()
        results = []
        for case in cases:
            results.append(self.run_case(case, tally))
            if progress:
                progress(case.id)
        return summarise(results, tally, self.planner, self.phrasing,
                         self.settings.llm.model if self.settings.llm.provider != "none"
                         else None, time.perf_counter() - t0)


def _rate(results: list[CaseResult], name: str) -> float:
    scored = [s for r in results for s in r.scores if s["name"] == name]
    return round(sum(s["ok"] for s in scored) / len(scored), 4) if scored else 1.0


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile of `values`, rounded to 0.1 (0 when empty)."""
    if not values:
        return 0.0
    xs = sorted(values)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)


def summarise(results: list[CaseResult], tally: SlotTally, planner: str, phrasing: str,
              model: str | None, elapsed: float) -> RunSummary:
    by_tag: dict[str, dict[str, float]] = {}
    for tag in sorted({t for r in results for t in r.tags}):
        rs = [r for r in results if tag in r.tags]
        by_tag[tag] = {"cases": len(rs), "pass_rate": round(sum(r.passed for r in rs) / len(rs), 4)}
    lat = [r.latency_ms for r in results]
    passed = sum(r.passed for r in results)
    return RunSummary(
        run_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{planner}-{phrasing}",
        planner=planner, phrasing=phrasing, model=model,
        cases=len(results), passed=passed,
        pass_rate=round(passed / len(results), 4) if results else 0.0,
        by_tag=by_tag,
        plan_accuracy=_rate(results, "plan"),
        numeric_accuracy=_rate(results, "numeric"),
        grounding_violations=sum(1 for r in results for s in r.scores
                                 if s["name"] == "grounding" and not s["ok"]),
        latency_ms={"p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95)},
        must_pass_failed=[r.id for r in results if r.must_pass and not r.passed],
        slot_confusion=tally.counts,
        elapsed_s=round(elapsed, 1),
        results=results,
    )


def save_run(summary: RunSummary, runs_dir: Path) -> Path:
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / f"{summary.run_id}.json"
    path.write_text(summary.model_dump_json(indent=1), encoding="utf-8")
    return path


def load_run(ref: str, runs_dir: Path) -> RunSummary:
    """A stored run by path or by (a prefix of) its id."""
    p = Path(ref)
    if not p.is_file():
        matches = sorted(runs_dir.glob(f"{ref}*.json"))
        if not matches:
            known = ", ".join(x.stem for x in sorted(runs_dir.glob("*.json"))[-5:]) or "none"
            raise ConfigError(f"no stored eval run {ref!r} in {runs_dir}; recent: {known}")
        p = matches[-1]
    return RunSummary.model_validate(json.loads(p.read_text(encoding="utf-8")))
