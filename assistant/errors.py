"""Errors raised by Ops Assistant, each written for the person who has to act on it.

The tree::

    OpsaError                      base; `str(err)` is a complete, actionable sentence
    ├── ConfigError                bad opsa.toml / OPSA_* value, missing optional dependency
    ├── IRError                    a query that is not valid IR, or names what the catalog lacks
    │   └── UnknownEntityError     unknown metric, host, service or label value (+ suggestions)
    ├── TimeRangeError             an impossible or unparseable time range
    ├── IngestError                nothing parseable in an input, unreadable path
    ├── BackendError               a connector failed; the message carries the backend's own text
    │   ├── BackendUnavailable     unreachable, refused, DNS failure
    │   └── BackendTimeout         the time budget fired
    ├── RetrievalError             the vector store failed or was misconfigured
    ├── LLMError                   the model failed or returned something unusable
    └── RefusalError               the request is out of scope (e.g. a write action)

The core raises; only the edges (CLI, web, Slack) turn these into text for people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


class OpsaError(Exception):
    """Base class: the message is meant to be shown to the user as is."""


class ConfigError(OpsaError):
    """A setting is invalid or an optional dependency is missing."""


class NoStore(ConfigError):
    """The local telemetry store does not exist yet (nothing was ingested or seeded)."""


class IRError(OpsaError):
    """A query is not valid IR."""


class UnknownEntityError(IRError):
    """The query names a metric, host, service or label value that does not exist."""

    def __init__(self, kind: str, value: str, known: Iterable[str] = ()) -> None:
        self.kind = kind
        self.value = value
        self.suggestions = suggest(value, known)
        msg = f"no {kind} named {value!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        else:
            known_list = sorted(set(known))
            if known_list:
                shown = ", ".join(known_list[:12]) + (" ..." if len(known_list) > 12 else "")
                msg += f"; known {kind}s: {shown}"
        super().__init__(msg)


class TimeRangeError(OpsaError):
    """A time range is impossible (end before start, in the future) or not understood."""


class IngestError(OpsaError):
    """An input could not be ingested at all."""


class BackendError(OpsaError):
    """A backend (connector) failed to answer a query."""


class BackendUnavailable(BackendError):
    """The backend could not be reached."""


class BackendTimeout(BackendError):
    """The backend did not answer within the time budget."""


class RetrievalError(OpsaError):
    """The vector store failed."""


class LLMError(OpsaError):
    """The language model failed or returned something unusable."""


class RefusalError(OpsaError):
    """The request is out of scope for a read-only assistant."""


def suggest(value: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Close matches for `value` among `known` (typos, missing prefixes)."""
    import difflib

    pool: Sequence[str] = sorted(set(known))
    out = difflib.get_close_matches(value, pool, n=n, cutoff=0.6)
    if len(out) < n:
        low = value.lower()
        for cand in pool:
            if cand not in out and (low in cand.lower() or cand.lower() in low) and len(low) > 2:
                out.append(cand)
            if len(out) >= n:
                break
    return out


_ABS_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"`]+/){2,}(?=[^\s/'\"`]+)")
"""A file path two or more directories deep (an API route such as /api/events is shorter)."""
_PID = re.compile(r"\s*\(\s*PID\s+\d+\s*\)|\bPID\s+\d+", re.IGNORECASE)


def without_paths(message: str) -> str:
    """An error `message` as anyone asking may see it: absolute paths cut to their file name
    and process ids left out (where the data is kept, and what runs there, belong in the
    server log, not in answers sent to a web page or a Slack channel)."""
    return _PID.sub("", _ABS_PATH.sub("", message))
