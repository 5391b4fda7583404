"""`/aar …`: about the bot and its set-up in a server."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.storage.story import chapter_count

if TYPE_CHECKING:
    from bot.app import AARBot


class Admin(commands.GroupCog, group_name="aar", group_description="About AAR Bot and its set-up"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="status", description="Show the bot's version, the chapters imported and its latency")
    async def status(self, interaction: discord.Interaction) -> None:
        chapters = await chapter_count(self.bot.db)
        latency = self.bot.latency
        embed = discord.Embed(title="AAR Bot status", colour=discord.Colour.blurple())
        embed.add_field(name="Version", value=__version__)
        embed.add_field(name="Chapters imported", value=str(chapters))
        embed.add_field(name="Latency", value="n/a" if not math.isfinite(latency) else f"{latency * 1000:.0f} ms")
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Admin(bot))
