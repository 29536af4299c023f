"""Reading input files: gzip-aware, streamed in blocks of lines as Arrow arrays.

A file is never read whole: blocks of about `BLOCK_BYTES` are cut at the last newline and
split into lines by Arrow. Invalid UTF-8 is replaced (U+FFFD), never fatal.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from assistant.errors import IngestError

BLOCK_BYTES = 16 << 20
MAX_LINE_BYTES = 64 << 20
"""A "line" longer than this is cut (binary data or a missing newline)."""
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class InputFile:
    """One input file and how to open it."""

    path: Path
    gz: bool
    size: int

    @classmethod
    def of(cls, path: Path) -> InputFile:
        try:
            with path.open("rb") as f:
                magic = f.read(2)
            size = path.stat().st_size
        except OSError as exc:
            raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
        return cls(path, magic == GZIP_MAGIC, size)

    def open(self) -> BinaryIO:
        raw = self.path.open("rb")
        return gzip.GzipFile(fileobj=raw, mode="rb") if self.gz else raw  # type: ignore[return-value]

    def head(self, n: int = 256 << 10) -> bytes:
        """The first `n` (decompressed) bytes, for sniffing the content."""
        try:
            with self.open() as f:
                return f.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(f"cannot read {self.path}: {exc}") from None

    def read_all(self) -> bytes:
        """The whole (decompressed) content: for small inputs only (events)."""
        try:
            with self.open() as f:
                return f.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError(f"cannot read {self.path}: {exc}") from None


class LineReader:
    """Iterate a file as Arrow string arrays of lines, tracking bytes read and a content hash."""

    @property
    def content_key(self) -> str:
        """Identifies the (decompressed) content read: CRC-32 and length."""
        return f"crc32:{self.crc:08x}:{self.bytes}"

    def __init__(
        self,
        src: InputFile,
        on_progress: Callable[[int], None] | None = None,
        block_bytes: int = BLOCK_BYTES,
    ) -> None:
        self.src = src
        self.on_progress = on_progress
        self.block_bytes = block_bytes
        self.crc = 0
        self.bytes = 0
        self.lines = 0

    def __iter__(self) -> Iterator[pa.Array]:
        raw = self.src.path.open("rb")
        stream: BinaryIO = (
            gzip.GzipFile(fileobj=raw, mode="rb") if self.src.gz else raw  # type: ignore[assignment]
        )
        tail = b""
        try:
            with raw, stream:
                while True:
                    try:
                        block = stream.read(self.block_bytes)
                    except (OSError, EOFError, zlib.error) as exc:
                        raise IngestError(
                            f"cannot read {self.src.path} after {self.lines} lines: {exc} "
                            "(truncated or corrupt gzip?)"
                        ) from None
                    if self.on_progress is not None:
                        self.on_progress(raw.tell())
                    if not block:
                        break
                    self.crc = zlib.crc32(block, self.crc)
                    self.bytes += len(block)
                    data = tail + block
                    cut = data.rfind(b"\n")
                    if cut < 0 and len(data) < MAX_LINE_BYTES:
                        tail = data
                        continue
                    if cut < 0:
                        cut = len(data) - 1
                    tail = data[cut + 1 :]
                    yield self._split(data[: cut + 1])
                if tail:
                    yield self._split(tail + b"\n")
        except OSError as exc:
            raise IngestError(f"cannot read {self.src.path}: {exc.strerror or exc}") from None

    def _split(self, data: bytes) -> pa.Array:
        """Lines of `data` (which ends with a newline) as a string array."""
        arr = pa.array([data[:-1]], pa.large_binary())
        parts = pc.split_pattern(arr, b"\n").flatten()
        try:
            lines = parts.cast(pa.large_string())
        except pa.ArrowInvalid:  # invalid UTF-8 in this block: decode it with replacement
            text = data[:-1].decode("utf-8", "replace")
            lines = pa.array(text.split("\n"), pa.large_string())
        if b"\r" in data:
            lines = pc.utf8_rtrim(lines, characters="\r")
        self.lines += len(lines)
        return lines


def text_lines(data: bytes, limit: int | None = None) -> list[str]:
    """Decoded lines of a sniffed head (the last, possibly partial, line dropped)."""
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]
    lines = [ln.rstrip("\r") for ln in lines]
    return lines[:limit] if limit else lines


def looks_binary(data: bytes) -> bool:
    """True for content that is not text (NUL bytes or mostly non-printable)."""
    if not data:
        return False
    if b"\x00" in data[:8192]:
        return True
    sample = data[:8192]
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return bad / len(sample) > 0.1
