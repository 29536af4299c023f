"""`AlertmanagerConnector`: alerts and silences from the Alertmanager v2 API, as `Event`s.

* An alert becomes ``kind="alert"`` with status ``firing`` (active or unprocessed),
  ``silenced`` or ``inhibited``. The v2 API lists only alerts that have not ended, so a
  ``resolved`` alert is one this connector saw earlier and no longer sees: its ``end`` is
  when it was first missed. Resolved alerts are therefore available only for a connector
  that lives across refreshes (the web server, the events refresher), not for one-shot runs.
* A silence becomes ``kind="change"`` (an operator change to alerting) with status
  ``active``, ``pending`` or ``expired`` and ``attrs["type"] == "silence"``.

`fetch_events()` returns everything (for refreshing the events collection); `run()` answers
an `EventQuery` with the IR's filters: overlap with the time range, kinds, service, host,
exact status, newest first, `limit` (with `total` and `truncated`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, assert_never

import httpx

from assistant.errors import BackendError, ConfigError
from assistant.ir import DocQuery, EventQuery, LogQuery, MetricQuery, Query
from assistant.settings import AlertmanagerSettings
from connectors.base import Catalog, Connector, Event, Result
from connectors.prometheus.client import HttpApi, HttpConfig

if TYPE_CHECKING:
    from assistant.settings import Settings

ALERTS_PATH = "/api/v2/alerts"
SILENCES_PATH = "/api/v2/silences"
_ALERT_PARAMS = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
_MAX_REMEMBERED = 10_000


def _parse_time(value: Any, what: str) -> datetime:
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise BackendError(f"Alertmanager returned an unreadable {what} {value!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class AlertmanagerConnector(Connector):
    """Read-only events from Alertmanager (alerts and silences)."""

    name = "alertmanager"
    handles = frozenset({"events"})

    def __init__(
        self,
        config: AlertmanagerSettings,
        *,
        service_labels: tuple[str, ...] = ("service", "job", "app"),
        host_labels: tuple[str, ...] = ("host", "instance", "hostname", "node"),
        clock: Callable[[], datetime] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not config.url:
            raise ConfigError(
                "the alertmanager connector needs alertmanager.url "
                "(e.g. OPSA_ALERTMANAGER__URL=http://127.0.0.1:9093)"
            )
        self.config = config
        self.http = HttpApi(
            HttpConfig(
                url=config.url,
                setting="alertmanager",
                label="Alertmanager",
                timeout_s=config.timeout_s,
                bearer_token=config.bearer_token,
                verify_tls=config.verify_tls,
            ),
            transport=transport,
        )
        self._service_labels = service_labels
        self._host_labels = host_labels
        self._clock = clock or (lambda: datetime.now(UTC))
        self._active: dict[str, Event] = {}
        self._resolved: dict[str, Event] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertmanagerConnector:
        return cls(
            settings.alertmanager,
            service_labels=tuple(settings.ingest.service_labels),
            host_labels=tuple(settings.ingest.host_labels),
        )

    def close(self) -> None:
        self.http.close()

    # -- Connector API ---------------------------------------------------------------

    def native(self, query: Query) -> str:
        if not isinstance(query, EventQuery):
            raise self._unsupported(query)
        filters = [
            f"overlapping {query.time_range.start.isoformat()}..{query.time_range.end.isoformat()}"
        ]
        for key in ("kinds", "service", "host", "status"):
            value = getattr(query, key)
            if value:
                filters.append(f"{key}={','.join(value) if key == 'kinds' else value}")
        return (
            f"GET {ALERTS_PATH}?active=true&silenced=true&inhibited=true&unprocessed=true; "
            f"GET {SILENCES_PATH}; filter {' '.join(filters)}; newest {query.limit}"
        )

    def catalog(self) -> Catalog:
        events = self.fetch_events()
        return Catalog(
            event_kinds=sorted({e.kind for e in events} | {"alert", "change"}),
            services=sorted({e.service for e in events if e.service}),
            hosts=sorted({e.host for e in events if e.host}),
        )

    def run(self, query: Query) -> Result:
        match query:
            case EventQuery():
                return self._run_events(query)
            case MetricQuery() | LogQuery() | DocQuery():
                raise self._unsupported(query)
            case _:
                assert_never(query)

    # -- events ----------------------------------------------------------------------

    def fetch_events(self) -> list[Event]:
        """All current alerts and silences, plus alerts seen before and gone since."""
        alerts = [self._alert(a) for a in self._get_list(ALERTS_PATH, _ALERT_PARAMS)]
        silences = [self._silence(s) for s in self._get_list(SILENCES_PATH)]
        self._remember(alerts)
        return [*alerts, *self._resolved.values(), *silences]

    def _run_events(self, q: EventQuery) -> Result:
        t0 = time.perf_counter()
        events = self.fetch_events()
        start, end = q.time_range.start, q.time_range.end
        kept = [
            e
            for e in events
            if e.ts <= end
            and (e.end is None or e.end >= start)
            and (not q.kinds or e.kind in q.kinds)
            and (q.service is None or e.service == q.service)
            and (q.host is None or e.host == q.host)
            and (q.status is None or e.status == q.status)
        ]
        kept.sort(key=lambda e: (e.ts, e.id), reverse=True)
        warnings: list[str] = []
        if len(kept) > q.limit:
            warnings.append(f"showing the newest {q.limit} of {len(kept)} events")
        return Result(
            connector=self.name,
            native=self.native(q),
            events=kept[: q.limit],
            total=len(kept),
            truncated=len(kept) > q.limit,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
            warnings=warnings,
        )

    def _get_list(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        status, body = self.http.request("GET", path, params=params)
        where = f"Alertmanager at {self.http.url}{path}"
        if status >= 400:
            text = body.get("message", body) if isinstance(body, dict) else body
            raise BackendError(f"{where} failed with HTTP {status}: {text}")
        if body is None:
            return []
        if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
            raise BackendError(
                f"{where} returned {type(body).__name__} where a list of objects was expected; "
                "is alertmanager.url an Alertmanager (v0.16+) with the v2 API?"
            )
        return body

    def _remember(self, alerts: list[Event]) -> None:
        now = self._clock()
        current = {e.id: e for e in alerts}
        for eid, prev in self._active.items():
            if eid not in current and eid not in self._resolved:
                self._resolved[eid] = prev.model_copy(update={"status": "resolved", "end": now})
        for eid in current:
            self._resolved.pop(eid, None)
        self._active = current
        while len(self._resolved) > _MAX_REMEMBERED:
            self._resolved.pop(next(iter(self._resolved)))

    def _pick(self, labels: dict[str, str], names: tuple[str, ...]) -> str | None:
        for name in names:
            value = labels.get(name)
            if value:
                # `instance` is host:port by convention; the host is what people name.
                return value.rsplit(":", 1)[0] if name == "instance" and ":" in value else value
        return None

    def _alert(self, a: dict[str, Any]) -> Event:
        labels = {str(k): str(v) for k, v in (a.get("labels") or {}).items()}
        annotations = {str(k): str(v) for k, v in (a.get("annotations") or {}).items()}
        status = a.get("status") or {}
        state = status.get("state", "active")
        if state == "suppressed":
            state = "silenced" if status.get("silencedBy") else "inhibited"
        else:
            state = "firing"
        started = _parse_time(a.get("startsAt"), "alert startsAt")
        fingerprint = str(a.get("fingerprint") or "")
        name = labels.get("alertname", "alert")
        summary = annotations.get("summary") or annotations.get("description") or ""
        return Event(
            id=f"am-alert-{fingerprint}-{int(started.timestamp())}",
            ts=started,
            kind="alert",
            service=self._pick(labels, self._service_labels),
            host=self._pick(labels, self._host_labels),
            title=f"{name}: {summary}" if summary else name,
            status=state,
            severity=labels.get("severity"),
            attrs={
                "source": "alertmanager",
                "fingerprint": fingerprint,
                "labels": labels,
                "annotations": annotations,
                "expires_at": a.get("endsAt"),
                "silenced_by": list(status.get("silencedBy") or []),
                "inhibited_by": list(status.get("inhibitedBy") or []),
                "generator_url": a.get("generatorURL"),
            },
        )

    def _silence(self, s: dict[str, Any]) -> Event:
        matchers = s.get("matchers") or []
        equal: dict[str, str] = {}
        parts: list[str] = []
        for m in matchers:
            op = (
                ("=~" if m.get("isRegex") else "=")
                if m.get("isEqual", True)
                else ("!~" if m.get("isRegex") else "!=")
            )
            parts.append(f'{m.get("name")}{op}"{m.get("value")}"')
            if op == "=":
                equal[str(m.get("name"))] = str(m.get("value"))
        comment = str(s.get("comment") or "")
        sid = str(s.get("id") or "")
        return Event(
            id=f"am-silence-{sid}",
            ts=_parse_time(s.get("startsAt"), "silence startsAt"),
            end=_parse_time(s.get("endsAt"), "silence endsAt"),
            kind="change",
            service=self._pick(equal, self._service_labels),
            host=self._pick(equal, self._host_labels),
            title=f"silence {{{', '.join(parts)}}}" + (f": {comment}" if comment else ""),
            status=str((s.get("status") or {}).get("state") or "unknown"),
            attrs={
                "source": "alertmanager",
                "type": "silence",
                "silence_id": sid,
                "matchers": matchers,
                "created_by": s.get("createdBy"),
                "comment": comment,
            },
        )

    def _unsupported(self, query: Query) -> BackendError:
        return BackendError(
            f"the alertmanager connector answers event queries only, not {query.kind} "
            'queries; set backend for metrics and logs and events_backend = "alertmanager"'
        )
