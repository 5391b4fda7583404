"""`/chapter next|read|continue|list` and the ✅ Read button: glue between Discord and the release engine /
catch-up reading.

Every page the pager shows a member moves their reading progress forward (`reading.record_shown`), so
`/chapter continue` opens where they stopped; ✅ Read under a release's last message marks the chapter
read.  The button is a `DynamicItem`, so it works on every release message, also after a restart.

`/chapter` mixes a moderator command (`next`) with commands for everyone (`read`, `list`).  Discord sets
`default_member_permissions` per top-level command only (discord.py ignores it on subcommands), so it
cannot hide `next` alone; `next` is guarded by the bot's own moderator check, which is what counts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chapters import precheck, reading, replies
from bot.chapters.queue import QueueClosed
from bot.errors import UserError
from bot.storage import release_log
from bot.storage.guilds import get_guild_settings
from bot.storage.releases import released_through
from bot.timestamps import format_timestamp
from cogs.shared.checks import moderator_only
from cogs.shared.inflight import TrackedClick
from cogs.shared.sender import channel_permissions
from cogs.shared.ui import Page, pager_view, released_chapter_choices, to_embeds

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
PAGER = "read"


class Chapters(commands.GroupCog, group_name="chapter", group_description="Read the AAR, chapter by chapter"):
    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.startup_resume: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReadButton)
        self.startup_resume = asyncio.create_task(self._resume_interrupted(), name="chapters-resume")

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReadButton)
        if self.startup_resume is not None and not self.startup_resume.done():
            self.startup_resume.cancel()
            await asyncio.gather(self.startup_resume, return_exceptions=True)

    async def _resume_interrupted(self) -> None:
        """A fresh start finishes the releases a previous process left half-posted, through the release
        queue: concurrently between guilds, within the request budget, in turn with new releases."""
        await self.bot.wait_until_ready()
        # Only the guilds of this process's shards: another process resumes its own.
        guilds = dict.fromkeys(r.guild_id for r in await release_log.unfinished_releases(self.bot.db)
                               if self.bot.owns_guild(r.guild_id))
        tickets = [self.bot.release_queue.submit(guild_id, functools.partial(self.bot.publisher.resume,
                                                                             guild_id), source="resume")
                   for guild_id in guilds]
        for ticket in tickets:
            try:
                outcomes = await ticket.result()
            except QueueClosed:
                return  # shutting down: the rest resume at the next start
            except Exception:  # one guild's failure must not stop the others' resumes
                _log.exception("Resuming the releases of guild %s failed", ticket.guild_id)
                continue
            for outcome in outcomes:
                _log.info("Resumed the release of chapter %s in guild %s: %s", outcome.chapter,
                          outcome.guild_id, outcome.status)

    async def page(self, interaction: discord.Interaction, page: int, key: int) -> Page:
        """Page `page` of released chapter `key` (`PageSource` for the read pager's buttons); showing it
        moves the member's reading progress forward."""
        assert interaction.guild_id is not None
        pages = await reading.chapter_pages(self.bot.db, interaction.guild_id, key)
        page = max(0, min(page, len(pages.pages) - 1))
        payload = pages.pages[page]
        await reading.record_shown(self.bot.db, interaction.guild_id, interaction.user.id, key, page=page,
                                   pages=len(pages.pages), now=format_timestamp(self.bot.clock()))
        return Page(payload.get("content") or None, to_embeds(payload),
                    pager_view(PAGER, page, len(pages.pages), key))

    @app_commands.command(name="next",
                          description="Release the next chapter into the story channel (moderators)")
    @app_commands.guild_only()
    @moderator_only()
    async def next_(self, interaction: discord.Interaction) -> None:
        """Answer at once, then say "going out now" or "queued: about N s", then edit that into the
        outcome when the release queue has run it.  What can be refused at once is refused at once.

        The acknowledgement (a private "thinking…") goes first, before any database read: Discord
        drops an interaction not answered within 3 s, and when a thousand servers press `/chapter next`
        together, the reads of a thousand commands queue behind each other and the releases'."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await get_guild_settings(self.bot.db, guild_id)
        channel_id = settings.story_channel_id or interaction.channel_id
        assert channel_id is not None
        known = channel_permissions(interaction.channel_id or 0, interaction.app_permissions)
        threads = settings.discussion_threads
        refused = await precheck.refusal(self.bot.db, guild_id, channel_id, threads=threads, known=known)
        if refused is not None:
            raise UserError(replies.release_summary(refused, guild_id))
        release = functools.partial(self.bot.publisher.release_next, guild_id, channel_id,
                                    threads=threads, known=known)
        ticket = self.bot.release_queue.submit(guild_id, release, source="manual")
        await interaction.edit_original_response(
            content=replies.queued_text(ticket.starts_now, ticket.ahead, ticket.estimate))
        try:
            text = replies.release_summary(await ticket.result(), guild_id)
        except QueueClosed:
            text = replies.RELEASE_STOPPED
        except Exception as exc:  # told in place of "queued", worded (and logged) as every command's errors
            text = self.bot.error_message(interaction, exc)
        await interaction.edit_original_response(content=text)

    async def _nothing_unread(self, guild_id: int) -> str:
        through = await released_through(self.bot.db, guild_id)
        return replies.all_read_text(through, await reading.next_release_at(self.bot.db, guild_id))

    @app_commands.command(name="read", description="Read a released chapter privately, page by page")
    @app_commands.describe(number="The chapter's number (only released chapters are offered); "
                                  "leave it out for your next unread chapter")
    @app_commands.guild_only()
    async def read(self, interaction: discord.Interaction, number: int | None = None) -> None:
        assert interaction.guild_id is not None
        if number is None:
            unread = await reading.next_unread(self.bot.db, interaction.guild_id, interaction.user.id)
            if unread is None:
                raise UserError(await self._nothing_unread(interaction.guild_id))
            number = unread.chapter
        shown = await self.page(interaction, 0, number)
        await interaction.response.send_message(**shown.message_kwargs(), ephemeral=True)

    @app_commands.command(name="continue", description="Pick up reading where you stopped, privately")
    @app_commands.guild_only()
    async def continue_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        unread = await reading.next_unread(self.bot.db, interaction.guild_id, interaction.user.id)
        if unread is None:
            raise UserError(await self._nothing_unread(interaction.guild_id))
        shown = await self.page(interaction, unread.page, unread.chapter)
        await interaction.response.send_message(**shown.message_kwargs(), ephemeral=True)

    @read.autocomplete("number")
    async def read_number(self, interaction: discord.Interaction,
                          current: str) -> list[app_commands.Choice[int]]:
        return await released_chapter_choices(self.bot, interaction, current)

    @app_commands.command(name="list", description="The released chapters, with links, dates and likes")
    @app_commands.guild_only()
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        items = await reading.released_list(self.bot.db, interaction.guild_id, interaction.user.id)
        if not items:
            await interaction.response.send_message(replies.NOTHING_RELEASED, ephemeral=True)
            return
        descriptions, left_out = replies.list_descriptions(items)
        embeds = [discord.Embed(description=text, colour=discord.Colour.dark_gold()) for text in descriptions]
        embeds[0].title = replies.LIST_TITLE
        embeds[-1].set_footer(text=replies.list_footer(len(items), left_out))
        await interaction.response.send_message(embeds=embeds, ephemeral=True)


class ReadButton(TrackedClick, discord.ui.DynamicItem[discord.ui.Button[Any]],
                 template=r"aar:readmark:(?P<number>[0-9]{1,6})"):
    """✅ Read under a release's last message (`bot.chapters.plan.read_button`): marks the chapter read for
    whoever presses it, privately.  The message itself never changes: it is everyone's."""

    def __init__(self, number: int) -> None:
        super().__init__(discord.ui.Button(label="Read", emoji="✅", style=discord.ButtonStyle.success,
                                           custom_id=f"aar:readmark:{number}"))
        self.number = number

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> ReadButton:
        return cls(int(match["number"]))


    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        if interaction.guild_id is None or not isinstance(client, commands.Bot):
            return
        db, clock = client.db, client.clock  # type: ignore[attr-defined]
        try:
            await reading.mark_read(db, interaction.guild_id, interaction.user.id, self.number,
                                    now=format_timestamp(clock()))
        except UserError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        await interaction.response.send_message(replies.marked_read_text(self.number), ephemeral=True)


async def setup(bot: AARBot) -> None:
    await bot.add_cog(Chapters(bot))
