"""Answers laid out as Discord payloads (plain dicts), always within Discord's limits.

Pure functions, so the limits are tested without Discord: the cog turns a dict into an embed with
`discord.Embed.from_dict`.  Every piece of story or reader text goes through `escape` (the bot's one
markdown escaping, `bot.text.escape_markdown`, unless a test passes another) before it is measured and cut.
"""

from __future__ import annotations

from bot.characters.lookup import (
    MAX_QUERY,
    BadQuery,
    ChapterRef,
    CharacterCard,
    LookupResult,
    NoCast,
    NotFound,
    Roster,
    RosterEntry,
)
from bot.errors import UserError
from bot.text import MAX_CONTENT as CONTENT_LIMIT
from bot.text import MAX_DESCRIPTION as DESCRIPTION_LIMIT
from bot.text import MAX_EMBEDS_TOTAL as EMBED_TOTAL_LIMIT
from bot.text import MAX_FIELD_NAME, Escape, clip, escape_markdown, plural
from bot.text import MAX_FIELD_VALUE as FIELD_VALUE_LIMIT
from bot.text import MAX_TITLE as TITLE_LIMIT
from bot.text import clip_escaped as fit

ROSTER_PAGE_SIZE = 12
COLOUR = 0x8B0000
# What a member reads when the story has no cast, and how one is added (issue 14): `aar-bot cast draft`
# writes a starting file from the story's text, `aar-bot cast FILE` loads it.
NO_CAST = ("This story has no cast yet, so there is nobody to look up. To add one, a moderator with access "
           "to the bot's command line drafts a cast file from the story with `aar-bot cast draft`, edits it, "
           "and loads it with `aar-bot cast FILE`.")


class NoSuchCharacter(UserError):
    """`/character` found no one (or the name was unusable); the message says so without spoilers."""


def answer(result: LookupResult, escape: Escape = escape_markdown) -> dict:
    """The embed for a character found; `NoSuchCharacter`, with the words to say, for the other kinds."""
    if isinstance(result, NoCast):
        raise NoSuchCharacter(NO_CAST)
    if isinstance(result, NotFound):
        raise NoSuchCharacter(not_found_message(result, escape))
    if isinstance(result, BadQuery):
        raise NoSuchCharacter(bad_query_message(result))
    return character_embed(result.card, escape)


def _chapter_label(ref: ChapterRef, escape: Escape, *, short: bool = False) -> str:
    label = f"Ch. {ref.number}" if short else f"Chapter {ref.number}"
    if not short and ref.title:
        # brackets would end the link text early; a title keeps its words without them
        label += " — " + fit(ref.title.replace("[", "(").replace("]", ")"), 120, escape)
    return f"[{label}]({ref.url})" if ref.url else label


def character_embed(card: CharacterCard, escape: Escape = escape_markdown) -> dict:
    """The answer to `/character`: who they are, as far as the guild's released chapters tell."""
    released = "chapter 1" if card.released == 1 else f"chapters 1–{card.released}"
    fields = [
        {"name": "Side", "value": fit(card.side, FIELD_VALUE_LIMIT, escape), "inline": True},
        {"name": "Also called",
         "value": fit(", ".join(card.aliases), FIELD_VALUE_LIMIT, escape) if card.aliases else "—",
         "inline": True},
        {"name": "First appearance", "value": _chapter_label(card.first_appearance, escape), "inline": False},
        {"name": f"Mentioned {plural(card.total_mentions, 'time')}",
         "value": _mentions_value(card, escape), "inline": False},
    ]
    embed = {
        "title": fit(card.name, TITLE_LIMIT, escape),
        "description": "",
        "color": COLOUR,
        "fields": fields,
        "footer": {"text": f"Only what {released} tell — no spoilers from later chapters."},
    }
    budget = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - embed_size(embed))
    embed["description"] = _notes_text(card, budget, escape)
    return embed


def _notes_text(card: CharacterCard, budget: int, escape: Escape) -> str:
    """One line per released chapter's note; whole lines dropped, with a tail, when over `budget`."""
    if not card.notes:
        return "*The released chapters only mention them in passing.*"
    lines: list[str] = []
    used = 0
    for index, (ref, note) in enumerate(card.notes):
        left = len(card.notes) - index
        tail = f"\n… and {plural(left, 'more chapter')}." if left > 1 else ""
        label = f"**Chapter {ref.number}.** "
        line = label + escape(note)
        if used + len(line) + 1 + len(tail) > budget:
            if lines:
                return "\n".join(lines) + f"\n… and {plural(left, 'more chapter')}."
            rest = left - 1  # this note is shown, cut short
            tail = f"\n… and {plural(rest, 'more chapter')}." if rest else ""
            return label + fit(note, max(1, budget - len(label) - len(tail)), escape) + tail
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _mentions_value(card: CharacterCard, escape: Escape) -> str:
    """'[Ch. 1](link) ×3 · [Ch. 2](link) ×12', without links or with a tail when it would not fit."""
    for linked in (True, False):
        parts = []
        for ref, count in card.mentions:
            label = _chapter_label(ref if linked else ChapterRef(ref.number, ref.title, None), escape,
                                   short=True)
            parts.append(f"{label} ×{count}")
        value = " · ".join(parts)
        if len(value) <= FIELD_VALUE_LIMIT:
            return value
    kept: list[str] = []
    for part in parts:
        if len(" · ".join([*kept, part])) > FIELD_VALUE_LIMIT - 30:
            break
        kept.append(part)
    return " · ".join(kept) + f" … and {len(parts) - len(kept)} more"


def embed_size(embed: dict) -> int:
    """Characters Discord counts toward the 6,000 total: title, description, fields, footer, author."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    size += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
    return size


def not_found_message(result: NotFound, escape: Escape = escape_markdown) -> str:
    """The same words for a name nobody has and for a character this guild has not met yet."""
    if result.released == 0:
        return ("No character by that name in the chapters released so far: "
                "no chapter has been released here yet.")
    text = "No character by that name in the chapters released so far."
    if result.closest:
        text += " Closest: " + ", ".join(f"**{escape(name)}**" for name in result.closest) + "."
    text += " `/characters` lists everyone met so far."
    return clip(text, CONTENT_LIMIT)


def bad_query_message(result: BadQuery) -> str:
    """Polite, and never echoes the input: it may be long, or full of markdown and mentions."""
    if result.reason == "empty":
        return "Please type a name to look up: a surname, a nickname or a spelling the story uses."
    return (f"That is {result.length:,} characters long; names in the story are far shorter (at most "
            f"{MAX_QUERY}). Try a surname, or pick a suggestion from the list.")


def roster_pages(roster: Roster, per_page: int = ROSTER_PAGE_SIZE) -> list[list[RosterEntry]]:
    entries = list(roster.entries)
    return [entries[i:i + per_page] for i in range(0, len(entries), per_page)] or [[]]


def roster_embed(roster: Roster, page: int, escape: Escape = escape_markdown,
                 per_page: int = ROSTER_PAGE_SIZE) -> tuple[dict, int, int]:
    """One page of `/characters`: (embed, page actually shown, page count). `page` is clamped."""
    pages = roster_pages(roster, per_page)
    page = max(0, min(page, len(pages) - 1))
    if not roster.has_cast:
        return {"title": "Characters met so far", "description": NO_CAST, "color": COLOUR}, 0, 1
    if not roster.entries:
        description = ("No chapter has been released here yet, so nobody has been met."
                       if roster.released == 0 else "The released chapters name no one from the cast yet.")
        return {"title": "Characters met so far", "description": description, "color": COLOUR}, 0, 1
    fields: list[dict] = []
    for entry in pages[page]:
        line = (f"**{escape(entry.name)}** · first in ch. {entry.first_chapter} · "
                f"{plural(entry.mentions, 'mention')}")
        if fields and fields[-1]["side"] == entry.side:
            fields[-1]["lines"].append(line)
        else:
            fields.append({"side": entry.side, "lines": [line]})
    first_side_continues = page > 0 and pages[page - 1][-1].side == pages[page][0].side
    released = "chapter 1" if roster.released == 1 else f"chapters 1–{roster.released}"
    embed = {
        "title": "Characters met so far",
        "description": f"Everyone {released} name, by side. `/character` tells more about anyone here.",
        "color": COLOUR,
        "fields": [
            {"name": fit(f["side"] + (" (continued)" if i == 0 and first_side_continues else ""),
                         MAX_FIELD_NAME, escape),
             "value": clip("\n".join(f["lines"]), FIELD_VALUE_LIMIT), "inline": False}
            for i, f in enumerate(fields)
        ],
        "footer": {"text": f"Page {page + 1} of {len(pages)} · {len(roster.entries)} characters"},
    }
    return embed, page, len(pages)
