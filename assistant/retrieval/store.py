"""Chroma plumbing: the client (local files or a server), our embedding functions, collections.

Each embedder gets an embedding function registered with Chroma under ``opsa-<name>``, so
a persisted collection reopens with the embedder it was built with (in this process or any
other that imported this module). Telemetry is off.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, ParamSpec, TypeVar, cast
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.config import Settings as ChromaClientSettings
from chromadb.errors import ChromaError, NotFoundError
from chromadb.utils.embedding_functions import register_embedding_function

from assistant.embedder import EMBEDDERS, Embedder, get_embedder
from assistant.errors import RetrievalError
from assistant.settings import Settings

READ_PAGE = 5000
"""Rows per `get`: SQLite refuses queries with more than 32,766 variables."""
REVISION_KEY = "opsa_revision"
EMBEDDER_KEY = "opsa_embedder"
WRITE_BATCH = 1000


class OpsaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's view of one of our embedders (subclassed once per embedder name)."""

    embedder_name: ClassVar[str] = ""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.embedder_name)
        return self._embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder.embed_documents_array(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [np.asarray(self.embedder.embed_query(t), dtype=np.float32) for t in input]

    @classmethod
    def name(cls) -> str:
        return f"opsa-{cls.embedder_name}"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.embedder_name}

    @classmethod
    def build_from_config(cls, config: dict[str, Any]) -> OpsaEmbeddingFunction:
        return cls()

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]


_EF_CLASSES: dict[str, type[OpsaEmbeddingFunction]] = {}


def embedding_function_class(embedder_name: str) -> type[OpsaEmbeddingFunction]:
    """The registered embedding-function class for `embedder_name` (created once)."""
    cls = _EF_CLASSES.get(embedder_name)
    if cls is None:
        cls = type(
            f"OpsaEmbeddingFunction_{embedder_name}",
            (OpsaEmbeddingFunction,),
            {"embedder_name": embedder_name},
        )
        register_embedding_function(cls)
        _EF_CLASSES[embedder_name] = cls
    return cls


for _name in EMBEDDERS:  # registered at import, so persisted collections reopen anywhere
    embedding_function_class(_name)


def make_client(settings: Settings) -> ClientAPI:
    """A Chroma client: a server when ``chroma.url`` is set, else files under the data dir."""
    client_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
    url = settings.chroma.url
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise RetrievalError(
                f"chroma.url {url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8000"
            )
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 8000)
        try:
            client = chromadb.HttpClient(
                host=parsed.hostname, port=port, ssl=ssl, settings=client_settings
            )
            client.heartbeat()
        except (ValueError, ChromaError, OSError) as exc:
            raise RetrievalError(
                f"cannot reach the Chroma server at {url} ({exc}); start it "
                "(chroma run --path DIR --host 127.0.0.1 --port 8000) or unset chroma.url "
                "to use local files"
            ) from exc
        return client
    path = settings.chroma_path
    check_local_store(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=client_settings)
    except (OSError, ValueError, ChromaError) as exc:
        raise RetrievalError(
            f"cannot open the Chroma store at {path}: {exc}; {REBUILD_HINT}") from exc


SQLITE_FILE = "chroma.sqlite3"
REBUILD_HINT = ("move it aside and rebuild it with `opsa index docs PATH` (and `opsa index "
                "catalog`, `opsa index events`)")
_CHECKED: dict[tuple[str, int, int], None] = {}
_CHECK_LOCK = threading.Lock()


def check_local_store(path: Path) -> None:
    """Refuse, with one line and before Chroma touches anything, a local store it could not
    use: a file where the directory should be, a directory this process may not read or
    write, a database that is not SQLite, damaged (``PRAGMA quick_check``) or emptied
    while collections remain. Chroma itself would re-initialise an empty file (losing the
    collections' records), or fail deep inside its Rust core, printing a panic on stderr.
    A missing store is fine (it is created on first write). Checked once per file state."""
    if not path.exists():
        if path.is_symlink():
            raise RetrievalError(f"the Chroma store {path} is a broken symbolic link; fix or "
                                 "remove it")
        return
    if not path.is_dir():
        raise RetrievalError(f"the Chroma store {path} is not a directory; {REBUILD_HINT} "
                             "(or point --data-dir elsewhere)")
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise RetrievalError(f"cannot use the Chroma store at {path}: permission denied "
                             "(it needs read and write access for this user); fix its owner "
                             "or mode")
    db = path / SQLITE_FILE
    if not db.exists():
        if any(p.is_dir() for p in path.iterdir()):
            raise RetrievalError(f"the Chroma store at {path} has index files but no "
                                 f"{SQLITE_FILE}; {REBUILD_HINT}")
        return
    if not db.is_file():
        raise RetrievalError(f"{db} is not a file; {REBUILD_HINT}")
    if not os.access(db, os.R_OK | os.W_OK):
        raise RetrievalError(f"cannot use the Chroma store at {path}: permission denied on "
                             f"{SQLITE_FILE}; fix its owner or mode")
    st = db.stat()
    if st.st_size == 0:
        if any(p.is_dir() for p in path.iterdir()):
            raise RetrievalError(f"the Chroma store at {path} is damaged: {SQLITE_FILE} is "
                                 f"empty but index files remain; {REBUILD_HINT}")
        return
    key = (str(db.resolve()), st.st_size, st.st_mtime_ns)
    with _CHECK_LOCK:
        if key in _CHECKED:
            return
        problem = _sqlite_problem(db)
        if problem is not None:
            raise RetrievalError(f"the Chroma store at {path} is damaged ({problem}); "
                                 f"{REBUILD_HINT}")
        _CHECKED[key] = None


def _sqlite_problem(db: Path) -> str | None:
    """What is wrong with SQLite file `db` (read-only look), or None when it reads well.
    A busy or locked database is not called damaged: Chroma reports that itself."""
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        rows = con.execute("PRAGMA quick_check").fetchall()
    except sqlite3.OperationalError as exc:
        text = str(exc)
        return text if "malformed" in text or "not a database" in text else None
    except sqlite3.DatabaseError as exc:  # not a database, malformed
        return str(exc)
    finally:
        con.close()
    verdict = "; ".join(str(r[0]) for r in rows[:2])
    return None if verdict == "ok" else f"integrity check: {verdict[:160]}"


def open_collection(
    client: ClientAPI, name: str, embedder: Embedder, create: bool
) -> Collection | None:
    """Collection `name` bound to `embedder`; None if missing and not `create`.

    A collection built with another embedder is refused: its vectors would not compare.
    """
    ef_cls = embedding_function_class(embedder.name)
    raw = peek(client, name)
    if raw is not None:
        stored = (raw.metadata or {}).get(EMBEDDER_KEY)
        if stored is None:
            ef_conf = (raw.configuration_json or {}).get("embedding_function") or {}
            stored = str(ef_conf.get("name", "?")).removeprefix("opsa-")
        if stored != embedder.name:
            raise RetrievalError(
                f"the {name!r} collection was built with the {stored!r} embedder, but "
                f"{embedder.name!r} is configured; set chroma.embedder={stored!r}, or rebuild "
                f"it with `opsa index {name} --rebuild ...`"
            )
        return client.get_collection(name, embedding_function=cast(Any, ef_cls(embedder)))
    if not create:
        return None
    return client.create_collection(
        name,
        embedding_function=cast(Any, ef_cls(embedder)),
        metadata={EMBEDDER_KEY: embedder.name, REVISION_KEY: new_revision()},
        configuration=cast(Any, {"hnsw": {"space": "cosine"}}),
    )


def get_all(
    collection: Collection,
    include: list[str],
    *,
    ids: list[str] | None = None,
    where: Any = None,
) -> dict[str, list[Any]]:
    """`collection.get` for any number of rows (read in pages): ids plus `include`."""
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    if ids is not None:
        for start in range(0, len(ids), READ_PAGE):
            _extend(
                out, collection.get(ids=ids[start : start + READ_PAGE], include=cast(Any, include))
            )
        return out
    offset = 0
    while True:
        page = collection.get(
            where=where, limit=READ_PAGE, offset=offset, include=cast(Any, include)
        )
        _extend(out, page)
        if len(page["ids"]) < READ_PAGE:
            return out
        offset += READ_PAGE


def _extend(out: dict[str, list[Any]], page: Any) -> None:
    for key, values in out.items():
        got = page[key]
        if got is not None:  # embeddings come as an array: no truth value
            values.extend(got)


def new_revision() -> str:
    return uuid.uuid4().hex


def bump_revision(collection: Collection) -> str:
    """Mark the collection as changed, so every process rebuilds its keyword index."""
    rev = new_revision()
    meta = dict(collection.metadata or {})
    meta[REVISION_KEY] = rev
    collection.modify(metadata=meta)
    return rev


def peek(client: ClientAPI, name: str) -> Collection | None:
    """Collection `name` as stored now, without an embedding function; None if missing."""
    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None


P = ParamSpec("P")
R = TypeVar("R")


def chroma_errors(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Map the vector store's own failures to `RetrievalError` ("... while <action>")."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except (ChromaError, httpx.HTTPError, OSError) as exc:
                raise RetrievalError(
                    f"the vector store failed while {action}: {exc or type(exc).__name__}"
                ) from exc

        return inner

    return wrap
