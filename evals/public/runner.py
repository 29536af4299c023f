"""Run the public suite: load each data set as a user would, ask, grade the headline.

Each LogHub system's `.log` goes through `opsa ingest logs`'s code path into a fresh store
of its own; the NAB series (as metrics, their labelled anomaly windows as incident events)
and the OpenShift runbooks (indexed as documents) share one more store. Every case is
asked through `Assistant.ask` and graded by `evals.public.grade` against `expected.json`,
which `evals.public.oracle` computed from the raw files.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.conversation import ConversationStore
from assistant.core import AskOptions, Assistant
from assistant.errors import ConfigError, OpsaError
from assistant.ingest.pipeline import IngestFailed, IngestOptions, ingest_paths
from assistant.services import Services
from assistant.settings import Settings
from evals.public.grade import grade
from evals.public.oracle import LOG_SYSTEMS, data_root, load_cases
from evals.runner import percentile

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""The clock the questions are asked at: long after every data set ends, as for a user."""
DEFAULT_SET = Path(__file__).resolve().parent
"""The scoreboard's case set: ``cases/*.yaml``, ``expected.json``, ``threshold.json``."""
NAB_WORKSPACE = "nab"  # NAB metrics, their anomaly events and the runbooks


class PublicResult(BaseModel):
    id: str
    system: str
    cls: str = Field(alias="class")
    language: str
    none: bool
    question: str
    passed: bool
    reasons: list[str]
    headline: str
    answer: str
    expected: dict[str, Any]
    latency_ms: float
    error: str | None = None
    sources: list[str] = Field(default_factory=list,
                               description="the documents the answer cites, in rank order")

    model_config = {"populate_by_name": True}


class PublicSummary(BaseModel):
    suite: str = "public"
    cases: int
    passed: int
    pass_rate: float
    by_system: dict[str, dict[str, float]]
    by_class: dict[str, dict[str, float]]
    by_language: dict[str, dict[str, float]]
    by_answer: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="cases whose honest answer is a value vs 'none'")
    latency_ms: dict[str, float]
    retrieval: dict[str, float] = Field(
        default_factory=dict, description="cases naming an expected runbook: how often it is "
        "the first source (recall@1) or among the first three (recall@3)")
    load_s: dict[str, float]
    load_errors: dict[str, str]
    elapsed_s: float
    results: list[PublicResult]

    def brief(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"results"})


def metric_name(csv_path: Path) -> str:
    """`Twitter_volume_AAPL.csv` -> `twitter_volume_aapl` (the README's naming rule)."""
    return re.sub(r"[^a-z0-9]+", "_", csv_path.stem.lower()).strip("_")


def anomaly_events(root: Path) -> list[dict[str, Any]]:
    """Each labelled NAB window as an incident event on its series' metric."""
    windows = json.loads((root / "nab" / "labels" / "combined_windows.json").read_text())
    events = []
    for key, spans in sorted(windows.items()):
        csv_path = root / "nab" / key
        if not csv_path.is_file():
            continue
        name = metric_name(csv_path)
        for start, end in spans:
            events.append({"kind": "incident", "ts": start.replace(" ", "T")[:19] + "Z",
                           "end": end.replace(" ", "T")[:19] + "Z", "service": name,
                           "title": f"labelled anomaly window on {name}"})
    return events


class Workspaces:
    """One fresh data directory per data set, loaded on first use and kept for the run."""

    def __init__(self, root: Path, work: Path, base: Settings,
                 note: Callable[[str], None] | None = None) -> None:
        self.root, self.work, self.base = root, work, base
        self.note = note or (lambda _: None)
        self.assistants: dict[str, Assistant] = {}
        self.load_s: dict[str, float] = {}
        self.errors: dict[str, str] = {}

    def settings(self, name: str) -> Settings:
        return self.base.model_copy(update={"data_dir": self.work / name, "timezone": "UTC",
                                            "now": NOW})

    def assistant(self, name: str) -> Assistant | None:
        if name not in self.assistants and name not in self.errors:
            t0 = time.perf_counter()
            s = self.settings(name)
            marker = s.data_dir / ".public-suite-loaded"
            try:
                if not marker.is_file():  # a kept work directory is loaded once
                    self.note(f"loading {name}")
                    self._load(name, s)
                    marker.write_text(datetime.now(UTC).isoformat(), encoding="utf-8")
                services = Services(s)
                retriever = services.retriever()
                if retriever is not None:
                    retriever.index_catalog(services.catalog)
                self.assistants[name] = Assistant(services, ConversationStore())
            except (OpsaError, IngestFailed, OSError) as exc:
                self.errors[name] = f"loading {name} failed: {exc}"
            self.load_s[name] = round(time.perf_counter() - t0, 1)
        return self.assistants.get(name)

    def _load(self, name: str, s: Settings) -> None:
        opts = IngestOptions(timezone="UTC", default_ts=NOW)
        if name in LOG_SYSTEMS:
            logs = sorted((self.root / "loghub" / name).glob("*.log"))
            ingest_paths(s.store_path, "logs", logs, opts, progress=False)
            return
        for csv_path in sorted((self.root / "nab").glob("*/*.csv")):
            ingest_paths(s.store_path, "metrics", [csv_path],
                         opts.model_copy(update={"metric": metric_name(csv_path)}),
                         progress=False)
        events_file = s.data_dir / "nab_anomaly_windows.json"
        events_file.write_text(json.dumps(anomaly_events(self.root)), encoding="utf-8")
        ingest_paths(s.store_path, "events", [events_file], opts, progress=False)
        from assistant.retrieval import Retriever

        Retriever(s).index_docs([self.root / "runbooks" / "openshift" / "alerts"],
                                base=self.root / "runbooks" / "openshift")

    def close(self) -> None:
        for a in self.assistants.values():
            a.services.close()


def workspace_of(case: dict[str, Any]) -> str:
    return case["system"] if case["system"] in LOG_SYSTEMS else NAB_WORKSPACE


def select(cases: list[dict[str, Any]], systems: set[str] | None, classes: set[str] | None
           ) -> list[dict[str, Any]]:
    """Cases of the named systems and classes (case-insensitive); unknown names are errors."""
    def pick(key: str, wanted: set[str] | None, pool: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:
        if not wanted:
            return pool
        known = {c[key].lower(): c[key] for c in cases}
        unknown = sorted(w for w in wanted if w.lower() not in known)
        if unknown:
            raise ConfigError(f"unknown {key} {', '.join(unknown)}; known: "
                              f"{', '.join(sorted(known.values()))}")
        return [c for c in pool if c[key].lower() in {w.lower() for w in wanted}]

    return pick("class", classes, pick("system", systems, cases))


def _rates(results: list[PublicResult], key: Callable[[PublicResult], str]
           ) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for k in sorted({key(r) for r in results}):
        rs = [r for r in results if key(r) == k]
        out[k] = {"cases": len(rs), "passed": sum(r.passed for r in rs),
                  "pass_rate": round(sum(r.passed for r in rs) / len(rs), 4)}
    return out


@contextmanager
def _work_dir(path: Path | None) -> Iterator[Path]:
    """A temporary directory, or `path` kept after the run: data sets loaded there by an
    earlier run are reused (delete the directory after changing ingestion or indexing)."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="opsa-public-") as tmp:
        yield Path(tmp)


def run_public(base: Settings, systems: set[str] | None = None,
               classes: set[str] | None = None, work_dir: Path | None = None,
               progress: Callable[[str], None] | None = None,
               total: Callable[[int], None] | None = None,
               note: Callable[[str], None] | None = None,
               case_set: Path = DEFAULT_SET) -> PublicSummary:
    """Load, ask and grade the cases of `case_set` (a folder with ``cases/`` and
    ``expected.json``); `progress` is called after each case with its id, `note` when
    a data set starts loading."""
    root = data_root()
    if not root.is_dir():
        raise ConfigError(f"public data not found at {root}; set OPSA_PUBLIC_DATA to the "
                          "folder holding loghub/, nab/ and runbooks/")
    expected_path = case_set / "expected.json"
    if not (case_set / "cases").is_dir():
        raise ConfigError(f"{case_set} holds no cases/ folder; give a case set's folder")
    if not expected_path.is_file():
        raise ConfigError(f"{expected_path} is missing; run "
                          f"`python -m evals.public.oracle --write --set {case_set}`")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    cases = select(load_cases(case_set / "cases"), systems, classes)
    missing = [c["id"] for c in cases if c["id"] not in expected]
    if missing:
        raise ConfigError(f"no expected answer for {', '.join(missing[:5])}; run "
                          "`python -m evals.public.oracle --write`")
    if total:
        total(len(cases))
    t0 = time.perf_counter()
    results = []
    with _work_dir(work_dir) as work:
        spaces = Workspaces(root, work, base, note)
        try:
            for case in sorted(cases, key=workspace_of):
                results.append(_run_case(spaces, case, expected[case["id"]]))
                if progress:
                    progress(case["id"])
        finally:
            spaces.close()
    lat = [r.latency_ms for r in results if r.error is None]
    passed = sum(r.passed for r in results)
    return PublicSummary(
        cases=len(results), passed=passed,
        pass_rate=round(passed / len(results), 4) if results else 0.0,
        by_system=_rates(results, lambda r: r.system),
        by_class=_rates(results, lambda r: r.cls),
        by_language=_rates(results, lambda r: r.language),
        by_answer=_rates(results, lambda r: "none" if r.none else "value"),
        latency_ms={"p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95),
                    "mean": round(statistics.fmean(lat), 1) if lat else 0.0},
        retrieval=_recall(results, expected),
        load_s=spaces.load_s, load_errors=spaces.errors,
        elapsed_s=round(time.perf_counter() - t0, 1), results=results)


def _run_case(spaces: Workspaces, case: dict[str, Any], expected: dict[str, Any]
              ) -> PublicResult:
    base = {"id": case["id"], "system": case["system"], "class": case["class"],
            "language": case.get("language", "en"), "none": bool(case.get("none")),
            "question": case["question"], "expected": expected}
    name = workspace_of(case)
    assistant = spaces.assistant(name)
    if assistant is None:
        return PublicResult(**base, passed=False, reasons=[spaces.errors[name]], headline="",
                            answer="", latency_ms=0.0, error=spaces.errors[name])
    t0 = time.perf_counter()
    sources: list[str] = []
    try:
        ans = assistant.ask(case["question"], conversation_id=f"public-{case['id']}",
                            options=AskOptions(now=NOW))
        answer, error = ans.answer, None
        sources = list(dict.fromkeys(s.source for s in ans.sources))
    except OpsaError as exc:  # a refusal or clarification is an answer, graded as text
        answer, error = str(exc), None
    latency = round((time.perf_counter() - t0) * 1000, 1)
    g = grade(case, expected, answer)
    return PublicResult(**base, passed=g.passed, reasons=g.reasons, headline=g.headline,
                        answer=answer, latency_ms=latency, error=error, sources=sources)


def _recall(results: list[PublicResult], expected: dict[str, Any]) -> dict[str, float]:
    """recall@1 and recall@3 of the expected runbook among the answer's sources."""
    ranks = []
    for r in results:
        want = expected[r.id].get("source")
        if not want:
            continue
        hit = [i for i, s in enumerate(r.sources) if s == want or s.endswith("/" + want)]
        ranks.append(hit[0] + 1 if hit else None)
    if not ranks:
        return {}
    return {"cases": len(ranks),
            "recall_at_1": round(sum(k == 1 for k in ranks) / len(ranks), 4),
            "recall_at_3": round(sum(k is not None and k <= 3 for k in ranks) / len(ranks), 4)}


def gate(summary: PublicSummary, case_set: Path = DEFAULT_SET) -> str | None:
    """Why the run is below the case set's `threshold.json`, or None."""
    threshold = case_set / "threshold.json"
    floor = float(json.loads(threshold.read_text(encoding="utf-8"))["min_pass_rate"])
    if summary.pass_rate + 1e-9 < floor:
        return (f"public suite pass rate {summary.pass_rate:.1%} is below the recorded "
                f"floor {floor:.1%} ({threshold})")
    return None
