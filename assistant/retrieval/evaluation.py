"""Retrieval eval: questions -> expected document sections, scored as recall@k.

Cases live in ``evals/retrieval_cases.yaml`` (see its header). Used by the retrieval test
and the retrieval benchmark.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import ConfigError
from assistant.retrieval.models import Hit
from assistant.retrieval.retriever import Retriever

DEFAULT_CASES = Path(__file__).resolve().parents[2] / "evals" / "retrieval_cases.yaml"


class RetrievalCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    query: str
    expect: list[str] = Field(
        min_length=1,
        description='sections ("source#anchor") or documents ("source") that answer it',
    )

    def accepts(self, ref: str) -> bool:
        """Whether a hit at `ref` ("source#anchor") answers this case."""
        return any(ref == e or ("#" not in e and ref.split("#", 1)[0] == e) for e in self.expect)

    exact: bool = False


class CaseResult(BaseModel):
    case: RetrievalCase
    rank: int | None = Field(description="1-based rank of the first expected hit in the top k")
    top: list[str]
    exact_ok: bool | None = Field(description="exact cases: first hit expected and matched")
    latency_ms: float


class EvalResult(BaseModel):
    k: int
    results: list[CaseResult]

    @property
    def recall(self) -> float:
        return sum(r.rank is not None for r in self.results) / max(len(self.results), 1)

    @property
    def mrr(self) -> float:
        return sum(1.0 / r.rank for r in self.results if r.rank) / max(len(self.results), 1)

    @property
    def exact_total(self) -> int:
        return sum(r.exact_ok is not None for r in self.results)

    @property
    def exact_rank1(self) -> int:
        return sum(bool(r.exact_ok) for r in self.results)

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.rank is None or r.exact_ok is False]

    def subset(self, korean: bool) -> EvalResult:
        return EvalResult(
            k=self.k, results=[r for r in self.results if is_korean(r.case.query) == korean]
        )


def is_korean(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def load_cases(path: Path = DEFAULT_CASES) -> list[RetrievalCase]:
    """The eval cases in `path`; a clear ConfigError if the file is malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return [RetrievalCase.model_validate(c) for c in data["cases"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValidationError) as exc:
        raise ConfigError(f"cannot read retrieval cases from {path}: {exc}") from exc


def _ref(hit: Hit) -> str:
    return f"{hit.source}#{hit.metadata.get('anchor', '')}"


def evaluate(retriever: Retriever, cases: list[RetrievalCase], k: int = 3) -> EvalResult:
    """Search each case in the ``docs`` collection and score the top `k`."""
    results: list[CaseResult] = []
    for case in cases:
        t0 = time.perf_counter()
        hits = retriever.search(case.query, collection="docs", k=k)
        latency = (time.perf_counter() - t0) * 1000
        refs = [_ref(h) for h in hits]
        rank = next((i + 1 for i, r in enumerate(refs) if case.accepts(r)), None)
        exact_ok = None
        if case.exact:
            exact_ok = bool(hits) and case.accepts(refs[0]) and bool(hits[0].exact)
        results.append(
            CaseResult(case=case, rank=rank, top=refs, exact_ok=exact_ok, latency_ms=latency)
        )
    return EvalResult(k=k, results=results)
