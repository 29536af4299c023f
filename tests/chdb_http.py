"""ClickHouse's HTTP interface over chDB, so the real `clickhouse-connect` client can be tested.

No modern `clickhouse-server` installs on this machine. This small server stands in for the
HTTP layer only: it takes the query the way the server does (URL `query` parameter plus the
POST body), runs it on a chDB session (ClickHouse 26.9) in the format the query names
(clickhouse-connect appends ``FORMAT Native``; ClickHouse's default is TabSeparated), and
answers with the engine's own bytes. Errors come back as ClickHouse sends them: the
engine's ``Code: N. DB::Exception: ...`` text, a 500 (516 for refused credentials) and the
``X-ClickHouse-Exception-Code`` header. Basic auth is checked against one user.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_CODE = re.compile(r"Code: (\d+)\.")


class ChdbHttpServer:
    """Serves `run(sql, fmt) -> bytes` on a loopback port until `stop()`."""

    def __init__(self, run: Callable[[str, str], bytes], user: str, password: str) -> None:
        self.run = run
        self.credentials = f"{user}:{password}"
        self.queries: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                params = parse_qs(urlsplit(self.path).query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                sql = params.get("query", [""])[0] + body
                if not server._authorised(self.headers.get("Authorization", "")):
                    self._reply(516, b"Code: 516. DB::Exception: Authentication failed: "
                                b"password is incorrect, or there is no user with such name. "
                                b"(AUTHENTICATION_FAILED)", code="516")
                    return
                server.queries.append(sql)
                try:
                    data = server.run(sql, "TabSeparated")
                except Exception as exc:  # the engine's error, passed on as the server does
                    text = str(exc)
                    m = _CODE.search(text)
                    self._reply(500, text.encode(), code=m.group(1) if m else "1")
                    return
                self._reply(200, data)

            def _reply(self, status: int, data: bytes, code: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("X-ClickHouse-Timezone", "UTC")
                if code is not None:
                    self.send_header("X-ClickHouse-Exception-Code", code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        return base64.b64decode(header[6:]).decode() == self.credentials

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
