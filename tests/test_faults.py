"""Faults at every boundary the assistant depends on, reproduced for real: damaged Chroma
files on disk, and model and ClickHouse servers on loopback sockets that are down, hang,
or answer garbage or HTTP 500. Each gives one clear line (CLI: on stderr, exit 1; web: a
JSON error, never a traceback or a 500) and changes nothing; `opsa ask` answers from what
still works and says what failed. Then the answer's time budget: a hanging backend makes
the answer come back by the deadline with the facts that finished and a note naming the
part that ran out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from web_support import DEMO_NOW, LiveServer, demo_settings, seeded_demo

from assistant.cli import app
from assistant.core import Assistant
from assistant.errors import BackendError, BackendTimeout, BackendUnavailable, LLMError
from assistant.execute import Budget, Executor
from assistant.ir import EventQuery, TimeRange
from assistant.llm import OpenAIChat
from assistant.planner import PlannedQuery
from assistant.services import Services
from assistant.settings import load_settings
from assistant.web import create_app
from connectors.clickhouse.transport import HttpExecutor

pytestmark = [pytest.mark.server]

DOCS_Q = "how do I fix disk full on web-03?"
CPU_Q = "peak CPU on web-03 in the last hour"
CLI_ENV = {"OPSA_NOW": DEMO_NOW, "OPSA_LLM__PROVIDER": "none", "OPSA_CHROMA__EMBEDDER": "minilm",
           "OPSA_PLANNER": "rules", "OPSA_PHRASING": "template", "OPSA_AUDIT_RETENTION_DAYS": "0"}


# -- a misbehaving HTTP server on a real loopback socket ---------------------------------------


class FaultyServer:
    """Accepts connections on 127.0.0.1 and misbehaves as `mode` says:

    * ``hang``: reads the request, never answers (until `stop()`);
    * ``garbage``: ``200 OK`` with binary noise;
    * ``notjson``: ``200 OK``, ``application/json``, a body that is not JSON;
    * ``html500``: ``500`` with an HTML error page (a proxy's or a crashed worker's);
    * ``reset``: closes the connection with a TCP reset, no reply.

    While `armed` is clear, every request is answered ``200``, ``[]`` (a healthy, empty
    Alertmanager); the fault starts when it is set (it is, at first).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.armed = threading.Event()
        self.armed.set()
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data.split(b" ", 2)[1].decode("latin-1"))
            if not self.armed.is_set():
                self._send(conn, b"200 OK", b"application/json", b"[]")
                return
            if self.mode == "hang":
                self._stop.wait(120)
            elif self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            elif self.mode == "garbage":
                self._send(conn, b"200 OK", b"application/octet-stream",
                           b"\x00\xff\x13\x37 garbage \x1b[31m" * 40)
            elif self.mode == "notjson":
                self._send(conn, b"200 OK", b"application/json", b"this is not json")
            elif self.mode == "html500":
                self._send(conn, b"500 Internal Server Error", b"text/html",
                           b"<html><body><h1>500 Internal Server Error</h1></body></html>")
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    @staticmethod
    def _send(conn: socket.socket, status: bytes, ctype: bytes, body: bytes) -> None:
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype
                     + b"\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\nConnection: close\r\n\r\n" + body)

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


def closed_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def faulty() -> Iterator[Callable[..., FaultyServer]]:
    made: list[FaultyServer] = []

    def make(mode: str) -> FaultyServer:
        made.append(FaultyServer(mode))
        return made[-1]

    yield make
    for s in made:
        s.stop()


# -- shared helpers -------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the seeded demo (store and runbook index)."""
    dest = tmp_path / "data"
    shutil.copytree(seeded_demo(), dest)
    return dest


def cli(data_dir: Path, *args: str, **env: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args],
                             env={**CLI_ENV, **env})
    return res.exit_code, res.stdout, res.stderr


def one_error_line(stderr: str) -> str:
    """The single `error: ...` line a failed command prints (and nothing else)."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert lines[0].isprintable(), repr(lines[0])
    return lines[0]


def tree_digest(root: Path) -> str:
    """Names, modes and contents of everything under `root` (or of the file `root`)."""
    h = hashlib.sha256()
    paths = [root] if root.is_file() else sorted(root.rglob("*"))
    for p in paths:
        st = p.lstat()
        h.update(f"{p.relative_to(root.parent)}:{st.st_mode}".encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


# -- Chroma: damaged, unreadable or misplaced files --------------------------------------------


def _truncate(chroma: Path) -> None:
    db = chroma / "chroma.sqlite3"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])


def _scribble(chroma: Path) -> None:
    """Overwrite 48 KiB in the middle: pages whose records chroma's Rust core cannot decode
    (unchecked, it panics on stderr)."""
    db = chroma / "chroma.sqlite3"
    data = bytearray(db.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 48 * 1024] = b"\xff" * (48 * 1024)
    db.write_bytes(bytes(data))


def _not_sqlite(chroma: Path) -> None:
    (chroma / "chroma.sqlite3").write_bytes(b"this is not a database\n" * 200)


def _emptied(chroma: Path) -> None:
    (chroma / "chroma.sqlite3").write_bytes(b"")


def _file_instead(chroma: Path) -> None:
    shutil.rmtree(chroma)
    chroma.write_text("not a directory\n")


def _unreadable(chroma: Path) -> None:
    chroma.chmod(0)


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (_truncate, r"is damaged \(database disk image is malformed\)"),
    "scribbled": (_scribble, r"is damaged \("),
    "not sqlite": (_not_sqlite, r"is damaged \(file is not a database\)"),
    "emptied": (_emptied, r"is damaged: chroma\.sqlite3 is empty but index files remain"),
    "file instead of directory": (_file_instead, r"is not a directory"),
    "no permission": (_unreadable, r"permission denied"),
}


@pytest.fixture(params=list(DAMAGE))
def damaged(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[tuple[Path, str]]:
    """The demo with its Chroma store damaged one way; (data dir, expected words)."""
    if request.param == "no permission" and os.geteuid() == 0:
        pytest.skip("root reads a directory whatever its mode")
    damage, words = DAMAGE[request.param]
    damage(data_dir / "chroma")
    yield data_dir, words
    if (data_dir / "chroma").is_dir():
        (data_dir / "chroma").chmod(0o755)


def test_damaged_chroma_search_and_index_fail_with_one_line_and_change_nothing(
        damaged: tuple[Path, str], capfd: pytest.CaptureFixture[str]) -> None:
    data_dir, words = damaged
    before = tree_digest(data_dir / "chroma")
    runbooks = Path(__file__).resolve().parents[1] / "assistant/demo/knowledge/runbooks"
    for args in (["search", "disk full"], ["index", "docs", "--json", str(runbooks)]):
        code, _out, err = cli(data_dir, *args)
        assert code == 1, (args, err)
        line = one_error_line(err)
        assert re.search(words, line), line
        assert "opsa index docs" in line or "permission" in line  # what to do about it
    assert tree_digest(data_dir / "chroma") == before
    # nothing leaked past the one line (no Rust panic from chroma's core on the real fd 2)
    assert "panicked" not in capfd.readouterr().err


def test_damaged_chroma_ask_answers_and_names_it(damaged: tuple[Path, str]) -> None:
    data_dir, words = damaged
    before = tree_digest(data_dir / "chroma")
    code, out, err = cli(data_dir, "ask", DOCS_Q, "--json")
    assert code == 0, err
    ans = json.loads(out)
    assert "The chroma backend did not answer: " in ans["answer"]
    run = next(q for q in ans["queries"] if q["connector"] == "chroma")
    assert not run["ok"] and re.search(words, run["error"])
    assert tree_digest(data_dir / "chroma") == before


def test_damaged_chroma_over_the_web(data_dir: Path) -> None:
    """Chat answers 200 naming the failure; posted events are stored, the indexing error
    is reported in the reply (nothing lost), without the server's paths; no 5xx."""
    _truncate(data_dir / "chroma")
    before = tree_digest(data_dir / "chroma")
    settings = demo_settings(data_dir, audit_retention_days=0)
    with LiveServer(create_app(settings, warm=False)) as srv, httpx.Client(
            base_url=srv.url, timeout=60) as c:
        r = c.post("/api/chat", json={"question": DOCS_Q})
        assert r.status_code == 200, r.text
        assert "is damaged (database disk image is malformed)" in r.json()["answer"]
        r = c.post("/api/events", json={"kind": "deploy", "title": "deploy checkout v9",
                                        "service": "checkout", "time": DEMO_NOW})
        assert r.status_code == 200, r.text
        reply = r.json()
        assert reply["stored"] + reply["updated"] == 1 and reply["indexed"] == 0
        assert "is damaged" in reply["index_error"]
        assert str(data_dir) not in r.text  # where the server keeps its data is not said
        health = c.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert "is damaged" in health.json()["checks"]["chroma"]["detail"]
    assert tree_digest(data_dir / "chroma") == before


# -- the model server: down, hanging, garbage, HTTP 500 ----------------------------------------

MODEL_FAULTS = {
    "down": r"could not reach OpenAI-compatible server .* is the server running",
    "hang": r"did not answer in time during .*raise llm\.timeout_s",
    "garbage": r"sent a reply that is not an OpenAI chat response",
    "notjson": r"sent a reply that is not an OpenAI chat response",
    "html500": r"refused .* with HTTP 500: <html>",
    "reset": r"could not reach OpenAI-compatible server",
}
MODEL_TIMEOUT_S = 1.5


def _model_url(mode: str, faulty: Callable[..., FaultyServer]) -> str:
    return closed_url() if mode == "down" else faulty(mode).url


@pytest.mark.parametrize("mode", list(MODEL_FAULTS))
def test_model_server_faults_are_one_line_llm_errors(
        mode: str, faulty: Callable[..., FaultyServer]) -> None:
    chat = OpenAIChat(_model_url(mode, faulty) + "/v1", timeout_s=MODEL_TIMEOUT_S)
    schema = {"type": "object", "properties": {"host": {"type": "string"}}}
    calls: dict[str, Callable[[], object]] = {
        "completion": lambda: chat.complete([("user", "hi")]),
        "streaming": lambda: list(chat.stream([("user", "hi")])),
        "structured output": lambda: chat.structured([("user", "hi")], schema, name="pick"),
    }
    for what, call in calls.items():
        t0 = time.perf_counter()
        with pytest.raises(LLMError) as err:
            call()
        took = time.perf_counter() - t0
        text = str(err.value)
        assert re.search(MODEL_FAULTS[mode], text), (what, text)
        assert "\n" not in text and text.isprintable(), repr(text)
        # no retry: a hanging server costs llm.timeout_s once, not twice
        assert took < MODEL_TIMEOUT_S * 1.6, (what, took)


@pytest.mark.parametrize("mode", ["down", "hang", "garbage", "html500"])
def test_ask_with_a_failing_model_answers_from_the_template_and_says_so(
        mode: str, faulty: Callable[..., FaultyServer], data_dir: Path) -> None:
    url = _model_url(mode, faulty) + "/v1"
    code, out, err = cli(data_dir, "ask", CPU_Q, "--json", OPSA_LLM__PROVIDER="openai",
                         OPSA_LLM__BASE_URL=url, OPSA_LLM__TIMEOUT_S=str(MODEL_TIMEOUT_S),
                         OPSA_PLANNER="hybrid", OPSA_PHRASING="llm")
    assert code == 0, err
    ans = json.loads(out)
    peak = next(f for f in ans["facts"] if f["name"] == "peak")
    assert peak["labels"] == {"host": "web-03"}
    text = ans["answer"]
    assert f"peaked at {peak['display']}" in text or peak["display"] in text, text
    assert "the model's plan was rejected (" in text and "; used rules" in text
    assert "the model could not phrase the answer (" in text
    assert "showing the computed answer" in text
    assert ans["grounded"] is True


def test_failing_model_over_the_web(faulty: Callable[..., FaultyServer], data_dir: Path) -> None:
    url = faulty("html500").url + "/v1"
    settings = demo_settings(data_dir, audit_retention_days=0, planner="hybrid", phrasing="llm",
                             llm={"provider": "openai", "base_url": url, "timeout_s": 2})
    with LiveServer(create_app(settings, warm=False)) as srv, httpx.Client(
            base_url=srv.url, timeout=60) as c:
        r = c.post("/api/chat", json={"question": CPU_Q})
        assert r.status_code == 200, r.text
        ans = r.json()
        assert any(f["name"] == "peak" for f in ans["facts"])
        assert "the model could not phrase the answer" in ans["answer"]
        assert "HTTP 500" in ans["answer"]


# -- ClickHouse over HTTP: down, hanging, garbage, HTTP 500 ------------------------------------

CH_FAULTS: dict[str, tuple[type[Exception], str]] = {
    "down": (BackendUnavailable, r"cannot reach ClickHouse at \S+ \(connection refused\)\. "),
    "hang": (BackendTimeout, r"did not answer within 1s"),
    "garbage": (BackendError, r"does not answer as ClickHouse does"),
    "notjson": (BackendError, r"does not answer as ClickHouse does"),
    "html500": (BackendError, r"failed with HTTP 500 and no ClickHouse error"),
    "reset": (BackendUnavailable, r"\(the connection was (closed|reset) before a reply\)"),
}


@pytest.mark.parametrize("mode", list(CH_FAULTS))
def test_clickhouse_transport_faults(mode: str, faulty: Callable[..., FaultyServer],
                                     capfd: pytest.CaptureFixture[str]) -> None:
    url = closed_url() if mode == "down" else faulty(mode).url
    ex = HttpExecutor(url, timeout_s=1)
    kind, words = CH_FAULTS[mode]
    t0 = time.perf_counter()
    with pytest.raises(kind) as err:
        ex("SELECT 1")
    assert type(err.value) is kind
    text = str(err.value)
    assert re.search(words, text), text
    assert "\n" not in text and text.isprintable(), repr(text)
    assert time.perf_counter() - t0 < 1 + 2 + 2  # the timeout, the driver's 2 s grace, slack
    # the driver's own log lines do not reach stderr beside the error
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("mode", ["down", "hang", "html500"])
def test_clickhouse_faults_from_the_cli(mode: str, faulty: Callable[..., FaultyServer],
                                        tmp_path: Path) -> None:
    url = closed_url() if mode == "down" else faulty(mode).url
    data = tmp_path / "data"
    code, _out, err = cli(data, "ask", "how many errors in checkout logs in the last hour",
                          OPSA_BACKEND="clickhouse", OPSA_CLICKHOUSE__URL=url,
                          OPSA_CLICKHOUSE__TIMEOUT_S="1")
    assert code == 1
    line = one_error_line(err)
    assert re.search(CH_FAULTS[mode][1], line), line
    assert not data.exists() or not any(data.iterdir())  # nothing written


@pytest.mark.parametrize(("mode", "status", "code"), [
    ("down", 502, "backend_error"), ("hang", 504, "backend_timeout"),
    ("garbage", 502, "backend_error")])
def test_clickhouse_faults_over_the_web(mode: str, status: int, code: str,
                                        faulty: Callable[..., FaultyServer],
                                        tmp_path: Path) -> None:
    url = closed_url() if mode == "down" else faulty(mode).url
    settings = load_settings(data_dir=tmp_path / "data", backend="clickhouse",
                             clickhouse={"url": url, "timeout_s": 1}, llm={"provider": "none"},
                             audit_retention_days=0)
    with LiveServer(create_app(settings, warm=False)) as srv, httpx.Client(
            base_url=srv.url, timeout=60) as c:
        for path in ("/api/chat", "/api/chat"):  # and again: the server keeps answering
            r = c.post(path, json={"question": "errors in checkout logs in the last hour"})
            assert r.status_code == status, r.text
            body = r.json()["error"]
            assert body["code"] == code
            assert re.search(CH_FAULTS[mode][1], body["message"]), body
            assert "Traceback" not in r.text


# -- the answer's time budget ------------------------------------------------------------------


@pytest.fixture
def stalled_alertmanager(faulty: Callable[..., FaultyServer]) -> FaultyServer:
    """An Alertmanager that answers until `armed` is set, then hangs every request."""
    srv = faulty("hang")
    srv.armed.clear()
    return srv


def test_settings_default_budget() -> None:
    s = load_settings()
    assert s.answer_budget_s == 20.0 and s.query_timeout_s == 10.0
    with pytest.raises(Exception, match="answer_budget_s"):
        load_settings(answer_budget_s=0)


def test_a_hanging_backend_cannot_hold_an_answer_past_its_budget(
        stalled_alertmanager: FaultyServer, data_dir: Path) -> None:
    settings = demo_settings(data_dir, events_backend="alertmanager", audit_retention_days=0,
                             alertmanager={"url": stalled_alertmanager.url, "timeout_s": 60},
                             answer_budget_s=2.0, query_timeout_s=10.0)
    services = Services(settings)
    try:
        _ = services.linker  # the catalog, read while Alertmanager still answers
        stalled_alertmanager.armed.set()
        t0 = time.perf_counter()
        ans = Assistant(services).ask("what happened to checkout in the last hour")
        took = time.perf_counter() - t0
    finally:
        services.close()
    assert took < 2.0 + 1.0, took
    runs = {r.connector: r for r in ans.queries}
    assert not runs["alertmanager"].ok
    assert "the events query timed out: the answer's time budget (answer_budget_s = 2 s) " \
           "ran out" in (runs["alertmanager"].error or "")
    # the queries that finished are in the answer, and the answer names what ran out
    assert any(r.ok for r in ans.queries if r.connector == "embedded")
    assert ans.facts and any(f.name == "peak" for f in ans.facts)
    assert "The alertmanager backend did not answer: the events query timed out" in ans.answer
    assert ans.grounded


def test_the_queries_share_one_budget(stalled_alertmanager: FaultyServer, data_dir: Path
                                      ) -> None:
    """Two queries to a hanging backend, each allowed 10 s: together they take the answer's
    1.5 s, the second one not even started."""
    settings = demo_settings(data_dir, events_backend="alertmanager", audit_retention_days=0,
                             alertmanager={"url": stalled_alertmanager.url, "timeout_s": 60},
                             answer_budget_s=1.5, query_timeout_s=10.0)
    services = Services(settings)
    stalled_alertmanager.armed.set()
    end = settings.clock()
    window = TimeRange(start=end - timedelta(hours=1), end=end)
    pqs = [PlannedQuery(EventQuery(time_range=window), "main", "events") for _ in range(2)]

    class Und:  # what the executor reads of an understanding
        plan = type("Plan", (), {"queries": pqs})()

    try:
        executor = Executor(services)
        budget = Budget(settings.answer_budget_s)
        t0 = time.perf_counter()
        first = executor.run(pqs[0], Und(), budget)  # type: ignore[arg-type]
        second = executor.run(pqs[1], Und(), budget)  # type: ignore[arg-type]
        took = time.perf_counter() - t0
    finally:
        services.close()
    assert 1.4 < took < 3.0, took
    assert first.timed_out and "timed out: the answer's time budget" in (first.error or "")
    assert second.timed_out and "was not run" in (second.error or "")


def test_per_query_timeout_still_applies_inside_a_long_budget(
        stalled_alertmanager: FaultyServer, data_dir: Path) -> None:
    settings = demo_settings(data_dir, events_backend="alertmanager", audit_retention_days=0,
                             alertmanager={"url": stalled_alertmanager.url, "timeout_s": 60},
                             answer_budget_s=30.0, query_timeout_s=1.0)
    services = Services(settings)
    stalled_alertmanager.armed.set()
    end = settings.clock()
    pq = PlannedQuery(EventQuery(time_range=TimeRange(start=end - timedelta(hours=1), end=end)),
                      "main", "events")

    class Und:
        plan = type("Plan", (), {"queries": [pq]})()

    try:
        t0 = time.perf_counter()
        ex = Executor(services).run(pq, Und(), Budget(30.0))  # type: ignore[arg-type]
        took = time.perf_counter() - t0
    finally:
        services.close()
    assert took < 2.0, took
    assert ex.timed_out and ex.error == "the alertmanager backend did not answer within 1 s"


def test_sqlite_check_is_read_only(data_dir: Path) -> None:
    """The integrity check never writes: a healthy store is byte-for-byte the same, and a
    store another process holds open keeps working."""
    from assistant.retrieval.store import check_local_store

    chroma = data_dir / "chroma"
    before = tree_digest(chroma)
    holder = sqlite3.connect(chroma / "chroma.sqlite3")
    try:
        holder.execute("BEGIN")  # a reader in another connection
        check_local_store(chroma)
    finally:
        holder.close()
    assert tree_digest(chroma) == before


def test_permission_check_as_a_non_root_user_would_see_it(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any directory, so the real-permission case above skips here; this runs
    the same check with `os.access` answering as it does for another user on a mode-0
    directory (the only stand-in in this file)."""
    from assistant.retrieval import store

    chroma = data_dir / "chroma"
    real_access = os.access
    monkeypatch.setattr(store.os, "access",
                        lambda p, mode: False if Path(p) == chroma else real_access(p, mode))
    with pytest.raises(store.RetrievalError, match=r"permission denied") as err:
        store.check_local_store(chroma)
    assert str(chroma) in str(err.value) and "\n" not in str(err.value)


def test_a_failure_in_an_answer_names_no_server_path() -> None:
    """The sentence an answer gives for a failed backend (and the query's run record), which
    reach web pages and Slack channels, carry the store's file name, not where it lives."""
    from assistant.answer import error_sentence

    msg = ("chroma: the Chroma store at /srv/opsa/data/chroma/chroma.sqlite3 is damaged "
           "(database disk image is malformed) (PID 4242)")
    text = error_sentence(msg, "en")
    assert "/srv/opsa" not in text and "chroma.sqlite3" in text and "4242" not in text
