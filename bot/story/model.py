"""The Story model: what the importer produces and the renderer consumes.

A chapter is an ordered list of blocks so pictures and captions stay where the author put them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "picture", "note"]


@dataclass(frozen=True)
class Block:
    """One element of a chapter. For a picture, `text` is its caption (possibly empty)."""

    kind: BlockKind
    text: str = ""
    image_name: str | None = None
    image_url: str | None = None


@dataclass
class Chapter:
    threadmark: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    reactions: dict[str, int] = field(default_factory=dict)

    @property
    def forum_likes(self) -> int:
        """The forum's 'Like' reactions; other kinds are kept in `reactions` as a tally."""
        return sum(count for kind, count in self.reactions.items() if kind.casefold() == "like")

    @property
    def story_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.kind != "note"]

    @property
    def notes(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "note"]

    @property
    def pictures(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "picture"]

    @property
    def story_chars(self) -> int:
        """Length of the story text: headings, paragraphs and captions, not the author's notes."""
        return story_chars(self.blocks)

    def content_hash(self) -> str:
        payload = json.dumps([asdict(b) for b in self.blocks], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def key(self) -> tuple[str, str]:
        return (self.threadmark, self.title)


@dataclass(frozen=True)
class Comment:
    """A reader's post. `chapter_index` is the 0-based chapter it follows, or None before the first."""

    chapter_index: int | None
    body: str
    quote: str = ""


@dataclass
class Story:
    chapters: list[Chapter]
    comments: list[Comment]


def story_chars(blocks: list[Block]) -> int:
    return sum(len(b.text) for b in blocks if b.kind != "note")
