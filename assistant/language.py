"""Which language a question is in: Korean if it contains Hangul, else English."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "ko"]
LANGUAGES: tuple[Language, ...] = ("en", "ko")

_HANGUL = re.compile(
    "[\u1100-\u11ff"  # Hangul Jamo
    "\u3130-\u318f"  # Hangul Compatibility Jamo
    "\ua960-\ua97f"  # Hangul Jamo Extended-A
    "\uac00-\ud7a3"  # Hangul Syllables
    "\ud7b0-\ud7ff]"  # Hangul Jamo Extended-B
)


def has_hangul(text: str) -> bool:
    """True if `text` contains at least one Hangul character."""
    return _HANGUL.search(text) is not None


def detect_language(text: str) -> Language:
    """The answer language for a question: ``"ko"`` if it has any Hangul, else ``"en"``."""
    return "ko" if has_hangul(text) else "en"


def has_final_consonant(syllable: str) -> bool:
    """True if a precomposed Hangul syllable ends in a consonant (batchim), e.g. '률', '분'."""
    code = ord(syllable) - 0xAC00
    return 0 <= code <= 11171 and code % 28 != 0
