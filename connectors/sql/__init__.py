"""One SQL generation path for the SQL engines (DuckDB embedded, ClickHouse).

`metrics`, `logs` and `events` compile IR queries once; `dialect` supplies what the engines
spell differently; `results` and `promql` turn rows into series the same way for both;
`connector.SqlConnector` holds the run/validate/result logic both connectors share.
"""
