"""Keyword side of hybrid search: tokenizer, exact identifiers and a BM25 index (bm25s).

The tokenizer keeps operational identifiers whole *and* split: ``node_cpu_usage_percent``
gives the token itself plus ``node``, ``cpu``, ``usage``, ``percent``; ``web-02`` gives
``web-02``, ``web`` and ``02``. Hangul runs also give character bigrams, so Korean words
with attached particles (디스크가, 디스크를) still meet.

An *identifier* is a query token shaped like a name a system would print: snake_case or
colon names (metric names, error constants), names with a numeric suffix (hostnames,
``ORA-00600``), CamelCase alert names, errno-style constants (``ENOSPC``), paths,
dotted hostnames, and HTTP status codes next to a word like "error". Entries containing
one verbatim are ranked first by the retriever.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np

_WORD = re.compile(
    r"[A-Za-z0-9_][A-Za-z0-9_./:-]*[A-Za-z0-9_]"  # words and identifiers
    r"|[A-Za-z0-9_]"
    r"|/[A-Za-z0-9_./-]+"  # paths
    r"|[^\W\d_A-Za-z]+"  # other scripts (Hangul, ...)
)
_PARTS = re.compile(r"[A-Za-z]+|\d+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]+")

_STOP = frozenset(
    " ".join(
        [
            "a an and are as at be by can do does for from how i if in into is it its of on",
            "or so that the then this to was what when where which who why will with you",
            "your my our we there their they them than have has had not no yes any all me us",
        ]
    ).split()
)

_B = r"(?<![A-Za-z0-9_.:/-])"
_E = r"(?![A-Za-z0-9_:/-])"
_IDENTIFIER = re.compile(
    _B
    + r"(?:"
    + r"/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*"  # paths: /var/lib/data
    + r"|[A-Za-z][A-Za-z0-9]*(?:[_:][A-Za-z0-9]+)+"  # snake_case and colon names
    + r"|[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-[0-9][A-Za-z0-9]*"  # web-02, ORA-00600
    + r"|[A-Za-z0-9][A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"  # dotted: api.shop.example, IPs
    + r"|[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+"  # CamelCase: HighCpuUsage
    + r"|[A-Z]{2,}[a-z]{2,}[A-Za-z0-9]*"  # OOMKilled (not IPs, URLs)
    + r"|E[A-Z]{4,}"  # errno constants: ENOSPC, ECONNREFUSED
    + r"|[A-Z]+[0-9]+[A-Z0-9]*"  # E11000, X509
    + r")"
    + _E
)
_DECIMAL = re.compile(r"\d+\.\d+")
_HTTP_CODE = re.compile(
    r"(?i)(?:\b(?:http|status|code|error|errors)\s*=?\s*\"?([45]\d\d)\b)"
    r"|(?:(?<![\d.])([45]\d\d)\"?\s*(?:errors?|responses?|status|에러|오류|응답))"
)


def _norm(token: str) -> str:
    token = token.lower().strip(".:-/")
    return token


def _stem(word: str) -> str:
    """A light English plural strip, applied to plain words only."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=262_144)
def _analyze(raw: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """BM25 terms and exact-match terms of one raw token (cached: corpora repeat tokens)."""
    if _HANGUL.fullmatch(raw):
        if len(raw) > 2:
            return (raw, *(raw[i : i + 2] for i in range(len(raw) - 1))), ()
        return (raw,), ()
    tok = _norm(raw)
    if not tok:
        return (), ()
    parts = _PARTS.findall(tok)
    terms: tuple[str, ...]
    if len(parts) == 1 and parts[0] == tok:
        terms = () if tok in _STOP else (_stem(tok) if tok.isalpha() else tok,)
    else:
        terms = (tok, *(_stem(p) if p.isalpha() else p for p in parts if p not in _STOP))
    exact: set[str] = set()
    # worth an exact posting: anything but a plain word; CamelCase and ALLCAPS names too
    # ("HighCPU", "ENOSPC"), which lower-casing would otherwise hide; "500/503" holds both
    for piece in {raw, *raw.split("/")}:
        if piece and (not piece.isalpha() or piece[1:] != piece[1:].lower()):
            norm = _norm(piece)
            if norm:
                exact.add(norm)
    return terms, tuple(sorted(exact))


def tokenize(text: str) -> list[str]:
    """BM25 tokens of `text` (see module docstring)."""
    return [t for raw in _WORD.findall(text) for t in _analyze(raw)[0]]


def analyze(text: str) -> tuple[list[str], set[str]]:
    """BM25 tokens and exact-match terms of a document, in one pass."""
    tokens: list[str] = []
    exact: set[str] = set()
    for raw in _WORD.findall(text):
        terms, ex = _analyze(raw)
        tokens.extend(terms)
        exact.update(ex)
    return tokens, exact


def identifiers(text: str) -> list[str]:
    """Exact identifiers in a query, lower-cased, in order of appearance, without repeats."""
    found: list[str] = []
    for m in _IDENTIFIER.finditer(text):
        if not _DECIMAL.fullmatch(m.group(0)):
            found.append(_norm(m.group(0)))
    for m in _HTTP_CODE.finditer(text):
        found.append(m.group(1) or m.group(2))
    seen: set[str] = set()
    return [t for t in found if t and not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]


def exact_terms(text: str) -> set[str]:
    """The lower-cased identifier-shaped tokens of a document, for exact matching."""
    return analyze(text)[1]


_EMPTY = np.zeros(0, dtype=np.int64)


def _array(cache: dict[str, np.ndarray], lists: dict[str, list[int]], term: str) -> np.ndarray:
    """Posting list of `term` as a sorted array, converted on first use."""
    found = cache.get(term)
    if found is None:
        ix = lists.get(term)
        found = _EMPTY if ix is None else np.unique(np.asarray(ix, dtype=np.int64))
        cache[term] = found
    return found


@dataclass
class KeywordIndex:
    """BM25 over one collection's entries, with exact-identifier postings and metadata."""

    ids: list[str]
    metadatas: list[dict[str, Any]]
    texts: list[str] = field(default_factory=list, repr=False)
    revision: str = ""
    _bm25: Any = field(default=None, repr=False)
    _positions: dict[str, int] = field(default_factory=dict, repr=False)
    _postings: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _named: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _postings_lists: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _named_lists: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        texts_for_search: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        revision: str = "",
        texts: Sequence[str] | None = None,
    ) -> KeywordIndex:
        """Index `texts_for_search`; `texts` (default: the same) are what hits show."""
        index = cls(
            ids=list(ids),
            metadatas=[dict(m or {}) for m in metadatas],
            texts=list(texts if texts is not None else texts_for_search),
            revision=revision,
        )
        index._positions = {id_: i for i, id_ in enumerate(index.ids)}
        vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        vocab[""]  # id 0 stands in for documents without tokens
        corpus: list[list[int]] = []
        postings: defaultdict[str, list[int]] = defaultdict(list)
        seen: dict[str, tuple[list[int], tuple[str, ...]]] = {}  # raw token -> ids, exact
        for i, text in enumerate(texts_for_search):
            doc: list[int] = []
            exact: set[str] = set()
            for raw in _WORD.findall(text):
                known = seen.get(raw)
                if known is None:
                    terms, ex = _analyze(raw)
                    known = seen[raw] = ([vocab[t] for t in terms], ex)
                doc += known[0]
                if known[1]:
                    exact.update(known[1])
            corpus.append(doc or [0])
            for term in exact:
                postings[term].append(i)
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index((corpus, dict(vocab)), create_empty_token=False, show_progress=False)
            index._bm25 = bm25
        named: defaultdict[str, list[int]] = defaultdict(list)
        for i, meta in enumerate(index.metadatas):
            for key in ("heading", "name"):
                value = meta.get(key)
                if value:
                    named[str(value).strip().lower()].append(i)
        index._postings_lists = dict(postings)
        index._named_lists = dict(named)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every entry for `query` (zeros when nothing matches)."""
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        known = [t for t in tokens if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def top(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `n` best (entry index, score) pairs with a positive score, within `mask`."""
        scores = self.scores(query)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0:
            return []
        if positive.size > n:
            part = np.argpartition(-scores[positive], n - 1)[:n]
            positive = positive[part]
        order = positive[np.argsort(-scores[positive], kind="stable")]
        return [(int(i), float(scores[i])) for i in order]

    def containing(self, term: str) -> np.ndarray:
        """Entries whose text holds the identifier `term` verbatim (case-insensitive), sorted."""
        return _array(self._postings, self._postings_lists, term)

    def named(self, term: str) -> np.ndarray:
        """Entries whose heading or name *is* `term` (case-insensitive), sorted."""
        return _array(self._named, self._named_lists, term)

    def position(self, id_: str) -> int | None:
        return self._positions.get(id_)

    def numeric(self, key: str) -> np.ndarray:
        """Metadata values under `key` as floats (NaN where absent or not a number), cached."""
        name = f"#num:{key}"
        col = self._columns.get(name)
        if col is None:
            col = np.array(
                [
                    float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
                    for v in (m.get(key) for m in self.metadatas)
                ],
                dtype=np.float64,
            )
            self._columns[name] = col
        return col

    def column(self, key: str) -> np.ndarray:
        """Metadata values under `key` for every entry (None where absent), cached."""
        col = self._columns.get(key)
        if col is None:
            col = np.array([m.get(key) for m in self.metadatas], dtype=object)
            self._columns[key] = col
        return col
