"""`/character name:` and `/characters`: glue between Discord and the spoiler-safe cast look-up.

Everything shown comes from `bot.characters.lookup.CharacterService`, which only knows the chapters
the guild has released; this module turns its answers into messages. Two plain top-level commands
(the issue names them `/character` and `/characters`), so a `commands.Cog` rather than a GroupCog.
The roster's page buttons are `DynamicItem`s: their custom_id says which page they open, so they keep
working after a restart, and each click recomputes the page from the guild's releases at that moment.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.characters.card import bad_query_message, character_embed, not_found_message, roster_embed
from bot.characters.index import refresh_index_file
from bot.characters.lookup import CharacterService
from bot.characters.schema import CastError
from cogs._release import NO_PINGS

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
PAGE_ID = "aar:characters:{direction}:{page}"


def escape(text: str) -> str:
    """Story or reader text shown as written: markdown escaped, and mentions that could never ping."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


class RosterPageButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                       template=r"aar:characters:(?P<direction>prev|next):(?P<page>[0-9]{1,5})"):
    """◀ / ▶ on a `/characters` page: opens page `page` of the clicking guild's roster."""

    def __init__(self, direction: str, page: int, *, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label="Previous" if direction == "prev" else "Next",
            emoji="◀️" if direction == "prev" else "▶️",
            style=discord.ButtonStyle.secondary if direction == "prev" else discord.ButtonStyle.primary,
            custom_id=PAGE_ID.format(direction=direction, page=page), disabled=disabled,
        ))
        self.page = page

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button[Any],
                             match: Any) -> RosterPageButton:
        return cls(match["direction"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        cog = interaction.client.get_cog(Characters.__cog_name__)  # type: ignore[attr-defined]
        if not isinstance(cog, Characters) or interaction.guild_id is None:
            await interaction.response.send_message("This list is no longer available; run `/characters` again.",
                                                    ephemeral=True)
            return
        embed, view = await cog.roster_page(interaction.guild_id, self.page)
        await interaction.response.edit_message(embed=embed, view=view, allowed_mentions=NO_PINGS)


def page_view(page: int, pages: int) -> discord.ui.View | None:
    if pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(RosterPageButton("prev", max(page - 1, 0), disabled=page == 0))
    view.add_item(discord.ui.Button(label=f"Page {page + 1} of {pages}", disabled=True,
                                    custom_id="aar:characters:position"))
    view.add_item(RosterPageButton("next", min(page + 1, pages - 1), disabled=page >= pages - 1))
    return view


class Characters(commands.Cog):
    """Who is who, as far as this server has read."""

    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.service = CharacterService(bot.db)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RosterPageButton)
        try:
            summary = await refresh_index_file(self.bot.settings.db_path, shared=self.bot.db)
        except CastError:
            _log.exception("The cast file is invalid; character look-ups use the index as last built")
        else:
            if summary is not None:
                _log.info("Rebuilt the mention index: %d characters, %d mentions in %d chapters",
                          summary.characters, summary.mentions, summary.chapters)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RosterPageButton)

    async def roster_page(self, guild_id: int, page: int) -> tuple[discord.Embed, discord.ui.View | None]:
        roster = await self.service.roster(guild_id)
        payload, page, pages = roster_embed(roster, page, escape)
        return discord.Embed.from_dict(payload), page_view(page, pages)

    @app_commands.command(name="character", description="Who is who in the AAR, as far as this server has read")
    @app_commands.describe(name="A name, surname, alias or spelling from the story")
    @app_commands.guild_only()
    async def character(self, interaction: discord.Interaction, name: str) -> None:
        assert interaction.guild_id is not None  # guild_only
        result = await self.service.look_up(interaction.guild_id, name)
        if result.kind == "found":
            embed = discord.Embed.from_dict(character_embed(result.card, escape))
            await interaction.response.send_message(embed=embed, allowed_mentions=NO_PINGS)
        elif result.kind == "not_found":
            await interaction.response.send_message(not_found_message(result, escape), ephemeral=True,
                                                    allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(bad_query_message(result), ephemeral=True,
                                                    allowed_mentions=NO_PINGS)

    @character.autocomplete("name")
    async def character_name_autocomplete(self, interaction: discord.Interaction,
                                          current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        suggestions = await self.service.suggest(interaction.guild_id, current)
        return [app_commands.Choice(name=s.label, value=s.value) for s in suggestions]

    @app_commands.command(name="characters", description="Everyone the chapters released here have named, by side")
    @app_commands.guild_only()
    async def characters(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # guild_only
        embed, view = await self.roster_page(interaction.guild_id, 0)
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS, **kwargs)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Characters(bot))
