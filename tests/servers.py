"""Real Prometheus, VictoriaMetrics and Alertmanager servers on loopback, for tests.

Each server is Debian's binary (`apt-get install prometheus victoria-metrics
prometheus-alertmanager`) started on a free 127.0.0.1 port with temporary storage and a
100-year retention (the data is in the past), polled until ready, and stopped at the end
of the session whatever the outcome. A missing binary skips the test, or fails it when
`OPSA_REQUIRE_SERVERS=1` (set by CI, so a broken install cannot pass silently).

Data goes in before queries: Prometheus is backfilled with `promtool tsdb
create-blocks-from openmetrics` *before* it starts (blocks added later take ~60 s to
appear); VictoriaMetrics gets `POST /api/v1/import/prometheus` (millisecond timestamps)
then `GET /internal/force_flush`.

Fixtures (session scope): `server_pool` (start servers per dataset, cached by key) and
`alertmanager_url`.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import math
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

READY_TIMEOUT_S = 30.0

# One dataset for the servers: (metric, type, labels, [(unix seconds, value), ...]).
SeriesData = tuple[str, str, dict[str, str], list[tuple[float, float]]]

_APT = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "victoria-metrics": "victoria-metrics",
    "prometheus-alertmanager": "prometheus-alertmanager",
}


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_binary(name: str) -> str:
    """The binary's path; skip (or fail under OPSA_REQUIRE_SERVERS=1) when it is missing."""
    path = shutil.which(name)
    if path:
        return path
    msg = f"{name} is not installed; run: apt-get install -y {_APT.get(name, name)}"
    if os.environ.get("OPSA_REQUIRE_SERVERS") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def require_module(name: str, install: str) -> None:
    """Skip (or fail under OPSA_REQUIRE_SERVERS=1) when Python module `name` is missing."""
    if importlib.util.find_spec(name) is not None:
        return
    msg = f"{name} is not installed; run: pip install {install}"
    if os.environ.get("OPSA_REQUIRE_SERVERS") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


@dataclass
class Server:
    """A started server process; `stop()` is idempotent."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


_LIVE: list[Server] = []


def _stop_all() -> None:
    while _LIVE:
        _LIVE.pop().stop()


atexit.register(_stop_all)  # belt and braces: also stop on an interrupted session


def _launch(name: str, argv: Sequence[str], workdir: Path, url: str, ready_path: str) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv), cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(name=name, url=url, proc=proc, log_path=log_path)
    _LIVE.append(server)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{name} exited with code {proc.returncode} before it was ready:\n"
                f"{server.log_tail()}"
            )
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + ready_path, timeout=1.0).status_code == 200:
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} was not ready within {READY_TIMEOUT_S}s:\n{server.log_tail()}")


# -- data formats --------------------------------------------------------------------------


def _fmt_labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    body = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in sorted(labels.items())
    )
    return "{" + body + "}"


def _fmt_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _family(metric: str, mtype: str) -> str:
    if mtype == "counter" and metric.endswith("_total"):
        return metric[: -len("_total")]
    if mtype == "histogram":
        for suffix in ("_bucket", "_sum", "_count"):
            if metric.endswith(suffix):
                return metric[: -len(suffix)]
    return metric


def openmetrics_text(data: Sequence[SeriesData]) -> str:
    """OpenMetrics for promtool: families contiguous, seconds timestamps, final `# EOF`."""
    families: dict[str, list[SeriesData]] = {}
    types: dict[str, str] = {}
    for s in data:
        fam = _family(s[0], s[1])
        families.setdefault(fam, []).append(s)
        types[fam] = s[1]
    lines: list[str] = []
    for fam, members in families.items():
        lines.append(f"# TYPE {fam} {types[fam]}")
        for metric, _t, labels, points in members:
            lab = _fmt_labels(labels)
            lines.extend(f"{metric}{lab} {_fmt_value(v)} {t:.3f}" for t, v in points)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def prometheus_import_text(data: Sequence[SeriesData]) -> str:
    """Prometheus exposition text with millisecond timestamps, for VictoriaMetrics' import."""
    lines: list[str] = []
    for metric, _t, labels, points in data:
        lab = _fmt_labels(labels)
        lines.extend(f"{metric}{lab} {_fmt_value(v)} {round(t * 1000)}" for t, v in points)
    return "\n".join(lines) + "\n"


# -- servers -------------------------------------------------------------------------------


def start_prometheus(openmetrics_file: Path, workdir: Path) -> Server:
    """Backfill `openmetrics_file` into a fresh TSDB, then serve it."""
    promtool = require_binary("promtool")
    prometheus = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    tsdb = workdir / "tsdb"
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics_file), str(tsdb)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"promtool backfill failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb}",
        "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    return _launch("prometheus", argv, workdir, url, "/-/ready")


def start_victoria(import_text: str, workdir: Path) -> Server:
    """A fresh VictoriaMetrics holding `import_text` (ms timestamps), flushed and queryable."""
    binary = require_binary("victoria-metrics")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"-storageDataPath={workdir / 'vmdata'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",
        "-search.disableCache",
        "-loggerLevel=ERROR",
    ]
    server = _launch("victoria-metrics", argv, workdir, url, "/health")
    resp = httpx.post(url + "/api/v1/import/prometheus", content=import_text.encode(), timeout=120)
    if resp.status_code not in (200, 204):
        raise RuntimeError(f"VictoriaMetrics import failed: HTTP {resp.status_code} {resp.text}")
    httpx.get(url + "/internal/force_flush", timeout=60).raise_for_status()
    return server


def start_alertmanager(workdir: Path) -> Server:
    """An Alertmanager with a null receiver and clustering off (no 0.0.0.0:9094 bind)."""
    binary = require_binary("prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return _launch("alertmanager", argv, workdir, url, "/-/ready")


@dataclass
class ServerPool:
    """Servers per dataset key, started on first request and stopped at session end."""

    root: Path
    servers: dict[tuple[str, str], Server] = field(default_factory=dict)

    def prometheus(self, key: str, data: Callable[[], Sequence[SeriesData]] | Path) -> str:
        """URL of a Prometheus holding dataset `key` (a Path to OpenMetrics, or series)."""
        if ("prometheus", key) not in self.servers:
            workdir = self.root / f"prometheus-{key}"
            workdir.mkdir(parents=True, exist_ok=True)
            if isinstance(data, Path):
                path = data
            else:
                path = workdir / "data.om"
                path.write_text(openmetrics_text(data()))
            self.servers["prometheus", key] = start_prometheus(path, workdir)
        return self.servers["prometheus", key].url

    def victoria(self, key: str, data: Callable[[], Sequence[SeriesData]] | Path) -> str:
        """URL of a VictoriaMetrics holding dataset `key` (a Path to import text, or series)."""
        if ("victoria", key) not in self.servers:
            text = data.read_text() if isinstance(data, Path) else prometheus_import_text(data())
            self.servers["victoria", key] = start_victoria(text, self.root / f"victoria-{key}")
        return self.servers["victoria", key].url

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(root=tmp_path_factory.mktemp("servers"))
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="session")
def alertmanager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_alertmanager(tmp_path_factory.mktemp("alertmanager"))
    try:
        yield server.url
    finally:
        server.stop()
