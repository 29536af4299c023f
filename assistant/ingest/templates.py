"""Log templates: mask the variable parts of messages, then mine shapes with drain3.

Masking runs vectorised over an Arrow array (numbers and anything with a digit - ids, IPs,
versions, hex - plus UUIDs and quoted strings become ``<*>``); only the first line of a
message counts. drain3 is called once per *unseen* masked shape: the shape -> template id
cache makes repeated shapes free, so mining cost follows the number of distinct shapes,
not the number of lines. Template ids are stable in a store: each drain3 cluster gets the
next id when created, and the store's templates re-seed the miner when a writer opens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

PARAM = "<*>"
MASK_RE = (
    r'"[^"\n]*"'  # double-quoted strings
    r"|[\w.-]*\d[\w.-]*"  # words with a digit: numbers, ids, UUIDs, IPs, hex, versions
)
MAX_SHAPE_CHARS = 300
SIM_THRESHOLD = 0.6
"""drain3 similarity to join a cluster. Higher than drain3's 0.4 because masking already
turned the variable tokens into <*>: the words left differ for a reason."""

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="opsa-arrow")


def parallel(
    fn: Callable[[pa.Array], pa.Array], arr: pa.Array | pa.ChunkedArray, min_rows: int = 40_000
) -> pa.ChunkedArray:
    """Apply an Arrow kernel `fn` to pieces of `arr` in two threads (Arrow releases the GIL).

    Returns the pieces as a chunked array (no copy to glue them back together).
    """
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    pieces: list[pa.Array] = []
    for c in chunks:
        if len(c) >= min_rows:
            half = len(c) // 2
            pieces += [c.slice(0, half), c.slice(half)]
        elif len(c):
            pieces.append(c)
    if not pieces:
        return pa.chunked_array([fn(arr.slice(0, 0) if not chunks else chunks[0])])
    if len(pieces) == 1:
        return pa.chunked_array([fn(pieces[0])])
    return pa.chunked_array(list(_POOL.map(fn, pieces)))


def mask(messages: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """Messages with their variable parts masked as <*> (whole messages, all lines)."""
    return parallel(lambda a: pc.replace_substring_regex(a, MASK_RE, PARAM), messages)


def shape_key(masked: str | None) -> str:
    """The cache / mining key of a masked message: its first line, bounded."""
    text = masked or ""
    cut = text.find("\n")
    if cut >= 0:
        text = text[:cut]
    return text.rstrip("\r")[:MAX_SHAPE_CHARS]


def mask_one(message: str) -> str:
    """The shape key of one message (tests, small inputs)."""
    return shape_key(str(mask(pa.array([message], pa.string()))[0].as_py()))


class Templates:
    """Template ids for messages, persisted in the store's `log_templates` table."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        logging.getLogger("drain3").setLevel(logging.WARNING)
        config = TemplateMinerConfig()
        config.drain_sim_th = SIM_THRESHOLD
        config.masking_instructions = []
        self._miner = TemplateMiner(config=config)
        self._by_shape: dict[str, int] = {}
        self._by_cluster: dict[int, int] = {}
        self._text: dict[int, str] = {}
        self._dirty: set[int] = set()
        rows = con.execute("SELECT template_id, template FROM log_templates ORDER BY 1").fetchall()
        self._next = (max((r[0] for r in rows), default=0)) + 1
        for tid, text in rows:
            self._text[tid] = text
            result = self._miner.add_log_message(text)
            self._by_cluster.setdefault(int(result["cluster_id"]), tid)

    def ids(self, messages: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
        """An int32 template id for every message (mining unseen shapes)."""
        return self.ids_for_masked(mask(messages))

    def ids_for_masked(self, masked: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
        """Template ids for messages already masked with `mask`."""
        chunks = masked.chunks if isinstance(masked, pa.ChunkedArray) else [masked]
        out = [pa.array([], pa.int32())]
        for chunk in chunks:
            encoded = pc.dictionary_encode(chunk)
            ids = [self.id_for_shape(shape_key(s)) for s in encoded.dictionary.to_pylist()]
            out.append(pc.take(pa.array(ids, pa.int32()), encoded.indices))
        return pa.chunked_array(out, pa.int32())

    def id_for_shape(self, shape: str | None) -> int:
        """The template id of one masked shape."""
        shape = shape or ""
        tid = self._by_shape.get(shape)
        if tid is not None:
            return tid
        result = self._miner.add_log_message(shape)
        cluster = int(result["cluster_id"])
        tid = self._by_cluster.get(cluster)
        if tid is None:
            tid = self._by_cluster[cluster] = self._next
            self._next += 1
        template = str(result["template_mined"])
        if self._text.get(tid) != template:
            self._text[tid] = template
            self._dirty.add(tid)
        self._by_shape[shape] = tid
        return tid

    def template(self, tid: int) -> str | None:
        return self._text.get(tid)

    def save(self, con: duckdb.DuckDBPyConnection) -> int:
        """Write new and changed templates; returns how many were new to the store."""
        if not self._dirty:
            return 0
        rows = [(tid, self._text[tid]) for tid in sorted(self._dirty)]
        existing = {
            r[0]
            for r in con.execute(
                "SELECT template_id FROM log_templates WHERE template_id IN (SELECT unnest($1))",
                [[tid for tid, _ in rows]],
            ).fetchall()
        }
        batch = pa.table(
            {
                "template_id": pa.array([tid for tid, _ in rows], pa.int32()),
                "template": pa.array([text for _, text in rows], pa.string()),
            }
        )
        con.register("_opsa_templates", batch)
        try:
            con.execute(
                "INSERT INTO log_templates SELECT template_id, template FROM _opsa_templates "
                "ON CONFLICT (template_id) DO UPDATE SET template = excluded.template"
            )
        finally:
            con.unregister("_opsa_templates")
        self._dirty.clear()
        return sum(1 for tid, _ in rows if tid not in existing)
