"""Expected answers for the public suite, computed from the raw files with plain Python.

    python -m evals.public.oracle --write    # (re)compute expected.json
    python -m evals.public.oracle --check    # recompute and fail on any drift
    python -m evals.public.oracle --check --set evals/fresh   # another case set

A case set is a folder holding ``cases/*.yaml`` and its ``expected.json`` (and the
``threshold.json`` its gate reads); `evals/public` is the default one.

Independence is the point: this module and the `oracle_*` modules it calls read the files
under `../shared/data` themselves and never import `assistant`, `connectors` or anything
that runs the product's queries (a test checks the imports).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
EXPECTED = HERE / "expected.json"
LOG_SYSTEMS = ("Android", "BGL", "HPC", "HealthApp", "Mac", "OpenStack", "Proxifier", "Spark",
               "Thunderbird", "Windows")


def data_root() -> Path:
    """`OPSA_PUBLIC_DATA`, else `../shared/data` beside the project root."""
    env = os.environ.get("OPSA_PUBLIC_DATA")
    return Path(env) if env else HERE.parents[2] / "shared" / "data"


def load_cases(cases_dir: Path = CASES_DIR) -> list[dict[str, Any]]:
    """Every case in `cases/*.yaml`, in file order; ids must be unique."""
    cases: list[dict[str, Any]] = []
    for path in sorted(cases_dir.glob("*.yaml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(items, list):
            raise SystemExit(f"{path}: expected a list of cases")
        cases.extend(items)
    seen: set[str] = set()
    for c in cases:
        if c["id"] in seen:
            raise SystemExit(f"duplicate case id {c['id']!r}")
        seen.add(c["id"])
    return cases


def compute(case: dict[str, Any], root: Path) -> dict[str, Any]:
    """One case's expected answer: {"none", "values", "phrases", "source"}."""
    system = case["system"]
    if system in LOG_SYSTEMS:
        from evals.public import oracle_logs as mod
    elif system == "nab":
        from evals.public import oracle_nab as mod  # type: ignore[no-redef,attr-defined,unused-ignore]
    elif system == "runbooks":
        from evals.public import oracle_runbooks as mod  # type: ignore[no-redef,attr-defined,unused-ignore]
    else:
        raise SystemExit(f"case {case['id']}: unknown system {system!r}")
    out = mod.compute(case, root)
    return {"none": bool(out.get("none", False)), "values": out.get("values", []),
            "phrases": out.get("phrases", []), "source": out.get("source")}


def compute_all(root: Path, cases_dir: Path = CASES_DIR) -> dict[str, dict[str, Any]]:
    if not root.is_dir():
        raise SystemExit(f"public data not found at {root}: set OPSA_PUBLIC_DATA")
    return {c["id"]: compute(c, root) for c in load_cases(cases_dir)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.public.oracle", description=__doc__)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write expected.json")
    mode.add_argument("--check", action="store_true", help="fail when expected.json drifted")
    ap.add_argument("--set", type=Path, default=HERE, metavar="DIR",
                    help="the case set: a folder with cases/*.yaml and expected.json")
    args = ap.parse_args(argv)
    if not (args.set / "cases").is_dir():
        raise SystemExit(f"{args.set} holds no cases/ folder: give a case set's folder")
    expected_path = args.set / "expected.json"
    fresh = compute_all(data_root(), args.set / "cases")
    if args.write:
        expected_path.write_text(json.dumps(fresh, indent=1, ensure_ascii=False, sort_keys=True)
                            + "\n", encoding="utf-8")
        print(f"wrote {len(fresh)} expected answers to {expected_path}")
        return 0
    stored = (json.loads(expected_path.read_text(encoding="utf-8"))
              if expected_path.exists() else {})
    drift = sorted(k for k in fresh.keys() | stored.keys() if fresh.get(k) != stored.get(k))
    for k in drift[:20]:
        print(f"drift {k}: stored {stored.get(k)} != computed {fresh.get(k)}", file=sys.stderr)
    if drift:
        print(f"{len(drift)} of {len(fresh)} expected answers drifted; "
              "run `python -m evals.public.oracle --write` after checking why", file=sys.stderr)
        return 1
    print(f"{expected_path} matches the oracle for all {len(fresh)} cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
