"""Retrieval: runbooks, catalog and recent events in Chroma, with hybrid search.

Public API: `Retriever` (index_docs, index_catalog, index_events, prune, search), the data
models `Hit`, `IndexReport`, `SkippedFile`, and the collection names.
"""

from assistant.retrieval.models import COLLECTIONS, CollectionName, Hit, IndexReport, SkippedFile
from assistant.retrieval.retriever import Retriever

__all__ = ["COLLECTIONS", "CollectionName", "Hit", "IndexReport", "Retriever", "SkippedFile"]
