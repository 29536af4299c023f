"""The IR is strict: bad queries fail with a message naming the field and allowed values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from assistant.errors import IRError
from assistant.ir import LogQuery, MetricQuery, TimeRange, parse_query, query_json_schema

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TR = {"start": "2026-11-20T11:00:00Z", "end": "2026-11-20T12:00:00Z"}


def test_valid_metric_query_round_trips() -> None:
    q = parse_query({"kind": "metric", "metric": "node_load1", "time_range": TR})
    assert isinstance(q, MetricQuery)
    assert parse_query(q.model_dump_json()) == q


def test_unknown_field_is_named() -> None:
    with pytest.raises(IRError, match=r"metric\.colour: unknown field"):
        parse_query({"kind": "metric", "metric": "x", "colour": "red", "time_range": TR})


def test_bad_enum_lists_allowed_values() -> None:
    with pytest.raises(IRError, match=r"function: got 'median'.*'rate'"):
        parse_query({"kind": "metric", "metric": "x", "function": "median", "time_range": TR})


def test_unknown_kind() -> None:
    with pytest.raises(IRError, match="unknown query kind 'sql'"):
        parse_query({"kind": "sql", "text": "select 1"})


def test_missing_kind() -> None:
    with pytest.raises(IRError, match="missing 'kind'"):
        parse_query({"metric": "x"})


def test_invalid_json() -> None:
    with pytest.raises(IRError, match="not valid JSON"):
        parse_query("{not json")


def test_time_range_must_be_ordered_and_aware() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        TimeRange(start=NOW, end=NOW - timedelta(hours=1))
    with pytest.raises(ValueError):
        TimeRange(start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))  # naive


def test_too_many_points_rejected() -> None:
    with pytest.raises(ValueError, match="more than"):
        TimeRange(start=NOW - timedelta(days=30), end=NOW, step_s=1)


def test_quantile_and_k_consistency() -> None:
    tr = TimeRange.last(3600, NOW)
    with pytest.raises(ValueError, match="needs 'quantile'"):
        MetricQuery(metric="x", function="quantile_over_time", time_range=tr)
    with pytest.raises(ValueError, match="needs 'k'"):
        MetricQuery(metric="x", aggregation="topk", time_range=tr)
    with pytest.raises(ValueError, match="'by' needs a grouping"):
        MetricQuery(metric="x", by=("host",), time_range=tr)


def test_windows_follow_the_documented_defaults() -> None:
    tr = TimeRange.last(3600, NOW)
    assert MetricQuery(metric="x", function="rate", time_range=tr).window() == 300
    inst = MetricQuery(metric="x", function="avg_over_time", mode="instant", time_range=tr)
    assert inst.window() == 3600
    assert inst.eval_times() == [NOW]
    day = TimeRange.last(86400, NOW)
    assert day.resolved_step() == 600
    assert len(day.steps()) == 145


def test_bad_regex_pattern_rejected() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        LogQuery(time_range=TimeRange.last(60, NOW), pattern="(unclosed")


def test_ir_is_frozen() -> None:
    q = MetricQuery(metric="x", time_range=TimeRange.last(60, NOW))
    with pytest.raises(ValueError):
        q.metric = "y"  # type: ignore[misc]


def test_schema_takes_enums_from_catalog() -> None:
    schema = query_json_schema(
        metrics=["node_load1", "http_requests_total"], services=["checkout"], hosts=["web-01"]
    )
    defs = schema["$defs"]
    assert defs["MetricQuery"]["properties"]["metric"]["enum"] == [
        "http_requests_total",
        "node_load1",
    ]
    host = defs["LogQuery"]["properties"]["host"]["anyOf"][0]
    assert host["enum"] == ["web-01"]
    json.dumps(schema)  # serialisable as a tool schema
