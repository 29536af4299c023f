"""`opsa serve`'s periodic refresh of the `events` collection from the events backend.

Pushed alerts arrive through the Alertmanager webhook; this pulls too, so events that
changed in a backend that cannot push (an Alertmanager without a webhook receiver for us,
an incident tool, ClickHouse) still reach retrieval. One daemon thread runs
`Services.refresh_events` every `events_refresh_s` seconds; a failure is logged and kept
for `/healthz`, and the next round tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from assistant.errors import OpsaError
from assistant.services import Services

log = logging.getLogger("opsa.web.refresh")


@dataclass
class RefreshState:
    """The outcome of the latest round, for `/healthz`."""

    rounds: int = 0
    indexed: int = 0
    error: str | None = None
    at: float | None = None


class EventsRefresher:
    """Re-indexes the events of the retention window every `interval_s` seconds."""

    def __init__(self, services: Services, interval_s: float,
                 guard: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        self.services = services
        self.interval_s = interval_s
        self.guard = guard  # the store gate: the refresh reads the store like a question
        self.state = RefreshState()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="opsa-events-refresh",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def run_once(self) -> None:
        try:
            with self.guard():
                report, truncated = self.services.refresh_events()
        except OpsaError as exc:
            self.state.error = str(exc)
            log.warning("events refresh failed: %s", exc)
        except Exception as exc:  # anything else (e.g. a Chroma error) must not end the loop
            self.state.error = f"{type(exc).__name__}: {exc}"
            log.exception("events refresh failed")
        else:
            self.state.error = None
            self.state.indexed = report.added + report.updated + report.unchanged
            if truncated:
                log.warning("events refresh: the backend had more events than one query "
                            "returns; the newest were indexed")
        self.state.rounds += 1
        self.state.at = time.time()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)
