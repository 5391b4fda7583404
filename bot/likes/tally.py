"""Counting likes for a guild: per chapter (forum, Discord, total), tallies of other emoji, rankings.

Every function here starts from `released_through(conn, guild_id)` and never counts, names or ranks a
chapter beyond it: that is the spoiler promise.  A chapter's likes are the distinct members who reacted
with the guild's like emoji on any part of its release, plus the likes it had on the forum.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UserError
from bot.likes import emoji as emojis
from bot.storage import likes as store
from bot.storage.database import Database
from bot.storage.guilds import get_guild_settings
from bot.storage.releases import released_through
from bot.storage.story import chapter_row, chapters_through


@dataclass(frozen=True)
class LikeCount:
    """A chapter's likes: the forum's (from the import) and this guild's members' (on Discord)."""

    forum: int = 0
    discord: int = 0

    @property
    def total(self) -> int:
        return self.forum + self.discord


@dataclass(frozen=True)
class EmojiCount:
    emoji: str        # the stored key (unicode, or custom:<id>)
    shown: str        # how to show it in a message
    members: int


@dataclass(frozen=True)
class ChapterLikes:
    """Everything `/likes chapter:` shows for a released chapter."""

    number: int
    title: str
    like_emoji: str
    likes: LikeCount
    others: list[EmojiCount]


class NotReleased(UserError):
    """The chapter is not out in this guild (or does not exist): nothing about it may be shown."""

    def __init__(self, number: int) -> None:
        super().__init__(f"Chapter {number} is not out yet in this server, so it has no likes to show.")
        self.number = number


@dataclass(frozen=True)
class RankedChapter:
    rank: int
    number: int
    title: str
    likes: LikeCount


async def _like_keys(conn: Database, guild_id: int) -> tuple[str, tuple[str, ...]]:
    setting = (await get_guild_settings(conn, guild_id)).like_emoji
    try:
        return setting, emojis.like_keys(setting)
    except ValueError:
        return "👍", emojis.like_keys("👍")


async def like_emoji_shown(conn: Database, guild_id: int) -> str:
    """The guild's like emoji as a message shows it (the unicode, or `<:name:id>` for a custom one).

    Every view that labels a like count uses this, so a server that likes with ⭐ never sees a 👍 there.
    """
    _, keys = await _like_keys(conn, guild_id)
    return emojis.display(keys[0], await store.emoji_names(conn, keys[:1]))


async def chapter_likes(conn: Database, guild_id: int) -> dict[int, LikeCount]:
    """Likes of every chapter released in the guild (chapter number → LikeCount).

    Made for `/chapter list`: chapters not yet released in the guild are absent.
    """
    through = await released_through(conn, guild_id)
    if through == 0:
        return {}
    _, keys = await _like_keys(conn, guild_id)
    discord = await store.discord_likes(conn, guild_id, through, keys)
    return {c.number: LikeCount(c.forum_likes, discord.get(c.number, 0))
            for c in await chapters_through(conn, through)}


async def likes_of(conn: Database, guild_id: int, number: int) -> LikeCount | None:
    """One released chapter's likes, or None when it is not out in the guild."""
    through = await released_through(conn, guild_id)
    if not 1 <= number <= through:
        return None
    _, keys = await _like_keys(conn, guild_id)
    discord = await store.discord_likes(conn, guild_id, through, keys, chapter=number)
    row = await chapter_row(conn, number)
    return LikeCount(row.forum_likes if row else 0, discord.get(number, 0))


async def chapter_report(conn: Database, guild_id: int, number: int) -> ChapterLikes:
    """A released chapter's likes and the tally of the other emoji; `NotReleased` for any other chapter."""
    through = await released_through(conn, guild_id)
    chapter = await chapter_row(conn, number) if 1 <= number <= through else None
    if chapter is None:
        raise NotReleased(number)
    _, keys = await _like_keys(conn, guild_id)
    tally = await store.emoji_tally(conn, guild_id, number)
    discord = await store.discord_likes(conn, guild_id, through, keys, chapter=number)
    names = await store.emoji_names(conn, tally)
    others = sorted(
        (EmojiCount(key, emojis.display(key, names), count)
         for key, count in tally.items() if key not in keys),
        key=lambda e: (-e.members, e.emoji),
    )
    return ChapterLikes(number, chapter.title, await like_emoji_shown(conn, guild_id),
                        LikeCount(chapter.forum_likes, discord.get(number, 0)), others)


async def top_chapters(conn: Database, guild_id: int, limit: int = 10) -> list[RankedChapter]:
    """Released chapters by total likes (then Discord likes, then reading order); ties share a rank."""
    through = await released_through(conn, guild_id)
    likes = await chapter_likes(conn, guild_id)
    titles = {c.number: c.title for c in await chapters_through(conn, through)}
    ordered = sorted(likes.items(), key=lambda item: (-item[1].total, -item[1].discord, item[0]))
    ranked: list[RankedChapter] = []
    for position, (number, count) in enumerate(ordered, start=1):
        previous = ranked[-1] if ranked else None
        same = (previous is not None
                and (previous.likes.total, previous.likes.discord) == (count.total, count.discord))
        ranked.append(RankedChapter(previous.rank if same and previous else position, number,
                                    titles[number], count))
    return ranked[:limit]


async def top_readers(conn: Database, guild_id: int, limit: int = 10) -> list[store.ReaderRow]:
    """The guild's most active reactors on released chapters."""
    through = await released_through(conn, guild_id)
    if through == 0:
        return []
    return await store.top_reactors(conn, guild_id, through, limit)
