"""The embedded model: the bundled SmolLM2 GGUF through LangChain's ChatLlamaCpp."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from assistant.errors import IRError, LLMError
from assistant.ir import MetricQuery, TimeRange, query_json_schema
from assistant.llm import LlamaCppChat, Message, bundled_model_path
from assistant.llm_planner import check_entities, plan_with_llm
from connectors.base import Catalog, MetricInfo

pytestmark = pytest.mark.model
pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")

METRICS = ["http_requests_total", "node_cpu_usage_percent", "node_memory_usage_percent"]
HOSTS = ["web-01", "web-03"]


@pytest.fixture(scope="module")
def chat() -> LlamaCppChat:
    bundled_model_path()  # a ConfigError here names the pip line that installs the model
    model = LlamaCppChat(n_ctx=2048, max_tokens=48)
    model.load()
    return model


def ir_schema() -> dict[str, Any]:
    """A small schema cut from the IR's own, catalog-constrained: metric, function, host."""
    defs = query_json_schema(metrics=METRICS, hosts=HOSTS, labels=["host"])["$defs"]
    metric = defs["MetricQuery"]["properties"]
    return {
        "type": "object",
        "properties": {
            "metric": metric["metric"],
            "function": {"type": "string", "enum": ["raw", "rate", "avg_over_time"]},
            "host": {"type": "string", "enum": HOSTS},
        },
        "required": ["metric", "function", "host"],
        "additionalProperties": False,
    }


def test_complete_returns_text(chat: LlamaCppChat) -> None:
    text = chat.complete(
        [Message("system", "You are a helpful assistant."), Message("user", "Say hello.")],
        max_tokens=16,
    )
    assert isinstance(text, str) and text.strip()


def test_stream_yields_tokens(chat: LlamaCppChat) -> None:
    pieces = list(chat.stream([("user", "Name three colours.")], max_tokens=16))
    assert len(pieces) >= 2, pieces
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces).strip()


def test_structured_output_holds_the_enums(chat: LlamaCppChat) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = ir_schema()
    assert schema["properties"]["metric"]["enum"] == METRICS
    for question in ("What is the CPU usage on web-03?", "Memory on web-01 please"):
        out = chat.structured(
            [Message("user", question)], schema, name="metric_query", max_tokens=64
        )
        jsonschema.validate(out, schema)
        assert out["metric"] in METRICS and out["host"] in HOSTS
        assert set(out) == {"metric", "function", "host"}


def test_the_model_is_loaded_once_and_shared(chat: LlamaCppChat) -> None:
    other = LlamaCppChat(n_ctx=2048)
    assert other._model() is chat._model()


def test_a_prompt_longer_than_the_context_is_an_llm_error() -> None:
    tiny = LlamaCppChat(n_ctx=128, max_tokens=8)
    with pytest.raises(LLMError, match=r"llama\.cpp .* failed during completion"):
        tiny.complete([Message("user", "metrics and logs " * 200)])


def test_plan_with_the_real_model_is_valid_ir_or_a_clear_error(chat: LlamaCppChat) -> None:
    h = {"host": HOSTS}
    catalog = Catalog(
        metrics=[MetricInfo(name=m, type="gauge", labels=h) for m in METRICS],
        services=["checkout"],
        hosts=HOSTS,
    )
    window = TimeRange.last(3600, datetime(2026, 11, 20, 12, tzinfo=UTC))
    try:
        queries = plan_with_llm(
            chat, "CPU usage on web-03?", window, catalog, "", max_steps=1, examples=[]
        )
    except IRError as exc:  # a small model may pick a bad combination; never a guess
        assert str(exc)
        return
    assert len(queries) == 1
    for q in queries:
        check_entities(q, catalog)
        if isinstance(q, MetricQuery):
            assert q.time_range == window
