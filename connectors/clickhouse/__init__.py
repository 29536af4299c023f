"""The ClickHouse connector: metrics, logs and events from a ClickHouse server, read-only.

`clickhouse-connect` (HTTP) is needed only for the default transport:
``pip install 'ops-assistant[clickhouse]'``; chDB (embedded ClickHouse) serves tests,
benchmarks and ``chdb:///path`` URLs.
"""

from connectors.clickhouse.connector import ClickHouseConnector

__all__ = ["ClickHouseConnector"]
