"""The terminal sparkline of an answer's series: drawn on a terminal and with -v, never into a
plain pipe or with --json (issue 19)."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from assistant.cli import ask_cmds
from assistant.cli.sparkline import BARS, sparkline, sparkline_lines
from assistant.models import Answer, ChartSeries

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def _series(name: str, values: list[float], unit: str = "percent") -> ChartSeries:
    return ChartSeries(name=name, unit=unit,
                       points=[(T0 + timedelta(minutes=i), v) for i, v in enumerate(values)])


def test_bars_scale_from_the_lowest_to_the_highest_value() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == BARS
    assert sparkline([10, 80, 10]) == "▁█▁"
    assert sparkline([5, 5, 5]) == "▁▁▁"  # flat: no invented variation
    assert sparkline([1, math.nan, 3]) == "▁ █"  # a gap stays a gap
    assert sparkline([]) == ""


def test_a_long_series_keeps_its_peak_when_squeezed() -> None:
    values = [10.0] * 400
    values[123] = 99.0  # one sample high: each bar is the highest value of its slice
    line = sparkline(values, width=40)
    assert len(line) == 40 and line.count("█") == 1 and line.index("█") == 123 * 40 // 400


def test_one_line_per_series_with_its_range_and_a_count_of_the_rest() -> None:
    chart = [_series(f"host=web-0{i}", [i, i + 10, i + 5]) for i in range(1, 6)]
    lines = sparkline_lines(chart)
    assert lines[0] == "host=web-01  ▁█▅"
    assert len(lines) == 4 and lines[-1] == "… and 2 more series (use --json)"
    assert sparkline_lines([_series("empty", [])]) == []


def _answer() -> Answer:
    return Answer(question="peak cpu on web-03", answer="CPU usage on web-03 peaked at 99%.",
                  language="en", time_range=None,
                  chart=[_series("host=web-03", [20, 30, 99, 40])])


def _render(monkeypatch: pytest.MonkeyPatch, terminal: bool, show_queries: bool) -> str:
    buf = io.StringIO()
    monkeypatch.setattr(ask_cmds, "console", Console(file=buf, force_terminal=terminal,
                                                     width=100, no_color=True))
    ask_cmds.render_answer(_answer(), show_queries=show_queries)
    return buf.getvalue()


def test_sparkline_on_a_terminal_and_with_v_but_not_into_a_pipe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    line = "host=web-03  ▁▂█▃"
    assert line in _render(monkeypatch, terminal=True, show_queries=False)
    assert line in _render(monkeypatch, terminal=False, show_queries=True)
    piped = _render(monkeypatch, terminal=False, show_queries=False)
    assert piped == "CPU usage on web-03 peaked at 99%.\n"

