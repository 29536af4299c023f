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


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def unencodable(text: str) -> str:
    """"" when `text` is valid Unicode text, else a description of the first character that
    is not (a lone surrogate, e.g. from JSON "\\ud800" or undecodable command-line bytes)."""
    m = _SURROGATE.search(text)
    return f"a lone surrogate U+{ord(m.group(0)):04X} at character {m.start() + 1}" if m else ""


def scrub(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so that it can be stored and sent."""
    return _SURROGATE.sub("\ufffd", text)
