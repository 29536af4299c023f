"""`opsa eval`: run the offline eval cases, report, gate, compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.cli.common import app, console, err_console, friendly, print_json, settings
from assistant.errors import ConfigError

CASES_DIR = Path(__file__).resolve().parents[2] / "evals" / "cases"
THRESHOLD_FILE = Path(__file__).resolve().parents[2] / "evals" / "threshold.json"


@app.command("eval")
@friendly
def eval_cmd(
    planner: Annotated[str, typer.Option(help="rules | llm | hybrid")] = "rules",
    phrasing: Annotated[str, typer.Option(help="template | llm")] = "template",
    model: Annotated[str | None, typer.Option(help="GGUF path for the llama.cpp model")] = None,
    tags: Annotated[
        str | None, typer.Option(help="Only cases with any of these tags (a,b)")
    ] = None,
    cases: Annotated[list[Path] | None, typer.Option("--cases", help="Case files/folders")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    report: Annotated[Path | None, typer.Option(help="Write a report (.md or .html)")] = None,
    compare: Annotated[
        tuple[str, str] | None, typer.Option(help="Compare two stored runs: --compare A B")
    ] = None,
    gate: Annotated[bool, typer.Option(help="Exit 1 if must-pass cases fail or the pass "
                                       "rate is below evals/threshold.json")] = False,
    live: Annotated[bool, typer.Option(help="Use the configured backends as they are "
                                       "(no demo ground truth)")] = False,
    suite: Annotated[str, typer.Option(help="demo (the demo fleet's cases) | public (real "
                                       "third-party data, see evals/public)")] = "demo",
    systems: Annotated[str | None, typer.Option(help="public: only these systems (a,b)")] = None,
    classes: Annotated[str | None, typer.Option(help="public: only these classes (a,b)")] = None,
    work_dir: Annotated[Path | None, typer.Option(help="public: load the data sets here and "
                                                  "keep them; a later run reuses what is "
                                                  "loaded (default: a temporary directory)")
                        ] = None,
) -> None:
    """Score the assistant on eval cases (the embedded demo by default)."""
    if suite == "public":
        if cases is not None and len(cases) != 1:
            raise ConfigError("with --suite public, --cases takes one case set's folder "
                              "(cases/*.yaml and expected.json), e.g. evals/fresh")
        _public(planner, phrasing, systems, classes, work_dir, as_json, report, gate,
                cases[0] if cases else None)
        return
    if suite != "demo":
        raise ConfigError(f"unknown suite {suite!r}; use demo or public")
    from evals.report import compare as compare_runs
    from evals.report import html_report, markdown
    from evals.runner import Runner, load_run, save_run
    from evals.schema import load_cases

    s = settings()
    runs_dir = s.data_dir / "evals" / "runs"
    if compare:
        console.print(compare_runs(load_run(compare[0], runs_dir), load_run(compare[1], runs_dir)),
                      markup=False, highlight=False)
        return
    if model:
        s = s.model_copy(update={"llm": s.llm.model_copy(update={"model_path": model})})
    all_cases = load_cases(cases or [CASES_DIR])
    if tags:
        wanted = {t.strip() for t in tags.split(",") if t.strip()}
        all_cases = [c for c in all_cases if wanted & set(c.tags)]
        if not all_cases:
            raise ConfigError(f"no case has any of the tags {sorted(wanted)}")
    gt: dict[str, object] = {}
    gt_path = s.data_dir / "demo" / "ground_truth.json"
    if not live:
        if not gt_path.is_file():
            raise ConfigError(f"no demo data in {s.data_dir}; run 'opsa demo' first "
                              "(or pass --live to evaluate your own backends)")
        gt = json.loads(gt_path.read_text(encoding="utf-8"))
    runner = Runner(s, planner=planner, phrasing=phrasing, ground_truth=gt)
    with Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console,
                  disable=as_json and not err_console.is_terminal) as bar:
        task = bar.add_task("", total=len(all_cases))
        summary = runner.run(all_cases, progress=lambda cid: bar.update(
            task, advance=1, description=cid))
    path = save_run(summary, runs_dir)
    if report:
        text = html_report(summary) if report.suffix.lower() in (".html", ".htm") \
            else markdown(summary)
        report.write_text(text, encoding="utf-8")
    if as_json:
        print_json(summary.brief())
    else:
        console.print(markdown(summary).split("## Failures")[0], markup=False, highlight=False)
        console.print(f"stored run: {path}")
    if gate:
        threshold = json.loads(THRESHOLD_FILE.read_text())["min_pass_rate"]
        problems = []
        if summary.must_pass_failed:
            problems.append(f"must-pass cases failed: {', '.join(summary.must_pass_failed)}")
        if summary.pass_rate < threshold:
            problems.append(f"pass rate {summary.pass_rate:.1%} is below {threshold:.1%}")
        if problems:
            err_console.print("eval gate failed: " + "; ".join(problems))
            raise typer.Exit(1)


def _names(text: str | None) -> set[str] | None:
    return {t.strip() for t in text.split(",") if t.strip()} if text else None


def _public(planner: str, phrasing: str, systems: str | None, classes: str | None,
            work_dir: Path | None, as_json: bool, report: Path | None, gate: bool,
            case_set: Path | None) -> None:
    from evals.public.report import html_report, text_summary
    from evals.public.runner import DEFAULT_SET, run_public
    from evals.public.runner import gate as public_gate

    case_set = case_set or DEFAULT_SET
    s = settings().model_copy(update={"planner": planner, "phrasing": phrasing})
    with Progress(TextColumn("public eval"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=err_console,
                  disable=as_json and not err_console.is_terminal) as bar:
        task = bar.add_task("loading", total=None)
        summary = run_public(
            s, _names(systems), _names(classes), work_dir,
            progress=lambda cid: bar.update(task, advance=1, description=cid),
            total=lambda n: bar.update(task, total=n),
            note=lambda text: bar.update(task, description=text), case_set=case_set)
    if report:
        report.write_text(html_report(summary) if report.suffix.lower() in (".html", ".htm")
                          else json.dumps(summary.model_dump(mode="json", by_alias=True),
                                          indent=1, ensure_ascii=False), encoding="utf-8")
    if as_json:
        print_json(summary.brief())
    else:
        console.print(text_summary(summary), markup=False, highlight=False)
    if gate:
        problem = public_gate(summary, case_set)
        if problem:
            err_console.print(f"eval gate failed: {problem}", markup=False)
            raise typer.Exit(1)
