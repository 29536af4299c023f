"""Shared pytest plugins: real servers on loopback (see tests/servers.py)."""

pytest_plugins = ["servers"]
