"""The release engine's `Sender` on discord.py (`bot.chapters.publishing.Sender`), which is also the
update engine's `EditSender` (`bot.chapters.edit_sync`).

It posts through discord.py's HTTP client (`handle_message_parameters` + `http.send_message`, as
`Messageable.send` does), which sends `enforce_nonce: true` with a nonce, waits out 429s and retries 5xx;
it only turns what is left (403, other HTTP errors) into the engine's `ReleaseForbidden` / `PublishError`,
naming the permission the bot lacks.  Channels are addressed by id, so no cache is needed to send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import aiohttp
import discord

from bot.chapters.plan import allowed_role_ids
from bot.chapters.publishing import (
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    MANAGE_WEBHOOKS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    AlreadyPublished,
    Author,
    ChannelGone,
    ChannelInfo,
    ChannelKind,
    ChannelPermissions,
    MessageGone,
    PublishError,
    PublishLater,
    ReleaseForbidden,
)

HISTORY_LOOKBACK = 25
THREAD_ARCHIVE_MINUTES: Final = 10080  # a week: discussion of a chapter goes on for days
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
ALREADY_CROSSPOSTED = 40033
SEND_MESSAGES_IN_THREADS = "Send Messages in Threads"
WEBHOOK_NAME = "AAR Bot story"  # the channel webhook the bot creates once and finds again by this name
KINDS: dict[int, ChannelKind] = {discord.ChannelType.forum.value: "forum",
                                 discord.ChannelType.news.value: "announcement"}


def channel_permissions(channel_id: int, perms: discord.Permissions) -> ChannelPermissions:
    """discord.py's permissions in a channel as the engine's Discord-free `ChannelPermissions`."""
    granted = {VIEW_CHANNEL: perms.view_channel, SEND_MESSAGES: perms.send_messages,
               EMBED_LINKS: perms.embed_links, CREATE_PUBLIC_THREADS: perms.create_public_threads}
    return ChannelPermissions(channel_id, frozenset(name for name, has in granted.items() if has))


class DiscordSender:
    """`bot.chapters.publishing.Sender` on discord.py."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot
        self._webhooks: dict[int, tuple[int, str]] = {}  # channel → (webhook id, token), found or created

    def _cached(self, channel_id: int) -> ChannelPermissions | None:
        """The bot's permissions in the channel as the cache knows them (None when it does not)."""
        channel = self.bot.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if (channel is None or guild is None or guild.me is None
                or isinstance(channel, discord.abc.PrivateChannel)):
            return None
        return channel_permissions(channel_id, channel.permissions_for(guild.me))

    async def missing_permissions(self, channel_id: int, *, thread: bool) -> list[str]:
        channel = self.bot.get_channel(channel_id)
        if isinstance(channel, discord.ForumChannel) and channel.guild.me is not None:
            # A forum release opens a post (Send Messages) and posts its other parts inside it.
            p = channel.permissions_for(channel.guild.me)
            granted = {VIEW_CHANNEL: p.view_channel, SEND_MESSAGES: p.send_messages,
                       EMBED_LINKS: p.embed_links, SEND_MESSAGES_IN_THREADS: p.send_messages_in_threads}
            return [name for name, has in granted.items() if not has]
        perms = self._cached(channel_id)
        return perms.missing(thread=thread) if perms is not None else []

    def _forbidden(self, channel_id: int, error: discord.Forbidden, *, operation: str,
                   has_embeds: bool = False) -> ReleaseForbidden:
        perms = self._cached(channel_id)
        known = perms.missing(thread=operation == "thread") if perms is not None else []
        if known:
            name = known[0]
        elif operation == "thread":
            name = CREATE_PUBLIC_THREADS
        else:
            name = f"{SEND_MESSAGES} or {EMBED_LINKS}" if has_embeds else SEND_MESSAGES
        return ReleaseForbidden(name, f"Discord refused ({error.status} {error.code}): {error.text}")

    async def send(self, channel_id: int, payload: dict[str, Any], *, nonce: str) -> int:
        embeds = list(payload.get("embeds") or [])
        # discord.py builds the body (nonce → `enforce_nonce: true`); the rendered embeds go in as rendered,
        # since a round trip through discord.Embed would add fields the preview lacks.  The raw HTTP route
        # does not apply the bot-wide AllowedMentions, so it is passed here deliberately.
        with discord.http.handle_message_parameters(content=payload.get("content") or None, nonce=nonce,
                                                    allowed_mentions=self.bot.allowed_mentions) as params:
            assert params.payload is not None
            if embeds:
                params.payload["embeds"] = embeds
            if payload.get("components"):  # the plan's buttons (✅ Read, 🔔), answered by persistent items
                params.payload["components"] = payload["components"]
            roles = allowed_role_ids(payload)
            if roles:  # the alert role the plan mentions, and nothing else: users, @everyone stay off
                params.payload["allowed_mentions"] = {"parse": [], "roles": [str(r) for r in roles]}
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

    async def edit(self, channel_id: int, message_id: int, payload: dict[str, Any]) -> None:
        """`bot.chapters.edit_sync.EditSender.edit`: every field set, since Discord keeps what an edit
        leaves out; the message keeps its id, reactions and thread."""
        body = _edit_body(payload)
        route = discord.http.Route("PATCH", "/channels/{channel_id}/messages/{message_id}",
                                   channel_id=channel_id, message_id=message_id)
        try:
            await self.bot.http.request(route, json=body)
        except discord.Forbidden as exc:
            raise self._forbidden(channel_id, exc, operation="send", has_embeds=bool(body["embeds"])) from exc
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:
                raise MessageGone(f"Discord answered 404 ({exc.code}): {exc.text}") from exc
            raise _gone_or_failed(exc) from exc
        except discord.HTTPException as exc:
            raise PublishError(f"Discord answered {exc.status} ({exc.code}): {exc.text}") from exc
        except (OSError, aiohttp.ClientError) as exc:
            raise PublishError(f"could not reach Discord: {exc!r}") from exc

    async def edit_as_author(self, channel_id: int, message_id: int, payload: dict[str, Any], *,
                             thread_id: int | None) -> None:
        """Edit a message the bot's webhook of `channel_id` posted (in `thread_id`, a thread or forum post
        of it, when given): only that webhook may."""
        body = _edit_body(payload)
        webhook_id, token = await self._webhook(channel_id)
        adapter = discord.webhook.async_.async_context.get()
        session = self.bot.http._HTTPClient__session  # type: ignore[attr-defined]
        try:
            await adapter.edit_webhook_message(webhook_id, token, message_id, session=session, payload=body,
                                               thread_id=thread_id, with_components=True)
        except discord.NotFound as exc:
            if exc.code in (UNKNOWN_MESSAGE, UNKNOWN_WEBHOOK):  # a new webhook cannot edit the old one's
                raise MessageGone(f"Discord answered 404 ({exc.code}): {exc.text}") from exc
            raise _gone_or_failed(exc) from exc
        except discord.Forbidden as exc:
            raise ReleaseForbidden(MANAGE_WEBHOOKS, str(exc)) from exc
        except discord.HTTPException as exc:
            raise PublishError(f"Discord answered {exc.status} ({exc.code}): {exc.text}") from exc
        except (OSError, aiohttp.ClientError) as exc:
            raise PublishError(f"could not reach Discord: {exc!r}") from exc

    async def find_sent(self, channel_id: int, payload: dict[str, Any], *, nonce: str,
                        after: int | None) -> int | None:
        me = self.bot.user.id if self.bot.user else None
        want_content = payload.get("content") or ""
        want_embeds = len(payload.get("embeds") or [])

        def sent(message: discord.Message) -> bool:
            if message.author.id != me:
                return False
            if message.nonce is not None:
                return str(message.nonce) == nonce
            # Discord does not always echo nonces in history: the same text and embeds is the same part.
            return message.content == want_content and len(message.embeds) == want_embeds

        return await self._find_recent(channel_id, after, sent)

    async def _find_recent(self, channel_id: int, after: int | None,
                           matches: Callable[[discord.Message], bool]) -> int | None:
        """The first of the channel's recent messages (after `after`) that `matches`, if any."""
        channel = self.bot.get_partial_messageable(channel_id)
        try:
            async for message in channel.history(limit=HISTORY_LOOKBACK,
                                                 after=discord.Object(after) if after else None):
                if matches(message):
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


    # --- forum posts, webhooks, publishing ------------------------------------------------------------

    async def channel_info(self, channel_id: int) -> ChannelInfo:
        channel = self.bot.get_channel(channel_id)
        if channel is not None and not isinstance(channel, discord.abc.PrivateChannel):
            kind: ChannelKind = KINDS.get(channel.type.value, "text")
            if isinstance(channel, discord.ForumChannel):
                return ChannelInfo(kind, {t.name: t.id for t in channel.available_tags})
            return ChannelInfo(kind)
        try:
            data: dict[str, Any] = dict(await self.bot.http.get_channel(channel_id))
        except discord.NotFound as exc:
            raise _gone_or_failed(exc) from exc
        except discord.HTTPException as exc:
            raise PublishError(f"could not look at the story channel: {exc}") from exc
        return ChannelInfo(KINDS.get(int(data["type"]), "text"),
                           {t["name"]: int(t["id"]) for t in data.get("available_tags") or []})

    async def create_post(self, forum_id: int, name: str, payload: dict[str, Any], *,
                          tag_ids: list[int]) -> int:
        embeds = list(payload.get("embeds") or [])
        with discord.http.handle_message_parameters(content=payload.get("content") or None,
                                                    allowed_mentions=self.bot.allowed_mentions) as params:
            assert params.payload is not None
            message = dict(params.payload)
            if embeds:
                message["embeds"] = embeds
            if payload.get("components"):
                message["components"] = payload["components"]
            roles = allowed_role_ids(payload)
            if roles:
                message["allowed_mentions"] = {"parse": [], "roles": [str(r) for r in roles]}
            params.payload.clear()
            params.payload.update({"name": name, "auto_archive_duration": THREAD_ARCHIVE_MINUTES,
                                   "applied_tags": [str(t) for t in tag_ids], "message": message})
            try:
                data = await self.bot.http.start_thread_in_forum(forum_id, params=params)
            except discord.Forbidden as exc:
                raise self._forbidden(forum_id, exc, operation="send", has_embeds=bool(embeds)) from exc
            except discord.NotFound as exc:
                raise _gone_or_failed(exc) from exc
            except discord.HTTPException as exc:
                raise PublishError(f"could not open the chapter's forum post: {exc}") from exc
            except (OSError, aiohttp.ClientError) as exc:
                raise PublishError(f"could not reach Discord: {exc!r}") from exc
        return int(data["id"])

    async def find_posts(self, guild_id: int, forum_id: int, name: str) -> list[int]:
        me = str(self.bot.user.id) if self.bot.user else None
        try:
            data = await self.bot.http.get_active_threads(guild_id)
        except discord.HTTPException as exc:
            raise PublishError(f"could not list the forum's posts: {exc}") from exc
        return sorted(int(t["id"]) for t in data.get("threads", []) if t.get("parent_id") == str(forum_id)
                      and t.get("owner_id") == me and t["name"] == name)

    async def _webhook(self, channel_id: int) -> tuple[int, str]:
        """The bot's webhook of the channel: remembered, else found among the channel's, else created."""
        if channel_id in self._webhooks:
            return self._webhooks[channel_id]
        try:
            hooks = await self.bot.http.channel_webhooks(channel_id)
            app_id = str(self.bot.application_id)
            mine = [h for h in hooks if h.get("application_id") == app_id and h.get("name") == WEBHOOK_NAME
                    and h.get("token")]
            hook: Any = mine[0] if mine else await self.bot.http.create_webhook(channel_id, name=WEBHOOK_NAME)
        except discord.Forbidden as exc:
            detail = f"Discord refused ({exc.status} {exc.code}): {exc.text}"
            raise ReleaseForbidden(MANAGE_WEBHOOKS, detail) from exc
        except discord.NotFound as exc:
            raise _gone_or_failed(exc) from exc
        except discord.HTTPException as exc:
            raise PublishError(f"could not set up the story webhook: {exc}") from exc
        self._webhooks[channel_id] = (int(hook["id"]), str(hook["token"]))
        return self._webhooks[channel_id]

    async def send_as_author(self, channel_id: int, payload: dict[str, Any], *, author: Author,
                             thread_id: int | None) -> int:
        body: dict[str, Any] = {"content": payload.get("content") or None, "username": author.username,
                                "allowed_mentions": self.bot.allowed_mentions.to_dict()
                                if self.bot.allowed_mentions else {"parse": []}}
        if author.avatar_url:
            body["avatar_url"] = author.avatar_url
        if payload.get("embeds"):
            body["embeds"] = list(payload["embeds"])
        if payload.get("components"):
            body["components"] = payload["components"]
        roles = allowed_role_ids(payload)
        if roles:
            body["allowed_mentions"] = {"parse": [], "roles": [str(r) for r in roles]}
        for attempt in (1, 2):
            webhook_id, token = await self._webhook(channel_id)
            adapter = discord.webhook.async_.async_context.get()
            session = self.bot.http._HTTPClient__session  # type: ignore[attr-defined]
            try:
                data = await adapter.execute_webhook(webhook_id, token, session=session, payload=body,
                                                     thread_id=thread_id, wait=True, with_components=True)
            except discord.NotFound as exc:
                if exc.code == UNKNOWN_WEBHOOK and attempt == 1:  # deleted by a moderator: make a new one
                    self._webhooks.pop(channel_id, None)
                    continue
                raise _gone_or_failed(exc) from exc
            except discord.Forbidden as exc:
                raise ReleaseForbidden(MANAGE_WEBHOOKS, str(exc)) from exc
            except discord.HTTPException as exc:
                raise PublishError(f"Discord answered {exc.status} ({exc.code}): {exc.text}") from exc
            except (OSError, aiohttp.ClientError) as exc:
                raise PublishError(f"could not reach Discord: {exc!r}") from exc
            assert data is not None
            return int(data["id"])
        raise PublishError("the story webhook keeps disappearing")

    async def find_sent_as_author(self, channel_id: int, payload: dict[str, Any], *,
                                  after: int | None) -> int | None:
        want_content = payload.get("content") or ""
        want_embeds = len(payload.get("embeds") or [])
        return await self._find_recent(  # webhooks take no nonce: a webhook's message with the same text
            channel_id, after, lambda message: message.webhook_id is not None
            and message.content == want_content and len(message.embeds) == want_embeds)

    async def publish(self, channel_id: int, message_id: int) -> None:
        try:
            await self.bot.http.publish_message(channel_id, message_id)
        except discord.RateLimited as exc:  # longer than the bot waits inside a request (bot.app)
            raise PublishLater(exc.retry_after) from exc
        except discord.Forbidden as exc:
            raise ReleaseForbidden(f"{SEND_MESSAGES} or Manage Messages", str(exc)) from exc
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_CHANNEL:
                raise ChannelGone(str(exc)) from exc
            raise MessageGone(str(exc)) from exc
        except discord.HTTPException as exc:
            if exc.code == ALREADY_CROSSPOSTED:
                raise AlreadyPublished(str(exc)) from exc
            raise PublishError(f"Discord answered {exc.status} ({exc.code}): {exc.text}") from exc
        except (OSError, aiohttp.ClientError) as exc:
            raise PublishError(f"could not reach Discord: {exc!r}") from exc


def _edit_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A message edit's body: every field, pinging at most the alert role the plan names."""
    roles = allowed_role_ids(payload)
    return {"content": payload.get("content") or "", "embeds": list(payload.get("embeds") or []),
            "components": list(payload.get("components") or []),
            "allowed_mentions": {"parse": [], "roles": [str(r) for r in roles]} if roles else {"parse": []}}


def _gone_or_failed(error: discord.NotFound) -> PublishError:
    """Unknown Channel means the release can never finish there; any other 404 is an ordinary failure."""
    if error.code == UNKNOWN_CHANNEL:
        return ChannelGone(f"Discord answered 404 ({error.code}): {error.text}")
    return PublishError(f"Discord answered 404 ({error.code}): {error.text}")
