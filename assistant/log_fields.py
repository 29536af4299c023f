"""The field catalog: the variable parts (``<*>``) of each mined log template as named, typed
fields.

A template such as ``Accepted password for <*> from <*> port <*> ssh2`` has three fields.
Each gets a name from the template's own words around it (``for``, ``from``, ``port``; the
key of ``pid=<*>``; else the kind of value it holds), a type inferred from the values it
takes (`FIELD_TYPES`), a unit where the template or the values say one (``<*> bytes``,
``12ms``), a few example values and how many distinct values it takes.

How the pieces fit:

* `slots(template)` reads the placeholders and their name hints (pure, no data);
* `field_regex(template, index)` is the RE2 pattern whose group 1 is that field's value on
  a line of the template (the same on DuckDB and ClickHouse, and in Python's ``re``);
* `build_fields(...)` turns per-field value statistics (computed in SQL by
  `connectors.sql.catalog.read_log_fields`) into `TemplateField` rows.

Callers (the planner, retrieval) read the catalog with ``Connector.log_fields()`` and query
a field with ``Extract(kind="field", key=field.key)`` (``"<template_id>.<name>"``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

PLACEHOLDER = "<*>"
FIELD_TYPES = (
    "ipv4", "ipv4:port", "mac", "ipv6", "uuid", "url", "path", "number", "hex", "id", "word",
    "text",
)
"""Value types, in the order they are tried (the first that fits the values wins)."""
EXAMPLES = 3
SAMPLE_VALUES = 20
"""Most frequent values per field read to infer its type."""
TYPE_SHARE = 0.8
"""The share of sampled values one type must fit for the field to take it."""

_QUOTED = r'"[^"\n]*"'
_WHOLE = f"({_QUOTED}|\\S+)"
"""A placeholder that is a whole token (or a token of placeholders and separators only)."""
_PART = f"({_QUOTED}|[\\w.-]+)"
"""A placeholder inside a token: what the ingest mask replaced (a word with a digit) or a
quoted string."""
_WRAP = re.compile(r"^([(\[{\"']*)(.*?)([)\]}\"',;.:]*)$")
_KEY = re.compile(r"([A-Za-z_][\w.-]*?)\s*[=:]$")
_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*[:=]?$")
_NAME_CHARS = re.compile(r"[^a-z0-9_]+")

UNITS: dict[str, str] = {
    **{u: "bytes" for u in ("b", "byte", "bytes")},
    "kb": "KB", "kib": "KiB", "mb": "MB", "mib": "MiB", "gb": "GB", "gib": "GiB", "tb": "TB",
    **{u: "ms" for u in ("ms", "msec", "msecs", "millis", "milliseconds")},
    **{u: "s" for u in ("s", "sec", "secs", "second", "seconds")},
    "us": "us", "µs": "us", "ns": "ns", "min": "min", "mins": "min", "minutes": "min",
    "%": "%", "percent": "%",
}
"""Unit words (lower case) -> the unit a field is reported in."""

_TYPE_RX: dict[str, re.Pattern[str]] = {
    "ipv4:port": re.compile(r"(?:\d{1,3}\.){3}\d{1,3}:\d{1,5}"),
    "ipv4": re.compile(r"(?:\d{1,3}\.){3}\d{1,3}"),
    "mac": re.compile(r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}"),
    "ipv6": re.compile(r"\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]?(?::\d{1,5})?"),
    "uuid": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}"),
    "url": re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+"),
    "path": re.compile(r"(?:/|~/|\./|\.\./|[A-Za-z]:\\)\S*"),
    "number": re.compile(r"[-+]?\d+(?:\.\d+)?"),
    "hex": re.compile(r"0[xX][0-9A-Fa-f]+|(?=[0-9A-Fa-f]*[A-Fa-f])(?=[0-9A-Fa-f]*\d)"
                      r"[0-9A-Fa-f]{8,}"),
    "id": re.compile(r"[\w.:-]*\d[\w.:-]*"),
    "word": re.compile(r"[A-Za-z_][\w.-]*"),
}
_NUMBER_UNIT = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*([A-Za-zµ%]+)")
CUT_NEAR = 280
"""A template this long may come from a message shape cut at 300 characters
(`assistant.ingest.templates.MAX_SHAPE_CHARS`), its last word cut anywhere (``<`` of a
``<*>``): that word is left out of its fields and its pattern."""


@dataclass(frozen=True)
class Slot:
    """One placeholder of a template: the word that names it (if any) and a unit word."""

    hint: str | None
    unit: str


@dataclass(frozen=True)
class TemplateField:
    """One field of the catalog: a placeholder of one template, named and typed.

    `key` (``"<template_id>.<name>"``) is what ``Extract(kind="field", key=...)`` takes.
    `lines` is how many lines of the template the value was read from; `distinct` how many
    different values those lines hold; `examples` the most frequent few.
    """

    template_id: int
    index: int
    name: str
    type: str
    unit: str
    examples: tuple[str, ...]
    distinct: int
    lines: int
    services: tuple[str, ...]
    template: str

    @property
    def key(self) -> str:
        return f"{self.template_id}.{self.name}"


@dataclass(frozen=True)
class FieldStats:
    """What SQL measured for one field: its most frequent values (value, count, most
    first), how many distinct values, over how many lines."""

    top: tuple[tuple[str, int], ...]
    distinct: int
    lines: int


def _tokens(template: str) -> list[str]:
    """The template's words; a template that may be cut (`CUT_NEAR`) loses its last word,
    which may be cut anywhere (``<`` of a ``<*>``)."""
    toks = template.split()
    return toks[:-1] if len(template) >= CUT_NEAR and len(toks) > 1 else toks


def _token_parts(token: str) -> tuple[str, str, str]:
    """(leading punctuation, core, trailing punctuation) of a token with a placeholder."""
    m = _WRAP.match(token)
    assert m is not None  # every string matches (all parts may be empty)
    lead, core, trail = m.groups()
    if PLACEHOLDER not in core:  # the wrap took part of the placeholder: keep it whole
        return "", token, ""
    return lead, core, trail


def _whole(core: str) -> bool:
    """A core of placeholders and separators only (``<*>``, ``<*>:<*>``): one value."""
    rest = core.replace(PLACEHOLDER, "")
    return not any(ch.isalnum() for ch in rest)


def _clean_name(word: str) -> str | None:
    name = _NAME_CHARS.sub("_", word.lower()).strip("_")
    if not name or name[0].isdigit():
        return None
    return name[:40]


def _unit_word(token: str | None) -> str:
    if token is None:
        return ""
    return UNITS.get(token.strip(".,;:()[]").lower(), "")


def slots(template: str) -> list[Slot]:
    """The fields of `template`, in order, each with the word that names it."""
    toks = _tokens(template)
    out: list[Slot] = []
    for i, tok in enumerate(toks):
        if PLACEHOLDER not in tok:
            continue
        _, core, _ = _token_parts(tok)
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if _whole(core):
            unit = _unit_word(nxt)
            out.append(Slot(_previous_word(toks, i) or _unit_name(toks, i), unit))
            continue
        pieces = core.split(PLACEHOLDER)
        for j in range(len(pieces) - 1):
            before = pieces[j]
            key = _KEY.search(before)
            hint = _key_name(key.group(1), before) if key else None
            if hint is None:
                words = re.findall(r"[A-Za-z][A-Za-z0-9_]*", before)
                hint = _clean_name(words[-1]) if words else _previous_word(toks, i)
            last = j == len(pieces) - 2
            out.append(Slot(hint, _unit_word(nxt) if last else ""))
    return out


def _key_name(key: str, before: str) -> str | None:
    """The name of ``key=<*>`` / ``key:<*>``; ``host.name:<*>`` is a port."""
    if before.endswith(":") and "." in key:
        return "port"
    return _clean_name(key)


def _unit_name(toks: list[str], i: int) -> str | None:
    """``<*> bytes sent`` -> ``bytes_sent``: a unit word after the value (and the plain word
    after that) names a value with no word before it."""
    if i + 1 >= len(toks) or not _unit_word(toks[i + 1]):
        return None
    words = [toks[i + 1].strip(".,;:()[]")]
    if i + 2 < len(toks) and re.fullmatch(r"[A-Za-z]+", toks[i + 2].rstrip(",;.")):
        words.append(toks[i + 2].rstrip(",;."))
    return _clean_name("_".join(words))


def _previous_word(toks: list[str], i: int) -> str | None:
    """The literal word right before token `i` (``from`` in ``from <*>``), if it is one."""
    if i == 0:
        return None
    prev = toks[i - 1].lstrip("([{\"'")
    if PLACEHOLDER in prev or not _WORD.match(prev):
        return None
    return _clean_name(prev.rstrip(":="))


def field_regex(template: str, index: int | None = None) -> str:
    """An RE2 pattern for a message of `template`: with `index`, group 1 is that field's
    value (the others do not capture); without, every field is a group.

    It is anchored at the start only: it reads lines already known to be of the template
    (by `template_id`), and a message longer than the shape it was mined from (cut at 300
    characters, or only its first line) still has its values where the template says."""
    parts: list[str] = []
    k = 0

    def group(body: str) -> str:
        nonlocal k
        capture = index is None or k == index
        k += 1
        return body if capture else "(?:" + body[1:]

    for tok in _tokens(template):
        if PLACEHOLDER not in tok:
            parts.append(re.escape(tok))
            continue
        lead, core, trail = _token_parts(tok)
        if _whole(core):
            parts.append(re.escape(lead) + group(_WHOLE) + re.escape(trail))
            continue
        pieces = core.split(PLACEHOLDER)
        body = re.escape(pieces[0])
        for piece in pieces[1:]:
            body += group(_PART) + re.escape(piece)
        parts.append(re.escape(lead) + body + re.escape(trail))
    if index is not None and not 0 <= index < k:
        raise ValueError(f"template has {k} fields, no field {index}: {template!r}")
    return r"^\s*" + r"\s+".join(parts)


def value_type(value: str) -> str:
    """The first of `FIELD_TYPES` that `value` is (``text`` when none fits)."""
    v = value.strip('"')
    for name, rx in _TYPE_RX.items():
        if rx.fullmatch(v):
            return name
    return "text"


def infer_type(values: Sequence[tuple[str, int]], unit_word: str) -> tuple[str, str]:
    """(type, unit) of a field from its most frequent values (value, count): the first type
    of `FIELD_TYPES` that fits at least `TYPE_SHARE` of them (by line count)."""
    if not values:
        return "text", ""
    weights: Counter[str] = Counter()
    units: Counter[str] = Counter()
    total = 0
    for value, n in values:
        total += n
        t = value_type(value)
        m = _NUMBER_UNIT.fullmatch(value)
        if t not in ("number", "ipv4", "ipv4:port") and m and m.group(2).lower() in UNITS:
            t = "number"
            units[UNITS[m.group(2).lower()]] += n
        weights[t] += n
    for t in FIELD_TYPES:
        fits = weights[t] + (weights["ipv4"] if t == "ipv4:port" else 0)
        if t == "number" and fits >= TYPE_SHARE * total:
            unit = units.most_common(1)[0][0] if units else unit_word
            return t, unit
        if fits >= TYPE_SHARE * total:
            return t, ""
    return "text", ""


def build_fields(
    template_id: int, template: str, stats: Sequence[FieldStats | None],
    services: Sequence[str] = (),
) -> list[TemplateField]:
    """The catalog rows of one template; `stats[i]` is field i's (None: never read)."""
    out: list[TemplateField] = []
    taken: Counter[str] = Counter()
    for i, slot in enumerate(slots(template)):
        st = stats[i] if i < len(stats) else None
        top = st.top if st is not None else ()
        ftype, unit = infer_type(top[:SAMPLE_VALUES], slot.unit)
        base = slot.hint or ftype.replace(":", "_")
        taken[base] += 1
        name = base if taken[base] == 1 else f"{base}_{taken[base]}"
        out.append(TemplateField(
            template_id=template_id, index=i, name=name, type=ftype, unit=unit,
            examples=tuple(v for v, _ in top[:EXAMPLES]),
            distinct=st.distinct if st is not None else 0,
            lines=st.lines if st is not None else 0,
            services=tuple(services), template=template,
        ))
    return out


def split_key(key: str) -> tuple[int, str]:
    """``"<template_id>.<name>"`` -> (template id, field name); ValueError when malformed."""
    tid, sep, name = key.partition(".")
    if not sep or not tid.isdigit() or not name:
        raise ValueError(
            f"field key {key!r} is not '<template_id>.<name>' (e.g. '12.port'); "
            "see 'opsa fields' for the catalog")
    return int(tid), name
