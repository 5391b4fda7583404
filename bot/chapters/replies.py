"""What the chapters feature says: the answer to `/chapter next`, the lines of `/chapter list`, schedules.

Text only, no I/O and no discord import, as the other features keep theirs in their render modules: the
cogs send what these functions return.  Story text (titles) is escaped so it shows as the author wrote
it; channels appear as `<#id>` mentions, which show as names and ping no one.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

from bot.chapters.publishing import ReleaseOutcome
from bot.storage.releases import jump_url
from bot.text import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBEDS_TOTAL,
    clip,
    escape_markdown,
    lines_within,
    link_text,
    plural,
)
from bot.timestamps import parse_timestamp

if TYPE_CHECKING:
    from bot.chapters.reading import ListedChapter
    from bot.chapters.schedules import ScheduleInfo

NOTHING_RELEASED = ("No chapter has been released in this server yet. "
                    "Moderators release one with `/chapter next`.")


def not_out_text(number: int, released: int) -> str:
    """What a member sees for a chapter beyond the guild's releases: the number only, never the title."""
    so_far = "no chapter has been released" if released == 0 else \
        f"{released} chapter{'s have' if released != 1 else ' has'} been released"
    return f"Chapter {number} is not out yet in this server ({so_far} so far)."


def release_summary(outcome: ReleaseOutcome, guild_id: int) -> str:
    """The moderator's answer to `/chapter next` (titles escaped; channels as mentions that never ping)."""
    where = f"<#{outcome.channel_id}>" if outcome.channel_id else "the story channel"
    number = outcome.chapter
    if outcome.status == "released":
        title = escape_markdown(outcome.title or "")
        verb = "Finished releasing" if outcome.resumed else "Released"
        note = " (it had been interrupted; the missing parts are now posted)" if outcome.resumed else ""
        # A forum post's first message lives in the post, which has that message's id.
        link_channel = outcome.thread_id if outcome.kind == "forum" else outcome.channel_id
        text = (f"{verb} chapter {number} of {outcome.total}, **{title}**, in {where}{note}: "
                f"{plural(outcome.parts, 'message')}. "
                f"[Jump to it]({jump_url(guild_id, link_channel or 0, outcome.first_message_id)})")
        if outcome.thread_id:
            text += f" · discussion in <#{outcome.thread_id}>"
        return text + "." + publish_lag_text(outcome.publish_waiting, outcome.publish_eta)
    if outcome.status == "all_out":
        return (f"All {outcome.total} chapters are already out in this server: there is nothing left to "
                "release, and nothing was posted.")
    if outcome.status == "no_story":
        return "No story has been imported yet, so there is nothing to release (`aar-bot import FILE`)."
    if outcome.status == "forbidden":
        partly = " Its first part is already posted; the rest follows" if outcome.first_message_id else \
            " Nothing was posted; it goes out"
        return (f"I can't release chapter {number} in {where}: I'm missing the "
                f"**{outcome.missing_permission}** permission there. "
                f"Chapter {number} stays unreleased.{partly} "
                "when you grant the permission (or pick another channel with `/aar setup channel:`) and run "
                "`/chapter next` again.")
    if outcome.status == "channel_gone":
        return (f"The channel chapter {number} was being released into no longer exists, so nothing more can "
                f"be posted there. Chapter {number} stays unreleased: choose the story channel with "
                "`/aar setup channel:` and run `/chapter next` again.")
    return (f"Releasing chapter {number} was interrupted ({outcome.error}). It stays unreleased; run "
            "`/chapter next` again to finish it — nothing already posted will be posted twice.")


def publish_lag_text(waiting: int, eta: datetime | None) -> str:
    """An announcement channel's publishing backlog, said to the moderator ("" when nothing waits)."""
    if not waiting:
        return ""
    when = f", all out about <t:{int(eta.timestamp())}:t> (<t:{int(eta.timestamp())}:R>)" if eta else ""
    return (f" Publishing to the servers that follow the channel: {plural(waiting, 'message')} waiting "
            f"(Discord allows 10 an hour){when}; the bot publishes them on its own.")


RELEASE_STOPPED = ("The bot is restarting, so this release did not finish here. Anything already posted "
                   "stays and an interrupted release is finished when the bot is back; if the chapter is "
                   "not out by then, run `/chapter next` again: nothing is posted twice.")


def queued_text(starts_now: bool, ahead: int, estimate: float) -> str:
    """The immediate answer to `/chapter next`; the release edits it into `release_summary` when done."""
    then = "I'll change this message to the jump link when it is out."
    if starts_now:
        return f"Releasing the next chapter: going out now. {then}"
    seconds = max(1, math.ceil(estimate))
    return (f"Queued behind {plural(ahead, 'release')} (servers take turns): about {seconds} s. {then}")


def list_footer(released: int, left_out: int) -> str:
    footer = f"{released} released · /chapter read number: to catch up privately"
    if left_out:
        footer = f"{plural(left_out, 'older chapter')} not shown · " + footer
    return footer


def schedule_line(info: ScheduleInfo) -> str:
    """One schedule as `/schedule` shows it: id, cadence, next run in each reader's own time zone."""
    paused = " · **paused**" if info.paused else ""
    return f"**#{info.id}** · {info.when.describe()} · next {_next_run(info)}{paused}"


def schedules_text(infos: list[ScheduleInfo]) -> str:
    """`/schedule list`'s embed description: one line per schedule, within an embed description."""
    return lines_within([schedule_line(i) for i in infos], MAX_DESCRIPTION)


def paused_text(paused: list[ScheduleInfo]) -> str:
    """The answer to `/schedule pause`: which schedules it paused (ids only, so it stays short)."""
    if not paused:
        return "Nothing to pause: no running schedule."
    ids = ", ".join(f"#{i}" for i in sorted(p.id for p in paused))
    return clip(f"Paused {ids}. `/schedule resume` starts them again.", MAX_CONTENT)


def resumed_text(resumed: list[ScheduleInfo], expired: list[ScheduleInfo]) -> str:
    """The answer to `/schedule resume`: a line per schedule, cut with "…and N more" to fit one message.

    25 schedules in long time zones make about 3,000 characters: sent whole, Discord refuses the answer
    (50035) after the schedules were already resumed, and the moderator is told something went wrong.
    """
    lines = [f"Resumed {schedule_line(r)}" for r in resumed]
    lines += [f"#{e.id} ({e.when.describe()}) passed while paused, so it is finished." for e in expired]
    if not lines:
        return "Nothing to resume: no paused schedule."
    return lines_within(lines, MAX_CONTENT)


def _next_run(info: ScheduleInfo) -> str:
    if info.next_run_at is None:
        return "finished"
    unix = int(info.next_run_at.timestamp())
    return f"<t:{unix}:F> (<t:{unix}:R>)"


LIST_TITLE = "Released chapters"


def list_line(item: ListedChapter) -> str:
    """One chapter of `/chapter list`: number, linked title, release date, likes (forum + Discord).

    The likes carry the guild's like emoji, the one `/likes` counts, so both read the same.
    """
    title = link_text(item.title)
    date = _discord_date(item.released_at)
    likes = f"{item.like_emoji} {item.likes.total}"
    if item.likes.discord and item.likes.forum:
        likes += f" ({item.likes.forum} on the forum, {item.likes.discord} here)"
    elif item.likes.forum:
        likes += " (on the forum)"
    read = " · ✅ read" if item.read else ""
    return f"**{item.number}.** [{title}]({item.url}) · {date} · {likes}{read}"


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


def all_read_text(released: int, next_release: datetime | None) -> str:
    """`/chapter continue` with nothing unread: say so, and when the next chapter is due if scheduled."""
    if released == 0:
        return NOTHING_RELEASED
    text = f"You have read every released chapter here ({plural(released, 'chapter')})."
    if next_release is not None:
        unix = int(next_release.timestamp())
        return text + f" The next one is scheduled for <t:{unix}:F> (<t:{unix}:R>)."
    return text + " No release is scheduled yet."


def marked_read_text(number: int) -> str:
    """The private answer to ✅ Read under a release."""
    return f"Marked chapter {number} as read. `/chapter continue` opens the first page you have not read."


def _discord_date(stamp: str | None) -> str:
    """A Discord timestamp tag (shown in each reader's own time zone), or a dash when unknown."""
    if not stamp:
        return "—"
    try:
        moment = parse_timestamp(stamp)
    except ValueError:
        return "—"
    return f"<t:{int(moment.timestamp())}:d>"
