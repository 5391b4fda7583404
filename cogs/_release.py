"""Glue shared by the chapters and schedule cogs: the discord.py `Sender`, the one `Publisher` per bot,
and the moderator check.  (A leading underscore: `AARBot` does not load this module as an extension.)

The Sender posts through discord.py's HTTP client (`handle_message_parameters` + `http.send_message`, as
`Messageable.send` does), which sends `enforce_nonce: true` with a nonce, waits out 429s and retries 5xx; it only turns what is left (403, other HTTP errors) into
the engine's `ReleaseForbidden` / `PublishError`, naming the permission the bot lacks.
"""

from __future__ import annotations

import contextvars
import weakref
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands

from bot.permissions import is_moderator
from bot.publishing import (
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    SEND_MESSAGES,
    ChannelGone,
    Publisher,
    PublishError,
    ReleaseForbidden,
)
from bot.storage.guilds import get_guild_settings

if TYPE_CHECKING:
    from bot.app import AARBot

NO_PINGS = discord.AllowedMentions.none()
VIEW_CHANNEL = "View Channel"
HISTORY_LOOKBACK = 25
THREAD_ARCHIVE_MINUTES = 10080  # a week: discussion of a chapter goes on for days
THREAD_EXISTS = 160004  # "A thread has already been created for this message"

# What Discord told the current interaction about the bot's permissions in the interaction's channel
# (`app_permissions`): fresher than the cache, and the only source the cache cannot contradict.
interaction_permissions: contextvars.ContextVar[tuple[int, discord.Permissions] | None] = \
    contextvars.ContextVar("interaction_permissions", default=None)

_publishers: weakref.WeakKeyDictionary[Any, Publisher] = weakref.WeakKeyDictionary()


def publisher_for(bot: AARBot) -> Publisher:
    """The bot's one Publisher: both cogs share its per-guild locks."""
    publisher = _publishers.get(bot)
    if publisher is None or publisher.conn is not bot.db:
        publisher = Publisher(bot.db, DiscordSender(bot), clock=bot.clock)
        _publishers[bot] = publisher
    return publisher


def missing_from(perms: discord.Permissions, *, thread: bool) -> list[str]:
    """The release permissions `perms` lacks, in the order a release needs them."""
    needed = [(VIEW_CHANNEL, perms.view_channel), (SEND_MESSAGES, perms.send_messages),
              (EMBED_LINKS, perms.embed_links)]
    if thread:
        needed.append((CREATE_PUBLIC_THREADS, perms.create_public_threads))
    return [name for name, has in needed if not has]


class DiscordSender:
    """`bot.publishing.Sender` on discord.py, addressing channels by id (no cache needed to send)."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    def _permissions(self, channel_id: int) -> discord.Permissions | None:
        hint = interaction_permissions.get()
        if hint is not None and hint[0] == channel_id:
            return hint[1]
        channel = self.bot.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if channel is None or guild is None or guild.me is None:
            return None
        return channel.permissions_for(guild.me)  # type: ignore[union-attr]

    async def missing_permissions(self, channel_id: int, *, thread: bool) -> list[str]:
        perms = self._permissions(channel_id)
        return missing_from(perms, thread=thread) if perms is not None else []

    def _forbidden(self, channel_id: int, error: discord.Forbidden, *, operation: str,
                   has_embeds: bool = False) -> ReleaseForbidden:
        perms = self._permissions(channel_id)
        known = missing_from(perms, thread=operation == "thread") if perms is not None else []
        if known:
            name = known[0]
        elif operation == "thread":
            name = CREATE_PUBLIC_THREADS
        else:
            name = f"{SEND_MESSAGES} or {EMBED_LINKS}" if has_embeds else SEND_MESSAGES
        return ReleaseForbidden(name, f"Discord refused ({error.status} {error.code}): {error.text}")

    async def send(self, channel_id: int, payload: dict[str, Any], *, nonce: str) -> int:
        embeds = list(payload.get("embeds") or [])
        # discord.py builds the body (nonce → `enforce_nonce: true`, mentions off); the rendered embeds go
        # in as rendered, since a round trip through discord.Embed would add fields the preview lacks.
        with discord.http.handle_message_parameters(content=payload.get("content") or None, nonce=nonce,
                                                    allowed_mentions=NO_PINGS) as params:
            assert params.payload is not None
            if embeds:
                params.payload["embeds"] = embeds
            try:
                data = await self.bot.http.send_message(channel_id, params=params)
            except discord.Forbidden as exc:
                raise self._forbidden(channel_id, exc, operation="send", has_embeds=bool(embeds)) from exc
            except discord.NotFound as exc:
                raise _gone_or_failed(exc) from exc
            except discord.HTTPException as exc:
                raise PublishError(f"Discord answered {exc.status} ({exc.code}): {exc.text}") from exc
            except (OSError, aiohttp.ClientError) as exc:  # the connection itself failed
                raise PublishError(f"could not reach Discord: {exc!r}") from exc
        return int(data["id"])

    async def find_sent(self, channel_id: int, payload: dict[str, Any], *, nonce: str,
                        after: int | None) -> int | None:
        channel = self.bot.get_partial_messageable(channel_id)
        me = self.bot.user.id if self.bot.user else None
        want_content = payload.get("content") or ""
        want_embeds = len(payload.get("embeds") or [])
        try:
            async for message in channel.history(limit=HISTORY_LOOKBACK,
                                                 after=discord.Object(after) if after else None):
                if message.author.id != me:
                    continue
                if message.nonce is not None and str(message.nonce) == nonce:
                    return message.id
                # Discord does not always echo nonces in history: the same text and embeds is the same part.
                if message.nonce is None and message.content == want_content and len(message.embeds) == want_embeds:
                    return message.id
        except discord.Forbidden as exc:
            raise ReleaseForbidden("Read Message History", str(exc)) from exc
        except discord.NotFound as exc:
            raise _gone_or_failed(exc) from exc
        except discord.HTTPException as exc:
            raise PublishError(f"could not read the channel's recent messages: {exc}") from exc
        return None

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        try:
            # The HTTP route directly: a PartialMessage cannot open threads without cached guild info.
            thread = await self.bot.http.start_thread_with_message(
                channel_id, message_id, name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except discord.Forbidden as exc:
            raise self._forbidden(channel_id, exc, operation="thread") from exc
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:  # opened before a crash: a message's thread has the message's id
                return message_id
            raise PublishError(f"could not open the discussion thread: {exc}") from exc
        return int(thread["id"])


async def member_is_moderator(bot: AARBot, interaction: discord.Interaction) -> bool:
    """Manage Server / Administrator in the guild, or the moderator role from `/aar setup`."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        return False
    settings = await get_guild_settings(bot.db, interaction.guild_id)
    perms = interaction.permissions  # what Discord resolved for this member here (Manage Server is guild-wide)
    return is_moderator(manage_guild=perms.manage_guild, administrator=perms.administrator,
                        role_ids=[role.id for role in interaction.user.roles],
                        moderator_role_id=settings.moderator_role_id)


NOT_A_MODERATOR = ("Only moderators can do this: you need the Manage Server permission, or the moderator role "
                   "set with `/aar setup`.")


def moderator_only() -> Any:
    """An app-command check enforced by the bot itself (Discord's command visibility is only a hint)."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage("This command works in a server only.")
        if not await member_is_moderator(interaction.client, interaction):  # type: ignore[arg-type]
            raise app_commands.CheckFailure(NOT_A_MODERATOR)
        return True

    return app_commands.check(predicate)


UNKNOWN_CHANNEL = 10003


def _gone_or_failed(error: discord.NotFound) -> PublishError:
    """Unknown Channel means the release can never finish there; any other 404 is an ordinary failure."""
    if error.code == UNKNOWN_CHANNEL:
        return ChannelGone(f"Discord answered 404 ({error.code}): {error.text}")
    return PublishError(f"Discord answered 404 ({error.code}): {error.text}")
