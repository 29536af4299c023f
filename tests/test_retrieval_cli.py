"""`opsa index ...` and `opsa search ...` end to end, with the hash embedder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from retrieval_fakes import HashEmbedder
from typer.testing import CliRunner

import assistant.cli  # noqa: F401  (registers every command)
from assistant.cli import search_cmds
from assistant.cli.common import app
from assistant.retrieval import Retriever
from assistant.services import Services
from assistant.settings import Settings
from connectors.base import Catalog, Event, MetricInfo, Result

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_cmds, "_retriever", lambda s: Retriever(s, embedder=HashEmbedder()))


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "state"), "--now", NOW.isoformat(), *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_index_docs_then_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "disk.md").write_text("# Disk full\n\n## Mitigation\n\nFree space on db-01.\n")
    (docs / "bad.md").write_bytes(b"\x00\x00")
    monkeypatch.chdir(tmp_path)

    code, out, err = run(tmp_path, "index", "docs", "docs")
    assert code == 0, err
    assert "docs: 1 added" in out and "1 skipped" in out
    assert "skipped" in err and "binary file" in err

    code, out, _ = run(tmp_path, "search", "disk is full on db-01", "--json")
    assert code == 0
    hits = json.loads(out)
    assert hits[0]["source"] == "docs/disk.md"
    assert hits[0]["heading"] == "Mitigation"
    assert hits[0]["collection"] == "docs" and hits[0]["id"] == "docs/disk.md#mitigation"
    assert hits[0]["exact"] == ["db-01"] and hits[0]["score"] >= 1.0
    assert {"collection", "id", "source", "heading", "score", "text"} <= set(hits[0])

    code, out, _ = run(tmp_path, "search", "disk is full on db-01", "-k", "1")
    assert code == 0
    assert "1. docs/disk.md#mitigation" in out and "exact: db-01" in out


def test_large_file_limit_and_markup_warnings_on_the_command_line(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "big.md").write_text("# Big\n\n## Body\n\n" + "many words here " * 200_000)
    (docs / "open.md").write_text("# Open\n\n## Fix\n\n```\nrestart it\n")
    (docs / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    code, out, err = run(tmp_path, "index", "docs", str(docs))
    assert code == 0, err
    assert "docs: 1 added" in out and "1 skipped" in out and "1 indexed with warnings" in out
    assert "1 files of other types ignored" in out
    assert "big.md: too large: 3.2 MB (limit 2.0 MB); split it, or raise the limit with " \
           "--max-file-mb 4" in err
    assert "open.md: the code fence opened at line 5 (```) is never closed" in err

    code, out, err = run(tmp_path, "index", "docs", str(docs), "--max-file-mb", "4")
    assert code == 0, err
    assert "docs: 1 added" in out and "1 unchanged" in out and "skipped" not in out


def test_max_file_mb_default_is_the_retrievers() -> None:
    from assistant.retrieval.documents import MAX_FILE_BYTES

    assert search_cmds.MAX_FILE_MB * 1_000_000 == MAX_FILE_BYTES


def test_search_empty_collection_says_what_to_run(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "search", "anything", "--collection", "events")
    assert code == 1
    assert "the events collection is empty; run `opsa index events`" in err


def test_index_docs_with_nothing_indexable_fails(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "index", "docs", str(tmp_path / "missing"))
    assert code == 1
    assert "no such file or directory" in err and "nothing was indexed" in err


def test_prune_drops_expired_events(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "state")
    r = Retriever(settings, embedder=HashEmbedder())
    r.index_events(
        [
            Event(id="old", ts=NOW - timedelta(days=13, hours=23), kind="alert", title="x"),
            Event(id="new", ts=NOW - timedelta(hours=1), kind="alert", title="y"),
        ],
        now=NOW,
    )
    code, out, err = run(tmp_path, "index", "--prune")
    assert code == 0, err
    assert "0 removed" in out  # still inside 14 days at the pinned clock
    later = (NOW + timedelta(days=1)).isoformat()
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "state"), "--now", later, "index", "events", "--prune"]
    )
    assert result.exit_code == 0, result.stderr
    assert "1 removed" in result.stdout
    assert [h.id for h in r.search("alert", collection="events")] == ["new"]


class FakeEvents:
    name = "fake"

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.queries: list[object] = []

    def run(self, query: object) -> Result:
        self.queries.append(query)
        return Result(connector="fake", native="-", events=self.events)


class FakeServices(Services):
    """`Services` with a fixed catalog and event list instead of real backends."""

    last: FakeServices | None = None

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.__dict__["catalog"] = Catalog(  # cached_property slots
            metrics=[MetricInfo(name="node_load1", type="gauge", labels={"host": ["web-01"]})],
            services=["checkout"],
            hosts=["web-01"],
        )
        self.events_backend_fake = FakeEvents(
            [
                Event(id="d1", ts=NOW - timedelta(hours=2), kind="deploy", title="Deploy v2"),
                Event(id="old", ts=NOW - timedelta(days=20), kind="alert", title="ancient"),
            ]
        )
        self.__dict__["events_backend"] = self.events_backend_fake
        self.closed = False
        FakeServices.last = self

    def close(self) -> None:
        self.closed = True


def test_index_catalog_and_events_from_the_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.services

    monkeypatch.setattr(assistant.services, "Services", FakeServices)
    code, out, err = run(tmp_path, "index", "catalog")
    assert code == 0, err
    assert "catalog: 3 added" in out
    assert FakeServices.last is not None and FakeServices.last.closed

    code, out, err = run(tmp_path, "index", "events", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["added"], report["expired"]) == (1, 1)
    query = FakeServices.last.events_backend_fake.queries[0]
    assert query.time_range.start == NOW - timedelta(days=14)  # type: ignore[attr-defined]

    code, out, _ = run(tmp_path, "search", "node_load1", "--collection", "catalog", "--json")
    assert code == 0
    assert json.loads(out)[0]["id"] == "metric:node_load1"
    code, out, _ = run(tmp_path, "search", "deploy", "-c", "events", "--kind", "deploy", "--json")
    assert [h["id"] for h in json.loads(out)] == ["d1"]
