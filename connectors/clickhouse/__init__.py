"""The ClickHouse connector: logs and events from a ClickHouse server, read-only.

`clickhouse-connect` (HTTP) is needed only for the default transport:
``pip install 'ops-assistant[clickhouse]'``.
"""

from connectors.clickhouse.connector import ClickHouseConnector

__all__ = ["ClickHouseConnector"]
