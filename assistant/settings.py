"""One settings object: `opsa.toml` plus `OPSA_*` environment variables. Data only.

Precedence (highest first): explicit overrides (CLI flags) > environment > TOML > defaults.
The TOML file is `$OPSA_CONFIG`, else `./opsa.toml` when it exists. Nested sections use
`__` in environment names: `OPSA_PROMETHEUS__URL=http://127.0.0.1:9090`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.errors import ConfigError


def check_timezone(name: str) -> str:
    """`name` if it is an IANA zone, else a ValueError saying what to use."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name like 'Asia/Seoul'"
        ) from None
    return name


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrometheusSettings(_Section):
    url: str = "http://127.0.0.1:9090"
    timeout_s: float = 10.0
    bearer_token: str | None = Field(default=None, repr=False)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    verify_tls: bool = True
    ca_file: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    max_series: int = 500
    max_points: int = 200_000


class AlertmanagerSettings(_Section):
    url: str | None = None
    timeout_s: float = 10.0
    bearer_token: str | None = Field(default=None, repr=False)
    verify_tls: bool = True


class ChromaSettings(_Section):
    url: str | None = Field(default=None, description="Chroma server; local files when unset")
    embedder: Literal["minilm", "e5"] = "e5"
    events_retention_days: int = 14


class LLMSettings(_Section):
    provider: Literal["llamacpp", "openai", "none"] = "llamacpp"
    model_path: str | None = Field(default=None, description="GGUF file; bundled model when unset")
    base_url: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    model: str = "local"
    temperature: float = 0.0
    max_tokens: int = 256
    n_ctx: int = 4096
    timeout_s: float = 30.0
    plan_schema: Literal["compact", "full"] = Field(
        default="compact",
        description="compact: closed choices per field (small local models); full: the IR "
                    "itself, with few-shot examples from the exemplar bank (large models)")
    few_shot: int = Field(default=4, ge=0, le=12,
                          description="exemplars shown to the full-schema planner")


class IngestSettings(_Section):
    service_labels: list[str] = Field(default_factory=lambda: ["service", "job", "app"])
    host_labels: list[str] = Field(
        default_factory=lambda: ["host", "instance", "hostname", "node"]
    )
    batch_size: int = 50_000


class SlackSettings(_Section):
    """The Slack bot (`opsa slack`, or HTTP mode at /slack/events under `opsa serve`)."""

    bot_token: str | None = Field(default=None, repr=False, description="xoxb-...")
    signing_secret: str | None = Field(default=None, repr=False)
    app_token: str | None = Field(default=None, repr=False, description="xapp-..., Socket Mode")
    api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base (tests: a local fake)"
    )
    channel_services: dict[str, list[str]] = Field(
        default_factory=dict,
        description="channel id -> the services it may ask about; unlisted: default_services",
    )
    default_services: list[str] | None = Field(
        default=None, description="services for channels not listed (None: all)"
    )


class ClickHouseLogTable(_Section):
    """Where log lines live in ClickHouse and which columns hold what.

    A column value is a column name, or ``attr:<key>`` for a key of the `attributes` map
    (e.g. ``service = "attr:service.name"``). `template_id` and `line_id` exist only in
    the project's own layout; set them to None for a user's table.
    """

    table: str = "logs"
    timestamp: str = "ts"
    service: str | None = "service"
    host: str | None = "host"
    level: str | None = "level"
    message: str = "message"
    attributes: str | None = Field(default=None, description="a Map(String, String) column")
    template_id: str | None = Field(default="template_id", description="project layout only")
    templates_table: str | None = Field(default="log_templates", description="id -> template")
    line_id: str | None = Field(default="line_hash", description="tie-break for equal times")
    level_num: str | None = Field(
        default="level_num",
        description="numeric level (project layout); used when the table has it, else the "
        "level names are mapped in SQL",
    )

    @field_validator("service", "host", "level", "attributes", "template_id",
                     "templates_table", "line_id", "level_num", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        # TOML has no null: an empty string says "this table has no such column".
        return None if v == "" else v


class ClickHouseMetricTable(_Section):
    """Metrics kept one sample per row in a team's own table (e.g. the OpenTelemetry
    exporter's ``otel_metrics_gauge`` / ``otel_metrics_sum``, or a remote-write table).

    A series is a metric name plus its labels: the `attributes` map, plus `label_columns`
    (label -> column, e.g. ``{service = "ServiceName"}``); empty values are no label. Set
    `table` to use it instead of the project's ``series`` + ``samples`` layout.
    """

    table: str | None = Field(default=None, description="None: the project layout")
    name: str = "MetricName"
    timestamp: str = "TimeUnix"
    value: str = "Value"
    attributes: str | None = Field(default="Attributes", description="a Map(String, String)")
    label_columns: dict[str, str] = Field(default_factory=lambda: {"service": "ServiceName"})
    type: Literal["counter", "gauge", "unknown"] = Field(
        default="unknown", description="the type of every metric here (unknown: by name)"
    )
    help: str | None = Field(default=None, description="e.g. MetricDescription")
    unit: str | None = Field(default=None, description="e.g. MetricUnit")

    @field_validator("table", "attributes", "help", "unit", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if v == "" else v


class ClickHouseSettings(_Section):
    """A ClickHouse server (HTTP interface) holding logs, events and metrics; read-only use."""

    url: str = "http://127.0.0.1:8123"
    username: str = "default"
    password: str | None = Field(default=None, repr=False)
    database: str = "default"
    verify_tls: bool = True
    timeout_s: float = 10.0
    max_rows: int = Field(default=10_000, ge=1, description="most rows one query returns")
    max_result_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="a larger result fails clearly"
    )
    logs: ClickHouseLogTable = Field(default_factory=ClickHouseLogTable)
    events_table: str = Field(default="events", description="'' when there is none")
    series_table: str = Field(
        default="series", description="metric series (project layout); '' for no metrics"
    )
    samples_table: str = "samples"
    metric_meta_table: str = Field(default="metric_meta", description="'' when there is none")
    metrics: ClickHouseMetricTable = Field(default_factory=ClickHouseMetricTable)


class Settings(BaseSettings):
    """Everything configurable. Build services from it with `assistant.services`."""

    model_config = SettingsConfigDict(
        env_prefix="OPSA_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(default=Path(".opsa"), description="all local state lives here")
    demo_data_dir: Path = Field(
        default=Path(".opsa-demo"), description="where `opsa demo` seeds its simulated fleet "
        "when no data directory is given (`opsa --demo CMD` reads it), so the demo never "
        "mixes with your own data")
    audit_retention_days: int = Field(default=30, ge=0, description="audit.jsonl in the data "
                                      "dir keeps this many days of questions; 0 turns it off")
    now: AwareDatetime | None = Field(default=None, description="pinned clock (ISO 8601)")
    timezone: str = "UTC"
    backend: str = Field(default="embedded", description="metrics/logs connector name")
    promql_semantics: Literal["prometheus2", "prometheus3"] = Field(
        default="prometheus2", description="range windows of the embedded and ClickHouse "
        "engines: prometheus2 reads [t - w, t] (what a Prometheus 2.x server answers), "
        "prometheus3 reads (t - w, t] (Prometheus 3.x, what its own conformance tests expect)")
    events_backend: str | None = Field(default=None, description="e.g. alertmanager")
    logs_backend: str | None = Field(
        default=None, description="e.g. clickhouse while metrics come from prometheus"
    )
    events_refresh_s: float = Field(
        default=0.0, ge=0, description="opsa serve re-indexes events from the events "
        "backend this often, in seconds (0: never; the Alertmanager webhook still works)"
    )
    query_timeout_s: float = Field(
        default=10.0, gt=0, description="the most one backend query may take, in seconds")
    answer_budget_s: float = Field(
        default=20.0, gt=0, description="the most one whole answer may take, in seconds: its "
        "queries share it, and a query still running when it runs out is given up; the "
        "answer comes back with the facts that finished and names the part that timed out")
    planner: Literal["rules", "llm", "hybrid"] = "rules"
    phrasing: Literal["template", "llm"] = Field(
        default="template", description="who words the answer; numbers always come from facts"
    )
    max_body_bytes: int = 64_000
    rate_limit_per_minute: int = 120
    api_tokens: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins allowed by CORS (none: CORS off)"
    )
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    alertmanager: AlertmanagerSettings = Field(default_factory=AlertmanagerSettings)
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    clickhouse: ClickHouseSettings = Field(default_factory=ClickHouseSettings)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("data_dir", "demo_data_dir")
    @classmethod
    def _a_directory(cls, v: Path, info: ValidationInfo) -> Path:
        if v.exists() and not v.is_dir():
            where = ("--data-dir (OPSA_DATA_DIR)" if info.field_name == "data_dir"
                     else "OPSA_DEMO_DATA_DIR")
            raise ValueError(f"{v} is a file, not a directory; point {where} at a directory")
        return v

    @field_validator("api_tokens", "cors_origins", mode="before")
    @classmethod
    def _tokens(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [t.strip() for t in v.split(",") if t.strip()]
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_path()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def clock(self) -> datetime:
        """The current time: the pinned clock if set, else the wall clock (UTC)."""
        return self.now.astimezone(UTC) if self.now is not None else datetime.now(UTC)

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def demo_target(self) -> Path:
        """The directory `opsa demo` seeds: the data directory when one was given (flag,
        environment or TOML; as CI and the evals do), else `demo_data_dir`."""
        return self.data_dir if "data_dir" in self.model_fields_set else self.demo_data_dir

    @property
    def store_path(self) -> Path:
        return self.data_dir / "telemetry.duckdb"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


def config_path() -> Path | None:
    explicit = os.environ.get("OPSA_CONFIG")
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"OPSA_CONFIG points to {p}, which is not a readable file")
        return p
    local = Path("opsa.toml")
    return local if local.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Settings from TOML and environment, with `overrides` (e.g. CLI flags) on top.

    Any invalid value becomes a `ConfigError` naming the setting.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"bad configuration: {problems}") from None
    except ValueError as exc:  # malformed TOML is reported by tomllib as ValueError
        raise ConfigError(f"bad configuration file: {exc}") from None
