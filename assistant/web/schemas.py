"""Request and response bodies of the web API (the answer itself is `assistant.models.Answer`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from assistant.language import unencodable

CONVERSATION_ID = r"^[A-Za-z0-9._:-]{1,100}$"


class ChatRequest(BaseModel):
    """One question; `conversation_id` continues a conversation (follow-ups keep context)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="the question, in English or Korean",
                          examples=["peak CPU on web-03 in the last hour"])
    conversation_id: str | None = Field(default=None, pattern=CONVERSATION_ID)
    now: AwareDatetime | None = Field(default=None,
                                      description="answer as if it were this time (ISO 8601)")
    planner: Literal["rules", "llm", "hybrid"] | None = None

    @field_validator("question")
    @classmethod
    def _utf8(cls, value: str) -> str:
        bad = unencodable(value)
        if bad:
            raise ValueError(f"the question holds {bad}, which is not text; send UTF-8 text")
        return value


class TurnOut(BaseModel):
    question: str
    answer: str
    at: str
    context: dict[str, Any] = Field(default_factory=dict)


class ConversationOut(BaseModel):
    conversation_id: str
    turns: list[TurnOut]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error response: a code and a message written for people."""

    error: ErrorDetail
