"""Metric series named by their name's tokens ("AAPL tweet volume"), and the
clarification for a series the catalog does not have."""

from __future__ import annotations

from assistant.entities import Link, Links, UnknownMention
from assistant.language import has_final_consonant
from assistant.series_names import MissingSeries, link_series, missing_series, number_disagrees
from assistant.understand.texts import KIND_KO
from connectors.base import Catalog

WEAK_METRIC_SCORE = 0.3


def strong_links(links: Links) -> Links:
    """Drop near-random metric links (a semantic search over a question that names no metric
    still returns its nearest neighbours)."""
    return links.model_copy(update={
        "metrics": [m for m in links.metrics if m.score >= WEAK_METRIC_SCORE]})


SERIES_OVERRIDE = 0.6
"""A series named by its tokens this well replaces the linker's (non-exact) metric links."""
SERIES_MARGIN = 0.1


def by_name_tokens(question: str, links: Links, catalog: Catalog) -> Links:
    """The metric whose name tokens the question says best ("AAPL tweet volume" ->
    twitter_volume_aapl), when it clearly beats every other metric."""
    if any(m.how == "exact" for m in links.metrics):
        return links
    taken = [*links.time_spans, *(x.span for x in (*links.hosts, *links.services))]
    missing = missing_series(question, [m.name for m in catalog.metrics], taken)
    if missing is not None:  # "Netflix tweet volume" where no tweet series is Netflix's
        return links.model_copy(update={"metrics": [], "unknown": [
            *links.unknown, _no_such_series(missing)]})
    found = link_series(question, [m.name for m in catalog.metrics], taken)
    if not found:
        return links
    best = found[0]
    # a linked metric whose number the question does not say ("exchange 4" is not
    # exchange_2_...) gives way to the best series that carries the question's number
    wrong_number = bool(links.metrics) and number_disagrees(question, links.metrics[0].value)
    if not wrong_number and len(found) > 1 and best.score - found[1].score < SERIES_MARGIN:
        return links
    # the linker's metric stays unless the name tokens say another one clearly better
    linked = next((f.score for f in found if links.metrics
                   and f.metric == links.metrics[0].value), None)
    if links.metrics and not wrong_number and best.score < SERIES_OVERRIDE \
            and (linked is None or best.score - linked < SERIES_MARGIN):
        return links
    link = Link(kind="metric", value=best.metric, span=best.span, how="alias",
                score=min(1.0, best.score), text=question[best.span[0]:best.span[1]])
    return links.model_copy(update={"metrics": [link]})


SERIES_SUGGESTED = 5


def _no_such_series(missing: MissingSeries) -> UnknownMention:
    """The clarification for a series the catalog does not have, naming its near kin."""
    kin = list(missing.family[:SERIES_SUGGESTED])
    more = len(missing.family) - len(kin)
    listed = ", ".join(kin) + (f" and {more} more" if more > 0 else "")
    return UnknownMention(kind="series", value=missing.text, span=missing.span,
                          suggestions=kin,
                          message=f"no series matches {missing.text!r}; the series with those "
                                  f"words are {listed}")


def unknown_ko(u: UnknownMention) -> str:
    noun = KIND_KO.get(u.kind, u.kind)
    subject = "이" if has_final_consonant(noun[-1]) else "가"  # 시계열이, 호스트가
    text = f"'{u.value}'라는 {noun}{subject} 없습니다."
    if u.suggestions:
        text += " 혹시 " + ", ".join(u.suggestions) + "을(를) 말씀하신 건가요?"
    return text

