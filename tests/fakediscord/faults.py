"""Fault injection: answer requests with 429/5xx instead of handling them, hold them (a slow Discord), or deny
operations in a channel."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from aiohttp import web

from .errors import DiscordError, TestApiError, json_response
from .models import (
    ADD_REACTIONS,
    BOT_PERMISSIONS,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    MANAGE_MESSAGES,
    MANAGE_WEBHOOKS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Channel,
)
from .state import World

# Operations `FakeDiscord.forbid` can deny in a channel, and the permission bits they need.
OPERATIONS = {
    "send_messages": SEND_MESSAGES | SEND_MESSAGES_IN_THREADS,
    "create_thread": CREATE_PUBLIC_THREADS | CREATE_PRIVATE_THREADS,
    "add_reaction": ADD_REACTIONS,
    "manage_webhooks": MANAGE_WEBHOOKS,
    "crosspost": SEND_MESSAGES | MANAGE_MESSAGES,
}


@dataclass
class Fault:
    status: int
    method: str | None
    path: re.Pattern[str] | None
    times: int
    retry_after: float
    global_: bool

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or self.path.search(path) is not None) and self.times > 0)

    def response(self) -> web.Response:
        """What Discord sends for this status: a 429 with every rate-limit header discord.py reads."""
        if self.status == 429:
            headers = {"Retry-After": str(max(1, round(self.retry_after))), "Via": "1.1 google",
                       "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": str(time.time() + self.retry_after),
                       "X-RateLimit-Reset-After": str(self.retry_after),
                       "X-RateLimit-Scope": "global" if self.global_ else "user"}
            if self.global_:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers["X-RateLimit-Bucket"] = "fakebucket"
            body = {"message": "You are being rate limited.", "retry_after": self.retry_after,
                    "global": self.global_, "code": 0}
            return json_response(body, status=429, headers=headers)
        if self.status == 403:
            return json_response({"code": 50013, "message": "Missing Permissions"}, status=403)
        return json_response({"code": 0, "message": f"{self.status}: injected fault"}, status=self.status)


@dataclass
class Hold:
    """Matching requests wait (recorded, not yet handled) until `release()`: Discord being slow, on demand."""

    method: str | None
    path: re.Pattern[str] | None
    waiting: int = 0  # requests that have arrived and are held
    released: asyncio.Event = field(default_factory=asyncio.Event)
    passes: int = 0  # matching requests let through before holding starts (a release's first parts)

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or self.path.search(path) is not None))

    def release(self) -> None:
        """Let every held request (and any later match) through."""
        self.released.set()


class Faults(World):
    """FakeDiscord's part that injects faults: `inject_fault`, `forbid` / `allow`."""

    def inject_fault(self, status: int, *, method: str | None = None, path: str | None = None, times: int = 1,
                     retry_after: float = 0.05, global_: bool = False) -> Fault:
        """Answer the next `times` matching requests with `status` (429, 500, 502, ...), not handling them."""
        fault = Fault(status=status, method=method, path=re.compile(path) if path else None, times=times,
                      retry_after=retry_after, global_=global_)
        self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        """The first injected fault matching this request, used up by one."""
        fault = next((f for f in self._faults if f.matches(method, path)), None)
        if fault is not None:
            fault.times -= 1
        return fault

    def hold(self, *, method: str | None = None, path: str | None = None, after: int = 0) -> Hold:
        """Hold matching requests until `hold.release()`; `await fake.wait_for(lambda: hold.waiting)`.

        `after`: the first `after` matching requests go through (hold a release after its first part).
        """
        held = Hold(method=method, path=re.compile(path) if path else None, passes=after)
        self._holds.append(held)
        return held

    async def _wait_holds(self, method: str, path: str) -> None:
        for held in list(self._holds):
            if held.matches(method, path) and not held.released.is_set():
                if held.passes > 0:
                    held.passes -= 1
                    continue
                held.waiting += 1
                await self._notify()
                await held.released.wait()

    def forbid(self, channel: Channel | int, *operations: str) -> None:
        """403 Missing Permissions (50013) in this channel for the given operations (default: all)."""
        cid = channel if isinstance(channel, int) else channel.id
        ops = set(operations or OPERATIONS)
        unknown = ops - set(OPERATIONS)
        if unknown:
            raise TestApiError(f"unknown operations {unknown}; choose from {set(OPERATIONS)}")
        self._forbidden.setdefault(cid, set()).update(ops)

    def allow(self, channel: Channel | int) -> None:
        self._forbidden.pop(channel if isinstance(channel, int) else channel.id, None)

    def _check_allowed(self, channel_id: int, operation: str, *, own_message: bool = True) -> None:
        ch = self.channels.get(channel_id)
        ids = {channel_id} | ({ch.parent_id} if ch and ch.parent_id else set())
        if any(operation in self._forbidden.get(i, ()) for i in ids):
            raise DiscordError(403, 50013, "Missing Permissions")
        if ch is not None:
            bot_member = ch.guild.members.get(self.bot_user.id) if ch.guild else None
            perms = self._overwritten(ch, BOT_PERMISSIONS | (bot_member.permissions if bot_member else 0))
            needed = OPERATIONS[operation]
            if operation == "send_messages":  # one of the two, by where the message goes
                needed = SEND_MESSAGES_IN_THREADS if ch.is_thread else SEND_MESSAGES
            elif operation == "create_thread" and ch.type == 15:  # a forum post is a message: Send Messages
                needed = SEND_MESSAGES
            elif operation == "crosspost":  # publishing its own message; someone else's needs more
                needed = SEND_MESSAGES if own_message else MANAGE_MESSAGES
            if not perms & VIEW_CHANNEL or not perms & needed:
                raise DiscordError(403, 50013, "Missing Permissions")

    def _overwritten(self, channel: Channel, perms: int) -> int:
        """The bot's `perms` after `channel`'s permission overwrites, in Discord's order: @everyone, then
        the bot's roles (denies, then allows), then the bot's own member overwrite.  A thread follows its
        parent's overwrites."""
        if channel.is_thread and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]
        guild = channel.guild
        if guild is None or not channel.overwrites:
            return perms
        bot_member = guild.members.get(self.bot_user.id)
        role_ids = {r.id for r in bot_member.roles} if bot_member else set()
        by_id = {int(o["id"]): o for o in channel.overwrites}
        if (everyone := by_id.get(guild.id)) is not None:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        roles = [o for i, o in by_id.items() if i in role_ids and o["type"] == 0]
        deny = allow = 0
        for o in roles:
            deny, allow = deny | int(o["deny"]), allow | int(o["allow"])
        perms = (perms & ~deny) | allow
        if (own := by_id.get(self.bot_user.id)) is not None and own["type"] == 1:
            perms = (perms & ~int(own["deny"])) | int(own["allow"])
        return perms

    def app_permissions(self, channel: Channel) -> int:
        """The bot's permissions in `channel` as interactions report them: less what `forbid` denies there."""
        bot_member = channel.guild.members.get(self.bot_user.id) if channel.guild else None
        granted = BOT_PERMISSIONS | (bot_member.permissions if bot_member else 0)  # e.g. Manage Roles given
        perms = self._overwritten(channel, granted)
        for op in self._forbidden.get(channel.id, set()) | self._forbidden.get(channel.parent_id or 0, set()):
            perms &= ~OPERATIONS[op]
        return perms
