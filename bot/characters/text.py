"""Folding text so "Azanã", "Azaña" and "azana" compare equal, and splitting it into words.

Readers type names without accents and the AAR spells them inconsistently, so every comparison —
the mention index and the fuzzy look-up alike — goes through the same fold: compatibility
decomposition (NFKD), combining marks dropped, a few letters NFKD leaves alone mapped by hand.
Case is kept by `strip_accents` (the index honours case-sensitive aliases) and dropped by `fold`.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that carry no combining mark under NFKD, plus typographic quotes and dashes.
_EXTRA = str.maketrans({
    "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "ẞ": "SS",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "þ": "th", "Þ": "Th",
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-", "\u2013": "-", "\u2014": "-",
})
_WORD = re.compile(r"\w+")


def strip_accents(text: str) -> str:
    """`text` without diacritics, case kept: 'Świerczewsk' -> 'Swierczewsk'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Accent- and case-insensitive form of `text`."""
    return strip_accents(text).casefold()


def words(text: str) -> list[str]:
    """The words of `text` with accents stripped and case kept (punctuation separates words)."""
    return _WORD.findall(strip_accents(text))


def search_key(text: str) -> str:
    """What the fuzzy look-up compares: folded words joined by single spaces
    ('Alcalá-Zamora' -> 'alcala zamora')."""
    return " ".join(w.casefold() for w in words(text))
