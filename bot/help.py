"""What `/aar help` says: the bot in a few lines, then the commands the asking member can use.

The command list is not written here: the cog reads it from the registered command tree (names,
descriptions, subcommands) and marks each command moderator-only or not from the same check that guards
it (`cogs.shared.checks`), so a new command shows up in help by itself and help never offers a member a
command the bot would refuse them.  Discord-free: the cog passes plain `HelpEntry` values in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.text import MAX_DESCRIPTION, escape_markdown, lines_within

INTRO = ("AAR Bot serves an After Action Report, a forum story told chapter by chapter, to this server. "
         "Moderators release chapters into the story channel; everyone can read what is out, look up who "
         "is who, play the quiz and like chapters. Nothing shows a chapter this server has not released.")
MODERATOR_NOTE = "Moderator commands are marked 🛡️: you can use them here."
MEMBER_NOTE = "Moderators (Manage Server, or the role set in `/aar setup`) have a few more commands."


@dataclass(frozen=True)
class HelpEntry:
    """One runnable command: its full name ("chapter read"), what it does, who may run it."""

    name: str
    description: str
    moderator_only: bool = False


def visible_entries(entries: Iterable[HelpEntry], *, moderator: bool) -> list[HelpEntry]:
    """The entries the member may run, in name order (a moderator's include the moderator-only ones)."""
    return sorted((e for e in entries if moderator or not e.moderator_only), key=lambda e: e.name)


def command_line(entry: HelpEntry) -> str:
    marker = " 🛡️" if entry.moderator_only else ""
    # Descriptions are the bot's own, but escaped anyway: help is built from whatever is registered.
    return f"`/{entry.name}`{marker} — {escape_markdown(entry.description)}"


def help_text(entries: Iterable[HelpEntry], *, moderator: bool, limit: int = MAX_DESCRIPTION) -> str:
    """The help message's body (an embed description): intro, who-can-do-more note, one line per command.

    Cut with `lines_within` so it stays inside Discord's limit however many commands are registered.
    """
    lines = [INTRO, "", MODERATOR_NOTE if moderator else MEMBER_NOTE, ""]
    lines += [command_line(e) for e in visible_entries(entries, moderator=moderator)]
    return lines_within(lines, limit)
