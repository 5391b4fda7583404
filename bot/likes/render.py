"""What the likes commands and the hall of fame show, as plain cards within Discord's embed limits.

Pure functions: `Card.embed()` is the embed as a dict, which the cog turns into a `discord.Embed`.  Story
text (chapter titles) goes through `escape` (the bot's one markdown escaping, `bot.text.escape_markdown`),
so a title shows as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.likes.hall_of_fame import HallOfFameAction
from bot.likes.tally import ChapterLikes, NotReleased, RankedChapter
from bot.storage.likes import ReaderRow
from bot.text import MAX_DESCRIPTION as DESCRIPTION_LIMIT
from bot.text import MAX_FIELD_VALUE as FIELD_VALUE_LIMIT
from bot.text import MAX_FIELDS, Escape, clip, escape_markdown, lines_within, plural
from bot.text import MAX_TITLE as TITLE_LIMIT

COLOUR = 0xF1C40F  # discord.Colour.gold()


@dataclass(frozen=True)
class Card:
    title: str
    description: str = ""
    fields: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, value, inline)
    footer: str = ""
    url: str | None = None

    def embed(self) -> dict[str, Any]:
        """The card as an embed dict, as Discord's API (and `discord.Embed.from_dict`) takes it."""
        embed: dict[str, Any] = {"title": self.title, "color": COLOUR,
                                 "fields": [{"name": name, "value": value, "inline": inline}
                                            for name, value, inline in self.fields[:MAX_FIELDS]]}
        if self.description:
            embed["description"] = self.description
        if self.url:
            embed["url"] = self.url
        if self.footer:
            embed["footer"] = {"text": self.footer}
        return embed

    def size(self) -> int:
        return (len(self.title) + len(self.description) + len(self.footer)
                + sum(len(n) + len(v) for n, v, _ in self.fields))


def chapter_heading(number: int, title: str, escape: Escape = escape_markdown) -> str:
    return clip(f"Chapter {number}: {escape(title)}", TITLE_LIMIT)


def chapter_card(report: ChapterLikes, escape: Escape = escape_markdown) -> Card:
    likes = report.likes
    fields = [
        ("Forum likes", str(likes.forum), True),
        (f"Discord likes {report.like_emoji}", str(likes.discord), True),
        ("Total", str(likes.total), True),
    ]
    if report.others:
        tally = lines_within([f"{e.shown} {e.members}" for e in report.others], FIELD_VALUE_LIMIT)
        fields.append(("Other reactions", tally, False))
    else:
        fields.append(("Other reactions", "none yet", False))
    return Card(chapter_heading(report.number, report.title, escape), fields=fields,
                footer="Counted once per member, whichever parts of the chapter they reacted on.")


def not_released_text(number: int) -> str:
    return str(NotReleased(number))


# Chapter likes as the chart draws them: (chapter number, forum likes, Discord likes), reading order.
PerChapter = Sequence[tuple[int, int, int]]
PER_CHAPTER_FIELD = "Per chapter (the chart)"


def top_card(ranked: Sequence[RankedChapter], escape: Escape = escape_markdown,
             per_chapter: PerChapter = ()) -> Card:
    """The ranking; with `per_chapter`, also every released chapter's likes in reading order, the
    numbers of the chart attached below it, in text for those who do not see the picture."""
    if not ranked:
        return Card("Most liked chapters", "No chapter has been released in this server yet.")
    lines = [f"**{r.rank}.** {chapter_heading(r.number, r.title, escape)} — {plural(r.likes.total, 'like')}"
             f" (forum {r.likes.forum} + Discord {r.likes.discord})" for r in ranked]
    fields = []
    if per_chapter:
        values = [f"Ch. {n}: {f + d} ({f} + {d})" for n, f, d in per_chapter]
        fields.append((PER_CHAPTER_FIELD, lines_within(values, FIELD_VALUE_LIMIT), False))
    return Card("Most liked chapters", lines_within(lines, DESCRIPTION_LIMIT), fields=fields,
                footer="Likes: the forum's likes plus members who reacted with the like emoji here.")


def chart_alt_text(per_chapter: PerChapter) -> str:
    """The chart's description (alt text): what it shows, by chapter number only."""
    if not per_chapter:
        return "Bar chart of likes per chapter: no chapter released yet."
    first, last = per_chapter[0][0], per_chapter[-1][0]
    best = max(per_chapter, key=lambda row: (row[1] + row[2], -row[0]))
    return (f"Bar chart of likes per released chapter, chapters {first} to {last}, forum and Discord "
            f"stacked; the most liked is chapter {best[0]} with {plural(best[1] + best[2], 'like')}.")


def readers_card(readers: Sequence[ReaderRow]) -> Card:
    if not readers:
        return Card("Most active readers", "Nobody has reacted to a released chapter yet.")
    lines = [f"**{i}.** <@{r.user_id}> — reacted to {plural(r.chapters, 'chapter')}"
             f" ({plural(r.reactions, 'reaction')})" for i, r in enumerate(readers, start=1)]
    return Card("Most active readers", lines_within(lines, DESCRIPTION_LIMIT))


def hall_of_fame_card(action: HallOfFameAction, escape: Escape = escape_markdown) -> Card:
    likes = action.likes
    description = (f"**{plural(likes.total, 'like')}** (forum {likes.forum} + Discord {likes.discord})\n"
                   f"[Read the chapter]({action.jump_url})")
    footer = f"Hall of fame: chapters with {action.threshold}+ likes" if action.threshold else "Hall of fame"
    return Card(clip(f"🏆 {chapter_heading(action.chapter, action.title, escape)}", TITLE_LIMIT), description,
                footer=footer, url=action.jump_url)
