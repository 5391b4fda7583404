"""`/likes …` and the reaction listeners: glue between Discord and `bot.likes`.

Raw reaction events (so reactions on messages no longer in the cache count) go into the batched ingest;
nothing here touches SQL.  At every READY the release messages of recent chapters are re-read so
reactions given while the bot was offline count: in rounds within a request budget, servers round-robin
from where the last round stopped (`bot.likes.reconcile`).  The hall of fame follows the ingest's change
notices.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.charts import likes_chart
from bot.likes import hall_of_fame, reconcile, render, tally
from bot.likes.coalesce import Coalescer
from bot.likes.emoji import emoji_key
from bot.likes.ingest import ChapterRef, IngestClosed, ReactionIngest, SnapshotData
from bot.likes.progress import Progress
from bot.privacy import Purged
from bot.storage.guilds import GuildSettings
from bot.storage.releases import ReleasePart, released_through
from bot.timestamps import format_timestamp
from cogs.shared.ui import released_chapter_choices, to_embed

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
USERS_PER_PAGE = 100  # discord.py reads a reaction's users 100 per request (Discord's maximum)
LIKES_CHART = "likes-per-chapter.png"


def key_of(emoji: discord.PartialEmoji | discord.Emoji | str) -> str:
    if isinstance(emoji, str):
        return emoji_key(emoji, None)
    return emoji_key(emoji.name, emoji.id)


class Likes(commands.GroupCog, group_name="likes",
            group_description="Likes and reactions on released chapters"):
    def __init__(self, bot: AARBot, *, limits: reconcile.ReconcileLimits | None = None) -> None:
        self.bot = bot
        self.limits = limits or reconcile.ReconcileLimits()
        self.ingest: ReactionIngest | None = None
        self.hall: Coalescer[ChapterRef] = Coalescer(self._hall_of_fame_step, name="likes-hall-of-fame")
        self.received = Progress()        # raw reaction events seen, ignored ones included
        self.reconciliations = Progress()  # completed reconciliation rounds
        self._reconcile_task: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        self.ingest = await ReactionIngest.open(self.bot.db, on_change=self.hall.mark)

    async def cog_unload(self) -> None:
        """Runs before the bot closes its database: write every pending reaction, finish hall-of-fame
        edits."""
        if self._reconcile_task is not None and not self._reconcile_task.done():
            self._reconcile_task.cancel()
            await asyncio.gather(self._reconcile_task, return_exceptions=True)
        if self.ingest is not None:
            await self.ingest.close()
        await self.hall.close()

    async def settle(self, received: int) -> None:
        """Wait until `received` raw reaction events were seen and everything they caused is done."""
        await self.received.wait_for(received)
        assert self.ingest is not None
        await self.ingest.flush()
        await self.hall.drain()

    # --- raw reaction events ---------------------------------------------------------------------------

    def _ignored(self, guild_id: int | None, user_id: int | None, member: discord.Member | None) -> bool:
        own = self.bot.user.id if self.bot.user else None
        return guild_id is None or user_id == own or (member is not None and member.bot)

    def _submit(self, action: str, *args: object) -> None:
        try:
            getattr(self.ingest, action)(*args)
        except IngestClosed:
            _log.debug("reaction event after shutdown began: %s %s", action, args)
        else:
            self.bot.metrics.reactions_ingested()

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        try:
            if not self._ignored(payload.guild_id, payload.user_id, payload.member):
                key = key_of(payload.emoji)
                if payload.emoji.id is not None and payload.emoji.name and self.ingest is not None:
                    self.ingest.note_emoji_name(key, payload.emoji.name, payload.emoji.animated)
                self._submit("add", payload.message_id, payload.user_id, key)
        finally:
            self.received.advance()

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        try:
            if not self._ignored(payload.guild_id, payload.user_id, None):
                self._submit("remove", payload.message_id, payload.user_id, key_of(payload.emoji))
        finally:
            self.received.advance()

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        try:
            if payload.guild_id is not None:
                self._submit("clear", payload.message_id)
        finally:
            self.received.advance()

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        try:
            if payload.guild_id is not None:
                self._submit("clear_emoji", payload.message_id, key_of(payload.emoji))
        finally:
            self.received.advance()

    # --- reconciliation at start ---------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Every READY (not RESUMED: a resumed session replays what it missed) may follow a time offline.
        if self._reconcile_task is None or self._reconcile_task.done():
            self._reconcile_task = asyncio.create_task(self._reconcile_all(), name="likes-reconcile")

    async def _reconcile_all(self) -> None:
        """Rounds until every server the bot is in now had its turn (each round within the budget)."""
        waiting = {guild.id for guild in self.bot.guilds}
        while True:
            try:
                done = await reconcile.run_round(self.bot.db, [g.id for g in self.bot.guilds],
                                                 self.bot.clock(), self.limits, self._reconcile_part)
                waiting.difference_update(done.covered)
                _log.info("likes: reconciled %d release messages of %d servers (%d requests), %d to go",
                          done.messages, len(done.covered), done.requests, len(waiting))
            except Exception:
                _log.exception("likes: reconciliation round failed")
                return
            finally:
                self.reconciliations.advance()
            if not waiting or not done.covered or self.limits.interval is None:
                return
            await asyncio.sleep(self.limits.interval.total_seconds())

    async def _reconcile_part(self, part: ReleasePart) -> int:
        """Re-read one release message's reactions; the requests that took (1 when it could not be read)."""
        ingest = self.ingest
        assert ingest is not None
        channel = self.bot.get_partial_messageable(part.channel_id, guild_id=part.guild_id)
        max_users = self.limits.max_users
        requests = 1  # the message itself

        async def fetch() -> SnapshotData:
            nonlocal requests
            message = await channel.fetch_message(part.message_id)
            pairs: set[tuple[int, str]] = set()
            partial: set[str] = set()
            for reaction in message.reactions:
                key = key_of(reaction.emoji)
                if isinstance(reaction.emoji, discord.PartialEmoji | discord.Emoji) and reaction.emoji.id:
                    ingest.note_emoji_name(key, reaction.emoji.name or "emoji", reaction.emoji.animated)
                kinds = [discord.ReactionType.normal]
                if reaction.burst_count:
                    kinds.append(discord.ReactionType.burst)
                seen: set[int] = set()
                for kind in kinds:
                    users = 0
                    async for user in reaction.users(limit=max_users, type=kind):
                        users += 1
                        seen.add(user.id)
                        if not user.bot:
                            pairs.add((user.id, key))
                    requests += min(users // USERS_PER_PAGE + 1, math.ceil(max_users / USERS_PER_PAGE))
                if len(seen) < reaction.count:
                    partial.add(key)
            return SnapshotData(frozenset(pairs), frozenset(partial))

        try:
            await ingest.reconcile_message(part.message_id, fetch)
        except discord.NotFound:
            _log.info("likes: release message %s (chapter %s) is gone", part.message_id, part.chapter_number)
        except discord.HTTPException as exc:
            _log.warning("likes: could not re-read message %s: %s", part.message_id, exc)
        return requests

    @commands.Cog.listener()
    async def on_departures_checked(self, now: object, purged: list[Purged]) -> None:
        """A purged server's release messages are gone from the database: forget them here too."""
        if self.ingest is not None:
            for gone in purged:
                self.ingest.forget_guild(gone.guild_id)

    # --- hall of fame --------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_settings_changed(self, settings: GuildSettings) -> None:
        """A new threshold, channel or like emoji can qualify a chapter (or change its count) at once."""
        through = await released_through(self.bot.db, settings.guild_id)
        self.hall.mark((settings.guild_id, number) for number in range(1, through + 1))

    @commands.Cog.listener()
    async def on_member_data_forgotten(self, guild_id: int, user_id: int, deleted: object) -> None:
        """A member's reactions were deleted (`/aar forget-me`): the hall of fame counts without them."""
        through = await released_through(self.bot.db, guild_id)
        self.hall.mark((guild_id, number) for number in range(1, through + 1))

    async def _hall_of_fame_step(self, ref: ChapterRef) -> None:
        action = await hall_of_fame.next_action(self.bot.db, *ref)
        if action is None:
            return
        embed = to_embed(render.hall_of_fame_card(action).embed())
        channel = self.bot.get_partial_messageable(action.channel_id, guild_id=action.guild_id)
        now = format_timestamp(self.bot.clock())
        try:
            if action.kind == "post":
                message = await channel.send(embed=embed)
                await hall_of_fame.record_shown(self.bot.db, action, message.id, now)
            else:
                assert action.message_id is not None
                # Deliberate: discord.py applies the bot-wide AllowedMentions to an edit only with content.
                await channel.get_partial_message(action.message_id).edit(
                    embed=embed, allowed_mentions=self.bot.allowed_mentions)
                await hall_of_fame.record_shown(self.bot.db, action, action.message_id, now)
        except discord.NotFound:
            if action.kind == "edit":
                await hall_of_fame.record_gone(self.bot.db, action, now)
            else:
                _log.warning("likes: hall-of-fame channel %s of guild %s not found",
                             action.channel_id, action.guild_id)
        except discord.HTTPException as exc:
            _log.warning("likes: hall-of-fame %s for chapter %s failed: %s", action.kind, action.chapter, exc)

    # --- commands ------------------------------------------------------------------------------------

    async def _chapter_autocomplete(self, interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[int]]:
        return await released_chapter_choices(self.bot, interaction, current)

    @app_commands.command(name="chapter",
                          description="A released chapter's likes (forum, Discord, total) and reactions")
    @app_commands.describe(chapter="The chapter's number")
    @app_commands.autocomplete(chapter=_chapter_autocomplete)
    @app_commands.guild_only()
    async def chapter(self, interaction: discord.Interaction,
                      chapter: app_commands.Range[int, 1, 100_000]) -> None:
        assert interaction.guild_id is not None
        report = await tally.chapter_report(self.bot.db, interaction.guild_id, chapter)
        await interaction.response.send_message(embed=to_embed(render.chapter_card(report).embed()))

    @app_commands.command(name="top", description="Released chapters ranked by likes, with a chart")
    @app_commands.guild_only()
    async def top(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        ranked = await tally.top_chapters(self.bot.db, interaction.guild_id)
        likes = await tally.chapter_likes(self.bot.db, interaction.guild_id)  # released chapters only
        per_chapter = [(number, count.forum, count.discord) for number, count in sorted(likes.items())]
        embed = to_embed(render.top_card(ranked, per_chapter=per_chapter).embed())
        if not per_chapter:
            await interaction.response.send_message(embed=embed)
            return
        chart = await asyncio.to_thread(likes_chart, per_chapter)  # tens of ms: off the event loop
        file = discord.File(io.BytesIO(chart.png), filename=LIKES_CHART,
                            description=render.chart_alt_text(per_chapter))
        embed.set_image(url=f"attachment://{LIKES_CHART}")
        await interaction.response.send_message(embed=embed, file=file)

    @app_commands.command(name="readers", description="The members who react to the most chapters")
    @app_commands.guild_only()
    async def readers(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        readers = await tally.top_readers(self.bot.db, interaction.guild_id)
        await interaction.response.send_message(embed=to_embed(render.readers_card(readers).embed()))


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Likes(bot))
