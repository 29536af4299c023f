"""`Answer.grounded` is the grounding check's verdict on the answer text, never a constant."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assistant import core
from assistant.core import AskOptions, Assistant, answer_grounded
from assistant.facts import Fact
from assistant.ir import Query, TimeRange
from assistant.llm import ScriptedChat
from assistant.services import Services
from assistant.settings import load_settings
from connectors.base import Catalog, Connector, MetricInfo, Result, Series

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TR = TimeRange(start=NOW - timedelta(hours=1), end=NOW)
QUESTION = "peak cpu on web-03 in the last hour"


class OneGauge(Connector):
    """web-03's CPU, peaking at 97.3 at 11:40."""

    name = "fake"

    def catalog(self) -> Catalog:
        return Catalog(metrics=[MetricInfo(name="node_cpu_usage_percent", type="gauge",
                                           unit="percent", help="CPU busy percent",
                                           labels={"host": ["web-03"]})],
                       hosts=["web-03"], services=["checkout"])

    def native(self, query: Query) -> str:
        return "FAKE"

    def run(self, query: Query) -> Result:
        pts = [(NOW - timedelta(minutes=60 - i * 10), v)
               for i, v in enumerate([40.0, 42.0, 55.0, 70.0, 97.3, 60.0, 50.0])]
        return Result(connector="fake", native="FAKE", unit="percent",
                      series=[Series(metric="node_cpu_usage_percent", labels={"host": "web-03"},
                                     points=pts)])


def make(tmp_path: Path, chat: ScriptedChat | None = None, phrasing: str = "template"
         ) -> Assistant:
    s = load_settings(data_dir=tmp_path, now=NOW.isoformat(), phrasing=phrasing)
    services = Services(s)
    services.__dict__["backend"] = OneGauge()
    services.__dict__["chat"] = chat
    services.__dict__["_retriever"] = None
    services.problems["retrieval"] = "retrieval is not configured in this test"
    return Assistant(services)


def peak(value: float = 97.3) -> Fact:
    return Fact(name="peak", value=value, unit="percent", labels={"host": "web-03"},
                at=NOW - timedelta(minutes=20), query_index=0, display=f"{value}%")


def test_the_verdict_follows_the_numbers_in_the_text() -> None:
    assert answer_grounded("CPU on web-03 peaked at 97.3% at 11:40.", [peak()], TR, [QUESTION])
    assert not answer_grounded("CPU on web-03 peaked at 99.9% at 11:40.", [peak()], TR,
                               [QUESTION])
    # the code-written appendix (query texts: LIMIT 50 ...) is not a claim
    assert answer_grounded("CPU on web-03 peaked at 97.3%.\n\nQueries run:\n- LIMIT 50",
                           [peak()], TR, [QUESTION])


def test_an_answer_with_an_ungrounded_number_is_not_grounded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = core.compose

    def with_a_stray_number(*args: Any, **kwargs: Any) -> Any:
        composed = real(*args, **kwargs)
        return dataclasses.replace(composed, fact_sentences=(
            *composed.fact_sentences, "About 4,242 requests were slow."))

    monkeypatch.setattr(core, "compose", with_a_stray_number)
    ans = make(tmp_path).ask(QUESTION, options=AskOptions(now=NOW))
    assert "4,242" in ans.answer
    assert ans.grounded is False


def test_a_template_answer_is_grounded_by_the_check(tmp_path: Path) -> None:
    ans = make(tmp_path).ask(QUESTION, options=AskOptions(now=NOW))
    assert "97.3%" in ans.answer and ans.grounded is True


def test_model_wording_is_grounded_after_enforcement(tmp_path: Path) -> None:
    chat = ScriptedChat().enqueue(["CPU on web-03 peaked at 99.9% at 11:40. All is fine."])
    ans = make(tmp_path, chat, phrasing="llm").ask(QUESTION, options=AskOptions(now=NOW))
    assert "99.9" not in ans.answer and ans.grounded is True


@pytest.mark.parametrize("question", ["restart the db", "cpu on web-03 tomorrow",
                                      "x" * 2500])
def test_refusals_and_clarifications_get_a_verdict_too(tmp_path: Path, question: str) -> None:
    ans = make(tmp_path).ask(question, options=AskOptions(now=NOW))
    assert ans.refused or ans.clarification
    assert ans.grounded is True, ans.answer
