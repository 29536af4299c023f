"""Per-channel permissions: which services a Slack channel may ask about.

The check reads the *plan* (the typed queries the assistant is about to run), not the
words of the question, so follow-ups that inherit a service from the thread are checked
too. A query with no service or host restriction touches every service; a host counts as
the service it belongs to. Runbook (docs) queries are always allowed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from assistant.errors import OpsaError
from assistant.ir import Matcher, MetricQuery, Query, TimeRange, parse_query
from assistant.services import Services
from assistant.settings import SlackSettings

HOST_MAP_TTL_S = 600.0


@dataclass(frozen=True)
class Denial:
    """Why a question may not run in a channel, as a sentence for the person who asked."""

    channel: str
    allowed: tuple[str, ...]
    touched: tuple[str, ...]

    def message(self) -> str:
        allowed = ", ".join(self.allowed) if self.allowed else "no services"
        return (f"This channel may only ask about {allowed}, and this question would query "
                f"{', '.join(self.touched)}. Nothing was run. Name one of the allowed "
                "services (or one of their hosts), or ask in a channel that may see the others.")


class HostDirectory:
    """host -> service, read once (and every 10 minutes) from a metric carrying both labels."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._lock = threading.Lock()
        self._map: dict[str, str] = {}
        self._at = float("-inf")

    def service_of(self, host: str) -> str | None:
        with self._lock:
            if time.monotonic() - self._at > HOST_MAP_TTL_S:
                self._map = self._load()
                self._at = time.monotonic()
            return self._map.get(host)

    def _load(self) -> dict[str, str]:
        s = self.services.settings
        cat = self.services.catalog
        best: tuple[int, str, str, str] | None = None
        for m in cat.metrics:
            svc = next((lb for lb in s.ingest.service_labels if lb in m.labels), None)
            host = next((lb for lb in s.ingest.host_labels if lb in m.labels), None)
            if svc and host:
                cand = (len(m.labels[host]), m.name, svc, host)
                best = cand if best is None or cand[0] > best[0] else best
        if best is None:
            return {}
        _, metric, svc, host = best
        now = s.clock()
        query = MetricQuery(metric=metric, function="last_over_time", aggregation="count",
                            by=(svc, host), mode="instant",
                            time_range=TimeRange(start=now - timedelta(days=1), end=now))
        try:
            result = self.services.backend.run(query)
        except OpsaError:  # unknown hosts are then denied with a clear reason, not guessed
            return {}
        return {sr.labels[host]: sr.labels[svc] for sr in result.series
                if host in sr.labels and svc in sr.labels}


class ChannelPolicy:
    """Decides whether a plan may run in a channel."""

    def __init__(self, config: SlackSettings, services: Services) -> None:
        self.config = config
        self.services = services
        self.hosts = HostDirectory(services)

    def allowed(self, channel: str) -> list[str] | None:
        """The services `channel` may ask about; None means all."""
        if channel in self.config.channel_services:
            return list(self.config.channel_services[channel])
        return None if self.config.default_services is None else list(
            self.config.default_services)

    def check(self, channel: str, plan: Mapping[str, Any]) -> Denial | None:
        """A `Denial` when the plan would query a service the channel may not see."""
        allowed = self.allowed(channel)
        if allowed is None:
            return None
        touched: set[str] = set()
        for item in plan.get("queries") or []:
            touched |= self.touched(parse_query(item["ir"]))
        outside = sorted(touched - set(allowed))
        if not outside:
            return None
        return Denial(channel=channel, allowed=tuple(sorted(allowed)), touched=tuple(outside))

    def touched(self, query: Query) -> set[str]:
        """The services a query may read (hosts whose service is unknown are named as such)."""
        known = set(self.services.catalog.services)
        s = self.services.settings
        if query.kind == "docs":
            return set()
        if query.kind == "metric":
            svc_matchers = [m for m in query.matchers if m.label in s.ingest.service_labels]
            host_matchers = [m for m in query.matchers if m.label in s.ingest.host_labels]
        else:
            svc_matchers = [Matcher(label="service", op="=", value=query.service)] \
                if query.service else []
            host_matchers = [Matcher(label="host", op="=", value=query.host)] \
                if query.host else []
        services = _filter(known | _equal_values(svc_matchers), svc_matchers)
        if not host_matchers:
            return services
        hosts = _filter(set(self.services.catalog.hosts) | _equal_values(host_matchers),
                        host_matchers)
        owners = {h: self.hosts.service_of(h) for h in hosts}
        unknown = {f"host {h} (service unknown)" for h, o in owners.items() if o is None}
        if unknown and svc_matchers:  # the service matchers still bound what is read
            return services
        return (services & {o for o in owners.values() if o is not None}) | unknown


def _equal_values(matchers: Iterable[Matcher]) -> set[str]:
    return {m.value for m in matchers if m.op == "="}


def _filter(values: set[str], matchers: Iterable[Matcher]) -> set[str]:
    out = set(values)
    for m in matchers:
        out = {v for v in out if _matches(m, v)}
    return out


def _matches(m: Matcher, value: str) -> bool:
    match m.op:
        case "=":
            return value == m.value
        case "!=":
            return value != m.value
        case "=~":
            return re.fullmatch(m.value, value) is not None
        case "!~":
            return re.fullmatch(m.value, value) is None
    return True
