"""Optional LLM phrasing of an answer whose facts were computed in code.

The model sees the facts and evidence only as fenced data and may only reword them; the
grounding check (`assistant.grounding.enforce`) then rejects any sentence whose number is
not a fact.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from assistant.answer import facts_block
from assistant.facts import Fact
from assistant.prompts import render_chat

if TYPE_CHECKING:
    from assistant.execute import Executed
    from assistant.llm import ChatModel
    from assistant.understand import Understanding

MAX_EVIDENCE_CHARS = 400
MAX_FACTS = 12  # a small model reads slowly: the answer's leading facts are enough


def phrase_with_llm(
    chat: ChatModel, und: Understanding, facts: list[Fact], executed: list[Executed]
) -> Iterator[str]:
    """Stream the model's wording of the facts."""
    tr = und.time.range
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tr.timezone)
    start, end = tr.start.astimezone(tz), tr.end.astimezone(tz)
    window = f"{start:%Y-%m-%d %H:%M} to {end:%H:%M} {tr.timezone}"
    evidence = "\n".join(t for ex in executed for t in ex.doc_texts)[:MAX_EVIDENCE_CHARS]
    messages = render_chat(
        "phrase_answer",
        question=und.question,
        language=und.language,
        window=window,
        facts=facts_block(facts[:MAX_FACTS], tr, "ko" if und.language == "ko" else "en"),
        evidence=evidence,
    )
    yield from chat.stream(messages, max_tokens=200)
