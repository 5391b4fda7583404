"""`/aar import file:` (moderators): a forum export uploaded in Discord, previewed privately, imported on
Confirm.  The `Admin` cog owns the command (it is in the `/aar` group) and holds one `ImportFlow`.

The command checks the size Discord declares before downloading anything, downloads the file from
Discord's CDN, parses it in a worker thread (`bot.story.upload`), and answers with the preview
(`bot.story.preview`) and Confirm / Cancel buttons.  Nothing is written until Confirm: then the story is
imported in one transaction (`bot.story.importer.import_story`), refused if the stored story changed since
the preview.  Who may press, and only once, is `bot.story.pending`'s to decide.

The buttons are a `DynamicItem` (custom id `aar:import:<preview>:<confirm|cancel>`), so a press after a
restart or long after is answered ("no longer available") instead of failing silently.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from bot.errors import UserError
from bot.storage.releases import released_through
from bot.story import upload
from bot.story.importer import StoryChanged, StoryImportError, import_story
from bot.story.pending import GONE, LIFETIME, Action, PendingImport, PendingImports
from bot.story.preview import preview_import
from cogs.shared.checks import NOT_A_MODERATOR, member_is_moderator
from cogs.shared.inflight import TrackedClick
from cogs.shared.ui import send_refusal

if TYPE_CHECKING:
    from bot.app import AARBot

_log = logging.getLogger(__name__)
IMPORTING = "Importing…"


class ImportFlow:
    """The import previews of one bot and what the command and its buttons do with them."""

    def __init__(self, bot: AARBot) -> None:
        self.bot = bot
        self.pending = PendingImports(bot.clock)

    async def start(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Check, download and parse `file`, then answer with the preview and its buttons."""
        guild_id = interaction.guild_id
        assert guild_id is not None
        try:
            upload.check_upload_size(file.filename, file.size)  # before anything is downloaded
        except StoryImportError as exc:
            raise UserError(str(exc)) from None
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await self._download(file)
        try:
            story = await asyncio.to_thread(upload.parse_upload, data, file.filename)
        except StoryImportError as exc:
            raise UserError(str(exc)) from None
        preview = await preview_import(self.bot.db, story)
        pending = PendingImport(interaction.id, guild_id, interaction.user.id, file.filename,
                                hashlib.sha256(data).hexdigest(), story, preview, self.bot.clock())
        view = None
        if preview.diff.changes:
            self.pending.add(pending)
            view = preview_view(pending.id)
        embed = discord.Embed(title=upload.preview_title(file.filename), colour=discord.Colour.blurple(),
                              description=upload.preview_text(
                                  preview, released_through=await released_through(self.bot.db, guild_id)))
        embed.set_footer(text=upload.preview_footer(preview, int(LIFETIME.total_seconds() // 60)))
        if view is None:
            await interaction.edit_original_response(embed=embed)
        else:
            await interaction.edit_original_response(embed=embed, view=view)

    @staticmethod
    async def _download(file: discord.Attachment) -> bytes:
        """The file's bytes from Discord's CDN, checked again against the limit (the declared size is
        Discord's word; these are the bytes that arrived)."""
        try:
            data = await file.read()
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            status = getattr(exc, "status", None)
            why = f"Discord answered {status}" if status else "the connection failed"
            raise UserError(f"I could not download {upload.shown_name(file.filename)} ({why}); "
                            "upload it again.") from None
        try:
            upload.check_upload_size(file.filename, len(data))
        except StoryImportError as exc:
            raise UserError(str(exc)) from None
        return data

    async def answer(self, interaction: discord.Interaction, preview_id: int, action: Action) -> None:
        """A press on Confirm or Cancel: refused with the reason, or carried out."""
        try:
            if not await member_is_moderator(self.bot, interaction):
                raise UserError(NOT_A_MODERATOR)
            pending = self.pending.answer(preview_id, interaction.user.id, action)
        except UserError as exc:
            await send_refusal(interaction, exc.message)
            return
        if action == "cancel":
            self.pending.release(pending)
            await interaction.response.edit_message(content=upload.CANCELLED, view=None)
            return
        await interaction.response.edit_message(content=IMPORTING, view=None)
        # What the imports log records: the file, and who uploaded it where.
        source = f"{pending.filename} (uploaded in Discord by {pending.user_id} in {pending.guild_id})"
        failed = True
        try:
            summary = await import_story(self.bot.db, pending.story, source=source, sha256=pending.sha256,
                                         expected_state=pending.preview.state)
        except StoryChanged:
            text = upload.STORY_CHANGED
        except StoryImportError as exc:  # a limit crossed by the story in the database (its chapter count)
            text = str(exc).replace(source, upload.shown_name(pending.filename), 1)
        except Exception as exc:  # told in place of "Importing…", logged as every command's errors
            text = self.bot.error_message(interaction, exc)
        else:
            failed = False
            _log.info("Imported %s from Discord (guild %s, member %s): %s", pending.filename,
                      pending.guild_id, pending.user_id, summary)
            text = upload.imported_text(pending.filename, summary)
            # The new chapters are read from the database by `/chapter next` and the schedules; nothing
            # caches the chapter list, but features that want to react at once can.
            self.bot.dispatch("story_imported", summary)
        finally:
            self.pending.release(pending, failed=failed)
        await interaction.edit_original_response(content=text)


class ImportButton(TrackedClick, discord.ui.DynamicItem[discord.ui.Button[Any]],
                   template=r"aar:import:(?P<preview>[0-9]{1,20}):(?P<action>confirm|cancel)"):
    """Confirm or Cancel under an import preview."""

    def __init__(self, preview_id: int, action: Action) -> None:
        confirm = action == "confirm"
        super().__init__(discord.ui.Button(
            label="Confirm import" if confirm else "Cancel",
            style=discord.ButtonStyle.success if confirm else discord.ButtonStyle.secondary,
            custom_id=f"aar:import:{preview_id}:{action}"))
        self.preview_id, self.action = preview_id, action

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> ImportButton:
        action: Action = "confirm" if match["action"] == "confirm" else "cancel"
        return cls(int(match["preview"]), action)

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        cog = client.get_cog("Admin") if isinstance(client, commands.Bot) else None
        flow = getattr(cog, "import_flow", None)
        if not isinstance(flow, ImportFlow):
            await send_refusal(interaction, GONE)
            return
        await flow.answer(interaction, self.preview_id, self.action)


def preview_view(preview_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ImportButton(preview_id, "confirm"))
    view.add_item(ImportButton(preview_id, "cancel"))
    return view
