"""Keeping posted chapters in step with the author's edits, on discord.py (`bot.chapters.edit_sync` does
the work).  The `Admin` cog owns `/aar edits` and holds one `EditUpdates`.

- `/aar edits` (moderators) lists the server's released chapters whose posted text is out of step, each
  with an "Update the posted chapter" button; `/aar import file:`'s confirmation offers the same buttons
  when the import edited released chapters.
- The buttons are a `DynamicItem` (custom id `aar:edits:update:<chapter>`), so a press after a restart is
  answered; who pressed is checked against the moderator rule when pressed, never trusted from the list.
- `/aar setup follow_edits: on` makes the bot update by itself: after `/aar import` (the `story_imported`
  event), and for an import by the CLI (`aar-bot import`, another process) at the first schedule check
  after the story changed — the schedule loop checks at least every 30 s and at start, and the story's
  import marker says whether anything was imported since the last look.  The first check after a start
  also finishes the updates a previous process left half-done.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.chapters.edit_sync import EditOutcome
from bot.storage.chapter_edits import unfinished_syncs
from bot.storage.guilds import guilds_following_edits
from bot.storage.releases import jump_url, released_chapters
from bot.storage.story import chapter_titles, import_marker
from bot.text import escape_markdown
from cogs.shared.checks import NOT_A_MODERATOR, member_is_moderator
from cogs.shared.inflight import TrackedClick
from cogs.shared.ui import send_refusal

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
UPDATE_LABEL = "Update the posted chapter"
MAX_BUTTONS = 25  # Discord: five rows of five
IN_STEP = "Every released chapter's posted text matches the story: nothing to update."


class EditUpdates:
    """`/aar edits`, its buttons, and following the author's edits for the servers that asked."""

    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self._seen_marker: tuple[int, int] | None = None
        self._following = asyncio.Lock()

    async def listing(self, guild_id: int) -> tuple[str, discord.ui.View | None]:
        """The out-of-step chapters of the server as a message, with a button for each (at most 25)."""
        stale = await self.bot.edit_syncer.stale_chapters(guild_id)
        if not stale:
            return IN_STEP, None
        titles = await chapter_titles(self.bot.db, max(stale))
        where = {r.number: r for r in await released_chapters(self.bot.db, guild_id)}
        lines = ["The author edited these released chapters since they were posted here:"]
        for number in stale:
            posted = where.get(number)
            link = f" · [posted]({jump_url(guild_id, posted.channel_id, posted.first_message_id)})" \
                if posted and posted.first_message_id else ""
            lines.append(f"• Chapter {number}: {escape_markdown(titles.get(number, ''))}{link}")
        if len(stale) > MAX_BUTTONS:
            lines.append(f"(buttons for the first {MAX_BUTTONS}; update those, then run `/aar edits` again)")
        return "\n".join(lines), update_view(stale[:MAX_BUTTONS])

    async def update(self, interaction: discord.Interaction, number: int) -> None:
        """A press on "Update the posted chapter": moderators only, checked now."""
        guild_id = interaction.guild_id
        if guild_id is None or not await member_is_moderator(self.bot, interaction):
            await send_refusal(interaction, NOT_A_MODERATOR)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.bot.edit_syncer.update(guild_id, number)
        await interaction.followup.send(outcome_text(outcome), ephemeral=True)

    async def follow(self, guild_ids: list[int] | None = None) -> list[EditOutcome]:
        """Update every out-of-step chapter of the servers following edits (this process's, or the ones
        given), after finishing any update a previous process left half-done."""
        async with self._following:
            outcomes = []
            syncer = self.bot.edit_syncer
            for guild_id in await guilds_following_edits(self.bot.db):
                if (guild_ids is None or guild_id in guild_ids) and self.bot.owns_guild(guild_id):
                    try:
                        outcomes += await syncer.update_all(guild_id)
                    except Exception:  # one server's failure must not stop the others'
                        _log.exception("Following the author's edits in guild %s failed", guild_id)
            for outcome in outcomes:
                _log.info("Updated chapter %s in guild %s after an edit: %s", outcome.chapter,
                          outcome.guild_id, outcome.status)
            return outcomes

    async def on_schedules_checked(self) -> None:
        """The first check after a start, and each one after an import by the CLI: resume, then follow."""
        marker = await import_marker(self.bot.db)
        if marker == self._seen_marker:
            return
        first = self._seen_marker is None
        self._seen_marker = marker
        if first:  # only this process's servers: another shard's process resumes its own
            unfinished = await unfinished_syncs(self.bot.db)
            for guild_id in dict.fromkeys(s.guild_id for s in unfinished if self.bot.owns_guild(s.guild_id)):
                for outcome in await self.bot.edit_syncer.resume(guild_id):
                    _log.info("Resumed the update of chapter %s in guild %s: %s", outcome.chapter,
                              outcome.guild_id, outcome.status)
        await self.follow()
        self.bot.dispatch("edits_followed")

    async def on_story_imported(self) -> None:
        """An import in Discord: the servers following edits update now."""
        self._seen_marker = await import_marker(self.bot.db)
        await self.follow()
        self.bot.dispatch("edits_followed")


def outcome_text(outcome: EditOutcome) -> str:
    """What the moderator is told after pressing the button."""
    number = outcome.chapter
    if outcome.status == "updated":
        done = [f"{outcome.edited} message(s) edited in place"]
        if outcome.moved_up:
            done.append(f"{outcome.moved_up} now say “(moved up)”")
        if outcome.posted:
            where = f" in <#{outcome.discussion_id}>" if outcome.discussion_id else ""
            done.append(f"{outcome.posted} extra part(s) posted{where}")
        return f"Chapter {number} is updated: " + ", ".join(done) + ". Likes and reactions are kept."
    return {
        "in_step": f"Chapter {number}'s posted text already matches the story.",
        "not_released": f"Chapter {number} is not released in this server, so there is nothing to update.",
        "no_chapter": f"Chapter {number} is no longer in the story (or was posted before plans were kept).",
        "busy": f"Chapter {number} is being updated right now; try again in a moment.",
        "forbidden": f"I could not update chapter {number}: {outcome.error}. Fix my permissions and press "
                     "again; I continue where I stopped.",
    }.get(outcome.status, f"Updating chapter {number} stopped ({outcome.error}); press again to continue "
                          "where it stopped.")


class UpdateButton(TrackedClick, discord.ui.DynamicItem[discord.ui.Button[Any]],
                   template=r"aar:edits:update:(?P<chapter>[0-9]{1,6})"):
    """"Update the posted chapter" under `/aar edits` and an import's confirmation."""

    def __init__(self, number: int) -> None:
        super().__init__(discord.ui.Button(label=f"{UPDATE_LABEL} {number}"[:80],
                                           style=discord.ButtonStyle.primary,
                                           custom_id=f"aar:edits:update:{number}"))
        self.number = number

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> UpdateButton:
        return cls(int(match["chapter"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        cog = client.get_cog("Admin") if isinstance(client, commands.Bot) else None
        updates = getattr(cog, "edit_updates", None)
        if not isinstance(updates, EditUpdates):
            await send_refusal(interaction, "This button is no longer available.")
            return
        await updates.update(interaction, self.number)


def update_view(numbers: list[int]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for number in numbers[:MAX_BUTTONS]:
        view.add_item(UpdateButton(number))
    return view
