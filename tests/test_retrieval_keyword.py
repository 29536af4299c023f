"""Tokenizer, exact identifiers and the BM25 index of hybrid search."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from assistant.retrieval.keyword import KeywordIndex, exact_terms, identifiers, tokenize


def test_identifiers_are_kept_whole_and_split() -> None:
    toks = tokenize("node_filesystem_avail_bytes on web-02 at /var/lib/data")
    assert "node_filesystem_avail_bytes" in toks
    assert {"node", "filesystem", "avail", "byte"} <= set(toks)
    assert {"web-02", "web", "02"} <= set(toks)
    assert {"var/lib/data", "var", "lib", "data"} <= set(toks)
    assert "on" not in toks and "at" not in toks  # stop words


def test_hangul_gets_bigrams_so_particles_do_not_block_matches() -> None:
    assert tokenize("디스크가") == ["디스크가", "디스", "스크", "크가"]
    assert set(tokenize("디스크를")) & set(tokenize("디스크가")) == {"디스", "스크"}
    assert tokenize("web-03에서") == ["web-03", "web", "03", "에서"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("disk is full on db-01", ["db-01"]),
        ("what does node_load1 measure", ["node_load1"]),
        ("the HighCPU alert fired", ["highcpu"]),
        ("DiskWillFillIn4h is firing", ["diskwillfillin4h"]),
        ("ENOSPC from the logger", ["enospc"]),
        ("container OOMKilled on search-02", ["oomkilled", "search-02"]),
        ("checkout 503 errors after deploy", ["503"]),
        ('http_requests_total{code="500"}', ["http_requests_total", "500"]),
        ("cert for api.shop.example", ["api.shop.example"]),
        ("usage of /var/lib/data", ["var/lib/data"]),
        ("web-03 CPU가 100%예요", ["web-03"]),
        ("Failed password from 185.220.101.34", ["185.220.101.34"]),
        # not identifiers: plain words, acronym plurals, numbers that are not status codes
        ("lots of failed logins from a few IPs", []),
        ("p95 latency above 500 ms for 15 minutes", []),
        ("e.g. a slow disk", []),
        ("99.9 percent of requests", []),
        ("디스크가 가득 찼어요", []),
    ],
)
def test_query_identifiers(query: str, expected: list[str]) -> None:
    assert identifiers(query) == expected


def test_exact_terms_of_a_document() -> None:
    terms = exact_terms(
        "Check node_cpu_usage_percent on web-02. The HighCPU alert; ENOSPC in /var/lib/data; "
        'codes 500/503 and code="404".'
    )
    assert {
        "node_cpu_usage_percent",
        "web-02",
        "highcpu",
        "enospc",
        "var/lib/data",
        "500",
        "503",
        "404",
    } <= terms
    assert "check" not in terms and "the" not in terms


def _bm25(query: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> list[float]:
    """Lucene's BM25 (bm25s' default; no (k1 + 1) factor), written out independently."""
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    df = Counter(t for d in docs for t in set(d))
    out = []
    for d in docs:
        tf = Counter(d)
        s = 0.0
        for t in query:
            if t not in tf:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            s += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avg))
        out.append(s)
    return out


def test_bm25_scores_match_an_independent_computation() -> None:
    texts = [
        "disk full on db-01 data volume",
        "cpu saturation on web-03",
        "disk usage and disk growth",
        "memory leak in search",
    ]
    index = KeywordIndex.build([f"d{i}" for i in range(4)], texts, [{}] * 4)
    got = index.scores("disk on db-01")
    want = _bm25(tokenize("disk on db-01"), [tokenize(t) for t in texts])
    assert np.allclose(got, want, rtol=1e-4)
    assert [i for i, _ in index.top("disk on db-01", 10)] == sorted(
        range(4), key=lambda i: -want[i]
    )[: sum(w > 0 for w in want)]


def test_top_respects_the_mask_and_skips_zero_scores() -> None:
    texts = ["disk full", "disk slow", "cpu busy"]
    index = KeywordIndex.build(["a", "b", "c"], texts, [{"s": 1}, {"s": 2}, {"s": 1}])
    assert [i for i, _ in index.top("disk", 10)] != []
    mask = np.array([False, True, True])
    assert [index.ids[i] for i, _ in index.top("disk", 10, mask)] == ["b"]
    assert index.top("nothing matches", 10) == []
    assert len(index.containing("disk")) == 0  # plain words have no exact postings


def test_metadata_columns() -> None:
    index = KeywordIndex.build(
        ["a", "b", "c"], ["x", "y", "z"], [{"ts": 5, "kind": "alert"}, {"ts": 7.5}, {"ts": True}]
    )
    assert list(index.column("kind")) == ["alert", None, None]
    num = index.numeric("ts")
    assert num[0] == 5 and num[1] == 7.5 and math.isnan(num[2])
