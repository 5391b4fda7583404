"""Quiz tables (migration V4): games, the questions they asked, answers, per-guild scores.

Most writes are a single statement, atomic on their own: an answer and the score it earns are written
together by the `quiz_answer_scores` trigger.  A new game and its questions are one transaction.  The
story and the characters the quiz asks about are read from `bot.storage.story` and
`bot.storage.characters`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.storage.database import INTEGRITY_ERRORS, Database, Row
from bot.storage.sql import execute, execute_many, fetch_all, fetch_one, fetch_value
from bot.storage.transaction import transaction
from bot.timestamps import format_timestamp

# A question as a game stores it: (question key, chapter, index of the right option).
QuestionRow = tuple[str, int, int]


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


# --- games ---------------------------------------------------------------------------------------------

async def create_game(conn: Database, *, guild_id: int, channel_id: int, starter_id: int,
                      mode: str, questions: Sequence[QuestionRow], chapters: str, now: datetime) -> int:
    """Record a new running game and its questions, in one transaction (never a game without questions);
    QuizAlreadyRunning when the channel/member has one."""
    async with transaction(conn):
        try:
            game_id: int = await fetch_value(
                conn,
                "INSERT INTO quiz_games(guild_id, channel_id, starter_id, mode, status, question_count,"
                " chapters, started_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?) RETURNING id",
                (guild_id, channel_id, starter_id, mode, len(questions), chapters, format_timestamp(now)),
            )
        except INTEGRITY_ERRORS as exc:
            raise QuizAlreadyRunning(str(exc)) from None
        await execute_many(
            conn,
            "INSERT INTO quiz_questions(game_id, position, question_key, chapter, right_option)"
            " VALUES (?, ?, ?, ?, ?)",
            [(game_id, i, key, chapter, answer) for i, (key, chapter, answer) in enumerate(questions)],
        )
    return game_id


async def set_message(conn: Database, game_id: int, message_id: int) -> None:
    await execute(conn, "UPDATE quiz_games SET message_id = ? WHERE id = ?", (message_id, game_id))


async def end_game(conn: Database, game_id: int, status: str, now: datetime,
                   ended_by: int | None = None) -> bool:
    """Mark a running game ended ('finished', 'stopped', 'interrupted'); False if it had already ended."""
    changed = await execute(
        conn,
        "UPDATE quiz_games SET status = ?, ended_at = ?, ended_by = ? WHERE id = ? AND status = 'running'",
        (status, format_timestamp(now), ended_by, game_id),
    )
    return changed == 1


async def interrupt_running_games(conn: Database, now: datetime,
                                  owns_guild: Callable[[int], bool] = lambda _guild: True) -> list[GameRow]:
    """At start: every game a previous process left running ends as 'interrupted' (answers and scores stay).

    Only the games of the servers `owns_guild` says are this process's (its shards'): another process
    may be running the others right now.  One transaction, so the games returned are exactly those it ended.
    """
    async with transaction(conn):
        running = [_game(row) for row in
                   await fetch_all(conn, "SELECT * FROM quiz_games WHERE status = 'running'")]
        rows = [game for game in running if owns_guild(game.guild_id)]
        await execute_many(conn, "UPDATE quiz_games SET status = 'interrupted', ended_at = ?"
                           " WHERE id = ? AND status = 'running'",
                           [(format_timestamp(now), game.id) for game in rows])
    return rows


def _game(r: Row) -> GameRow:
    return GameRow(r["id"], r["guild_id"], r["channel_id"], r["starter_id"], r["mode"], r["status"],
                   r["question_count"], r["chapters"], r["message_id"])


# --- answers and scores --------------------------------------------------------------------------------

async def record_answer(conn: Database, *, game_id: int, position: int, guild_id: int,
                        user_id: int, option: int, correct: bool, points: int, now: datetime) -> bool:
    """Store an answer (and, by trigger, its score); False if the member had already answered."""
    try:
        await execute(
            conn,
            "INSERT INTO quiz_answers(game_id, position, user_id, guild_id, option, correct, points,"
            " answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (game_id, position, user_id, guild_id, option, int(correct), points, format_timestamp(now)),
        )
    except INTEGRITY_ERRORS:
        return False
    return True


async def leaderboard(conn: Database, guild_id: int, limit: int = 10) -> list[ScoreRow]:
    rows = await fetch_all(
        conn,
        "SELECT user_id, score, answers, correct, games FROM quiz_scores WHERE guild_id = ?"
        " ORDER BY score DESC, correct DESC, user_id LIMIT ?", (guild_id, limit),
    )
    return [ScoreRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def member_score(conn: Database, guild_id: int,
                       user_id: int) -> tuple[ScoreRow, int] | None:
    """A member's totals in a guild and their rank (1 = best), or None if they never answered."""
    row = await fetch_one(
        conn,
        "SELECT user_id, score, answers, correct, games FROM quiz_scores WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    if row is None:
        return None
    score = ScoreRow(row[0], row[1], row[2], row[3], row[4])
    ahead: int = await fetch_value(
        conn,
        "SELECT COUNT(*) FROM quiz_scores WHERE guild_id = ? AND (score > ? OR (score = ? AND correct > ?)"
        " OR (score = ? AND correct = ? AND user_id < ?))",
        (guild_id, score.score, score.score, score.correct, score.score, score.correct, user_id),
    )
    return score, ahead + 1


async def member_chapter_accuracy(conn: Database, guild_id: int, user_id: int,
                                  through: int) -> list[tuple[int, int, int]]:
    """A member's answers per chapter in a guild, chapters 1..`through` only: (chapter, answers, right).

    For the `/quiz stats` chart; `through` is the guild's released chapter, so a chapter a server has
    not released is never counted, whatever was answered before (e.g. a re-imported story).
    """
    rows = await fetch_all(
        conn,
        "SELECT q.chapter, COUNT(*), SUM(a.correct) FROM quiz_answers a"
        " JOIN quiz_questions q ON q.game_id = a.game_id AND q.position = a.position"
        " WHERE a.guild_id = ? AND a.user_id = ? AND q.chapter BETWEEN 1 AND ?"
        " GROUP BY q.chapter ORDER BY q.chapter",
        (guild_id, user_id, through),
    )
    return [(r[0], r[1], r[2]) for r in rows]
