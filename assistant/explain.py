"""`opsa ask --explain`: how a question was read, step by step, before it is answered.

Shows the reading the rules made of the wording (language, time span and the words that set
it, the intents and log operation, each mention linked to the catalog, the text filter or
templates chosen), the shape the exemplar bank gives it with its margin (`assistant.shapes`),
and the plan. Read-only: nothing is run against a backend but the catalog and templates.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.ir import TimeRange

if TYPE_CHECKING:
    from assistant.services import Services
    from assistant.understand import Understanding

SHAPE_NEIGHBOURS = 3


def explain(question: str, now: datetime, services: Services, planner: str = "rules"
            ) -> dict[str, Any]:
    """The reading of `question` as a plain dict (for `--json`) in the order it is made."""
    from assistant.understand import understand

    und = understand(question, now, services, [], planner=planner)
    return {
        "question": question,
        "language": und.language,
        "time": _time(und),
        "reading": _reading(und),
        "mentions": _mentions(und),
        "shape": _shape(question, services),
        "plan": [{"purpose": pq.purpose, "why": pq.why,
                  "query": pq.query.model_dump(mode="json", exclude_defaults=True,
                                               exclude={"time_range"})}
                 for pq in und.plan.queries],
        "notes": und.notes(),
        "clarification": und.plan.clarification,
        "refusal": bool(und.plan.refusal),
    }


def _time(und: Understanding) -> dict[str, Any]:
    t = und.time
    return {"window": _window(t.range), "kind": t.kind, "from_words": t.matched,
            "assumed": t.assumed, "note": t.note or None,
            "periods": [_window(p) for p in t.periods]}


def _window(tr: TimeRange) -> str:
    return f"{tr.start.isoformat()} .. {tr.end.isoformat()} ({tr.timezone})"


def _reading(und: Understanding) -> dict[str, Any]:
    r = asdict(und.intent)
    r["intents"] = sorted(r["intents"])
    return {k: v for k, v in r.items() if v not in (None, False, [], (), set())}


def _mentions(und: Understanding) -> dict[str, Any]:
    out: dict[str, Any] = {}
    links = und.links
    for kind in ("hosts", "services", "metrics", "labels", "patterns"):
        items = getattr(links, kind)
        if items:
            out[kind] = [{"text": x.text, "value": x.value, "score": round(x.score, 3),
                          "how": x.how} for x in items]
    if links.unknown:
        out["unknown"] = [{"text": u.value, "kind": u.kind} for u in links.unknown]
    return out


def _shape(question: str, services: Services) -> dict[str, Any] | None:
    from assistant.errors import OpsaError
    from assistant.shapes import classify

    try:
        guess = classify(question, data_dir=services.settings.data_dir,
                         kinds=_kinds(services))
    except (OpsaError, OSError, RuntimeError) as exc:
        return {"error": str(exc)}  # an explanation never fails on its extra part
    if guess is None:
        return None
    return {"shape": guess.shape, "score": round(guess.score, 3),
            "runner_up": guess.runner_up, "margin": round(guess.margin, 3),
            "low_confidence": guess.low_confidence,
            "nearest": [n.exemplar.q for n in guess.neighbours[:SHAPE_NEIGHBOURS]]}


def _kinds(services: Services) -> set[str]:
    """The kinds of data the store holds (the shapes that may compete)."""
    from assistant.errors import OpsaError

    cat = services.catalog
    kinds = {"docs"}
    if cat.metrics:
        kinds.add("metric")
    if cat.event_kinds:
        kinds.add("events")
    try:
        if services.logs_backend.log_vocabulary():
            kinds.add("logs")
    except OpsaError:
        pass
    return kinds


__all__ = ["explain"]
