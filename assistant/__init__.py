"""Ops Assistant: grounded answers from your metrics, logs, events and runbooks."""

__version__ = "0.1.0"
