"""`/chapter next|read|list`: glue between Discord and the release engine / catch-up reading.

`/chapter` mixes a moderator command (`next`) with commands for everyone (`read`, `list`).  Discord sets
`default_member_permissions` per top-level command only (discord.py ignores it on subcommands), so it
cannot hide `next` alone; `next` is guarded by the bot's own moderator check, which is what counts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import reading
from bot.publishing import ReleaseOutcome
from bot.render import escape_markdown
from bot.storage.guilds import get_guild_settings
from bot.storage.releases import jump_url
from cogs._release import NO_PINGS, interaction_permissions, moderator_only, publisher_for

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
READ_TIMEOUT_SECONDS = 14 * 60  # an interaction's token (needed to edit the page) lasts 15 minutes


def _to_embeds(payload: dict[str, Any]) -> list[discord.Embed]:
    return [discord.Embed.from_dict(e) for e in payload.get("embeds") or []]


class PageView(discord.ui.View):
    """Previous / Next through a chapter's pages in an ephemeral message (only its reader sees it)."""

    def __init__(self, pages: reading.ChapterPages, reader_id: int) -> None:
        super().__init__(timeout=READ_TIMEOUT_SECONDS)
        self.pages = pages
        self.reader_id = reader_id
        self.index = 0
        self._sync()

    def _sync(self) -> None:
        count = len(self.pages.pages)
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= count - 1
        self.position.label = f"Page {self.index + 1} of {count}"

    def page_kwargs(self) -> dict[str, Any]:
        page = self.pages.pages[self.index]
        return {"content": page.get("content") or None, "embeds": _to_embeds(page), "view": self}

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.reader_id

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.index = max(0, min(self.index + step, len(self.pages.pages) - 1))
        self._sync()
        await interaction.response.edit_message(**self.page_kwargs(), allowed_mentions=NO_PINGS)

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[PageView]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Page", style=discord.ButtonStyle.secondary, disabled=True)
    async def position(self, interaction: discord.Interaction, button: discord.ui.Button[PageView]) -> None:
        pass  # a label, never clickable

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.primary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[PageView]) -> None:
        await self._turn(interaction, 1)


def release_summary(outcome: ReleaseOutcome, guild_id: int) -> str:
    """The moderator's answer to `/chapter next` (titles escaped; channels as mentions that never ping)."""
    where = f"<#{outcome.channel_id}>" if outcome.channel_id else "the story channel"
    number = outcome.chapter
    if outcome.status == "released":
        title = escape_markdown(outcome.title or "")
        verb = "Finished releasing" if outcome.resumed else "Released"
        note = " (it had been interrupted; the missing parts are now posted)" if outcome.resumed else ""
        text = (f"{verb} chapter {number} of {outcome.total}, **{title}**, in {where}{note}: "
                f"{outcome.parts} message{'s' if outcome.parts != 1 else ''}. "
                f"[Jump to it]({jump_url(guild_id, outcome.channel_id or 0, outcome.first_message_id)})")
        if outcome.thread_id:
            text += f" · discussion in <#{outcome.thread_id}>"
        return text + "."
    if outcome.status == "all_out":
        return (f"All {outcome.total} chapters are already out in this server: there is nothing left to "
                "release, and nothing was posted.")
    if outcome.status == "no_story":
        return "No story has been imported yet, so there is nothing to release (`aar-bot import FILE`)."
    if outcome.status == "forbidden":
        partly = " Its first part is already posted; the rest follows" if outcome.first_message_id else \
            " Nothing was posted; it goes out"
        return (f"I can't release chapter {number} in {where}: I'm missing the **{outcome.missing_permission}** "
                f"permission there. Chapter {number} stays unreleased.{partly} when you grant the permission "
                "(or pick another channel with `/aar setup channel:`) and run `/chapter next` again.")
    if outcome.status == "channel_gone":
        return (f"The channel chapter {number} was being released into no longer exists, so nothing more can "
                f"be posted there. Chapter {number} stays unreleased: choose the story channel with "
                "`/aar setup channel:` and run `/chapter next` again.")
    return (f"Releasing chapter {number} was interrupted ({outcome.error}). It stays unreleased; run "
            "`/chapter next` again to finish it — nothing already posted will be posted twice.")


class Chapters(commands.GroupCog, group_name="chapter", group_description="Read the AAR, chapter by chapter"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.startup_resume: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        self.startup_resume = asyncio.create_task(self._resume_interrupted(), name="chapters-resume")

    async def cog_unload(self) -> None:
        if self.startup_resume is not None and not self.startup_resume.done():
            self.startup_resume.cancel()
            await asyncio.gather(self.startup_resume, return_exceptions=True)

    async def _resume_interrupted(self) -> None:
        """A fresh start finishes the releases a previous process left half-posted."""
        await self.bot.wait_until_ready()
        for outcome in await publisher_for(self.bot).resume():
            _log.info("Resumed the release of chapter %s in guild %s: %s", outcome.chapter, outcome.guild_id,
                      outcome.status)

    @app_commands.command(name="next", description="Release the next chapter into the story channel (moderators)")
    @app_commands.guild_only()
    @moderator_only()
    async def next_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # a release takes more than 3 s
        settings = await get_guild_settings(self.bot.db, interaction.guild_id)
        channel_id = settings.story_channel_id or interaction.channel_id
        assert channel_id is not None
        interaction_permissions.set((interaction.channel_id or 0, interaction.app_permissions))
        outcome = await publisher_for(self.bot).release_next(interaction.guild_id, channel_id,
                                                             threads=settings.discussion_threads)
        await interaction.followup.send(release_summary(outcome, interaction.guild_id), ephemeral=True,
                                        allowed_mentions=NO_PINGS)

    @app_commands.command(name="read", description="Read a released chapter privately, page by page")
    @app_commands.describe(number="The chapter's number (only released chapters are offered)")
    @app_commands.guild_only()
    async def read(self, interaction: discord.Interaction, number: int) -> None:
        assert interaction.guild_id is not None
        try:
            pages = await reading.chapter_pages(self.bot.db, interaction.guild_id, number)
        except reading.NotReadable as exc:
            await interaction.response.send_message(str(exc), ephemeral=True, allowed_mentions=NO_PINGS)
            return
        view = PageView(pages, interaction.user.id)
        await interaction.response.send_message(**view.page_kwargs(), ephemeral=True, allowed_mentions=NO_PINGS)

    @read.autocomplete("number")
    async def read_number(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        choices = await reading.released_choices(self.bot.db, interaction.guild_id, current)
        return [app_commands.Choice(name=name, value=value) for name, value in choices]

    @app_commands.command(name="list", description="The released chapters, with links, dates and likes")
    @app_commands.guild_only()
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        items = await reading.released_list(self.bot.db, interaction.guild_id)
        if not items:
            await interaction.response.send_message(
                "No chapter has been released in this server yet. Moderators release one with `/chapter next`.",
                ephemeral=True)
            return
        descriptions, left_out = reading.list_descriptions(items)
        embeds = [discord.Embed(description=text, colour=discord.Colour.dark_gold()) for text in descriptions]
        embeds[0].title = reading.LIST_TITLE
        footer = f"{len(items)} released · /chapter read number: to catch up privately"
        if left_out:
            footer = f"{left_out} older chapter{'s' if left_out != 1 else ''} not shown · " + footer
        embeds[-1].set_footer(text=footer)
        await interaction.response.send_message(embeds=embeds, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Chapters(bot))
