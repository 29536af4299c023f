"""Plain-text logs of arbitrary origin -> Arrow tables of log entries, block by block.

The layout (see `layouts`) is detected per file. Each block of lines is processed with
vectorised Arrow kernels (head match, field extraction, level words) and one DuckDB query
(timestamps, joining continuation lines, attrs JSON, identity hash). Lines that do not
match a multi-line layout join the previous entry (stack traces); the last entry of a
block waits for the next block, since its continuation may be there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assistant.ingest.layouts import LEVEL_SEARCH_CHARS, LEVEL_SEARCH_RE, Layout
from assistant.ingest.levels import SYSLOG_SEVERITY, map_distinct, normalise_level
from assistant.ingest.templates import mask, parallel
from assistant.ingest.timestamps import MONTHS, TsFormat

MAX_EXAMPLES = 5


@dataclass
class Malformed:
    """Counted bad lines and the first few (line number, reason)."""

    count: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line_no: int, reason: str, n: int = 1) -> None:
        self.count += n
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append((line_no, reason))


def sql_str(s: str | None) -> str:
    """A SQL string literal (or NULL)."""
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def snippet(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


LEVEL_WORD = "level_word"
"""The attrs key holding a line's own level word (``SEVERE``, ``W``, ``KERNEL INFO``) where
it is not just a spelling of the normalised `level` (``INFO``, ``info`` are not kept)."""


def own_level_word(word: pa.Array | pa.ChunkedArray,
              level: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """`word` where its lower case differs from the normalised `level`, else NULL."""
    same = pc.equal(pc.utf8_lower(pc.utf8_trim_whitespace(word)), level)
    kept = pc.if_else(pc.fill_null(same, False), pa.scalar(None, pa.string()), word)
    return kept if isinstance(kept, pa.ChunkedArray) else pa.chunked_array([kept])


def attrs_json_sql(pairs: list[tuple[str, str]]) -> str:
    """SQL building a JSON object of the non-null (key, expr) pairs; NULL when all are null.

    String concatenation: several times cheaper than json_object + stripping nulls.
    """
    if not pairs:
        return "NULL"
    if len(pairs) == 1:
        key, expr = pairs[0]
        return f"CASE WHEN {expr} IS NOT NULL THEN json_object('{key}', {expr}) END"
    parts = ", ".join(
        f"CASE WHEN {expr} IS NOT NULL THEN '\"{key}\":' || to_json({expr}) END"
        for key, expr in pairs
    )
    return f"nullif('{{' || concat_ws(',', {parts}) || '}}', '{{}}')"


class TextLogParser:
    """Incremental parser for one file: `feed` blocks of lines, then `finish`."""

    def __init__(
        self,
        layout: Layout,
        *,
        source: str,
        tz: str = "UTC",
        offsets: str = "mixed",
        service: str | None = None,
        force_service: bool = False,
        host: str | None = None,
        year: int | None = None,
        mtime: datetime | None = None,
        max_carry_lines: int = 100_000,
    ) -> None:
        self.layout = layout
        self.source = source
        self.tz = tz
        self.offsets = offsets
        self.service = service
        self.force_service = force_service
        self.host = host
        self.year = year
        self.mtime = mtime
        self.max_carry_lines = max_carry_lines
        self.malformed = Malformed()
        self.year_note: str | None = None
        """How year-less timestamps got their year (for the report)."""
        self.entries = 0
        self.lines = 0
        self.unmatched = 0
        """Non-blank lines the layout did not match (continuations, or malformed)."""
        self._next_line_no = 1
        self._carry: pa.Array | None = None
        self._carry_start = 1
        self._started = False
        # year-less formats: year of the first entry, month of the previous one, rollovers
        self._base_year: int | None = None
        self._prev_month = 0
        self._rolls = 0
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone = 'UTC'")
        self._sql_multi, self._sql_single = self._build_sql()

    def close(self) -> None:
        self._con.close()

    # -- public ------------------------------------------------------------------------
    def feed(self, lines: pa.Array) -> pa.Table | None:
        """Parse a block of lines; returns the entries completed so far (or None)."""
        self.lines += len(lines)
        start = self._next_line_no
        self._next_line_no += len(lines)
        if self._carry is not None and len(self._carry):
            lines = pa.concat_arrays([self._carry, lines.cast(self._carry.type)])
            start = self._carry_start
        self._carry = None
        return self._process(lines, start, final=False)

    def finish(self) -> pa.Table | None:
        """Parse what is left (the last entry)."""
        if self._carry is None or not len(self._carry):
            return None
        lines, self._carry = self._carry, None
        return self._process(lines, self._carry_start, final=True)

    # -- internals ---------------------------------------------------------------------
    def _process(self, lines: pa.Array, start: int, final: bool) -> pa.Table | None:
        layout = self.layout
        first = parallel(lambda a: pc.extract_regex(a, layout.head_regex), lines)
        valid = np.asarray(first.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        n = len(lines)
        if layout.multiline and not final:
            idx = np.flatnonzero(valid)
            cut = int(idx[-1]) if len(idx) else 0
            if n - cut <= self.max_carry_lines:  # the last entry may continue in the next block
                self._carry, self._carry_start = lines.slice(cut), start + cut
                lines, first, valid, n = lines.slice(0, cut), first.slice(0, cut), valid[:cut], cut
                if n == 0:
                    return None
        blank = np.asarray(pc.equal(lines, "").to_numpy(zero_copy_only=False), dtype=bool)
        line_no = np.arange(start, start + n, dtype=np.int64)
        self._count_unmatched(lines, valid, blank, line_no)
        self.unmatched += int((~valid & ~blank).sum())
        if not valid.any():
            return None
        cols: dict[str, pa.Array] = {
            "line_no": pa.array(line_no),
            "grp": pa.array(np.cumsum(valid)),
            "valid": pa.array(valid),
            "line": lines,
        }
        found = dict(zip([f.name for f in first.type], first.flatten(), strict=True))
        head = found.pop("head")
        cols["head_len"] = pc.utf8_length(head)
        for regex in layout.field_regexes:
            more = parallel(functools.partial(_extract, regex=regex), head)
            found.update(zip([f.name for f in more.type], more.flatten(), strict=True))
        for name, arr in found.items():
            cols[name] = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
        word = self._level_words(cols, lines)
        cols["level_norm"] = (map_distinct(cols["status"], _level_of_status)
                              if self.layout.level == "status" else
                              map_distinct(word, normalise_level))
        cols["level_word"] = own_level_word(word, cols["level_norm"])
        if layout.ts.yearless:
            cols["year"] = self._years(cols, valid)
        has_cont = bool((~valid & ~blank).any())
        self._con.register("_blk", pa.table(cols))
        try:
            sql = self._sql_multi if has_cont else self._sql_single
            out = self._con.sql(sql).to_arrow_table()
        finally:
            self._con.unregister("_blk")
        bad = pc.is_null(out["ts"])
        if pc.any(bad).as_py():
            rows = out.filter(bad).select(["line_no", "ts_text"]).to_pylist()
            for r in sorted(rows, key=lambda r: r["line_no"])[:MAX_EXAMPLES]:
                reason = f"unparseable {layout.ts.name} timestamp {r['ts_text']!r}"
                self.malformed.add(r["line_no"], reason, 0)
            self.malformed.count += len(rows)
            out = out.filter(pc.invert(bad))
        self.entries += out.num_rows
        out = out.drop_columns(["line_no", "ts_text"])
        return out.append_column("shape", mask(out["message"]))

    def _level_words(self, cols: dict[str, pa.Array], lines: pa.Array) -> pa.Array:
        """The level word of each line as the log writes it, from the layout's source
        (NULL for access logs, whose level comes from the status code)."""
        how = self.layout.level
        if how == "status":
            return pa.nulls(len(lines), pa.string())
        word = map_distinct(cols["pri"], _level_of_pri) if how == "pri" else cols.get("level")
        if how in ("search", "pri"):
            found = parallel(_search_level, lines)
            word = found if word is None else pc.coalesce(word, found)
        if word is None:
            return pa.nulls(len(lines), pa.string())
        return word.cast(pa.string())

    def _count_unmatched(
        self, lines: pa.Array, valid: np.ndarray, blank: np.ndarray, line_no: np.ndarray
    ) -> None:
        if self.layout.multiline:
            # lines before the block's first entry have nothing to join: normally only at the
            # start of a file (later blocks start with a carried entry)
            first = np.flatnonzero(valid)
            end = int(first[0]) if len(first) else len(valid)
            bad = np.flatnonzero(~blank[:end])
            reason = (
                f"continuation beyond {self.max_carry_lines} lines"
                if self._started
                else "no timestamp and no earlier entry to continue"
            )
            if len(first):
                self._started = True
        else:
            bad = np.flatnonzero(~valid & ~blank)
            reason = f"does not match the {self.layout.name} layout"
        if len(bad) == 0:
            return
        for i in bad[:MAX_EXAMPLES]:
            text = lines[int(i)].as_py() or ""
            self.malformed.add(int(line_no[i]), f"{reason}: {snippet(text)!r}", 0)
        self.malformed.count += len(bad)

    def _years(self, cols: dict[str, pa.Array], valid: np.ndarray) -> pa.Array:
        """Year of each entry of a year-less format: from the line's own date or epoch when
        the layout has one, else from `--year` / the file's mtime, rolling over at Dec -> Jan."""
        m = np.where(valid, _months(cols["ts"], self.layout.ts), 0)
        group = self.layout.year_group
        if group is not None and group in cols:
            return pa.array(_years_of(cols[group], m))
        vm = m[valid]
        if self._base_year is None and len(vm):
            if self.year is not None:
                self._base_year = self.year
                self.year_note = f"year {self.year} from --year (timestamps have no year)"
            else:  # the first entry is at most a year before the file's last change
                ref = self.mtime or datetime.now()
                self._base_year = ref.year - 1 if int(vm[0]) > ref.month else ref.year
                self.year_note = (
                    f"year {self._base_year} assumed from the file's modification time "
                    f"({ref:%Y-%m-%d}; timestamps have no year; set it with --year)"
                )
        prev = np.concatenate([[self._prev_month or (vm[0] if len(vm) else 0)], vm[:-1]])
        rolls = np.cumsum((prev - vm) >= 6) + self._rolls
        if len(vm):
            self._prev_month = int(vm[-1])
            self._rolls = int(rolls[-1])
        years = np.zeros(len(m), dtype=np.int64)
        years[valid] = (self._base_year or 2000) + rolls
        return pa.array(years)

    def _build_sql(self) -> tuple[str, str]:
        layout = self.layout
        year = "b.year" if layout.ts.yearless else "NULL"
        ts_sql = layout.ts.sql("b.ts", self.tz, year, self.offsets)
        service = sql_str(self.service)
        if layout.service_group and not (self.force_service and self.service is not None):
            # a line's own program or component wins; the given service fills the others
            service = f"coalesce(nullif(b.{layout.service_group}, '-'), {service})"
        host = sql_str(self.host)
        if layout.host_group:
            host = f"coalesce(nullif(b.{layout.host_group}, '-'), {sql_str(self.host)})"
        if layout.name == "access-log":
            message = (
                "concat_ws(' ', nullif(split_part(b.request, ' ', 1), ''), "
                "nullif(split_part(b.request, ' ', 2), ''), b.status)"
            )
        else:
            message = "substr(b.line, b.head_len + 1)"
        attrs = attrs_json_sql([(a, f"b.{a}") for a in layout.attrs]
                               + [(LEVEL_WORD, "b.level_word")])
        select = f"""
            SELECT b.line_no, b.ts AS ts_text, {ts_sql} AS ts, {service} AS service,
                   {host} AS host, b.level_norm AS level, @MESSAGE@ AS message,
                   {attrs} AS attrs, {sql_str(self.source)} AS source, b.line AS _line,
                   @CONT@ AS _cont
            FROM _blk b @JOIN@ WHERE b.valid
        """
        wrap = """
            SELECT * EXCLUDE (_line, _cont),
                   hash(coalesce(service, ''), coalesce(host, ''), ts, _line, _cont) AS h0
            FROM (@INNER@)
        """
        single = select.replace("@MESSAGE@", message).replace("@CONT@", "NULL::VARCHAR")
        multi = (
            select.replace(
                "@MESSAGE@",
                f"CASE WHEN c.cont IS NULL THEN {message} ELSE {message} || chr(10) || c.cont END",
            )
            .replace("@CONT@", "c.cont")
            .replace(
                "@JOIN@",
                """LEFT JOIN (
                    SELECT grp, string_agg(line, chr(10) ORDER BY line_no) AS cont
                    FROM _blk WHERE NOT valid AND line <> '' GROUP BY grp
                ) c ON c.grp = b.grp""",
            )
        )
        return wrap.replace("@INNER@", multi), wrap.replace("@INNER@", single.replace("@JOIN@", ""))


def _months(ts_text: pa.Array, fmt: TsFormat) -> np.ndarray:
    """Month (1-12, 0 when unknown) of year-less timestamp texts whose month leads."""
    if fmt.month == "name":
        months = pc.index_in(pc.utf8_slice_codeunits(ts_text, 0, 3), pa.array(MONTHS))
        return np.asarray(pc.fill_null(months, -1).to_numpy(zero_copy_only=False)) + 1
    mm = pc.utf8_slice_codeunits(ts_text, 0, 2)
    num = pc.if_else(pc.utf8_is_digit(mm), mm, pa.scalar(None, pa.string()))
    out = pc.fill_null(pc.cast(num, pa.int64()), 0)
    return np.asarray(out.to_numpy(zero_copy_only=False))


def _years_of(col: pa.Array, months: np.ndarray) -> np.ndarray:
    """The year of each line's own date (`2005.11.09`) or epoch, adjusted when the written
    month is a year-end away from that date's month (a date in UTC, a time in local)."""
    digits = pc.fill_null(pc.utf8_slice_codeunits(col, 0, 10), "")
    is_epoch = pc.and_(pc.equal(pc.utf8_length(digits), 10), pc.utf8_is_digit(digits))
    as_num = pc.if_else(is_epoch, digits, pa.scalar(None, pa.string()))
    epoch = pc.cast(pc.multiply(pc.cast(as_num, pa.int64()), 1_000_000), pa.timestamp("us"))
    four = pc.utf8_slice_codeunits(col, 0, 4)
    ymd = pc.if_else(pc.utf8_is_digit(four), four, pa.scalar(None, pa.string()))
    year = pc.if_else(is_epoch, pc.year(epoch), pc.cast(ymd, pa.int64()))
    month = pc.if_else(is_epoch, pc.month(epoch), pc.cast(_slice_digits(col, 5, 7), pa.int64()))
    y = np.asarray(pc.fill_null(year, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    own = np.asarray(pc.fill_null(month, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    y = y - ((months == 12) & (own == 1)) + ((months == 1) & (own == 12))
    return np.where(y > 0, y, 2000)


def _slice_digits(col: pa.Array, start: int, stop: int) -> pa.Array:
    part = pc.utf8_slice_codeunits(col, start, stop)
    return pc.if_else(pc.utf8_is_digit(part), part, pa.scalar(None, pa.string()))


def _extract(arr: pa.Array, regex: str) -> pa.Array:
    return pc.extract_regex(arr, regex)


def _search_level(lines: pa.Array) -> pa.Array:
    """The first upper-case level word near the start of each line (or null)."""
    window = pc.utf8_slice_codeunits(lines, 0, LEVEL_SEARCH_CHARS)
    return pc.struct_field(pc.extract_regex(window, LEVEL_SEARCH_RE), "lv")


def _level_of_status(status: str | None) -> str | None:
    if not status or not status.isdigit():
        return None
    code = int(status)
    return "error" if code >= 500 else "warn" if code >= 400 else "info"


def _level_of_pri(pri: str | None) -> str | None:
    if not pri or not pri.isdigit():
        return None
    return SYSLOG_SEVERITY[int(pri) % 8].upper()
