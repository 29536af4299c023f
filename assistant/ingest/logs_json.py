"""JSON-lines logs -> Arrow tables of log entries, block by block.

Which field holds the timestamp, message, level, service and host is resolved per file
from a sample (common names: ``ts``/``timestamp``/``@timestamp``, ``msg``/``message``, ...;
dotted names reach into nested objects) unless given in `IngestOptions.json_fields`. The
remaining fields become the entry's attrs. Parsing runs in DuckDB's JSON functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assistant.errors import IngestError
from assistant.ingest.levels import map_distinct, normalise_level
from assistant.ingest.logs_text import (
    LEVEL_WORD,
    MAX_EXAMPLES,
    Malformed,
    attrs_json_sql,
    own_level_word,
    snippet,
    sql_str,
)
from assistant.ingest.templates import mask
from assistant.ingest.timestamps import ISO8601, TsFormat, detect, epoch_number_sql, offset_mode

FIELD_CANDIDATES: dict[str, tuple[str, ...]] = {
    "ts": (
        "ts", "timestamp", "@timestamp", "time", "datetime", "date", "t", "eventTime",
        "event_time", "asctime", "created", "logged_at", "_time", "Timestamp",
    ),
    "message": (
        "message", "msg", "log", "text", "event", "@message", "body", "short_message",
        "textPayload", "Message", "MESSAGE",
    ),
    "level": (
        "level", "severity", "lvl", "loglevel", "log_level", "levelname", "log.level",
        "@level", "severity_text", "SeverityText", "Level", "PRIORITY",
    ),
    "service": (
        "service", "service.name", "app", "application", "component", "job", "program",
        "SYSLOG_IDENTIFIER", "logger_name",
    ),
    "host": ("host", "hostname", "host.name", "host.hostname", "node", "instance", "_HOSTNAME"),
}  # fmt: skip
ROLES = tuple(FIELD_CANDIDATES)


@dataclass(frozen=True)
class JsonMapping:
    """Where each role lives in this file's objects: a JSON path, or None."""

    paths: dict[str, str | None]
    keys: dict[str, tuple[str, ...] | None]
    ts_format: TsFormat | None
    offsets: str
    extra_keys: bool
    """Whether the objects have fields beyond the mapped ones (else attrs stay empty)."""


def parse_objects(lines: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for ln in lines:
        s = ln.strip()
        if not s.startswith("{"):
            continue
        try:
            obj = json.loads(s)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _lookup(obj: Mapping[str, Any], name: str) -> tuple[bool, Any, tuple[str, ...]]:
    """Find `name` in `obj`: a literal key first, then a dotted path into nested objects."""
    if name in obj:
        return True, obj[name], (name,)
    cur: Any = obj
    parts = tuple(name.split("."))
    for part in parts:
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None, ()
        cur = cur[part]
    return True, cur, parts


def resolve_mapping(
    objects: Sequence[Mapping[str, Any]], overrides: Mapping[str, str] | None = None
) -> JsonMapping:
    """The field of each role, from `overrides` or the most common candidate in `objects`."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(ROLES)
    if unknown:
        raise IngestError(
            f"unknown JSON field role(s) {', '.join(sorted(unknown))}; "
            f"use {', '.join(ROLES)} (e.g. --field ts=time)"
        )
    paths: dict[str, str | None] = {}
    keys: dict[str, tuple[str, ...] | None] = {}
    for role in ROLES:
        names = (overrides[role],) if role in overrides else FIELD_CANDIDATES[role]
        best: tuple[int, str, tuple[str, ...]] | None = None
        for name in names:
            hits = [_lookup(o, name) for o in objects]
            found = [h for h in hits if h[0] and isinstance(h[1], str | int | float)]
            if found and (best is None or len(found) > best[0]):
                best = (len(found), name, found[0][2])
        if best is None:
            paths[role], keys[role] = None, None
        else:
            parts = best[2]
            paths[role] = "$." + ".".join(json.dumps(p) for p in parts)
            keys[role] = parts
    ts_values: list[str] = []
    if keys["ts"]:
        for o in objects:
            ok, value, _ = _lookup(o, ".".join(keys["ts"]))
            if ok and isinstance(value, str):
                ts_values.append(value)
    fmt = detect(ts_values) if ts_values else None
    mapped_top = {k[0] for k in keys.values() if k}
    extra = any(set(o) - mapped_top for o in objects)
    offsets = offset_mode(ts_values) if fmt is ISO8601 else "mixed"
    return JsonMapping(paths, keys, fmt, offsets, extra)


def _json_level(word: str | None) -> str | None:
    """Level from a JSON field: names, syslog numbers, or pino/bunyan numbers (10..60)."""
    if word is None:
        return None
    text = word.strip()
    try:
        num = float(text)
    except ValueError:
        return normalise_level(text)
    if num >= 10:  # pino / bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
        return ("trace", "debug", "info", "warn", "error", "fatal")[min(int(num) // 10, 6) - 1]
    return normalise_level(int(num)) if num.is_integer() else None


class JsonLogParser:
    """Parse JSON lines in blocks (DuckDB JSON functions)."""

    def __init__(
        self,
        mapping: JsonMapping,
        *,
        source: str,
        tz: str = "UTC",
        service: str | None = None,
        host: str | None = None,
        year: int | None = None,
    ) -> None:
        self.mapping = mapping
        self.source = source
        self.tz = tz
        self.service = service
        self.host = host
        self.year = year
        self.malformed = Malformed()
        self.entries = 0
        self.lines = 0
        self._next_line_no = 1
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone = 'UTC'")
        self._sql = self._build_sql()
        ZoneInfo(tz)  # validated by the caller; fail early otherwise

    def close(self) -> None:
        self._con.close()

    def feed(self, lines: pa.Array) -> pa.Table | None:
        start = self._next_line_no
        n = len(lines)
        self._next_line_no += n
        self.lines += n
        table = pa.table({"line_no": pa.array(np.arange(start, start + n)), "line": lines})
        self._con.register("_blk", table)
        try:
            out = self._con.sql(self._sql).to_arrow_table()
        finally:
            self._con.unregister("_blk")
        problem = out["problem"]
        bad = pc.is_valid(problem)
        if pc.any(bad).as_py():
            rows = out.filter(bad).select(["line_no", "problem", "line"]).to_pylist()
            rows.sort(key=lambda r: r["line_no"])
            for r in rows[:MAX_EXAMPLES]:
                self.malformed.add(r["line_no"], f"{r['problem']}: {snippet(r['line'])!r}", 0)
            self.malformed.count += len(rows)
            out = out.filter(pc.invert(bad))
        if out.num_rows == 0:
            return None
        out = out.append_column("level", map_distinct(out["level_word"], _json_level))
        out = out.set_column(out.column_names.index("attrs"), "attrs", self._with_level_word(out))
        self.entries += out.num_rows
        out = out.select(["ts", "service", "host", "level", "message", "attrs", "source", "h0"])
        return out.append_column("shape", mask(out["message"]))

    def finish(self) -> pa.Table | None:
        return None

    def _with_level_word(self, out: pa.Table) -> pa.ChunkedArray:
        """attrs with the entry's own level word (`LEVEL_WORD`) where it is more than a
        spelling of the normalised level (``30`` of pino, ``W``; not ``info``)."""
        own = own_level_word(pc.cast(out["level_word"], pa.string()), out["level"])
        if own.null_count == len(own):
            return out["attrs"]
        self._con.register("_lw", pa.table({"attrs": out["attrs"], "own": own}))
        try:
            return self._con.sql(
                f"SELECT CASE WHEN own IS NULL THEN attrs ELSE CAST(json_merge_patch("
                f"coalesce(attrs, '{{}}'), json_object('{LEVEL_WORD}', own)) AS VARCHAR) END "
                "AS attrs FROM _lw").to_arrow_table()["attrs"]
        finally:
            self._con.unregister("_lw")

    def _build_sql(self) -> str:
        m = self.mapping
        paths = [m.paths[r] or "$.__opsa_absent__" for r in ROLES]
        fields = ", ".join(sql_str(p) for p in paths)
        idx = {r: i + 1 for i, r in enumerate(ROLES)}
        ts_text = f"f[{idx['ts']}]"
        year = str(self.year) if self.year else "year(current_date)"
        parsed = epoch_number_sql(f"try_cast({ts_text} AS DOUBLE)")
        if m.ts_format is not None:
            parsed = f"coalesce({m.ts_format.sql(ts_text, self.tz, year, m.offsets)}, {parsed})"
        service = f"coalesce(f[{idx['service']}], {sql_str(self.service)})"
        host = f"coalesce(f[{idx['host']}], {sql_str(self.host)})"
        if m.extra_keys:
            patch: dict[str, Any] = {}
            for parts in (k for k in m.keys.values() if k):
                node = patch
                for p in parts[:-1]:
                    node = node.setdefault(p, {})
                node[parts[-1]] = None
            attrs = f"nullif(json_merge_patch(line, {sql_str(json.dumps(patch))}), '{{}}')"
        else:
            attrs = attrs_json_sql([])
        tried = {r: (m.paths[r] or "none of " + "/".join(FIELD_CANDIDATES[r])) for r in ROLES}
        return f"""
            WITH f AS (
                SELECT line_no, line,
                       CASE WHEN starts_with(line, '{{') OR starts_with(ltrim(line), '{{')
                            THEN try(json_extract_string(line, [{fields}])) END AS f
                FROM _blk WHERE line <> ''
            ), p AS (
                SELECT line_no, line, f, {parsed} AS ts FROM f
            )
            SELECT line_no, line,
                   CASE WHEN f IS NULL THEN 'not a JSON object'
                        WHEN f[{idx["ts"]}] IS NULL
                            THEN {sql_str("no timestamp field (" + tried["ts"] + ")")}
                        WHEN ts IS NULL THEN 'unparseable timestamp ' || f[{idx["ts"]}]
                        WHEN f[{idx["message"]}] IS NULL
                            THEN {sql_str("no message field (" + tried["message"] + ")")}
                   END AS problem,
                   ts, {service} AS service, {host} AS host, f[{idx["level"]}] AS level_word,
                   f[{idx["message"]}] AS message,
                   CASE WHEN f IS NOT NULL THEN {attrs} END AS attrs,
                   {sql_str(self.source)} AS source,
                   hash(coalesce({service}, ''), coalesce({host}, ''), ts, line, NULL::VARCHAR)
                       AS h0
            FROM p
        """
