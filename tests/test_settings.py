"""Settings: env beats TOML, bad values are clear ConfigErrors, the clock can be pinned."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.settings import load_settings


def test_env_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "opsa.toml"
    cfg.write_text('timezone = "Asia/Seoul"\nbackend = "prometheus"\n[prometheus]\nurl = "http://x:9090"\n')
    monkeypatch.setenv("OPSA_CONFIG", str(cfg))
    monkeypatch.setenv("OPSA_BACKEND", "embedded")
    s = load_settings()
    assert s.timezone == "Asia/Seoul"
    assert s.backend == "embedded"  # env wins over TOML
    assert s.prometheus.url == "http://x:9090"


def test_pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSA_NOW", "2026-11-20T21:00:00+09:00")
    assert load_settings().clock() == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_cli_override_beats_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSA_DATA_DIR", "/nonexistent")
    assert load_settings(data_dir=tmp_path).data_dir == tmp_path


@pytest.mark.parametrize(
    ("env", "value", "needle"),
    [
        ("OPSA_TIMEZONE", "Mars/Olympus", "unknown timezone"),
        ("OPSA_NOW", "yesterday-ish", "now"),
        ("OPSA_NOW", "2026-11-20T12:00:00", "timezone"),
        ("OPSA_PLANNER", "magic", "planner"),
    ],
)
def test_bad_values_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_api_tokens_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSA_API_TOKENS", "a, b,,c")
    assert load_settings().api_tokens == ["a", "b", "c"]


def test_missing_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSA_CONFIG", "/no/such/opsa.toml")
    with pytest.raises(ConfigError, match="not a readable file"):
        load_settings()


def test_malformed_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "opsa.toml"
    cfg.write_text("timezone = \n")
    monkeypatch.setenv("OPSA_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="configuration"):
        load_settings()
