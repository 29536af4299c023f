"""A local Slack Web API: the methods the bot calls, recording every call.

Implements auth.test, chat.postMessage, chat.update, files.getUploadURLExternal, the upload
URL it hands out, files.completeUploadExternal, conversations.replies and (for Socket
Mode, with `FakeSocketMode`) apps.connections.open, with Slack's
response shapes (`{"ok": true, ...}`, errors as `{"ok": false, "error": ...}` with HTTP
200) and bearer-token checks. Point a `slack_sdk.WebClient(base_url=fake.api_url)` at it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlparse

BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM = "T0000001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    history: list[str] = field(default_factory=list)  # earlier texts (before updates)


class FakeSlack:
    """`with FakeSlack(token) as slack: ...; slack.calls`, `slack.messages`, `slack.uploads`."""

    def __init__(self, token: str, app_token: str | None = None,
                 socket_url: str | None = None) -> None:
        self.token = token
        self.app_token = app_token
        self.socket_url = socket_url
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> filename, length, data
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = self.url + "/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- queries for tests -------------------------------------------------------------
    def named(self, method: str, since: int = 0) -> list[Call]:
        with self._lock:
            return [c for c in self.calls[since:] if c.method == method]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
            time.sleep(0.05)

    def settle(self, quiet: float = 0.7, timeout: float = 60.0) -> None:
        """Wait until no call has arrived for `quiet` seconds (earlier work has finished)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else float("-inf")
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.05)
        raise AssertionError("the bot kept calling the Web API")

    # -- the protocol ----------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        if parsed.path.startswith("/upload/"):
            self._upload(req, parsed.path.rsplit("/", 1)[1], raw)
            return
        if not parsed.path.startswith("/api/"):
            self._reply(req, 404, {"ok": False, "error": "not_found"})
            return
        method = parsed.path[len("/api/"):]
        params: dict[str, Any] = dict(parse_qsl(parsed.query))
        ctype = req.headers.get("Content-Type", "")
        if raw and ctype.startswith("application/json"):
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw.decode()))
        auth = req.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        with self._lock:
            self.calls.append(Call(method, params, token))
        if method == "apps.connections.open":  # the one method called with the app token
            ok = self.app_token is not None and token == self.app_token and self.socket_url
            self._reply(req, 200, {"ok": True, "url": self.socket_url} if ok
                        else {"ok": False, "error": "invalid_auth"})
            return
        if token != self.token:
            self._reply(req, 200, {"ok": False, "error": "invalid_auth"})
            return
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            self._reply(req, 200, {"ok": False, "error": "unknown_method"})
            return
        self._reply(req, 200, handler(params))

    def _reply(self, req: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def _upload(self, req: BaseHTTPRequestHandler, file_id: str, data: bytes) -> None:
        with self._lock:
            self.calls.append(Call("upload", {"file_id": file_id, "bytes": len(data)}, None))
            entry = self.uploads.get(file_id)
            if entry is None:
                status, text = 404, "unknown upload url"
            else:
                entry["data"] = data
                status, text = 200, f"OK - {len(data)}"
        body = text.encode()
        req.send_response(status)
        req.send_header("Content-Type", "text/plain")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def _next_ts(self) -> str:
        return f"1795000000.{next(self._ts):06d}"

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "user": "opsa",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install":
                False}

    @staticmethod
    def _blocks(p: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = p.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("channel") or not (p.get("text") or p.get("blocks")):
            return {"ok": False, "error": "no_text" if p.get("channel") else "channel_not_found"}
        ts = self._next_ts()
        msg = Message(channel=p["channel"], ts=ts, text=p.get("text", ""),
                      thread_ts=p.get("thread_ts"), blocks=self._blocks(p))
        with self._lock:
            self.messages[(msg.channel, ts)] = msg
        return {"ok": True, "channel": msg.channel, "ts": ts,
                "message": {"text": msg.text, "ts": ts, "user": BOT_USER}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            msg = self.messages.get((p.get("channel", ""), p.get("ts", "")))
            if msg is None:
                return {"ok": False, "error": "message_not_found"}
            msg.history.append(msg.text)
            msg.text = p.get("text", "")
            msg.blocks = self._blocks(p)
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "text": msg.text}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self.uploads[file_id] = {"filename": p["filename"], "length": int(p["length"]),
                                     "alt_txt": p.get("alt_txt"), "data": None}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        out = []
        with self._lock:
            for f in files or []:
                entry = self.uploads.get(f.get("id"))
                if entry is None or entry["data"] is None:
                    return {"ok": False, "error": "file_not_uploaded"}
                entry.update(title=f.get("title"), channel=p.get("channel_id"),
                             thread_ts=p.get("thread_ts"), completed=True)
                out.append({"id": f["id"], "title": f.get("title"), "name": entry["filename"]})
        if not out:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "files": out}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            msgs = [m for m in self.messages.values() if m.channel == p.get("channel")
                    and (m.thread_ts == p.get("ts") or m.ts == p.get("ts"))]
        return {"ok": True, "messages": [{"ts": m.ts, "text": m.text} for m in msgs]}


class FakeSocketMode:
    """Slack's Socket Mode side: a websocket that says hello, delivers envelopes, records acks.

    Needs the `websockets` package. `deliver(type, payload)` sends one envelope to the
    connected app and returns its id; the app's acks land in `acks`.
    """

    def __init__(self) -> None:
        from websockets.sync.server import ServerConnection, serve

        self.acks: list[dict[str, Any]] = []
        self._conns: list[ServerConnection] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

        def handler(conn: ServerConnection) -> None:
            with self._lock:
                self._conns.append(conn)
            conn.send(json.dumps({"type": "hello", "num_connections": 1,
                                  "connection_info": {"app_id": "A0000001"},
                                  "debug_info": {"host": "fake", "approximate_connection_time":
                                                 3600}}))
            for message in conn:
                with self._lock:
                    self.acks.append(json.loads(message))

        self.server = serve(handler, "127.0.0.1", 0)
        port = self.server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=fake"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.shutdown()

    @property
    def connected(self) -> bool:
        with self._lock:
            return bool(self._conns)

    def deliver(self, envelope_type: str, payload: dict[str, Any]) -> str:
        envelope_id = f"env-{next(self._ids)}"
        with self._lock:
            conn = self._conns[-1]
        conn.send(json.dumps({"envelope_id": envelope_id, "type": envelope_type,
                              "payload": payload, "accepts_response_payload":
                              envelope_type != "events_api", "retry_attempt": 0,
                              "retry_reason": ""}))
        return envelope_id

    def ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        with self._lock:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)
