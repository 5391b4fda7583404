"""Reading the imported story: chapter summaries and a chapter's blocks."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.story.model import Block, Chapter


@dataclass(frozen=True)
class ChapterSummary:
    number: int
    threadmark: str
    title: str
    chars: int
    pictures: int
    forum_likes: int
    comments: int

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


async def chapter_count(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT COUNT(*) FROM chapters") as cur:
        return (await cur.fetchone())[0]


async def list_chapters(conn: aiosqlite.Connection) -> list[ChapterSummary]:
    """Every imported chapter in reading order, with its statistics."""
    sql = """
        SELECT c.number, c.threadmark, c.title, c.forum_likes,
               (SELECT COALESCE(SUM(LENGTH(b.text)), 0) FROM blocks b
                 WHERE b.chapter_number = c.number AND b.kind != 'note') AS chars,
               (SELECT COUNT(*) FROM blocks b WHERE b.chapter_number = c.number AND b.kind = 'picture') AS pictures,
               (SELECT COUNT(*) FROM comments m WHERE m.chapter_number = c.number) AS comments
          FROM chapters c ORDER BY c.number
    """
    async with conn.execute(sql) as cur:
        rows = await cur.fetchall()
    return [
        ChapterSummary(r["number"], r["threadmark"], r["title"], r["chars"], r["pictures"], r["forum_likes"],
                       r["comments"])
        for r in rows
    ]


async def load_chapter(conn: aiosqlite.Connection, number: int) -> Chapter | None:
    """A chapter with its blocks and forum reactions, or None when there is no such chapter."""
    async with conn.execute("SELECT threadmark, title FROM chapters WHERE number = ?", (number,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    async with conn.execute(
        "SELECT kind, text, image_name, image_url FROM blocks WHERE chapter_number = ? ORDER BY position",
        (number,),
    ) as cur:
        blocks = [Block(r["kind"], r["text"], r["image_name"], r["image_url"]) for r in await cur.fetchall()]
    async with conn.execute("SELECT kind, count FROM forum_reactions WHERE chapter_number = ?", (number,)) as cur:
        reactions = {r["kind"]: r["count"] for r in await cur.fetchall()}
    return Chapter(row["threadmark"], row["title"], blocks, reactions)
