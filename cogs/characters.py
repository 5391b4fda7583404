"""`/character name:` and `/characters`: glue between Discord and the spoiler-safe cast look-up.

Everything shown comes from `bot.characters.lookup.CharacterService`, which only knows the chapters
the guild has released; `bot.characters.card` lays its answers out.  Two plain top-level commands, so a
`commands.Cog` rather than a GroupCog.  The roster's page buttons are the shared pager's
(`cogs.shared.ui`): each click recomputes the page from the guild's releases at that moment.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.characters.card import answer, roster_embed
from bot.characters.index import refresh_index_file
from bot.characters.lookup import CharacterService
from bot.characters.schema import CastError
from cogs.shared.ui import Page, pager_view, to_embed

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
PAGER = "characters"


class Characters(commands.Cog):
    """Who is who, as far as this server has read."""

    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.service = CharacterService(bot.db)

    async def cog_load(self) -> None:
        try:
            summary = await refresh_index_file(self.bot.settings.db_path, shared=self.bot.db)
        except CastError:
            _log.exception("The cast file is invalid; character look-ups use the index as last built")
        else:
            if summary is not None:
                _log.info("Rebuilt the mention index: %d characters, %d mentions in %d chapters",
                          summary.characters, summary.mentions, summary.chapters)

    async def page(self, interaction: discord.Interaction, page: int, key: int = 0) -> Page:
        """Page `page` of the clicking guild's roster (`PageSource` for the roster's page buttons)."""
        assert interaction.guild_id is not None
        roster = await self.service.roster(interaction.guild_id)
        payload, page, pages = roster_embed(roster, page)
        return Page(embeds=[to_embed(payload)], view=pager_view(PAGER, page, pages))

    @app_commands.command(name="character",
                          description="Who is who in the AAR, as far as this server has read")
    @app_commands.describe(name="A name, surname, alias or spelling from the story")
    @app_commands.guild_only()
    async def character(self, interaction: discord.Interaction, name: str) -> None:
        assert interaction.guild_id is not None  # guild_only
        embed = answer(await self.service.look_up(interaction.guild_id, name))
        await interaction.response.send_message(embed=to_embed(embed))

    @character.autocomplete("name")
    async def character_name_autocomplete(self, interaction: discord.Interaction,
                                          current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        suggestions = await self.service.suggest(interaction.guild_id, current)
        return [app_commands.Choice(name=s.label, value=s.value) for s in suggestions]

    @app_commands.command(name="characters",
                          description="Everyone the chapters released here have named, by side")
    @app_commands.guild_only()
    async def characters(self, interaction: discord.Interaction) -> None:
        shown = await self.page(interaction, 0)
        await interaction.response.send_message(**shown.message_kwargs(), ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Characters(bot))
