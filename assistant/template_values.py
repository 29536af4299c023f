"""Words the logs say inside a template's placeholders: a template miner that merged
"en0: BSSID changed to 5c:50:..." with "Wake reason changed to RTC" into
"<*>: <*> changed to <*>" has hidden "BSSID" from every question about it.

From a few real lines of each template (`Connector.log_examples`), the value each
placeholder takes is read; a word-like value that recurs becomes a *specialized* template
with that word written in ("<*>: BSSID changed to <*>"). These join the templates the
question's words are matched against (`assistant.content_words.Vocabulary`) and the ones a
value slot is chosen from (`assistant.value_slots`), so "BSSID", "WindowsUpdateAgent" or a
program name held as a value are words the logs say. Nothing is written to the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

PLACEHOLDER = "<*>"
MIN_REPEATS = 2
"""A value seen at least this often in the examples is a word of that template."""
MAX_PER_SLOT = 6
"""Most specialized templates made from one placeholder (its most frequent words)."""
MAX_TEMPLATES = 5000
"""Most specialized templates in all (a store with more keeps the first)."""
WORDLIKE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{2,}")
"""A value that reads as a word or a name ("BSSID", "WindowsUpdateAgent", "sshd"), not a
number, an address or an id."""


def _token_rx(token: str) -> re.Pattern[str] | None:
    """A template token with placeholders as a regular expression over one line token."""
    if PLACEHOLDER not in token:
        return None
    body = "(.*?)".join(re.escape(p) for p in token.split(PLACEHOLDER))
    return re.compile(f"^{body}$", re.DOTALL)


def _values(template: str, line: str) -> list[str] | None:
    """The value of each placeholder of `template` in `line`, by aligning their
    whitespace-separated tokens (a line with another number of tokens is skipped: no
    search, so no regular-expression blowup on long lines)."""
    tt, lt = template.split(), line.split()
    if len(tt) != len(lt):
        return None
    out: list[str] = []
    for t, w in zip(tt, lt, strict=True):
        rx = _token_rx(t)
        if rx is None:
            if t != w:
                return None
            continue
        m = rx.match(w)
        if m is None:
            return None
        out.extend(m.groups())
    return out


def specialized(examples: Iterable[tuple[str, str]], cache_dir: Path | None = None
                ) -> tuple[str, ...]:
    """Templates with a recurring word-like placeholder value written in, from
    (template, line) pairs; the templates themselves are not repeated. With `cache_dir`,
    the result is kept there per set of examples (a new process reads it instead of
    recomputing it; a store that changed has other examples, so another file)."""
    pairs = tuple(examples)
    if cache_dir is None:
        return _specialized(pairs)
    return _kept(pairs, cache_dir)


@lru_cache(maxsize=8)
def _kept(pairs: tuple[tuple[str, str], ...], cache_dir: Path) -> tuple[str, ...]:
    """`_specialized(pairs)` read from (or written to) `cache_dir`, once per process: a
    server answering many questions neither re-hashes the examples nor re-reads the file."""
    made_by = (MIN_REPEATS, MAX_PER_SLOT, MAX_TEMPLATES, WORDLIKE.pattern)  # other rules: redo
    key = hashlib.sha256(json.dumps([made_by, pairs], ensure_ascii=False).encode()
                         ).hexdigest()[:24]
    path = cache_dir / f"specialized-{key}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, list) and all(isinstance(t, str) for t in cached):
            return tuple(cached)
    except (OSError, ValueError):
        pass  # not cached yet, or unreadable: compute it
    out = _specialized(pairs)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(list(out), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only data directory: the answer is the same, only slower next time
    return out


@lru_cache(maxsize=8)
def _specialized(examples: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    by_template: dict[str, list[str]] = defaultdict(list)
    for template, line in examples:
        by_template[template].append(line)
    out: dict[str, None] = {}
    for template, lines in by_template.items():
        slots = template.count(PLACEHOLDER)
        if not slots:
            continue
        counts: list[Counter[str]] = [Counter() for _ in range(slots)]
        for line in lines:
            values = _values(template, line)
            for i, value in enumerate(values or []):
                if i < slots and WORDLIKE.fullmatch(value):
                    counts[i][value] += 1
        parts = template.split(PLACEHOLDER)
        for i, c in enumerate(counts):
            for value, n in c.most_common(MAX_PER_SLOT):
                if n < MIN_REPEATS:
                    break
                text = PLACEHOLDER.join(parts[: i + 1]) + value + PLACEHOLDER.join(
                    parts[i + 1:])
                out[text] = None
                if len(out) >= MAX_TEMPLATES:
                    return tuple(out)
    return tuple(out)


__all__ = ["specialized"]
