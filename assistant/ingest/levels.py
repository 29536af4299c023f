"""Log levels normalised to trace, debug, info, warn, error, fatal (see `LEVEL_NUM`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.embedded.schema import LEVEL_NUM

LEVELS: tuple[str, ...] = tuple(LEVEL_NUM)

LEVEL_ALIASES: dict[str, str] = {
    # trace
    "TRACE": "trace", "TRC": "trace", "T": "trace", "V": "trace", "VERBOSE": "trace",
    "FINEST": "trace", "FINER": "trace",
    # debug
    "DEBUG": "debug", "DBG": "debug", "D": "debug", "FINE": "debug", "CONFIG": "debug",
    # info
    "INFO": "info", "INF": "info", "I": "info", "INFORMATION": "info",
    "INFORMATIONAL": "info", "NOTICE": "info", "N": "info",
    # warn
    "WARN": "warn", "WARNING": "warn", "WRN": "warn", "W": "warn",
    # error
    "ERROR": "error", "ERR": "error", "E": "error", "SEVERE": "error", "FAIL": "error",
    "FAILURE": "error",
    # fatal
    "FATAL": "fatal", "F": "fatal", "CRIT": "fatal", "CRITICAL": "fatal", "C": "fatal",
    "ALERT": "fatal", "A": "fatal", "EMERG": "fatal", "EMERGENCY": "fatal", "PANIC": "fatal",
}  # fmt: skip
"""Upper-cased level words seen in the wild -> the normalised level."""

SYSLOG_SEVERITY: tuple[str, ...] = (
    "fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug",
)  # fmt: skip
"""Syslog severity 0..7 (emerg, alert, crit, err, warning, notice, info, debug)."""


def normalise_level(value: object) -> str | None:
    """The normalised level for a word ('WARNING', 'err'), a syslog severity or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return SYSLOG_SEVERITY[value] if 0 <= value <= 7 else None
    text = str(value).strip().upper()
    if not text:
        return None
    if text.isdigit():
        return normalise_level(int(text))
    found = LEVEL_ALIASES.get(text)
    if found is None and text[-1].isdigit():  # apache's trace1..trace8, syslog-ng's "err3"
        found = LEVEL_ALIASES.get(text.rstrip("0123456789"))
    return found


def map_distinct(
    values: pa.Array | pa.ChunkedArray,
    fn: Callable[[Any], Any],
    type: pa.DataType | None = None,
) -> pa.ChunkedArray:
    """`fn` applied to each distinct value only (dictionary-encode, map, take), per chunk."""
    type = type or pa.string()
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    out = []
    for chunk in chunks:
        enc = pc.dictionary_encode(chunk)
        mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], type)
        out.append(pc.take(mapped, enc.indices))
    return pa.chunked_array(out, type)


def normalise_level_array(
    values: pa.Array | pa.ChunkedArray,
) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Normalised levels (string) and their numbers (int8) for an array of level words.

    Works on the distinct values only (a log has a handful).
    """
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    levels = map_distinct(values, normalise_level)
    nums = map_distinct(levels, lambda v: LEVEL_NUM[v] if v else None, pa.int8())
    return levels, nums
