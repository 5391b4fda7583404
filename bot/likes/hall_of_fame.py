"""Hall of fame, starboard style: a chapter that reaches the guild's threshold is posted once, then edited.

The threshold counts the chapter's total likes (forum + Discord), the figure `/likes` shows as the
chapter's likes.  A post is never made twice: once recorded, later changes only edit it, also when
the count falls back under the threshold (the post shows the current count).  If a moderator deleted
the post, it is remembered as gone and never made again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.likes.tally import LikeCount, likes_of
from bot.storage import likes as store
from bot.storage.database import Database
from bot.storage.guilds import get_guild_settings
from bot.storage.releases import jump_url, released_chapters
from bot.storage.story import chapter_row

Decision = Literal["post", "edit"] | None


def decide(*, threshold: int | None, channel_id: int | None, likes: LikeCount | None,
           post: store.HallOfFamePost | None) -> Decision:
    """What to do for a chapter whose likes may have changed (`likes` None: not released in the guild)."""
    if likes is None:
        return None
    if post is not None:
        if post.message_id is None:
            return None
        return "edit" if (post.shown_total, post.shown_discord) != (likes.total, likes.discord) else None
    if not enabled(threshold, channel_id):
        return None
    assert threshold is not None
    return "post" if likes.total >= threshold else None


def enabled(threshold: int | None, channel_id: int | None) -> bool:
    """Whether the guild set up a hall of fame (a threshold and a channel), so new posts can be made."""
    return threshold is not None and threshold >= 1 and channel_id is not None


@dataclass(frozen=True)
class HallOfFameAction:
    """A post to make or edit; the cog performs it and records the outcome with `record_*`."""

    kind: Literal["post", "edit"]
    guild_id: int
    chapter: int
    title: str
    likes: LikeCount
    threshold: int | None
    channel_id: int           # where the post is (edit) or goes (post)
    message_id: int | None    # the post to edit
    jump_url: str             # the chapter's first message


async def next_action(conn: Database, guild_id: int, chapter: int) -> HallOfFameAction | None:
    """The hall-of-fame step due for a chapter of a guild, if any."""
    settings = await get_guild_settings(conn, guild_id)
    post = await store.get_hall_of_fame_post(conn, guild_id, chapter)
    if post is None and not enabled(settings.hall_of_fame_threshold, settings.hall_of_fame_channel_id):
        # No hall of fame here (most servers): no need to count this chapter's likes at each reaction.
        return None
    likes = await likes_of(conn, guild_id, chapter)
    kind = decide(threshold=settings.hall_of_fame_threshold, channel_id=settings.hall_of_fame_channel_id,
                  likes=likes, post=post)
    if kind is None or likes is None:
        return None
    release = next(r for r in await released_chapters(conn, guild_id) if r.number == chapter)
    row = await chapter_row(conn, chapter)
    title = row.title if row else ""
    channel_id = post.channel_id if post is not None else settings.hall_of_fame_channel_id
    assert channel_id is not None
    return HallOfFameAction(kind, guild_id, chapter, title, likes, settings.hall_of_fame_threshold,
                            channel_id, post.message_id if post else None,
                            jump_url(guild_id, release.channel_id, release.first_message_id))


async def record_shown(conn: Database, action: HallOfFameAction, message_id: int,
                       now: str) -> None:
    """The post was made (or edited) and now shows `action.likes`."""
    await store.save_hall_of_fame_post(conn, store.HallOfFamePost(
        action.guild_id, action.chapter, action.channel_id, message_id, action.likes.total,
        action.likes.discord), now)


async def record_gone(conn: Database, action: HallOfFameAction, now: str) -> None:
    """The post was deleted in Discord: remember it so it is never made again."""
    await store.save_hall_of_fame_post(conn, store.HallOfFamePost(
        action.guild_id, action.chapter, action.channel_id, None, action.likes.total,
        action.likes.discord), now)
