"""A small PNG line chart of an answer's main series (matplotlib, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from assistant.models import ChartSeries


def render_png(series: Sequence[ChartSeries], title: str = "", width_in: float = 6.4,
               height_in: float = 2.6) -> bytes | None:
    """PNG bytes of up to 6 series on one set of axes; None when there is nothing to draw."""
    drawable = [s for s in series if s.points]
    if not drawable:
        return None
    # The object API (no pyplot): no global figure state, safe from several threads.
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for s in drawable[:6]:
        xs = mdates.date2num([p[0] for p in s.points])
        ys = [p[1] for p in s.points]
        ax.plot(xs, ys, linewidth=1.4, label=s.name)
    units = {s.unit for s in drawable if s.unit}
    if len(units) == 1:
        ax.set_ylabel(units.pop())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title[:80], fontsize=10)
    if len(drawable) > 1:
        ax.legend(fontsize=7, loc="best")
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
