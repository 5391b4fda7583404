"""Reading the imported story (migration V1 tables): chapter rows and summaries, a chapter's blocks, and
the chapters' text as the character index and the quiz read it.

Writing it is the importer's alone: see `bot.storage.imports`.

Every function reads one story (`story`, migration V14): the default is story 1, the one a database held
before there were several, and the one every server reads until it chooses another.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import fetch_all, fetch_one, fetch_row, fetch_value
from bot.storage.stories import DEFAULT_STORY_ID
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


async def chapter_count(conn: Database, story: int = DEFAULT_STORY_ID) -> int:
    return int(await fetch_value(conn, "SELECT COUNT(*) FROM chapters WHERE story_id = ?", (story,)))


async def import_marker(conn: Database, story: int = DEFAULT_STORY_ID) -> tuple[int, int]:
    """(imports so far, the latest import's id): changes whenever an import changed the story."""
    row = await fetch_row(conn, "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM imports WHERE story_id = ?",
                          (story,))
    return row[0], row[1]


async def list_chapters(conn: Database, story: int = DEFAULT_STORY_ID) -> list[ChapterSummary]:
    """Every imported chapter in reading order, with its statistics."""
    sql = """
        SELECT c.number, c.threadmark, c.title, c.forum_likes,
               (SELECT COALESCE(SUM(LENGTH(b.text)), 0) FROM blocks b
                 WHERE b.story_id = c.story_id AND b.chapter_number = c.number AND b.kind != 'note') AS chars,
               (SELECT COUNT(*) FROM blocks b
                 WHERE b.story_id = c.story_id AND b.chapter_number = c.number AND b.kind = 'picture')
                 AS pictures,
               (SELECT COUNT(*) FROM comments m
                 WHERE m.story_id = c.story_id AND m.chapter_number = c.number) AS comments
          FROM chapters c WHERE c.story_id = ? ORDER BY c.number
    """
    return [
        ChapterSummary(r["number"], r["threadmark"], r["title"], r["chars"], r["pictures"], r["forum_likes"],
                       r["comments"])
        for r in await fetch_all(conn, sql, (story,))
    ]


async def chapters_through(conn: Database, through: int, story: int = DEFAULT_STORY_ID) -> list[ChapterRow]:
    """Chapters 1..through (titles, threadmarks and forum likes), in order.

    One row each from the chapters table alone: cheap enough for every autocomplete keystroke, unlike
    `list_chapters`, whose per-chapter statistics scan every block of the story.
    """
    rows = await fetch_all(
        conn, "SELECT number, title, forum_likes, threadmark FROM chapters WHERE story_id = ? AND number <= ?"
              " ORDER BY number", (story, through),
    )
    return [ChapterRow(r[0], r[1], r[2], r[3]) for r in rows]


async def chapter_row(conn: Database, number: int, story: int = DEFAULT_STORY_ID) -> ChapterRow | None:
    """One chapter's title and forum likes (None if the story has no such chapter)."""
    row = await fetch_one(
        conn, "SELECT number, title, forum_likes, threadmark FROM chapters WHERE story_id = ? AND number = ?",
        (story, number))
    return ChapterRow(row[0], row[1], row[2], row[3]) if row else None


async def chapter_titles(conn: Database, through: int | None = None,
                         story: int = DEFAULT_STORY_ID) -> dict[int, str]:
    """number → title of chapters 1..through (every chapter when `through` is None), in order."""
    if through is None:
        rows = await fetch_all(conn, "SELECT number, title FROM chapters WHERE story_id = ? ORDER BY number",
                               (story,))
    else:
        rows = await fetch_all(conn, "SELECT number, title FROM chapters WHERE story_id = ? AND number <= ?"
                                     " ORDER BY number", (story, through))
    return {r["number"]: r["title"] for r in rows}


async def load_chapter(conn: Database, number: int, story: int = DEFAULT_STORY_ID) -> Chapter | None:
    """A chapter with its blocks and forum reactions, or None when there is no such chapter."""
    row = await fetch_one(conn, "SELECT threadmark, title FROM chapters WHERE story_id = ? AND number = ?",
                          (story, number))
    if row is None:
        return None
    blocks = [
        Block(r["kind"], r["text"], r["image_name"], r["image_url"])
        for r in await fetch_all(conn, "SELECT kind, text, image_name, image_url FROM blocks"
                                       " WHERE story_id = ? AND chapter_number = ? ORDER BY position",
                                 (story, number))
    ]
    reactions = {r["kind"]: r["count"] for r in await fetch_all(
        conn, "SELECT kind, count FROM forum_reactions WHERE story_id = ? AND chapter_number = ?",
        (story, number))}
    return Chapter(row["threadmark"], row["title"], blocks, reactions)


async def chapter_texts(conn: Database, story: int = DEFAULT_STORY_ID) -> list[tuple[int, str]]:
    """Each chapter's readable text in order: its title, then every block (captions and notes included).

    What the character index searches for names.
    """
    titles = await chapter_titles(conn, story=story)
    parts: dict[int, list[str]] = {number: [title] for number, title in titles.items()}
    rows = await fetch_all(conn, "SELECT chapter_number, text FROM blocks WHERE story_id = ?"
                                 " ORDER BY chapter_number, position", (story,))
    for row in rows:
        parts.setdefault(row["chapter_number"], []).append(row["text"])
    return [(number, "\n".join(parts[number])) for number in titles]


async def story_texts(conn: Database, through: int, story: int = DEFAULT_STORY_ID) -> dict[int, list[str]]:
    """number → the non-empty paragraphs and captions of chapters 1..through, in order (no headings or
    notes; a chapter with none has no entry).  What the quiz makes questions from."""
    texts: dict[int, list[str]] = {}
    rows = await fetch_all(
        conn,
        "SELECT chapter_number, text FROM blocks"
        " WHERE story_id = ? AND chapter_number <= ? AND kind IN ('paragraph', 'picture') AND text != ''"
        " ORDER BY chapter_number, position", (story, through),
    )
    for row in rows:
        texts.setdefault(row["chapter_number"], []).append(row["text"])
    return texts
