"""The field catalog's pieces: names from a template's words, types from values, the
pattern that reads a field, the IR of field operations, and the catalog an ingest stores."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from assistant.errors import IRError
from assistant.ingest.writer import LogRecord, StoreWriter
from assistant.ir import Extract, LogQuery, parse_query
from assistant.log_fields import (
    FieldStats,
    build_fields,
    field_regex,
    infer_type,
    slots,
    split_key,
    value_type,
)
from connectors.embedded.connector import EmbeddedConnector


@pytest.mark.parametrize(("template", "names"), [
    ("connection from <*> port <*> ssh2", ["from", "port"]),
    ("worker exited pid=<*> status <*>", ["pid", "status"]),
    ("Accepted password for user <*>", ["user"]),
    ("[instance: <*>] VM <*> (Lifecycle Event)", ["instance", "vm"]),
    ("host.example.org:<*> close, <*> bytes sent", ["port", "bytes_sent"]),
    ("<*> <*>", [None, None]),
    ("open /var/log/<*> failed", ["log"]),
    ("uid=<*>,gid=<*> ok", ["uid", "gid"]),
])
def test_names_come_from_the_template_words(template: str, names: list[str | None]) -> None:
    assert [s.hint for s in slots(template)] == names


def test_a_unit_word_after_the_value() -> None:
    assert [s.unit for s in slots("request <*> took <*> ms")] == ["", "ms"]
    assert [s.unit for s in slots("sent <*> bytes (<*> KB)")] == ["bytes", "KB"]


@pytest.mark.parametrize(("value", "kind"), [
    ("10.0.0.7", "ipv4"), ("10.0.0.7:5432", "ipv4:port"), ("fe80::1ff:fe23:4567:890a", "ipv6"),
    ("00:11:43:e3:ba:c3", "mac"), ("127e769a-4fe6-4548-93b1-513ac51e0452", "uuid"),
    ("https://example.org/a", "url"), ("/var/lib/data", "path"), ("-12.5", "number"),
    ("0x1f", "hex"), ("a489c868f0c37da93b76", "hex"), ("blk_-160899", "id"), ("a1", "id"),
    ("Resumed", "word"), ("<1", "text"),
])
def test_value_types(value: str, kind: str) -> None:
    assert value_type(value) == kind


def test_field_types_follow_most_lines() -> None:
    assert infer_type([("12ms", 5), ("3ms", 2)], "") == ("number", "ms")
    assert infer_type([("200", 9), ("-", 1)], "") == ("number", "")
    assert infer_type([("10.0.0.1", 6), ("10.0.0.2:80", 4)], "") == ("ipv4:port", "")
    assert infer_type([("10.0.0.1", 5), ("x", 5)], "") == ("text", "")
    assert infer_type([("512", 1)], "bytes") == ("number", "bytes")


@pytest.mark.parametrize(("template", "line", "values"), [
    ("connection from <*> port <*> ssh2", "connection  from 1.2.3.4 port 22 ssh2",
     ["1.2.3.4", "22"]),
    ("[instance: <*>] VM <*> (Lifecycle Event)",
     "[instance: 127e769a-4fe6] VM Resumed (Lifecycle Event)\nmore", ["127e769a-4fe6", "Resumed"]),
    ("<*> <*> status: <*>", '10.1.1.1 "GET /a b HTTP/1.1" status: 200',
     ["10.1.1.1", '"GET /a b HTTP/1.1"', "200"]),
    ("disk <*>% full", "disk 92% full", ["92%"]),  # a number with its unit
    ("lifetime <*>:<*>", "lifetime 00:01", ["00:01"]),
])
def test_field_regex_reads_each_value(template: str, line: str, values: list[str]) -> None:
    m = re.search(field_regex(template), line)
    assert m is not None and list(m.groups()) == values
    for i, v in enumerate(values):
        one = re.search(field_regex(template, i), line)
        assert one is not None and one.group(1) == v


def test_a_template_cut_at_the_shape_limit_reads_long_lines() -> None:
    """Shapes are cut at 300 characters: the template's last word may be a piece of a
    placeholder, and the lines go on beyond it."""
    template = ("failed to resolve data source name " + "<*> " * 80)[:300]
    assert template.endswith("<") and len(slots(template)) == template.count("<*>")
    line = "failed to resolve data source name " + " ".join(f"an{i}" for i in range(80))
    m = re.search(field_regex(template), line)
    assert m is not None and m.groups() == tuple(f"an{i}" for i in range(len(slots(template))))


def test_field_regex_refuses_a_line_of_another_shape() -> None:
    assert re.search(field_regex("connection from <*> port <*>"), "connection to x port 1") is None
    with pytest.raises(ValueError, match="no field 2"):
        field_regex("from <*> port <*>", 2)


def test_build_fields_names_are_unique_and_typed() -> None:
    stats = [FieldStats((("10.0.0.1", 3), ("10.0.0.2", 1)), 2, 4),
             FieldStats((("7", 4),), 1, 4), None]
    rows = build_fields(5, "<*> sent <*> bytes <*>", stats, ("api",))
    assert [(f.key, f.type, f.unit, f.distinct) for f in rows] == [
        ("5.ipv4", "ipv4", "", 2), ("5.sent", "number", "bytes", 1), ("5.bytes", "text", "", 0)]
    twice = build_fields(6, "a <*> b <*>", [FieldStats((("x", 1),), 1, 1)] * 2)
    assert [f.name for f in twice] == ["a", "b"]
    same = build_fields(7, "<*> <*>", [FieldStats((("x", 1),), 1, 1)] * 2)
    assert [f.name for f in same] == ["word", "word_2"]


def test_split_key() -> None:
    assert split_key("12.port") == (12, "port")
    for bad in ("port", "x.port", "12.", "12"):
        with pytest.raises(ValueError, match=re.escape("'<template_id>.<name>'")):
            split_key(bad)


# -- the IR ---------------------------------------------------------------------------------

BASE = {"kind": "logs", "time_range": {"start": "2026-11-20T10:00:00Z",
                                       "end": "2026-11-20T12:00:00Z"}}
FIELD = {"kind": "field", "key": "3.took"}


def test_field_operations_validate() -> None:
    q = parse_query({**BASE, "extract": FIELD, "aggregate": "max",
                     "value_filters": [{"op": ">", "value": 5}, {"op": "in", "values": ["1"]}]})
    assert isinstance(q, LogQuery) and q.mode() == "stat" and q.extract is not None
    assert q.extract.name == "took"
    low = parse_query({**BASE, "extract": FIELD, "aggregate": "min"})
    assert isinstance(low, LogQuery) and low.mode() == "stat"


@pytest.mark.parametrize(("bad", "message"), [
    ({"extract": {"kind": "field"}}, "'key' is required"),
    ({"extract": {"kind": "field", "key": "took"}}, "'<template_id>.<name>'"),
    ({"aggregate": "max"}, "needs 'extract'"),
    ({"extract": FIELD, "aggregate": "max", "count_by": "host"}, "is one number"),
    ({"value_filters": [{"op": "=", "value": "x"}]}, "need 'extract'"),
    ({"extract": FIELD, "value_filters": [{"op": ">", "value": "5"}]}, "as a number"),
    ({"extract": FIELD, "value_filters": [{"op": "=", "value": 5}]}, "as a string"),
    ({"extract": FIELD, "value_filters": [{"op": "in", "value": "5"}]}, "takes 'values'"),
    ({"extract": FIELD, "value_filters": [{"op": "=", "value": "5", "values": ["5"]}]},
     "only for op='in'"),
    ({"extract": FIELD, "value_filters": [{"op": "regex", "value": "("}]}, "not a valid regular"),
    ({"extract": FIELD, "value_filters": [{"op": "~", "value": "x"}]}, "op"),
])
def test_bad_field_operations_are_one_line_errors(bad: dict[str, object], message: str) -> None:
    with pytest.raises(IRError, match=re.escape(message)) as info:
        parse_query({**BASE, **bad})
    assert "\n" not in str(info.value)


def test_a_field_pattern_comes_from_the_connector() -> None:
    with pytest.raises(ValueError, match="the connector compiles it"):
        Extract(kind="field", key="3.took").regex()


# -- the catalog an ingest stores ---------------------------------------------------------------


def test_ingest_stores_the_catalog_and_keeps_it_current(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    store = tmp_path / "t.duckdb"
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with StoreWriter(store) as w:
        w.add_log_records(LogRecord(ts=t0 + timedelta(seconds=i), service="api",
                                    message=f"request r{i} took {i * 10} ms")
                          for i in range(1, 6))
    con = duckdb.connect(str(store), read_only=True)
    stored = con.execute("SELECT name, type, unit, distinct_values, lines FROM log_fields "
                         "ORDER BY idx").fetchall()
    con.close()
    assert stored == [("request", "id", "", 5, 5), ("took", "number", "ms", 5, 5)]
    with StoreWriter(store) as w:  # more lines of the same template: measured again
        w.add_log_records([LogRecord(ts=t0, service="web", message="request r9 took 10 ms")])
    emb = EmbeddedConnector(store)
    took = emb.template_field(f"{emb.log_fields()[0].template_id}.took")
    assert (took.lines, took.distinct, took.services) == (6, 5, ("api", "web"))
    assert took.examples[0] == "10"
    emb.close()


# -- `opsa fields` ------------------------------------------------------------------------------


def test_opsa_fields_lists_and_filters_the_catalog(tmp_path: Path) -> None:
    import json
    from datetime import UTC, datetime, timedelta

    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.settings import load_settings

    store = load_settings(data_dir=tmp_path).store_path
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with StoreWriter(store) as w:
        w.add_log_records(
            [LogRecord(ts=t0 + timedelta(seconds=i), service="ssh",
                       message=f"connection from 10.0.0.{i} port {2200 + i}") for i in range(4)]
            + [LogRecord(ts=t0, service="web", message="[instance: a1] VM Resumed")])
    runner = CliRunner()
    out = runner.invoke(app, ["--data-dir", str(tmp_path), "fields", "--json", "--service", "ssh"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [(r["name"], r["type"], r["distinct"]) for r in rows] == [
        ("from", "ipv4", 4), ("port", "number", 4)]
    assert rows[1]["key"] == f"{rows[1]['template_id']}.port"
    table = runner.invoke(app, ["--data-dir", str(tmp_path), "fields", "--type", "id"])
    assert table.exit_code == 0 and "1 fields in 1 templates" in table.stdout
    assert ".instance" in table.stdout and "[instance:" in table.stdout  # brackets not markup
    assert ".port" not in table.stdout
