"""The fake Discord's world: guilds, channels, roles, members, and their JSON payloads."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1

# Message flags.
CROSSPOSTED = 1 << 0
HAS_THREAD = 1 << 5
EPHEMERAL = 1 << 6
LOADING = 1 << 7

EVERYONE_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ADD_REACTIONS | EMBED_LINKS
                        | ATTACH_FILES | USE_EXTERNAL_EMOJIS | USE_APPLICATION_COMMANDS
                        | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS)
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES | MANAGE_THREADS | CREATE_PRIVATE_THREADS

# Discord's upload limit per file for a member without Nitro in a server without boosts (10 MiB since
# 2024): the client refuses a bigger file, and interactions carry it as `attachment_size_limit`.
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

_counter = itertools.count()


def snowflake() -> int:
    """A fresh, increasing snowflake (ms timestamp << 22 | a process-wide counter)."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Role:
    id: int
    name: str
    permissions: int = 0
    position: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "name": self.name, "permissions": str(self.permissions),
            "position": self.position, "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False, "managed": False, "mentionable": False, "flags": 0, "icon": None,
            "unicode_emoji": None,
        }


@dataclass
class User:
    id: int
    name: str
    bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": str(self.id), "username": self.name, "global_name": self.name, "discriminator": "0",
                "avatar": None, "bot": self.bot, "public_flags": 0, "flags": 0}


@dataclass
class Member:
    """A guild member.  `permissions` is the guild-level bitfield: explicit, or derived from the roles."""

    user: User
    guild: Guild
    roles: list[Role] = field(default_factory=list)
    explicit_permissions: int | None = None
    nick: str | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def permissions(self) -> int:
        if self.guild.owner_id == self.id:
            return ALL_PERMISSIONS
        if self.explicit_permissions is not None:
            perms = self.explicit_permissions
        else:
            perms = self.guild.everyone.permissions
            for role in self.roles:
                perms |= role.permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def to_dict(self, *, with_permissions: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.to_dict(), "roles": [str(r.id) for r in self.roles], "nick": self.nick,
            "joined_at": self.guild.created_at, "deaf": False, "mute": False, "flags": 0, "pending": False,
            "avatar": None, "premium_since": None, "communication_disabled_until": None,
        }
        if with_permissions:
            data["permissions"] = str(self.permissions)
        return data


@dataclass
class Channel:
    id: int
    name: str
    guild: Guild | None
    type: int = 0  # 0 text, 5 announcement, 11 public thread, 12 private thread, 15 forum
    parent_id: int | None = None
    owner_id: int | None = None
    topic: str | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> message payload
    archived: bool = False
    # Discord's permission overwrites: {"id", "type" (0 role, 1 member), "allow", "deny"} (ints here).
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    recipient_id: int | None = None  # a DM channel (type 1): the user on the other end
    # A forum's tags ({"id", "name", "moderated", "emoji_id", "emoji_name"}), and a forum post's applied ones.
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    applied_tags: list[int] = field(default_factory=list)

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Messages oldest first."""
        return [self.messages[k] for k in sorted(self.messages)]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id), "type": self.type, "name": self.name, "position": 0,
            "permission_overwrites": [{"id": str(o["id"]), "type": o["type"], "allow": str(o["allow"]),
                                       "deny": str(o["deny"])} for o in self.overwrites],
            "nsfw": False, "topic": self.topic, "rate_limit_per_user": 0, "flags": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "last_message_id": str(max(self.messages)) if self.messages else None,
        }
        if self.guild is not None:
            data["guild_id"] = str(self.guild.id)
        if self.type == 15:
            data.update({"available_tags": [t | {"id": str(t["id"])} for t in self.available_tags],
                         "default_reaction_emoji": None, "default_thread_rate_limit_per_user": 0,
                         "default_sort_order": None, "default_forum_layout": 0})
        if self.type == 1:
            data["recipients"] = [{"id": str(self.recipient_id), "username": self.name, "discriminator": "0",
                                   "global_name": None, "avatar": None, "bot": False}]
        if self.is_thread:
            data.update({
                "owner_id": str(self.owner_id) if self.owner_id else None,
                "message_count": len(self.messages), "member_count": 1,
                "total_message_sent": len(self.messages),
                "applied_tags": [str(t) for t in self.applied_tags],
                "thread_metadata": {"archived": self.archived, "auto_archive_duration": 1440,
                                    "archive_timestamp": iso_now(), "locked": False,
                                    "create_timestamp": iso_now()},
            })
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    everyone: Role = None  # type: ignore[assignment]
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    created_at: str = field(default_factory=iso_now)
    system_channel_id: int | None = None  # where Discord posts join messages; the bot may welcome there

    def __post_init__(self) -> None:
        if self.everyone is None:
            self.everyone = Role(id=self.id, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0)

    def channel(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"no channel {name!r} in guild {self.name!r}")

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(f"no role {name!r} in guild {self.name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "name": self.name, "owner_id": str(self.owner_id), "unavailable": False,
            "roles": [r.to_dict() for r in [self.everyone, *self.roles]],
            "channels": [c.to_dict() for c in self.channels if not c.is_thread],
            "threads": [c.to_dict() for c in self.channels if c.is_thread and not c.archived],
            "members": [m.to_dict() for m in self.members.values()], "member_count": len(self.members),
            "large": False, "features": [], "emojis": [], "stickers": [], "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "joined_at": self.created_at, "icon": None, "splash": None, "banner": None, "description": None,
            "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
            "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0, "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": str(self.system_channel_id) if self.system_channel_id else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "afk_channel_id": None, "afk_timeout": 300, "vanity_url_code": None, "max_members": 500000,
            "application_id": None, "public_updates_channel_id": None, "max_video_channel_users": 25,
        }


@dataclass
class Webhook:
    """A channel webhook (type 1, "Incoming").  One the bot creates is owned by its application, which is
    what lets it send components."""

    id: int
    token: str
    channel_id: int
    guild_id: int
    name: str
    creator: User
    application_id: int | None = None
    avatar_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": 1, "guild_id": str(self.guild_id),
                "channel_id": str(self.channel_id), "name": self.name, "avatar": None, "token": self.token,
                "application_id": str(self.application_id) if self.application_id else None,
                "user": self.creator.to_dict()}

    def author(self, username: str | None) -> dict[str, Any]:
        """The author a message sent through the webhook shows: the webhook's id, the name it was given."""
        return {"id": str(self.id), "username": username or self.name, "discriminator": "0000",
                "global_name": None, "avatar": None, "bot": True, "public_flags": 0, "flags": 0}
