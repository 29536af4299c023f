"""The project's shared third-party data (`../shared/data`): found, or fail in CI, or skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("OPSA_PUBLIC_DATA")
            or Path(__file__).resolve().parents[2] / "shared" / "data")


def shared_data(*parts: str) -> Path:
    """`ROOT/parts...`; missing data fails the test in CI (`CI` or `OPSA_REQUIRE_DATA` set)
    and skips it elsewhere."""
    path = ROOT.joinpath(*parts)
    if not path.exists():
        msg = f"shared data {path} is missing (set OPSA_PUBLIC_DATA)"
        if os.environ.get("CI") or os.environ.get("OPSA_REQUIRE_DATA"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path
