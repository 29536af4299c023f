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

With --slack the clients load the Slack handler instead: the same server, started with a
bot token and signing secret, mounts the real slack-bolt app at /slack/events (HTTP mode)
and talks to a local fake Slack Web API (tests/fake_slack.py) run by this script. Each
client is a user in its own channel: it posts a signed event callback (an app_mention,
every fourth a DM `message` event, every tenth also re-delivered as Slack's retry with the
same event_id), measures the acknowledgement, and waits for the answer (the bot's message
in the event's thread, updated from "working..." to the answer) before its next event.
Afterwards every event must have been answered exactly once: one chat.postMessage in its
thread, finished once, not with a warning. Prints p50/p95 of the acknowledgement and of the
answer (event sent -> answer posted), the server's RSS, and a JSON line; exits 1 on any
5xx, transport error, unanswered or twice-answered event, or server traceback.

    python benchmarks/bench_load.py --slack                   # 20 Slack users, 30 s
    python benchmarks/bench_load.py --slack --duration 120
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import QUESTIONS, TOKEN, ms, seed, start_server, warm_up
from fake_slack import BOT_USER, TEAM, FakeSlack  # bench_web puts tests/ on the path
from web_support import DEMO_NOW, free_port

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


def run_sampling(threads: list[threading.Thread], pid: int, rss: list[float]) -> None:
    """Start the client threads and sample the server's RSS each second until they end."""
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        value = rss_mib(pid)
        if value is not None:
            rss.append(value)
        time.sleep(1.0)


def stored_events(store: Path, run: str) -> set[str]:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT id FROM events WHERE id LIKE ?", [f"load-{run}-%"]).fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, help="a seeded demo to copy and use")
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--event-clients", type=int, default=2,
                    help="how many of the clients post events instead of asking")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    ap.add_argument("--slack", action="store_true",
                    help="load the Slack handler (/slack/events) instead of the web API")
    ap.add_argument("--answer-timeout", type=float, default=120.0,
                    help="--slack: seconds a client waits for an answer before counting it "
                         "unanswered")
    args = ap.parse_args()
    if args.slack:
        slack_main(args)
        return

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
            warm_up(url)
            rss_start = rss_mib(proc.pid)
            t0 = time.perf_counter()
            stop_at = t0 + args.duration
            threads = [threading.Thread(
                target=client, args=(url, i, i < args.event_clients, run, stop_at, tally),
                daemon=True) for i in range(args.clients)]
            run_sampling(threads, proc.pid, rss)
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


# -- the Slack handler -------------------------------------------------------------------
SLACK_SECRET = "bench-signing-secret-0123456789ab"
SLACK_BOT_TOKEN = "xoxb-bench-token"
DM_EVERY = 4
"""Every fourth event of a Slack client is a direct message (`message`, channel_type im)."""
RETRY_EVERY = 10
"""Every tenth event is delivered again as Slack's retry (same event_id): not re-answered."""
WORKING = ":hourglass_flowing_sand: working on it..."
"""How the bot's reply starts until the answer replaces it (assistant.slack.blocks)."""
_seq = itertools.count(1)


class CountingSlack(FakeSlack):
    """The fake Slack Web API, also noting per thread the bot's posts and finished answers."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self._track = threading.Lock()
        self.posts: dict[tuple[str, str], list[str]] = defaultdict(list)
        """(channel, thread ts) -> ts of each chat.postMessage the bot made in it."""
        self.finals: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
        """(channel, thread ts) -> (monotonic time, text) of each finished reply."""
        self._thread_of: dict[tuple[str, str], tuple[str, str]] = {}
        self._done: dict[tuple[str, str], threading.Event] = {}

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        out = super()._m_chat_postMessage(p)
        if out.get("ok"):
            key = (str(p["channel"]), str(p.get("thread_ts") or ""))
            with self._track:
                self.posts[key].append(str(out["ts"]))
                self._thread_of[(key[0], str(out["ts"]))] = key
            if not str(p.get("text") or "").startswith(WORKING):  # e.g. the usage reply
                self._finished(key, str(p.get("text") or ""))
        return out

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        out = super()._m_chat_update(p)
        text = str(p.get("text") or "")
        if out.get("ok") and not text.startswith(WORKING):
            with self._track:
                key = self._thread_of.get((str(p.get("channel")), str(p.get("ts"))))
            if key is not None:
                self._finished(key, text)
        return out

    def _finished(self, key: tuple[str, str], text: str) -> None:
        with self._track:
            self.finals[key].append((time.monotonic(), text))
            done = self._done.setdefault(key, threading.Event())
        done.set()

    def wait_answer(self, key: tuple[str, str], timeout: float) -> float | None:
        """When the reply in thread `key` was finished (monotonic), or None on timeout."""
        with self._track:
            done = self._done.setdefault(key, threading.Event())
        if not done.wait(timeout):
            return None
        with self._track:
            return self.finals[key][0][0]


@dataclass
class SlackSent:
    event_id: str
    channel: str
    ts: str
    sent: float
    """time.monotonic() when the event was posted."""


def _slack_headers(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + sig.hexdigest()}


def _slack_event(index: int, n: int, question: str) -> tuple[SlackSent, bytes]:
    seq = next(_seq)
    ts = f"{int(time.time())}.{seq:06d}"
    if n % DM_EVERY == 0:
        channel = f"DLOAD{index:02d}"
        event = {"type": "message", "channel_type": "im", "user": f"ULOAD{index:02d}",
                 "text": question, "ts": ts, "channel": channel, "event_ts": ts}
    else:
        channel = f"CLOAD{index:02d}"
        event = {"type": "app_mention", "user": f"ULOAD{index:02d}",
                 "text": f"<@{BOT_USER}> {question}", "ts": ts, "channel": channel,
                 "event_ts": ts}
    event_id = f"EvLOAD{seq:08d}"
    body = json.dumps({
        "token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0000001",
        "event": event, "type": "event_callback", "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }).encode()
    return SlackSent(event_id, channel, ts, 0.0), body


def slack_client(url: str, index: int, stop_at: float, fake: CountingSlack,
                 answer_timeout: float, tally: Tally, sent: list[SlackSent],
                 max_events: int | None = None) -> None:
    with httpx.Client(base_url=url, timeout=120) as c:
        n = 0
        while time.monotonic() < stop_at and (max_events is None or n < max_events):
            n += 1
            record, body = _slack_event(index, n, QUESTIONS[(index + n) % len(QUESTIONS)])
            try:
                record.sent = t0 = time.monotonic()
                r = c.post("/slack/events", content=body, headers=_slack_headers(body))
                tally.record("slack ack", r.status_code, time.monotonic() - t0)
                if r.status_code != 200:
                    tally.fail("slack ack", f"HTTP {r.status_code}: {r.text[:200]}")
                    continue
                sent.append(record)
                if n % RETRY_EVERY == 0:
                    t1 = time.monotonic()
                    r = c.post("/slack/events", content=body, headers={
                        **_slack_headers(body), "X-Slack-Retry-Num": "1",
                        "X-Slack-Retry-Reason": "http_timeout"})
                    tally.record("slack retry ack", r.status_code, time.monotonic() - t1)
                    if r.status_code != 200:
                        tally.fail("slack retry ack", f"HTTP {r.status_code}: {r.text[:200]}")
            except httpx.HTTPError as exc:
                tally.fail("transport", f"{type(exc).__name__}: {exc}")
                continue
            done = fake.wait_answer((record.channel, record.ts), answer_timeout)
            if done is None:
                tally.fail("slack answer", f"{record.event_id}: no answer in {answer_timeout} s")
            else:
                tally.latencies.setdefault("slack answer", []).append(done - t0)


def slack_main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="opsa-bench-slack-"))
    tally = Tally()
    sent: list[SlackSent] = []
    rss: list[float] = []
    with CountingSlack(SLACK_BOT_TOKEN) as fake:
        try:
            if args.data_dir:
                data_dir = root / "data"
                shutil.copytree(args.data_dir, data_dir)
            else:
                data_dir = seed(root, args.scale)
            port = free_port()
            os.environ.update({"OPSA_SLACK__BOT_TOKEN": SLACK_BOT_TOKEN,
                               "OPSA_SLACK__SIGNING_SECRET": SLACK_SECRET,
                               "OPSA_SLACK__API_URL": fake.api_url})
            proc = start_server(data_dir, port, root / "server.log")
            url = f"http://127.0.0.1:{port}"
            try:
                warm = Tally()  # one answered event first: bolt, the assistant, the catalog
                slack_client(url, 99, time.monotonic() + 120, fake, 120, warm, [], max_events=1)
                if warm.errors:
                    raise SystemExit(f"the Slack warm-up failed: {warm.errors[0]}")
                fake.settle(quiet=1.0, timeout=120)
                rss_start = rss_mib(proc.pid)
                t0 = time.monotonic()
                stop_at = t0 + args.duration
                threads = [threading.Thread(
                    target=slack_client,
                    args=(url, i, stop_at, fake, args.answer_timeout, tally, sent),
                    daemon=True) for i in range(args.clients)]
                run_sampling(threads, proc.pid, rss)
                wall = time.monotonic() - t0
                fake.settle(quiet=1.5, timeout=120)  # chart uploads after the last answers
                rss_end = rss_mib(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
            server_log = (root / "server.log").read_text(errors="replace")
        finally:
            shutil.rmtree(root, ignore_errors=True)
        posts = {k: list(v) for k, v in fake.posts.items()}
        finals = {k: list(v) for k, v in fake.finals.items()}
        uploads = sum(1 for u in fake.uploads.values() if u.get("completed"))

    unanswered = [s.event_id for s in sent if not finals.get((s.channel, s.ts))]
    twice = [s.event_id for s in sent
             if len(posts.get((s.channel, s.ts), [])) > 1
             or len(finals.get((s.channel, s.ts), [])) > 1]
    warned = [s.event_id for s in sent for _, text in finals.get((s.channel, s.ts), [])
              if text.startswith((":warning:", ":no_entry:"))]
    once = len(sent) - len(set(unanswered) | set(twice) | set(warned))
    acks = tally.latencies.get("slack ack", [])
    answers = tally.latencies.get("slack answer", [])
    retries = tally.latencies.get("slack retry ack", [])
    five_xx = sum(n for counts in tally.statuses.values() for s, n in counts.items() if s >= 500)
    summary: dict[str, Any] = {
        "mode": "slack", "clients": args.clients, "duration_s": round(wall, 1),
        "events": len(sent), "events_per_s": round(len(sent) / wall, 2),
        "dms": sum(1 for s in sent if s.channel.startswith("D")),
        "retries": len(retries), "answered_once": once, "unanswered": len(unanswered),
        "answered_twice": len(twice), "answers_with_warning": len(warned),
        "charts_uploaded": uploads,
        "ack_p50_ms": ms(acks, 50), "ack_p95_ms": ms(acks, 95), "ack_p99_ms": ms(acks, 99),
        "ack_max_ms": round(max(acks) * 1000, 1) if acks else 0.0,
        "retry_ack_p95_ms": ms(retries, 95),
        "answer_p50_ms": ms(answers, 50), "answer_p95_ms": ms(answers, 95),
        "answer_p99_ms": ms(answers, 99),
        "answer_max_ms": round(max(answers) * 1000, 1) if answers else 0.0,
        "errors": len(tally.errors), "http_5xx": five_xx,
        "statuses": {ep: {str(k): v for k, v in sorted(c.items())}
                     for ep, c in sorted(tally.statuses.items())},
        "rss_mib_start": rss_start, "rss_mib_end": rss_end,
        "rss_mib_max": max(rss) if rss else None,
        "server_tracebacks": server_log.count("Traceback"),
    }
    print(f"{args.clients} Slack clients for {summary['duration_s']} s: {len(sent)} events "
          f"({summary['dms']} DMs, {len(retries)} also retried), {once} answered exactly once, "
          f"{len(unanswered)} unanswered, {len(twice)} answered twice, {len(warned)} with a "
          f"warning; {summary['errors']} errors ({five_xx} 5xx)")
    print(f"  ack     p50 {summary['ack_p50_ms']} ms  p95 {summary['ack_p95_ms']} ms  "
          f"p99 {summary['ack_p99_ms']} ms  max {summary['ack_max_ms']} ms")
    print(f"  answer  p50 {summary['answer_p50_ms']} ms  p95 {summary['answer_p95_ms']} ms  "
          f"p99 {summary['answer_p99_ms']} ms  max {summary['answer_max_ms']} ms "
          "(event sent -> answer posted)")
    print(f"server RSS {rss_start} -> {rss_end} MiB (max {summary['rss_mib_max']}); "
          f"{summary['server_tracebacks']} tracebacks in the server log; {uploads} charts")
    for e in tally.errors[:10]:
        print("error:", e, file=sys.stderr)
    for label, ids in (("unanswered", unanswered), ("answered twice", twice),
                       ("answered with a warning", warned)):
        if ids:
            print(f"{label}: {', '.join(ids[:10])}", file=sys.stderr)
    print(json.dumps(summary))
    if tally.errors or five_xx or unanswered or twice or warned or summary["server_tracebacks"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
