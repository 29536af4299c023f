"""The `prometheus` connector: IR -> PromQL over the Prometheus HTTP API."""

from connectors.prometheus.connector import PrometheusConnector
from connectors.prometheus.promql import compile_metric

__all__ = ["PrometheusConnector", "compile_metric"]
