"""What is stored about a member or a server, counted, forgotten and purged: all the privacy SQL.

Every table that holds a member's id or belongs to one server is named below, and a unit test compares
these names with the schema, so a table or column added later cannot escape `/aar forget-me`, `aar-bot
forget` or the purge of a server the bot left without the test saying so.

A member's own rows (reactions, quiz answers, quiz scores) are deleted.  Rows that are shared with
others keep existing without the member's id: a quiz game they started holds the other players'
answers, a schedule they added is the server's; there the id is replaced by 0 or NULL.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all, fetch_one, fetch_value
from bot.storage.transaction import transaction

# Every table with a `guild_id` column, in an order that deletes children before their parents (foreign
# keys); quiz_questions, which has only a game_id, is deleted with its games.
GUILD_TABLES = ("quiz_answers", "quiz_games", "quiz_scores", "reactions", "hall_of_fame_posts",
                "release_parts", "chapter_edit_ops", "chapter_edit_syncs", "releases", "schedules",
                "search_queries", "reading_progress", "alert_dms",
                "guild_settings", "guild_departures")
# Every column holding a member's id, and what forgetting the member does to it.
MEMBER_COLUMNS = {
    ("reactions", "user_id"): "delete",
    ("quiz_answers", "user_id"): "delete",
    ("quiz_scores", "user_id"): "delete",
    ("quiz_games", "starter_id"): "anonymise",
    ("quiz_games", "ended_by"): "anonymise",
    ("schedules", "created_by"): "anonymise",
    ("reading_progress", "user_id"): "delete",
    ("alert_dms", "user_id"): "delete",
}
ANONYMOUS_STARTER = 0  # quiz_games.starter_id is NOT NULL; no Discord user has id 0


@dataclass(frozen=True)
class MemberData:
    """What is stored about one member (in one server, or in all of them)."""

    reactions: int = 0
    quiz_answers: int = 0
    quiz_scores: int = 0         # leaderboard rows: one per server the member answered in
    quiz_games_started: int = 0  # games they started, kept (the other players' answers) without their id
    quiz_games_stopped: int = 0  # games they stopped with /quiz stop, likewise
    schedules: int = 0           # release schedules they added, kept for the server without their id
    chapters_read: int = 0       # reading progress: chapters they opened or marked read
    alert_dms: int = 0           # asked for a DM per release: one per server

    @property
    def empty(self) -> bool:
        return not any((self.reactions, self.quiz_answers, self.quiz_scores, self.quiz_games_started,
                        self.quiz_games_stopped, self.schedules, self.chapters_read, self.alert_dms))


def _scope(guild_id: int | None) -> tuple[str, tuple[int, ...]]:
    return ("", ()) if guild_id is None else (" AND guild_id = ?", (guild_id,))


async def member_data(conn: Database, user_id: int, guild_id: int | None) -> MemberData:
    """Count what is stored about `user_id` in `guild_id` (None: in every server)."""
    where, extra = _scope(guild_id)

    async def count(sql: str) -> int:
        return int(await fetch_value(conn, sql + where, (user_id, *extra)))

    return MemberData(
        reactions=await count("SELECT COUNT(*) FROM reactions WHERE user_id = ?"),
        quiz_answers=await count("SELECT COUNT(*) FROM quiz_answers WHERE user_id = ?"),
        quiz_scores=await count("SELECT COUNT(*) FROM quiz_scores WHERE user_id = ?"),
        quiz_games_started=await count("SELECT COUNT(*) FROM quiz_games WHERE starter_id = ?"),
        quiz_games_stopped=await count("SELECT COUNT(*) FROM quiz_games WHERE ended_by = ?"),
        schedules=await count("SELECT COUNT(*) FROM schedules WHERE created_by = ?"),
        chapters_read=await count("SELECT COUNT(*) FROM reading_progress WHERE user_id = ?"),
        alert_dms=await count("SELECT COUNT(*) FROM alert_dms WHERE user_id = ?"),
    )


async def running_games_of(conn: Database, user_id: int, guild_id: int | None) -> int:
    """Quiz games the member started that are still running (their id is still in use)."""
    where, extra = _scope(guild_id)
    return int(await fetch_value(
        conn, "SELECT COUNT(*) FROM quiz_games WHERE starter_id = ? AND status = 'running'" + where,
        (user_id, *extra)))


async def forget_member(conn: Database, user_id: int, guild_id: int | None) -> MemberData:
    """Delete the member's rows and take their id off shared ones, in one transaction; what it changed.

    A running game the member started keeps their id (the game in progress answers to it, and two
    running solo games may not share a starter): callers refuse while one runs (`running_games_of`).
    """
    where, extra = _scope(guild_id)
    params = (user_id, *extra)
    async with transaction(conn):
        reactions = await execute(conn, "DELETE FROM reactions WHERE user_id = ?" + where, params)
        answers = await execute(conn, "DELETE FROM quiz_answers WHERE user_id = ?" + where, params)
        scores = await execute(conn, "DELETE FROM quiz_scores WHERE user_id = ?" + where, params)
        started = await execute(
            conn, f"UPDATE quiz_games SET starter_id = {ANONYMOUS_STARTER}"
                  " WHERE starter_id = ? AND status <> 'running'" + where, params)
        stopped = await execute(conn, "UPDATE quiz_games SET ended_by = NULL WHERE ended_by = ?" + where,
                                params)
        schedules = await execute(conn, "UPDATE schedules SET created_by = NULL WHERE created_by = ?" + where,
                                  params)
        progress = await execute(conn, "DELETE FROM reading_progress WHERE user_id = ?" + where, params)
        dms = await execute(conn, "DELETE FROM alert_dms WHERE user_id = ?" + where, params)
    return MemberData(reactions, answers, scores, started, stopped, schedules, progress, dms)


# --- servers the bot left ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Departure:
    guild_id: int
    left_at: str  # bot.timestamps format


async def record_departure(conn: Database, guild_id: int, left_at: str) -> bool:
    """Note that the bot left `guild_id` at `left_at`; an earlier departure already noted is kept (its
    grace period is not extended).  True if this is a new departure."""
    return await execute(conn, "INSERT INTO guild_departures(guild_id, left_at) VALUES (?, ?)"
                         " ON CONFLICT(guild_id) DO NOTHING", (guild_id, left_at)) == 1


async def cancel_departure(conn: Database, guild_id: int) -> bool:
    """The bot is back in `guild_id`: nothing will be purged.  True if a departure was pending."""
    return await execute(conn, "DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,)) == 1


async def get_departure(conn: Database, guild_id: int) -> Departure | None:
    row = await fetch_one(conn, "SELECT guild_id, left_at FROM guild_departures WHERE guild_id = ?",
                          (guild_id,))
    return Departure(row[0], row[1]) if row else None


async def list_departures(conn: Database) -> list[Departure]:
    rows = await fetch_all(conn, "SELECT guild_id, left_at FROM guild_departures ORDER BY guild_id")
    return [Departure(r[0], r[1]) for r in rows]


async def departures_due(conn: Database, left_by: str) -> list[Departure]:
    """Departures at or before `left_by`, oldest first."""
    rows = await fetch_all(conn, "SELECT guild_id, left_at FROM guild_departures WHERE left_at <= ?"
                           " ORDER BY left_at, guild_id", (left_by,))
    return [Departure(r[0], r[1]) for r in rows]


async def guilds_with_data(conn: Database) -> set[int]:
    """Every server something is stored for (the departures themselves aside)."""
    union = " UNION ".join(f"SELECT guild_id FROM {table}" for table in GUILD_TABLES
                           if table != "guild_departures")
    return {row[0] for row in await fetch_all(conn, union)}


async def purge_guild(conn: Database, guild_id: int, left_by: str) -> dict[str, int] | None:
    """Delete everything stored for `guild_id`, if its departure is still pending and at or before
    `left_by`; the rows deleted per table, or None when there was nothing to purge.

    The departure is checked inside the transaction, so a re-invite that cancelled it a moment before
    always wins.
    """
    async with transaction(conn):
        pending = await fetch_one(conn, "SELECT 1 FROM guild_departures WHERE guild_id = ? AND left_at <= ?",
                                  (guild_id, left_by))
        if pending is None:
            return None
        deleted = {"quiz_questions": await execute(
            conn, "DELETE FROM quiz_questions"
                  " WHERE game_id IN (SELECT id FROM quiz_games WHERE guild_id = ?)", (guild_id,))}
        for table in GUILD_TABLES:
            deleted[table] = await execute(conn, f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
    return deleted
