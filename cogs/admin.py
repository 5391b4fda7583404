"""`/aar …`: about the bot and its set-up in a server, and the bot's own data hygiene there.

`/aar import file:` lets moderators import the story from a forum export uploaded in Discord, after a
private preview (`cogs.importing`).

`/aar forget-me` deletes what the bot stores about the member in the server, after they confirm.  The
`Privacy` cog follows the bot's membership of servers: a server it is removed from is purged when the
grace period is over (`bot.privacy`), by a periodic check that survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import __version__, privacy, welcome
from bot.chapters import alerts
from bot.chapters.alerts import RoleAccess
from bot.chapters.replies import publish_lag_text
from bot.chapters.when import suggest_zones
from bot.errors import UserError
from bot.guild_setup import SetupError, setup_changes
from bot.help import HelpEntry, help_text
from bot.storage.guilds import GuildSettings, get_guild_settings, update_guild_settings
from bot.storage.story import chapter_count
from cogs.importing import ImportButton, ImportFlow
from cogs.shared.checks import is_moderator_command, member_is_moderator, moderator_only
from cogs.shared.sender import channel_permissions
from cogs.shared.ui import send_refusal

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
FORGET_CONFIRM_SECONDS = 180.0


class Admin(commands.GroupCog, group_name="aar", group_description="About AAR Bot and its set-up"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.import_flow = ImportFlow(bot)
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ImportButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ImportButton)

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

    # --- /aar help --------------------------------------------------------------------------------------

    @app_commands.command(name="help", description="What the bot does and the commands you can use here")
    async def help_(self, interaction: discord.Interaction) -> None:
        moderator = await member_is_moderator(self.bot, interaction)
        embed = discord.Embed(title="AAR Bot help", colour=discord.Colour.blurple(),
                              description=help_text(self.help_entries(), moderator=moderator))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    def help_entries(self) -> list[HelpEntry]:
        """Every runnable slash command the bot registered, read from its command tree."""
        entries: list[HelpEntry] = []
        for top in self.bot.tree.get_commands(type=discord.AppCommandType.chat_input):
            commands_ = top.walk_commands() if isinstance(top, app_commands.Group) else [top]
            for command in commands_:
                if isinstance(command, app_commands.Command):
                    entries.append(HelpEntry(command.qualified_name, command.description,
                                             is_moderator_command(command)))
        return entries

    # --- /aar forget-me ---------------------------------------------------------------------------------

    @app_commands.command(name="forget-me",
                          description="Delete what the bot stores about you in this server (asks first)")
    @app_commands.guild_only()
    async def forget_me(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await privacy.check_forgettable(self.bot.db, interaction.user.id, interaction.guild_id)
        stored = await privacy.stored_about(self.bot.db, interaction.user.id, interaction.guild_id)
        if stored.empty:
            await interaction.response.send_message("AAR Bot stores nothing about you in this server.",
                                                    ephemeral=True)
            return
        view = ForgetMeView(self.bot, interaction)
        await interaction.response.send_message(privacy.confirm_prompt(stored), view=view, ephemeral=True)

    # --- /aar import -------------------------------------------------------------------------------------

    @app_commands.command(name="import",
                          description="Import or update the story from a forum export file (moderators)")
    @app_commands.describe(file="The forum thread export: a UTF-8 text file, up to 8 MiB")
    @app_commands.guild_only()
    @moderator_only()
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """A private preview first, with Confirm / Cancel: see `cogs.importing`."""
        await self.import_flow.start(interaction, file)

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
        alert_role="The role a release mentions; members opt in with /alerts on or 🔔 (the bot gives it)",
        forum_tag="A forum story channel: the tag each chapter's post gets (its name; off removes it)",
        author_webhook="Post the chapters through a webhook under the story author's name and avatar",
        author_name="The story author's name the chapters are posted under (with author_webhook)",
        author_avatar="A link to the author's avatar image (https://...; off removes it)",
    )
    @app_commands.guild_only()
    @moderator_only()
    async def setup_(self, interaction: discord.Interaction,
                     channel: discord.TextChannel | discord.ForumChannel | None = None,
                     moderator_role: discord.Role | None = None, timezone: str | None = None,
                     discussion_threads: bool | None = None, like_emoji: str | None = None,
                     hall_of_fame_channel: discord.TextChannel | None = None,
                     hall_of_fame_threshold: int | None = None,
                     alert_role: discord.Role | None = None, forum_tag: str | None = None,
                     author_webhook: bool | None = None, author_name: str | None = None,
                     author_avatar: str | None = None) -> None:
        assert interaction.guild_id is not None
        if alert_role is not None and (alert_role.is_default() or alert_role.managed):
            raise SetupError("The alert role must be an ordinary role members can be given, not @everyone "
                             "or a bot's or integration's own role.")
        changes = setup_changes(
            story_channel_id=channel.id if channel else None,
            moderator_role_id=moderator_role.id if moderator_role else None, timezone=timezone,
            discussion_threads=discussion_threads, like_emoji=like_emoji,
            hall_of_fame_channel_id=hall_of_fame_channel.id if hall_of_fame_channel else None,
            hall_of_fame_threshold=hall_of_fame_threshold,
            alert_role_id=alert_role.id if alert_role else None, forum_tag=forum_tag,
            author_webhook=author_webhook, author_name=author_name, author_avatar_url=author_avatar)
        current = await get_guild_settings(self.bot.db, interaction.guild_id)
        wanted: dict[str, Any] = {k: bool(v) if k in ("discussion_threads", "author_webhook") else v
                                  for k, v in changes.items()}
        self._check_story_channel(interaction, dataclasses.replace(current, **wanted), changes)
        if changes:
            settings = await update_guild_settings(self.bot.db, interaction.guild_id, **changes)
            # Features that depend on a setting (the hall of fame's threshold and channel, the like emoji)
            # re-evaluate now rather than at the next reaction.
            self.bot.dispatch("guild_settings_changed", settings)
        else:
            settings = current
        note = "\n".join(n for n in (self._permission_note(interaction, settings),
                                      self._alert_role_note(interaction, alert_role)) if n)
        backlog = await self.bot.announcer.backlog(interaction.guild_id)
        embed = settings_embed(settings, changed=bool(changes), backlog=backlog)
        await interaction.response.send_message(note or None, embed=embed, ephemeral=True)

    @setup_.autocomplete("timezone")
    async def _setup_zones(self, interaction: discord.Interaction,
                           current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in suggest_zones(current)]

    @staticmethod
    def _alert_role_note(interaction: discord.Interaction, role: discord.Role | None) -> str:
        """Setting the alert role: say now if the bot can't hand it out (Manage Roles, role order)."""
        guild = interaction.guild
        if role is None or guild is None or guild.me is None:
            return ""
        access = RoleAccess(manage_roles=interaction.app_permissions.manage_roles,
                            above=guild.me.top_role.position > role.position)
        return alerts.setup_note(access, role.id)

    @staticmethod
    def _check_story_channel(interaction: discord.Interaction, settings: GuildSettings,
                             changes: dict[str, object]) -> None:
        """Refuse, before anything is saved, a forum tag the story channel cannot have and an author webhook
        the bot cannot make."""
        guild = interaction.guild
        story = guild.get_channel(settings.story_channel_id) if guild and settings.story_channel_id else None
        where = f"<#{settings.story_channel_id}>" if settings.story_channel_id else "the story channel"
        if settings.forum_tag and ("forum_tag" in changes or "story_channel_id" in changes):
            if not isinstance(story, discord.ForumChannel):
                raise SetupError(f"A forum tag only applies when the story channel is a forum, and {where} "
                                 "is not one. Choose a forum with `channel:`, or remove the tag with "
                                 "`forum_tag: off`.")
            names = [t.name for t in story.available_tags]
            if settings.forum_tag not in names:
                has = ("its tags are " + ", ".join(f"`{n}`" for n in names)) if names else "it has no tags"
                raise SetupError(f"The forum {where} has no tag named `{settings.forum_tag}` ({has}). Add "
                                 "the tag in the forum's settings, or pick one of its tags.")
        if settings.author_webhook and {"author_webhook", "story_channel_id", "author_name"} & set(changes):
            if not settings.author_name:
                raise SetupError("Posting as the author needs the author's name: add `author_name:`.")
            if guild is not None and guild.me is not None and story is not None:
                perms = (interaction.app_permissions if interaction.channel_id == story.id
                         else story.permissions_for(guild.me))
                if not perms.manage_webhooks:
                    raise SetupError(f"To post as the author I need the **Manage Webhooks** permission in "
                                     f"{where}; nothing was changed. Grant it and try again.")

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


def settings_embed(settings: GuildSettings, *, changed: bool,
                   backlog: tuple[int, datetime | None] = (0, None)) -> discord.Embed:
    """The settings now in force (mentions render as names and ping no one), and an announcement
    channel's publishing backlog when messages wait."""
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
    embed.add_field(name="Release alerts", value=f"<@&{settings.alert_role_id}> (members opt in with "
                    "`/alerts on`)" if settings.alert_role_id else "off (releases ping no one)")
    embed.add_field(name="Forum tag", value=discord.utils.escape_markdown(settings.forum_tag)
                    if settings.forum_tag else "none")
    author = discord.utils.escape_markdown(settings.author_name or "no name set")
    embed.add_field(name="Posted as", value=f"{author} (through a webhook)" if settings.author_webhook
                    else "the bot")
    waiting, eta = backlog
    if waiting:
        embed.add_field(name="Publishing", value=publish_lag_text(waiting, eta).strip(), inline=False)
    return embed


class ForgetMeView(discord.ui.View):
    """Confirm / Cancel under the `/aar forget-me` prompt; only the member who asked can answer.

    The prompt is ephemeral, so no one else sees it, but a button is checked anyway: the member id comes
    from the command, not from whoever clicks.  The custom ids carry the command's interaction id, so
    two members' prompts never answer for each other.
    """

    def __init__(self, bot: AARBot, origin: discord.Interaction) -> None:
        super().__init__(timeout=FORGET_CONFIRM_SECONDS)
        assert origin.guild_id is not None
        self.bot, self.origin = bot, origin
        self.member_id, self.guild_id = origin.user.id, origin.guild_id
        self.confirm.custom_id = f"aar:forget-me:{origin.id}:confirm"
        self.cancel.custom_id = f"aar:forget-me:{origin.id}:cancel"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.member_id:
            await send_refusal(interaction, "Only the member who asked can answer this.")
            return False
        return True

    @discord.ui.button(label="Delete my data", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await self._settle_reactions()
        deleted = await privacy.forget(self.bot.db, self.member_id, guild_id=self.guild_id)
        _log.info("Forgot member %s in guild %s at their request", self.member_id, self.guild_id)
        # For features that show numbers computed from the deleted rows (the hall of fame's like count).
        self.bot.dispatch("member_data_forgotten", self.guild_id, self.member_id, deleted)
        await interaction.response.edit_message(content=privacy.forgotten_reply(deleted), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled: nothing was deleted.", view=None)

    async def on_timeout(self) -> None:
        with contextlib.suppress(discord.HTTPException):
            await self.origin.edit_original_response(
                content="No answer within three minutes: nothing was deleted.", view=None)

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Any]) -> None:
        """A button is not a command, so the tree's error handler never sees its errors: same rules here."""
        if isinstance(error, UserError):
            await send_refusal(interaction, error.message)
            return
        _log.error("Error in /aar forget-me (guild %s)", self.guild_id, exc_info=error)
        await send_refusal(interaction, "Sorry, something went wrong; nothing may have been deleted. "
                                        "It has been logged.")

    async def _settle_reactions(self) -> None:
        """Let reactions already received reach the database first, so none is written after the delete.

        The likes feature's ingest is found by name (cogs don't import each other); without it, there is
        nothing in flight.
        """
        ingest = getattr(self.bot.get_cog("Likes"), "ingest", None)
        if ingest is not None:
            await ingest.flush()


class Privacy(commands.Cog):
    """Servers the bot leaves: their data is kept for `privacy.GRACE_PERIOD`, then purged.

    The departure is stored when Discord says the bot was removed (`on_guild_remove`) and dropped when
    it is invited back (`on_guild_join`); at every READY the stored departures are compared with the
    servers Discord lists, for changes made while the bot was offline.  The check runs at start, then
    every `privacy.CHECK_INTERVAL`, or when woken (a test that moved the clock); it announces itself with a
    `departures_checked(now, purged)` event.
    """

    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self._wake = asyncio.Event()
        self._check_lock = asyncio.Lock()
        self.reconciled = asyncio.Event()  # set once the first READY's membership check is done

    async def cog_load(self) -> None:
        self.retention.start()

    async def cog_unload(self) -> None:
        self.retention.cancel()

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        if await privacy.guild_left(self.bot.db, guild.id, self.bot.clock()):
            _log.info("Removed from guild %s: its data is purged after %s unless re-invited",
                      guild.id, privacy.GRACE_PERIOD)
        self.bot.dispatch("guild_departure_recorded", guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if await privacy.guild_returned(self.bot.db, guild.id):
            _log.info("Back in guild %s within the grace period: its data is kept", guild.id)
        self.bot.dispatch("guild_departure_cancelled", guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Only this process's shards' servers: the others are absent because another process holds them.
        changed = await privacy.reconcile_membership(self.bot.db, [g.id for g in self.bot.guilds],
                                                     self.bot.clock(), self.bot.owns_guild)
        if changed.left or changed.returned:
            _log.info("While offline: removed from guilds %s, back in guilds %s",
                      changed.left, changed.returned)
        self.reconciled.set()
        self.bot.dispatch("guild_membership_reconciled", changed)

    def wake(self) -> None:
        """Look for servers to purge now (the clock was moved)."""
        self._wake.set()

    async def check_departures(self) -> list[privacy.Purged]:
        async with self._check_lock:
            now = self.bot.clock()
            purged: list[privacy.Purged] = []
            try:
                purged = await privacy.purge_due(self.bot.db, now)
                for gone in purged:
                    _log.info("Purged guild %s, left at %s: %d rows", gone.guild_id, gone.left_at,
                              sum(gone.rows.values()))
            finally:
                self.bot.dispatch("departures_checked", now, purged)
            return purged

    @tasks.loop(seconds=0)
    async def retention(self) -> None:
        self._wake.clear()
        try:
            await self.check_departures()
        except Exception:  # a failed purge is retried at the next check; the loop must go on
            _log.exception("Purging the servers the bot left failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=privacy.CHECK_INTERVAL.total_seconds())

    @retention.before_loop
    async def _before(self) -> None:
        await self.bot.wait_until_ready()


class Welcome(commands.Cog):
    """One short welcome where the bot can speak, when it joins a server (`bot.welcome`).

    `on_guild_join` is discord.py's event for a GUILD_CREATE of a server the bot was not in, so a restart
    or a server back from an outage says nothing.  Where the bot may post is read from its cached
    permissions, so a server where it can post nowhere gets no message and no failed request.
    """

    def __init__(self, bot: AARBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        me = guild.me
        if me is None:
            return
        places = []
        for channel in guild.text_channels:
            perms = channel.permissions_for(me)
            can_post = perms.view_channel and perms.send_messages
            places.append(welcome.Place(channel.id, channel.position, can_post))
        system = guild.system_channel
        channel_id = welcome.welcome_channel(places, system.id if system else None)
        if channel_id is None:
            _log.info("Joined guild %s: no channel to post the welcome in", guild.id)
            self.bot.dispatch("welcome_done", guild.id, None)
            return
        try:
            await self.bot.get_partial_messageable(channel_id, guild_id=guild.id).send(welcome.WELCOME)
        except discord.HTTPException as exc:
            _log.warning("Joined guild %s: the welcome in %s failed: %s", guild.id, channel_id, exc)
            channel_id = None
        self.bot.dispatch("welcome_done", guild.id, channel_id)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Admin(bot))
    await bot.add_cog(Privacy(bot))
    await bot.add_cog(Welcome(bot))
