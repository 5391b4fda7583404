"""Quiz tables (migration V4): games, the questions they asked, answers, per-guild scores; and the quiz's
read of the story and the character index.

Every write is a single statement, so it is atomic on the shared connection without a transaction
(another coroutine's BEGIN on the same connection can't interleave with ours): an answer and the score it
earns are written together by the `quiz_answer_scores` trigger.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.quiz.generate import Person, SourceChapter
from bot.quiz.model import Question


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class QuizAlreadyRunning(Exception):
    """The channel (or, for a solo quiz, the member) already has a quiz running."""


@dataclass(frozen=True)
class GameRow:
    id: int
    guild_id: int
    channel_id: int
    starter_id: int
    mode: str
    status: str
    question_count: int
    chapters: str
    message_id: int | None


@dataclass(frozen=True)
class ScoreRow:
    user_id: int
    score: int
    answers: int
    correct: int
    games: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0


# --- the story, as the quiz reads it -------------------------------------------------------------------

async def chapter_titles(conn: aiosqlite.Connection, through: int) -> dict[int, str]:
    async with conn.execute("SELECT number, title FROM chapters WHERE number <= ? ORDER BY number", (through,)) as cur:
        return {r["number"]: r["title"] for r in await cur.fetchall()}


async def source_chapters(conn: aiosqlite.Connection, through: int) -> list[SourceChapter]:
    """Chapters 1..through as the generator reads them: paragraphs and captions, not headings or notes."""
    titles = await chapter_titles(conn, through)
    texts: dict[int, list[str]] = {n: [] for n in titles}
    async with conn.execute(
        "SELECT chapter_number, text FROM blocks WHERE chapter_number <= ? AND kind IN ('paragraph', 'picture')"
        " AND text != '' ORDER BY chapter_number, position", (through,),
    ) as cur:
        async for row in cur:
            texts[row["chapter_number"]].append(row["text"])
    return [SourceChapter(n, titles[n], tuple(texts[n])) for n in titles]


async def people(conn: aiosqlite.Connection, through: int) -> list[Person]:
    """The characters the index finds in chapters 1..through, with their spellings (V3 tables).

    Empty when no cast was indexed: the generator then makes no person or "who" questions.
    """
    try:
        async with conn.execute(
            "SELECT c.key, c.name, a.text FROM characters c JOIN character_aliases a ON a.character_key = c.key"
            " WHERE EXISTS (SELECT 1 FROM character_mentions m WHERE m.character_key = c.key"
            "               AND m.chapter_number <= ?)"
            " ORDER BY c.position, a.position", (through,),
        ) as cur:
            rows = await cur.fetchall()
        async with conn.execute(
            "SELECT DISTINCT character_key, chapter_number FROM character_mentions WHERE chapter_number <= ?",
            (through,),
        ) as cur:
            mentions = await cur.fetchall()
    except sqlite3.OperationalError:  # a database without the character tables
        return []
    chapters: dict[str, set[int]] = {}
    for row in mentions:
        chapters.setdefault(row["character_key"], set()).add(row["chapter_number"])
    spellings: dict[str, tuple[str, list[str]]] = {}
    for row in rows:
        spellings.setdefault(row["key"], (row["name"], []))[1].append(row["text"])
    return [Person(key, name, tuple(texts), frozenset(chapters.get(key, ()))) for key, (name, texts) in
            spellings.items()]


# --- games ---------------------------------------------------------------------------------------------

async def create_game(conn: aiosqlite.Connection, *, guild_id: int, channel_id: int, starter_id: int, mode: str,
                      questions: list[Question], chapters: str, now: datetime) -> int:
    """Record a new running game and its questions; QuizAlreadyRunning when the channel/member has one."""
    try:
        async with conn.execute(
            "INSERT INTO quiz_games(guild_id, channel_id, starter_id, mode, status, question_count, chapters,"
            " started_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?) RETURNING id",
            (guild_id, channel_id, starter_id, mode, len(questions), chapters, _iso(now)),
        ) as cur:
            game_id = (await cur.fetchone())[0]
    except sqlite3.IntegrityError as exc:
        raise QuizAlreadyRunning(str(exc)) from None
    await conn.executemany(
        "INSERT INTO quiz_questions(game_id, position, question_key, chapter, right_option) VALUES (?, ?, ?, ?, ?)",
        [(game_id, i, q.key, q.chapter, q.answer) for i, q in enumerate(questions)],
    )
    await conn.commit()
    return game_id


async def set_message(conn: aiosqlite.Connection, game_id: int, message_id: int) -> None:
    await conn.execute("UPDATE quiz_games SET message_id = ? WHERE id = ?", (message_id, game_id))
    await conn.commit()


async def end_game(conn: aiosqlite.Connection, game_id: int, status: str, now: datetime,
                   ended_by: int | None = None) -> bool:
    """Mark a running game ended ('finished', 'stopped', 'interrupted'); False if it had already ended."""
    cur = await conn.execute(
        "UPDATE quiz_games SET status = ?, ended_at = ?, ended_by = ? WHERE id = ? AND status = 'running'",
        (status, _iso(now), ended_by, game_id),
    )
    await conn.commit()
    return cur.rowcount == 1


async def interrupt_running_games(conn: aiosqlite.Connection, now: datetime) -> list[GameRow]:
    """At start: every game a previous process left running ends as 'interrupted' (answers and scores stay)."""
    async with conn.execute("SELECT * FROM quiz_games WHERE status = 'running'") as cur:
        rows = [_game(r) for r in await cur.fetchall()]
    await conn.execute("UPDATE quiz_games SET status = 'interrupted', ended_at = ? WHERE status = 'running'",
                       (_iso(now),))
    await conn.commit()
    return rows


async def get_game(conn: aiosqlite.Connection, game_id: int) -> GameRow | None:
    async with conn.execute("SELECT * FROM quiz_games WHERE id = ?", (game_id,)) as cur:
        row = await cur.fetchone()
    return _game(row) if row else None


def _game(r: aiosqlite.Row) -> GameRow:
    return GameRow(r["id"], r["guild_id"], r["channel_id"], r["starter_id"], r["mode"], r["status"],
                   r["question_count"], r["chapters"], r["message_id"])


# --- answers and scores --------------------------------------------------------------------------------

async def record_answer(conn: aiosqlite.Connection, *, game_id: int, position: int, guild_id: int, user_id: int,
                        option: int, correct: bool, points: int, now: datetime) -> bool:
    """Store an answer (and, by trigger, its score); False if the member had already answered."""
    try:
        await conn.execute(
            "INSERT INTO quiz_answers(game_id, position, user_id, guild_id, option, correct, points, answered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (game_id, position, user_id, guild_id, option, int(correct), points, _iso(now)),
        )
    except sqlite3.IntegrityError:
        return False
    await conn.commit()
    return True


async def leaderboard(conn: aiosqlite.Connection, guild_id: int, limit: int = 10) -> list[ScoreRow]:
    async with conn.execute(
        "SELECT user_id, score, answers, correct, games FROM quiz_scores WHERE guild_id = ?"
        " ORDER BY score DESC, correct DESC, user_id LIMIT ?", (guild_id, limit),
    ) as cur:
        return [ScoreRow(r[0], r[1], r[2], r[3], r[4]) for r in await cur.fetchall()]


async def member_score(conn: aiosqlite.Connection, guild_id: int, user_id: int) -> tuple[ScoreRow, int] | None:
    """A member's totals in a guild and their rank (1 = best), or None if they never answered."""
    async with conn.execute(
        "SELECT user_id, score, answers, correct, games FROM quiz_scores WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    score = ScoreRow(row[0], row[1], row[2], row[3], row[4])
    async with conn.execute(
        "SELECT COUNT(*) FROM quiz_scores WHERE guild_id = ? AND (score > ? OR (score = ? AND correct > ?)"
        " OR (score = ? AND correct = ? AND user_id < ?))",
        (guild_id, score.score, score.score, score.correct, score.score, score.correct, user_id),
    ) as cur:
        ahead = (await cur.fetchone())[0]
    return score, ahead + 1
