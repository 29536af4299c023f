"""Ingestion into the embedded DuckDB store.

Public entry points (import them from their modules):

* `assistant.ingest.writer.StoreWriter` / `LogRecord` - write samples, metric metadata, log
  records and events in Arrow batches, idempotently;
* `assistant.ingest.pipeline.ingest_paths` / `IngestOptions` / `IngestReport` - files and
  directories of metrics, logs or events, recognised by content (the `opsa ingest` command).

Modules: `readers` (gzip-aware block reading), `timestamps` (timestamp families), `layouts`
(plain-text line layouts and their detection), `logs_text`, `logs_json`, `templates` (masking
and drain3 mining), `metrics_text` (Prometheus / OpenMetrics), `metrics_csv`, `events`
(events JSON, Alertmanager webhooks), `levels`.
"""
