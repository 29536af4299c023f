"""Server mode: the same retriever against a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from retrieval_fakes import HashEmbedder, make_retriever
from servers import Server, free_port, require_binary

from assistant.errors import RetrievalError
from connectors.base import Event

pytestmark = pytest.mark.server

READY_TIMEOUT_S = 60.0
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def start_chroma(workdir: Path) -> Server:
    """`chroma run` on a free 127.0.0.1 port with storage under `workdir`, once it answers."""
    binary = require_binary("chroma")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "chroma.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    argv = [binary, "run", "--path", str(workdir / "data"), "--host", "127.0.0.1"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*argv, "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Server(name="chroma", url=url, proc=proc, log_path=log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"chroma exited with {proc.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                return server
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"chroma not ready in {READY_TIMEOUT_S}s:\n{server.log_tail()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Chroma server for the session, stopped at the end whatever the outcome."""
    server = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server.url
    finally:
        server.stop()


def test_index_and_search_through_the_server(chroma_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "disk.md").write_text("# Disk\n\n## Mitigation\n\nFree space on db-01 now.\n")
    (docs / "cpu.md").write_text("# CPU\n\n## Symptoms\n\nweb-03 pegged at 100 percent.\n")

    emb = HashEmbedder()
    r = make_retriever(tmp_path / "local-unused", embedder=emb, url=chroma_url)
    report = r.index_docs([docs], base=docs)
    assert (report.added, report.chunks) == (2, 2)
    assert not (tmp_path / "local-unused" / "chroma").exists()  # nothing written locally

    hits = r.search("db-01", k=2)
    assert hits[0].id == "disk.md#mitigation" and hits[0].exact == ["db-01"]

    # a second client sees the same collections, and unchanged files are not re-embedded
    other_emb = HashEmbedder()
    other = make_retriever(tmp_path / "other", embedder=other_emb, url=chroma_url)
    assert other.index_docs([docs], base=docs).unchanged == 2
    assert other_emb.documents_embedded == 0
    assert [h.id for h in other.search("web-03", k=1)] == ["cpu.md#symptoms"]

    events = [
        Event(id="x", ts=NOW - timedelta(days=20), kind="alert", title="old"),
        Event(id="y", ts=NOW - timedelta(hours=1), kind="deploy", title="deploy checkout"),
    ]
    ev = r.index_events(events, now=NOW)
    assert (ev.added, ev.expired) == (1, 1)
    assert [h.id for h in other.search("deploy", collection="events", k=5)] == ["y"]
    assert r.prune(NOW + timedelta(days=15)).removed == 1
    r.reset("docs")
    r.reset("events")


def test_server_going_away_is_a_retrieval_error(tmp_path: Path) -> None:
    server = start_chroma(tmp_path)
    try:
        r = make_retriever(tmp_path / "client", url=server.url)
        r.index_events([Event(id="e", ts=NOW, kind="alert", title="disk full")], now=NOW)
        assert [h.id for h in r.search("disk", collection="events")] == ["e"]
    finally:
        server.stop()
    with pytest.raises(RetrievalError, match="the vector store failed while searching"):
        r.search("disk", collection="events")
