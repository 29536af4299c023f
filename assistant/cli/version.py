"""`opsa --version`: the package version, read without importing anything heavy."""

from __future__ import annotations

import sys

from assistant import __version__


def version_line() -> str:
    """"opsa 0.1.0 (Python 3.11.7)"."""
    v = sys.version_info
    return f"opsa {__version__} (Python {v.major}.{v.minor}.{v.micro})"
