"""Shared pieces of the quiz tests (not fixtures): the seed as the quiz reads it, a game's stored status,
and a timer tests fire."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.config import SHIPPED_THREAD
from bot.quiz import source
from bot.quiz.generate import Person, SourceChapter
from bot.quiz.session import QuizTimer
from bot.storage import open_database
from bot.storage.database import Database
from bot.storage.sql import fetch_all
from bot.story.importer import import_file


@dataclass(frozen=True)
class SeedSource:
    chapters: list[SourceChapter]
    people: list[Person]
    first_mention: dict[str, int]  # character key -> first chapter naming them (the character index)


async def load_seed_source(db_path: Path) -> SeedSource:
    conn = await open_database(db_path)
    try:
        await import_file(conn, SHIPPED_THREAD)
        chapters = await source.source_chapters(conn, 10_000)
        people = await source.people(conn, 10_000)
        cur_rows = await fetch_all(conn, "SELECT character_key, MIN(chapter_number) FROM character_mentions"
                                " GROUP BY character_key")
        first = {r[0]: r[1] for r in cur_rows}
    finally:
        await conn.close()
    return SeedSource(chapters, people, first)


async def game_status(conn: Database, game_id: int) -> str | None:
    """A game's status as stored ('running', 'finished', 'stopped', 'interrupted'); None for no such game."""
    cur_rows = await fetch_all(conn, "SELECT status FROM quiz_games WHERE id = ?", (game_id,))
    row = (cur_rows[0] if cur_rows else None)
    return row[0] if row else None


def seed_source() -> SeedSource:
    """The imported seed (chapters and character index), read once through a throwaway database."""
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(load_seed_source(Path(tmp) / "seed.db"))


class FiredTimer(QuizTimer):
    """Question time runs out only when the test says so (`expire()`); pauses after a reveal are instant.

    `waiting` is set while a question waits, so a test can await "the question is showing" first.
    """

    def __init__(self) -> None:
        self._expired = asyncio.Event()
        self.waiting = asyncio.Event()
        self.questions_waited = 0
        self._changed = asyncio.Condition()

    async def wait_question(self, number: int, within: float = 5.0) -> None:
        """Until question `number` (1-based) of the game is waiting for its time to run out."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: self.questions_waited >= number and self.waiting.is_set()), within)

    async def question(self, seconds: float, wake: asyncio.Event) -> None:
        self.questions_waited += 1
        self.waiting.set()
        async with self._changed:
            self._changed.notify_all()
        expired = asyncio.ensure_future(self._expired.wait())
        woken = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({expired, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            expired.cancel()
            woken.cancel()
            self.waiting.clear()
            self._expired.clear()

    def expire(self) -> None:
        self._expired.set()

    async def pause(self, seconds: float, stopped: asyncio.Event) -> None:
        return None


class ManualClock:
    """A clock the test moves: `clock()` is now, `advance(seconds)` moves it on."""

    def __init__(self, start) -> None:
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(seconds=seconds)
