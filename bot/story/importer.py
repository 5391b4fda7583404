"""Importing a forum export into the database: read and validate the file, parse, write in one transaction.

Chapters are matched by (threadmark, title), so importing the same file twice changes nothing and a
newer export of the same thread only adds what is new. Release state lives in other tables and is
never touched here.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.characters.index import rebuild_mention_index
from bot.story.model import Chapter, Story
from bot.story.parser import ParseError, parse_thread


class StoryImportError(ValueError):
    """The file cannot be imported; the message names the problem in one line."""




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
    """Read an export file, with a one-line error when there is no readable file."""
    if not path.exists():
        raise StoryImportError(f"{path}: file not found")
    if not path.is_file():
        raise StoryImportError(f"{path}: not a regular file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StoryImportError(f"{path}: cannot read ({exc.strerror})") from None


def decode_export(data: bytes, source: str) -> str:
    """Decode an export, refusing anything that is not a UTF-8 text export (a BOM is fine)."""
    if not data.strip():
        raise StoryImportError(f"{source}: file is empty")
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
    """NUL bytes, or many control bytes other than whitespace, mean this is not a text export."""
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return controls > len(head) // 20


def parse_export(text: str, source: str) -> Story:
    try:
        return parse_thread(text)
    except ParseError as exc:
        raise StoryImportError(f"{source}: {exc}") from None


async def import_file(conn: aiosqlite.Connection, path: Path) -> ImportSummary:
    """Validate, parse and import `path`; on any error the database is left exactly as it was."""
    data = read_export_bytes(path)
    story = parse_export(decode_export(data, str(path)), str(path))
    return await import_story(conn, story, source=str(path), sha256=hashlib.sha256(data).hexdigest())


async def import_story(conn: aiosqlite.Connection, story: Story, *, source: str, sha256: str) -> ImportSummary:
    """Write `story` in one transaction: new chapters appended, changed ones updated, new comments added."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        summary = await _write(conn, story)
        await rebuild_mention_index(conn)  # who each chapter names, committed with the story
        if summary.chapters_added or summary.chapters_updated or summary.comments_added:
            await conn.execute(
                "INSERT INTO imports(source, sha256, chapters_added, pictures_added, comments_added)"
                " VALUES (?, ?, ?, ?, ?)",
                (source, sha256, summary.chapters_added, summary.pictures_added, summary.comments_added),
            )
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
    return summary


async def _write(conn: aiosqlite.Connection, story: Story) -> ImportSummary:
    async with conn.execute("SELECT number, threadmark, title, content_hash FROM chapters") as cur:
        existing = {(r["threadmark"], r["title"]): (r["number"], r["content_hash"]) for r in await cur.fetchall()}
    next_number = max((n for n, _ in existing.values()), default=0) + 1
    numbers: list[int] = []
    added = updated = pictures_added = 0
    for chapter in story.chapters:
        digest = chapter.content_hash()
        if chapter.key in existing:
            number, old_digest = existing[chapter.key]
            if old_digest != digest:
                old_pictures = await _picture_count(conn, number)
                await conn.execute("DELETE FROM blocks WHERE chapter_number = ?", (number,))
                await _insert_blocks(conn, number, chapter)
                await conn.execute("UPDATE chapters SET content_hash = ? WHERE number = ?", (digest, number))
                pictures_added += max(0, len(chapter.pictures) - old_pictures)
                updated += 1
        else:
            number = next_number
            next_number += 1
            existing[chapter.key] = (number, digest)
            await conn.execute(
                "INSERT INTO chapters(number, threadmark, title, content_hash) VALUES (?, ?, ?, ?)",
                (number, chapter.threadmark, chapter.title, digest),
            )
            await _insert_blocks(conn, number, chapter)
            pictures_added += len(chapter.pictures)
            added += 1
        await _write_reactions(conn, number, chapter)
        numbers.append(number)

    comments_added = await _write_comments(conn, story, numbers)
    async with conn.execute("SELECT COUNT(*) FROM chapters") as cur:
        total = (await cur.fetchone())[0]
    return ImportSummary(added, updated, pictures_added, comments_added, total)


async def _picture_count(conn: aiosqlite.Connection, number: int) -> int:
    async with conn.execute(
        "SELECT COUNT(*) FROM blocks WHERE chapter_number = ? AND kind = 'picture'", (number,)
    ) as cur:
        return (await cur.fetchone())[0]


async def _insert_blocks(conn: aiosqlite.Connection, number: int, chapter: Chapter) -> None:
    await conn.executemany(
        "INSERT INTO blocks(chapter_number, position, kind, text, image_name, image_url) VALUES (?, ?, ?, ?, ?, ?)",
        [(number, pos, b.kind, b.text, b.image_name, b.image_url) for pos, b in enumerate(chapter.blocks)],
    )


async def _write_reactions(conn: aiosqlite.Connection, number: int, chapter: Chapter) -> None:
    """The forum's tally as this export shows it (a newer export may show more)."""
    for kind, count in chapter.reactions.items():
        await conn.execute(
            "INSERT INTO forum_reactions(chapter_number, kind, count) VALUES (?, ?, ?)"
            " ON CONFLICT(chapter_number, kind) DO UPDATE SET count = MAX(count, excluded.count)",
            (number, kind, count),
        )
    await conn.execute(
        "UPDATE chapters SET forum_likes = (SELECT COALESCE(SUM(count), 0) FROM forum_reactions"
        " WHERE chapter_number = ? AND lower(kind) = 'like') WHERE number = ?",
        (number, number),
    )


async def _write_comments(conn: aiosqlite.Connection, story: Story, numbers: list[int]) -> int:
    async with conn.execute("SELECT COALESCE(MAX(seq), 0) FROM comments") as cur:
        seq = (await cur.fetchone())[0]
    occurrences: Counter[str] = Counter()
    added = 0
    for comment in story.comments:
        chapter_number = numbers[comment.chapter_index] if comment.chapter_index is not None else None
        chapter_key = story.chapters[comment.chapter_index].key if comment.chapter_index is not None else None
        basis = repr((chapter_key, comment.quote, comment.body))
        occurrences[basis] += 1
        fingerprint = hashlib.sha256(f"{basis}#{occurrences[basis]}".encode()).hexdigest()
        cur = await conn.execute(
            "INSERT INTO comments(seq, chapter_number, quote, body, fingerprint) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(fingerprint) DO NOTHING",
            (seq + 1, chapter_number, comment.quote, comment.body, fingerprint),
        )
        if cur.rowcount:
            seq += 1
            added += 1
    return added
