"""The public suite: its shape, the oracle's independence and freshness, and the grader."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from evals.public import grade as g
from evals.public.oracle import EXPECTED, LOG_SYSTEMS, load_cases
from tests.shared_data import shared_data

PUBLIC = Path(__file__).resolve().parents[1] / "evals" / "public"
LOG_CLASSES = ("log_count", "log_count_window", "log_count_by_level", "log_top_values",
               "log_first_last", "log_busiest", "log_distinct_list", "log_distinct_count",
               "log_top_message", "log_show_lines")
METRIC_CLASSES = ("metric_peak", "metric_min", "metric_mean", "metric_p95",
                  "metric_above_threshold", "metric_daily_sum", "metric_anomalies",
                  "metric_compare_days")
RUNBOOK_CLASSES = ("runbook_meaning", "runbook_impact", "runbook_diagnosis",
                   "runbook_mitigation")


# ------------------------------------------------------------------ the oracle stands apart


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("path", sorted(PUBLIC.glob("oracle*.py")), ids=lambda p: p.name)
def test_oracle_imports_nothing_of_the_product(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in {"assistant", "connectors", "duckdb", "chdb"}, f"{path.name}: {name}"
        if top == "evals":
            assert name.startswith("evals.public.oracle"), f"{path.name} imports {name}"


def test_grader_imports_nothing_of_the_product() -> None:
    assert not {n.split(".")[0] for n in _imports(PUBLIC / "grade.py")} & {
        "assistant", "connectors", "evals"}


def test_expected_answers_match_the_oracle() -> None:
    shared_data("loghub")
    from evals.public.oracle import main

    assert main(["--check"]) == 0


# ------------------------------------------------------------------------ the suite's shape


def test_suite_has_the_promised_shape() -> None:
    cases = load_cases()
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert {c["id"] for c in cases} == set(expected)
    systems = Counter(c["system"] for c in cases)
    assert sum(systems[s] for s in LOG_SYSTEMS) >= 150
    assert all(systems[s] >= 12 for s in LOG_SYSTEMS), systems
    assert systems["nab"] >= 50 and systems["runbooks"] >= 40
    assert len(cases) >= 240
    classes = Counter(c["class"] for c in cases)
    for cls in (*LOG_CLASSES, *METRIC_CLASSES, *RUNBOOK_CLASSES):
        assert classes[cls] >= 8, f"{cls}: {classes[cls]} cases"
    assert set(classes) <= {*LOG_CLASSES, *METRIC_CLASSES, *RUNBOOK_CLASSES}
    assert sum(c["language"] == "ko" for c in cases) >= 0.25 * len(cases)
    assert sum(bool(c.get("none")) for c in cases) >= 0.10 * len(cases)
    for c in cases:
        assert bool(c.get("none")) == expected[c["id"]]["none"], c["id"]
        e = expected[c["id"]]
        assert e["none"] or e["values"] or len(e["phrases"]) >= 1, f"{c['id']} expects nothing"
        if c["system"] == "runbooks" and not e["none"]:
            assert len(e["phrases"]) >= 2 and e["source"], c["id"]


# ----------------------------------------------------------------------------- the grader


def test_headline_stops_at_the_window_and_sources() -> None:
    answer = ("Node R02 logged the most errors: 41 lines.\nTime window: 2005-06-03 00:00 – "
              "2005-06-04 00:00 UTC.\n\nSources:\n- runbooks/x.md")
    assert g.headline(answer) == "Node R02 logged the most errors: 41 lines."
    assert g.headline("조회 기간: 2026-11-20.\n결과") == ""


def test_numbers_leave_out_dates_and_clock_times() -> None:
    assert g.numbers("1,204 lines on 2005-06-03 at 15:42:10, 3.5% of 99") == [1204, 3.5, 99]


@pytest.mark.parametrize("text", [
    "first at 2005-06-03 15:42:50", "first on 2005-06-03T15:42", "on 2005-06-03, at 15:42",
    "Jun 3, 2005 at 15:42", "June 3 15:42", "06-03 15:42", "2005년 6월 3일 15:42",
    "6월 3일 오후 3시 42분"])
def test_times_in_common_spellings(text: str) -> None:
    assert g._time_ok("2005-06-03 15:42", text)
    assert g._time_ok("06-03 15:42", text)
    assert not g._time_ok("2005-06-03 15:43", text)


def test_a_name_must_lead_and_not_be_one_of_many() -> None:
    v = {"type": "name", "value": "10.0.0.1", "alternatives": ["10.0.0.2", "10.0.0.3",
                                                               "10.0.0.4", "10.0.0.5"]}
    assert g._name_ok(v, "10.0.0.1 was refused most (12), then 10.0.0.2 (3)") is None
    assert g._name_ok(v, "10.0.0.2 (3) and 10.0.0.1 (12)") is not None
    assert g._name_ok(v, "10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5") is not None
    assert g._name_ok(v, "10.0.0.11 was refused most") is not None
    exe = {"type": "name", "value": "chrome.exe", "alternatives": ["chrome.exe *64"]}
    assert g._name_ok(exe, "chrome.exe *64 opened most connections") is not None
    assert g._name_ok(exe, "chrome.exe opened most connections") is None


@pytest.mark.parametrize("text", ["the busiest day was 2005-07-09 (812 lines)",
                                  "July 9, 2005 was busiest", "2005년 7월 9일이 가장 많았습니다"])
def test_a_day_is_stated_as_a_date(text: str) -> None:
    assert g._time_ok("2005-07-09 00:00", text)
    assert not g._time_ok("2005-07-10 00:00", text)
    assert not g._time_ok("2005-07-09 15:00", text)


def test_grade_none_numbers_phrases_and_language() -> None:
    none = {"none": True, "values": [], "phrases": []}
    assert g.grade({"language": "en"}, none, "No lines mention foo.").passed
    assert not g.grade({"language": "en"}, none, "42 lines mention foo.").passed
    assert g.grade({"language": "ko"}, none, "해당 로그가 없습니다.").passed
    count = {"none": False, "values": [{"type": "number", "value": 42, "abs_tol": 0}],
             "phrases": []}
    assert g.grade({"language": "en"}, count, "42 lines mention timeouts.\nTime window: x").passed
    assert not g.grade({"language": "en"}, count, "No data.\nTime window: 42").passed
    assert not g.grade({"language": "ko"}, count, "42 lines mention timeouts.").passed
    assert g.grade({"language": "ko"}, count, "타임아웃 로그는 42건입니다.").passed
    # verbatim quotes are the source's language; the answer's own words must be Korean
    quoted = "가장 많은 메시지는 “Connection timed out after retrying the upstream” (42건)."
    assert g.grade({"language": "ko"}, count, quoted).passed
    assert not g.grade({"language": "ko"}, count, "Top: “timed out” (42).").passed
    block = "런북 조치 섹션 (42단계):\n> Restart the collector pods in the namespace\n> then wait"
    assert g.grade({"language": "ko"}, count, block).passed
    assert g.headline(block) != g.headline(block, quotes=False)
    code = "런북의 진단 섹션 (42단계):\n```shell\noc get pods -n openshift-monitoring\n```"
    assert g.grade({"language": "ko"}, count, code).passed
    cut = "가장 많은 메시지 (42건): “" + "x " * 400  # the quote runs past the headline
    assert g.grade({"language": "ko"}, count, cut).passed
    steps = {"none": False, "values": [], "phrases": ["oc get pods -n openshift-etcd"]}
    assert g.grade({"language": "en"}, steps, "Run:\n  oc get pods  -n openshift-etcd").passed
    assert not g.grade({"language": "en"}, steps, "Check the pods.").passed


# ------------------------------------------------------------------------------ the runner

OPSA = (sys.executable, "-c", "from assistant.cli import main; main()")


def test_public_run_on_one_system_reports_every_breakdown(tmp_path: Path) -> None:
    shared_data("loghub", "Spark")
    report = tmp_path / "report.html"
    out = subprocess.run(
        [*OPSA, "eval", "--suite", "public", "--systems",
         "spark", "--json", "--report", str(report), "--work-dir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=300, check=True)
    summary = json.loads(out.stdout)
    spark = [c for c in load_cases() if c["system"] == "Spark"]
    assert summary["cases"] == len(spark) and summary["by_system"]["Spark"]["cases"] == len(spark)
    assert set(summary) >= {"cases", "passed", "pass_rate", "by_system", "by_class",
                            "by_language", "by_answer", "latency_ms"}
    assert summary["load_errors"] == {}
    assert sum(v["cases"] for v in summary["by_class"].values()) == len(spark)
    assert "<h1>Public suite" in report.read_text(encoding="utf-8")
    # the loaded store is kept and reused by a second run
    assert (tmp_path / "work" / "Spark" / ".public-suite-loaded").is_file()


def test_unknown_system_is_one_clear_line() -> None:
    out = subprocess.run(
        [*OPSA, "eval", "--suite", "public", "--systems",
         "Solaris"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "unknown system Solaris" in out.stderr and "Traceback" not in out.stderr


def test_runbook_recall_counts_the_expected_source_by_rank() -> None:
    from evals.public.runner import PublicResult, _recall

    def result(case_id: str, sources: list[str]) -> PublicResult:
        return PublicResult(id=case_id, system="runbooks", cls="runbook_meaning",
                            language="en", none=False, question="q", passed=True,
                            reasons=[], headline="", answer="", expected={},
                            latency_ms=1.0, sources=sources)

    expected = {"a": {"source": "alerts/x/A.md"}, "b": {"source": "alerts/B.md"},
                "c": {"source": "alerts/C.md"}, "d": {}}
    got = _recall([result("a", ["alerts/x/A.md"]), result("b", ["o.md", "p.md", "alerts/B.md"]),
                   result("c", ["o.md"]), result("d", [])], expected)
    assert got == {"cases": 3, "recall_at_1": round(1 / 3, 4), "recall_at_3": round(2 / 3, 4)}


# ------------------------------------------------------------------ other case sets


def test_a_case_set_without_cases_is_refused_in_one_line(tmp_path: Path) -> None:
    """`--set DIR` / `opsa eval --suite public --cases DIR` name a case set's folder; one
    that holds no cases/ is refused before anything is loaded or written."""
    from assistant.errors import ConfigError
    from assistant.settings import Settings
    from evals.public import oracle
    from evals.public.runner import run_public

    with pytest.raises(SystemExit, match="holds no cases/ folder"):
        oracle.main(["--check", "--set", str(tmp_path)])
    with pytest.raises(ConfigError, match="holds no cases/ folder"):
        run_public(Settings(data_dir=tmp_path / "d"), case_set=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_case_set_is_graded_against_its_own_expected_answers(tmp_path: Path) -> None:
    """The oracle writes a case set's expected.json beside its cases, not the suite's."""
    data = shared_data()
    (tmp_path / "cases").mkdir()
    case = next(c for c in load_cases() if c["system"] == "Spark")
    (tmp_path / "cases" / "one.yaml").write_text(json.dumps([case]), encoding="utf-8")
    before = EXPECTED.read_text(encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "evals.public.oracle", "--write", "--set",
                          str(tmp_path)], capture_output=True, text=True, check=False,
                         env={"OPSA_PUBLIC_DATA": str(data), "PATH": "/usr/bin:/bin"},
                         cwd=PUBLIC.parents[1])
    assert out.returncode == 0, out.stderr
    written = json.loads((tmp_path / "expected.json").read_text(encoding="utf-8"))
    assert list(written) == [case["id"]]
    assert written[case["id"]] == json.loads(before)[case["id"]]
    assert EXPECTED.read_text(encoding="utf-8") == before
