"""Optional LLM phrasing of an answer whose facts were computed in code.

The model sees the facts and evidence only as fenced data and may only reword them; the
grounding check (`assistant.grounding.enforce`) then rejects any sentence whose number is
not a fact.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from assistant.facts import Fact
from assistant.prompts import render_chat

if TYPE_CHECKING:
    from assistant.execute import Executed
    from assistant.llm import ChatModel
    from assistant.understand import Understanding

MAX_EVIDENCE_CHARS = 1200


def fact_lines(facts: list[Fact], tz_name: str) -> str:
    """One line per fact, as the model sees them."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    lines = []
    for f in facts:
        where = ", ".join(f"{k}={v}" for k, v in sorted(f.labels.items()))
        at = f" at {f.at.astimezone(tz):%H:%M}" if f.at else ""
        lines.append(f"{f.name}: {f.display or f.value}{at}" + (f" ({where})" if where else ""))
    return "\n".join(lines)


def phrase_with_llm(
    chat: ChatModel, und: Understanding, facts: list[Fact], executed: list[Executed]
) -> Iterator[str]:
    """Stream the model's wording of the facts."""
    tr = und.time.range
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tr.timezone)
    window = f"{tr.start.astimezone(tz):%Y-%m-%d %H:%M} to {tr.end.astimezone(tz):%H:%M} {tr.timezone}"
    evidence = "\n".join(t for ex in executed for t in ex.doc_texts)[:MAX_EVIDENCE_CHARS]
    messages = render_chat(
        "phrase_answer",
        question=und.question,
        language=und.language,
        window=window,
        facts=fact_lines(facts, tr.timezone),
        evidence=evidence,
    )
    yield from chat.stream(messages, max_tokens=200)
