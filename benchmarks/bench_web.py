"""Loopback load test of the web API: /api/chat under concurrency, and SSE first-event time.

Starts `opsa serve` in its own process on a free 127.0.0.1 port against a seeded demo
(seeded here at --scale unless --data-dir points to one), warms it up, then sends
--requests POST /api/chat at --concurrency (a fixed mix of questions), and measures
--sse streamed requests: time to the first SSE event (`start`), to `plan`, and to the
answer. Prints a summary and a final JSON line; exits 1 on any error or when the first
event's p95 is over 300 ms.

    python benchmarks/bench_web.py
    python benchmarks/bench_web.py --data-dir .opsa --requests 1000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from web_support import DEMO_NOW, demo_settings, free_port

TOKEN = "bench-token"
QUESTIONS = [
    "peak CPU on web-03 in the last hour",
    "memory usage on search-02 in the last 6 hours",
    "5xx errors for checkout in the last hour",
    "show deploys for checkout today",
    "error logs for payments in the last hour",
    "disk usage on db-01 in the last 3 hours",
    "p95 latency for payments in the last hour",
    "how do we fix a full disk?",
]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def seed(root: Path, scale: float) -> Path:
    from assistant.demo.seed import seed_demo
    from assistant.retrieval import Retriever

    data_dir = root / "data"
    settings = demo_settings(data_dir)
    t0 = time.perf_counter()
    seed_demo(settings, scale=scale, seed=7, progress=False)
    runbooks = Path(__file__).resolve().parent.parent / "assistant/demo/knowledge/runbooks"
    Retriever(settings).index_docs([runbooks])
    print(f"seeded the demo (scale {scale}) and indexed runbooks in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return data_dir


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPSA_DATA_DIR": str(data_dir), "OPSA_NOW": DEMO_NOW,
           "OPSA_API_TOKENS": TOKEN, "OPSA_RATE_LIMIT_PER_MINUTE": "1000000",
           "OPSA_LLM__PROVIDER": "none", "OPSA_CHROMA__EMBEDDER": "minilm",
           "OPSA_PLANNER": "rules", "OPSA_PHRASING": "template"}
    cmd = [sys.executable, "-c", "from assistant.cli import main; main()", "serve",
           "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(url + "/healthz", timeout=30).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the server did not become healthy in 60 s; see {log}")


async def load(url: str, n: int, concurrency: int) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(n))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers,
                                 limits=limits) as client:

        async def worker() -> None:
            for i in counter:
                q = QUESTIONS[i % len(QUESTIONS)]
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/chat", json={"question": q})
                    ok = r.status_code == 200 and bool(r.json().get("answer"))
                    if not ok:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def sse_probe(url: str, n: int) -> dict[str, list[float]]:
    """Time to the first event, the `plan` event and the `answer` event, per request."""
    out: dict[str, list[float]] = {"first": [], "plan": [], "answer": []}
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for i in range(n):
            q = QUESTIONS[i % len(QUESTIONS)]
            t0 = time.perf_counter()
            first = True
            with client.stream("POST", "/api/chat/stream", json={"question": q}) as resp:
                resp.raise_for_status()
                for line in resp.iter_lines():
                    if not line.startswith("event: "):
                        continue
                    name = line[len("event: "):]
                    now = time.perf_counter() - t0
                    if first:
                        out["first"].append(now)
                        first = False
                    if name in ("plan", "answer"):
                        out[name].append(now)
                    if name == "error":
                        raise SystemExit(f"SSE error event for {q!r}")
    return out


def ms(values: list[float], p: float) -> float:
    """The `p`th percentile of `values` (seconds) in milliseconds; 0 when there are none."""
    return round(percentile(values, p) * 1000, 1) if values else 0.0


def warm_up(url: str) -> None:
    """Ask each question once before timing: catalog, embedder, first connections."""
    with httpx.Client(base_url=url, timeout=120,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        for q in QUESTIONS:
            c.post("/api/chat", json={"question": q}).raise_for_status()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", type=Path, help="a seeded demo to reuse")
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--sse", type=int, default=40, help="streamed requests to time")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="opsa-bench-web-"))
    try:
        data_dir = args.data_dir or seed(root, args.scale)
        port = free_port()
        proc = start_server(data_dir, port, root / "server.log")
        url = f"http://127.0.0.1:{port}"
        try:
            warm_up(url)
            t0 = time.perf_counter()
            latencies, errors = asyncio.run(load(url, args.requests, args.concurrency))
            wall = time.perf_counter() - t0
            sse = sse_probe(url, args.sse)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    summary: dict[str, Any] = {
        "requests": args.requests, "concurrency": args.concurrency, "errors": len(errors),
        "throughput_rps": round(len(latencies) / wall, 1),
        "chat_p50_ms": ms(latencies, 50), "chat_p95_ms": ms(latencies, 95),
        "chat_max_ms": round(max(latencies) * 1000, 1),
        "sse_requests": args.sse,
        "sse_first_event_p50_ms": ms(sse["first"], 50),
        "sse_first_event_p95_ms": ms(sse["first"], 95),
        "sse_first_event_max_ms": round(max(sse["first"]) * 1000, 1),
        "sse_plan_p50_ms": ms(sse["plan"], 50), "sse_answer_p50_ms": ms(sse["answer"], 50),
        "sse_answer_p95_ms": ms(sse["answer"], 95),
    }
    print(f"/api/chat: {args.requests} requests at concurrency {args.concurrency}: "
          f"{len(errors)} errors, {summary['throughput_rps']} req/s, "
          f"p50 {summary['chat_p50_ms']} ms, p95 {summary['chat_p95_ms']} ms")
    print(f"/api/chat/stream ({args.sse} sequential): first event p50 "
          f"{summary['sse_first_event_p50_ms']} ms, p95 {summary['sse_first_event_p95_ms']} ms;"
          f" plan p50 {summary['sse_plan_p50_ms']} ms; answer p50 "
          f"{summary['sse_answer_p50_ms']} ms, p95 {summary['sse_answer_p95_ms']} ms")
    for e in errors[:5]:
        print("error:", e, file=sys.stderr)
    print(json.dumps(summary))
    if errors or summary["sse_first_event_p95_ms"] > 300:
        sys.exit(1)


if __name__ == "__main__":
    main()
