"""Load run of the web API on loopback: N concurrent clients for a fixed time.

Starts `opsa serve` (the real FastAPI app under uvicorn) in its own process on a free
127.0.0.1 port over a seeded demo (seeded here at --scale unless --data-dir points to one;
a given data dir is copied first, since the run writes events to it), warms it up, then
runs --clients concurrent clients for --duration seconds: most ask a fixed mix of
questions (POST /api/chat, some over SSE, /api/chat/stream), --event-clients post events
(POST /api/events, one uniquely-id'd event each), and every client checks /healthz now
and then. Afterwards the server is stopped and the events it acknowledged are counted in
the store.

Prints latency percentiles (p50/p95/p99) per endpoint and overall, throughput, errors,
the server's RSS over the run, and a final JSON line; exits 1 on any 5xx, transport
error, SSE error event, or acknowledged event missing from the store.

    python benchmarks/bench_load.py                   # 20 clients, 30 s
    python benchmarks/bench_load.py --duration 120    # the issue's 2-minute run
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import QUESTIONS, TOKEN, percentile, seed, start_server
from web_support import DEMO_NOW, free_port  # bench_web puts tests/ on the path

SSE_EVERY = 5
"""Every fifth question of a chat client goes over SSE."""
HEALTH_EVERY = 10
"""Every tenth request of any client is a GET /healthz."""


@dataclass
class Tally:
    """What the clients saw; appended to from many threads (list.append is atomic)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    acked_ids: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)
    """Answers (200) with a failed or timed-out query: not errors, but worth seeing."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(endpoint, []).append(seconds)
            counts = self.statuses.setdefault(endpoint, {})
            counts[status] = counts.get(status, 0) + 1
            if status >= 500:
                self.errors.append(f"{endpoint}: HTTP {status}")

    def fail(self, endpoint: str, text: str) -> None:
        with self.lock:
            self.errors.append(f"{endpoint}: {text}")


def _chat(c: httpx.Client, q: str, tally: Tally) -> None:
    t0 = time.perf_counter()
    r = c.post("/api/chat", json={"question": q})
    tally.record("POST /api/chat", r.status_code, time.perf_counter() - t0)
    if r.status_code == 200:
        ans = r.json()
        if not ans.get("answer"):
            tally.fail("POST /api/chat", f"empty answer for {q!r}")
        failed = [f"{run['connector']}: {run['error']}" for run in ans.get("queries", [])
                  if not run.get("ok")]
        if failed:
            tally.degraded.append(f"{q!r}: {'; '.join(failed)}"[:300])
    else:
        tally.fail("POST /api/chat", f"HTTP {r.status_code}: {r.text[:200]}")


def _stream(c: httpx.Client, q: str, tally: Tally) -> None:
    t0 = time.perf_counter()
    answered = False
    with c.stream("POST", "/api/chat/stream", json={"question": q}) as resp:
        for line in resp.iter_lines():
            if line == "event: error":
                tally.fail("POST /api/chat/stream", f"SSE error event for {q!r}")
            elif line == "event: answer":
                answered = True
        status = resp.status_code
    tally.record("POST /api/chat/stream", status, time.perf_counter() - t0)
    if status == 200 and not answered:
        tally.fail("POST /api/chat/stream", f"no answer event for {q!r}")


def _event(c: httpx.Client, run: str, n: int, tally: Tally) -> None:
    ev_id = f"load-{run}-{n}"
    body = {"id": ev_id, "kind": "deploy", "title": f"load test deploy {n}",
            "service": "checkout", "time": DEMO_NOW, "status": "succeeded"}
    t0 = time.perf_counter()
    r = c.post("/api/events", json=body)
    tally.record("POST /api/events", r.status_code, time.perf_counter() - t0)
    if r.status_code == 200:
        tally.acked_ids.extend(r.json().get("ids", []))
    else:
        tally.fail("POST /api/events", f"HTTP {r.status_code}: {r.text[:200]}")


def _health(c: httpx.Client, tally: Tally) -> None:
    t0 = time.perf_counter()
    r = c.get("/healthz")
    tally.record("GET /healthz", r.status_code, time.perf_counter() - t0)


def client(url: str, index: int, posts_events: bool, run: str, stop_at: float,
           tally: Tally) -> None:
    with httpx.Client(base_url=url, timeout=120,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            try:
                if n % HEALTH_EVERY == 0:
                    _health(c, tally)
                elif posts_events:
                    _event(c, run, index * 1_000_000 + n, tally)
                else:
                    q = QUESTIONS[(index + n) % len(QUESTIONS)]
                    (_stream if n % SSE_EVERY == 0 else _chat)(c, q, tally)
            except httpx.HTTPError as exc:
                tally.fail("transport", f"{type(exc).__name__}: {exc}")


def rss_mib(pid: int) -> float | None:
    """The resident set size of process `pid` (Linux /proc), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def stored_events(store: Path, run: str) -> set[str]:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT id FROM events WHERE id LIKE ?", [f"load-{run}-%"]).fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def ms(values: list[float], p: float) -> float:
    return round(percentile(values, p) * 1000, 1) if values else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, help="a seeded demo to copy and use")
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--event-clients", type=int, default=2,
                    help="how many of the clients post events instead of asking")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="opsa-bench-load-"))
    run = uuid.uuid4().hex[:8]
    tally = Tally()
    rss: list[float] = []
    try:
        if args.data_dir:
            data_dir = root / "data"
            shutil.copytree(args.data_dir, data_dir)
        else:
            data_dir = seed(root, args.scale)
        port = free_port()
        proc = start_server(data_dir, port, root / "server.log")
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=url, timeout=120,
                              headers={"Authorization": f"Bearer {TOKEN}"}) as c:
                for q in QUESTIONS:  # warm-up: catalog, embedder, first connections
                    c.post("/api/chat", json={"question": q}).raise_for_status()
            rss_start = rss_mib(proc.pid)
            t0 = time.perf_counter()
            stop_at = t0 + args.duration
            threads = [threading.Thread(
                target=client, args=(url, i, i < args.event_clients, run, stop_at, tally),
                daemon=True) for i in range(args.clients)]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                value = rss_mib(proc.pid)
                if value is not None:
                    rss.append(value)
                time.sleep(1.0)
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            rss_end = rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        in_store = stored_events(data_dir / "telemetry.duckdb", run)
        server_log = (root / "server.log").read_text(errors="replace")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    lost = sorted(set(tally.acked_ids) - in_store)
    everything = [v for vals in tally.latencies.values() for v in vals]
    per_endpoint = {
        ep: {"requests": len(vals), "p50_ms": ms(vals, 50), "p95_ms": ms(vals, 95),
             "p99_ms": ms(vals, 99), "max_ms": round(max(vals) * 1000, 1),
             "statuses": {str(k): v for k, v in sorted(tally.statuses[ep].items())}}
        for ep, vals in sorted(tally.latencies.items())
    }
    five_xx = sum(n for counts in tally.statuses.values() for s, n in counts.items() if s >= 500)
    summary: dict[str, Any] = {
        "clients": args.clients, "event_clients": args.event_clients,
        "duration_s": round(wall, 1), "requests": len(everything),
        "throughput_rps": round(len(everything) / wall, 1),
        "p50_ms": ms(everything, 50), "p95_ms": ms(everything, 95), "p99_ms": ms(everything, 99),
        "errors": len(tally.errors), "http_5xx": five_xx,
        "events_acked": len(tally.acked_ids), "events_in_store": len(in_store),
        "events_lost": len(lost), "answers_with_failed_queries": len(tally.degraded),
        "rss_mib_start": rss_start, "rss_mib_end": rss_end,
        "rss_mib_max": max(rss) if rss else None,
        "server_tracebacks": server_log.count("Traceback"),
        "endpoints": per_endpoint,
    }
    print(f"{args.clients} clients ({args.event_clients} posting events) for "
          f"{summary['duration_s']} s: {summary['requests']} requests, "
          f"{summary['throughput_rps']} req/s, p50 {summary['p50_ms']} ms, "
          f"p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms; "
          f"{summary['errors']} errors ({five_xx} 5xx)")
    for ep, st in per_endpoint.items():
        print(f"  {ep:<24} {st['requests']:>6} req  p50 {st['p50_ms']:>8} ms  "
              f"p95 {st['p95_ms']:>8} ms  p99 {st['p99_ms']:>8} ms  max {st['max_ms']:>8} ms  "
              f"{st['statuses']}")
    print(f"events: {len(tally.acked_ids)} acknowledged, {len(in_store)} in the store, "
          f"{len(lost)} lost; server RSS {rss_start} -> {rss_end} MiB "
          f"(max {summary['rss_mib_max']}); {summary['server_tracebacks']} tracebacks in "
          f"the server log; {len(tally.degraded)} answers with a failed query")
    for e in tally.errors[:10]:
        print("error:", e, file=sys.stderr)
    for d in sorted(set(tally.degraded))[:5]:
        print("answer with a failed query:", d, file=sys.stderr)
    print(json.dumps(summary))
    if tally.errors or five_xx or lost or summary["server_tracebacks"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
