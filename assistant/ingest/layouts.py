"""Line layouts of plain-text logs: where the timestamp, level, host and message are.

A layout is one anchored regex with named groups (RE2- and Python-compatible, written to
stay one-pass so Arrow extracts fields at about a microsecond a line). The message is
whatever follows the match. Layouts are tried on a sample of each file; the one that
parses most lines wins, ties going to the more specific (earlier) layout.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from assistant.ingest.levels import LEVEL_ALIASES
from assistant.ingest.timestamps import (
    CLF,
    CTIME,
    EPOCH,
    GLOG,
    ISO8601,
    RFC3164,
    SLASHED,
    YYMMDD,
    TsFormat,
)

_Trie = dict[str, "_Trie"]


def alternation(words: Sequence[str]) -> str:
    """A prefix-factored regex group matching exactly `words` (``WARN(?:ING)?``).

    RE2 extracts fields fast only from one-pass regexes: at every point the next character
    must decide the branch, so alternatives may not share a first character.
    """
    trie: _Trie = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        optional = "" in node
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if optional:
            return body + "?" if len(alts) == 1 and len(alts[0]) == 1 else f"(?:{body})?"
        return body

    return "(?:" + emit(trie) + ")"


TEXT_LEVELS = alternation(
    [
        "CRITICAL",
        "WARNING",
        "VERBOSE",
        "NOTICE",
        "SEVERE",
        "ALERT",
        "DEBUG",
        "EMERG",
        "ERROR",
        "FATAL",
        "PANIC",
        "TRACE",
        "CRIT",
        "INFO",
        "WARN",
        "ERR",
    ]
)
"""Level words recognised inside free text (upper case, whole words)."""
LEVEL_SEARCH_RE = rf"(?:^|[^A-Za-z0-9_])(?P<lv>{TEXT_LEVELS})(?:[^A-Za-z0-9_]|$)"
LEVEL_SEARCH_CHARS = 128
"""How far into a line (head included) a level word is looked for."""

LevelSource = Literal["group", "pri", "status", "search"]


@dataclass(frozen=True)
class Layout:
    """One line layout. `pattern` holds ``{TS}`` where the timestamp goes."""

    name: str
    ts: TsFormat
    pattern: str
    level: LevelSource = "search"
    multiline: bool = True
    """Lines that do not match continue the previous entry (stack traces); else malformed."""
    attrs: tuple[str, ...] = ()
    """Groups kept in the entry's attrs JSON."""
    service_group: str | None = None
    host_group: str | None = None
    reject: Callable[[dict[str, str]], bool] | None = field(default=None, compare=False)
    """Detection-time veto of a match that only looks right (e.g. a level word as host)."""
    year_group: str | None = None
    """Year-less timestamps: a group holding the line's own date (`2005.11.09`) or epoch."""

    @cached_property
    def regex(self) -> str:
        return self.pattern.replace("{TS}", f"(?P<ts>{self.ts.regex})")

    @cached_property
    def primary(self) -> tuple[str, ...]:
        """The (at most 3) most useful groups, captured by the first pass with the head."""
        ranked = sorted(self.groups, key=lambda g: _PRIORITY.get(g, len(_PRIORITY)))
        return tuple(ranked[:3])

    @cached_property
    def head_regex(self) -> str:
        """Pass 1 over whole lines: the head (everything before the message) + `primary`."""
        return "^(?P<head>" + _keep(self.regex, set(self.primary)).removeprefix("^") + ")"

    @cached_property
    def field_regexes(self) -> tuple[str, ...]:
        """Pass 2 over heads: the other fields, at most 4 groups per regex.

        RE2 extracts fast only with one-pass regexes of at most 4 groups.
        """
        rest = [g for g in self.groups if g not in self.primary]
        return tuple(_keep(self.regex, set(rest[i : i + 4])) for i in range(0, len(rest), 4))

    @cached_property
    def groups(self) -> tuple[str, ...]:
        return tuple(re.compile(self.regex).groupindex)

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    def match(self, line: str, tz: ZoneInfo) -> dict[str, str] | None:
        """Fields of a matching line whose timestamp parses (Python; for detection)."""
        m = self.compiled.match(line)
        if m is None or not self.accepts(m):
            return None
        return {k: v for k, v in m.groupdict().items() if v}

    def accepts(self, m: re.Match[str]) -> bool:
        """Whether a regex match really is this layout (its timestamp parses, no veto)."""
        fields = {k: v for k, v in m.groupdict().items() if v}
        if self.ts.parse(fields.get("ts", ""), _UTC, 2000) is None:
            return False
        return self.reject is None or not self.reject(fields)


_UTC = ZoneInfo("UTC")


def _keep(regex: str, names: set[str]) -> str:
    """`regex` with only the named groups in `names` still capturing."""
    return re.sub(r"\(\?P<(\w+)>", lambda m: m.group(0) if m.group(1) in names else "(?:", regex)


_PRIORITY = {
    g: i
    for i, g in enumerate(
        ("ts", "level", "pri", "status", "host", "app", "request", "logger", "pid", "client")
    )
}


def _level_word_as(group: str) -> Callable[[dict[str, str]], bool]:
    return lambda f: f.get(group, "").upper() in LEVEL_ALIASES


_ISO = "{TS}"
_HOST = r"(?P<host>[^\s:\[\]]+)"
TAG = r"(?P<app>[^\s:\[\]]+(?: [^\s:\[\]]+){0,3}?)(?:\[(?P<pid>\d+)\])?(?: \([^()]*\))?:"
"""A syslog-style program tag: `sshd[42]:`, `Microsoft Word[14463]:`, `sandboxd[129] ([31211]):`.

Up to four words (macOS names programs with spaces); the shortest reading wins."""
_TAG = TAG
_PY_LEVELS = alternation(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"])
_J_LEVELS = alternation(
    [
        "TRACE",
        "DEBUG",
        "INFO",
        "WARN",
        "WARNING",
        "ERROR",
        "FATAL",
        "SEVERE",
        "FINE",
        "FINER",
        "FINEST",
        "CONFIG",
    ]
)

LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "syslog-rfc5424",
        ISO8601,
        r"^<(?P<pri>\d{1,3})>\d{1,2} {TS} "
        r"(?P<host>\S+) (?P<app>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
        r"(?P<sd>-|(?:\[[^\]]*\])+) ?",
        level="pri",
        attrs=("app", "pid", "msgid", "sd"),
        service_group="app",
        host_group="host",
    ),
    Layout(
        "syslog-rfc3164",
        RFC3164,
        r"^(?:<(?P<pri>\d{1,3})>)?{TS} " + _HOST + r" (?:" + _TAG + " )?",
        level="pri",
        attrs=("app", "pid"),
        service_group="app",
        host_group="host",
    ),
    Layout(
        "syslog-iso",
        ISO8601,
        r"^(?:<(?P<pri>\d{1,3})>)?{TS} " + _HOST + " " + _TAG + " ",
        level="pri",
        attrs=("app", "pid"),
        service_group="app",
        host_group="host",
        reject=_level_word_as("host"),
    ),
    Layout(
        "access-log",
        CLF,
        r'^(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[{TS}\] "(?P<request>[^"]*)" '
        r'(?P<status>\d{3}) (?P<bytes>\d+|-)(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?',
        level="status",
        multiline=False,
        attrs=("client", "user", "request", "status", "bytes", "referer", "agent"),
    ),
    Layout(
        "nginx-error",
        SLASHED,
        r"^{TS} \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+): (?:\*(?P<conn>\d+) )?",
        level="group",
        attrs=("pid", "tid", "conn"),
    ),
    Layout(
        "apache-error",
        CTIME,
        r"^\[{TS}\] \[(?:(?P<module>[^:\]\s]+):)?(?P<level>[a-z]+[0-9]?)\] "
        r"(?:\[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\] )?(?:\[client (?P<client>[^\]]+)\] )?",
        level="group",
        attrs=("module", "pid", "tid", "client"),
    ),
    Layout(
        "log4j",
        ISO8601,
        r"^\[?{TS}\]? +(?:\[[^\]]*\] +)?(?P<level>" + _J_LEVELS + r") +"
        r"(?:\[[^\]]*\] +)?(?P<logger>[\w$.]+) +(?:- |: )",
        level="group",
        attrs=("logger",),
    ),
    Layout(
        "python-logging",
        ISO8601,
        r"^{TS} - (?P<logger>[\w.]+) - (?P<level>" + _PY_LEVELS + ") - ",
        level="group",
        attrs=("logger",),
    ),
    Layout(
        "python-logging",
        ISO8601,
        r"^{TS} \[?(?P<level>" + _PY_LEVELS + r")\]? (?P<logger>[\w.]+): ",
        level="group",
        attrs=("logger",),
    ),
    Layout(
        "yymmdd-hhmmss",
        YYMMDD,
        r"^{TS} (?P<pid>\d+) (?P<level>[A-Z]+) (?P<logger>[\w$.]+): ",
        level="group",
        attrs=("pid", "logger"),
    ),
    Layout(
        "glog",
        GLOG,
        r"^(?P<level>[IWEF]){TS} +(?P<pid>\d+) (?P<file>[^:\]\s]+:\d+)\] ",
        level="group",
        attrs=("pid", "file"),
    ),
    *(
        Layout(
            f"{fmt.name}-generic",
            fmt,
            r"^\[?{TS}\]?[ \t]+(?:\[?(?P<level>" + TEXT_LEVELS + r")\]?:?[ \t]+)?",
            level="search",
        )
        for fmt in (ISO8601, SLASHED, CTIME, YYMMDD, CLF, RFC3164, EPOCH)
    ),
)


FIRST_PASS = 300


@dataclass
class Detection:
    layout: Layout
    matched: int
    sampled: int


def detect_layout(lines: Sequence[str], tz: ZoneInfo, verify: int = 20) -> Detection | None:
    """The layout that parses most of the sample `lines` (blank lines ignored), or None.

    Regex matches are counted on the whole sample; the timestamp parse (slow in Python) is
    checked on the first `verify` matches and scales the count.
    """
    sample = [ln for ln in lines if ln.strip()]
    if len(sample) > FIRST_PASS:  # most files decide on their first lines: try those first
        quick = detect_layout(sample[:FIRST_PASS], tz, verify)
        if quick is not None and quick.matched >= 0.5 * FIRST_PASS:
            return quick
    best: Detection | None = None
    for layout in LAYOUTS:
        matches = [m for ln in sample if (m := layout.compiled.match(ln)) is not None]
        if not matches:
            continue
        checked = matches[:verify]
        ok = sum(1 for m in checked if layout.accepts(m))
        n = round(len(matches) * ok / len(checked))
        if n and (best is None or n > best.matched):
            best = Detection(layout, n, len(sample))
    return best
