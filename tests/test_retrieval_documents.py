"""Reading and chunking documents: headings, anchors, HTML, text, and files that are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.retrieval.documents import (
    SourceFile,
    chunk_file,
    chunk_markdown,
    discover,
    html_to_markdown,
    load,
    markup_problems,
    slugify,
    split_front_matter,
)
from assistant.retrieval.models import SkippedFile

RUNBOOK = """\
---
title: Disk full
service: postgres
alerts: [DiskSpaceLow, DiskWillFillIn4h]
---
# Disk full

Intro paragraph.

## Symptoms

Writes fail with ENOSPC.

### On the database

PANIC in the log.

## Mitigation

```bash
# not a heading: a comment in a code block
du -xh /var/lib/data
```

1. Free space.

## Mitigation

A second section with the same heading.

## Empty section
"""


def test_slugify_matches_github_anchors() -> None:
    assert slugify("Disk filling up or full") == "disk-filling-up-or-full"
    assert slugify("5xx errors after a deploy!") == "5xx-errors-after-a-deploy"
    assert slugify("node_load1") == "node_load1"
    assert slugify("장애 등급") == "장애-등급"
    assert slugify("The first 15 minutes") == "the-first-15-minutes"


def test_front_matter_is_parsed_and_removed() -> None:
    meta, body = split_front_matter(RUNBOOK)
    assert meta == {
        "title": "Disk full",
        "service": "postgres",
        "alerts": ["DiskSpaceLow", "DiskWillFillIn4h"],
    }
    assert body.startswith("# Disk full")


def test_front_matter_that_is_not_yaml_mapping_stays_content() -> None:
    meta, body = split_front_matter("---\n- just\n- a list\n---\n# T\n")
    assert meta == {}
    assert body.startswith("---")


def test_markdown_chunks_by_level_two_headings_with_anchors() -> None:
    _, body = split_front_matter(RUNBOOK)
    chunks = chunk_markdown("runbooks/disk.md", body, title="Disk full")
    assert [c.id for c in chunks] == [
        "runbooks/disk.md#disk-full",
        "runbooks/disk.md#symptoms",
        "runbooks/disk.md#mitigation",
        "runbooks/disk.md#mitigation-1",
    ]
    symptoms = chunks[1]
    assert symptoms.heading == "Symptoms"
    assert symptoms.title == "Disk full"
    # the level-3 heading stays inside its level-2 section
    assert "### On the database" in symptoms.text and "PANIC" in symptoms.text
    # a '#' line inside a fenced block is not a heading
    assert "# not a heading" in chunks[2].text
    assert chunks[3].text.endswith("A second section with the same heading.")
    # a heading with no text under it gives no chunk
    assert all("Empty section" not in c.text for c in chunks)


def test_preamble_before_first_heading_is_a_chunk() -> None:
    chunks = chunk_markdown("notes.md", "Some words first.\n\n## Later\n\nMore.\n")
    assert [(c.anchor, c.heading) for c in chunks] == [("", "notes.md"), ("later", "Later")]


def test_long_section_is_split_at_subheadings_then_paragraphs() -> None:
    para = "word " * 60  # 300 characters
    body = "## Big\n\n" + "\n\n".join([para] * 3) + "\n\n### Sub\n\n" + "\n\n".join([para] * 3)
    chunks = chunk_markdown("big.md", body, limit=700)
    assert all(len(c.text) <= 700 for c in chunks)
    ids = [c.id for c in chunks]
    assert ids[0] == "big.md#big"
    assert "big.md#sub" in ids
    assert any(i.endswith("~2") for i in ids)  # parts of one section are numbered
    total_words = sum(c.text.count("word") for c in chunks)
    assert total_words == 6 * 60  # nothing lost, nothing doubled


def test_html_headings_become_sections() -> None:
    html = (
        "<html><head><title>Gateway notes</title><style>p {}</style></head><body>"
        "<nav>menu</nav><h1>Gateway</h1><p>Edge &amp; TLS.</p>"
        "<h2>Restart</h2><ul><li>drain gw-01</li><li>restart</li></ul>"
        "<pre># keep me\nsystemctl restart gw</pre><script>alert(1)</script></body></html>"
    )
    title, md = html_to_markdown(html)
    assert title == "Gateway notes"
    assert "menu" not in md and "alert(1)" not in md and "p {}" not in md
    chunks = chunk_markdown("gw.html", md, title=title)
    assert [c.anchor for c in chunks] == ["gateway", "restart"]
    assert "Edge & TLS." in chunks[0].text
    assert "- drain gw-01" in chunks[1].text
    assert "# keep me" in chunks[1].text  # inside <pre>: not a heading


def test_plain_text_is_chunked_by_paragraphs() -> None:
    f = SourceFile(Path("x.txt"), "notes/x.txt", "text", "one\n\ntwo\n", "d")
    meta, chunks = chunk_file(f)
    assert meta == {}
    assert [(c.id, c.heading, c.text) for c in chunks] == [("notes/x.txt#", "x.txt", "one\n\ntwo")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\t\n", "empty file (only whitespace)"),
        (b"PNG\x00\x01\x02binary", "binary file (contains NUL bytes)"),
        ("장애 대응".encode("cp949"), "not UTF-8"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    got = load(path, "bad.md")
    assert isinstance(got, SkippedFile)
    assert got.reason.startswith(reason)
    assert got.path == str(path)


def _markdown(tmp_path: Path, text: str) -> SourceFile:
    path = tmp_path / "doc.md"
    path.write_text(text)
    got = load(path, "doc.md")
    assert isinstance(got, SourceFile)
    return got


def test_a_fence_line_with_an_info_string_does_not_close_a_block(tmp_path: Path) -> None:
    # As in a real OpenShift runbook: a closing fence typed as `` (two backticks), so the
    # next ```bash sits inside the block and the ``` after it closes it (CommonMark).
    got = _markdown(tmp_path, "# Alert\n\n## Diagnosis\n\n```promql\nrate(x[2m])\n``\n"
                    "text\n\n```bash\n$ oc get vmi\n```\n\n## Mitigation\n\nMigrate the VM.\n")
    _, chunks = chunk_file(got)
    assert [c.heading for c in chunks] == ["Diagnosis", "Mitigation"]
    assert markup_problems(got) == []


def test_an_unclosed_fence_is_named_by_its_line(tmp_path: Path) -> None:
    got = _markdown(tmp_path, "# A\n\n## Steps\n\n~~~~\nrun it\n~~~\n\n## More\n\ntext\n")
    [problem] = markup_problems(got)
    assert problem.startswith("the code fence opened at line 5 (~~~~) is never closed")
    _, chunks = chunk_file(got)
    assert [c.heading for c in chunks] == ["Steps"]  # "## More" is inside the code
    closed = _markdown(tmp_path, "# A\n\n## Steps\n\n~~~\nrun it\n~~~~\n\n## More\n\nx\n")
    assert markup_problems(closed) == []


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_text("# H\n\n" + "x" * 5000)
    got = load(path, "huge.md", max_bytes=1000)
    assert isinstance(got, SkippedFile)
    assert got.reason.startswith("too large")


def test_utf8_with_bom_and_crlf_is_read(tmp_path: Path) -> None:
    path = tmp_path / "win.md"
    path.write_bytes("\ufeff# Title\r\n\r\nBody\r\n".encode())
    got = load(path, "win.md")
    assert isinstance(got, SourceFile)
    assert got.text == "# Title\n\nBody\n"
    _, chunks = chunk_file(got)
    assert [c.id for c in chunks] == ["win.md#title"]


def test_discover_walks_folders_and_reports_what_it_refuses(tmp_path: Path) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("# A\n\nx\n")
    (tmp_path / "docs" / "sub" / "b.html").write_text("<h1>B</h1><p>y</p>")
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "docs" / ".hidden.md").write_text("# hidden\n\nz\n")
    (tmp_path / "docs" / ".git").mkdir()
    (tmp_path / "docs" / ".git" / "c.md").write_text("# C\n\nz\n")
    (tmp_path / "script.py").write_text("print()")
    found, skipped, ignored = discover(
        [tmp_path / "docs", tmp_path / "script.py", tmp_path / "missing"]
    )
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["docs/a.md", "docs/sub/b.html"]
    assert ignored == 1  # image.png inside the folder
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert reasons["script.py"].startswith("unsupported file type '.py'")
    assert reasons["missing"] == "no such file or directory"
