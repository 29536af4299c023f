"""Safe SQL literals shared by the builders (the native SQL is shown to people, so the
builders inline literals instead of binding parameters; every literal goes through here)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from assistant.errors import BackendError, IRError
from connectors.base import Event


def lit(value: str) -> str:
    """A SQL string literal: single quotes doubled (DuckDB strings take no backslash escapes)."""
    if "\x00" in value:
        raise IRError(f"a NUL character cannot appear in a query value: {value!r}")
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def ts_lit(dt: datetime) -> str:
    """A `TIMESTAMP` literal in naive UTC, as the store keeps time."""
    naive = dt.astimezone(UTC).replace(tzinfo=None)
    return f"TIMESTAMP '{naive.isoformat(sep=' ')}'"


def num(x: float) -> str:
    """A finite number as SQL text."""
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x}")
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def label(name: str, labels: str = "labels") -> str:
    """The value of label `name` in a `MAP(VARCHAR, VARCHAR)` column (NULL when absent)."""
    return f"map_extract({labels}, {lit(name)})[1]"


def one_line(text: str) -> str:
    """`text` safe inside a ``--`` comment: line breaks become spaces."""
    return " ".join(text.splitlines())


def like_escape(text: str) -> str:
    """`text` as a LIKE pattern matching itself literally (escape char: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
