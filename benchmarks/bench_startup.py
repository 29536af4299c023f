"""Start-up cost of `opsa`, side by side: each command as a user runs it, from the shell.

Times `opsa --version` (the floor: Python starting), `opsa --help`, `opsa status`, `opsa ask`
for a metric, a log and a docs (how-to) question, and the time until `opsa serve` answers
`/healthz`. Each is run `--repeat` times in a fresh process; the table shows the median and
best wall time, the median CPU time (user + system) and the ratio to `opsa --version` of the
newest tree measured (n/a: that tree has no such option).

    OPSA_NOW=2026-11-20T12:00:00Z opsa --data-dir D demo --scale 0.1 --no-answer
    python benchmarks/bench_startup.py --data-dir D [--repeat 5] [--base OLD_TREE] [--json]

`--base OLD_TREE` also runs every case with `PYTHONPATH=OLD_TREE` (e.g. `git archive HEAD
assistant connectors prompts | tar -x -C OLD_TREE`), so before and after are measured in
the same run on the same machine. Targets (issue 19): a metric or log question under 1 s on
2 cores, a docs question under 1.5 s, the server ready under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

QUESTIONS = {
    "ask (metric)": "which hosts had the highest cpu in the last 6 hours?",
    "ask (log)": "how many error lines did checkout log in the last 3 hours?",
    "ask (docs)": "how do we fix a full disk?",
}
TARGETS_S = {"ask (metric)": 1.0, "ask (log)": 1.0, "ask (docs)": 1.5, "serve /healthz": 2.0}
SERVE_TIMEOUT_S = 60.0


@dataclass
class Timing:
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.wall_s)

    def summary(self, floor: float) -> dict[str, float | None]:
        if not self.wall_s:  # the command does not exist in this tree
            return {"median_s": None, "best_s": None, "cpu_s": None, "x_version": None}
        return {"median_s": round(self.median(), 3), "best_s": round(min(self.wall_s), 3),
                "cpu_s": round(statistics.median(self.cpu_s), 3) if self.cpu_s else None,
                "x_version": round(self.median() / floor, 1) if floor else None}


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(opsa: str, args: list[str], env: dict[str, str]) -> tuple[float, float] | None:
    """Wall and CPU seconds of one `opsa ARGS` run; None when this tree has no such option
    (`--version` before it existed); fails if the command fails otherwise."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    res = subprocess.run([opsa, *args], env=env, capture_output=True, text=True, timeout=300,
                         check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if res.returncode == 2 and args == ["--version"]:
        return None
    if res.returncode != 0:
        raise SystemExit(f"opsa {' '.join(args)} failed ({res.returncode}): "
                         f"{res.stderr.strip()[-500:]}")
    return wall, cpu


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_ready(opsa: str, env: dict[str, str]) -> float:
    """Seconds from starting `opsa serve` until `/healthz` gives any HTTP answer."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    t0 = time.perf_counter()
    proc = subprocess.Popen([opsa, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while time.perf_counter() - t0 < SERVE_TIMEOUT_S:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"opsa serve exited ({proc.returncode}): {err[-500:]}")
            left = SERVE_TIMEOUT_S - (time.perf_counter() - t0)
            try:
                with urllib.request.urlopen(url, timeout=max(left, 0.1)):
                    return time.perf_counter() - t0
            except urllib.error.HTTPError:  # answered (e.g. 503 degraded): it is up
                return time.perf_counter() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)
        raise SystemExit(f"opsa serve did not answer {url} within {SERVE_TIMEOUT_S:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(opsa: str, envs: dict[str, dict[str, str]], repeat: int
            ) -> dict[str, dict[str, Timing]]:
    """Every case for every label (tree), interleaved so that load from other processes
    falls on both sides alike."""
    cases: dict[str, list[str]] = {
        "opsa --version": ["--version"], "opsa --help": ["--help"], "opsa status": ["status"],
        **{name: ["ask", q] for name, q in QUESTIONS.items()},
    }
    out = {label: {name: Timing() for name in [*cases, "serve /healthz"]} for label in envs}
    for env in envs.values():  # one warm-up pass: the page cache, .pyc files
        for args in cases.values():
            run_once(opsa, args, env)
    for _ in range(repeat):
        for name, args in cases.items():
            for label, env in envs.items():
                took = run_once(opsa, args, env)
                if took is not None:
                    out[label][name].wall_s.append(took[0])
                    out[label][name].cpu_s.append(took[1])
        for label, env in envs.items():
            out[label]["serve /healthz"].wall_s.append(serve_ready(opsa, env))
    return out


def report(runs: dict[str, dict[str, Timing]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Figures per tree; ratios to the newest tree's `opsa --version`."""
    floor = list(runs.values())[-1]["opsa --version"].median()
    return {label: {name: t.summary(floor) for name, t in timings.items()}
            for label, timings in runs.items()}


def _cell(value: float | None, width: int, fmt: str = ".2f") -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{fmt}}"


def print_table(summary: dict[str, dict[str, dict[str, float | None]]]) -> None:
    labels = list(summary)
    head = f"{'case':<16}" + "".join(
        f"{label + ' median':>16}{'best':>8}{'cpu':>8}{'x ver':>7}" for label in labels)
    print(head + f"{'target':>8}")
    for name in summary[labels[0]]:
        row = f"{name:<16}"
        for label in labels:
            s = summary[label][name]
            row += (_cell(s["median_s"], 16) + _cell(s["best_s"], 8) + _cell(s["cpu_s"], 8)
                    + _cell(s["x_version"], 7, ".1f"))
        target = TARGETS_S.get(name)
        print(row + (f"{target:>8.1f}" if target else f"{'':>8}"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="a seeded demo store")
    ap.add_argument("--now", default="2026-11-20T12:00:00Z", help="the demo's pinned clock")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--base", type=Path, help="an earlier tree to measure too (PYTHONPATH)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    opsa = shutil.which("opsa")
    if opsa is None:
        raise SystemExit("opsa is not on PATH; run: bash scripts/install.sh")
    if not (args.data_dir / "telemetry.duckdb").is_file():
        raise SystemExit(f"no demo store in {args.data_dir}; run: OPSA_NOW={args.now} "
                         f"opsa --data-dir {args.data_dir} demo --scale 0.1 --no-answer")
    env = {**os.environ, "OPSA_DATA_DIR": str(args.data_dir), "OPSA_NOW": args.now,
           "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    envs = {"now": env} if args.base is None else {
        "before": {**env, "PYTHONPATH": str(args.base.resolve())}, "after": env}
    summary = report(measure(opsa, envs, args.repeat))
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "repeat": args.repeat, **summary}, indent=2))
    else:
        print(f"{os.cpu_count()} CPUs, {args.repeat} runs each (median, best, CPU in s)")
        print_table(summary)


if __name__ == "__main__":
    main()
