"""Per-guild settings: story channel, moderator role, time zone, discussion threads, likes, hall of fame,
alert role, forum tag, posting as the story's author through a webhook, and following the author's edits."""

from __future__ import annotations

from dataclasses import dataclass, fields

from bot.storage.database import Database
from bot.storage.sql import execute, fetch_all, fetch_one
from bot.storage.transaction import transaction


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    story_channel_id: int | None = None
    moderator_role_id: int | None = None
    timezone: str = "UTC"
    discussion_threads: bool = True
    like_emoji: str = "👍"
    hall_of_fame_channel_id: int | None = None
    hall_of_fame_threshold: int | None = None
    alert_role_id: int | None = None  # the role a release mentions (release alerts); None: no ping
    forum_tag: str | None = None  # a forum story channel: the tag (by name) each chapter's post gets
    author_webhook: bool = False  # post the parts through a channel webhook under the author's name
    author_name: str | None = None
    author_avatar_url: str | None = None
    follow_edits: bool = False  # update posted chapters by itself after an import edits them (V13)


_COLUMNS = [f.name for f in fields(GuildSettings)]


async def get_guild_settings(conn: Database, guild_id: int) -> GuildSettings:
    """The guild's settings, or the defaults for a guild that never ran `/aar setup`."""
    row = await fetch_one(conn, f"SELECT {', '.join(_COLUMNS)} FROM guild_settings WHERE guild_id = ?",
                          (guild_id,))
    if row is None:
        return GuildSettings(guild_id)
    values = dict(zip(_COLUMNS, row, strict=True))
    values["discussion_threads"] = bool(values["discussion_threads"])
    values["author_webhook"] = bool(values["author_webhook"])
    values["follow_edits"] = bool(values["follow_edits"])
    return GuildSettings(**values)


async def update_guild_settings(conn: Database, guild_id: int,
                                **changes: object) -> GuildSettings:
    """Change some settings, keeping the others; returns the settings now in force.

    One transaction: a guild's first `/aar setup` never leaves a row of defaults behind a failed change.
    """
    unknown = set(changes) - set(_COLUMNS) - {"guild_id"}
    if unknown:
        raise ValueError(f"unknown guild settings: {', '.join(sorted(unknown))}")
    async with transaction(conn):
        await execute(conn, "INSERT INTO guild_settings(guild_id) VALUES (?)"
                      " ON CONFLICT(guild_id) DO NOTHING", (guild_id,))
        if changes:
            assignments = ", ".join(f"{name} = ?" for name in changes)
            await execute(conn, f"UPDATE guild_settings SET {assignments} WHERE guild_id = ?",
                          (*changes.values(), guild_id))
    return await get_guild_settings(conn, guild_id)


async def guilds_following_edits(conn: Database) -> list[int]:
    """The servers that asked (`/aar setup follow_edits: on`) for posted chapters to follow the author's
    edits by themselves."""
    rows = await fetch_all(conn, "SELECT guild_id FROM guild_settings WHERE follow_edits = 1"
                                 " ORDER BY guild_id")
    return [row[0] for row in rows]
