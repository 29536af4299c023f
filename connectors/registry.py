"""Connector name -> class, imported lazily so optional backends cost nothing until used.

Built-in and external connectors register the same way: `register("name", "pkg.mod:Class")`.
A missing optional dependency becomes a `ConfigError` that names the `pip install` line.
"""

from __future__ import annotations

import importlib

from assistant.errors import ConfigError
from connectors.base import Connector

_REGISTRY: dict[str, tuple[str, str | None]] = {
    "embedded": ("connectors.embedded.connector:EmbeddedConnector", None),
    "prometheus": ("connectors.prometheus:PrometheusConnector", None),
    "alertmanager": ("connectors.alertmanager:AlertmanagerConnector", None),
    "clickhouse": ("connectors.clickhouse:ClickHouseConnector", "clickhouse"),
}


def register(name: str, target: str, extra: str | None = None) -> None:
    """Make `name` resolve to `target` ("package.module:Class")."""
    if ":" not in target:
        raise ConfigError(f"connector target {target!r} must look like 'package.module:Class'")
    _REGISTRY[name] = (target, extra)


def names() -> list[str]:
    return sorted(_REGISTRY)


def connector_class(name: str) -> type[Connector]:
    """The class registered as `name`, imported now."""
    try:
        target, extra = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown connector {name!r}; available: {', '.join(names())}"
        ) from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f"pip install 'ops-assistant[{extra}]'" if extra else f"pip install {exc.name}"
        raise ConfigError(
            f"connector {name!r} needs a package that is not installed ({exc.name}); "
            f"run: {hint}"
        ) from exc
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"{target} is not a Connector class")
    return cls
