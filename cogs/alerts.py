"""`/alerts on|off|dm` and the 🔔 button under each release: members add and remove the alert role
themselves, or ask for a direct message per release.

The button is a `DynamicItem` (custom_id `bot.chapters.plan.ALERT_ID`), so it works on every release's
first message, also after a restart.  The role goes through Discord's Add/Remove Guild Member Role; a 403
means the bot lacks Manage Roles or its role is not above the alert role, and the member is told which
(from the interaction's `app_permissions`, fresher than any cache) to pass on.  Answers are private and
mention the role only as text: the bot-wide `AllowedMentions.none()` keeps them from pinging.

DMs go out after a release is recorded (the release engine's `on_released`), in a task of their own and
paced (`bot.chapters.alerts.deliver_dms`), so they never slow a release down.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chapters import alerts
from bot.chapters.plan import ALERT_ID
from bot.chapters.publishing import ReleaseOutcome
from bot.errors import UserError
from bot.storage import alerts as store
from bot.storage.guilds import get_guild_settings
from bot.storage.releases import jump_url, released_chapters, released_through
from bot.storage.story import chapter_count, load_chapter
from bot.timestamps import format_timestamp
from cogs.shared.inflight import TrackedClick

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
REASON = "Release alerts: the member asked for this"
CANNOT_DM = 50007  # Discord: "Cannot send messages to this user"


class DiscordDms:
    """`bot.chapters.alerts.DmSender` on discord.py: open the DM channel, post, no mentions."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    async def dm(self, user_id: int, content: str) -> None:
        try:
            channel = await self.bot.http.start_private_message(user_id)
            # The raw route skips the bot-wide AllowedMentions, so it is passed here deliberately.
            with discord.http.handle_message_parameters(content=content,
                                                        allowed_mentions=self.bot.allowed_mentions) as params:
                await self.bot.http.send_message(int(channel["id"]), params=params)
        except discord.Forbidden as exc:
            if exc.code == CANNOT_DM:
                raise alerts.DmClosed(str(exc)) from exc
            raise


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


class AlertButton(TrackedClick, discord.ui.DynamicItem[discord.ui.Button[Any]], template=re.escape(ALERT_ID)):
    """🔔 under a release's first message: toggles the alert role for whoever presses it."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Release alerts", emoji="🔔", custom_id=ALERT_ID))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> AlertButton:
        return cls()


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
        self.dm_pace = alerts.DM_PACE_SECONDS
        self.dm_tasks: set[asyncio.Task[None]] = set()
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AlertButton)
        self.bot.publisher.on_released.append(self._released)
        self._track(asyncio.create_task(self._resume_dms(), name="release-dms-resume"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self.dm_tasks.add(task)
        task.add_done_callback(self.dm_tasks.discard)

    async def _resume_dms(self) -> None:
        """At start: DMs of the latest release that a previous process did not get to send (each member's
        `last_chapter` says who is still owed one; nobody gets a DM twice)."""
        await self.bot.wait_until_ready()
        for guild_id in await store.guilds_with_dms(self.bot.db):
            released = await released_chapters(self.bot.db, guild_id)
            if not released:
                continue
            latest = released[-1]
            chapter = await load_chapter(self.bot.db, latest.number)
            total = await chapter_count(self.bot.db)
            await self._send_dms(ReleaseOutcome(
                "released", guild_id, latest.number, chapter.title if chapter else "", total,
                latest.channel_id, latest.first_message_id, latest.thread_id))

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AlertButton)
        if self._released in self.bot.publisher.on_released:
            self.bot.publisher.on_released.remove(self._released)
        for task in self.dm_tasks:
            task.cancel()
        await asyncio.gather(*self.dm_tasks, return_exceptions=True)

    def _released(self, outcome: ReleaseOutcome) -> None:
        """The release engine finished a release: its DMs go out in their own task, after it."""
        self._track(asyncio.create_task(self._send_dms(outcome), name=f"release-dms-{outcome.guild_id}"))

    async def _send_dms(self, outcome: ReleaseOutcome) -> None:
        if outcome.chapter is None or outcome.channel_id is None:
            return
        guild = self.bot.get_guild(outcome.guild_id)
        content = alerts.release_dm(
            server=guild.name if guild else "your server", number=outcome.chapter, total=outcome.total,
            title=outcome.title or "", url=jump_url(outcome.guild_id, outcome.channel_id,
                                                    outcome.first_message_id))
        try:
            report = await alerts.deliver_dms(self.bot.db, DiscordDms(self.bot), guild_id=outcome.guild_id,
                                              chapter=outcome.chapter, content=content, pace=self.dm_pace)
        except Exception:
            _log.exception("release DMs of chapter %s in guild %s stopped", outcome.chapter, outcome.guild_id)
            return
        if report.switched_back:
            _log.info("DM alerts turned off in guild %s for %d member(s) with closed DMs", outcome.guild_id,
                      len(report.switched_back))
        self.bot.dispatch("release_dms_sent", outcome.guild_id, outcome.chapter, report)

    @app_commands.command(name="on", description="Get the alert role: each new chapter mentions it")
    @app_commands.guild_only()
    async def on(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(await set_alerts(interaction, self.bot.db, on=True),
                                                ephemeral=True)

    @app_commands.command(name="off", description="Stop release alerts: drop the alert role, and DMs")
    @app_commands.guild_only()
    async def off(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        dms_off = await store.unsubscribe_dm(self.bot.db, interaction.guild_id, interaction.user.id)
        try:
            text = await set_alerts(interaction, self.bot.db, on=False)
        except alerts.AlertsOff:
            if not dms_off:
                raise
            text = ""
        if dms_off:
            text = "📭 No more direct messages per release." + (
                "" if not text or text == alerts.already_text(False) else " " + text)
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="dm", description="A direct message for each new chapter, instead of a ping")
    @app_commands.guild_only()
    async def dm(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None and interaction.guild is not None
        guild_id, user_id = interaction.guild_id, interaction.user.id
        if await store.wants_dm(self.bot.db, guild_id, user_id):
            raise UserError(alerts.dm_already_text())
        await interaction.response.defer(ephemeral=True, thinking=True)  # two calls to Discord first
        try:  # a first DM now: closed DMs are found and told at once, not at the next release
            await DiscordDms(self.bot).dm(user_id, alerts.dm_welcome(interaction.guild.name))
        except alerts.DmClosed:
            await interaction.followup.send(alerts.dm_closed_text(), ephemeral=True)
            return
        await store.subscribe_dm(self.bot.db, guild_id, user_id,
                                 after_chapter=await released_through(self.bot.db, guild_id),
                                 since=format_timestamp(self.bot.clock()))
        await interaction.followup.send(alerts.dm_on_text(), ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Alerts(bot))
