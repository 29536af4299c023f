"""What a document chunk is embedded as, and embedding each distinct text once.

The embedder reads a chunk's *head*: the document title and heading, then the start of the
section (`retriever.DOC_EMBED_TOKENS` tokens in all). Keyword search reads the whole chunk.

Each embedded text gets a key (`vector_key`: the model and the text, hashed). Within one
indexing run a text that occurs several times is embedded once, and a text whose key is
already stored (a section left as it was in a file that changed elsewhere, or a file that
moved) takes the stored vector instead of being embedded again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.embedder import Embedder
from assistant.retrieval.models import Entry

EMBED_BATCH = 64
"""Texts per embedder call: also how often progress is reported."""

Progress = Callable[[int, int], None]
"""Called as progress(done, total) while texts are embedded."""


def embedding_text(entry: Entry) -> str:
    """What a docs entry is embedded as: "title > heading", a blank line, then its text."""
    title = str(entry.metadata.get("title", ""))
    heading = str(entry.metadata.get("heading", ""))
    if not title:
        return entry.text
    head = title if heading in ("", title) else f"{title} > {heading}"
    return f"{head}\n\n{entry.text}"


def vector_key(embedder: Embedder, text: str) -> str:
    """A stable key for the vector `embedder` gives `text` (model and text hashed)."""
    blob = f"{embedder.model_id}\n{text}".encode()
    return hashlib.sha256(blob).hexdigest()[:24]


@dataclass
class Embedded:
    """Vectors for a list of texts, and what producing them cost."""

    vectors: np.ndarray
    embedded: int
    """Distinct texts run through the model (the rest were repeats or already stored)."""
    seconds: float


def embed_once(
    embedder: Embedder,
    texts: Sequence[str],
    keys: Sequence[str],
    known: Mapping[str, np.ndarray] | None = None,
    progress: Progress | None = None,
) -> Embedded:
    """One vector per text: taken from `known` by key, else embedded once per distinct key.

    The texts to embed go to the model sorted by length, so each call holds texts of
    similar length (the engine's cost per token grows with a batch's longest texts).
    """
    t0 = time.perf_counter()
    known = known or {}
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    todo: dict[str, str] = {}
    for text, key in zip(texts, keys, strict=True):
        if key not in known:
            todo.setdefault(key, text)
    order = sorted(todo, key=lambda k: len(todo[k]))
    fresh: dict[str, np.ndarray] = {}
    for start in range(0, len(order), EMBED_BATCH):
        batch = order[start : start + EMBED_BATCH]
        vecs = embedder.embed_documents_array([todo[k] for k in batch])
        fresh.update(zip(batch, vecs, strict=True))
        if progress is not None:
            progress(min(start + EMBED_BATCH, len(order)), len(order))
    for i, key in enumerate(keys):
        out[i] = fresh[key] if key in fresh else known[key]
    return Embedded(out, len(order), time.perf_counter() - t0)
