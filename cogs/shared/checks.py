"""Who may use a moderator command: checked by the bot itself on every call.

Discord's command visibility (`default_permissions`) is only a hint a server can change, and it can only
hide whole top-level commands, so the bot decides.  A cog whose commands are all for moderators derives
from `ModeratorCog` (one check for the cog); a moderator command in a group everyone uses takes the
`moderator_only()` decorator.  The rule itself is `bot.guild_setup.is_moderator`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.guild_setup import is_moderator
from bot.storage.guilds import get_guild_settings

if TYPE_CHECKING:
    from bot.app import AARBot

NOT_A_MODERATOR = ("Only moderators can do this: you need the Manage Server permission, "
                   "or the moderator role set with `/aar setup`.")
SERVER_ONLY = "This command works in a server only."


async def member_is_moderator(bot: AARBot, interaction: discord.Interaction) -> bool:
    """Manage Server / Administrator in the guild, or the moderator role from `/aar setup`."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        return False
    # What Discord resolved for this member here (Manage Server is guild-wide).
    perms = interaction.permissions
    role_ids = [role.id for role in interaction.user.roles]
    if is_moderator(manage_guild=perms.manage_guild, administrator=perms.administrator, role_ids=role_ids,
                    moderator_role_id=None):
        return True  # no database read before the command answers: the check runs before its "thinking…"
    settings = await get_guild_settings(bot.db, interaction.guild_id)
    return is_moderator(manage_guild=False, administrator=False, role_ids=role_ids,
                        moderator_role_id=settings.moderator_role_id)


async def require_moderator(interaction: discord.Interaction) -> bool:
    """Pass a moderator; refuse anyone else with the reason (the tree's error handler shows it)."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage(SERVER_ONLY)
    if not await member_is_moderator(cast("AARBot", interaction.client), interaction):
        raise app_commands.CheckFailure(NOT_A_MODERATOR)
    return True


def moderator_only() -> Any:
    """A moderator command in a group whose other commands are for everyone."""
    return app_commands.check(require_moderator)


class ModeratorCog(commands.GroupCog):
    """A command group for moderators only: every command and subcommand is checked once, here."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await require_moderator(interaction)


def is_moderator_command(command: app_commands.Command[Any, ..., Any]) -> bool:
    """Whether the bot refuses `command` to non-moderators: read from the guards above, not listed anywhere.

    `/aar help` asks this, so what help offers a member and what the bot lets them run cannot drift.
    """
    return require_moderator in command.checks or isinstance(command.binding, ModeratorCog)
