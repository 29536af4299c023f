"""`seed_demo`: generate the demo fleet and load it into the embedded store.

Steps: clear the previous demo (store file and ``<data_dir>/demo``), generate metrics and
write them with the store writer, write events, write raw log files and ingest them through
the real log pipeline (parsers + template mining), then save the ground truth.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from assistant.demo.events import build_events
from assistant.demo.fleet import SERVICES, Timeline, demo_end, host_names, iso
from assistant.demo.logs import LogsResult, describe_injection, write_logs
from assistant.demo.metrics import META, MetricSet, generate_metrics
from assistant.demo.scenarios import (
    SCENARIOS,
    CounterReset,
    GroundTruth,
    Injection,
    MetricRef,
    ScenarioSpec,
    ScenarioTruth,
    Script,
    build_script,
    runbook_path,
)
from assistant.errors import ConfigError
from assistant.settings import Settings
from connectors.base import Event

DEMO_DIR = "demo"
GROUND_TRUTH = "ground_truth.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioSummary(_Model):
    id: str
    title: str
    service: str
    hosts: list[str]
    start: datetime
    end: datetime
    ongoing: bool


class DemoSummary(_Model):
    """What `opsa demo` created."""

    data_dir: Path
    store_path: Path
    demo_dir: Path
    ground_truth_path: Path
    replaced: bool = Field(description="an earlier demo/store was deleted first")
    seed: int
    scale: float
    start: datetime
    end: datetime
    step_s: int
    services: dict[str, list[str]]
    hosts: list[str]
    metrics: int
    series: int
    samples: int
    log_files: int
    log_lines: int = Field(description="lines written to the raw log files")
    log_rows: int = Field(description="log entries in the store after ingestion")
    log_templates: int
    events: int
    event_kinds: dict[str, int]
    scenarios: list[ScenarioSummary]
    timings_s: dict[str, float]


def demo_dir(settings: Settings) -> Path:
    return settings.data_dir / DEMO_DIR


def ground_truth_path(settings: Settings) -> Path:
    return demo_dir(settings) / GROUND_TRUTH


def seed_demo(settings: Settings, scale: float = 1.0, seed: int = 42,
              progress: bool = True) -> DemoSummary:
    """Replace the store in `settings.data_dir` with a fresh, deterministic demo fleet."""
    if not 0 < scale <= 10:
        raise ConfigError(f"--scale must be in (0, 10], got {scale}; 1.0 is ~1M log lines")
    progress = progress and sys.stderr.isatty()  # bars only for a person watching
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    store = settings.store_path
    ddir = demo_dir(settings)
    replaced = _clear(store, ddir)
    ddir.mkdir(parents=True, exist_ok=True)

    timeline = Timeline(demo_end(settings.clock()))
    script = build_script(timeline)
    with _timed(timings, "generate_metrics"):
        metrics, traffic = generate_metrics(script, seed)
    events = build_events(script)
    with _timed(timings, "write_metrics"):
        _write_store(store, metrics, events, progress)
    with _timed(timings, "generate_logs"):
        logs = write_logs(script, traffic, seed, scale, ddir / "logs")
    with _timed(timings, "ingest_logs"):
        _ingest_logs(store, logs, timeline, progress)
    _write_events_file(ddir / "events.json", events)
    truth = ground_truth(script, metrics, logs, events, seed, scale, ddir)
    gt_path = ddir / GROUND_TRUTH
    gt_path.write_text(truth.model_dump_json(indent=2) + "\n", encoding="utf-8")
    counts = store_counts(store)
    timings["total"] = time.perf_counter() - t_all
    return DemoSummary(
        data_dir=settings.data_dir, store_path=store, demo_dir=ddir, ground_truth_path=gt_path,
        replaced=replaced, seed=seed, scale=scale,
        start=timeline.start, end=timeline.end, step_s=timeline.step_s,
        services={k: list(v) for k, v in SERVICES.items()}, hosts=host_names(),
        metrics=counts["metrics"], series=counts["series"], samples=counts["samples"],
        log_files=len(logs.files), log_lines=logs.lines, log_rows=counts["logs"],
        log_templates=counts["templates"], events=counts["events"],
        event_kinds=dict(sorted(Counter(e.kind for e in events).items())),
        scenarios=[
            ScenarioSummary(id=s.id, title=s.title, service=s.service, hosts=s.hosts,
                            start=datetime.fromisoformat(s.start),
                            end=datetime.fromisoformat(s.end), ongoing=s.ongoing)
            for s in truth.scenarios
        ],
        timings_s={k: round(v, 3) for k, v in timings.items()},
    )


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = time.perf_counter() - t0


def _clear(store: Path, ddir: Path) -> bool:
    """Delete the store file (with its WAL) and the demo directory; True if any existed."""
    existed = False
    for p in (store, store.with_name(store.name + ".wal")):
        if p.exists():
            existed = True
            p.unlink()
    if ddir.exists():
        existed = True
        shutil.rmtree(ddir)
    return existed


# ------------------------------------------------------------------------ writing


def _write_store(store: Path, metrics: MetricSet, events: list[Event], progress: bool) -> None:
    """Metric samples, their metadata and the events, through the store writer."""
    from assistant.ingest.writer import StoreWriter

    stamps = metrics.ts.astype("datetime64[s]")
    names = [*metrics.metric_names(), "http_request_duration_seconds"]
    with StoreWriter(store) as w, _bar(progress, "writing metrics", len(metrics.series)) as tick:
        for name in names:
            m = META[name]
            w.set_metric_meta(name, m.type, m.help, m.unit)
        for s in metrics:
            w.add_samples(s.metric, s.labels, stamps, s.values)
            tick()
        w.add_events(events)
        w.flush()


@contextmanager
def _bar(enabled: bool, label: str, total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar (or nothing), advanced by calling the yielded function."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def _ingest_logs(store: Path, logs: LogsResult, timeline: Timeline, progress: bool) -> None:
    """Ingest the raw files through the real pipeline, one host at a time (so rows without a
    service or host of their own get the file's), then name syslog rows by their service.
    """
    from assistant.ingest.pipeline import IngestOptions, ingest_paths
    from connectors.embedded.schema import connect

    by_host: dict[tuple[str, str], list[Path]] = {}
    for f in logs.files:
        by_host.setdefault((f.service, f.host), []).append(f.path)
    for (service, host), paths in by_host.items():
        # Year-less syslog lines take the year of the demo's first day.
        opts = IngestOptions(year=timeline.start.year, service=service, host=host,
                             force_service=True)  # one directory per service
        ingest_paths(store, "logs", paths, opts, progress=progress)
    # A syslog line names its program (sshd, CRON, ...), which the parser keeps as the
    # row's service (and in attrs.app); in this fleet those programs serve "auth".
    con = connect(store)
    try:
        for f in logs.files:
            if f.format == "syslog":
                con.execute("UPDATE logs SET service = ? WHERE source = ? AND service <> ?",
                            [f.service, str(f.path), f.service])
    finally:
        con.close()


def _write_events_file(path: Path, events: list[Event]) -> None:
    path.write_text(
        "\n".join(json.dumps(e.model_dump(mode="json")) for e in events) + "\n", encoding="utf-8")


def store_counts(store: Path) -> dict[str, int]:
    """Row counts of the store's tables (for the summary)."""
    from connectors.embedded.schema import connect

    con = connect(store, read_only=True)
    try:
        def one(sql: str) -> int:
            row = con.execute(sql).fetchone()
            return int(row[0]) if row else 0

        return {
            "metrics": one("SELECT count(DISTINCT metric) FROM series"),
            "series": one("SELECT count(*) FROM series"),
            "samples": one("SELECT count(*) FROM samples"),
            "logs": one("SELECT count(*) FROM logs"),
            "templates": one("SELECT count(*) FROM log_templates"),
            "events": one("SELECT count(*) FROM events"),
        }
    finally:
        con.close()


# ------------------------------------------------------------------------ ground truth


def _signal(ms: MetricSet, spec: ScenarioSpec) -> np.ndarray:
    """The scenario's primary metric as one series: summed rate for counters, else the
    max (direction up) or min (down) across matching series."""
    found = ms.find(spec.metric, **spec.labels)
    if not found:
        raise KeyError(f"no series for {spec.metric}{spec.labels}")
    vals = np.stack([s.values for s in found])
    if META[spec.metric].type == "counter":
        d = np.diff(vals, axis=1, prepend=vals[:, :1])
        d = np.where(d < 0, vals, d)  # a reset: the counter restarted from zero
        return d.sum(axis=0) / float(ms.ts[1] - ms.ts[0])
    return vals.max(axis=0) if spec.direction == "up" else vals.min(axis=0)


def ground_truth(script: Script, ms: MetricSet, logs: LogsResult, events: list[Event],
                 seed: int, scale: float, root: Path) -> GroundTruth:
    tl = script.timeline
    scenarios: list[ScenarioTruth] = []
    for spec in SCENARIOS:
        w = script.windows[spec.id]
        sig = _signal(ms, spec)
        before = (ms.ts >= w.start - 3600) & (ms.ts < w.start)
        inside = (ms.ts >= w.start) & (ms.ts <= w.end)
        baseline = float(np.median(sig[before]))
        peak = float(sig[inside].max() if spec.direction == "up" else sig[inside].min())
        scenarios.append(ScenarioTruth(
            id=spec.id, title=spec.title, kind=spec.kind, service=spec.service,
            hosts=list(spec.hosts), start=iso(w.start), end=iso(w.end),
            onset=iso(ms.onsets.get(spec.id, w.start)), ongoing=w.end >= tl.end_s,
            metric=MetricRef(name=spec.metric, labels=dict(spec.labels)),
            direction=spec.direction, baseline=round(baseline, 6), peak=round(peak, 6),
            log_phrase=spec.log_phrase, log_template=spec.log_template,
            log_service=spec.log_service, related_events=list(spec.related_events),
            runbook=runbook_path(spec.id), cause=spec.cause,
        ))
    resets = [
        CounterReset(host=h, service=d.service, ts=iso(at), reason=f"{d.id} restarted the process")
        for d in script.deploys for h, at in d.restarts().items()
    ]
    resets.sort(key=lambda r: (r.ts, r.host))
    injections = []
    if logs.injection is not None:
        injections.append(Injection(**describe_injection(logs.injection, root)))
    return GroundTruth(
        seed=seed, scale=scale, start=iso(tl.start.timestamp()), end=iso(tl.end_s),
        step_s=tl.step_s, services={k: list(v) for k, v in SERVICES.items()},
        scenarios=scenarios, injections=injections, counter_resets=resets,
        event_ids=[e.id for e in events],
    )
