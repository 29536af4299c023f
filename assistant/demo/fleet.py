"""The demo fleet: services, hosts, their sizes, and the sampling timeline.

These names are the project's shared vocabulary (see the briefing): every test, eval case,
runbook and prompt uses exactly these services, hosts and metric names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

GIB = 1024**3

SERVICES: dict[str, tuple[str, ...]] = {
    "gateway": ("gw-01", "gw-02"),
    "checkout": ("web-01", "web-02", "web-03"),
    "payments": ("pay-01", "pay-02"),
    "auth": ("auth-01", "auth-02"),
    "search": ("search-01", "search-02"),
    "postgres": ("db-01",),
}
"""service -> its hosts (12 hosts, 6 services)."""

HTTP_SERVICES: tuple[str, ...] = ("gateway", "checkout", "payments", "auth", "search")
"""Services exposing http_requests_total and the latency histogram (not postgres)."""

POOL_SERVICES: tuple[str, ...] = ("checkout", "payments")
"""Services with a DB connection pool (db_pool_connections_*)."""

HTTP_CODES: tuple[str, ...] = ("200", "404", "500", "503")

LE_BOUNDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"),
)
LE_LABELS: tuple[str, ...] = (
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
)

MOUNTPOINTS: tuple[str, ...] = ("/", "/var/lib/data")
CPU_MODES: tuple[str, ...] = ("user", "system", "iowait", "idle")

TLS_DOMAINS: tuple[str, ...] = ("api.shop.example", "www.shop.example")

STEP_S = 15
HISTORY_S = 24 * 3600


@dataclass(frozen=True)
class Host:
    """One machine of the fleet and the service it runs."""

    name: str
    service: str
    ip: str
    cores: int
    mem_bytes: int
    root_bytes: int
    data_bytes: int


_SIZES: dict[str, tuple[int, int, int]] = {
    # service: (cores, memory GiB, /var/lib/data GiB)
    "gateway": (4, 8, 100),
    "checkout": (8, 16, 100),
    "payments": (8, 16, 100),
    "auth": (4, 8, 100),
    "search": (8, 32, 200),
    "postgres": (16, 64, 500),
}

_SUBNET: dict[str, int] = {
    "gateway": 10, "checkout": 11, "payments": 12, "auth": 13, "search": 14, "postgres": 15,
}


def hosts() -> list[Host]:
    """All hosts, in service order then host order."""
    out: list[Host] = []
    for service, names in SERVICES.items():
        cores, mem, data = _SIZES[service]
        for i, name in enumerate(names, start=1):
            out.append(
                Host(
                    name=name,
                    service=service,
                    ip=f"10.0.{_SUBNET[service]}.{10 + i}",
                    cores=cores,
                    mem_bytes=mem * GIB,
                    root_bytes=50 * GIB,
                    data_bytes=data * GIB,
                )
            )
    return out


def host_names() -> list[str]:
    return [h.name for h in hosts()]


@dataclass(frozen=True)
class Timeline:
    """The scrape grid: `n` samples every `step_s` seconds, the last one at `end`."""

    end: datetime
    step_s: int = STEP_S
    history_s: int = HISTORY_S

    @property
    def n(self) -> int:
        return self.history_s // self.step_s

    @property
    def start(self) -> datetime:
        """The first sample's time (one step after `end - history`)."""
        return self.end - timedelta(seconds=self.history_s - self.step_s)

    @property
    def end_s(self) -> int:
        return int(self.end.timestamp())

    @property
    def ts(self) -> np.ndarray:
        """Sample times as int64 epoch seconds."""
        return self.end_s - self.step_s * np.arange(self.n - 1, -1, -1, dtype=np.int64)

    def at(self, offset_s: float) -> int:
        """Epoch seconds `offset_s` relative to `end` (negative = before)."""
        return int(self.end_s + offset_s)

    def index(self, epoch_s: float) -> int:
        """Index of the first sample at or after `epoch_s` (may be `n`)."""
        first = self.end_s - self.step_s * (self.n - 1)
        return int(np.clip(np.ceil((epoch_s - first) / self.step_s), 0, self.n))

    def hours(self) -> np.ndarray:
        """UTC hour of day (float) at each sample."""
        return (self.ts % 86400) / 3600.0


def demo_end(clock: datetime) -> datetime:
    """The demo's last sample time: `clock` in UTC, rounded down to the minute."""
    c = clock.astimezone(UTC)
    return c.replace(second=0, microsecond=0)


def iso(epoch_s: float) -> str:
    """ISO 8601 UTC with a `Z`, seconds precision."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
