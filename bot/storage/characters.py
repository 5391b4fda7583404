"""The cast and the mention index (migration V3 tables): written whole by `bot.characters.index`, read by the
character look-up and the quiz.

Rows go in and come out as plain tuples and data classes: turning a cast file into rows, and rows into a
directory or quiz people, is the features' business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.storage.database import MISSING_TABLE_ERRORS, Database
from bot.storage.sql import execute, execute_many, fetch_all, fetch_one
from bot.storage.story import chapter_titles
from bot.timestamps import format_timestamp

# Rows as `replace_index` writes them, in column order.
CharacterRow = tuple[str, int, str, str, int]  # key, position, name, side, side_rank
AliasRow = tuple[str, int, str, bool, int | None]  # character_key, position, text, case_sensitive, since
NoteRow = tuple[str, int, str]  # character_key, chapter_number, note
MentionRow = tuple[str, int, int, int]  # character_key, chapter_number, alias_position, count


@dataclass(frozen=True)
class IndexState:
    cast_sha256: str
    story_sha256: str
    built_at: str


@dataclass(frozen=True)
class StoredCharacter:
    key: str
    name: str
    side: str
    side_rank: int
    position: int


@dataclass(frozen=True)
class StoredAlias:
    character_key: str
    position: int  # 0 is the display name
    text: str
    since: int | None


@dataclass(frozen=True)
class Snapshot:
    """Everything the look-up needs, read in one go (the cast is small; 2,000 people read in milliseconds)."""

    state: IndexState | None
    characters: list[StoredCharacter]
    aliases: list[StoredAlias]
    notes: list[tuple[str, int, str]]  # (character, chapter, note)
    mentions: list[tuple[str, int, int, int]]  # (character, chapter, alias position, count)
    chapter_titles: dict[int, str]


@dataclass(frozen=True)
class MentionedPerson:
    """A character the index finds in the chapters asked about: spellings in cast order, those chapters."""

    key: str
    name: str
    spellings: tuple[str, ...]
    chapters: frozenset[int]


async def index_state(conn: Database) -> IndexState | None:
    row = await fetch_one(conn, "SELECT cast_sha256, story_sha256, built_at FROM character_index_state")
    return IndexState(row["cast_sha256"], row["story_sha256"], row["built_at"]) if row else None


async def replace_index(conn: Database, *, characters: Sequence[CharacterRow],
                        aliases: Sequence[AliasRow], notes: Sequence[NoteRow], mentions: Sequence[MentionRow],
                        cast_sha256: str, story_sha256: str) -> None:
    """Write the cast and its mentions in place of the previous ones (the caller holds the transaction)."""
    for table in ("character_mentions", "character_notes", "character_aliases", "characters"):
        await execute(conn, f"DELETE FROM {table}")
    await execute_many(
        conn, "INSERT INTO characters(key, position, name, side, side_rank) VALUES (?, ?, ?, ?, ?)",
        characters)
    await execute_many(
        conn,
        "INSERT INTO character_aliases(character_key, position, text, case_sensitive, since)"
        " VALUES (?, ?, ?, ?, ?)",
        [(key, pos, text, int(case_sensitive), since) for key, pos, text, case_sensitive, since in aliases],
    )
    await execute_many(
        conn, "INSERT INTO character_notes(character_key, chapter_number, note) VALUES (?, ?, ?)", notes)
    await execute_many(
        conn,
        "INSERT INTO character_mentions(character_key, chapter_number, alias_position, count)"
        " VALUES (?, ?, ?, ?)",
        mentions,
    )
    await execute(
        conn,
        "INSERT INTO character_index_state(story_id, cast_sha256, story_sha256, built_at)"
        " VALUES (1, ?, ?, ?)"
        " ON CONFLICT(story_id) DO UPDATE SET cast_sha256 = excluded.cast_sha256,"
        " story_sha256 = excluded.story_sha256, built_at = excluded.built_at"
        # same inputs, same rows: the timestamp too, so rebuilding (a re-import) changes nothing at all
        " WHERE character_index_state.cast_sha256 != excluded.cast_sha256"
        " OR character_index_state.story_sha256 != excluded.story_sha256",
        (cast_sha256, story_sha256, format_timestamp(datetime.now(UTC))),
    )


async def load_snapshot(conn: Database) -> Snapshot:
    characters = [
        StoredCharacter(r["key"], r["name"], r["side"], r["side_rank"], r["position"])
        for r in await fetch_all(
            conn, "SELECT key, name, side, side_rank, position FROM characters ORDER BY position")
    ]
    aliases = [
        StoredAlias(r["character_key"], r["position"], r["text"], r["since"])
        for r in await fetch_all(conn, "SELECT character_key, position, text, since FROM character_aliases"
                                       " ORDER BY character_key, position")
    ]
    notes = [(r[0], r[1], r[2]) for r in await fetch_all(
        conn, "SELECT character_key, chapter_number, note FROM character_notes"
              " ORDER BY character_key, chapter_number")]
    mentions = [(r[0], r[1], r[2], r[3]) for r in await fetch_all(
        conn, "SELECT character_key, chapter_number, alias_position, count FROM character_mentions")]
    titles = await chapter_titles(conn)
    return Snapshot(await index_state(conn), characters, aliases, notes, mentions, titles)


async def mentioned_people(conn: Database, through: int) -> list[MentionedPerson]:
    """The characters the index finds in chapters 1..through, in cast order, with every spelling.

    Empty when no cast was indexed, or the database predates the character tables.
    """
    try:
        rows = await fetch_all(
            conn,
            "SELECT c.key, c.name, a.text FROM characters c"
            " JOIN character_aliases a ON a.character_key = c.key"
            " WHERE EXISTS (SELECT 1 FROM character_mentions m WHERE m.character_key = c.key"
            "               AND m.chapter_number <= ?)"
            " ORDER BY c.position, a.position", (through,),
        )
        mentions = await fetch_all(
            conn,
            "SELECT DISTINCT character_key, chapter_number FROM character_mentions WHERE chapter_number <= ?",
            (through,),
        )
    except MISSING_TABLE_ERRORS:  # a database without the character tables
        return []
    chapters: dict[str, set[int]] = {}
    for row in mentions:
        chapters.setdefault(row["character_key"], set()).add(row["chapter_number"])
    spellings: dict[str, tuple[str, list[str]]] = {}
    for row in rows:
        spellings.setdefault(row["key"], (row["name"], []))[1].append(row["text"])
    return [MentionedPerson(key, name, tuple(texts), frozenset(chapters.get(key, ())))
            for key, (name, texts) in spellings.items()]
