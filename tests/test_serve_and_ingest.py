"""A running server and a command-line `opsa ingest` on the same data directory.

Real processes over real HTTP: the server closes the store between questions, so an ingest
in another process can write, and the next question sees what it wrote; while another
process is writing, a question and /healthz say so clearly instead of failing quietly.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from web_support import LiveServer

from assistant.ingest.pipeline import ingest_paths
from assistant.settings import Settings
from assistant.web import create_app

pytestmark = pytest.mark.server

OPSA = (sys.executable, "-c", "from assistant.cli import main; main()")
NOW = "2026-11-20T12:00:00+00:00"
HOLD_WRITE_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _log(path: Path, program: str, n: int) -> Path:
    path.write_text("".join(f"Nov 20 11:{10 + i:02d}:00 host-a {program}[7]: request {i} failed\n"
                            for i in range(n)))
    return path


def _count(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/api/chat", json={"question": question, "now": NOW}, timeout=60)


def test_ingest_while_serving_is_seen_by_the_next_question(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest_paths(data / "telemetry.duckdb", "logs", [_log(tmp_path / "a.log", "alpha", 3)],
                 progress=False)
    settings = Settings(data_dir=data, llm={"provider": "none"}, now=NOW)
    with LiveServer(create_app(settings, warm=False)) as srv:
        first = _count(srv.url, "how many alpha log lines in the last hour?")
        assert first.status_code == 200 and "3 log lines" in first.json()["answer"]
        # the server is between questions: an ingest in another process can write
        res = subprocess.run(
            [*OPSA, "--data-dir", str(data), "ingest", "logs", str(_log(tmp_path / "b.log",
                                                                        "beta", 5))],
            capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        after = _count(srv.url, "how many beta log lines in the last hour?")
        assert after.status_code == 200 and "5 log lines" in after.json()["answer"], \
            after.json()["answer"]
        assert httpx.get(f"{srv.url}/healthz", timeout=30).status_code == 200

        # another process writing right now: a clear refusal, and /healthz is not "ok"
        holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK,
                                   str(data / "telemetry.duckdb"), "12"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            t0 = time.monotonic()
            busy = _count(srv.url, "how many alpha log lines in the last hour?").json()
            # the failure is the answer's first line, not "no data"
            assert busy["answer"].startswith("The embedded backend did not answer"), busy
            assert "being written by another process" in busy["answer"]
            assert not busy["queries"][0]["ok"] and time.monotonic() - t0 < 10
            health = httpx.get(f"{srv.url}/healthz", timeout=30)
            assert health.status_code == 503
            assert "being written" in health.json()["checks"]["backend"]["detail"]
        finally:
            holder.kill()
            holder.wait()
        again = _count(srv.url, "how many alpha log lines in the last hour?")
        assert again.status_code == 200 and "3 log lines" in again.json()["answer"]
