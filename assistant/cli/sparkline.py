"""A one-line unicode chart (▁▂▃▄▅▆▇█) of each series an answer used, for the terminal: its
shape, scaled from its lowest to its highest point; the numbers are in the answer.

`opsa ask` prints one under the answer when stdout is a terminal (and with `-v` when piped);
never with `--json`, which has the points themselves (`chart`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.models import ChartSeries

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 40
"""Characters per line: each is the highest value in its slice of the window."""
SERIES_SHOWN = 3


def sparkline(values: Sequence[float], width: int = WIDTH) -> str:
    """`values` as at most `width` bars scaled from their lowest to their highest value;
    a slice with no number (NaN) is a space. A flat series is a row of the lowest bar."""
    if not values:
        return ""
    slices = _slices(values, width)
    peaks = [max((v for v in s if not math.isnan(v)), default=math.nan) for s in slices]
    real = [v for v in peaks if not math.isnan(v)]
    if not real:
        return " " * len(peaks)
    lo, hi = min(real), max(real)
    span = hi - lo
    top = len(BARS) - 1
    return "".join(" " if math.isnan(v) else BARS[round((v - lo) / span * top) if span else 0]
                   for v in peaks)


def _slices(values: Sequence[float], width: int) -> list[Sequence[float]]:
    n = len(values)
    if n <= width:
        return [values[i:i + 1] for i in range(n)]
    return [values[i * n // width:(i + 1) * n // width] for i in range(width)]


def sparkline_lines(chart: Sequence[ChartSeries], most: int = SERIES_SHOWN) -> list[str]:
    """One line per series (the first `most`): its name and its shape. No numbers: the chart's
    points are thinned for drawing, so their highest value can differ from the answer's own
    (a raw peak of 99.5% drawn from points whose highest is 99.0%)."""
    drawn = [s for s in chart if any(not math.isnan(v) for _, v in s.points)][:most]
    if not drawn:
        return []
    pad = max(len(s.name) for s in drawn)
    out = [f"{s.name:<{pad}}  {sparkline([v for _, v in s.points])}" for s in drawn]
    more = len([s for s in chart if s.points]) - len(drawn)
    if more > 0:
        out.append(f"… and {more} more series (use --json)")
    return out
