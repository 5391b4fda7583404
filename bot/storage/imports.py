"""Writing an import (migration V1 tables): the statements `bot.story.importer` runs in its transaction,
and the reads that decide it (and preview it, `bot.story.preview`).

The importer decides (which chapter is new, which changed, which comment was seen before); these only
write what it decided.  None of them commits: the caller holds `transaction(conn)`, so a story, its
comments, its character index and the `imports` row it is recorded by are committed together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from bot.storage.database import Database
from bot.storage.sql import execute, execute_many, fetch_all, fetch_row, fetch_value
from bot.storage.stories import DEFAULT_STORY_ID
from bot.story.model import Chapter


async def stored_chapters(conn: Database,
                          story: int = DEFAULT_STORY_ID) -> dict[tuple[str, str], tuple[int, str]]:
    """(threadmark, title) → (number, content hash) of every chapter already imported."""
    rows = await fetch_all(conn, "SELECT number, threadmark, title, content_hash FROM chapters"
                                 " WHERE story_id = ?", (story,))
    return {(r["threadmark"], r["title"]): (r["number"], r["content_hash"]) for r in rows}


async def story_state(conn: Database, story: int = DEFAULT_STORY_ID) -> str:
    """A fingerprint of the story as stored: every chapter's key, number and content hash, and the imports
    recorded so far.  Any import that changed the story changes it (a new or edited chapter, new comments),
    so a preview made against one state can tell, at confirmation, that another import landed since."""
    stored = await stored_chapters(conn, story)
    chapters = sorted((number, threadmark, title, digest)
                      for (threadmark, title), (number, digest) in stored.items())
    row = await fetch_row(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM imports WHERE story_id = ?",
                          (story,))
    payload = repr((chapters, int(row[0]), int(row[1])))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


async def known_fingerprints(conn: Database, story: int = DEFAULT_STORY_ID) -> set[str]:
    """The fingerprints of every comment stored (see `bot.story.importer.comment_fingerprints`)."""
    rows = await fetch_all(conn, "SELECT fingerprint FROM comments WHERE story_id = ?", (story,))
    return {r[0] for r in rows}


async def picture_count(conn: Database, number: int, story: int = DEFAULT_STORY_ID) -> int:
    return int(await fetch_value(
        conn, "SELECT COUNT(*) FROM blocks WHERE story_id = ? AND chapter_number = ? AND kind = 'picture'",
        (story, number)))


async def add_chapter(conn: Database, number: int, chapter: Chapter, content_hash: str,
                      story: int = DEFAULT_STORY_ID) -> None:
    """A new chapter under `number`, with its blocks."""
    await execute(conn, "INSERT INTO chapters(story_id, number, threadmark, title, content_hash)"
                        " VALUES (?, ?, ?, ?, ?)",
                  (story, number, chapter.threadmark, chapter.title, content_hash))
    await _insert_blocks(conn, number, chapter, story)


async def replace_blocks(conn: Database, number: int, chapter: Chapter,
                         content_hash: str, story: int = DEFAULT_STORY_ID) -> None:
    """A changed chapter's blocks in place of the old ones, and the hash they have now."""
    await execute(conn, "DELETE FROM blocks WHERE story_id = ? AND chapter_number = ?", (story, number))
    await _insert_blocks(conn, number, chapter, story)
    await execute(conn, "UPDATE chapters SET content_hash = ? WHERE story_id = ? AND number = ?",
                  (content_hash, story, number))


async def _insert_blocks(conn: Database, number: int, chapter: Chapter, story: int) -> None:
    await execute_many(
        conn,
        "INSERT INTO blocks(story_id, chapter_number, position, kind, text, image_name, image_url)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(story, number, pos, b.kind, b.text, b.image_name, b.image_url)
         for pos, b in enumerate(chapter.blocks)],
    )


async def merge_forum_reactions(conn: Database, number: int, reactions: Mapping[str, int],
                                story: int = DEFAULT_STORY_ID) -> None:
    """The forum's tally as this export shows it (a newer export may show more, never fewer), and the
    chapter's forum likes recounted from it."""
    for kind, count in reactions.items():
        await execute(
            conn,
            "INSERT INTO forum_reactions(story_id, chapter_number, kind, count) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(story_id, chapter_number, kind)"
            " DO UPDATE SET count = MAX(forum_reactions.count, excluded.count)",
            (story, number, kind, count),
        )
    await execute(
        conn,
        "UPDATE chapters SET forum_likes = (SELECT COALESCE(SUM(count), 0) FROM forum_reactions"
        " WHERE story_id = ? AND chapter_number = ? AND lower(kind) = 'like')"
        " WHERE story_id = ? AND number = ?",
        (story, number, story, number),
    )


async def last_comment_seq(conn: Database, story: int = DEFAULT_STORY_ID) -> int:
    """The order number of the latest comment stored (0 when none)."""
    return int(await fetch_value(conn, "SELECT COALESCE(MAX(seq), 0) FROM comments WHERE story_id = ?",
                                 (story,)))


async def add_comment(conn: Database, *, seq: int, chapter_number: int | None, quote: str,
                      body: str, fingerprint: str, story: int = DEFAULT_STORY_ID) -> bool:
    """Store a comment under `seq`; False (nothing written) when one with this fingerprint exists."""
    added = await execute(
        conn,
        "INSERT INTO comments(story_id, seq, chapter_number, quote, body, fingerprint)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(story_id, fingerprint) DO NOTHING",
        (story, seq, chapter_number, quote, body, fingerprint),
    )
    return added > 0


async def record_import(conn: Database, *, source: str, sha256: str, chapters_added: int,
                        pictures_added: int, comments_added: int, story: int = DEFAULT_STORY_ID) -> None:
    await execute(
        conn,
        "INSERT INTO imports(story_id, source, sha256, chapters_added, pictures_added, comments_added)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (story, source, sha256, chapters_added, pictures_added, comments_added),
    )
