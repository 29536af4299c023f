"""The words the connected logs say, and what they tell about a question: a request to
act vs a question about an action the data records, names that are words not hosts."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.content_words import KO_GLOSSARY, Vocabulary, vocabulary
from assistant.entities import Links, UnknownMention
from assistant.errors import OpsaError
from assistant.intent import LOG_FIELD_WORDS, WRITE_ACTION, IntentReading
from assistant.template_match import TemplateIndex, template_index
from assistant.template_values import specialized
from connectors.base import Catalog

if TYPE_CHECKING:
    from assistant.services import Services



def only_what_the_store_holds(reading: IntentReading, catalog: Catalog,
                               vocab: Vocabulary) -> None:
    """In a store that holds only logs, "events" are its lines and "requests" are counted
    in them: a metric or event reading with no metric or event behind it reads the logs."""
    if not (vocab or catalog.log_levels):
        return
    if not reading.intents - {"smalltalk"} and not catalog.metrics \
            and not catalog.event_kinds and (reading.count or reading.stat == "sum"):
        reading.intents.add("logs")  # "how many events were logged ...": its lines
        return
    kinds = reading.intents & {"metric", "events"}
    missing = {k for k in kinds
               if (k == "metric" and not catalog.metrics)
               or (k == "events" and not catalog.event_kinds)}
    if missing and missing == kinds:
        reading.intents -= missing
        reading.intents.add("logs")
        if "events" in missing:
            reading.event_kinds = []



def log_vocabulary(services: Services) -> Vocabulary:
    """The logs' templates, and those with a recurring placeholder word written in
    (`assistant.template_values`): the words the logs say."""
    try:
        backend = services.logs_backend
        templates = backend.log_vocabulary()
        cache = services.settings.data_dir / "cache"
        return vocabulary([*templates, *specialized(backend.log_examples(), cache)]
                          if templates else templates)
    except OpsaError:
        return vocabulary([])  # no log store: no words to match


def template_index_for(services: Services) -> TemplateIndex | None:
    """The log templates with their meaning vectors (cached in memory and in the data
    directory), or None without a log store."""
    try:
        templates = services.logs_backend.log_vocabulary()
    except OpsaError:
        return None
    if not templates:
        return None
    return template_index(templates, cache_dir=services.settings.data_dir / "cache")


READ_QUESTION = re.compile(
    r"^\s*(?:how\s+(?:many|often|much)|when|what|which|did|was|were|has|have|had|is|are|"
    r"show|list|count|find)\b|몇\s*(?:번|회|건|줄|개)|언제|횟수|얼마나|있었|보여",
    re.IGNORECASE)
"""A question about what happened, not a request to do something."""


def asks_about_recorded_action(question: str, vocab: Vocabulary,
                                catalog: Catalog | None = None) -> bool:
    """A read question about an action the data records ("how many times did the app flush
    sensor data?" where the logs say "flush"; "파드 재시작 횟수" where a metric counts
    restarts): not a request to perform it. Requests ("flush the cache now", "재시작해줘")
    and actions the data never mentions stay refused."""
    metric_words = vocabulary([m.name.replace("_", " ") for m in catalog.metrics]
                              if catalog is not None else [])
    if not (vocab or metric_words) or not READ_QUESTION.search(question):
        return False
    for m in WRITE_ACTION.finditer(question):
        said = m.group(0).lower()
        stems = KO_GLOSSARY.get(said, ()) if re.search(r"[가-힣]", said) else tuple(
            w for w in said.split() if w not in ("the", "to", "up", "down", "back", "over"))
        if not any(vocab.has(x) or metric_words.has(x) for x in stems):
            return False
    return True


def known_words_not_hosts(links: Links, vocab: Vocabulary) -> Links:
    """An unknown 'host' or 'service' written as a plain name that the logs say ("from host
    Kernel", "TrustedInstaller 서비스") is what the lines are about, and a 'host' that is a
    word for a kind of value ("인스턴스 IP가") is that kind: neither is a name to ask about."""
    keep = [u for u in links.unknown if not _a_word_not_a_name(u, vocab)]
    if len(keep) == len(links.unknown):
        return links
    return links.model_copy(update={"unknown": keep})


def _a_word_not_a_name(u: UnknownMention, vocab: Vocabulary) -> bool:
    if u.kind == "host" and any(rx.fullmatch(u.value) for _, rx in LOG_FIELD_WORDS):
        return True
    return u.kind in ("host", "service") and not re.search(r"\d", u.value) \
        and vocab.has(u.value)

