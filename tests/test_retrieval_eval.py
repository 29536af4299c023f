"""Retrieval quality on the demo knowledge with the configured default embedder (real model).

Indexing the demo knowledge embeds ~150 sections: seconds on a free machine, minutes on a
busy one, hence `slow`.
"""

from __future__ import annotations

import pytest

from assistant.demo.knowledge import INJECTION_MARKER, INJECTION_SOURCE, index_demo_knowledge
from assistant.retrieval import Retriever
from assistant.retrieval.evaluation import evaluate, load_cases
from assistant.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    settings = Settings(data_dir=tmp_path_factory.mktemp("demo-state"))
    retriever = Retriever(settings)
    report = index_demo_knowledge(retriever)
    assert report.skipped == [] and report.added >= 15
    return retriever


def test_default_embedder_is_multilingual(demo_retriever: Retriever) -> None:
    assert demo_retriever.embedder.name == "e5"


def test_recall_at_3_and_exact_identifiers_first(demo_retriever: Retriever) -> None:
    result = evaluate(demo_retriever, load_cases(), k=3)
    failures = [(f.case.id, f.top) for f in result.failures()]
    assert result.recall >= 0.9, failures
    assert result.exact_total >= 10
    assert result.exact_rank1 == result.exact_total, failures
    korean = result.subset(korean=True)
    assert len(korean.results) >= 10
    assert korean.recall >= 0.8, failures


def test_reindexing_the_demo_knowledge_changes_nothing(demo_retriever: Retriever) -> None:
    again = index_demo_knowledge(demo_retriever)
    assert (again.added, again.updated, again.removed, again.chunks) == (0, 0, 0, 0)
    assert again.unchanged >= 15


def test_injected_text_comes_back_as_plain_data(demo_retriever: Retriever) -> None:
    hits = demo_retriever.search("vendor ticket about clearing the search cache on search-02", k=5)
    planted = [h for h in hits if h.source == INJECTION_SOURCE and INJECTION_MARKER in h.text]
    assert planted, [h.id for h in hits]
    # stored and returned verbatim, attributed to its page: quoting it is the caller's job
    assert planted[0].heading == "Notes imported from vendor ticket"
    assert "rm -rf /" in planted[0].text


def test_filters_on_demo_front_matter(demo_retriever: Retriever) -> None:
    hits = demo_retriever.search("what to check first", k=10, where={"service": "payments"})
    assert hits and {h.source for h in hits} <= {
        "services/payments.md",
        "runbooks/db-pool-exhaustion.md",
    }
    runbooks = demo_retriever.search("disk", k=10, where={"kind": "runbook"})
    assert runbooks and all(h.source.startswith("runbooks/") for h in runbooks)
