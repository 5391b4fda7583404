"""The story and the character index as the quiz's generator reads them, from storage.

Storage hands back plain rows; the generator's own types (`SourceChapter`, `Person`) are made here, so
`bot.storage` never needs to know the quiz.
"""

from __future__ import annotations

from bot.quiz.generate import Person, SourceChapter
from bot.storage.characters import mentioned_people
from bot.storage.database import Database
from bot.storage.story import chapter_titles, story_texts


async def source_chapters(conn: Database, through: int) -> list[SourceChapter]:
    """Chapters 1..through as the generator reads them: paragraphs and captions, not headings or notes."""
    titles = await chapter_titles(conn, through)
    texts = await story_texts(conn, through)
    return [SourceChapter(n, title, tuple(texts.get(n, ()))) for n, title in titles.items()]


async def people(conn: Database, through: int) -> list[Person]:
    """The characters the index finds in chapters 1..through, with their spellings.

    Empty when no cast was indexed: the generator then makes no person or "who" questions.
    """
    return [Person(p.key, p.name, p.spellings, p.chapters) for p in await mentioned_people(conn, through)]
