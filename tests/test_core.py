"""The agent loop with fakes for our own logic: a scripted model and an in-memory connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.core import AskOptions, Assistant
from assistant.errors import BackendUnavailable
from assistant.ir import Query
from assistant.llm import ScriptedChat
from assistant.services import Services
from assistant.settings import load_settings
from connectors.base import Catalog, Connector, MetricInfo, Result, Series

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOSTS = ["web-01", "web-03"]


class FakeConnector(Connector):
    """One gauge per host: web-03 peaks at 97.3 at 11:40; optionally always failing."""

    name = "fake"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.ran: list[Query] = []

    def catalog(self) -> Catalog:
        return Catalog(metrics=[MetricInfo(name="node_cpu_usage_percent", type="gauge",
                                           unit="percent", help="CPU busy percent",
                                           labels={"host": HOSTS})],
                       hosts=HOSTS, services=["checkout"])

    def native(self, query: Query) -> str:
        return f"FAKE {query.kind}"

    def run(self, query: Query) -> Result:
        self.ran.append(query)
        if self.fail:
            raise BackendUnavailable("fake backend at http://127.0.0.1:1 refused the connection")
        pts = [(NOW - timedelta(minutes=60 - i * 10), v)
               for i, v in enumerate([40.0, 42.0, 55.0, 70.0, 97.3, 60.0, 50.0])]
        return Result(connector="fake", native="FAKE", unit="percent",
                      series=[Series(metric="node_cpu_usage_percent", labels={"host": "web-03"},
                                     points=pts)])


def assistant(tmp_path: Path, conn: FakeConnector, chat: ScriptedChat | None = None,
              phrasing: str = "template") -> Assistant:
    s = load_settings(data_dir=tmp_path, now=NOW.isoformat(), phrasing=phrasing)
    services = Services(s)
    services.__dict__["backend"] = conn  # cached_property slots: inject the fakes
    services.__dict__["chat"] = chat
    services.__dict__["_retriever"] = None
    services.problems["retrieval"] = "retrieval is not configured in this test"
    return Assistant(services)


def test_answer_numbers_come_from_the_result(tmp_path: Path) -> None:
    conn = FakeConnector()
    ans = assistant(tmp_path, conn).ask("peak cpu on web-03 in the last hour",
                                        options=AskOptions(now=NOW))
    assert "97.3%" in ans.answer and "11:40" in ans.answer
    assert ans.grounded and ans.queries[0].native == "FAKE"
    assert ans.time_range is not None and ans.time_range.end == NOW


def test_wrong_model_number_is_replaced(tmp_path: Path) -> None:
    chat = ScriptedChat().enqueue(["CPU on web-03 peaked at 99.9% at 11:40. All is fine."])
    ans = assistant(tmp_path, FakeConnector(), chat, phrasing="llm").ask(
        "peak cpu on web-03 in the last hour", options=AskOptions(now=NOW))
    assert "99.9" not in ans.answer
    assert "97.3%" in ans.answer
    assert any("replaced" in n for n in ans.notes)


def test_stream_yields_events_in_order(tmp_path: Path) -> None:
    events = list(assistant(tmp_path, FakeConnector()).stream(
        "peak cpu on web-03 in the last hour", options=AskOptions(now=NOW)))
    kinds = [e.type for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "answer"
    assert kinds.index("query") < kinds.index("result") < kinds.index("answer")


def test_failing_backend_is_stated_not_raised(tmp_path: Path) -> None:
    ans = assistant(tmp_path, FakeConnector(fail=True)).ask(
        "peak cpu on web-03 in the last hour", options=AskOptions(now=NOW))
    assert not ans.queries[0].ok
    assert "refused the connection" in ans.answer


@pytest.mark.parametrize("question", ["restart web-03", "", "%%%% 1234 ####",
                                      "peak cpu \ud800 on web-03"])
def test_refusals_and_bad_input_run_nothing(tmp_path: Path, question: str) -> None:
    conn = FakeConnector()
    ans = assistant(tmp_path, conn).ask(question, options=AskOptions(now=NOW))
    assert ans.refused or ans.clarification
    assert conn.ran == []
    ans.model_dump_json()  # storable and sendable: no lone surrogate survives


def test_a_range_past_the_calendar_is_a_clear_clarification(tmp_path: Path) -> None:
    conn = FakeConnector()
    ans = assistant(tmp_path, conn).ask("peak cpu on web-03 in the last 99999999 days",
                                        options=AskOptions(now=NOW))
    assert ans.clarification and "outside the calendar" in ans.answer
    assert ans.grounded  # the limits it states are the code's own, not claims about data
    assert conn.ran == []


def test_follow_up_reuses_metric_and_window(tmp_path: Path) -> None:
    conn = FakeConnector()
    a = assistant(tmp_path, conn)
    first = a.ask("peak cpu on web-03 in the last 6 hours", options=AskOptions(now=NOW))
    a.ask("and on web-01?", conversation_id=first.conversation_id, options=AskOptions(now=NOW))
    q = conn.ran[-1]
    assert q.kind == "metric"
    assert [(m.label, m.value) for m in q.matchers] == [("host", "web-01")]
    assert q.time_range.duration_s == 6 * 3600


class ManyHostsConnector(FakeConnector):
    """Eight hosts; the one whose labels sort last runs hottest."""

    hosts = tuple(f"web-{i:02d}" for i in range(1, 9))

    def catalog(self) -> Catalog:
        return Catalog(metrics=[MetricInfo(name="node_cpu_usage_percent", type="gauge",
                                           unit="percent", labels={"host": list(self.hosts)})],
                       hosts=list(self.hosts))

    def run(self, query: Query) -> Result:
        series = [
            Series(metric="node_cpu_usage_percent", labels={"host": h},
                   points=[(NOW - timedelta(minutes=m), 10.0 + i + (80.0 if h == "web-08" else 0))
                           for m in (30, 20, 10)])
            for i, h in enumerate(self.hosts)
        ]
        return Result(connector="fake", native="FAKE", unit="percent", series=series)


def test_the_chart_shows_the_series_the_answer_is_about(tmp_path: Path) -> None:
    ans = assistant(tmp_path, ManyHostsConnector()).ask(
        "which hosts had the highest cpu in the last hour", options=AskOptions(now=NOW))
    assert "web-08" in ans.answer
    names = [c.name for c in ans.chart]
    assert names[0] == "host=web-08" and len(names) == 5
    assert names[1:] == ["host=web-07", "host=web-06", "host=web-05", "host=web-04"]


def test_full_schema_planner_sees_the_nearest_exemplars(tmp_path: Path) -> None:
    """With `llm.plan_schema = "full"` the model is shown the exemplar bank's nearest
    questions and their IR skeletons as few-shot turns, and its IR is used."""
    conn = FakeConnector()
    chat = ScriptedChat().enqueue([{"queries": [{
        "kind": "metric", "metric": "node_cpu_usage_percent", "aggregation": "max",
        "matchers": [{"label": "host", "value": "web-03"}]}]}])
    s = load_settings(data_dir=tmp_path, now=NOW.isoformat(), planner="llm",
                      llm={"plan_schema": "full", "few_shot": 3})
    services = Services(s)
    services.__dict__["backend"] = conn
    services.__dict__["chat"] = chat
    services.__dict__["_retriever"] = None
    services.problems["retrieval"] = "retrieval is not configured in this test"
    from assistant.shapes import shape_index

    shape_index(tmp_path).vectors()  # embedding the bank (once per data dir) is not timed
    ans = Assistant(services).ask("what was the highest cpu on web-03 in the last hour?",
                                  options=AskOptions(now=NOW))
    prompt = "\n".join(m.content for m in chat.calls[0].messages)
    assert prompt.count('"queries"') >= 3  # three exemplars' skeletons as assistant turns
    assert "<metric>" in prompt  # slots stay placeholders for the model to fill
    assert conn.ran and conn.ran[0].kind == "metric" and "97.3%" in ans.answer, ans.answer
