"""What the likes commands and the hall of fame show, as plain cards within Discord's embed limits.

Pure functions: the cog turns a `Card` into a `discord.Embed`.  Story text (chapter titles) goes through
the `escape` function the cog passes (discord's markdown escaping), so a title shows as written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.likes.hall_of_fame import HallOfFameAction
from bot.likes.tally import ChapterLikes, RankedChapter
from bot.storage.likes import ReaderRow

Escape = Callable[[str], str]

TITLE_LIMIT, DESCRIPTION_LIMIT, FIELD_NAME_LIMIT, FIELD_VALUE_LIMIT, FOOTER_LIMIT = 256, 4096, 256, 1024, 2048
MAX_FIELDS = 25
TOTAL_LIMIT = 6000


@dataclass(frozen=True)
class Card:
    title: str
    description: str = ""
    fields: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, value, inline)
    footer: str = ""
    url: str | None = None

    def size(self) -> int:
        return (len(self.title) + len(self.description) + len(self.footer)
                + sum(len(n) + len(v) for n, v, _ in self.fields))


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lines_within(lines: Sequence[str], limit: int, more: Callable[[int], str]) -> str:
    """Join lines while they fit; the rest is summarised by `more(count_left)`."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        tail = more(len(lines) - index - 1) if index < len(lines) - 1 else ""
        if used + len(line) + 1 + len(tail) + 1 > limit:
            out.append(more(len(lines) - index))
            break
        out.append(line)
        used += len(line) + 1
    return clip("\n".join(out), limit)


def chapter_heading(number: int, title: str, escape: Escape) -> str:
    return clip(f"Chapter {number}: {escape(title)}", TITLE_LIMIT)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def chapter_card(report: ChapterLikes, escape: Escape) -> Card:
    likes = report.likes
    fields = [
        ("Forum likes", str(likes.forum), True),
        (f"Discord likes {report.like_emoji}", str(likes.discord), True),
        ("Total", str(likes.total), True),
    ]
    if report.others:
        tally = _lines_within([f"{e.shown} {e.members}" for e in report.others], FIELD_VALUE_LIMIT,
                              lambda n: f"…and {n} more")
        fields.append(("Other reactions", tally, False))
    else:
        fields.append(("Other reactions", "none yet", False))
    return Card(chapter_heading(report.number, report.title, escape), fields=fields,
                footer="Counted once per member, whichever parts of the chapter they reacted on.")


def not_released_text(number: int) -> str:
    return f"Chapter {number} is not out yet in this server, so it has no likes to show."


def top_card(ranked: Sequence[RankedChapter], escape: Escape) -> Card:
    if not ranked:
        return Card("Most liked chapters", "No chapter has been released in this server yet.")
    lines = [f"**{r.rank}.** {chapter_heading(r.number, r.title, escape)} — {plural(r.likes.total, 'like')}"
             f" (forum {r.likes.forum} + Discord {r.likes.discord})" for r in ranked]
    return Card("Most liked chapters", _lines_within(lines, DESCRIPTION_LIMIT, lambda n: f"…and {n} more"),
                footer="Likes: the forum's likes plus members who reacted with the like emoji here.")


def readers_card(readers: Sequence[ReaderRow]) -> Card:
    if not readers:
        return Card("Most active readers", "Nobody has reacted to a released chapter yet.")
    lines = [f"**{i}.** <@{r.user_id}> — reacted to {plural(r.chapters, 'chapter')}"
             f" ({plural(r.reactions, 'reaction')})" for i, r in enumerate(readers, start=1)]
    return Card("Most active readers", _lines_within(lines, DESCRIPTION_LIMIT, lambda n: f"…and {n} more"))


def hall_of_fame_card(action: HallOfFameAction, escape: Escape) -> Card:
    likes = action.likes
    description = (f"**{plural(likes.total, 'like')}** (forum {likes.forum} + Discord {likes.discord})\n"
                   f"[Read the chapter]({action.jump_url})")
    footer = f"Hall of fame: chapters with {action.threshold}+ likes" if action.threshold else "Hall of fame"
    return Card(clip(f"🏆 {chapter_heading(action.chapter, action.title, escape)}", TITLE_LIMIT), description,
                footer=footer, url=action.jump_url)
