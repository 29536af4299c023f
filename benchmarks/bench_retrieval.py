"""Retrieval benchmark: embedders, indexing, query latency at scale, approximate vs exact.

Side by side in one run:

1. **Embedders** (each of --embedders) on the demo knowledge: raw throughput of
   `embed_documents` on the exact texts indexing embeds (measured before and after
   indexing, averaged), indexing throughput of `index_demo_knowledge` into a fresh store
   (sections/s and its share of the raw rate), query-embedding latency, and the retrieval
   eval (evals/retrieval_cases.yaml): recall@3 (all / English / Korean), MRR, exact
   identifiers at rank 1, end-to-end search latency with the real embedder.
2. **Scale** (10k and 100k entries; --quick: 10k): synthetic events with clustered
   384-d vectors from a zero-cost lookup embedder, written through `Retriever.index_events`
   (pipeline ceiling, entries/s), then hybrid search latency p50/p95 unfiltered, with a
   metadata filter (service), and with a time window; and recall@5 of Chroma's HNSW
   search against exact (numpy) search on the same vectors, unfiltered and filtered.

Prints figures as it goes and a final JSON line.

    python benchmarks/bench_retrieval.py            # e5 and minilm, 10k and 100k
    python benchmarks/bench_retrieval.py --quick    # default embedder, 10k, fewer queries
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from assistant.demo.fleet import SERVICES as FLEET
from assistant.demo.knowledge import KNOWLEDGE_DIR, index_demo_knowledge
from assistant.embedder import Embedder, get_embedder, register_embedder
from assistant.retrieval import Retriever
from assistant.retrieval.documents import SourceFile, chunk_file, discover, load
from assistant.retrieval.entries import chunk_entry, event_entry
from assistant.retrieval.evaluation import evaluate, load_cases
from assistant.retrieval.keyword import KeywordIndex
from assistant.retrieval.store import embedding_function_class, get_all
from assistant.retrieval.vectors import embedding_text
from assistant.settings import Settings
from connectors.base import Event

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOSTS = FLEET  # service -> hosts, the demo fleet's
SERVICES = tuple(HOSTS)
KINDS = ("alert", "deploy", "incident", "change")
WORDS = " ".join(
    [
        "latency errors timeout restart disk memory cpu pool connection certificate login",
        "deploy rollback cache queue worker heap replica wal shard index gc spike drop slow",
        "failed blocked saturated leak expired renewal traffic upstream gateway database",
    ]
).split()
TOPICS = 200
DIM = 384


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def log(msg: str) -> None:
    print(msg, flush=True)


# --- 1. embedders on the demo knowledge -------------------------------------------------------


def demo_texts() -> list[str]:
    """The texts `index_demo_knowledge` embeds, in order."""
    files, _, _ = discover([KNOWLEDGE_DIR])
    texts: list[str] = []
    for f in files:
        loaded = load(f, f.relative_to(KNOWLEDGE_DIR).as_posix())
        assert isinstance(loaded, SourceFile), loaded
        front, chunks = chunk_file(loaded)
        for c in chunks:
            entry = chunk_entry(c, front, "")
            texts.append(embedding_text(entry))
    return texts


def raw_rate(emb: Embedder, texts: list[str]) -> float:
    t0 = time.perf_counter()
    for start in range(0, len(texts), 64):  # the batch size indexing uses
        emb.embed_documents_array(texts[start : start + 64])
    return len(texts) / (time.perf_counter() - t0)


def bench_embedder(name: str, root: Path, quick: bool) -> dict[str, Any]:
    log(f"\n== embedder {name} ==")
    t0 = time.perf_counter()
    emb = get_embedder(name)
    load_s = time.perf_counter() - t0
    texts = demo_texts()
    emb.embed_documents_array(texts[:4])  # warm-up
    before = raw_rate(emb, texts)
    settings = Settings(data_dir=root / f"demo-{name}")
    retriever = Retriever(settings, embedder=emb)
    report = index_demo_knowledge(retriever)
    after = raw_rate(emb, texts)
    raw = (before + after) / 2
    index_rate = report.chunks / report.elapsed_s
    log(
        f"load {load_s:.2f}s | raw {raw:.1f} sections/s (before {before:.1f}, after {after:.1f}) "
        f"| indexing {index_rate:.1f} sections/s = {index_rate / raw:.0%} of raw "
        f"({report.chunks} sections, {report.added} files, {report.elapsed_s:.1f}s, "
        f"embedding {report.embed_s:.1f}s)"
    )
    queries = [c.query for c in load_cases()]
    q_lat = []
    for q in queries[: 20 if quick else len(queries)]:
        t1 = time.perf_counter()
        emb.embed_query(q)
        q_lat.append((time.perf_counter() - t1) * 1000)
    result = evaluate(retriever, load_cases(), k=3)
    en, ko = result.subset(korean=False), result.subset(korean=True)
    lat = [r.latency_ms for r in result.results]
    log(
        f"eval recall@3 {result.recall:.3f} (en {en.recall:.3f}, ko {ko.recall:.3f}) "
        f"mrr {result.mrr:.3f} exact@1 {result.exact_rank1}/{result.exact_total} | "
        f"query embed p50 {pct(q_lat, 50):.1f} ms p95 {pct(q_lat, 95):.1f} ms | "
        f"search p50 {pct(lat, 50):.1f} ms p95 {pct(lat, 95):.1f} ms"
    )
    for f in result.failures():
        log(f"   miss {f.case.id}: {f.case.query!r} -> {f.top}")
    return {
        "load_s": round(load_s, 2),
        "raw_sections_per_s": round(raw, 2),
        "index_sections_per_s": round(index_rate, 2),
        "index_share_of_raw": round(index_rate / raw, 3),
        "sections": report.chunks,
        "recall_at_3": round(result.recall, 3),
        "recall_at_3_en": round(en.recall, 3),
        "recall_at_3_ko": round(ko.recall, 3),
        "mrr": round(result.mrr, 3),
        "exact_rank1": f"{result.exact_rank1}/{result.exact_total}",
        "query_embed_ms_p50": round(pct(q_lat, 50), 2),
        "query_embed_ms_p95": round(pct(q_lat, 95), 2),
        "search_ms_p50": round(pct(lat, 50), 2),
        "search_ms_p95": round(pct(lat, 95), 2),
        "misses": [f.case.id for f in result.failures()],
    }


# --- 2. scale: synthetic vectors ----------------------------------------------------------------


class LookupEmbedder(Embedder):
    """Vectors made beforehand (clustered by topic); embedding costs a dict lookup."""

    name = "synthetic"
    dim = DIM
    model_id = "synthetic-clusters"
    table: ClassVar[dict[str, np.ndarray]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_array(texts).tolist()

    def embed_documents_array(self, texts: Any) -> np.ndarray:
        return np.stack([self.table[t] for t in texts]) if len(texts) else np.zeros((0, DIM))

    def embed_query(self, text: str) -> list[float]:
        return self.table[text].tolist()


register_embedder("synthetic", LookupEmbedder)
embedding_function_class("synthetic")


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def synthetic_events(n: int, rng: np.random.Generator, centroids: np.ndarray) -> list[Event]:
    events = []
    table = LookupEmbedder.table
    topics = rng.integers(0, TOPICS, n)
    noise = rng.normal(0, 0.35, (n, DIM)).astype(np.float32) / np.sqrt(DIM) * 4
    ages = rng.uniform(0, 13.5 * 86400, n)
    for i in range(n):
        service = SERVICES[i % len(SERVICES)]
        host = HOSTS[service][i % len(HOSTS[service])]
        kind = KINDS[(i // 7) % len(KINDS)]
        t = int(topics[i])
        words = " ".join(WORDS[(t * 7 + j * 3) % len(WORDS)] for j in range(6))
        title = f"{kind} {i}: {words} on {host}"
        ev = Event(
            id=f"ev-{i}",
            ts=NOW - timedelta(seconds=float(ages[i])),
            kind=kind,
            service=service,
            host=host,
            title=title,
            severity="critical" if i % 5 == 0 else "warning",
        )
        events.append(ev)
        table[event_entry(ev).text] = unit(centroids[t] + noise[i])
    return events


def queries_for(q: int, rng: np.random.Generator, centroids: np.ndarray) -> list[str]:
    out = []
    for j in range(q):
        t = int(rng.integers(0, TOPICS))
        words = " ".join(WORDS[(t * 7 + i * 3) % len(WORDS)] for i in range(0, 6, 2))
        host = HOSTS[SERVICES[j % len(SERVICES)]][0] if j % 4 == 0 else ""
        text = f"{words} {host} #{j}".strip()
        noise = rng.normal(0, 0.35, DIM).astype(np.float32) / np.sqrt(DIM) * 4
        LookupEmbedder.table[text] = unit(centroids[t] + noise)
        out.append(text)
    return out


def bench_scale(n: int, root: Path, n_queries: int) -> dict[str, Any]:
    log(f"\n== scale {n:,} entries ==")
    rng = np.random.default_rng(n)
    centroids = unit(rng.normal(0, 1, (TOPICS, DIM)).astype(np.float32))
    t0 = time.perf_counter()
    events = synthetic_events(n, rng, centroids)
    gen_s = time.perf_counter() - t0
    settings = Settings(data_dir=root / f"scale-{n}")
    retriever = Retriever(settings, embedder=LookupEmbedder())
    t0 = time.perf_counter()
    for start in range(0, n, 5000):
        retriever.index_events(events[start : start + 5000], now=NOW)
    write_s = time.perf_counter() - t0
    log(f"generated in {gen_s:.1f}s; written in {write_s:.1f}s = {n / write_s:,.0f} entries/s")

    queries = queries_for(n_queries, rng, centroids)
    col = retriever._collection("events", create=False)
    assert col is not None
    t0 = time.perf_counter()
    got = get_all(col, ["documents", "metadatas"])
    read_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    KeywordIndex.build(got["ids"], got["documents"], got["metadatas"])
    build_ms = (time.perf_counter() - t0) * 1000
    del got
    t0 = time.perf_counter()
    retriever.search(queries[0], collection="events", k=5)
    cold_ms = (time.perf_counter() - t0) * 1000
    log(
        f"first search (loads the keyword index): {cold_ms:,.0f} ms "
        f"(reading entries {read_ms:,.0f} ms, building BM25 and postings {build_ms:,.0f} ms)"
    )

    def timed(**kw: Any) -> list[float]:
        lat = []
        for q in queries:
            t1 = time.perf_counter()
            retriever.search(q, collection="events", k=5, **kw)
            lat.append((time.perf_counter() - t1) * 1000)
        return lat

    runs = {
        "unfiltered": timed(),
        "service_filter": timed(where={"service": "payments"}),
        "time_window": timed(since=NOW - timedelta(days=2)),
    }
    out: dict[str, Any] = {
        "entries": n,
        "write_entries_per_s": round(n / write_s),
        "first_search_ms": round(cold_ms),
        "cold_read_ms": round(read_ms),
        "cold_build_ms": round(build_ms),
    }
    for label, lat in runs.items():
        log(f"hybrid search {label}: p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms")
        out[f"{label}_ms_p50"] = round(pct(lat, 50), 2)
        out[f"{label}_ms_p95"] = round(pct(lat, 95), 2)

    # approximate (Chroma HNSW) vs exact (numpy) on the same vectors
    got = get_all(col, ["embeddings", "metadatas"])
    ids = np.array(got["ids"])
    vectors = unit(np.asarray(got["embeddings"], dtype=np.float32))
    services = np.array([m["service"] for m in got["metadatas"] or []])
    for label, where, mask in (
        ("unfiltered", None, None),
        ("service_filter", {"service": "payments"}, services == "payments"),
    ):
        recalls = []
        t_apx, t_ex = [], []
        for q in queries:
            qv = LookupEmbedder.table[q]
            t1 = time.perf_counter()
            res = col.query(query_embeddings=[qv.tolist()], n_results=5, where=where)  # type: ignore[arg-type]
            t_apx.append((time.perf_counter() - t1) * 1000)
            t1 = time.perf_counter()
            sims = vectors @ qv
            if mask is not None:
                sims = np.where(mask, sims, -np.inf)
            exact = set(ids[np.argpartition(-sims, 5)[:5]])
            t_ex.append((time.perf_counter() - t1) * 1000)
            recalls.append(len(exact & set(res["ids"][0])) / 5)
        r5 = float(np.mean(recalls))
        log(
            f"recall@5 HNSW vs exact ({label}): {r5:.3f} | vector-only p50 "
            f"{pct(t_apx, 50):.1f} ms (HNSW) vs {pct(t_ex, 50):.1f} ms (numpy exact)"
        )
        out[f"recall_at_5_{label}"] = round(r5, 4)
        out[f"vector_only_ms_p50_{label}"] = round(pct(t_apx, 50), 2)
        out[f"exact_numpy_ms_p50_{label}"] = round(pct(t_ex, 50), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="default embedder, 10k, 50 queries")
    ap.add_argument(
        "--embedders", default=None, help="comma list (default: e5,minilm; '' for none)"
    )
    ap.add_argument("--sizes", default=None, help="comma list of entry counts")
    ap.add_argument("--queries", type=int, default=None, help="queries per scale run")
    args = ap.parse_args()
    default = "e5" if args.quick else "e5,minilm"
    embedders = [e for e in (default if args.embedders is None else args.embedders).split(",") if e]
    sizes = [int(s) for s in (args.sizes or ("10000" if args.quick else "10000,100000")).split(",")]
    n_queries = args.queries or (50 if args.quick else 200)
    out: dict[str, Any] = {"bench": "retrieval", "quick": args.quick, "embedders": {}, "scale": []}
    with tempfile.TemporaryDirectory(prefix="opsa-bench-") as tmp:
        root = Path(tmp)
        for name in embedders:
            out["embedders"][name] = bench_embedder(name, root, args.quick)
        for n in sizes:
            out["scale"].append(bench_scale(n, root, n_queries))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
