"""A chapter's blocks → the Discord message payloads a release sends (pure functions, no discord import).

Why it looks the way it does:

* Discord shows a message's `content` *above* its embeds, and inside an embed the description *above*
  the image. So a message reads: content text, then each embed's text followed by its picture. The
  renderer fills the content with the text that precedes the message's first picture and carries every
  picture in an embed whose description holds the text before it and ends with the picture's caption,
  so text and pictures interleave exactly as in the source while each picture costs one embed.
* Messages are packed greedily: each one takes as much of the remaining chapter as the limits allow
  (2,000 chars of content, 10 embeds, 4,096 a description, 6,000 across the embeds). Greedy is optimal
  here because any stretch of the chapter that fits one message still fits after dropping its start.
* Text is cut only between sentences, and a single sentence only at a space when it alone exceeds what
  an empty message could hold, so no paragraph is ever broken mid-sentence.
* Story text is escaped so the author's `*`, `**` and `_` show as written, and mentions are broken with a
  zero-width space: belt and braces beside `allowed_mentions: {"parse": []}` on every payload.
* Lengths are counted in UTF-16 code units, which is never less than Discord's count of characters, so
  an emoji can never push a payload over a limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.story.model import Block, Chapter
from bot.text import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBEDS,
    MAX_EMBEDS_TOTAL,
    discord_len,
    escape_markdown,
)

NOTES_TITLE = "Author's notes"
PARAGRAPH_SEP = "\n\n"
NOTE_SEP = "\n"
PICTURE_MARK = "\N{FRAME WITH PICTURE}\ufe0f"
NO_PICTURE = "(picture not available)"

Payload = dict[str, Any]

# Bump when a change here changes what a chapter renders to: releases store renders keyed by it (and by a
# hash of the output, which alone would already tell them apart), so the version says which code made one.
RENDERER_VERSION = 1


# --- splitting text into pieces that may be separated ------------------------------------------------

_BOUNDARY = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(\s+)")
_OPENERS = "\"'\u201c\u2018\u00ab([\u201e"
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st gen col lt capt cpt sgt maj adm prof rev sr jr no nos vs etc e.g i.e cf mt ft fr co "
    "inc ltd".split()
)


def _sentence_spans(text: str) -> Iterator[tuple[str, str]]:
    """(sentence, whitespace after it): cut after ., ! or ? when the next word starts a sentence.

    A boundary needs a capital or a digit after it (".. in the middle" is one sentence) and no
    abbreviation or initial before it ("Gen. Zhukov", "V. Blyukher"), so a cut never lands mid-sentence.
    """
    start = 0
    for match in _BOUNDARY.finditer(text):
        after = text[match.end():].lstrip(_OPENERS)
        if not after or not (after[0].isupper() or after[0].isdigit()):
            continue
        word = text[start:match.start()].rsplit(None, 1)[-1] if text[start:match.start()].strip() else ""
        word = word.lstrip(_OPENERS)
        if (len(word) == 1 and word.isupper()) or word.casefold() in _ABBREVIATIONS:
            continue
        yield text[start:match.start(1)], match.group(1)
        start = match.end()
    if start < len(text):
        yield text[start:], ""


_LINE_START_RAW = re.compile(r"^(?:(\d+)\.|[#>+-])")


def _hard_split(escaped: str, limit: int) -> Iterator[str]:
    """A word longer than a whole message: cut by length, never between a backslash and what it escapes."""
    while discord_len(escaped) > limit:
        cut, size = 0, 0
        while cut < len(escaped) and size + discord_len(escaped[cut]) <= limit:
            size += discord_len(escaped[cut])
            cut += 1
        backslashes = len(escaped[:cut]) - len(escaped[:cut].rstrip("\\"))
        if backslashes % 2:
            cut -= 1
        yield escaped[:cut]
        escaped = escaped[cut:]
        escaped = _LINE_START_RAW.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else "\\" + m.group(0),
                                      escaped)
    yield escaped


def _word_split(sentence: str, limit: int) -> list[tuple[str, str]]:
    """A sentence longer than `limit` once escaped: cut at spaces (at a length only where a word is too
    long)."""
    pieces: list[tuple[str, str]] = []
    tokens = re.split(r"(\s+)", sentence)
    words = [(tokens[i], tokens[i + 1] if i + 1 < len(tokens) else "") for i in range(0, len(tokens), 2)]
    current, current_len, pending_sep = "", 0, ""
    for word, sep in words:
        if not word:
            pending_sep += sep
            continue
        escaped = escape_markdown(word)
        joined = current_len + discord_len(pending_sep) + discord_len(escaped)
        if current and joined <= limit:
            current += pending_sep + escaped
            current_len = joined
        else:
            if current:
                pieces.append((current, pending_sep))
            chunks = list(_hard_split(escaped, limit))
            pieces.extend((chunk, "") for chunk in chunks[:-1])
            current, current_len = chunks[-1], discord_len(chunks[-1])
        pending_sep = sep
    if current:
        pieces.append((current, pending_sep))
    return pieces


@dataclass(frozen=True)
class Piece:
    """An escaped sentence (or part of an over-long one) and the whitespace that followed it."""

    text: str
    sep: str
    size: int


@dataclass(frozen=True)
class TextUnit:
    """One block's text as pieces; `prefix`/`suffix` wrap every chunk it is cut into (e.g. `**` for bold).

    `splittable` is False for headings and captions: they move whole to the next container rather than
    being cut, unless they cannot fit even an empty one.
    """

    pieces: tuple[Piece, ...]
    prefix: str = ""
    suffix: str = ""
    splittable: bool = True

    @property
    def wrap_size(self) -> int:
        return discord_len(self.prefix) + discord_len(self.suffix)

    def chunk(self, start: int, end: int) -> str:
        parts = [self.pieces[start].text]
        for i in range(start + 1, end):
            parts.append(self.pieces[i - 1].sep + self.pieces[i].text)
        return self.prefix + "".join(parts) + self.suffix

    def chunk_size(self, start: int, end: int) -> int:
        inner = sum(p.size for p in self.pieces[start:end])
        inner += sum(discord_len(p.sep) for p in self.pieces[start:end - 1])
        return inner + self.wrap_size


# The longest piece: one that fits an empty message's content even when wrapped, so packing always progresses.
MAX_PIECE = MAX_CONTENT - 16


def text_unit(raw: str, *, prefix: str = "", suffix: str = "", splittable: bool = True) -> TextUnit:
    """Escape `raw` and cut it into sentence pieces no longer than MAX_PIECE."""
    limit = MAX_PIECE - discord_len(prefix) - discord_len(suffix)
    pieces: list[Piece] = []
    for sentence, sep in _sentence_spans(raw.strip()):
        escaped = escape_markdown(sentence)
        parts = [(escaped, sep)] if discord_len(escaped) <= limit else _word_split(sentence, limit)
        if parts:
            parts[-1] = (parts[-1][0], sep)
        pieces.extend(Piece(text, s, discord_len(text)) for text, s in parts)
    return TextUnit(tuple(pieces), prefix, suffix, splittable)


# --- packing -----------------------------------------------------------------------------------------


@dataclass
class _Embed:
    title: str = ""
    parts: list[str] = field(default_factory=list)
    size: int = 0  # description length so far
    image_url: str | None = None

    def payload(self) -> Payload:
        embed: Payload = {}
        if self.title:
            embed["title"] = self.title
        if self.parts:
            embed["description"] = "".join(self.parts)
        if self.image_url:
            embed["image"] = {"url": self.image_url}
        return embed


@dataclass
class _Message:
    content: list[str] = field(default_factory=list)
    content_size: int = 0
    content_closed: bool = False
    embeds: list[_Embed] = field(default_factory=list)
    open_embed: _Embed | None = None

    @property
    def embeds_size(self) -> int:
        return sum(discord_len(e.title) + e.size for e in self.embeds)

    def payload(self) -> Payload:
        return {
            "content": "".join(self.content),
            "embeds": [e.payload() for e in self.embeds],
            "allowed_mentions": {"parse": []},
        }


class _Packer:
    """Lays text units and pictures into messages in reading order, each message as full as allowed."""

    def __init__(self) -> None:
        self.messages: list[_Message] = [_Message()]

    @property
    def msg(self) -> _Message:
        return self.messages[-1]

    def _flush(self) -> None:
        self.msg.open_embed = None
        self.messages.append(_Message())

    def _new_embed(self, title: str = "", need: int = 0) -> _Embed:
        """Open an embed after the message's content (and any earlier embed), in a new message if needed."""
        msg = self.msg
        msg.content_closed = True
        msg.open_embed = None
        if len(msg.embeds) >= MAX_EMBEDS or msg.embeds_size + discord_len(title) + need > MAX_EMBEDS_TOTAL:
            self._flush()
            msg = self.msg
            msg.content_closed = True
        embed = _Embed(title=title)
        msg.embeds.append(embed)
        msg.open_embed = embed
        return embed

    def _room(self, embed_only: bool) -> tuple[int, str]:
        """Where text goes next ('content' or 'embed') and how many characters it can still take there."""
        msg = self.msg
        if not embed_only and not msg.content_closed and not msg.embeds:
            return MAX_CONTENT - msg.content_size, "content"
        embed = msg.open_embed
        if embed is None:
            if len(msg.embeds) >= MAX_EMBEDS or msg.embeds_size >= MAX_EMBEDS_TOTAL:
                return 0, "embed"
            return min(MAX_DESCRIPTION, MAX_EMBEDS_TOTAL - msg.embeds_size), "embed"
        return min(MAX_DESCRIPTION - embed.size, MAX_EMBEDS_TOTAL - msg.embeds_size), "embed"

    def _advance(self, where: str) -> None:
        """The current text container is full: continue in the next embed, or in the next message."""
        msg = self.msg
        if where == "content":
            msg.content_closed = True
        elif msg.open_embed is not None and msg.open_embed.parts:
            msg.open_embed = None  # a fresh embed of this message may still take the text
        else:
            self._flush()

    def _append(self, where: str, text: str, size: int, sep: str) -> None:
        msg = self.msg
        if where == "content":
            if msg.content:
                msg.content.append(sep)
                msg.content_size += discord_len(sep)
            msg.content.append(text)
            msg.content_size += size
            return
        embed = msg.open_embed
        if embed is None:
            embed = _Embed()
            msg.embeds.append(embed)
            msg.open_embed = embed
        if embed.parts:
            embed.parts.append(sep)
            embed.size += discord_len(sep)
        embed.parts.append(text)
        embed.size += size

    def _sep_size(self, where: str, sep: str) -> int:
        msg = self.msg
        used = msg.content if where == "content" else (msg.open_embed.parts if msg.open_embed else [])
        return discord_len(sep) if used else 0

    def add_text(self, unit: TextUnit, *, sep: str = PARAGRAPH_SEP, embed_only: bool = False,
                 reserve: int = 0) -> None:
        """Place a unit, cutting it between pieces where a container fills up (if it may be cut).

        `reserve` keeps room after a whole unit for what must stay with it (a heading's first line of text).
        """
        start, n = 0, len(unit.pieces)
        stalls = 0
        while start < n:
            room, where = self._room(embed_only)
            room -= self._sep_size(where, sep)
            end, size = start, unit.wrap_size
            while end < n:
                grow = unit.pieces[end].size + (discord_len(unit.pieces[end - 1].sep) if end > start else 0)
                if size + grow > room:
                    break
                size += grow
                end += 1
            rest = unit.chunk_size(start, n)
            whole = end == n and (size + reserve <= room or rest + reserve > MAX_PIECE)
            partial = start < end < n and (unit.splittable or rest > MAX_PIECE)
            if whole or partial:
                self._append(where, unit.chunk(start, end), size, sep)
                start = end
                stalls = 0
                continue
            stalls += 1
            if stalls > 3:  # pragma: no cover - MAX_PIECE guarantees an empty message takes a piece
                raise AssertionError("renderer made no progress")
            self._advance(where)

    def add_picture(self, url: str, caption: TextUnit | None) -> None:
        """A picture ends an embed: its caption closes the embed's description and its image sits below."""
        if caption is not None and caption.pieces:
            self.add_text(caption, embed_only=True)
        elif self.msg.open_embed is None:
            self._new_embed()
        embed = self.msg.open_embed
        assert embed is not None
        embed.image_url = url
        self.msg.open_embed = None

    def add_section(self, title: str, unit: TextUnit, *, sep: str) -> None:
        """A titled embed (the author's notes) after everything before it; its text may run on."""
        first = unit.chunk_size(0, 1) if unit.pieces else 0
        self._new_embed(title, need=first)
        self.add_text(unit, sep=sep, embed_only=True)
        self.msg.open_embed = None

    def payloads(self) -> list[Payload]:
        return [m.payload() for m in self.messages if m.content or m.embeds]


# --- the chapter -------------------------------------------------------------------------------------


def header_text(chapter: Chapter, *, number: int, total: int) -> str:
    """The release's opening lines: the title as a heading, then the threadmark and 'Chapter N of M'."""
    return (f"# {escape_markdown(chapter.title.strip())}\n"
            f"**{escape_markdown(chapter.threadmark.strip())}** \u00b7 Chapter {number} of {total}")


def _block_unit(block: Block) -> TextUnit | None:
    """How a block reads: headings bold, captions italic (the image itself is added by the packer)."""
    if block.kind == "heading":
        return text_unit(block.text, prefix="**", suffix="**", splittable=False)
    if block.kind == "paragraph":
        return text_unit(block.text)
    if block.kind == "picture" and block.image_url:
        return text_unit(block.text, prefix="*", suffix="*", splittable=False) if block.text.strip() else None
    if block.kind == "picture":  # nowhere to fetch it from: its caption marks where it stood
        caption = block.text.strip() or NO_PICTURE
        return text_unit(caption, prefix=f"{PICTURE_MARK} *", suffix="*", splittable=False)
    return None


def _keep_with_next(block: Block, blocks: list[Block], units: list[TextUnit | None], index: int) -> int:
    """Room a heading keeps for the first sentence after it, so it never ends a message on its own."""
    if block.kind != "heading" or index + 1 >= len(blocks) or blocks[index + 1].kind != "paragraph":
        return 0
    following = units[index + 1]
    if following is None or not following.pieces:
        return 0
    return discord_len(PARAGRAPH_SEP) + following.chunk_size(0, 1)


def render_chapter(chapter: Chapter, *, number: int, total: int) -> list[Payload]:
    """The messages, in order, that a release of `chapter` (number `number` of `total`) posts.

    Each is a JSON dict as Discord's Create Message takes it: `content`, `embeds`, and
    `allowed_mentions` set to ping no one.
    """
    packer = _Packer()
    header = header_text(chapter, number=number, total=total)
    packer.add_text(TextUnit((Piece(header, "", discord_len(header)),), splittable=False))
    blocks = chapter.story_blocks
    units = [_block_unit(block) for block in blocks]
    for index, (block, unit) in enumerate(zip(blocks, units, strict=True)):
        if block.kind == "picture" and block.image_url:
            packer.add_picture(block.image_url, unit)
        elif unit is not None and unit.pieces:
            packer.add_text(unit, reserve=_keep_with_next(block, blocks, units, index))
    notes = "\n".join(b.text.strip() for b in chapter.notes if b.text.strip())
    if notes:
        packer.add_section(NOTES_TITLE, text_unit(notes), sep=NOTE_SEP)
    return packer.payloads()
