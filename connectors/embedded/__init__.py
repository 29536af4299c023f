"""The embedded (default) backend: one DuckDB file with metrics, logs and events.

`EmbeddedConnector` is imported lazily by the registry; `schema` defines the tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.embedded.connector import EmbeddedConnector

__all__ = ["EmbeddedConnector"]


def __getattr__(name: str) -> Any:
    if name == "EmbeddedConnector":
        from connectors.embedded.connector import EmbeddedConnector

        return EmbeddedConnector
    raise AttributeError(name)
