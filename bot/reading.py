"""Catch-up reading: a released chapter's pages, the released-chapter list and suggestions — Discord-free.

Every function starts from `released_through(conn, guild_id)`, and nothing about a later chapter (not
even its title) leaves this module: that is the spoiler promise.  The pages of a chapter are exactly the
messages its release posts (`bot.render.render_chapter`), so reading privately looks like the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.likes.tally import LikeCount, chapter_likes, like_emoji_shown
from bot.storage.likes import chapters_through
from bot.storage.releases import jump_url, released_chapters, released_through
from bot.storage.story import chapter_count, load_chapter

MAX_CHOICES = 25
CHOICE_NAME_MAX = 100


class NotReadable(Exception):
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


def not_out_text(number: int, released: int) -> str:
    """What a member sees for a chapter beyond the guild's releases: the number only, never the title."""
    so_far = "no chapter has been released" if released == 0 else \
        f"{released} chapter{'s have' if released != 1 else ' has'} been released"
    return f"Chapter {number} is not out yet in this server ({so_far} so far)."


async def chapter_pages(conn: aiosqlite.Connection, guild_id: int, number: int) -> ChapterPages:
    """The pages of a chapter released in this guild; `NotReadable` for anything else."""
    through = await released_through(conn, guild_id)
    if number < 1:
        raise NotReadable("Chapter numbers start at 1.")
    if number > through:
        raise NotReadable(not_out_text(number, through))
    chapter = await load_chapter(conn, number)
    if chapter is None:  # released once, since removed from the story: nothing to show
        raise NotReadable(f"Chapter {number} is no longer in the imported story.")
    from bot.render import render_chapter

    total = await chapter_count(conn)
    return ChapterPages(number, chapter.title, total, render_chapter(chapter, number=number, total=total))


async def released_choices(conn: aiosqlite.Connection, guild_id: int, typed: str) -> list[tuple[str, int]]:
    """Autocomplete for `number:`: released chapters matching what was typed (number or words), ≤ 25."""
    through = await released_through(conn, guild_id)
    typed = typed.strip().casefold()
    out = []
    for summary in await chapters_through(conn, through):
        name = f"{summary.number}. {summary.title}"
        if typed and not (str(summary.number).startswith(typed) or typed in name.casefold()):
            continue
        out.append((name if len(name) <= CHOICE_NAME_MAX else name[: CHOICE_NAME_MAX - 1] + "…", summary.number))
    if len(out) > MAX_CHOICES:  # the most recent ones are the likeliest catch-up targets
        out = out[-MAX_CHOICES:]
    return out


async def released_list(conn: aiosqlite.Connection, guild_id: int) -> list[ListedChapter]:
    """The guild's released chapters with where they were posted, when, and their likes."""
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
            released_at=release.completed_at, likes=likes.get(release.number, LikeCount(summary.forum_likes, 0)),
            like_emoji=like_emoji,
        ))
    return listed


LIST_TITLE = "Released chapters"
MAX_DESCRIPTION = 4096
MAX_EMBEDS_TOTAL = 6000


def list_line(item: ListedChapter) -> str:
    """One chapter of `/chapter list`: number, linked title, release date, likes (forum + Discord).

    The likes carry the guild's like emoji, the one `/likes` counts, so both read the same.
    """
    from bot.render import escape_markdown

    title = escape_markdown(" ".join(item.title.split())).replace("]", "\\]")
    date = _discord_date(item.released_at)
    likes = f"{item.like_emoji} {item.likes.total}"
    if item.likes.discord and item.likes.forum:
        likes += f" ({item.likes.forum} on the forum, {item.likes.discord} here)"
    elif item.likes.forum:
        likes += " (on the forum)"
    return f"**{item.number}.** [{title}]({item.url}) · {date} · {likes}"


def list_descriptions(items: list[ListedChapter]) -> tuple[list[str], int]:
    """Embed descriptions for `/chapter list`, newest kept when everything does not fit one message.

    Returns the descriptions (oldest first) and how many older chapters were left out.
    """
    budget = MAX_EMBEDS_TOTAL - len(LIST_TITLE) - 200  # room for a footer
    lines: list[str] = []
    used = 0
    for item in reversed(items):
        line = list_line(item)
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
    lines.reverse()
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= MAX_DESCRIPTION:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks, len(items) - len(lines)


def _discord_date(stamp: str | None) -> str:
    """A Discord timestamp tag (shown in each reader's own time zone), or a dash when unknown."""
    if not stamp:
        return "—"
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "—"
    return f"<t:{int(moment.timestamp())}:d>"
