"""The fake's world and all its state: guilds, channels, members, messages, and building them for a test.

`World` is the base every part of `FakeDiscord` (gateway, REST, interactions, driver) builds on: it holds
every piece of state in one place, so each part only adds behaviour.  Everything that waits does so on
`self._cond` (an asyncio.Condition notified on every change); nothing sleeps.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import validation as v
from .errors import DiscordError, form_error
from .models import (
    ATTACHMENT_SIZE_LIMIT,
    BOT_PERMISSIONS,
    EPHEMERAL,
    HAS_THREAD,
    LOADING,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    Channel,
    Guild,
    Member,
    Role,
    User,
    Webhook,
    iso_now,
    snowflake,
)
from .records import GuildSetup, Interaction, RecordedRequest

if TYPE_CHECKING:
    from .faults import Fault, Hold


class World:
    """Guilds, channels, members and messages, plus what the other parts of the fake keep (below)."""

    def __init__(
        self,
        *,
        token: str = "fake-token.AAR.do-not-leak",
        response_window: float = 3.0,
        followup_window: float = 15 * 60.0,
        nonce_window: float = 300.0,
        heartbeat_interval: float = 41.25,
        echo_bot_reactions: bool = True,
        privileged_intents_enabled: bool = False,
    ) -> None:
        self.token = token
        self.response_window = response_window
        self.followup_window = followup_window
        self.nonce_window = nonce_window
        self.heartbeat_interval = heartbeat_interval
        self.echo_bot_reactions = echo_bot_reactions
        self.privileged_intents_enabled = privileged_intents_enabled

        # the world
        self.application_id = snowflake()
        self.bot_user = User(id=self.application_id, name="AAR Bot", bot=True)
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, dict[str, Any]] = {}  # every message incl. ephemeral ones, by id
        self.uploads: dict[int, bytes] = {}  # attachment id -> the file's bytes (the fake's CDN)
        # The upload limit per file the Discord client enforces (cdn), and the downloads the bot made.
        self.attachment_size_limit = ATTACHMENT_SIZE_LIMIT
        self.cdn_requests: list[RecordedRequest] = []
        self._reactions: dict[tuple[int, str], list[int]] = {}  # (message id, emoji key) -> user ids
        self._cond = asyncio.Condition()

        # application commands (rest_application)
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs: list[tuple[int | None, list[dict[str, Any]]]] = []
        self._command_ids: dict[tuple[int | None, int, str], int] = {}

        # interactions (driver, interactions)
        self.interactions: dict[int, Interaction] = {}

        # the gateway connection (gateway)
        self.gateway_received: list[dict[str, Any]] = []  # ops from the client, tokens redacted
        self.identify_count = 0
        self.resume_count = 0
        self.intents: int | None = None
        self._ws: web.WebSocketResponse | None = None
        self._send_lock = asyncio.Lock()
        self._session_id: str | None = None
        self._seq = 0
        self._event_log: list[dict[str, Any]] = []
        self._sockets: set[web.WebSocketResponse] = set()

        # HTTP (rest, rest_channels, faults, server)
        self.requests: list[RecordedRequest] = []
        self.role_changes: list[tuple[str, int, int]] = []  # (PUT|DELETE, member id, role id) that succeeded
        self.dm_channels: dict[int, Channel] = {}  # user id → the bot's DM channel with them
        self.closed_dms: set[int] = set()  # users whose DMs are closed to the bot (sending: 403 50007)
        self._nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self._faults: list[Fault] = []
        self._holds: list[Hold] = []
        self._forbidden: dict[int, set[str]] = {}
        self.webhooks: dict[int, Webhook] = {}  # channel webhooks (rest_webhooks), by id
        # Announcement channels: Discord publishes (crossposts) at most `crosspost_limit` messages per
        # channel per `crosspost_window` seconds; `_crossposts` holds each channel's publish times.
        self.crosspost_limit = 10
        self.crosspost_window = 3600.0
        self._crossposts: dict[int, list[float]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    if TYPE_CHECKING:
        # The one thing the world needs from another part: telling the bot.  `gateway.Gateway` implements it.
        async def dispatch(self, event: str, data: dict[str, Any]) -> None: ...

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # --- world building (test API) ---------------------------------------------------------------

    async def add_guild(self, name: str = "Test Guild", channels: Iterable[str] = ("general",), *,
                        announce: bool = True) -> Guild:
        """A guild the bot is in (dispatched as GUILD_CREATE when the bot is already connected).

        `announce=False` builds a guild the bot has not joined yet: `invite_bot_to_guild` then joins it.
        """
        owner = User(id=snowflake(), name=f"{name} owner")
        self.users[owner.id] = owner
        guild = Guild(id=snowflake(), name=name, owner_id=owner.id)
        guild.members[owner.id] = Member(user=owner, guild=guild)
        bot_role = Role(id=snowflake(), name="AAR Bot", permissions=BOT_PERMISSIONS, position=2)
        guild.roles.append(bot_role)
        guild.members[self.bot_user.id] = Member(user=self.bot_user, guild=guild, roles=[bot_role])
        for channel_name in channels:
            channel = Channel(id=snowflake(), name=channel_name, guild=guild)
            guild.channels.append(channel)
            self.channels[channel.id] = channel
        if not announce:
            return guild
        self.guilds[guild.id] = guild
        if self._session_id is not None:
            await self.dispatch("GUILD_CREATE", guild.to_dict())
        return guild

    async def add_channel(self, guild: Guild, name: str, *, type: int = 0,
                          tags: Iterable[str] = ()) -> Channel:
        """A channel: text (0), announcement (5) or forum (15, with `tags` as its available tags)."""
        channel = Channel(id=snowflake(), name=name, guild=guild, type=type,
                          available_tags=[{"id": snowflake(), "name": t, "moderated": False, "emoji_id": None,
                                           "emoji_name": None} for t in tags])
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        if self._session_id is not None:
            await self.dispatch("CHANNEL_CREATE", channel.to_dict())
        return channel

    def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        role = Role(id=snowflake(), name=name, permissions=permissions, position=len(guild.roles) + 1)
        guild.roles.append(role)
        return role

    def add_member(self, guild: Guild, name: str, *, roles: Iterable[Role] = (),
                   permissions: int | None = None) -> Member:
        """A member; `permissions` (an int bitfield) overrides what the roles would give."""
        user = User(id=snowflake(), name=name)
        self.users[user.id] = user
        member = Member(user=user, guild=guild, roles=list(roles), explicit_permissions=permissions)
        guild.members[user.id] = member
        return member

    async def add_standard_guild(self, name: str = "Test Guild") -> GuildSetup:
        guild = await self.add_guild(name, channels=("general", "story"))
        mod_role = self.add_role(guild, "Moderator", MANAGE_GUILD | MANAGE_MESSAGES)
        return GuildSetup(
            guild=guild, general=guild.channel("general"), story=guild.channel("story"),
            moderator_role=mod_role, moderator=self.add_member(guild, "moddy", roles=[mod_role]),
            member=self.add_member(guild, "reader"),
        )

    def history(self, channel: Channel | int) -> list[dict[str, Any]]:
        """A channel's (non-ephemeral) messages, oldest first."""
        cid = channel if isinstance(channel, int) else channel.id
        return self.channels[cid].history

    def attachment_bytes(self, attachment: dict[str, Any]) -> bytes:
        """What was uploaded as `attachment` (an entry of a message's `attachments`)."""
        return self.uploads[int(attachment["id"])]

    def post_as(self, member: Member, channel: Channel, content: str,
                components: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Put a member's message in a channel's history (not dispatched: the bot has no message intents).

        `components` stands in for a message carrying buttons the bot did not make (another app's, or a
        forged custom_id), so a test can click them.
        """
        payload: dict[str, Any] = {"content": content, "components": components or []}
        return self._create_message(channel, payload, author=member.user)

    def posts(self, forum: Channel) -> list[Channel]:
        """A forum's posts (threads), oldest first."""
        return sorted((c for c in self.channels.values() if c.parent_id == forum.id and c.is_thread),
                      key=lambda c: c.id)

    def channel_webhooks(self, channel: Channel) -> list[Webhook]:
        return [w for w in self.webhooks.values() if w.channel_id == channel.id]

    def delete_webhook(self, webhook: Webhook) -> None:
        """A moderator deletes the webhook in the server's settings: using it is then 10015."""
        self.webhooks.pop(webhook.id, None)

    def pass_crosspost_window(self) -> None:
        """The hour is over: every announcement channel may publish `crosspost_limit` messages again."""
        self._crossposts.clear()

    # --- messages --------------------------------------------------------------------------------

    def _create_message(self, channel: Channel, payload: dict[str, Any], *, author: User | dict[str, Any],
                        files: list[dict[str, Any]] = (), flags: int = 0, extra: dict[str, Any] | None = None,
                        store_in_channel: bool = True, mid: int | None = None) -> dict[str, Any]:
        mid = mid or snowflake()
        msg: dict[str, Any] = {
            "id": str(mid), "channel_id": str(channel.id),
            "author": author if isinstance(author, dict) else author.to_dict(),
            "content": payload.get("content") or "", "timestamp": iso_now(), "edited_timestamp": None,
            "tts": bool(payload.get("tts")), "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": self._attachments(payload, files),
            "embeds": [{"type": "rich"} | e for e in payload.get("embeds") or []],
            "components": payload.get("components") or [], "reactions": [], "pinned": False, "type": 0,
            "flags": (int(payload.get("flags") or 0) & (EPHEMERAL | 4 | 4096)) | flags,
        }
        if channel.guild is not None:
            msg["guild_id"] = str(channel.guild.id)
        if payload.get("nonce") is not None:
            msg["nonce"] = payload["nonce"]
        if payload.get("message_reference"):
            msg["message_reference"] = payload["message_reference"]
        msg.update(extra or {})
        self._link_attachments(msg)
        self.messages[mid] = msg
        if store_in_channel and not msg["flags"] & EPHEMERAL:
            channel.messages[mid] = msg
        return msg

    def _attachment(self, f: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """An uploaded file as Discord lists it on the message; `meta` is its entry in the payload's
        `attachments` (alt text), matched by the `files[n]` field's n."""
        aid = snowflake()
        filename = (meta or {}).get("filename") or f["filename"]
        attachment = {"id": str(aid), "filename": filename, "size": len(f["data"]),
                      "url": f"https://cdn.fake/attachments/{aid}/{filename}",
                      "proxy_url": f"https://media.fake/attachments/{aid}/{filename}",
                      "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream"}
        self.uploads[aid] = bytes(f["data"])
        if (meta or {}).get("description"):
            attachment["description"] = meta["description"]  # type: ignore[index]
        return attachment

    def _attachments(self, payload: dict[str, Any], files: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        metas = {str(m.get("id")): m for m in payload.get("attachments") or [] if isinstance(m, dict)}
        out = []
        for f in files:
            index = (f.get("field") or "").removeprefix("files[").removesuffix("]")
            out.append(self._attachment(f, metas.get(index)))
        return out

    @staticmethod
    def _link_attachments(msg: dict[str, Any]) -> None:
        """`attachment://name` in an embed's image or thumbnail becomes that attachment's URL, as Discord
        shows it; a name the message has no attachment for is left as sent."""
        by_name = {a["filename"]: a for a in msg["attachments"]}
        for embed in msg["embeds"]:
            for key in ("image", "thumbnail"):
                url = (embed.get(key) or {}).get("url") or ""
                if url.startswith("attachment://") and url[len("attachment://"):] in by_name:
                    attachment = by_name[url[len("attachment://"):]]
                    embed[key] = embed[key] | {"url": attachment["url"], "proxy_url": attachment["proxy_url"]}

    @staticmethod
    def _validate_message(payload: dict[str, Any] | None, files: list, *, require_content: bool = True,
                          nest: str | None = None) -> dict[str, Any]:
        payload = payload or {}
        errors = v.validate_message(payload) | v.validate_files(payload, files)
        if errors:
            raise form_error({nest: errors} if nest else errors)
        if sum(len(f["data"]) for f in files) > v.MAX_UPLOAD_BYTES:
            raise DiscordError(413, 40005, "Request entity too large")
        if require_content and v.is_empty_message(payload, len(files)):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        return payload

    def _edit_message(self, msg: dict[str, Any], payload: dict[str, Any],
                      files: list[dict[str, Any]]) -> None:
        merged = {k: msg.get(k) for k in ("content", "embeds", "components")} | payload
        self._validate_message(merged, files, require_content=False)
        for key in ("content", "components"):
            if key in payload:
                msg[key] = payload[key] if payload[key] is not None else ("" if key == "content" else [])
        if "embeds" in payload:
            msg["embeds"] = [{"type": "rich"} | e for e in payload["embeds"] or []]
        if "attachments" in payload or files:
            kept = {str(a.get("id")) for a in payload.get("attachments") or []}
            msg["attachments"] = ([a for a in msg["attachments"] if a["id"] in kept]
                                  + self._attachments(payload, files))
        if "flags" in payload and payload["flags"] is not None:
            msg["flags"] = (msg["flags"] & (EPHEMERAL | HAS_THREAD)) | (int(payload["flags"]) & 4)
        msg["flags"] &= ~LOADING
        msg["edited_timestamp"] = iso_now()
        self._link_attachments(msg)
