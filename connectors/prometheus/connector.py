"""`PrometheusConnector`: metric IR against any engine speaking the Prometheus HTTP API.

Prometheus, VictoriaMetrics, Thanos and Mimir all serve `/api/v1/query(_range)`. Range IR
runs as `query_range` (start, end, `TimeRange.resolved_step()`); instant IR as `query` at
the range's end. Results are capped at `max_series` series and `max_points` points; a
capped result says so (`truncated`, `total`, a warning) rather than pretending to be whole.
An empty result for a metric or label value the server has never seen becomes an
`UnknownEntityError` with suggestions, so a typo is not mistaken for "all quiet".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, assert_never

import httpx

from assistant.errors import BackendError, UnknownEntityError
from assistant.ir import (
    MAX_SAMPLES,
    DocQuery,
    EventQuery,
    LogQuery,
    MetricQuery,
    Query,
    sample_cap_warning,
)
from assistant.settings import PrometheusSettings
from connectors.base import Catalog, Connector, Result, Series
from connectors.prometheus.catalog import discover, infer_unit
from connectors.prometheus.client import DEFAULT_MAX_BYTES, HttpApi, HttpConfig, PromApi
from connectors.prometheus.promql import bucket_metric, compile_metric, family, selector

if TYPE_CHECKING:
    from assistant.settings import Settings

_NAMES_TTL_S = 60.0


def _unsupported(connector: str, query: Query) -> BackendError:
    what = {"logs": "log", "events": "event", "docs": "document"}.get(query.kind, query.kind)
    hint = {
        "logs": 'set a log-capable backend (e.g. backend = "embedded") for log questions',
        "events": 'set events_backend (e.g. "alertmanager" or "embedded") for events',
        "docs": "documents are answered by retrieval, not by a telemetry connector",
    }.get(query.kind, "")
    return BackendError(
        f"the {connector} connector answers metric queries only, not {what} queries; {hint}"
    )


def _labels_key(s: Series) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(s.labels.items()))


class PrometheusConnector(Connector):
    """Metric queries against a Prometheus-compatible server (read-only)."""

    name = "prometheus"
    handles = frozenset({"metric"})

    def __init__(
        self,
        config: PrometheusSettings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        service_labels: tuple[str, ...] = ("service", "job", "app"),
        host_labels: tuple[str, ...] = ("host", "instance", "hostname", "node"),
        transport: httpx.BaseTransport | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.config = config or PrometheusSettings()
        c = self.config
        http = HttpApi(
            HttpConfig(
                url=c.url,
                setting="prometheus",
                label="Prometheus",
                timeout_s=c.timeout_s,
                bearer_token=c.bearer_token,
                username=c.username,
                password=c.password,
                verify_tls=c.verify_tls,
                ca_file=c.ca_file,
                headers=dict(c.headers),
                max_bytes=max_bytes,
            ),
            transport=transport,
        )
        self.api = PromApi(http)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._service_labels = service_labels
        self._host_labels = host_labels
        self._names: tuple[float, set[str]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PrometheusConnector:
        return cls(
            settings.prometheus,
            clock=settings.clock,
            service_labels=tuple(settings.ingest.service_labels),
            host_labels=tuple(settings.ingest.host_labels),
        )

    def close(self) -> None:
        self.api.close()

    # -- Connector API ---------------------------------------------------------------

    def native(self, query: Query) -> str:
        if isinstance(query, MetricQuery):
            return compile_metric(query)
        raise _unsupported(self.name, query)

    def catalog(self) -> Catalog:
        return discover(
            self.api,
            self._clock(),
            service_labels=self._service_labels,
            host_labels=self._host_labels,
            max_values=100,
        )

    def run(self, query: Query) -> Result:
        match query:
            case MetricQuery():
                return self._run_metric(query)
            case LogQuery() | EventQuery() | DocQuery():
                raise _unsupported(self.name, query)
            case _:
                assert_never(query)

    # -- metrics ---------------------------------------------------------------------

    def _run_metric(self, q: MetricQuery) -> Result:
        expr = compile_metric(q)
        t0 = time.perf_counter()
        tr = q.time_range
        if q.mode == "instant" or q.function == "samples":
            data, warnings = self.api.query(expr, tr.end)
        else:
            data, warnings = self.api.query_range(expr, tr.start, tr.end, tr.resolved_step())
        series = self._parse(q, expr, data)
        elapsed = (time.perf_counter() - t0) * 1000
        warnings = [f"{self.api.http.config.label}: {w}" for w in warnings]
        if not series:
            self._check_known(q)
            shown = q.metric if q.function != "histogram_quantile" else bucket_metric(q.metric)
            warnings.append(f"no samples of {shown} match the query in the time range")
        kept, truncated = self._cap(series)
        if q.function == "samples":
            kept, truncated = _cap_samples(series)
            if truncated:
                warnings.append(sample_cap_warning())
        elif truncated:
            warnings.append(
                f"result truncated: {len(kept)} of {len(series)} series kept "
                f"(limits: prometheus.max_series={self.config.max_series}, "
                f"prometheus.max_points={self.config.max_points}); add matchers or an "
                "aggregation (by ...) to see everything"
            )
        return Result(
            connector=self.name,
            native=expr,
            series=kept,
            total=len(series),
            unit=_unit(q),
            truncated=truncated,
            elapsed_ms=elapsed,
            warnings=warnings,
        )

    def _parse(self, q: MetricQuery, expr: str, data: Any) -> list[Series]:
        label = self.api.http.config.label
        if not isinstance(data, dict) or "resultType" not in data:
            raise BackendError(f"{label} returned no result data for {expr}: {data!r:.200}")
        rtype = data["resultType"]
        result: Any = data.get("result")
        name = family(q.metric) if q.function == "histogram_quantile" else q.metric
        try:
            if rtype == "scalar":
                t, v = result
                return [Series(metric=name, points=[(_dt(t), float(v))])]
            out: list[Series] = []
            for item in result or []:
                labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
                own = labels.pop("__name__", None)  # kept by `a or b`, filters: say it
                series_name = own if own and q.operations() else name
                if rtype == "matrix":
                    raw = item.get("values") or []
                elif rtype == "vector":
                    raw = [item["value"]]
                else:
                    raise BackendError(f"{label} returned an unknown result type {rtype!r}")
                # NaN (e.g. a histogram quantile without observations) is "no value":
                # left out, as the embedded engine does, so both answer alike.
                pts = [(_dt(t), x) for t, v in raw if not math.isnan(x := float(v))]
                if pts:  # built from checked types: skip re-validating every point
                    out.append(
                        Series.model_construct(metric=series_name, labels=labels, points=pts))
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(
                f"{label} returned a malformed {rtype} result for {expr}: {exc}"
            ) from exc
        out.sort(key=_labels_key)  # the same order as every other connector
        return out

    def _cap(self, series: list[Series]) -> tuple[list[Series], bool]:
        kept: list[Series] = []
        points = 0
        for s in series:
            if len(kept) >= self.config.max_series:
                break
            if points + len(s.points) > self.config.max_points:
                break
            kept.append(s)
            points += len(s.points)
        return kept, len(kept) < len(series)

    def _metric_names(self) -> set[str]:
        now = time.monotonic()
        if self._names is None or now - self._names[0] > _NAMES_TTL_S:
            names = self.api.list_call("/api/v1/label/__name__/values")
            self._names = (now, {str(n) for n in names})
        return self._names[1]

    def _check_known(self, q: MetricQuery) -> None:
        """Raise `UnknownEntityError` when the metric or an `=` label value never existed."""
        metric = bucket_metric(q.metric) if q.function == "histogram_quantile" else q.metric
        names = self._metric_names()
        if metric not in names:
            raise UnknownEntityError("metric", metric, names)
        for m in q.matchers:
            if m.op != "=" or m.value == "":
                continue
            path = f"/api/v1/label/{m.label}/values"
            values = {str(v) for v in self.api.list_call(path, {"match[]": selector(metric)})}
            if m.value not in values:
                raise UnknownEntityError(f"{m.label} (label of {metric})", m.value, values)


def _cap_samples(series: list[Series]) -> tuple[list[Series], bool]:
    """The first `MAX_SAMPLES` raw samples in label order (as the SQL engines cut them)."""
    kept: list[Series] = []
    left = MAX_SAMPLES
    for s in series:
        if left <= 0:
            return kept, True
        if len(s.points) > left:
            kept.append(s.model_copy(update={"points": s.points[:left]}))
            return kept, True
        kept.append(s)
        left -= len(s.points)
    return kept, False


def _dt(t: Any) -> datetime:
    return datetime.fromtimestamp(float(t), UTC)


def _unit(q: MetricQuery) -> str:
    if q.changes_unit():
        return ""
    base = infer_unit(q.metric)
    if q.function == "rate":
        return f"{base}/s" if base else "per second"
    if q.function == "count_over_time" or q.aggregation == "count":
        return ""
    return base
