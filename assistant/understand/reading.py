"""Step 1 of the flow: the question, read once, becomes a typed `Reading`.

`read` is the one place that reads the question's text: its language, its time span
(against the pinned clock and the data's extent), the catalog items it names (hosts,
services, metrics, label values, components), its intent, the words the logs say, and
whether it follows up the previous turn. Planning works from the `Reading`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from assistant.content_words import TextFilter, Vocabulary
from assistant.conversation import Turn
from assistant.entities import Links
from assistant.intent import IntentReading, read_intent
from assistant.language import detect_language
from assistant.log_sources import with_component
from assistant.planner import PlanInput
from assistant.timeparse import TimeResolution, resolve_time, strip_time_phrases
from assistant.understand.followup import is_followup, merge_followup
from assistant.understand.series import by_name_tokens, strong_links
from assistant.understand.text_filter import content_filter
from assistant.understand.texts import FORECAST
from assistant.understand.vocabulary import (
    asks_about_recorded_action,
    known_words_not_hosts,
    log_vocabulary,
    only_what_the_store_holds,
    template_index_for,
)
from assistant.understand.window import data_span, last_deploy, metric_span

if TYPE_CHECKING:
    from assistant.services import Services


@dataclass
class Reading:
    """Everything the question says, linked to what the connected data holds."""

    question: str
    """As asked: shown back, and given as is to a model planner."""
    text: str
    """The question without its time phrases: what the rules planner reads."""
    language: str
    time: TimeResolution
    links: Links
    """Hosts, services, metrics, label values and components it names, and names unknown."""
    intent: IntentReading
    vocabulary: Vocabulary
    """The words the logs say (their templates, and recurring values written in)."""
    content: TextFilter | None
    """The words or templates the lines must say, when it names what the logs say."""
    followup: bool
    """It changes the previous turn's reading ("and yesterday?"), merged in."""
    forecast: bool
    """It asks about the future ("will", "tomorrow")."""

    def plan_input(self, services: Services) -> PlanInput:
        return PlanInput(question=self.text, time_range=self.time.range, reading=self.intent,
                         links=self.links, catalog=services.catalog,
                         templates=tuple(t for t, _ in self.vocabulary.lines),
                         periods=self.time.periods)


def read(question: str, now: datetime, services: Services, history: list[Turn]) -> Reading:
    """The `Reading` of `question`; raises `TimeRangeError` for a period that cannot be
    read (in the future, impossible, out of range)."""
    tz = services.settings.tz()
    catalog = services.catalog
    links = by_name_tokens(question, strong_links(services.linker.link(question)), catalog)
    span = metric_span(services, links) or data_span(services)
    time = resolve_time(question, now, tz, data_span=span)
    if time.needs_last_deploy:
        deployed = last_deploy(services, now, time.range.timezone)
        time = resolve_time(question, now, tz, last_deploy=deployed, data_span=span)
    text = strip_time_phrases(question)
    intent = read_intent(text)
    vocab = log_vocabulary(services)
    links = known_words_not_hosts(links, vocab)
    links = with_component(question, links, catalog.services)
    only_what_the_store_holds(intent, catalog, vocab)
    if "refuse" in intent.intents and asks_about_recorded_action(question, vocab, catalog):
        intent.intents.discard("refuse")
    content = content_filter(question, links, intent, vocab, catalog,
                             template_index_for(services))
    prev = history[-1].context if history else None
    followup = bool(prev) and is_followup(question, intent, links)
    if followup and prev:
        links, time, intent = merge_followup(prev, links, time, intent)
    return Reading(question=question, text=text, language=detect_language(question),
                   time=time, links=links, intent=intent, vocabulary=vocab, content=content,
                   followup=followup, forecast=bool(FORECAST.search(question)))
