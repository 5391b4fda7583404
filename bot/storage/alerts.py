"""Members who asked for a direct message per release (`/alerts dm`), and how far their DMs got.

`last_chapter` only moves forward and is written right after each DM, so the DMs of a release resume
after a restart without a member getting one twice.  The alert role itself is Discord's to store.
"""

from __future__ import annotations

from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all, fetch_value


async def subscribe_dm(conn: Database, guild_id: int, user_id: int, *, after_chapter: int,
                       since: str) -> bool:
    """DMs from the next release on (chapters after `after_chapter`); False if already subscribed."""
    return await execute(
        conn, "INSERT INTO alert_dms(guild_id, user_id, last_chapter, since) VALUES (?, ?, ?, ?)"
              " ON CONFLICT(guild_id, user_id) DO NOTHING", (guild_id, user_id, after_chapter, since)) == 1


async def unsubscribe_dm(conn: Database, guild_id: int, user_id: int) -> bool:
    return await execute(conn, "DELETE FROM alert_dms WHERE guild_id = ? AND user_id = ?",
                         (guild_id, user_id)) == 1


async def wants_dm(conn: Database, guild_id: int, user_id: int) -> bool:
    return bool(await fetch_value(conn, "SELECT COUNT(*) FROM alert_dms WHERE guild_id = ? AND user_id = ?",
                                  (guild_id, user_id)))


async def dms_due(conn: Database, guild_id: int, chapter: int) -> list[int]:
    """Members of the guild still owed the DM of `chapter`, oldest subscription first."""
    rows = await fetch_all(conn, "SELECT user_id FROM alert_dms WHERE guild_id = ? AND last_chapter < ?"
                                 " ORDER BY since, user_id", (guild_id, chapter))
    return [row[0] for row in rows]


async def guilds_with_dms(conn: Database) -> list[int]:
    rows = await fetch_all(conn, "SELECT DISTINCT guild_id FROM alert_dms ORDER BY guild_id")
    return [row[0] for row in rows]


async def dm_sent(conn: Database, guild_id: int, user_id: int, chapter: int) -> None:
    await execute(conn, "UPDATE alert_dms SET last_chapter = MAX(last_chapter, ?)"
                        " WHERE guild_id = ? AND user_id = ?", (chapter, guild_id, user_id))
