"""A fast, deterministic embedder for retrieval tests, and helpers to build retrievers.

`HashEmbedder` hashes the BM25 tokens of a text into a fixed number of dimensions and
normalises: texts sharing words are close, unrelated texts are nearly orthogonal. It is
registered as embedder "hash" so collections written with it reopen through Chroma.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from assistant.embedder import Embedder, register_embedder
from assistant.retrieval import Retriever
from assistant.retrieval.keyword import tokenize
from assistant.retrieval.store import embedding_function_class
from assistant.settings import Settings


class HashEmbedder(Embedder):
    name = "hash"
    dim = 64
    model_id = "hash-64"

    def __init__(self) -> None:
        self.documents_embedded = 0
        self.queries_embedded = 0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for tok in tokenize(text):
            h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=4).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents_embedded += len(texts)
        return [self._vector(t).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries_embedded += 1
        return self._vector(text).tolist()


register_embedder("hash", HashEmbedder)
embedding_function_class("hash")


def make_retriever(tmp: Path, embedder: Embedder | None = None, **chroma: object) -> Retriever:
    """A retriever on a fresh local store under `tmp`, with the hash embedder by default."""
    settings = Settings(data_dir=tmp, chroma=chroma)
    return Retriever(settings, embedder=embedder or HashEmbedder())
