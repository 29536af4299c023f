"""Small helpers shared by the SQL builders and the SQL connectors.

The native SQL is shown to people, so the builders inline literals instead of binding
parameters; every string literal goes through `Dialect.lit`, every number through `num`."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from assistant.errors import BackendError
from connectors.base import Event


def num(x: float) -> str:
    """A finite number as SQL text."""
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x}")
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def one_line(text: str) -> str:
    """`text` safe inside a ``--`` comment: line breaks become spaces."""
    return " ".join(text.splitlines())


def to_utc(dt: datetime) -> datetime:
    """A naive-UTC value from the store as an aware UTC datetime."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def event_from_row(r: Sequence[Any]) -> Event:
    """An event from a row in the column order every SQL engine's event query selects:
    id, ts, end_ts, kind, service, host, title, status, severity, attrs."""
    return Event(
        id=r[0], ts=to_utc(r[1]), end=to_utc(r[2]) if r[2] is not None else None,
        kind=r[3], service=r[4], host=r[5], title=r[6], status=r[7], severity=r[8],
        attrs=event_attrs(r[0], r[9]),
    )


def event_attrs(event_id: str, raw: Any) -> dict[str, Any]:
    """An event's attributes from a JSON string, a map, or nothing."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except (json.JSONDecodeError, TypeError) as exc:
        raise BackendError(f"event {event_id!r} has malformed attrs JSON: {exc}") from exc
    return value if isinstance(value, dict) else {"value": value}
