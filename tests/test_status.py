"""`opsa status`: what a data directory holds, read without changing anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from assistant.cli import app
from assistant.ingest.pipeline import ingest_paths


def _status(data: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["--data-dir", str(data), "status", *args])
    return res.exit_code, res.stdout


def test_status_says_what_was_ingested_and_when(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-11-20T11:{m:02d}:00Z web-7 shop[1]: ERROR cart {m} failed\n"
                           for m in range(4)) + "2026-11-20T11:30:00Z web-8 shop[1]: INFO ok\n")
    data = tmp_path / "data"
    ingest_paths(data / "telemetry.duckdb", "logs", [log], progress=False)
    code, out = _status(data, "--json")
    assert code == 0
    st = json.loads(out)
    assert st["store"] and st["logs"]["rows"] == 5 and st["samples"]["rows"] == 0
    assert st["logs"]["first"].startswith("2026-11-20T11:00") and \
        st["logs"]["last"].startswith("2026-11-20T11:30")
    assert st["hosts"] == ["web-7", "web-8"] and st["services"] == ["shop"]
    assert st["levels"] == {"error": 4, "info": 1}
    assert [s["path"] for s in st["sources"]] == [str(log)] and st["sources"][0]["rows"] == 5
    code, text = _status(data)
    assert code == 0 and "log lines: 5, 2026-11-20 11:00 to 2026-11-20 11:30 UTC" in text
    assert "hosts: web-7, web-8" in text


def test_status_of_an_empty_directory_says_how_to_start_and_creates_nothing(
        tmp_path: Path) -> None:
    code, out = _status(tmp_path / "none")
    assert code == 0 and "opsa ingest" in out and "opsa index docs" in out
    assert not (tmp_path / "none").exists()


def test_a_local_index_is_counted_without_loading_chroma(tmp_path: Path) -> None:
    """The counts are read from Chroma's own SQLite file, equal to what a Chroma client
    counts (deletes included), and `opsa status` does not import chromadb to get them."""
    import chromadb

    data = tmp_path / "data"
    client = chromadb.PersistentClient(path=str(data / "chroma"))
    docs = client.create_collection("docs", embedding_function=None)
    docs.add(ids=[f"d{i}" for i in range(7)],
             embeddings=np.array([[float(i), 1.0] for i in range(7)], dtype=np.float32),
             documents=[f"doc {i}" for i in range(7)])
    docs.delete(ids=["d0", "d1"])
    events = client.create_collection("events", embedding_function=None)
    events.add(ids=["e1"], embeddings=np.array([[0.0, 1.0]], dtype=np.float32),
               documents=["deploy"])
    expected = {c.name: c.count() for c in (docs, events)}
    assert expected == {"docs": 5, "events": 1}

    code = ("import sys; from assistant.cli import main; sys.argv = ['opsa', '--data-dir', "
            f"{str(data)!r}, 'status', '--json']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('chromadb' in sys.modules, 'assistant.retrieval' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    st_text, loaded = out.rsplit("\n", 2)[:2]
    assert loaded == "False False"
    st = json.loads(st_text)
    assert st["indexed"] == expected and st["problems"] == []


def test_a_damaged_index_is_a_problem_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "chroma").mkdir(parents=True)
    (data / "chroma" / "chroma.sqlite3").write_bytes(b"not a database" * 100)
    code, out = _status(data, "--json")
    st = json.loads(out)
    assert code == 0 and st["indexed"] == {}
    assert st["problems"] == ["the search index could not be read: file is not a database"]
