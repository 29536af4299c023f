"""Reading a user's documents and cutting them into sections.

Markdown is cut at headings of level 1-2 (deeper headings stay inside their section unless
the section is long); HTML is turned into the same heading structure first; plain text is
cut into paragraph groups. Each chunk keeps its source path and a GitHub-style heading
anchor, so a hit can be cited as ``runbooks/disk-full.md#mitigation``.

Files that cannot be read as text (binary, empty, not UTF-8, too large, unsupported type)
are returned as `SkippedFile` with a reason a person can act on; they never stop a run.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from assistant.retrieval.models import Chunk, SkippedFile

KINDS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".html": "html",
    ".htm": "html",
}
MAX_FILE_BYTES = 2_000_000
MAX_CHUNK_CHARS = 1800
SPLIT_LEVEL = 2
CHUNKING = "chunking 2: CommonMark fences\n"
"""Hashed with each file's bytes into its digest: change it when the way files are cut
changes, and the next `index_docs` cuts every file again (re-embedding only the sections
whose text changed)."""

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")


def _fence_after(line: str, fence: str | None) -> str | None:
    """The open code fence after `line` (its marker), given the one open before it. As in
    CommonMark, a fence is closed only by a line of the same character, at least as long,
    and nothing else (```` ```bash ```` inside a block opens nothing and closes nothing)."""
    fm = _FENCE.match(line)
    if not fm:
        return fence
    marker = fm.group(1)
    if fence is None:
        return marker
    closes = marker[0] == fence[0] and len(marker) >= len(fence) and not line[fm.end():].strip()
    return None if closes else fence


@dataclass(frozen=True)
class SourceFile:
    """A file read and checked: its text, the kind of markup and its digest (a hash of its
    bytes and of `CHUNKING`)."""

    path: Path
    source: str
    kind: str
    text: str
    digest: str


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[SkippedFile], int]:
    """Files to index under `paths`, files refused, and how many others were ignored.

    Directories are walked; hidden entries, ``__pycache__`` and files of other types found
    while walking are ignored (counted). A file named explicitly with an unsupported type,
    or a path that does not exist, is refused with a reason.
    """
    found: list[Path] = []
    skipped: list[SkippedFile] = []
    ignored = 0
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
                    continue
                if not child.is_file():
                    continue
                if child.suffix.lower() in KINDS:
                    found.append(child)
                else:
                    ignored += 1
        elif path.is_file():
            if path.suffix.lower() in KINDS:
                found.append(path)
            else:
                skipped.append(SkippedFile(path=str(path), reason=_unsupported(path)))
        else:
            skipped.append(SkippedFile(path=str(path), reason="no such file or directory"))
    return found, skipped, ignored


def _unsupported(path: Path) -> str:
    kinds = ", ".join(sorted(KINDS))
    return f"unsupported file type {path.suffix or '(no extension)'!r}; indexed types: {kinds}"


def load(path: Path, source: str, max_bytes: int = MAX_FILE_BYTES) -> SourceFile | SkippedFile:
    """Read `path` as UTF-8 text, or say why it cannot be indexed."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return SkippedFile(
                path=str(path),
                reason=f"too large: {size / 1e6:.1f} MB (limit {max_bytes / 1e6:.1f} MB); "
                f"split it, or raise the limit with --max-file-mb {math.ceil(size / 1e6)}",
            )
        if size == 0:
            return SkippedFile(path=str(path), reason="empty file")
        data = path.read_bytes()
    except OSError as exc:
        return SkippedFile(path=str(path), reason=f"cannot read: {exc.strerror or exc}")
    if b"\x00" in data[:8192]:
        return SkippedFile(path=str(path), reason="binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return SkippedFile(
            path=str(path),
            reason=f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it, e.g. iconv -f cp949 -t utf-8",
        )
    if not text.strip():
        return SkippedFile(path=str(path), reason="empty file (only whitespace)")
    return SourceFile(
        path=path,
        source=source,
        kind=KINDS[path.suffix.lower()],
        text=text.replace("\r\n", "\n").replace("\r", "\n"),
        digest=hashlib.sha256(CHUNKING.encode() + data).hexdigest(),
    )


def markup_problems(file: SourceFile) -> list[str]:
    """What is wrong with a markdown file's structure that changes how it is cut: a code
    fence that is never closed turns every heading after it into code."""
    if file.kind != "markdown":
        return []
    fence: str | None = None
    opened = 0
    for number, line in enumerate(file.text.split("\n"), start=1):
        after = _fence_after(line, fence)
        if fence is None and after is not None:
            opened = number
        fence = after
    if fence is None:
        return []
    return [f"the code fence opened at line {opened} ({fence}) is never closed, so "
            "everything after it was indexed as code; close it and index the file again"]


# --- chunking -------------------------------------------------------------------------------


def slugify(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFC", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (``---`` block at the top) and the rest; ({}, text) if none."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end < 0:
        return {}, text
    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text  # not front matter after all: keep it as content
    if not isinstance(meta, dict):
        return {}, text
    rest = text[end + 4 :]
    return meta, rest.split("\n", 1)[1] if "\n" in rest else ""


@dataclass
class _Section:
    level: int
    heading: str
    anchor: str
    lines: list[str]

    @property
    def body(self) -> str:
        return "\n".join(self.lines).strip()


def _sections(text: str) -> Iterator[_Section]:
    """Headings and the lines under each (a leading section has level 0)."""
    seen: dict[str, int] = {}
    current = _Section(0, "", "", [])
    fence: str | None = None
    for line in text.split("\n"):
        fence = _fence_after(line, fence)
        hm = _HEADING.match(line) if fence is None else None
        if hm:
            yield current
            heading = hm.group(2).strip()
            anchor = slugify(heading)
            n = seen.get(anchor, 0)
            seen[anchor] = n + 1
            current = _Section(len(hm.group(1)), heading, anchor if n == 0 else f"{anchor}-{n}", [])
        current.lines.append(line)
    yield current


def _pieces(text: str, limit: int) -> list[str]:
    """`text` cut at blank lines into pieces of at most `limit` characters (roughly)."""
    out: list[str] = []
    buf = ""
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        while len(para) > limit:  # one huge paragraph: cut at a line or word boundary
            cut = para.rfind("\n", 0, limit)
            if cut < limit // 2:
                cut = para.rfind(" ", 0, limit)
            if cut < limit // 2:
                cut = limit
            if buf:
                out.append(buf)
                buf = ""
            out.append(para[:cut].strip())
            para = para[cut:].strip()
        if buf and len(buf) + len(para) + 2 > limit:
            out.append(buf)
            buf = para
        else:
            buf = f"{buf}\n\n{para}" if buf else para
    if buf:
        out.append(buf)
    return out


def chunk_markdown(
    source: str, text: str, title: str | None = None, limit: int = MAX_CHUNK_CHARS
) -> list[Chunk]:
    """Sections of a markdown text, cut at level 1-2 headings (deeper ones if too long)."""
    sections = list(_sections(text))
    doc_title = title or next((s.heading for s in sections if s.level == 1), "") or source
    groups: list[list[_Section]] = []
    for sec in sections:
        if sec.level == 0 or sec.level <= SPLIT_LEVEL or not groups:
            groups.append([sec])
        else:
            groups[-1].append(sec)
    chunks: list[Chunk] = []
    for group in groups:
        head = group[0]
        full = "\n".join(line for s in group for line in s.lines).strip()
        if not _has_body(full, head):
            continue
        if len(full) <= limit:
            chunks.append(_chunk(source, doc_title, head, full, 1, head.heading))
            continue
        for sec in group:  # too long: each deeper heading on its own, then by paragraphs
            if not _has_body(sec.body, sec):
                continue
            for i, piece in enumerate(_pieces(sec.body, limit), start=1):
                chunks.append(_chunk(source, doc_title, sec, piece, i, head.heading))
    return chunks


def _has_body(text: str, sec: _Section) -> bool:
    body = text.split("\n", 1)[1] if sec.level and "\n" in text else ("" if sec.level else text)
    return bool(body.strip())


def _chunk(source: str, title: str, sec: _Section, text: str, part: int,
           section: str = "") -> Chunk:
    heading = sec.heading or title
    return Chunk(source=source, anchor=sec.anchor, heading=heading, title=title, text=text,
                 part=part, section=section or heading)


def chunk_text(source: str, text: str, limit: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Plain text: groups of paragraphs, titled by the file name."""
    title = Path(source).name
    return [
        Chunk(source=source, anchor="", heading=title, title=title, text=piece, part=i)
        for i, piece in enumerate(_pieces(text, limit), start=1)
    ]


class _HTMLToMarkdown(HTMLParser):
    """Just enough HTML -> markdown for chunking: headings, paragraphs, lists, code."""

    _SKIP = frozenset({"script", "style", "head", "nav", "footer", "noscript", "svg"})
    _BLOCK = frozenset(
        {"p", "div", "section", "article", "br", "tr", "ul", "ol", "table", "blockquote", "hr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "pre":
            self._pre += 1
            self.out.append("\n\n```\n")
        elif tag in self._BLOCK:
            self.out.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n")
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self.out.append("\n```\n\n")
        elif tag in self._BLOCK:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._skip:
            self.out.append(data if self._pre else re.sub(r"\s+", " ", data))

    def markdown(self) -> str:
        text = "".join(self.out)
        text = re.sub(r"[ \t]+\n", "\n", text)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_markdown(html: str) -> tuple[str, str]:
    """(title, markdown) of an HTML page."""
    parser = _HTMLToMarkdown()
    parser.feed(html)
    parser.close()
    return parser.title, parser.markdown()


def chunk_file(
    file: SourceFile, limit: int = MAX_CHUNK_CHARS
) -> tuple[dict[str, Any], list[Chunk]]:
    """Front matter (markdown only) and the chunks of one loaded file."""
    if file.kind == "markdown":
        meta, body = split_front_matter(file.text)
        title = meta.get("title")
        return meta, chunk_markdown(file.source, body, str(title) if title else None, limit)
    if file.kind == "html":
        title, body = html_to_markdown(file.text)
        return {}, chunk_markdown(file.source, body, title or None, limit)
    return {}, chunk_text(file.source, file.text, limit)
