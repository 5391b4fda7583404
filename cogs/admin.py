"""`/aar …`: about the bot and its set-up in a server."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.chapters.when import suggest_zones
from bot.guild_setup import setup_changes
from bot.storage.guilds import GuildSettings, get_guild_settings, update_guild_settings
from bot.storage.story import chapter_count
from cogs.shared.checks import moderator_only
from cogs.shared.sender import channel_permissions

if TYPE_CHECKING:
    from bot.app import AARBot


class Admin(commands.GroupCog, group_name="aar", group_description="About AAR Bot and its set-up"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="status",
                          description="Show the bot's version, the chapters imported and its latency")
    async def status(self, interaction: discord.Interaction) -> None:
        chapters = await chapter_count(self.bot.db)
        latency = self.bot.latency
        embed = discord.Embed(title="AAR Bot status", colour=discord.Colour.blurple())
        embed.add_field(name="Version", value=__version__)
        embed.add_field(name="Chapters imported", value=str(chapters))
        embed.add_field(name="Latency",
                        value="n/a" if not math.isfinite(latency) else f"{latency * 1000:.0f} ms")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    # --- /aar setup (added with the chapters feature) ---------------------------------------------------
    # `/aar` also holds `status` for everyone, and Discord sets default_member_permissions per top-level
    # command only, so `setup` is guarded by the bot's own moderator check.

    @app_commands.command(name="setup", description="Configure the bot in this server (moderators)")
    @app_commands.describe(
        channel="Where chapters are released (default: where /chapter next is used)",
        moderator_role="A role whose members may release, schedule and change set-up",
        timezone="IANA time zone for schedules, e.g. Europe/Paris",
        discussion_threads="Open a discussion thread on each release",
        like_emoji="The emoji that counts as a like (default 👍)",
        hall_of_fame_channel="Where well-liked chapters are celebrated",
        hall_of_fame_threshold="Likes a chapter needs for the hall of fame",
    )
    @app_commands.guild_only()
    @moderator_only()
    async def setup_(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None,
                     moderator_role: discord.Role | None = None, timezone: str | None = None,
                     discussion_threads: bool | None = None, like_emoji: str | None = None,
                     hall_of_fame_channel: discord.TextChannel | None = None,
                     hall_of_fame_threshold: int | None = None) -> None:
        assert interaction.guild_id is not None
        changes = setup_changes(
            story_channel_id=channel.id if channel else None,
            moderator_role_id=moderator_role.id if moderator_role else None, timezone=timezone,
            discussion_threads=discussion_threads, like_emoji=like_emoji,
            hall_of_fame_channel_id=hall_of_fame_channel.id if hall_of_fame_channel else None,
            hall_of_fame_threshold=hall_of_fame_threshold)
        if changes:
            settings = await update_guild_settings(self.bot.db, interaction.guild_id, **changes)
            # Features that depend on a setting (the hall of fame's threshold and channel, the like emoji)
            # re-evaluate now rather than at the next reaction.
            self.bot.dispatch("guild_settings_changed", settings)
        else:
            settings = await get_guild_settings(self.bot.db, interaction.guild_id)
        note = self._permission_note(interaction, settings)
        embed = settings_embed(settings, changed=bool(changes))
        await interaction.response.send_message(note or None, embed=embed, ephemeral=True)

    @setup_.autocomplete("timezone")
    async def _setup_zones(self, interaction: discord.Interaction,
                           current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in suggest_zones(current)]

    def _permission_note(self, interaction: discord.Interaction, settings: GuildSettings) -> str:
        """Warn now, not at the first release, when the bot cannot post in the story channel."""
        guild = interaction.guild
        channel = (guild.get_channel(settings.story_channel_id)
                   if guild and settings.story_channel_id else None)
        if guild is None or channel is None or guild.me is None:
            return ""
        missing = channel_permissions(channel.id, channel.permissions_for(guild.me)).missing(
            thread=settings.discussion_threads)
        if not missing:
            return ""
        return (f"Note: in <#{channel.id}> I'm missing " + ", ".join(f"**{m}**" for m in missing)
                + "; releases there will fail until I have it.")


def settings_embed(settings: GuildSettings, *, changed: bool) -> discord.Embed:
    """The settings now in force (mentions render as names and ping no one)."""
    embed = discord.Embed(title="AAR Bot set-up" + (" updated" if changed else ""),
                          colour=discord.Colour.blurple())
    embed.add_field(name="Story channel", value=f"<#{settings.story_channel_id}>" if settings.story_channel_id
                    else "where `/chapter next` is used")
    embed.add_field(name="Moderator role", value=f"<@&{settings.moderator_role_id}>"
                    if settings.moderator_role_id else "Manage Server only")
    embed.add_field(name="Time zone", value=settings.timezone)
    embed.add_field(name="Discussion threads", value="on" if settings.discussion_threads else "off")
    # Shown as the emoji it is: story text goes through bot.text.escape_markdown, which would break
    # `<:name:id>`.
    embed.add_field(name="Like emoji", value=discord.utils.escape_markdown(settings.like_emoji))
    embed.add_field(name="Hall of fame", value=(
        f"<#{settings.hall_of_fame_channel_id}>" if settings.hall_of_fame_channel_id else "no channel")
        + (f", from {settings.hall_of_fame_threshold} likes" if settings.hall_of_fame_threshold else ""))
    return embed


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Admin(bot))
