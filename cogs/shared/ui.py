"""What the cogs show the same way: page buttons, refusals, embeds from the core's payload dicts.

Page buttons are one `DynamicItem`: its custom_id names the pager, the page it opens and a key (the
chapter of `/chapter read`), so a click works from any message, also after a restart, and recomputes
the page from what the member's server has released at that moment.  A cog that pages implements
`PageSource` and is found by its name, so no registry outlives the cog.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import discord
from discord import app_commands
from discord.ext import commands

from bot.chapters import reading
from bot.errors import UserError
from cogs.shared.inflight import TrackedClick

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)

GONE = "This list is no longer available; run the command again."
# pager name → the cog that serves its pages
PAGER_COGS = {"characters": "Characters", "read": "Chapters", "search": "Search"}


def to_embeds(payload: dict[str, Any]) -> list[discord.Embed]:
    """The embeds of a message payload the core rendered (dicts as Discord's API takes them)."""
    return [discord.Embed.from_dict(embed) for embed in payload.get("embeds") or []]


def to_embed(embed: dict[str, Any]) -> discord.Embed:
    return discord.Embed.from_dict(embed)


@dataclass
class Page:
    """One page as a message edit: content, embeds and the page buttons under them."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None

    def message_kwargs(self, *, edit: bool = False) -> dict[str, Any]:
        """Keyword arguments for `send_message` (a new message) or, with `edit`, `edit_message`."""
        kwargs: dict[str, Any] = {"content": self.content, "embeds": self.embeds}
        if self.view is not None or edit:  # an edit to a single page takes the buttons away
            kwargs["view"] = self.view
        return kwargs


@runtime_checkable
class PageSource(Protocol):
    async def page(self, interaction: discord.Interaction, page: int, key: int) -> Page:
        """Page `page` (0-based, clamped by the source) of what `key` names, for the clicking member."""
        ...


class PageButton(TrackedClick, discord.ui.DynamicItem[discord.ui.Button[Any]],
                 template=r"aar:(?P<pager>characters|read|search):(?P<direction>prev|next):(?P<page>[0-9]{1,5})"
                          r"(?::(?P<key>[0-9]{1,6}))?"):
    """◀ Previous / Next ▶ of any pager: opens page `page` of pager `pager` (for `key`)."""

    def __init__(self, pager: str, direction: str, page: int, key: int = 0, *,
                 disabled: bool = False) -> None:
        custom_id = f"aar:{pager}:{direction}:{page}" + (f":{key}" if key else "")
        super().__init__(discord.ui.Button(
            label="Previous" if direction == "prev" else "Next",
            emoji="◀️" if direction == "prev" else "▶️",
            style=discord.ButtonStyle.secondary if direction == "prev" else discord.ButtonStyle.primary,
            custom_id=custom_id, disabled=disabled,
        ))
        self.pager, self.page, self.key = pager, page, key

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> PageButton:
        return cls(match["pager"], match["direction"], int(match["page"]), int(match["key"] or 0))


    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        source = client.get_cog(PAGER_COGS[self.pager]) if isinstance(client, commands.Bot) else None
        if not isinstance(source, PageSource) or interaction.guild_id is None:
            await interaction.response.send_message(GONE, ephemeral=True)
            return
        try:
            shown = await source.page(interaction, self.page, self.key)
        except UserError as exc:  # e.g. the chapter is no longer in the story
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        await interaction.response.edit_message(**shown.message_kwargs(edit=True))


def pager_view(pager: str, page: int, pages: int, key: int = 0) -> discord.ui.View | None:
    """◀ Previous · Page n of m · Next ▶ for page `page` (0-based) of `pages`; None for a single page."""
    if pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(pager, "prev", max(page - 1, 0), key, disabled=page == 0))
    view.add_item(discord.ui.Button(label=f"Page {page + 1} of {pages}", disabled=True,
                                    custom_id=f"aar:{pager}:position"))
    view.add_item(PageButton(pager, "next", min(page + 1, pages - 1), key, disabled=page >= pages - 1))
    return view


async def send_refusal(interaction: discord.Interaction, message: str) -> None:
    """Tell the member, privately, why not: also after a "thinking…" answer, which may be public.

    After a deferral Discord turns the first follow-up into the deferred message, public if the deferral
    was; so the "thinking…" message is deleted first and the refusal follows on its own, ephemeral.
    """
    response = interaction.response
    if not response.is_done():
        await response.send_message(message, ephemeral=True)
        return
    if response.type == discord.InteractionResponseType.deferred_channel_message:
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            _log.debug("could not delete the deferred answer before a refusal", exc_info=True)
    await interaction.followup.send(message, ephemeral=True)


async def released_chapter_choices(bot: AARBot, interaction: discord.Interaction,
                                   current: str) -> list[app_commands.Choice[int]]:
    """The one autocomplete for every option that names a released chapter (`reading.released_choices`)."""
    if interaction.guild_id is None:
        return []
    choices = await reading.released_choices(bot.db, interaction.guild_id, current)
    return [app_commands.Choice(name=name, value=value) for name, value in choices]
