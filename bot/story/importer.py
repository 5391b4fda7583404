"""Importing a forum export into the database: read and validate the file, parse, write in one transaction.

Chapters are matched by (threadmark, title), so importing the same file twice changes nothing and a
newer export of the same thread only adds what is new. Release state lives in other tables and is
never touched here.

Whatever the file holds, the outcome is one of two: the import, or a `StoryImportError` whose message
is one line (the CLI prints it as `aar-bot: error: ...`) with the database exactly as it was. Checks that
need no database come first (size before reading, binary or not UTF-8 before parsing, the parser's
bounds, see `bot.story.limits`); the write is one transaction, rolled back on any error.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.characters.index import rebuild_mention_index
from bot.storage import imports, transaction
from bot.storage.database import Database
from bot.storage.stories import DEFAULT_STORY_ID
from bot.storage.story import chapter_count
from bot.story.limits import MAX_CHAPTERS, MAX_FILE_BYTES
from bot.story.model import Story
from bot.story.parser import ParseError, parse_thread


class StoryImportError(ValueError):
    """The file cannot be imported; the message names the problem in one line.

    One line whatever it quotes: a file name or a line of the export can hold a line break, and a
    second line would read as a second error (or be lost) wherever the message is shown.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


class StoryChanged(StoryImportError):
    """The story in the database is no longer the one an import was previewed against."""


@dataclass(frozen=True)
class ImportSummary:
    chapters_added: int
    chapters_updated: int
    pictures_added: int
    comments_added: int
    chapters_total: int

    def one_line(self, source: str) -> str:
        updated = f", {self.chapters_updated} chapters updated" if self.chapters_updated else ""
        return (
            f"Imported {source}: {self.chapters_added} chapters, {self.pictures_added} pictures, "
            f"{self.comments_added} comments added{updated} ({self.chapters_total} chapters in the database)."
        )


def read_export_bytes(path: Path) -> bytes:
    """Read an export file, with a one-line error when there is no readable file or it is too large.

    The size is checked before reading, and the read stops one byte past the limit all the same: a file
    can grow between the two, and a device or a FIFO has no size to check.
    """
    if not path.exists():
        raise StoryImportError(f"{path}: file not found")
    if not path.is_file():
        raise StoryImportError(f"{path}: not a regular file")
    try:
        size = path.stat().st_size
        if size <= MAX_FILE_BYTES:
            with path.open("rb") as file:
                data = file.read(MAX_FILE_BYTES + 1)
                size = len(data)
    except OSError as exc:
        raise StoryImportError(f"{path}: cannot read ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise StoryImportError(
            f"{path}: file is {size:,} bytes, larger than an export can be (the limit is {MAX_FILE_BYTES:,})")
    return data


def decode_export(data: bytes, source: str) -> str:
    """Decode an export, refusing anything that is not a UTF-8 text export (a BOM is fine).

    A NUL byte anywhere makes the file binary (a text export never holds one, and one late in the file
    would otherwise end up in a chapter); the share of other control bytes is judged on the head.
    """
    if not data.strip():
        raise StoryImportError(f"{source}: file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise StoryImportError(f"{source}: binary file (a NUL byte at offset {nul}), not a text export")
    if _looks_binary(data[:8192]):
        raise StoryImportError(f"{source}: binary file (control bytes), not a text export")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StoryImportError(
            f"{source}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the export as UTF-8"
        ) from None
    return text


def _looks_binary(head: bytes) -> bool:
    """Many control bytes other than whitespace mean this is not a text export."""
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls > len(head) // 20


def parse_export(text: str, source: str) -> Story:
    try:
        return parse_thread(text)
    except ParseError as exc:
        raise StoryImportError(f"{source}: {exc}") from None


async def import_file(conn: Database, path: Path, *, story_id: int = DEFAULT_STORY_ID) -> ImportSummary:
    """Validate, parse and import `path` into story `story_id`; on any error the database is left exactly
    as it was."""
    data = read_export_bytes(path)
    story = parse_export(decode_export(data, str(path)), str(path))
    return await import_story(conn, story, source=str(path), sha256=hashlib.sha256(data).hexdigest(),
                              story_id=story_id)


async def import_story(conn: Database, story: Story, *, source: str, sha256: str,
                       expected_state: str | None = None, story_id: int = DEFAULT_STORY_ID) -> ImportSummary:
    """Write `story` in one transaction: new chapters appended, changed ones updated, new comments added.

    The chapter limit holds for the database too: a second thread imported on top adds up.  With
    `expected_state` (`imports.story_state` when a preview was made), the import is refused with
    `StoryChanged` when the stored story is another by now; checked inside the transaction, which holds the
    write lock, so no other import (another process's included) can land between the check and the write.
    `story_id`: the library's story the export belongs to (story 1 by default).  The shipped cast is story
    1's: only its mention index is rebuilt; another story has no cast until one is given to it.
    """
    async with transaction(conn):
        if expected_state is not None and await imports.story_state(conn, story_id) != expected_state:
            raise StoryChanged(f"{source}: the story changed since this preview was made (another import "
                               "landed); nothing was imported")
        summary = await _write(conn, story, story_id)
        if summary.chapters_total > MAX_CHAPTERS:
            raise StoryImportError(
                f"{source}: the database would hold {summary.chapters_total:,} chapters"
                f" (the limit is {MAX_CHAPTERS:,})")
        if story_id == DEFAULT_STORY_ID:
            await rebuild_mention_index(conn)  # who each chapter names, committed with the story
        if summary.chapters_added or summary.chapters_updated or summary.comments_added:
            await imports.record_import(conn, source=source, sha256=sha256,
                                        chapters_added=summary.chapters_added,
                                        pictures_added=summary.pictures_added,
                                        comments_added=summary.comments_added, story=story_id)
    return summary


async def _write(conn: Database, story: Story, story_id: int) -> ImportSummary:
    existing = await imports.stored_chapters(conn, story_id)
    next_number = max((n for n, _ in existing.values()), default=0) + 1
    numbers: list[int] = []
    added = updated = pictures_added = 0
    for chapter in story.chapters:
        digest = chapter.content_hash()
        if chapter.key in existing:
            number, old_digest = existing[chapter.key]
            if old_digest != digest:
                old_pictures = await imports.picture_count(conn, number, story_id)
                await imports.replace_blocks(conn, number, chapter, digest, story_id)
                pictures_added += max(0, len(chapter.pictures) - old_pictures)
                updated += 1
        else:
            number = next_number
            next_number += 1
            existing[chapter.key] = (number, digest)
            await imports.add_chapter(conn, number, chapter, digest, story_id)
            pictures_added += len(chapter.pictures)
            added += 1
        await imports.merge_forum_reactions(conn, number, chapter.reactions, story_id)
        numbers.append(number)

    comments_added = await _write_comments(conn, story, numbers, story_id)
    return ImportSummary(added, updated, pictures_added, comments_added, await chapter_count(conn, story_id))


async def _write_comments(conn: Database, story: Story, numbers: list[int], story_id: int) -> int:
    """New comments, in order of appearance; one seen in an earlier import is recognised by its fingerprint.

    The fingerprint is the comment's chapter, quote and body, and which occurrence of that text it is, so
    a reader posting the same "Great update!" twice keeps both.
    """
    seq = await imports.last_comment_seq(conn, story_id)
    added = 0
    for comment, fingerprint in zip(story.comments, comment_fingerprints(story), strict=True):
        chapter_number = numbers[comment.chapter_index] if comment.chapter_index is not None else None
        if await imports.add_comment(conn, seq=seq + 1, chapter_number=chapter_number, quote=comment.quote,
                                     body=comment.body, fingerprint=fingerprint, story=story_id):
            seq += 1
            added += 1
    return added


def comment_fingerprints(story: Story) -> list[str]:
    """Each comment's fingerprint, in order: its chapter's key, quote and body, and which occurrence of
    that text it is (what recognises a comment seen in an earlier import)."""
    occurrences: Counter[str] = Counter()
    fingerprints = []
    for comment in story.comments:
        chapter_key = story.chapters[comment.chapter_index].key if comment.chapter_index is not None else None
        basis = repr((chapter_key, comment.quote, comment.body))
        occurrences[basis] += 1
        fingerprints.append(hashlib.sha256(f"{basis}#{occurrences[basis]}".encode()).hexdigest())
    return fingerprints
