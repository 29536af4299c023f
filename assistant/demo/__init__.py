"""The demo fleet: a seeded, deterministic simulator of a small production.

`seed_demo(settings)` fills the store with 24 h of metrics, ~1M log lines and events for
12 hosts and 6 services, with injected incidents whose ground truth is saved beside the
data (`load_ground_truth`). Modules: `fleet` (names, sizes, timeline), `scenarios` (the
script and ground-truth models), `metrics`, `logs`, `events`, `export`, `seed`.

Public names are imported lazily so that `assistant.demo.<submodule>` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "seed_demo": "assistant.demo.seed",
    "DemoSummary": "assistant.demo.seed",
    "ground_truth_path": "assistant.demo.seed",
    "GroundTruth": "assistant.demo.scenarios",
    "ScenarioTruth": "assistant.demo.scenarios",
    "load_ground_truth": "assistant.demo.scenarios",
    "export_metrics": "assistant.demo.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'assistant.demo' has no attribute {name!r}")
