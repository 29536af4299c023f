"""`StoreGate`: many readers (questions) or one writer (event ingestion) at a time.

The embedded connector holds a read-only DuckDB connection, and DuckDB refuses a writable
connection to the same file while it is open in this process. A writer therefore waits
for the questions in flight, closes the read-only connections (they reopen on the next
query) and writes; questions that arrive meanwhile wait for it (writes take milliseconds).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StoreGate:
    """A readers-writer lock that lets a waiting writer in before new readers.

    `on_first_reader` runs when a question arrives at an idle server (to notice writes by
    other processes) and `on_idle` when the last one leaves (to close the store, so that
    an `opsa ingest` in another process can write between questions).
    """

    def __init__(self, on_first_reader: Callable[[], object] | None = None,
                 on_idle: Callable[[], object] | None = None) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._on_first_reader = on_first_reader
        self._on_idle = on_idle

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
            if self._readers == 1 and self._on_first_reader is not None:
                self._on_first_reader()
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    if self._on_idle is not None:
                        self._on_idle()
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
