"""Notes written by code, said in Korean for a Korean question (numbers unchanged)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from assistant.note_text import localized
from assistant.timeparse import resolve_time

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_notes_the_time_parser_writes_read_in_korean() -> None:
    """Taken from the parser itself, so a change of its English wording fails here."""
    for question in ("cpu 최대값", "어제 2시 cpu", "12월 17일 에러", "2시 에러",
                     "지난 3일 동안 2시 에러"):
        note = resolve_time(question, NOW, ZoneInfo("UTC")).note
        assert note, question
        ko = localized(note, "ko")
        assert not re.search(r"[A-Za-z]{3,}", ko.replace("cpu", "")), ko  # nothing left in English
        assert re.findall(r"\d+", ko) == re.findall(r"\d+", note)  # the same numbers


def test_known_caveats_and_unknown_notes() -> None:
    note = ("1,200 of 1,250 log lines carry no severity level, so the lines were counted "
            "by their words (error/fail), not by level")
    ko = localized(note, "ko")
    assert ko.startswith("로그 1,250줄 중 1,200줄") and "error/fail" in ko
    assert localized("a note nobody translated", "ko") == "a note nobody translated"
    assert localized(note, "en") == note
