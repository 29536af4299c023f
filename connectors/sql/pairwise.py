"""Range functions that read each sample together with the one before it, as SQL.

``changes``, ``resets``, ``irate``, ``idelta``, ``deriv`` and ``predict_linear`` (Prometheus'
``promql/functions.go``). The ``win`` CTE they read holds every sample of each window
``(series_id, i)`` with ``prev`` / ``prev_ms``: the value and time of the series' sample
before it (NULL for its first), so a window's first sample is compared with one outside
the window only where that is subtracted again:

* ``changes`` / ``resets``: a flag per sample (value differs from the previous one, NaN
  equal to NaN / value below the previous one, NaN no reset), summed over the window minus
  the window's first sample's flag;
* ``irate`` / ``idelta``: the window's last sample and the one before it (at least two in
  the window); ``irate`` takes a drop as a counter reset;
* ``deriv`` / ``predict_linear``: the least-squares line through the window's samples
  (Kahan sums; a constant series has slope 0, an infinite constant one NaN), with
  ``predict_linear`` read ``horizon`` seconds after the evaluation time.
"""

from __future__ import annotations

from connectors.sql.common import num
from connectors.sql.dialect import Dialect

NAN = "CAST('NaN' AS DOUBLE)"


def pairwise_ctes(d: Dialect, function: str, t_ms: str, out_t_ms: str,
                  horizon_s: float = 0.0) -> list[tuple[str, str, str]]:
    """The CTEs from ``win`` to ``fn`` (``series_id, i, value``) for `function`; `t_ms` is the
    window's end and `out_t_ms` the evaluation time (they differ by an ``offset``)."""
    match function:
        case "changes" | "resets":
            return [("fn", f"{function}: samples in the window that "
                     + ("differ from the one before" if function == "changes"
                        else "are below the one before (a counter reset)"),
                     _count_sql(d, function))]
        case "irate" | "idelta":
            return _instant_ctes(d, function)
        case "deriv" | "predict_linear":
            return _regression_ctes(d, function, t_ms, out_t_ms, horizon_s)
    raise ValueError(f"{function!r} is not a pairwise range function")


def _count_sql(d: Dialect, function: str) -> str:
    if function == "changes":
        hit = (f"NOT (value = prev OR ({d.isnan('value')} AND {d.isnan('prev')}))")
    else:
        hit = f"value < prev AND NOT {d.isnan('value')} AND NOT {d.isnan('prev')}"
    flag = f"CASE WHEN prev IS NOT NULL AND {hit} THEN 1 ELSE 0 END"
    return (f"SELECT series_id, i, CAST(sum(flag) - {d.arg_min('flag', 'ts')} AS DOUBLE) "
            f"AS value\n  FROM (SELECT series_id, i, ts, {flag} AS flag FROM win)\n"
            "  GROUP BY series_id, i")


def _instant_ctes(d: Dialect, function: str) -> list[tuple[str, str, str]]:
    last = (
        "SELECT series_id, i, count(*) AS n,\n"
        f"         {d.arg_max('value', 'ts')} AS last_v, {d.arg_max('prev', 'ts')} AS prev_v,\n"
        f"         {d.epoch_ms('max(ts)')} AS last_ms, {d.arg_max('prev_ms', 'ts')} AS prev_ms\n"
        "  FROM win GROUP BY series_id, i\n  HAVING count(*) >= 2"
    )
    if function == "irate":
        reset = f"last_v < prev_v AND NOT {d.isnan('last_v')} AND NOT {d.isnan('prev_v')}"
        value = (f"CASE WHEN {reset} THEN last_v ELSE last_v - prev_v END"
                 " / ((last_ms - prev_ms) / 1000.0)")
    else:
        value = "last_v - prev_v"
    return [
        ("edges", "per series and step: the last sample and the one before it", last),
        ("fn", f"{function}: from the last two samples"
         + (" (a drop is a counter reset)" if function == "irate" else ""),
         f"SELECT series_id, i, {value} AS value\n  FROM edges WHERE last_ms > prev_ms"),
    ]


def _regression_ctes(d: Dialect, function: str, t_ms: str, out_t_ms: str,
                     horizon_s: float) -> list[tuple[str, str, str]]:
    sums = (
        "SELECT series_id, i, count(*) AS n, "
        f"{d.fsum('x')} AS sx, {d.fsum('value')} AS sy,\n"
        f"         {d.fsum('x * value')} AS sxy, {d.fsum('x * x')} AS sx2,\n"
        f"         min(value) AS lo, max(value) AS hi, {d.arg_min('value', 'ts')} AS first_v,\n"
        f"         sum(CASE WHEN {d.isnan('value')} THEN 1 ELSE 0 END) AS nans,\n"
        f"         max({out_t_ms} - {t_ms}) / 1000.0 AS shift\n"
        f"  FROM (SELECT *, ({d.epoch_ms('ts')} - {t_ms}) / 1000.0 AS x FROM win)\n"
        "  GROUP BY series_id, i\n  HAVING count(*) >= 2"
    )
    slope = "(sxy - sx * sy / n) / (sx2 - sx * sx / n)"
    line = (
        f"SELECT series_id, i, nans = 0 AND lo = hi AS flat, first_v, {slope} AS slope,\n"
        f"         sy / n - {slope} * sx / n AS intercept, shift\n  FROM sums"
    )
    if function == "deriv":
        value, flat = "slope", "0"
    else:
        value = f"intercept + slope * (shift + {num(horizon_s)})"
        flat = "first_v"
    fn = (
        f"SELECT series_id, i, CASE WHEN flat AND {d.isinf('first_v')} THEN {NAN}\n"
        f"                         WHEN flat THEN {flat} ELSE {value} END AS value\n"
        "  FROM line"
    )
    what = "slope" if function == "deriv" else f"value {num(horizon_s)}s ahead"
    return [
        ("sums", "per series and step: Kahan sums for the least-squares line (x: seconds "
         "from the window's end)", sums),
        ("line", "slope and intercept at the window's end (a constant series: flat)", line),
        ("fn", f"{function}: the line's {what}", fn),
    ]
