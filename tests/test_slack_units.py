"""Slack pieces without a network: channel permissions, Block Kit rendering, the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from assistant.ir import DocQuery, EventQuery, LogQuery, Matcher, MetricQuery, Query, TimeRange
from assistant.models import Answer, ChartSeries, FactOut, QueryRun, SourceOut, WindowOut
from assistant.services import Services
from assistant.settings import Settings, SlackSettings
from assistant.slack.blocks import SECTION_MAX, Progress, answer_blocks, escape, fallback_text
from assistant.slack.chart import render_png
from assistant.slack.permissions import ChannelPolicy
from connectors.base import Catalog, MetricInfo, Result, Series

OWNERS = {"web-01": "checkout", "web-02": "checkout", "pay-01": "payments",
          "db-01": "postgres", "auth-01": "auth"}
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TR = TimeRange(start=NOW - timedelta(hours=1), end=NOW)


class FakeBackend:
    def __init__(self) -> None:
        self.ran: list[Query] = []

    def run(self, query: Query) -> Result:
        self.ran.append(query)
        return Result(connector="fake", native="", series=[
            Series(metric="x", labels={"service": s, "host": h}) for h, s in OWNERS.items()])


class FakeServices:
    def __init__(self) -> None:
        self.settings = Settings(now=NOW)
        self.backend = FakeBackend()
        self.catalog = Catalog(
            services=sorted(set(OWNERS.values())), hosts=[*sorted(OWNERS), "orphan-01"],
            metrics=[MetricInfo(name="node_load1", labels={"host": sorted(OWNERS)}),
                     MetricInfo(name="process_resident_memory_bytes",
                                labels={"service": sorted(set(OWNERS.values())),
                                        "host": sorted(OWNERS)})])


@pytest.fixture
def policy() -> ChannelPolicy:
    cfg = SlackSettings(channel_services={"CPAY": ["payments"], "CWEB": ["checkout", "postgres"]})
    return ChannelPolicy(cfg, cast(Services, FakeServices()))


def _metric(*matchers: Matcher) -> MetricQuery:
    return MetricQuery(metric="node_load1", matchers=matchers, time_range=TR)


ALL = set(OWNERS.values())


@pytest.mark.parametrize(("query", "expected"), [
    (DocQuery(text="disk full"), set()),
    (_metric(), ALL),
    (_metric(Matcher(label="host", value="web-02")), {"checkout"}),
    (_metric(Matcher(label="host", op="=~", value="web-0[12]|db-01")), {"checkout", "postgres"}),
    (_metric(Matcher(label="host", op="!~", value="web-.*|auth-.*|orphan-.*")),
     {"payments", "postgres"}),
    (_metric(Matcher(label="service", value="payments")), {"payments"}),
    (_metric(Matcher(label="service", op="!=", value="payments")), ALL - {"payments"}),
    (_metric(Matcher(label="service", value="checkout"), Matcher(label="host", value="db-01")),
     set()),  # no series can match both: nothing is read
    (_metric(Matcher(label="host", value="orphan-01")), {"host orphan-01 (service unknown)"}),
    (LogQuery(service="auth", time_range=TR), {"auth"}),
    (LogQuery(host="pay-01", time_range=TR), {"payments"}),
    (EventQuery(time_range=TR), ALL),
])
def test_touched_services(policy: ChannelPolicy, query: Query, expected: set[str]) -> None:
    assert policy.touched(query) == expected


def _plan(*queries: Query) -> dict[str, Any]:
    return {"queries": [{"purpose": "p", "ir": q.model_dump(mode="json")} for q in queries]}


def test_channel_check(policy: ChannelPolicy) -> None:
    web = _metric(Matcher(label="host", value="web-01"))
    assert policy.check("COTHER", _plan(web)) is None  # unlisted: no restriction
    assert policy.check("CWEB", _plan(web, DocQuery(text="x"))) is None
    denial = policy.check("CPAY", _plan(web, LogQuery(service="payments", time_range=TR)))
    assert denial is not None and denial.touched == ("checkout",)
    assert "may only ask about payments" in denial.message()
    assert "would query checkout" in denial.message()
    everything = policy.check("CWEB", _plan(EventQuery(time_range=TR)))
    assert everything is not None and everything.touched == ("auth", "payments")


def test_host_map_is_read_once(policy: ChannelPolicy) -> None:
    services = cast(FakeServices, policy.services)
    for host in ("web-01", "db-01", "pay-01"):
        policy.touched(_metric(Matcher(label="host", value=host)))
    assert len(services.backend.ran) == 1
    q = services.backend.ran[0]
    assert isinstance(q, MetricQuery) and q.metric == "process_resident_memory_bytes"
    assert q.by == ("service", "host") and q.mode == "instant"


def test_default_services_apply_to_unlisted_channels() -> None:
    cfg = SlackSettings(default_services=["auth"])
    pol = ChannelPolicy(cfg, cast(Services, FakeServices()))
    assert pol.allowed("CANY") == ["auth"]
    assert pol.check("CANY", _plan(LogQuery(service="auth", time_range=TR))) is None
    assert pol.check("CANY", _plan(LogQuery(service="search", time_range=TR))) is not None


def _answer(**kw: Any) -> Answer:
    base: dict[str, Any] = dict(
        question="q", answer="CPU on <web-03> & co peaked at 91%", language="en",
        time_range=WindowOut(start=NOW - timedelta(hours=1), end=NOW, timezone="UTC"),
        facts=[FactOut(name=f"f{i}", value=i, display=f"{i}%", labels={"host": "web-03"})
               for i in range(14)],
        queries=[QueryRun(connector="embedded", purpose="main", ir={"kind": "metric"},
                          native="SELECT 1 -- ```", ok=True, elapsed_ms=3.0)],
        sources=[SourceOut(source="runbooks/cpu.md", heading="Mitigate")],
        notes=["assumed the last hour"])
    base.update(kw)
    return Answer(**base)


def test_answer_blocks() -> None:
    blocks = answer_blocks(_answer())
    assert blocks[0]["text"]["text"] == "CPU on &lt;web-03&gt; &amp; co peaked at 91%"
    fields = blocks[1]["fields"]
    assert len(fields) == 10  # Slack's limit per section
    assert fields[0]["text"] == "*f0*\n0%\n_host=web-03_"
    code = next(b["text"]["text"] for b in blocks if "Queries run" in b.get("text", {})
                .get("text", ""))
    assert code.startswith("*Queries run*\n```") and code.endswith("```")
    assert code.count("```") == 2  # a fence inside the SQL cannot close the block early
    src = next(b["text"]["text"] for b in blocks if "*Sources*" in b.get("text", {})
               .get("text", ""))
    assert "`runbooks/cpu.md` § Mitigate" in src
    assert blocks[-1]["type"] == "context" and "assumed the last hour" in \
        blocks[-1]["elements"][0]["text"]
    long = answer_blocks(_answer(answer="x" * 10_000, facts=[], queries=[], sources=[]))
    assert len(long[0]["text"]["text"]) <= SECTION_MAX
    assert escape("a<b>&") == "a&lt;b&gt;&amp;"


def test_data_derived_text_cannot_mention_or_link() -> None:
    """A hostile event title reaches neither a mention nor a link, in blocks or fallback."""
    hostile = "deploy <!channel> see <https://phish.example|the runbook> & <@U123>"
    ans = _answer(answer=f"Latest event: {hostile}", sources=[
        SourceOut(source="<!here>.md", heading="<https://x|y>", score=1.0)])
    rendered = [fallback_text(ans)] + [
        str(b) for b in answer_blocks(ans)]
    for text in rendered:
        assert "<!channel>" not in text and "<https://phish" not in text
        assert "<@U123>" not in text and "<!here>" not in text
    assert "&lt;!channel&gt;" in fallback_text(ans)


def test_progress_lines() -> None:
    p = Progress("q")
    p.on_plan({"queries": [{"ir": {"kind": "metric", "metric": "node_load1"}},
                           {"ir": {"kind": "logs", "service": "auth"}}]})
    p.on_query({"ir": {"kind": "metric", "metric": "node_load1"}})
    p.on_result({"purpose": "main", "ok": False, "error": "timed out <10 s>"})
    text = p.text()
    assert "planned 2 queries: metric node_load1, logs service=auth" in text
    assert ":mag: running 1/2: metric node_load1" in text
    assert ":x: main: timed out &lt;10 s&gt;" in text


def test_chart_png() -> None:
    pts = [(NOW + timedelta(minutes=i), float(i % 7)) for i in range(60)]
    png = render_png([ChartSeries(name="host=web-03", unit="percent", points=pts),
                      ChartSeries(name="host=web-02", unit="percent", points=pts[::2])],
                     title="cpu")
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert (width, height) == (640, 260)
    assert render_png([]) is None
    assert render_png([ChartSeries(name="empty", points=[])]) is None


def test_bad_bot_token_or_unreachable_slack_is_a_config_error(tmp_path: Path) -> None:
    from fake_slack import FakeSlack

    from assistant.conversation import ConversationStore
    from assistant.core import Assistant
    from assistant.errors import ConfigError
    from assistant.slack import SlackBot

    def build(api_url: str) -> None:
        s = Settings(data_dir=tmp_path, llm={"provider": "none"},
                     slack={"bot_token": "xoxb-wrong", "api_url": api_url})
        SlackBot(s, Assistant(Services(s), ConversationStore()))

    with FakeSlack("xoxb-right") as fake:
        with pytest.raises(ConfigError, match=r"Slack rejected the bot token.*invalid_auth"):
            build(fake.api_url)
        assert [c.method for c in fake.calls] == ["auth.test"]
    with pytest.raises(ConfigError, match=r"cannot reach the Slack Web API at http://127\.0\.0\.1:9/"):
        build("http://127.0.0.1:9/api/")
    with pytest.raises(ConfigError, match="OPSA_SLACK__BOT_TOKEN"):
        s = Settings(data_dir=tmp_path, llm={"provider": "none"})
        SlackBot(s, Assistant(Services(s), ConversationStore()))
