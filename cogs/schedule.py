"""`/schedule add|list|cancel|pause|resume` and the loop that releases due chapters.

The loop is RoboDanny's timer dispatch on `discord.ext.tasks`: it fires what is due by `bot.clock()`,
then sleeps until the next due row (at most `MAX_SLEEP_SECONDS`, so a changed clock is noticed) or until
woken — by a new or resumed schedule, or by a test that moved the fake clock.  Its first run after a
start fires what was missed while the bot was down, once per schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.chapters import schedules as service
from bot.chapters.replies import paused_text, resumed_text, schedule_line, schedules_text
from bot.chapters.when import suggest_zones
from cogs.shared.checks import ModeratorCog

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
MAX_SLEEP_SECONDS = 30.0


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class Schedule(ModeratorCog, group_name="schedule",
               group_description="Schedule chapter releases (moderators)"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self._wake = asyncio.Event()
        self._check_lock = asyncio.Lock()
        super().__init__()

    async def cog_load(self) -> None:
        self.dispatcher.start()

    async def cog_unload(self) -> None:
        self.dispatcher.cancel()

    # --- the loop ------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the schedules now (a row changed, or the clock was moved)."""
        self._wake.set()

    @commands.Cog.listener()
    async def on_story_imported(self, _summary: object) -> None:
        """An import (`/aar import`) may have added chapters: look at the schedules now.  Each run reads the
        chapter count afresh, so the next due slot releases a new chapter even if the last one found none."""
        self.wake()

    async def check_due(self) -> None:
        """Fire every schedule due by the bot's clock; one check at a time.

        Each check ends with a `schedules_checked(now, fired)` event: `now` is the clock the check used,
        `fired` what it released, for anyone who wants to know (the tests wait for it instead of sleeping).
        """
        async with self._check_lock:
            now = self.bot.clock()
            fired: list[service.Fired] = []
            try:
                fired = await service.run_due(self.bot.db, self.bot.publisher, now, self.bot.release_queue,
                                              self.bot.owns_guild)
            finally:
                self.bot.dispatch("schedules_checked", now, fired)

    @tasks.loop(seconds=0)
    async def dispatcher(self) -> None:
        self._wake.clear()
        try:
            await self.check_due()
        except Exception:  # one bad row must not stop every guild's schedule
            _log.exception("Checking the release schedules failed")
        due = await service.next_due_at(self.bot.db, self.bot.owns_guild)
        delay = MAX_SLEEP_SECONDS
        if due is not None:
            delay = min(delay, max((due - self.bot.clock()).total_seconds(), 0.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    @dispatcher.before_loop
    async def _before(self) -> None:
        await self.bot.wait_until_ready()

    # --- commands ------------------------------------------------------------------------------------

    @app_commands.command(name="add", description="Schedule releases: a date and time, or a cadence")
    @app_commands.describe(when="e.g. 2026-05-01 18:00 · every monday 18:00 · daily 20:00 · "
                                "every 3 days 12:00",
                           timezone="IANA time zone, e.g. Europe/Paris (default: the server's, else UTC)")
    async def add(self, interaction: discord.Interaction, when: str, timezone: str | None = None) -> None:
        assert interaction.guild_id is not None
        info = await service.add_schedule(self.bot.db, guild_id=interaction.guild_id, when_text=when,
                                          zone=timezone, created_by=interaction.user.id,
                                          channel_id=interaction.channel_id, now=self.bot.clock())
        self.wake()
        await interaction.response.send_message(
            f"Scheduled {schedule_line(info)}. "
            "Each run releases the next chapter with `/chapter next`'s rules.",
            ephemeral=True)

    @add.autocomplete("timezone")
    async def _zones(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in suggest_zones(current)]

    @app_commands.command(name="list", description="The server's release schedules")
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        infos = await service.list_schedules(self.bot.db, interaction.guild_id)
        if not infos:
            await interaction.response.send_message(
                "No release is scheduled. Add one with `/schedule add when:` (e.g. `every monday 18:00`).",
                ephemeral=True)
            return
        embed = discord.Embed(title="Release schedules",
                              description=schedules_text(infos),
                              colour=discord.Colour.dark_gold())
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="cancel", description="Cancel a release schedule")
    @app_commands.describe(id="The schedule's number, as /schedule list shows it")
    async def cancel(self, interaction: discord.Interaction, id: int) -> None:
        assert interaction.guild_id is not None
        info = await service.cancel_schedule(self.bot.db, interaction.guild_id, id, self.bot.clock())
        await interaction.response.send_message(f"Cancelled schedule #{info.id} ({info.when.describe()}).",
                                                ephemeral=True)

    @app_commands.command(name="pause", description="Pause release schedules (all, or one by id)")
    @app_commands.describe(id="Only this schedule (default: all of them)")
    async def pause(self, interaction: discord.Interaction, id: int | None = None) -> None:
        assert interaction.guild_id is not None
        paused = await service.pause(self.bot.db, interaction.guild_id, id)
        await interaction.response.send_message(paused_text(paused), ephemeral=True)

    @app_commands.command(name="resume", description="Resume paused release schedules (all, or one by id)")
    @app_commands.describe(id="Only this schedule (default: all paused ones)")
    async def resume(self, interaction: discord.Interaction, id: int | None = None) -> None:
        assert interaction.guild_id is not None
        resumed, expired = await service.resume(self.bot.db, interaction.guild_id, self.bot.clock(), id)
        self.wake()
        await interaction.response.send_message(resumed_text(resumed, expired), ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Schedule(bot))
