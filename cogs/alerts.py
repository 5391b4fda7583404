"""`/alerts on|off` and the 🔔 button under each release: members add and remove the alert role themselves.

The button is a `DynamicItem` (custom_id `bot.chapters.plan.ALERT_ID`), so it works on every release's
first message, also after a restart.  The role goes through Discord's Add/Remove Guild Member Role; a 403
means the bot lacks Manage Roles or its role is not above the alert role, and the member is told which
(from the interaction's `app_permissions`, fresher than any cache) to pass on.  Answers are private and
mention the role only as text: the bot-wide `AllowedMentions.none()` keeps them from pinging.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chapters import alerts
from bot.chapters.plan import ALERT_ID
from bot.storage.guilds import get_guild_settings
from cogs.shared.inflight import track

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
REASON = "Release alerts: the member asked for this"


async def set_alerts(interaction: discord.Interaction, db: Any, *, on: bool | None) -> str:
    """Give (`on`), take (`not on`) or toggle (`None`) the alert role for the member; the answer to show."""
    assert interaction.guild_id is not None
    role_id = (await get_guild_settings(db, interaction.guild_id)).alert_role_id
    if role_id is None:
        raise alerts.AlertsOff()
    member = interaction.user
    has = isinstance(member, discord.Member) and any(role.id == role_id for role in member.roles)
    want = (not has) if on is None else on
    if want == has:
        return alerts.already_text(has)
    http = interaction.client.http
    try:
        if want:
            await http.add_role(interaction.guild_id, member.id, role_id, reason=REASON)
        else:
            await http.remove_role(interaction.guild_id, member.id, role_id, reason=REASON)
    except discord.Forbidden:
        missing = alerts.HIERARCHY if interaction.app_permissions.manage_roles else alerts.MANAGE_ROLES
        _log.info("alert role %s in guild %s: Discord refused (%s)", role_id, interaction.guild_id, missing)
        return alerts.member_problem(missing, role_id)
    return alerts.joined_text(role_id) if want else alerts.left_text(role_id)


class AlertButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(ALERT_ID)):
    """🔔 under a release's first message: toggles the alert role for whoever presses it."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Release alerts", emoji="🔔", custom_id=ALERT_ID))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> AlertButton:
        return cls()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        track(interaction)  # a shutdown waits for this click's answer
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        if interaction.guild_id is None or not isinstance(client, commands.Bot):
            return
        try:
            text = await set_alerts(interaction, client.db, on=None)  # type: ignore[attr-defined]
        except alerts.AlertsOff as exc:
            text = str(exc)
        await interaction.response.send_message(text, ephemeral=True)


class Alerts(commands.GroupCog, group_name="alerts", group_description="Release alerts: opt in or out"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AlertButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AlertButton)

    @app_commands.command(name="on", description="Get the alert role: each new chapter mentions it")
    @app_commands.guild_only()
    async def on(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(await set_alerts(interaction, self.bot.db, on=True),
                                                ephemeral=True)

    @app_commands.command(name="off", description="Drop the alert role: releases no longer ping you")
    @app_commands.guild_only()
    async def off(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(await set_alerts(interaction, self.bot.db, on=False),
                                                ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Alerts(bot))
