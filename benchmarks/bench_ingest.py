"""Ingestion throughput against DuckDB's own readers on the same files.

    python benchmarks/bench_ingest.py [--lines 1000000] [--samples 2000000] [--repeat 1]

Generates (once, cached in --workdir) a plain-text application log with stack traces and
a JSON-lines log of the same size, then times, each in a fresh subprocess (so peak RSS is
per step):

* baseline: ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` / ``read_json(file)`` into a
  new DuckDB file, closed (checkpointed) - DuckDB's own reader, no parsing beyond that;
* opsa: ``ingest_paths(store, "logs", [file])`` into a new store: layout detection,
  timestamps, levels, continuation lines, template mining, identity hashes, dedupe;
* writer: `StoreWriter.add_samples` for `--samples` samples (the demo fleet's path).

Prints a table and, last, one JSON line. Ratios are wall-clock opsa / baseline on the same
machine in the same run; CPU seconds (all threads) are shown too, because on a shared
machine wall time depends on the load (reported).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_RATIO = 2.0
JOBS = ("export", "sync", "billing")


# -- data ------------------------------------------------------------------------------
def _messages(rng: random.Random) -> list[Any]:
    def ip() -> str:
        return f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    return [
        lambda: f"GET /api/orders/{rng.randint(1, 99999)} completed in {rng.randint(2, 900)} ms",
        lambda: f"user u{rng.randint(1, 5000)} logged in from {ip()}",
        lambda: f"cache miss for key session:{rng.getrandbits(64):016x}",
        lambda: f"payment {rng.getrandbits(128):032x} declined: insufficient funds",
        lambda: f"connection to {ip()}:5432 closed after {rng.randint(1, 3600)} s",
        lambda: f"GC pause {rng.random() * 80:.2f} ms, heap {rng.randint(200, 900)} MB",
        lambda: f'retrying job "{rng.choice(JOBS)}" attempt {rng.randint(1, 5)}',
        lambda: f"upstream {ip()} returned 503 for /checkout/{rng.randint(1, 999)}",
    ]


def generate(workdir: Path, lines: int) -> tuple[Path, Path]:
    """The text and JSON-lines files (cached by line count)."""
    text = workdir / f"app-{lines}.log"
    js = workdir / f"app-{lines}.jsonl"
    if text.exists() and js.exists():
        return text, js
    rng = random.Random(7)
    msgs = _messages(rng)
    levels = ["INFO"] * 14 + ["WARN"] * 3 + ["ERROR"] * 2 + ["DEBUG"]
    loggers = [f"com.example.{s}.{c}" for s in ("orders", "auth", "pay") for c in ("Api", "Db")]
    t = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    with text.open("w") as ft, js.open("w") as fj:
        n = 0
        while n < lines:
            t += timedelta(microseconds=rng.randint(0, 170_000))
            level = rng.choice(levels)
            msg = rng.choice(msgs)()
            thread = f"worker-{rng.randint(1, 32)}"
            logger = rng.choice(loggers)
            stamp = t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"
            ft.write(f"{stamp} [{thread}] {level} {logger} - {msg}\n")
            n += 1
            if level == "ERROR" and rng.random() < 0.2 and n + 3 <= lines:
                ft.write(
                    "java.lang.IllegalStateException: boom\n"
                    "\tat com.example.Foo.bar(Foo.java:42)\n"
                    "\tat com.example.Main.main(Main.java:7)\n"
                )
                n += 3
            rec = {
                "ts": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": level.lower(),
                "msg": msg,
                "service": logger.split(".")[2],
                "host": f"web-0{rng.randint(1, 3)}",
                "thread": thread,
            }
            fj.write(json.dumps(rec) + "\n")
    return text, js


# -- steps (each runs in its own process) ----------------------------------------------
def step(name: str, path: str, out_db: str, samples: int) -> dict[str, Any]:
    import duckdb
    import numpy as np

    from assistant.ingest.pipeline import IngestOptions, ingest_paths
    from assistant.ingest.writer import StoreWriter

    # imports (about a second) are not throughput: both sides start with theirs loaded
    Path(out_db).unlink(missing_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = lines = 0
    if name in ("baseline_text", "baseline_json"):
        reader = "read_csv" if name == "baseline_text" else "read_json"
        con = duckdb.connect(out_db)
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{path}')")
        rows = int(con.execute("SELECT count(*) FROM t").fetchone()[0])  # type: ignore[index]
        con.close()
    elif name in ("opsa_text", "opsa_json"):
        report = ingest_paths(Path(out_db), "logs", [Path(path)], IngestOptions(), progress=False)
        rows = report.rows_added
        lines = report.lines_read
    elif name == "writer_samples":
        points = 5760  # 24 h at 15 s
        stamps = np.arange(points, dtype=np.int64) * 15 + 1_795_000_000
        ts = stamps.astype("datetime64[s]")
        rng = np.random.default_rng(1)
        with StoreWriter(Path(out_db)) as w:
            for i in range(max(1, samples // points)):
                w.add_samples("bench_metric", {"host": f"h{i % 12}", "i": str(i)}, ts,
                              rng.random(points))  # fmt: skip
        rows = w.totals.samples
    else:
        raise SystemExit(f"unknown step {name}")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": rss_mb, "rows": rows, "lines": lines or rows}


def run_step(name: str, path: Path, workdir: Path, samples: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--step",
        name,
        "--path",
        str(path),
        "--out",
        str(workdir / f"{name}.duckdb"),
        "--samples",
        str(samples),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "opsa-bench")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.path, args.out, args.samples)))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    text, js = generate(args.workdir, args.lines)
    mb = [p.stat().st_size / 1e6 for p in (text, js)]
    print(f"data: {text} ({mb[0]:.0f} MB), {js} ({mb[1]:.0f} MB), "
          f"generated/cached in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    load_before = os.getloadavg()[0]
    results: dict[str, list[dict[str, Any]]] = {}
    plan = [
        ("baseline_text", text),
        ("opsa_text", text),
        ("baseline_json", js),
        ("opsa_json", js),
        ("writer_samples", text),
    ]
    for _ in range(args.repeat):
        for name, path in plan:  # interleaved, so load changes hit both sides
            results.setdefault(name, []).append(run_step(name, path, args.workdir, args.samples))

    def med(name: str, key: str) -> float:
        return float(statistics.median(r[key] for r in results[name]))

    head = ("step", "rows", "wall s", "cpu s", "rows/s", "peak RSS MB")
    print("\n{:16s} {:>10s} {:>8s} {:>8s} {:>12s} {:>12s}".format(*head))
    for name, _ in plan:
        rows = results[name][0]["rows"]
        wall = med(name, "wall_s")
        print(f"{name:16s} {rows:>10,d} {wall:8.2f} {med(name, 'cpu_s'):8.2f} "
              f"{rows / wall:>12,.0f} {med(name, 'rss_mb'):12.0f}")  # fmt: skip

    def pair(kind: str) -> dict[str, Any]:
        ours, base = f"opsa_{kind}", f"baseline_{kind}"
        lines = results[ours][0]["lines"]
        return {
            "input_lines": lines,
            "entries": results[ours][0]["rows"],
            "opsa_wall_s": round(med(ours, "wall_s"), 3),
            "baseline_wall_s": round(med(base, "wall_s"), 3),
            "ratio_wall": round(med(ours, "wall_s") / med(base, "wall_s"), 2),
            "ratio_cpu": round(med(ours, "cpu_s") / med(base, "cpu_s"), 2),
            "opsa_lines_per_s": round(lines / med(ours, "wall_s")),
            "baseline_lines_per_s": round(lines / med(base, "wall_s")),
            "opsa_peak_rss_mb": round(med(ours, "rss_mb")),
            "baseline_peak_rss_mb": round(med(base, "rss_mb")),
        }

    summary = {
        "bench": "ingest",
        "cpus": os.cpu_count(),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "repeat": args.repeat,
        "text": pair("text"),
        "json": pair("json"),
        "writer_samples": {
            "samples": results["writer_samples"][0]["rows"],
            "wall_s": round(med("writer_samples", "wall_s"), 3),
            "samples_per_s": round(
                results["writer_samples"][0]["rows"] / med("writer_samples", "wall_s")
            ),
            "peak_rss_mb": round(med("writer_samples", "rss_mb")),
        },
        "target_ratio": TARGET_RATIO,
    }
    summary["text_within_target"] = summary["text"]["ratio_wall"] <= TARGET_RATIO
    summary["json_within_target"] = summary["json"]["ratio_wall"] <= TARGET_RATIO
    for kind in ("text", "json"):
        s = summary[kind]
        print(
            f"\n{kind}: opsa {s['opsa_wall_s']} s vs DuckDB {s['baseline_wall_s']} s -> "
            f"{s['ratio_wall']}x wall, {s['ratio_cpu']}x CPU (target <= {TARGET_RATIO}x)"
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
