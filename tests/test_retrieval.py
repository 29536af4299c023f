"""The retriever on a local Chroma store, with a fast hash embedder (no model needed)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from retrieval_fakes import HashEmbedder, make_retriever

from assistant.errors import RetrievalError
from assistant.retrieval import Hit, Retriever
from connectors.base import Catalog, Event, MetricInfo

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

DISK = """\
---
service: postgres
kind: runbook
---
# Disk full

## Symptoms

Writes fail with ENOSPC on db-01; node_filesystem_avail_bytes drops.

## Mitigation

Free space on /var/lib/data. Rotate logs.
"""
CPU = """\
---
service: checkout
kind: runbook
---
# CPU saturation

## Symptoms

One host pegged: check node_cpu_usage_percent for web-03.

## Mitigation

Drain the busy host from the pool.
"""
HANDBOOK = """\
# On-call handbook

## Handover

At the end of a shift write down open incidents and silences.

## Severity levels

SEV1 means the shop is down; SEV2 a degraded core flow.
"""


def write_docs(root: Path) -> Path:
    docs = root / "docs"
    (docs / "runbooks").mkdir(parents=True)
    (docs / "runbooks" / "disk.md").write_text(DISK)
    (docs / "runbooks" / "cpu.md").write_text(CPU)
    (docs / "handbook.md").write_text(HANDBOOK)
    return docs


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    return write_docs(tmp_path)


@pytest.fixture
def retriever(tmp_path: Path) -> Retriever:
    return make_retriever(tmp_path / "state")


def refs(hits: list[Hit]) -> list[str]:
    return [f"{h.source}#{h.metadata['anchor']}" for h in hits]


# --- docs ------------------------------------------------------------------------------------


def test_index_docs_reports_and_chunks(retriever: Retriever, docs_dir: Path) -> None:
    report = retriever.index_docs([docs_dir], base=docs_dir)
    assert (report.added, report.updated, report.unchanged, report.removed) == (3, 0, 0, 0)
    assert report.chunks == 6  # two sections per file; the bare "# Title" lines have no body
    assert retriever.count("docs") == report.chunks
    hits = retriever.search("free space rotate logs", k=1)
    assert refs(hits) == ["runbooks/disk.md#mitigation"]
    hit = hits[0]
    assert hit.collection == "docs"
    assert hit.heading == "Mitigation"
    assert hit.metadata["title"] == "Disk full"
    assert hit.metadata["service"] == "postgres"
    assert hit.text.startswith("## Mitigation")


def test_reindex_only_embeds_what_changed(tmp_path: Path, docs_dir: Path) -> None:
    emb = HashEmbedder()
    r = make_retriever(tmp_path / "state", embedder=emb)
    first = r.index_docs([docs_dir], base=docs_dir)
    embedded = emb.documents_embedded
    assert embedded == first.chunks

    again = r.index_docs([docs_dir], base=docs_dir)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 3, 0)
    assert emb.documents_embedded == embedded  # nothing re-embedded

    (docs_dir / "runbooks" / "cpu.md").write_text(CPU.replace("Drain", "Drain or restart"))
    (docs_dir / "handbook.md").unlink()
    (docs_dir / "new.md").write_text("# New\n\n## Only\n\nfresh page about gw-01\n")
    changed = r.index_docs([docs_dir], base=docs_dir)
    assert (changed.added, changed.updated, changed.unchanged, changed.removed) == (1, 1, 1, 1)
    assert changed.chunks == 2 + 1  # cpu.md's two sections and new.md's one are written
    # ...but cpu.md's Symptoms section did not change: its stored vector is reused
    assert changed.embedded == 1 + 1
    assert emb.documents_embedded == embedded + changed.embedded
    assert "3 entries written (2 embedded, 1 vectors reused)" in changed.summary()
    sources = {h.source for h in r.search("shift handover severity incidents", k=20)}
    assert "handbook.md" not in sources
    assert refs(r.search("restart", k=1)) == ["runbooks/cpu.md#mitigation"]
    assert refs(r.search("gw-01", k=1)) == ["new.md#only"]


def test_repeated_and_moved_sections_are_embedded_once(tmp_path: Path, docs_dir: Path) -> None:
    emb = HashEmbedder()
    r = make_retriever(tmp_path / "state", embedder=emb)
    (docs_dir / "archive").mkdir()
    (docs_dir / "archive" / "disk.md").write_text(DISK)  # a copy: same title, same sections
    first = r.index_docs([docs_dir], base=docs_dir)
    assert first.chunks == 6 + 2 and first.embedded == 6  # the copy's sections reuse vectors
    assert emb.documents_embedded == first.embedded
    assert r.count("docs") == 8
    (docs_dir / "handbook.md").rename(docs_dir / "guide.md")  # same text, new source
    moved = r.index_docs([docs_dir], base=docs_dir)
    assert (moved.added, moved.removed, moved.chunks, moved.embedded) == (1, 1, 2, 0)
    assert emb.documents_embedded == first.embedded
    assert refs(r.search("shift handover incidents", k=1)) == ["guide.md#handover"]


def test_bad_files_are_skipped_with_a_report(retriever: Retriever, docs_dir: Path) -> None:
    (docs_dir / "empty.md").write_bytes(b"")
    (docs_dir / "blob.md").write_bytes(b"\x00\x01binary")
    (docs_dir / "euckr.txt").write_bytes("디스크 장애".encode("euc-kr"))
    (docs_dir / "huge.md").write_text("# Huge\n\n" + "x" * 3_000_000)
    (docs_dir / "headings-only.md").write_text("# Title\n\n## Nothing under it\n")
    report = retriever.index_docs([docs_dir], base=docs_dir)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.md", "blob.md", "euckr.txt", "huge.md", "headings-only.md"}
    assert reasons["empty.md"] == "empty file"
    assert reasons["blob.md"].startswith("binary file")
    assert reasons["euckr.txt"].startswith("not UTF-8")
    assert reasons["huge.md"].startswith("too large")
    assert reasons["headings-only.md"] == "no text under any heading"
    assert report.added == 3  # the good files still went in
    assert "5 skipped" in report.summary()


def test_progress_counts_the_texts_actually_embedded(tmp_path: Path, docs_dir: Path) -> None:
    r = make_retriever(tmp_path / "state")
    (docs_dir / "copy.md").write_text(DISK)  # its sections repeat disk.md's: embedded once
    calls: list[tuple[int, int]] = []
    report = r.index_docs([docs_dir], base=docs_dir, progress=lambda d, t: calls.append((d, t)))
    assert report.chunks == 8 and report.embedded == 6
    assert calls and calls[-1] == (6, 6) and all(t == 6 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_folder_of_mixed_files_indexes_what_it_can(retriever: Retriever, docs_dir: Path) -> None:
    (docs_dir / "diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (docs_dir / "logo.svg").write_text("<svg/>")
    (docs_dir / "notes.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3")
    (docs_dir / "tarball.md").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)))
    (docs_dir / "big.md").write_bytes(b"# Big\n\n" + b"lorem ipsum " * 900_000)  # 10.8 MB
    (docs_dir / "broken.md").write_text(
        "# Broken\n\n## Steps\n\nRun this:\n\n```bash\nsystemctl restart kubelet\n\n"
        "## Verify\n\nkubectl get nodes\n")
    report = retriever.index_docs([docs_dir], base=docs_dir)
    assert report.added == 3 + 1  # the three good files and the broken one
    assert report.ignored == 3  # the image, the drawing and the PDF: counted, not read
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"tarball.md", "big.md"}
    assert reasons["tarball.md"] == "binary file (contains NUL bytes)"
    assert reasons["big.md"] == ("too large: 10.8 MB (limit 2.0 MB); split it, or raise the "
                                 "limit with --max-file-mb 11")
    [warning] = report.warnings
    assert Path(warning.path).name == "broken.md"
    assert warning.reason.startswith("the code fence opened at line 7 (```) is never closed")
    assert "1 indexed with warnings" in report.summary()
    assert "3 files of other types ignored" in report.summary()
    assert refs(retriever.search("systemctl restart kubelet", k=1)) == ["broken.md#steps"]


def test_a_file_that_turns_bad_is_removed(retriever: Retriever, docs_dir: Path) -> None:
    retriever.index_docs([docs_dir], base=docs_dir)
    (docs_dir / "handbook.md").write_bytes(b"\xff\xfe broken")
    report = retriever.index_docs([docs_dir], base=docs_dir)
    assert report.removed == 1 and len(report.skipped) == 1
    assert all(h.source != "handbook.md" for h in retriever.search("handover shift", k=10))


def test_sources_default_to_paths_relative_to_the_working_dir(
    retriever: Retriever, docs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(docs_dir.parent)
    retriever.index_docs([Path("docs/runbooks/disk.md")])
    assert {h.source for h in retriever.search("disk", k=5)} == {"docs/runbooks/disk.md"}


def test_exact_identifier_ranks_first(retriever: Retriever, docs_dir: Path) -> None:
    retriever.index_docs([docs_dir], base=docs_dir)
    for query, expected in [
        ("web-03", "runbooks/cpu.md#symptoms"),
        ("what is node_filesystem_avail_bytes", "runbooks/disk.md#symptoms"),
        ("ENOSPC", "runbooks/disk.md#symptoms"),
        ("pool for /var/lib/data", "runbooks/disk.md#mitigation"),
    ]:
        hits = retriever.search(query, k=3)
        assert refs(hits)[0] == expected, query
        assert hits[0].exact and hits[0].score >= 1.0
        assert all(not h.exact and h.score < 1.0 for h in hits[1:]), query


def test_filters_by_metadata(retriever: Retriever, docs_dir: Path) -> None:
    retriever.index_docs([docs_dir], base=docs_dir)
    only_checkout = retriever.search("symptoms mitigation", k=10, where={"service": "checkout"})
    assert {h.source for h in only_checkout} == {"runbooks/cpu.md"}
    both = retriever.search("symptoms", k=10, where={"service": ["checkout", "postgres"]})
    assert {h.source for h in both} == {"runbooks/cpu.md", "runbooks/disk.md"}
    guides = retriever.search("severity", k=10, where={"kind": "doc"})
    assert {h.source for h in guides} == {"handbook.md"}
    # an exact identifier outside the filter does not leak in
    hits = retriever.search("web-03", k=10, where={"service": "postgres"})
    assert hits and all(h.source == "runbooks/disk.md" and not h.exact for h in hits)
    assert retriever.search("anything", where={"service": "nope"}) == []
    with pytest.raises(RetrievalError, match="not supported"):
        retriever.search("x", where={"service": {"$ne": "x"}})  # type: ignore[dict-item]


def test_search_argument_errors(retriever: Retriever) -> None:
    assert retriever.search("nothing indexed yet") == []
    with pytest.raises(RetrievalError, match="empty"):
        retriever.search("   ")
    with pytest.raises(RetrievalError, match="unknown collection"):
        retriever.search("x", collection="nope")  # type: ignore[arg-type]
    with pytest.raises(RetrievalError, match="events collection only"):
        retriever.search("x", since=NOW)


# --- catalog ------------------------------------------------------------------------------------


def catalog(*metrics: str, hosts: tuple[str, ...] = ("web-01", "web-02")) -> Catalog:
    return Catalog(
        metrics=[
            MetricInfo(
                name=m,
                type="gauge",
                help=f"help for {m}",
                unit="percent",
                labels={"host": list(hosts), "service": ["checkout"]},
            )
            for m in metrics
        ],
        services=["checkout"],
        hosts=list(hosts),
    )


def test_catalog_refresh(tmp_path: Path) -> None:
    emb = HashEmbedder()
    r = make_retriever(tmp_path, embedder=emb)
    first = r.index_catalog(catalog("node_cpu_usage_percent", "node_load1"))
    assert (first.added, first.chunks) == (2 + 1 + 2, 5)
    hit = r.search("node_load1", collection="catalog", k=1)[0]
    assert hit.id == "metric:node_load1" and hit.exact == ["node_load1"]
    assert hit.metadata["kind"] == "metric" and hit.metadata["name"] == "node_load1"
    assert "help for node_load1" in hit.text and "web-02" in hit.text
    host = r.search("web-02", collection="catalog", k=1, where={"kind": "host"})[0]
    assert host.id == "host:web-02" and "node_load1" in host.text

    before = emb.documents_embedded
    second = r.index_catalog(catalog("node_cpu_usage_percent", "node_memory_usage_percent"))
    # node_load1 gone, node_memory_usage_percent new; the hosts and service list their
    # metrics, so they changed too; node_cpu_usage_percent did not
    assert second.removed == 1
    assert second.added == 1
    assert second.unchanged == 1
    assert second.updated == 3
    assert emb.documents_embedded - before == second.added + second.updated
    ids = {h.id for h in r.search("metric", collection="catalog", k=20)}
    assert "metric:node_load1" not in ids and "metric:node_memory_usage_percent" in ids


# --- events -------------------------------------------------------------------------------------


def event(i: str, hours_ago: float, **kw: object) -> Event:
    base: dict[str, object] = {
        "id": i,
        "ts": NOW - timedelta(hours=hours_ago),
        "kind": "alert",
        "title": f"event {i}",
    }
    base.update(kw)
    return Event.model_validate(base)


def test_events_retention_dedupe_and_prune(retriever: Retriever) -> None:
    events = [
        event("a", 1, service="checkout", title="HighErrorRate: checkout 5xx", severity="critical"),
        event("b", 24 * 13, kind="deploy", service="checkout", title="Deploy checkout v2.14.0"),
        event("old", 24 * 15, title="too old"),
        # ended inside the window although it started before: kept
        event("long", 24 * 15, end=NOW - timedelta(days=13), kind="incident", title="long one"),
        event("a", 0.5, service="checkout", title="HighErrorRate: checkout 5xx (resolved)"),
    ]
    report = retriever.index_events(events, now=NOW)
    assert (report.added, report.expired, report.duplicates) == (3, 1, 1)
    assert retriever.count("events") == 3
    hit = retriever.search("checkout errors", collection="events", k=1, where={"kind": "alert"})[0]
    assert hit.id == "a" and hit.heading.endswith("(resolved)")  # the last duplicate won
    assert "severity" not in hit.metadata  # replaced whole, not merged
    assert hit.metadata["service"] == "checkout" and hit.metadata["kind"] == "alert"

    # re-sending the stored version of an event changes nothing; another version replaces it
    same = retriever.index_events(events[4:], now=NOW)
    assert (same.unchanged, same.updated, same.chunks) == (1, 0, 0)
    other = retriever.index_events(events[:1], now=NOW)
    assert (other.unchanged, other.updated, other.chunks) == (0, 1, 1)
    retriever.index_events(events[4:], now=NOW)

    # a day later "b" (13 days old) is still in, two days later it is pruned
    assert retriever.prune(NOW + timedelta(days=0, hours=12)).removed == 0
    pruned = retriever.prune(NOW + timedelta(days=2))
    assert pruned.removed == 2  # "b" and "long"
    assert {h.id for h in retriever.search("event", collection="events", k=10)} == {"a"}

    # inserting later also enforces retention on what is stored
    late = retriever.index_events(
        [event("c", -24 * 20, title="far future")], now=NOW + timedelta(days=20)
    )
    assert late.removed == 1 and retriever.count("events") == 1


def test_events_time_window(retriever: Retriever) -> None:
    retriever.index_events(
        [
            event("e1", 10, title="deploy one", kind="deploy"),
            event("e2", 5, title="deploy two", kind="deploy"),
            event("e3", 1, title="deploy three", kind="deploy", end=NOW),
        ],
        now=NOW,
    )
    got = retriever.search(
        "deploy",
        collection="events",
        k=10,
        since=NOW - timedelta(hours=6),
        until=NOW - timedelta(hours=2),
    )
    assert {h.id for h in got} == {"e2"}
    overlapping = retriever.search(
        "deploy", collection="events", k=10, since=NOW - timedelta(minutes=30)
    )
    assert {h.id for h in overlapping} == {"e3"}  # started before, still running


# --- persistence ---------------------------------------------------------------------------------


def test_collections_reopen_with_their_embedding_function(tmp_path: Path, docs_dir: Path) -> None:
    make_retriever(tmp_path / "state").index_docs([docs_dir], base=docs_dir)

    # a fresh retriever (new client) finds everything again
    fresh = make_retriever(tmp_path / "state")
    assert refs(fresh.search("rotate logs", k=1)) == ["runbooks/disk.md#mitigation"]

    # plain Chroma, without passing an embedding function, reopens the collection with ours
    client = chromadb.PersistentClient(
        path=str(tmp_path / "state" / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    col = client.get_collection("docs")
    assert col.configuration_json["embedding_function"]["name"] == "opsa-hash"
    res = col.query(query_texts=["rotate logs free space"], n_results=1)
    assert res["ids"][0] == ["runbooks/disk.md#mitigation"]


def test_changes_by_another_process_are_seen(tmp_path: Path, docs_dir: Path) -> None:
    reader = make_retriever(tmp_path / "state")
    writer = make_retriever(tmp_path / "state")
    writer.index_docs([docs_dir / "runbooks" / "disk.md"], base=docs_dir)
    assert {h.source for h in reader.search("symptoms", k=10)} == {"runbooks/disk.md"}
    writer.index_docs([docs_dir / "runbooks" / "cpu.md"], base=docs_dir)
    assert {h.source for h in reader.search("symptoms", k=10)} == {
        "runbooks/disk.md",
        "runbooks/cpu.md",
    }


def test_a_collection_rebuilt_elsewhere_is_reopened(tmp_path: Path, docs_dir: Path) -> None:
    reader = make_retriever(tmp_path / "state")
    writer = make_retriever(tmp_path / "state")
    writer.index_docs([docs_dir], base=docs_dir)
    assert reader.search("rotate logs", k=1)
    writer.reset("docs")
    assert reader.search("rotate logs", k=1) == []
    writer.index_docs([docs_dir / "runbooks" / "cpu.md"], base=docs_dir)
    assert {h.source for h in reader.search("rotate logs drain", k=5)} == {"runbooks/cpu.md"}


def test_embedder_mismatch_is_refused(tmp_path: Path, docs_dir: Path) -> None:
    make_retriever(tmp_path).index_docs([docs_dir], base=docs_dir)

    class Other(HashEmbedder):
        name = "other"

    other = make_retriever(tmp_path, embedder=Other())
    with pytest.raises(RetrievalError, match="built with the 'hash' embedder"):
        other.search("disk")
    other.reset("docs")
    assert other.index_docs([docs_dir], base=docs_dir).added == 3


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    r = make_retriever(tmp_path, url=url)
    with pytest.raises(RetrievalError, match=f"cannot reach the Chroma server at {url}"):
        r.search("anything")


def test_indexing_one_folder_leaves_other_folders_alone(
    retriever: Retriever, docs_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "team-wiki"
    other.mkdir()
    (other / "page.md").write_text("# Wiki\n\n## Escalation\n\nCall the duty manager.\n")
    retriever.index_docs([other], base=other)
    report = retriever.index_docs([docs_dir], base=docs_dir)
    assert (report.added, report.removed) == (3, 0)
    assert refs(retriever.search("duty manager", k=1)) == ["page.md#escalation"]
    # a named file that disappears is removed, but only that one
    (docs_dir / "handbook.md").unlink()
    gone = retriever.index_docs([docs_dir / "handbook.md"], base=docs_dir)
    assert gone.removed == 1 and gone.skipped[0].reason == "no such file or directory"
    assert retriever.count("docs") == 2 + 2 + 1


def test_large_collections_are_read_in_pages(
    retriever: Retriever, docs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.retrieval import store

    monkeypatch.setattr(store, "READ_PAGE", 2)  # SQLite caps variables per query
    first = retriever.index_docs([docs_dir], base=docs_dir)
    assert first.chunks == 6
    assert retriever.index_docs([docs_dir], base=docs_dir).unchanged == 3
    assert len(retriever.search("symptoms mitigation", k=10)) == 6
    events = [event(f"e{i}", 24 * 15 if i % 2 else 1) for i in range(7)]
    retriever.index_events(events[::2], now=NOW)  # the fresh ones
    assert retriever.prune(NOW + timedelta(days=14)).removed == 4


def test_filtered_vector_search_same_either_way(
    retriever: Retriever, docs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.retrieval import retriever as retriever_mod

    retriever.index_docs([docs_dir], base=docs_dir)
    retriever.index_events(
        [event(f"e{i}", i * 5, kind=("alert", "deploy")[i % 2], title=f"t {i}") for i in range(30)],
        now=NOW,
    )
    cases: list[tuple[str, str, dict[str, object]]] = [
        ("docs", "host pegged", {"where": {"service": "checkout"}}),
        ("docs", "shift", {"where": {"kind": ["doc", "runbook"]}}),
        ("events", "t 3", {"where": {"kind": "deploy"}}),
        ("events", "t 7", {"since": NOW - timedelta(hours=40)}),
    ]
    here = [refs_or_ids(retriever.search(q, c, k=5, **kw)) for c, q, kw in cases]  # type: ignore[arg-type]
    monkeypatch.setattr(retriever_mod, "OVERFETCH_MAX", 0)  # always filter inside Chroma
    there = [refs_or_ids(retriever.search(q, c, k=5, **kw)) for c, q, kw in cases]  # type: ignore[arg-type]
    assert here == there
    assert all(here)


def refs_or_ids(hits: list[Hit]) -> list[tuple[str, float | None]]:
    return [(h.id, None if h.similarity is None else round(h.similarity, 5)) for h in hits]


def test_korean_documents_match_korean_queries_despite_particles(
    retriever: Retriever, tmp_path: Path
) -> None:
    docs = tmp_path / "ko"
    docs.mkdir()
    (docs / "disk-ko.md").write_text(
        "# 디스크 장애\n\n## 조치\n\n디스크가 가득 차면 오래된 로그를 지우고 볼륨을 늘립니다.\n"
    )
    (docs / "cert-ko.md").write_text("# 인증서\n\n## 조치\n\n인증서를 갱신합니다.\n")
    (docs / "disk-en.md").write_text("# Disk\n\n## Fix\n\nDelete old logs, grow the volume.\n")
    retriever.index_docs([docs], base=docs)
    hits = retriever.search("디스크를 비우려면 로그를 어떻게 지우나요", k=3)
    assert hits[0].id == "disk-ko.md#조치"
    assert hits[0].keyword is not None and hits[0].keyword > 0
    assert retriever.search("인증서 갱신", k=1)[0].source == "cert-ko.md"


class _HeadRecorder(HashEmbedder):
    """Cuts passages to `max_tokens` words and records what it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def head(self, text: str, max_tokens: int) -> str:
        return " ".join(text.split(" ")[:max_tokens])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen.extend(texts)
        return super().embed_documents(texts)


def test_only_the_head_of_a_chunk_is_embedded_but_all_of_it_is_searchable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.retrieval import retriever as retriever_mod

    monkeypatch.setattr(retriever_mod, "DOC_EMBED_TOKENS", 12)
    docs = tmp_path / "docs"
    docs.mkdir()
    filler = " ".join(["words about the volume"] * 30)
    (docs / "disk.md").write_text(f"# Disk full\n\n## Mitigation\n\n{filler} zebraquartz.\n")
    emb = _HeadRecorder()
    retriever = make_retriever(tmp_path / "state", embedder=emb)
    report = retriever.index_docs([docs], base=docs)
    assert report.chunks == 1
    assert emb.seen and all(len(t.split(" ")) <= 12 for t in emb.seen)
    assert emb.seen[0].startswith("Disk full > Mitigation")
    hit = retriever.search("zebraquartz", k=1)[0]  # the tail still counts for keywords
    assert hit.source == "disk.md" and hit.text.endswith("zebraquartz.")
