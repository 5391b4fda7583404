"""`/search query:`: glue between Discord and the spoiler-safe story search (`bot.search.service`).

Results are private (ephemeral) and paged with the shared pager (`cogs.shared.ui`), whose buttons carry
the stored query's key: each click recomputes its page from the query and the server's releases, also
after a restart.  At start the index is checked and rebuilt if it is not one row per block.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.search.query import MAX_QUERY
from bot.search.service import SearchPage, SearchService
from cogs.shared.ui import Page, pager_view, to_embed

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
PAGER = "search"


def _shown(found: SearchPage) -> Page:
    return Page(embeds=[to_embed(found.embed)], view=pager_view(PAGER, found.page, found.pages, found.key))


class Search(commands.Cog):
    """Find passages in the chapters released here."""

    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.service = SearchService(bot.db)

    async def cog_load(self) -> None:
        rebuilt = await self.service.ensure_index()
        if rebuilt is not None:
            _log.info("Rebuilt the search index: %d blocks", rebuilt)

    async def page(self, interaction: discord.Interaction, page: int, key: int = 0) -> Page:
        """Page `page` of the search stored under `key` (`PageSource` for the results' page buttons)."""
        assert interaction.guild_id is not None
        return _shown(await self.service.page(interaction.guild_id, key, page))

    @app_commands.command(name="search", description="Find passages in the chapters released here")
    @app_commands.describe(query='Words to look for; a phrase in "quotes"; the last word may be cut short')
    @app_commands.guild_only()
    async def search(self, interaction: discord.Interaction,
                     query: app_commands.Range[str, 1, MAX_QUERY]) -> None:
        assert interaction.guild_id is not None  # guild_only
        found = await self.service.search(interaction.guild_id, query)
        await interaction.response.send_message(**_shown(found).message_kwargs(), ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Search(bot))
