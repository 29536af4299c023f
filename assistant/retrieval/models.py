"""Data passed in and out of retrieval: chunks, search hits and indexing reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CollectionName = Literal["docs", "catalog", "events"]
COLLECTIONS: tuple[CollectionName, ...] = ("docs", "catalog", "events")

MetaValue = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Entry(_Model):
    """One searchable unit of any collection: what is embedded, and its metadata."""

    id: str
    text: str
    metadata: dict[str, MetaValue] = Field(default_factory=dict)


class Chunk(_Model):
    """One section of a document, cut at a heading."""

    source: str = Field(description="path of the file, relative to the indexed root")
    anchor: str = Field(description="heading anchor (GitHub style), '' for the preamble")
    heading: str = Field(description="the section's heading text (document title for the preamble)")
    title: str = Field(description="the document's title")
    text: str = Field(description="the section's text, heading line included")
    part: int = Field(default=1, description="1, or 2.. when a long section was split")
    section: str = Field(default="", description="the level 1-2 heading the chunk sits under "
                         "(its own heading unless a long section was cut at deeper ones)")

    @property
    def id(self) -> str:
        base = f"{self.source}#{self.anchor}"
        return base if self.part == 1 else f"{base}~{self.part}"


class Hit(_Model):
    """One search result. `score` orders hits (higher first); see `Retriever.search`."""

    collection: CollectionName
    id: str
    source: str
    heading: str
    score: float
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    exact: list[str] = Field(
        default_factory=list, description="identifiers of the query found verbatim in this hit"
    )
    similarity: float | None = Field(default=None, description="cosine similarity, if a vector hit")
    keyword: float | None = Field(default=None, description="BM25 score, if a keyword hit")

    def public(self) -> dict[str, Any]:
        """The JSON shape of `opsa search --json`."""
        return {
            "collection": self.collection,
            "id": self.id,
            "source": self.source,
            "heading": self.heading,
            "score": round(self.score, 6),
            "text": self.text,
            "exact": self.exact,
            "metadata": self.metadata,
        }


class SkippedFile(_Model):
    path: str
    reason: str


class IndexReport(_Model):
    """What one indexing call did."""

    collection: CollectionName
    added: int = Field(default=0, description="new sources (docs) or entries (catalog/events)")
    updated: int = Field(default=0, description="sources or entries whose content changed")
    unchanged: int = 0
    removed: int = Field(default=0, description="sources or entries deleted")
    chunks: int = Field(default=0, description="entries written (new or changed)")
    embedded: int = Field(default=0, description="distinct texts run through the embedder; "
                          "written entries whose text repeats, or whose vector was already "
                          "stored, reuse a vector instead")
    skipped: list[SkippedFile] = Field(default_factory=list)
    warnings: list[SkippedFile] = Field(
        default_factory=list, description="files indexed, but with a problem worth fixing")
    ignored: int = Field(default=0, description="files of other types found in directories")
    expired: int = Field(default=0, description="events outside the retention window")
    duplicates: int = Field(default=0, description="repeated ids within the input")
    embed_s: float = 0.0
    elapsed_s: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        parts = [
            f"{self.collection}: {self.added} added",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
            f"{self.removed} removed",
            f"{self.chunks} entries embedded" if self.embedded >= self.chunks else
            f"{self.chunks} entries written ({self.embedded} embedded, "
            f"{self.chunks - self.embedded} vectors reused)",
        ]
        if self.expired:
            parts.append(f"{self.expired} expired")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate ids")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.warnings:
            parts.append(f"{len(self.warnings)} indexed with warnings")
        if self.ignored:
            parts.append(f"{self.ignored} files of other types ignored")
        return ", ".join(parts) + f" in {self.elapsed_s:.2f}s"
