"""Which part of a release holds a passage: the message a search result's jump link opens.

A release posts a chapter as several messages (`bot.chapters.render.render_chapter`), and stores the
payloads it sent.  The renderer lays blocks out in order, each as escaped sentence pieces, so walking
the blocks in render order and finding each block's first piece in the parts (never before the part the
previous block was found in) gives every block its part; a long paragraph that runs over two messages is
then narrowed down to the piece holding the match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.chapters.render import text_unit
from bot.story.model import Chapter
from bot.text import escape_markdown

PROBE_CHARS = 80  # of a piece: enough to tell it apart, short enough to survive a cut at a message end


_SENTENCE_END = re.compile(r"[.!?\u2026]\s")


def _probe(text: str) -> str:
    return text[:PROBE_CHARS]


def _opening(raw: str) -> str:
    """How a block's text begins in a release, cheaply: its first words up to the first possible sentence
    end, escaped as the renderer escapes them.

    The renderer cuts text only between sentences, and never where this stops short of (a stricter rule
    than `.`/`!`/`?` and a space), so the result is a prefix of the block's first rendered piece.
    """
    raw = raw.strip()
    end = _SENTENCE_END.search(raw)
    raw = raw[:end.start() + 1] if end else raw
    if len(raw) > PROBE_CHARS:
        raw = raw[:PROBE_CHARS]
        raw = raw[:raw.rfind(" ")] if " " in raw else raw
    return escape_markdown(raw)


def _find(parts: list[str], probe: str, start: int) -> int | None:
    for index in range(start, len(parts)):
        if probe in parts[index]:
            return index
    return None


def block_parts(chapter: Chapter, parts: list[str]) -> dict[int, int]:
    """Block position → the index of the part that shows the block's beginning."""
    order = [i for i, b in enumerate(chapter.blocks) if b.kind != "note"]
    order += [i for i, b in enumerate(chapter.blocks) if b.kind == "note"]
    found: dict[int, int] = {}
    cursor = 0
    for position in order:
        opening = _opening(chapter.blocks[position].text)
        at = _find(parts, opening, cursor) if opening else None
        cursor = at if at is not None else cursor
        found[position] = cursor
    return found


@dataclass(frozen=True)
class ChapterParts:
    """A chapter as one server's release posted it: each part's text, each block's part, the messages."""

    chapter: Chapter
    texts: list[str]
    blocks: dict[int, int]  # block position → part index (`block_parts`)
    channel_id: int
    messages: dict[int, int]  # part index → message id


def passage_part(parts: ChapterParts, position: int, word: str | None) -> int:
    """The part holding block `position` at the first occurrence of `word` (its beginning when None)."""
    start = parts.blocks.get(position, 0)
    if word is None:
        return start
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
    for piece in text_unit(parts.chapter.blocks[position].text).pieces:
        if pattern.search(piece.text):
            at = _find(parts.texts, _probe(piece.text), start)
            return at if at is not None else start
    return start
