"""Follow-up turns ("and yesterday?", "그럼 web-02는?"): detected, and merged into the
previous turn's reading."""

from __future__ import annotations

import re
from typing import Any

from assistant.entities import Links
from assistant.intent import IntentReading
from assistant.timeparse import TimeResolution

FOLLOWUP = re.compile(
    r"^\s*(and|what about|how about|also|same for|now for|then|그럼|그리고|그러면|그건|그거|"
    r"또|이번엔|같은)\b|(?:는|은|도)\s*\??\s*$|^\s*(on|for|in)\s+\S+\s*\??\s*$",
    re.IGNORECASE,
)


def is_followup(question: str, reading: IntentReading, links: Links) -> bool:
    if FOLLOWUP.search(question):
        return True
    substantive = reading.intents - {"smalltalk"}
    return not substantive and bool(links.hosts or links.services or links.metrics)


def merge_followup(
    prev: dict[str, Any], links: Links, time: TimeResolution, reading: IntentReading
) -> tuple[Links, TimeResolution, IntentReading]:
    old = Links.model_validate(prev["links"])
    merged = links.model_copy(update={
        "hosts": links.hosts or ([] if links.services else old.hosts),
        "services": links.services or ([] if links.hosts else old.services),
        "metrics": links.metrics or old.metrics,
        "labels": links.labels or old.labels,
    })
    if time.assumed:
        time = TimeResolution.model_validate(prev["time"])
    if not (reading.intents - {"smalltalk"}):
        reading.intents = set(prev.get("intents", []))
        reading.stat = reading.stat or prev.get("stat")
        reading.level = reading.level or prev.get("level")
        reading.event_kinds = reading.event_kinds or list(prev.get("event_kinds", []))
    return merged, time, reading

