"""SQL for the cast and the mention index (migration V3): the only module here that touches tables."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import aiosqlite

from bot.characters.schema import Cast


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


async def chapter_texts(conn: aiosqlite.Connection) -> list[tuple[int, str]]:
    """Each chapter's readable text in order: its title, then every block (captions and notes included)."""
    async with conn.execute("SELECT number, title FROM chapters ORDER BY number") as cur:
        titles = [(r["number"], r["title"]) for r in await cur.fetchall()]
    async with conn.execute("SELECT chapter_number, text FROM blocks ORDER BY chapter_number, position") as cur:
        blocks = await cur.fetchall()
    parts: dict[int, list[str]] = {number: [title] for number, title in titles}
    for row in blocks:
        parts.setdefault(row["chapter_number"], []).append(row["text"])
    return [(number, "\n".join(parts[number])) for number, _ in titles]


async def index_state(conn: aiosqlite.Connection) -> IndexState | None:
    async with conn.execute("SELECT cast_sha256, story_sha256, built_at FROM character_index_state") as cur:
        row = await cur.fetchone()
    return IndexState(row["cast_sha256"], row["story_sha256"], row["built_at"]) if row else None


async def replace_index(conn: aiosqlite.Connection, cast: Cast, counts: dict[int, Counter[tuple[str, int]]],
                        story_sha256: str) -> None:
    """Write the cast and its mentions in place of the previous ones (the caller holds the transaction)."""
    for table in ("character_mentions", "character_notes", "character_aliases", "characters"):
        await conn.execute(f"DELETE FROM {table}")
    side_rank = {side: rank for rank, side in enumerate(cast.sides)}
    await conn.executemany(
        "INSERT INTO characters(key, position, name, side, side_rank) VALUES (?, ?, ?, ?, ?)",
        [(m.key, pos, m.name, m.side, side_rank[m.side]) for pos, m in enumerate(cast.members)],
    )
    await conn.executemany(
        "INSERT INTO character_aliases(character_key, position, text, case_sensitive, since) VALUES (?, ?, ?, ?, ?)",
        [(m.key, pos, a.text, int(a.case_sensitive), a.since) for m in cast.members
         for pos, a in enumerate(m.spellings)],
    )
    await conn.executemany(
        "INSERT INTO character_notes(character_key, chapter_number, note) VALUES (?, ?, ?)",
        [(m.key, chapter, note) for m in cast.members for chapter, note in m.notes.items()],
    )
    await conn.executemany(
        "INSERT INTO character_mentions(character_key, chapter_number, alias_position, count) VALUES (?, ?, ?, ?)",
        [(key, chapter, pos, n) for chapter, counter in sorted(counts.items())
         for (key, pos), n in sorted(counter.items())],
    )
    await conn.execute(
        "INSERT INTO character_index_state(id, cast_sha256, story_sha256, built_at)"
        " VALUES (1, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
        " ON CONFLICT(id) DO UPDATE SET cast_sha256 = excluded.cast_sha256,"
        " story_sha256 = excluded.story_sha256, built_at = excluded.built_at"
        # same inputs, same rows: the timestamp too, so rebuilding (a re-import) changes nothing at all
        " WHERE cast_sha256 != excluded.cast_sha256 OR story_sha256 != excluded.story_sha256",
        (cast.sha256, story_sha256),
    )


async def load_snapshot(conn: aiosqlite.Connection) -> Snapshot:
    async def rows(sql: str) -> list[aiosqlite.Row]:
        async with conn.execute(sql) as cur:
            return list(await cur.fetchall())

    characters = [StoredCharacter(r["key"], r["name"], r["side"], r["side_rank"], r["position"])
                  for r in await rows("SELECT key, name, side, side_rank, position FROM characters ORDER BY position")]
    aliases = [StoredAlias(r["character_key"], r["position"], r["text"], r["since"])
               for r in await rows("SELECT character_key, position, text, since FROM character_aliases"
                                   " ORDER BY character_key, position")]
    notes = [(r[0], r[1], r[2]) for r in await rows(
        "SELECT character_key, chapter_number, note FROM character_notes ORDER BY character_key, chapter_number")]
    mentions = [(r[0], r[1], r[2], r[3]) for r in await rows(
        "SELECT character_key, chapter_number, alias_position, count FROM character_mentions")]
    titles = {r[0]: r[1] for r in await rows("SELECT number, title FROM chapters")}
    return Snapshot(await index_state(conn), characters, aliases, notes, mentions, titles)
