"""`/chapter next|read|list`: glue between Discord and the release engine / catch-up reading.

`/chapter` mixes a moderator command (`next`) with commands for everyone (`read`, `list`).  Discord sets
`default_member_permissions` per top-level command only (discord.py ignores it on subcommands), so it
cannot hide `next` alone; `next` is guarded by the bot's own moderator check, which is what counts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chapters import reading, replies
from bot.storage.guilds import get_guild_settings
from cogs.shared.checks import moderator_only
from cogs.shared.sender import channel_permissions
from cogs.shared.ui import Page, pager_view, released_chapter_choices, to_embeds

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
PAGER = "read"


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
        for outcome in await self.bot.publisher.resume():
            _log.info("Resumed the release of chapter %s in guild %s: %s", outcome.chapter, outcome.guild_id,
                      outcome.status)

    async def page(self, interaction: discord.Interaction, page: int, key: int) -> Page:
        """Page `page` of released chapter `key` (`PageSource` for the read pager's buttons)."""
        assert interaction.guild_id is not None
        pages = await reading.chapter_pages(self.bot.db, interaction.guild_id, key)
        page = max(0, min(page, len(pages.pages) - 1))
        payload = pages.pages[page]
        return Page(payload.get("content") or None, to_embeds(payload),
                    pager_view(PAGER, page, len(pages.pages), key))

    @app_commands.command(name="next",
                          description="Release the next chapter into the story channel (moderators)")
    @app_commands.guild_only()
    @moderator_only()
    async def next_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)  # a release takes more than 3 s
        settings = await get_guild_settings(self.bot.db, interaction.guild_id)
        channel_id = settings.story_channel_id or interaction.channel_id
        assert channel_id is not None
        known = channel_permissions(interaction.channel_id or 0, interaction.app_permissions)
        outcome = await self.bot.publisher.release_next(interaction.guild_id, channel_id,
                                                        threads=settings.discussion_threads, known=known)
        await interaction.followup.send(replies.release_summary(outcome, interaction.guild_id),
                                        ephemeral=True)

    @app_commands.command(name="read", description="Read a released chapter privately, page by page")
    @app_commands.describe(number="The chapter's number (only released chapters are offered)")
    @app_commands.guild_only()
    async def read(self, interaction: discord.Interaction, number: int) -> None:
        shown = await self.page(interaction, 0, number)
        await interaction.response.send_message(**shown.message_kwargs(), ephemeral=True)

    @read.autocomplete("number")
    async def read_number(self, interaction: discord.Interaction,
                          current: str) -> list[app_commands.Choice[int]]:
        return await released_chapter_choices(self.bot, interaction, current)

    @app_commands.command(name="list", description="The released chapters, with links, dates and likes")
    @app_commands.guild_only()
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        items = await reading.released_list(self.bot.db, interaction.guild_id)
        if not items:
            await interaction.response.send_message(replies.NOTHING_RELEASED, ephemeral=True)
            return
        descriptions, left_out = replies.list_descriptions(items)
        embeds = [discord.Embed(description=text, colour=discord.Colour.dark_gold()) for text in descriptions]
        embeds[0].title = replies.LIST_TITLE
        embeds[-1].set_footer(text=replies.list_footer(len(items), left_out))
        await interaction.response.send_message(embeds=embeds, ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Chapters(bot))
