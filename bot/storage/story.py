"""Reading the imported story (migration V1 tables): chapter rows and summaries, a chapter's blocks, and
the chapters' text as the character index and the quiz read it.

Writing it is the importer's alone: see `bot.storage.imports`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import fetch_all, fetch_one, fetch_row, fetch_value
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


@dataclass(frozen=True)
class ChapterRow:
    number: int
    title: str
    forum_likes: int
    threadmark: str = ""


async def chapter_count(conn: Database) -> int:
    return int(await fetch_value(conn, "SELECT COUNT(*) FROM chapters"))


async def import_marker(conn: Database) -> tuple[int, int]:
    """(imports so far, the latest import's id): changes whenever an import changed the story."""
    row = await fetch_row(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM imports")
    return row[0], row[1]


async def list_chapters(conn: Database) -> list[ChapterSummary]:
    """Every imported chapter in reading order, with its statistics."""
    sql = """
        SELECT c.number, c.threadmark, c.title, c.forum_likes,
               (SELECT COALESCE(SUM(LENGTH(b.text)), 0) FROM blocks b
                 WHERE b.chapter_number = c.number AND b.kind != 'note') AS chars,
               (SELECT COUNT(*) FROM blocks b
                 WHERE b.chapter_number = c.number AND b.kind = 'picture') AS pictures,
               (SELECT COUNT(*) FROM comments m WHERE m.chapter_number = c.number) AS comments
          FROM chapters c ORDER BY c.number
    """
    return [
        ChapterSummary(r["number"], r["threadmark"], r["title"], r["chars"], r["pictures"], r["forum_likes"],
                       r["comments"])
        for r in await fetch_all(conn, sql)
    ]


async def chapters_through(conn: Database, through: int) -> list[ChapterRow]:
    """Chapters 1..through (titles, threadmarks and forum likes), in order.

    One row each from the chapters table alone: cheap enough for every autocomplete keystroke, unlike
    `list_chapters`, whose per-chapter statistics scan every block of the story.
    """
    rows = await fetch_all(
        conn, "SELECT number, title, forum_likes, threadmark FROM chapters WHERE number <= ? ORDER BY number",
        (through,),
    )
    return [ChapterRow(r[0], r[1], r[2], r[3]) for r in rows]


async def chapter_row(conn: Database, number: int) -> ChapterRow | None:
    """One chapter's title and forum likes (None if the story has no such chapter)."""
    row = await fetch_one(
        conn, "SELECT number, title, forum_likes, threadmark FROM chapters WHERE number = ?", (number,))
    return ChapterRow(row[0], row[1], row[2], row[3]) if row else None


async def chapter_titles(conn: Database, through: int | None = None) -> dict[int, str]:
    """number → title of chapters 1..through (every chapter when `through` is None), in order."""
    if through is None:
        rows = await fetch_all(conn, "SELECT number, title FROM chapters ORDER BY number")
    else:
        rows = await fetch_all(conn, "SELECT number, title FROM chapters WHERE number <= ? ORDER BY number",
                               (through,))
    return {r["number"]: r["title"] for r in rows}


async def load_chapter(conn: Database, number: int) -> Chapter | None:
    """A chapter with its blocks and forum reactions, or None when there is no such chapter."""
    row = await fetch_one(conn, "SELECT threadmark, title FROM chapters WHERE number = ?", (number,))
    if row is None:
        return None
    blocks = [
        Block(r["kind"], r["text"], r["image_name"], r["image_url"])
        for r in await fetch_all(conn, "SELECT kind, text, image_name, image_url FROM blocks"
                                       " WHERE chapter_number = ? ORDER BY position", (number,))
    ]
    reactions = {r["kind"]: r["count"] for r in await fetch_all(
        conn, "SELECT kind, count FROM forum_reactions WHERE chapter_number = ?", (number,))}
    return Chapter(row["threadmark"], row["title"], blocks, reactions)


async def chapter_texts(conn: Database) -> list[tuple[int, str]]:
    """Each chapter's readable text in order: its title, then every block (captions and notes included).

    What the character index searches for names.
    """
    titles = await chapter_titles(conn)
    parts: dict[int, list[str]] = {number: [title] for number, title in titles.items()}
    rows = await fetch_all(conn, "SELECT chapter_number, text FROM blocks ORDER BY chapter_number, position")
    for row in rows:
        parts.setdefault(row["chapter_number"], []).append(row["text"])
    return [(number, "\n".join(parts[number])) for number in titles]


async def story_texts(conn: Database, through: int) -> dict[int, list[str]]:
    """number → the non-empty paragraphs and captions of chapters 1..through, in order (no headings or
    notes; a chapter with none has no entry).  What the quiz makes questions from."""
    texts: dict[int, list[str]] = {}
    rows = await fetch_all(
        conn,
        "SELECT chapter_number, text FROM blocks"
        " WHERE chapter_number <= ? AND kind IN ('paragraph', 'picture') AND text != ''"
        " ORDER BY chapter_number, position", (through,),
    )
    for row in rows:
        texts.setdefault(row["chapter_number"], []).append(row["text"])
    return texts
