"""`opsa catalog` and `opsa query` end to end on a small embedded store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from connectors.embedded import schema

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CPU = [(END - timedelta(seconds=15 * i), 40.0 + i) for i in range(20)]  # 40 at END


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    con = schema.connect(root / "telemetry.duckdb")
    try:
        con.execute("INSERT INTO series VALUES (1, 'cpu_percent', MAP {'host': 'web-01'})")
        con.execute("INSERT INTO series VALUES (2, 'req_total', MAP {'service': 'checkout', "
                    "'host': 'web-01'})")
        con.executemany("INSERT INTO samples VALUES (1, ?, ?)",
                        [[t.replace(tzinfo=None), v] for t, v in CPU])
        con.executemany("INSERT INTO samples VALUES (2, ?, ?)",
                        [[t.replace(tzinfo=None), 100.0 * i] for i, (t, _) in
                         enumerate(reversed(CPU))])
        con.execute("INSERT INTO metric_meta VALUES ('cpu_percent', 'gauge', 'CPU.', 'percent')")
        con.execute(
            "INSERT INTO logs (ts, service, host, level, level_num, message, line_hash) "
            "VALUES (TIMESTAMP '2026-11-20 11:58:00', 'checkout', 'web-01', 'error', 4, "
            "'payment [failed] for order 7', 1)"
        )
        con.execute(
            "INSERT INTO events (id, ts, kind, service, title, status) VALUES "
            "('d1', TIMESTAMP '2026-11-20 11:30:00', 'deploy', 'checkout', "
            "'deploy checkout v2', 'succeeded')"
        )
    finally:
        con.close()
    return root


def run(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args], input=stdin)
    return res.exit_code, res.stdout, res.stderr


def ir(kind: str = "metric", **fields: object) -> str:
    tr = {"start": (END - timedelta(minutes=5)).isoformat(), "end": END.isoformat()}
    return json.dumps({"kind": kind, "time_range": tr, **fields})


def test_catalog_json_and_text(data_dir: Path) -> None:
    code, out, _ = run(data_dir, "catalog", "--json")
    assert code == 0
    cat = json.loads(out)
    assert [m["name"] for m in cat["metrics"]] == ["cpu_percent", "req_total"]
    assert cat["services"] == ["checkout"] and cat["hosts"] == ["web-01"]
    assert cat["metrics"][1]["type"] == "counter"  # inferred from _total
    code, out, _ = run(data_dir, "catalog")
    assert code == 0 and "cpu_percent" in out and "checkout" in out


def test_query_json_gives_native_sql_and_values(data_dir: Path) -> None:
    code, out, _ = run(data_dir, "query", ir(metric="cpu_percent", mode="instant"), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["connector"] == "embedded" and result["native"].startswith("WITH")
    (series,) = result["series"]
    assert series["labels"] == {"host": "web-01"}
    ((when, value),) = series["points"]
    assert datetime.fromisoformat(when) == END and value == 40.0
    assert result["unit"] == "percent"


def test_query_text_shows_sql_and_result(data_dir: Path) -> None:
    q = ir(metric="req_total", function="increase", mode="instant")
    code, out, _ = run(data_dir, "query", q)
    assert code == 0
    assert "native query (embedded)" in out and "FROM samples" in out
    # 20 samples 15 s apart from 0 to 1900: the counter's zero point stops extrapolation
    assert "1900" in out


def test_query_logs_and_events_from_stdin(data_dir: Path) -> None:
    code, out, _ = run(data_dir, "query", "-", "--json",
                       stdin=ir("logs", level="error", service="checkout"))
    assert code == 0
    logs = json.loads(out)["logs"]
    assert [ln["message"] for ln in logs] == ["payment [failed] for order 7"]
    code, out, _ = run(data_dir, "query", ir("logs", level="error"))
    assert code == 0 and "payment [failed] for order 7" in out  # no markup eaten
    tr = {"start": "2026-11-20T11:00:00Z", "end": "2026-11-20T12:00:00Z"}
    code, out, _ = run(data_dir, "query", json.dumps({"kind": "events", "time_range": tr}))
    assert code == 0 and "succeeded" in out and "1 item(s) of 1" in out


@pytest.mark.parametrize(("args", "message"), [
    (["query", '{"kind": "metric"}'], "invalid query"),
    (["query", "not json"], "not valid JSON"),
    (["query", ir(metric="cpu_percnt")], "did you mean 'cpu_percent'"),
    (["query", ir("logs", service="chekout")], "did you mean 'checkout'"),
    (["query", json.dumps({"kind": "docs", "text": "disk"})], "opsa search"),
])
def test_errors_are_one_line_and_exit_1(data_dir: Path, args: list[str], message: str) -> None:
    code, out, err = run(data_dir, *args)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_missing_store_points_to_opsa_demo(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "catalog")
    assert code == 1 and "opsa demo" in err.replace("\n", " ")


def test_rendered_answers_print_data_brackets_literally(capsys: pytest.CaptureFixture[str]) -> None:
    """Log text like ``[parent]`` or ``[/x]`` is data: rich must not read it as markup."""
    from assistant.cli.ask_cmds import render_answer
    from assistant.models import Answer, FactOut, QueryRun

    ans = Answer(
        question="q", answer="top: “[<*>] [parent] Data too large [/oops]” (387)",
        language="en", time_range=None,
        facts=[FactOut(name="top", value=387.0, display="387",
                       labels={"template": "[parent] [bold]x"})],
        queries=[QueryRun(connector="embedded", purpose="logs [x]", ir={},
                          native="-- window [t - 300s, t]", ok=False, error="bad [/red]")],
        notes=["level [warn] and worse"],
    )
    render_answer(ans, show_queries=True)
    out = capsys.readouterr().out
    for text in ("[parent] Data too large [/oops]", "[parent] [bold]x", "[t - 300s, t]",
                 "bad [/red]", "logs [x]"):
        assert text in out, text


def test_ask_is_quiet_unless_asked_and_never_wrapped_when_piped(data_dir: Path) -> None:
    """The answer alone by default; the native queries with --show-queries (-v); piped
    output is not wrapped at 80 columns, and an error is one line."""
    question = "what was the peak cpu_percent on web-01 in the last 5 minutes?"
    code, out, _ = run(data_dir, "--now", END.isoformat(), "ask", question)
    assert code == 0 and "peaked at" in out
    assert "SELECT" not in out and "╭" not in out  # no queries, no panel when piped
    code, verbose, _ = run(data_dir, "--now", END.isoformat(), "ask", "-v", question)
    assert code == 0 and "SELECT" in verbose and "facts" in verbose
    # the series as a sparkline: with -v (and on a terminal), not in plain piped text or JSON
    assert "host=web-01  ██▇▇▇▆▆▅▅▅▄▄▄▃▃▂▂▂▁▁\n" in verbose  # 59% down to 40%
    assert "▁" not in out
    code, as_json, _ = run(data_dir, "--now", END.isoformat(), "ask", "--json", question)
    assert code == 0 and "▁" not in as_json
    assert [v for _, v in json.loads(as_json)["chart"][0]["points"]][-1] == 40.0
    long_name = "x" * 150
    code, _, err = run(data_dir, "query", ir(metric=long_name))
    assert code == 1 and len(err.strip().splitlines()) == 1 and long_name in err


def test_huge_values_are_cut_for_display_and_whole_in_json(tmp_path: Path) -> None:
    """A 5 MB log line prints as its first 500 characters and how many more; --json has it."""
    con = schema.connect(tmp_path / "telemetry.duckdb")
    try:
        con.execute("INSERT INTO logs (ts, service, host, level, level_num, message, line_hash) "
                    "VALUES (TIMESTAMP '2026-11-20 11:58:00', 'big', 'web-01', 'error', 4, "
                    "repeat('x', 5000000), 1)")
    finally:
        con.close()
    code, out, _ = run(tmp_path, "query", ir("logs", service="big"))
    assert code == 0 and len(out) < 5000 and "4,999,500 more characters" in out
    code, out, _ = run(tmp_path, "query", ir("logs", service="big"), "--json")
    assert code == 0 and len(json.loads(out)["logs"][0]["message"]) == 5_000_000


def test_ask_explain_shows_the_reading(data_dir: Path) -> None:
    """`opsa ask --explain`: the time, the reading, the mentions, the exemplar shape and the
    plan of a question, without answering it."""
    r = CliRunner().invoke(app, ["--data-dir", str(data_dir), "--now", END.isoformat(), "ask",
                                 "--explain", "--json",
                                 "peak cpu_percent on web-01 in the last 10 minutes"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["language"] == "en" and out["time"]["from_words"] == "in the last 10 minutes"
    assert "metric" in out["reading"]["intents"]
    assert [m["value"] for m in out["mentions"]["hosts"]] == ["web-01"]
    assert out["plan"][0]["query"]["metric"] == "cpu_percent"
    assert out["shape"] is None or out["shape"]["shape"].startswith("metric_")
