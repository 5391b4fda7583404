"""Catch-up reading: a released chapter's pages, the released-chapter list and suggestions — Discord-free.

Every function starts from `released_through(conn, guild_id)`, and nothing about a later chapter (not
even its title) leaves this module: that is the spoiler promise.  The pages of a chapter are exactly the
messages its release posts (`bot.chapters.render.render_chapter`), so reading privately looks like
the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.chapters.render import render_chapter
from bot.chapters.replies import not_out_text
from bot.errors import UserError
from bot.likes.tally import LikeCount, chapter_likes, like_emoji_shown
from bot.storage import reading_progress
from bot.storage.database import Database
from bot.storage.releases import jump_url, released_chapters, released_through
from bot.storage.schedules import list_schedules
from bot.storage.story import chapter_count, chapters_through, load_chapter
from bot.text import MAX_CHOICE_NAME, MAX_CHOICES, clip


class NotReadable(UserError):
    """The member asked for something they may not read here; the message is safe to show as is."""


@dataclass(frozen=True)
class ChapterPages:
    number: int
    title: str
    total: int
    pages: list[dict[str, Any]]


@dataclass(frozen=True)
class ListedChapter:
    """A released chapter as `/chapter list` shows it."""

    number: int
    threadmark: str
    title: str
    url: str
    released_at: str | None
    likes: LikeCount
    like_emoji: str = "👍"  # the guild's, as `/likes` shows it
    read: bool = False      # the member asking finished it (reading progress)


@dataclass(frozen=True)
class NextUnread:
    """Where `/chapter continue` opens: the first page of the released chapters the member has not read."""

    chapter: int
    page: int  # 0-based


async def chapter_pages(conn: Database, guild_id: int, number: int) -> ChapterPages:
    """The pages of a chapter released in this guild; `NotReadable` for anything else."""
    through = await released_through(conn, guild_id)
    if number < 1:
        raise NotReadable("Chapter numbers start at 1.")
    if number > through:
        raise NotReadable(not_out_text(number, through))
    chapter = await load_chapter(conn, number)
    if chapter is None:  # released once, since removed from the story: nothing to show
        raise NotReadable(f"Chapter {number} is no longer in the imported story.")
    total = await chapter_count(conn)
    return ChapterPages(number, chapter.title, total, render_chapter(chapter, number=number, total=total))


async def released_choices(conn: Database, guild_id: int, typed: str) -> list[tuple[str, int]]:
    """Autocomplete for every option that names a released chapter (`/chapter read`, `/likes chapter`).

    One rule everywhere: the released chapters matching what was typed (the number, or words of
    "N. Title"; the chapter whose number is exactly what was typed always among them), the newest
    when more than 25 match, listed in chapter order.  Only released chapters are ever suggested.
    """
    through = await released_through(conn, guild_id)
    wanted = typed.strip().casefold()
    matching: list[tuple[str, int]] = []
    exact: tuple[str, int] | None = None
    for summary in await chapters_through(conn, through):
        name = f"{summary.number}. {summary.title}"
        if wanted and not (str(summary.number).startswith(wanted) or wanted in name.casefold()):
            continue
        choice = (clip(name, MAX_CHOICE_NAME), summary.number)
        if str(summary.number) == wanted:
            exact = choice
        else:
            matching.append(choice)
    newest = matching[-(MAX_CHOICES - (exact is not None)):] if matching else []
    return sorted([*newest, *([exact] if exact else [])], key=lambda choice: choice[1])


async def released_list(conn: Database, guild_id: int,
                        user_id: int | None = None) -> list[ListedChapter]:
    """The guild's released chapters with where they were posted, when, their likes, and (for `user_id`)
    whether that member has read them."""
    through = await released_through(conn, guild_id)
    progress = await reading_progress.progress_of(conn, guild_id, user_id, through) if user_id else {}
    summaries = {s.number: s for s in await chapters_through(conn, await released_through(conn, guild_id))}
    likes = await chapter_likes(conn, guild_id)
    like_emoji = await like_emoji_shown(conn, guild_id)
    listed = []
    for release in await released_chapters(conn, guild_id):
        summary = summaries.get(release.number)
        if summary is None:
            continue
        listed.append(ListedChapter(
            number=release.number, threadmark=summary.threadmark, title=summary.title,
            url=jump_url(guild_id, release.channel_id, release.first_message_id),
            released_at=release.completed_at,
            likes=likes.get(release.number, LikeCount(summary.forum_likes, 0)),
            like_emoji=like_emoji,
            read=release.number in progress and progress[release.number].finished,
        ))
    return listed


async def record_shown(conn: Database, guild_id: int, user_id: int, chapter: int, *,
                       page: int, pages: int, now: str) -> None:
    """A page of a released chapter was shown to the member: their progress moves forward to it."""
    await reading_progress.record_page(conn, guild_id, user_id, chapter, page=page, pages=pages, now=now)


async def mark_read(conn: Database, guild_id: int, user_id: int, chapter: int, *,
                    now: str) -> None:
    """✅ Read under a release: the member read the chapter.  Only a released chapter can be marked."""
    through = await released_through(conn, guild_id)
    if not 1 <= chapter <= through:
        raise NotReadable(not_out_text(chapter, through))
    await reading_progress.mark_finished(conn, guild_id, user_id, chapter, now=now)


async def next_unread(conn: Database, guild_id: int, user_id: int) -> NextUnread | None:
    """The first released chapter the member has not finished, at the first page they have not seen;
    None when they have read everything released here."""
    through = await released_through(conn, guild_id)
    progress = await reading_progress.progress_of(conn, guild_id, user_id, through)
    for number in range(1, through + 1):
        seen = progress.get(number)
        if seen is None:
            return NextUnread(number, 0)
        if not seen.finished:
            return NextUnread(number, seen.pages_seen)  # the page after the furthest one reached
    return None


async def next_release_at(conn: Database, guild_id: int) -> datetime | None:
    """When the guild's schedules release the next chapter (None: nothing scheduled, or all out)."""
    if await released_through(conn, guild_id) >= await chapter_count(conn):
        return None
    runs = [row.next_run_at for row in await list_schedules(conn, guild_id)
            if row.active and not row.paused and row.next_run_at is not None]
    return min(runs, default=None)
