"""A fake Discord on 127.0.0.1: REST under /api/v10, a gateway WebSocket, and a test API to act as members.

Everything that waits does so on `self._cond` (an asyncio.Condition notified on every change) with a
timeout; nothing sleeps.
"""

# The test API's waits take `timeout=` by design (`await record.wait_response(timeout=5)`).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from . import validation as v
from .models import (
    ADD_REACTIONS,
    ALL_PERMISSIONS,
    BOT_PERMISSIONS,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    Channel,
    Guild,
    Member,
    Role,
    User,
    iso_now,
    snowflake,
)

EPHEMERAL = 1 << 6
LOADING = 1 << 7
HAS_THREAD = 1 << 5

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)
_EVENT_INTENTS = {
    "GUILD_CREATE": INTENT_GUILDS, "GUILD_DELETE": INTENT_GUILDS, "CHANNEL_CREATE": INTENT_GUILDS,
    "THREAD_CREATE": INTENT_GUILDS, "THREAD_UPDATE": INTENT_GUILDS, "THREAD_DELETE": INTENT_GUILDS,
    "MESSAGE_REACTION_ADD": INTENT_GUILD_MESSAGE_REACTIONS, "MESSAGE_REACTION_REMOVE": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_EMOJI": INTENT_GUILD_MESSAGE_REACTIONS,
}

# Operations `FakeDiscord.forbid` can deny in a channel, and the permission bits they need.
OPERATIONS = {
    "send_messages": SEND_MESSAGES | SEND_MESSAGES_IN_THREADS,
    "create_thread": CREATE_PUBLIC_THREADS | CREATE_PRIVATE_THREADS,
    "add_reaction": ADD_REACTIONS,
}

OPTION_TYPES = {3: str, 4: int, 5: bool, 10: float}
JSON_KEY = web.RequestKey("json", object)
FILES_KEY = web.RequestKey("files", list)


class DiscordError(Exception):
    """Raised inside a handler: becomes an HTTP error response with Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Exactly `Content-Type: application/json` as Discord sends it (discord.py compares the header verbatim)."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def _form_error(errors: dict) -> DiscordError:
    return DiscordError(400, 50035, "Invalid Form Body", errors)


class TestApiError(AssertionError):
    """The test asked the fake for something a Discord client could not do (unknown command, option...)."""

    __test__ = False  # not a pytest test class


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any
    files: list[dict[str, Any]]
    status: int | None = None
    response: Any = None


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


@dataclass
class InteractionResponse:
    kind: str  # "callback", "followup", "edit", "delete"
    type: int | None  # callback type for "callback"
    data: dict[str, Any]
    ephemeral: bool
    message: dict[str, Any] | None = None


@dataclass
class Interaction:
    """One interaction the fake sent to the bot, and everything the bot answered to it."""

    fake: FakeDiscord
    id: int
    token: str
    type: int
    payload: dict[str, Any]
    member: Member | None
    channel: Channel
    created_at: float
    acknowledged_with: int | None = None
    callback: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    responses: list[InteractionResponse] = field(default_factory=list)
    edited: bool = False

    @property
    def message(self) -> dict[str, Any] | None:
        """The original response message as it is now (after edits)."""
        if self.original_message_id is None:
            return None
        return self.fake.messages.get(self.original_message_id)

    @property
    def followups(self) -> list[dict[str, Any]]:
        return [self.fake.messages[i] for i in self.followup_ids if i in self.fake.messages]

    @property
    def ephemeral(self) -> bool:
        msg = self.message
        return bool(msg and msg["flags"] & EPHEMERAL)

    async def wait_response(self, timeout: float = 5.0) -> dict[str, Any]:
        """The initial callback body (`{"type": 4, "data": {...}}`) once the bot has sent it."""
        await self.fake.wait_for(lambda: self.callback is not None, timeout=timeout)
        assert self.callback is not None
        return self.callback

    async def wait_message(self, timeout: float = 5.0) -> dict[str, Any]:
        """The original response message once it has content: at once for type 4/7, after the edit for 5/6."""
        def done() -> bool:
            if self.acknowledged_with in (4, 7):
                return True
            return self.acknowledged_with in (5, 6) and self.edited
        await self.fake.wait_for(done, timeout=timeout)
        msg = self.message
        assert msg is not None, "the interaction was answered without a message"
        return msg

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        await self.fake.wait_for(lambda: len(self.followup_ids) >= count, timeout=timeout)
        return self.followups

    @property
    def choices(self) -> list[dict[str, Any]]:
        assert self.callback and self.callback["type"] == 8, "not answered with autocomplete choices"
        return self.callback["data"].get("choices", [])

    @property
    def modal(self) -> dict[str, Any]:
        assert self.callback and self.callback["type"] == 9, "not answered with a modal"
        return self.callback["data"]


@dataclass
class GuildSetup:
    """A ready-made guild: a #general and a #story channel, a Moderator role, a moderator and a reader."""

    guild: Guild
    general: Channel
    story: Channel
    moderator_role: Role
    moderator: Member
    member: Member


def _emoji_from_path(raw: str) -> dict[str, Any]:
    text = unquote(raw)
    if ":" in text:
        name, _, eid = text.rpartition(":")
        return {"id": eid, "name": name[2:] if name.startswith("a:") else name}
    return {"id": None, "name": text}


def _emoji_key(emoji: dict[str, Any] | str) -> str:
    if isinstance(emoji, str):
        emoji = _emoji_from_path(emoji)
    return f"{emoji['name']}:{emoji['id']}" if emoji.get("id") else emoji["name"]


class FakeDiscord:
    """Fake Discord API + gateway.  `await start()`, point the bot at `api_base` / `gateway_url`."""

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

        self.application_id = snowflake()
        self.bot_user = User(id=self.application_id, name="AAR Bot", bot=True)
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, dict[str, Any]] = {}  # every message incl. ephemeral ones, by id
        self.requests: list[RecordedRequest] = []
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.interactions: dict[int, Interaction] = {}
        self.gateway_received: list[dict[str, Any]] = []  # ops from the client, tokens redacted
        self.identify_count = 0
        self.resume_count = 0
        self.intents: int | None = None

        self._reactions: dict[tuple[int, str], list[int]] = {}  # (message id, emoji key) -> user ids
        self._nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self._faults: list[Fault] = []
        self._forbidden: dict[int, set[str]] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._cond = asyncio.Condition()
        self._ws: web.WebSocketResponse | None = None
        self._send_lock = asyncio.Lock()
        self._session_id: str | None = None
        self._seq = 0
        self._event_log: list[dict[str, Any]] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/gateway-ws/"

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeDiscord:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app.router)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- waiting ---------------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked on every change in the fake); return its value."""
        async with self._cond:
            try:
                return await asyncio.wait_for(self._cond.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError(f"fake Discord: condition not met within {timeout}s") from None

    async def wait_for_request(self, method: str, path: str | re.Pattern[str], timeout: float = 5.0,
                               *, status: int | None = None) -> RecordedRequest:
        """The first recorded request (answered) matching method and path regex (and status, if given)."""
        pattern = re.compile(path) if isinstance(path, str) else path

        def find() -> RecordedRequest | None:
            for r in self.requests:
                if (r.method == method and pattern.search(r.path) and r.status is not None
                        and (status is None or r.status == status)):
                    return r
            return None
        return await self.wait_for(find, timeout)

    async def wait_identified(self, count: int = 1, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self.identify_count >= count, timeout)

    async def wait_resumed(self, count: int = 1, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self.resume_count >= count, timeout)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    # --- world building (test API) ---------------------------------------------------------------

    async def add_guild(self, name: str = "Test Guild", channels: Iterable[str] = ("general",)) -> Guild:
        """A guild the bot is in (dispatched as GUILD_CREATE when the bot is already connected)."""
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
        self.guilds[guild.id] = guild
        if self._session_id is not None:
            await self.dispatch("GUILD_CREATE", guild.to_dict())
        return guild

    async def add_channel(self, guild: Guild, name: str, *, type: int = 0) -> Channel:
        channel = Channel(id=snowflake(), name=name, guild=guild, type=type)
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
            guild=guild, general=guild.channel("general"), story=guild.channel("story"), moderator_role=mod_role,
            moderator=self.add_member(guild, "moddy", roles=[mod_role]), member=self.add_member(guild, "reader"),
        )

    def history(self, channel: Channel | int) -> list[dict[str, Any]]:
        """A channel's (non-ephemeral) messages, oldest first."""
        cid = channel if isinstance(channel, int) else channel.id
        return self.channels[cid].history

    def post_as(self, member: Member, channel: Channel, content: str) -> dict[str, Any]:
        """Put a member's message into a channel's history (not dispatched: the bot has no message intents)."""
        return self._create_message(channel, {"content": content}, author=member.user)

    # --- fault injection -------------------------------------------------------------------------

    def inject_fault(self, status: int, *, method: str | None = None, path: str | None = None, times: int = 1,
                     retry_after: float = 0.05, global_: bool = False) -> Fault:
        """Answer the next `times` matching requests with `status` (429, 500, 502, ...) instead of handling them."""
        fault = Fault(status=status, method=method, path=re.compile(path) if path else None, times=times,
                      retry_after=retry_after, global_=global_)
        self._faults.append(fault)
        return fault

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

    def _check_allowed(self, channel_id: int, operation: str) -> None:
        ch = self.channels.get(channel_id)
        ids = {channel_id} | ({ch.parent_id} if ch and ch.parent_id else set())
        if any(operation in self._forbidden.get(i, ()) for i in ids):
            raise DiscordError(403, 50013, "Missing Permissions")

    def app_permissions(self, channel: Channel) -> int:
        perms = BOT_PERMISSIONS
        for op in self._forbidden.get(channel.id, set()) | self._forbidden.get(channel.parent_id or 0, set()):
            perms &= ~OPERATIONS[op]
        return perms

    # --- gateway -----------------------------------------------------------------------------------

    async def _send(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> bool:
        async with self._send_lock:
            if ws.closed:
                return False
            try:
                await ws.send_str(json.dumps(payload))
            except (ConnectionError, RuntimeError):
                return False
            return True

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH (if the bot's intents ask for it); kept for replay on RESUME."""
        needed = _EVENT_INTENTS.get(event)
        if needed is not None and self.intents is not None and not self.intents & needed:
            return
        self._seq += 1
        payload = {"op": 0, "t": event, "s": self._seq, "d": data}
        self._event_log.append(payload)
        if self._ws is not None:
            await self._send(self._ws, payload)
        await self._notify()

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's gateway connection (a resumable close code by default); it must RESUME."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close(code=code)
        await self._notify()

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await self._send(ws, {"op": 10, "s": None, "t": None,
                                  "d": {"heartbeat_interval": int(self.heartbeat_interval * 1000)}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                packet = json.loads(msg.data)
                op, d = packet.get("op"), packet.get("d")
                redacted = json.loads(msg.data)
                if isinstance(redacted.get("d"), dict) and "token" in redacted["d"]:
                    redacted["d"]["token"] = "<redacted>"
                self.gateway_received.append(redacted)
                if op == 1:
                    await self._send(ws, {"op": 11, "s": None, "t": None, "d": None})
                elif op == 2:
                    await self._identify(ws, d)
                elif op == 6:
                    await self._resume(ws, d)
                await self._notify()
        finally:
            self._sockets.discard(ws)
            if self._ws is ws:
                self._ws = None
            await self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents", 0))
        if intents & PRIVILEGED_INTENTS and not self.privileged_intents_enabled:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.intents = intents
        self.identify_count += 1
        self._session_id = uuid.uuid4().hex
        self._seq = 0
        self._event_log = []
        self._ws = ws
        await self.dispatch("READY", {
            "v": 10, "user": self.bot_user.to_dict() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": self._session_id, "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0}, "private_channels": [],
            "relationships": [], "presences": [], "guild_join_requests": [], "geo_ordered_rtc_regions": [],
            "shard": [0, 1],
        })
        for guild in self.guilds.values():
            await self.dispatch("GUILD_CREATE", guild.to_dict())

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if d.get("session_id") != self._session_id or self._session_id is None:
            await self._send(ws, {"op": 9, "s": None, "t": None, "d": False})
            return
        self._ws = ws
        seq = d.get("seq") or 0
        for payload in [p for p in self._event_log if p["s"] > seq]:
            await self._send(ws, payload)
        self.resume_count += 1
        await self.dispatch("RESUMED", {})

    # --- acting as members -----------------------------------------------------------------------

    def _find_command(self, name: str, guild: Guild | None) -> dict[str, Any]:
        candidates = (self.guild_commands.get(guild.id, []) if guild else []) + self.global_commands
        for command in candidates:
            if command["name"] == name and command.get("type", 1) == 1:
                return command
        known = sorted({c["name"] for c in candidates})
        raise TestApiError(f"no slash command /{name} registered (registered: {known})")

    def _convert_option(self, schema: dict[str, Any], value: Any, resolved: dict[str, Any],
                        guild: Guild | None) -> Any:
        otype = schema["type"]
        if otype in OPTION_TYPES:
            value = OPTION_TYPES[otype](value)
            choices = schema.get("choices")
            if choices and value not in [c["value"] for c in choices]:
                raise TestApiError(f"{value!r} is not a choice of option {schema['name']!r}")
            return value
        if otype in (6, 9) and isinstance(value, Member | User):
            member = value if isinstance(value, Member) else None
            user = value.user if isinstance(value, Member) else value
            resolved.setdefault("users", {})[str(user.id)] = user.to_dict()
            if member is not None:
                data = member.to_dict(with_permissions=True)
                data.pop("user")
                resolved.setdefault("members", {})[str(user.id)] = data
            return str(user.id)
        if otype == 7 and isinstance(value, Channel):
            data = value.to_dict() | {"permissions": str(ALL_PERMISSIONS)}
            resolved.setdefault("channels", {})[str(value.id)] = data
            return str(value.id)
        if otype in (8, 9) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = value.to_dict()
            return str(value.id)
        raise TestApiError(f"cannot pass {value!r} as option {schema['name']!r} of type {otype}")

    def _build_command_data(self, qualified: str, guild: Guild | None, options: dict[str, Any],
                            focused: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        parts = qualified.split()
        command = self._find_command(parts[0], guild)
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        schema_options = command.get("options") or []
        container = data
        for part in parts[1:]:
            sub = next((o for o in schema_options if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise TestApiError(f"/{qualified}: {part!r} is not a subcommand")
            node: dict[str, Any] = {"name": part, "type": sub["type"]}
            container["options"] = [node]
            container = node
            schema_options = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema_options):
            raise TestApiError(f"/{qualified} is a group; name a subcommand")
        resolved: dict[str, Any] = {}
        leaf: list[dict[str, Any]] = []
        by_name = {o["name"]: o for o in schema_options}
        for name, value in options.items():
            schema = by_name.get(name)
            if schema is None:
                raise TestApiError(f"/{qualified} has no option {name!r} (has {sorted(by_name)})")
            if name == focused:
                leaf.append({"name": name, "type": schema["type"], "value": str(value), "focused": True})
            else:
                leaf.append({"name": name, "type": schema["type"],
                             "value": self._convert_option(schema, value, resolved, guild)})
        if focused is None:
            missing = [o["name"] for o in schema_options if o.get("required") and o["name"] not in options]
            if missing:
                raise TestApiError(f"/{qualified}: required options missing: {missing}")
        elif focused not in options:
            raise TestApiError(f"focused option {focused!r} needs a value in options")
        container["options"] = leaf
        if resolved:
            data["resolved"] = resolved
        return data, command

    def _resolve_place(self, guild: Guild | None, channel: Channel | None,
                       member: Member | None) -> tuple[Guild, Channel, Member]:
        if channel is not None and guild is None:
            guild = channel.guild
        if guild is None:
            if not self.guilds:
                raise TestApiError("no guild: call add_guild / add_standard_guild first")
            guild = next(iter(self.guilds.values()))
        if channel is None:
            channel = next(c for c in guild.channels if c.type == 0)
        if member is None:
            member = next((m for m in guild.members.values() if m.id not in (guild.owner_id, self.bot_user.id)),
                          None) or self.add_member(guild, "member")
        return guild, channel, member

    async def _create_interaction(self, type: int, data: dict[str, Any], guild: Guild, channel: Channel,
                                  member: Member, message: dict[str, Any] | None = None,
                                  dispatch: bool = True) -> Interaction:
        iid = snowflake()
        token = f"itoken-{uuid.uuid4().hex}"
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(self.application_id), "type": type, "data": data,
            "guild_id": str(guild.id), "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.to_dict() | {"permissions": str(member.permissions)},
            "member": member.to_dict(with_permissions=True), "token": token, "version": 1,
            "app_permissions": str(self.app_permissions(channel)), "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "entitlement_sku_ids": [], "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0, "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        record = Interaction(fake=self, id=iid, token=token, type=type, payload=payload, member=member,
                             channel=channel, created_at=time.monotonic())
        self.interactions[iid] = record
        if not dispatch:
            return record
        if not self.connected:
            raise TestApiError("the bot is not connected to the gateway")
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def invoke(self, command: str, *, guild: Guild | None = None, channel: Channel | None = None,
                     member: Member | None = None, options: dict[str, Any] | None = None,
                     bypass_permissions: bool = False) -> Interaction:
        """Run `/command` (e.g. "chapter next" or "aar status") as `member` with options {name: value}.

        Values: str/int/bool/float, a Member/User, Channel or Role for those option types.  Like the Discord
        client, refuses commands whose `default_member_permissions` the member lacks (unless bypassed).
        """
        guild, channel, member = self._resolve_place(guild, channel, member)
        data, schema = self._build_command_data(command, guild, options or {})
        required = schema.get("default_member_permissions")
        if required is not None and not bypass_permissions and member.permissions & int(required) != int(required):
            raise TestApiError(f"{member.name} lacks permissions {required} for /{command}")
        return await self._create_interaction(2, data, guild, channel, member)

    async def autocomplete(self, command: str, *, focused: str, options: dict[str, Any],
                           guild: Guild | None = None, channel: Channel | None = None, member: Member | None = None,
                           timeout: float = 5.0) -> list[dict[str, Any]]:
        """Type into option `focused` (its value in `options` is what was typed); return the bot's choices."""
        guild, channel, member = self._resolve_place(guild, channel, member)
        data, _ = self._build_command_data(command, guild, options, focused=focused)
        record = await self._create_interaction(4, data, guild, channel, member)
        await record.wait_response(timeout)
        return record.choices

    @staticmethod
    def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
        for component in v._walk_components(components):
            if component.get("custom_id") == custom_id:
                return component
        return None

    async def click(self, message: dict[str, Any] | int, custom_id: str, *, member: Member | None = None,
                    values: list[str] | None = None) -> Interaction:
        """Click a button (or choose `values` in a select) that is on `message`."""
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        component = self._find_component(msg.get("components") or [], custom_id)
        if component is None:
            raise TestApiError(f"no component {custom_id!r} on message {msg['id']}")
        if component.get("disabled"):
            raise TestApiError(f"component {custom_id!r} is disabled")
        channel = self.channels[int(msg["channel_id"])]
        guild, channel, member = self._resolve_place(channel.guild, channel, member)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = list(values or [])
        return await self._create_interaction(3, data, guild, channel, member, message=msg)

    async def submit_modal(self, opened_by: Interaction, values: dict[str, str], *,
                           member: Member | None = None) -> Interaction:
        """Submit the modal the bot opened in answer to `opened_by`, with text inputs {custom_id: value}."""
        modal = opened_by.modal

        def fill(component: dict[str, Any]) -> dict[str, Any]:
            if component.get("type") == 1:
                return {"type": 1, "components": [fill(c) for c in component.get("components", [])]}
            if component.get("type") == 18:
                return {"type": 18, "component": fill(component["component"])}
            cid = component.get("custom_id")
            out: dict[str, Any] = {"type": component.get("type"), "custom_id": cid}
            if component.get("type") == 4:
                out["value"] = values.get(cid, component.get("value") or "")
            elif cid in values:
                val = values[cid]
                out["values"] = val if isinstance(val, list) else [val]
            return out

        data = {"custom_id": modal["custom_id"], "components": [fill(c) for c in modal.get("components", [])]}
        guild, channel, member = self._resolve_place(opened_by.channel.guild, opened_by.channel,
                                                     member or opened_by.member)
        return await self._create_interaction(5, data, guild, channel, member)

    def _reaction_entry(self, message: dict[str, Any], emoji: dict[str, Any]) -> dict[str, Any] | None:
        for entry in message["reactions"]:
            if _emoji_key(entry["emoji"]) == _emoji_key(emoji):
                return entry
        return None

    def _apply_reaction(self, message: dict[str, Any], emoji: dict[str, Any], user_id: int, add: bool) -> bool:
        key = (int(message["id"]), _emoji_key(emoji))
        users = self._reactions.setdefault(key, [])
        if add == (user_id in users):
            return False
        users.append(user_id) if add else users.remove(user_id)
        entry = self._reaction_entry(message, emoji)
        if entry is None:
            entry = {"emoji": emoji, "count": 0, "me": False, "me_burst": False, "burst_count": 0,
                     "count_details": {"normal": 0, "burst": 0}, "burst_colors": []}
            message["reactions"].append(entry)
        entry["count"] = len(users)
        entry["count_details"]["normal"] = len(users)
        entry["me"] = self.bot_user.id in users
        if not users:
            message["reactions"].remove(entry)
            del self._reactions[key]
        return True

    def _reaction_event(self, message: dict[str, Any], emoji: dict[str, Any]) -> dict[str, Any]:
        data = {"channel_id": message["channel_id"], "message_id": message["id"], "emoji": emoji,
                "burst": False, "type": 0}
        if message.get("guild_id"):
            data["guild_id"] = message["guild_id"]
        return data

    async def add_reaction(self, member: Member, message: dict[str, Any] | int, emoji: str | dict[str, Any]) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        em = _emoji_from_path(emoji) if isinstance(emoji, str) else emoji
        if self._apply_reaction(msg, em, member.id, add=True):
            data = self._reaction_event(msg, em) | {
                "user_id": str(member.id), "member": member.to_dict(), "message_author_id": msg["author"]["id"]}
            await self.dispatch("MESSAGE_REACTION_ADD", data)

    async def remove_reaction(self, member: Member, message: dict[str, Any] | int,
                              emoji: str | dict[str, Any]) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        em = _emoji_from_path(emoji) if isinstance(emoji, str) else emoji
        if self._apply_reaction(msg, em, member.id, add=False):
            await self.dispatch("MESSAGE_REACTION_REMOVE", self._reaction_event(msg, em) | {"user_id": str(member.id)})

    async def remove_all_reactions(self, message: dict[str, Any] | int) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        self._clear_reactions(msg, None)
        data = {"channel_id": msg["channel_id"], "message_id": msg["id"], "guild_id": msg.get("guild_id")}
        await self.dispatch("MESSAGE_REACTION_REMOVE_ALL", data)

    async def remove_emoji_reactions(self, message: dict[str, Any] | int, emoji: str | dict[str, Any]) -> None:
        msg = self.messages[message] if isinstance(message, int) else self.messages[int(message["id"])]
        em = _emoji_from_path(emoji) if isinstance(emoji, str) else emoji
        self._clear_reactions(msg, em)
        data = self._reaction_event(msg, em)
        data.pop("burst"), data.pop("type")
        await self.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", data)

    def _clear_reactions(self, msg: dict[str, Any], emoji: dict[str, Any] | None) -> None:
        for key in [k for k in self._reactions if k[0] == int(msg["id"])]:
            if emoji is None or key[1] == _emoji_key(emoji):
                del self._reactions[key]
        msg["reactions"] = [] if emoji is None else [
            e for e in msg["reactions"] if _emoji_key(e["emoji"]) != _emoji_key(emoji)]

    def reactions(self, message: dict[str, Any] | int, emoji: str) -> list[int]:
        """User ids that reacted with `emoji` on `message`, in order."""
        mid = message if isinstance(message, int) else int(message["id"])
        return list(self._reactions.get((mid, _emoji_key(emoji)), []))

    # --- REST plumbing -----------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if not request.path.startswith("/api/v10"):
            return await handler(request)
        path = request.path[len("/api/v10"):]
        body, files = await self._read_body(request)
        request[JSON_KEY], request[FILES_KEY] = body, files
        record = RecordedRequest(request.method, path, dict(request.query), body, files)
        self.requests.append(record)
        try:
            public = path.startswith(("/interactions/", "/webhooks/"))
            if not public and request.headers.get("Authorization") != f"Bot {self.token}":
                raise DiscordError(401, 0, "401: Unauthorized")
            fault = next((f for f in self._faults if f.matches(request.method, path)), None)
            if fault is not None:
                fault.times -= 1
                response = self._fault_response(fault)
            else:
                response = await handler(request)
        except DiscordError as exc:
            response = _json(exc.body, status=exc.status)
        except web.HTTPException as exc:
            response = _json({"code": 0, "message": f"{exc.status}: {exc.reason}"}, status=exc.status)
        record.status = response.status
        if isinstance(response, web.Response) and response.body is not None and response.headers.get("Content-Type") == "application/json":
            record.response = json.loads(response.body)  # type: ignore[arg-type]
        await self._notify()
        return response

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        if fault.status == 429:
            headers = {"Retry-After": str(max(1, round(fault.retry_after))), "Via": "1.1 google",
                       "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": str(time.time() + fault.retry_after),
                       "X-RateLimit-Reset-After": str(fault.retry_after),
                       "X-RateLimit-Scope": "global" if fault.global_ else "user"}
            if fault.global_:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers["X-RateLimit-Bucket"] = "fakebucket"
            body = {"message": "You are being rate limited.", "retry_after": fault.retry_after,
                    "global": fault.global_, "code": 0}
            return _json(body, status=429, headers=headers)
        if fault.status == 403:
            return _json({"code": 50013, "message": "Missing Permissions"}, status=403)
        return _json({"code": 0, "message": f"{fault.status}: injected fault"}, status=fault.status)

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        files: list[dict[str, Any]] = []
        if request.content_type.startswith("multipart/"):
            body: Any = None
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    files.append({"field": part.name, "filename": part.filename, "data": bytes(data)})
            return body, files
        if request.body_exists:
            raw = await request.read()
            if raw:
                try:
                    return json.loads(raw), files
                except ValueError:
                    raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
        return None, files

    def _add_routes(self, r: web.UrlDispatcher) -> None:
        a = "/api/v10"
        r.add_get("/gateway-ws/", self._gateway)
        r.add_get(a + "/gateway", self._get_gateway)
        r.add_get(a + "/gateway/bot", self._get_gateway_bot)
        r.add_get(a + "/users/@me", self._get_me)
        r.add_get(a + "/applications/@me", self._get_application)
        r.add_get(a + "/oauth2/applications/@me", self._get_application)
        r.add_route("*", a + "/applications/{app_id}/commands", self._commands)
        r.add_route("*", a + "/applications/{app_id}/guilds/{guild_id}/commands", self._commands)
        r.add_post(a + "/interactions/{iid}/{token}/callback", self._interaction_callback)
        r.add_post(a + "/webhooks/{app_id}/{token}", self._webhook_execute)
        r.add_route("*", a + "/webhooks/{app_id}/{token}/messages/{mid}", self._webhook_message)
        r.add_get(a + "/channels/{cid}", self._get_channel)
        r.add_route("*", a + "/channels/{cid}/messages", self._channel_messages)
        r.add_route("*", a + "/channels/{cid}/messages/{mid}", self._channel_message)
        r.add_route("*", a + "/channels/{cid}/messages/{mid}/reactions", self._reactions_all)
        r.add_route("*", a + "/channels/{cid}/messages/{mid}/reactions/{emoji}", self._reactions_emoji)
        r.add_route("*", a + "/channels/{cid}/messages/{mid}/reactions/{emoji}/{user}", self._reaction_user)
        r.add_post(a + "/channels/{cid}/messages/{mid}/threads", self._thread_from_message)
        r.add_post(a + "/channels/{cid}/threads", self._thread_without_message)
        r.add_route("*", a + "/channels/{cid}/thread-members/@me", self._join_thread)
        r.add_get(a + "/guilds/{gid}", self._get_guild)
        r.add_get(a + "/guilds/{gid}/members/{uid}", self._get_member)

    # --- REST handlers -----------------------------------------------------------------------------

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json(self.bot_user.to_dict() | {"verified": True, "mfa_enabled": False})

    async def _get_application(self, request: web.Request) -> web.Response:
        owner = User(id=1, name="owner")
        return _json({
            "id": str(self.application_id), "name": self.bot_user.name, "icon": None, "description": "",
            "summary": "", "type": None, "bot_public": True, "bot_require_code_grant": False,
            "owner": owner.to_dict(), "team": None, "verify_key": "0" * 64, "flags": 0,
            "bot": self.bot_user.to_dict(), "rpc_origins": [], "tags": [], "redirect_uris": [],
            "interactions_endpoint_url": None, "approximate_guild_count": len(self.guilds),
        })

    def _command_payload(self, body: dict[str, Any], guild_id: int | None) -> dict[str, Any]:
        ctype = body.get("type", 1)
        key = (guild_id, ctype, body["name"])
        cid = self._command_ids.setdefault(key, snowflake())
        return {
            "id": str(cid), "application_id": str(self.application_id), "version": str(snowflake()),
            "type": ctype, "name": body["name"], "description": body.get("description", ""),
            "options": body.get("options", []), "default_member_permissions": body.get("default_member_permissions"),
            "dm_permission": body.get("dm_permission", True), "nsfw": body.get("nsfw", False),
            "contexts": body.get("contexts"), "integration_types": body.get("integration_types", [0]),
            "name_localizations": body.get("name_localizations"),
            "description_localizations": body.get("description_localizations"),
        } | ({"guild_id": str(guild_id)} if guild_id else {})

    async def _commands(self, request: web.Request) -> web.Response:
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(404, 10002, "Unknown Application")
        gid = request.match_info.get("guild_id")
        guild_id = int(gid) if gid else None
        if guild_id is not None and guild_id not in self.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        if request.method == "GET":
            return _json(self.guild_commands.get(guild_id, []) if guild_id else self.global_commands)
        if request.method != "PUT":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "PUT"])
        body = request[JSON_KEY]
        if not isinstance(body, list):
            raise _form_error({"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Only iterables may be used in a ListType"}]})
        errors = v.validate_commands(body, global_=guild_id is None)
        if errors:
            raise _form_error(errors)
        commands = [self._command_payload(c, guild_id) for c in body]
        if guild_id is None:
            self.global_commands = commands
        else:
            self.guild_commands[guild_id] = commands
        self.command_syncs.append((guild_id, commands))
        return _json(commands)

    def _channel(self, request: web.Request) -> Channel:
        channel = self.channels.get(int(request.match_info["cid"]))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, channel: Channel, mid: str) -> dict[str, Any]:
        msg = channel.messages.get(int(mid))
        if msg is None:
            raise DiscordError(404, 10008, "Unknown Message")
        return msg

    def _create_message(self, channel: Channel, payload: dict[str, Any], *, author: User,
                        files: list[dict[str, Any]] = (), flags: int = 0, extra: dict[str, Any] | None = None,
                        store_in_channel: bool = True) -> dict[str, Any]:
        mid = snowflake()
        msg: dict[str, Any] = {
            "id": str(mid), "channel_id": str(channel.id), "author": author.to_dict(),
            "content": payload.get("content") or "", "timestamp": iso_now(), "edited_timestamp": None,
            "tts": bool(payload.get("tts")), "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [self._attachment(f) for f in files],
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
        self.messages[mid] = msg
        if store_in_channel and not msg["flags"] & EPHEMERAL:
            channel.messages[mid] = msg
        return msg

    @staticmethod
    def _attachment(f: dict[str, Any]) -> dict[str, Any]:
        aid = snowflake()
        return {"id": str(aid), "filename": f["filename"], "size": len(f["data"]),
                "url": f"https://cdn.fake/attachments/{aid}/{f['filename']}",
                "proxy_url": f"https://media.fake/attachments/{aid}/{f['filename']}",
                "content_type": "application/octet-stream"}

    @staticmethod
    def _validate_message(payload: dict[str, Any] | None, files: list, *, require_content: bool = True,
                          nest: str | None = None) -> dict[str, Any]:
        payload = payload or {}
        errors = v.validate_message(payload)
        if errors:
            raise _form_error({nest: errors} if nest else errors)
        if require_content and v.is_empty_message(payload, len(files)):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        return payload

    def _edit_message(self, msg: dict[str, Any], payload: dict[str, Any], files: list[dict[str, Any]]) -> None:
        merged = {k: msg.get(k) for k in ("content", "embeds", "components")} | payload
        self._validate_message(merged, files, require_content=False)
        for key in ("content", "components"):
            if key in payload:
                msg[key] = payload[key] if payload[key] is not None else ("" if key == "content" else [])
        if "embeds" in payload:
            msg["embeds"] = [{"type": "rich"} | e for e in payload["embeds"] or []]
        if "attachments" in payload or files:
            kept = {str(a.get("id")) for a in payload.get("attachments") or []}
            msg["attachments"] = [a for a in msg["attachments"] if a["id"] in kept] + [
                self._attachment(f) for f in files]
        if "flags" in payload and payload["flags"] is not None:
            msg["flags"] = (msg["flags"] & (EPHEMERAL | HAS_THREAD)) | (int(payload["flags"]) & 4)
        msg["flags"] &= ~LOADING
        msg["edited_timestamp"] = iso_now()

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json(self._channel(request).to_dict())

    async def _channel_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if request.method == "GET":
            q = request.query
            limit = min(max(int(q.get("limit", 50)), 1), 100)
            ids = sorted(channel.messages)
            if "after" in q:
                picked = [i for i in ids if i > int(q["after"])][:limit]
            elif "around" in q:
                around = int(q["around"])
                before = [i for i in ids if i < around][-(limit // 2):] if limit > 1 else []
                picked = before + [i for i in ids if i >= around][: limit - len(before)]
            else:
                pool = [i for i in ids if i < int(q["before"])] if "before" in q else ids
                picked = pool[-limit:]
            return _json([channel.messages[i] for i in sorted(picked, reverse=True)])
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        self._check_allowed(channel.id, "send_messages")
        if channel.archived:
            raise DiscordError(400, 50083, "Thread is archived")
        payload = self._validate_message(request[JSON_KEY], request[FILES_KEY])
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            key = (channel.id, str(nonce))
            seen = self._nonces.get(key)
            if seen and time.monotonic() - seen[0] < self.nonce_window and seen[1] in channel.messages:
                return _json(channel.messages[seen[1]])
        msg = self._create_message(channel, payload, author=self.bot_user, files=request[FILES_KEY])
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[(channel.id, str(nonce))] = (time.monotonic(), int(msg["id"]))
        return _json(msg)

    async def _channel_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        if request.method == "GET":
            return _json(msg)
        if request.method == "PATCH":
            if msg["author"]["id"] != str(self.bot_user.id):
                raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
            self._edit_message(msg, request[JSON_KEY] or {}, request[FILES_KEY])
            return _json(msg)
        if request.method == "DELETE":
            del channel.messages[int(msg["id"])]
            self.messages.pop(int(msg["id"]), None)
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])

    async def _reactions_all(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        if request.method != "DELETE":
            raise web.HTTPMethodNotAllowed(request.method, ["DELETE"])
        await self.remove_all_reactions(msg)
        return web.Response(status=204)

    async def _reactions_emoji(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        emoji = _emoji_from_path(request.match_info["emoji"])
        if request.method == "GET":
            users = self._reactions.get((int(msg["id"]), _emoji_key(emoji)), [])
            after = int(request.query.get("after", 0))
            limit = min(int(request.query.get("limit", 25)), 100)
            picked = sorted(u for u in users if u > after)[:limit]
            return _json([self.users[u].to_dict() for u in picked])
        if request.method == "DELETE":
            await self.remove_emoji_reactions(msg, emoji)
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "DELETE"])

    async def _reaction_user(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        emoji = _emoji_from_path(request.match_info["emoji"])
        who = request.match_info["user"]
        uid = self.bot_user.id if who == "@me" else int(who)
        if request.method == "PUT":
            if who != "@me":
                raise web.HTTPMethodNotAllowed(request.method, ["DELETE"])
            self._check_allowed(channel.id, "add_reaction")
            if self._apply_reaction(msg, emoji, uid, add=True) and self.echo_bot_reactions:
                member = channel.guild.members.get(uid) if channel.guild else None
                data = self._reaction_event(msg, emoji) | {"user_id": str(uid), "message_author_id": msg["author"]["id"]}
                if member is not None:
                    data["member"] = member.to_dict()
                await self.dispatch("MESSAGE_REACTION_ADD", data)
            return web.Response(status=204)
        if request.method == "DELETE":
            if self._apply_reaction(msg, emoji, uid, add=False) and (uid != self.bot_user.id or self.echo_bot_reactions):
                await self.dispatch("MESSAGE_REACTION_REMOVE", self._reaction_event(msg, emoji) | {"user_id": str(uid)})
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["PUT", "DELETE"])

    async def _new_thread(self, parent: Channel, tid: int, body: dict[str, Any], type: int) -> Channel:
        name = (body.get("name") or "").strip()
        if not 1 <= len(name) <= 100:
            raise _form_error({"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH",
                                                     "message": "Must be between 1 and 100 in length."}]}})
        thread = Channel(id=tid, name=name, guild=parent.guild, type=type, parent_id=parent.id,
                         owner_id=self.bot_user.id)
        self.channels[tid] = thread
        if parent.guild is not None:
            parent.guild.channels.append(thread)
        await self.dispatch("THREAD_CREATE", thread.to_dict() | {"newly_created": True})
        return thread

    async def _thread_from_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self._message(channel, request.match_info["mid"])
        self._check_allowed(channel.id, "create_thread")
        if int(msg["id"]) in self.channels:
            raise DiscordError(400, 160004, "A thread has already been created for this message")
        thread = await self._new_thread(channel, int(msg["id"]), request[JSON_KEY] or {}, 11)
        msg["flags"] |= HAS_THREAD
        msg["thread"] = thread.to_dict()
        return _json(thread.to_dict())

    async def _thread_without_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self._check_allowed(channel.id, "create_thread")
        body = request[JSON_KEY] or {}
        if channel.type == 15:
            starter = self._validate_message(body.get("message"), request[FILES_KEY], nest="message")
            thread = await self._new_thread(channel, snowflake(), body, 11)
            msg = self._create_message(thread, starter, author=self.bot_user, files=request[FILES_KEY])
            return _json(thread.to_dict() | {"message": msg})
        thread = await self._new_thread(channel, snowflake(), body, int(body.get("type") or 12))
        return _json(thread.to_dict())

    async def _join_thread(self, request: web.Request) -> web.Response:
        self._channel(request)
        return web.Response(status=204)

    async def _get_guild(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return _json(guild.to_dict())

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        member = guild.members.get(int(request.match_info["uid"]))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return _json(member.to_dict())

    # --- interactions ------------------------------------------------------------------------------

    def _interaction_by_token(self, token: str) -> Interaction:
        for record in self.interactions.values():
            if record.token == token:
                return record
        raise DiscordError(404, 10015, "Unknown Webhook")

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        record = self.interactions.get(int(request.match_info["iid"]))
        if record is None or record.token != request.match_info["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        if record.acknowledged_with is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - record.created_at > self.response_window:
            raise DiscordError(404, 10062, "Unknown interaction")
        body = request[JSON_KEY] or {}
        rtype = body.get("type")
        data = body.get("data") or {}
        files = request[FILES_KEY]
        message: dict[str, Any] | None = None
        if rtype == 4:
            self._validate_message(data, files, nest="data")
            message = self._create_message(record.channel, data, author=self.bot_user, files=files,
                                           extra=self._interaction_metadata(record))
        elif rtype == 5:
            message = self._create_message(record.channel, {"flags": data.get("flags")}, author=self.bot_user,
                                           flags=LOADING, extra=self._interaction_metadata(record))
        elif rtype in (6, 7):
            if record.type not in (3, 5) or "message" not in record.payload and rtype == 7:
                raise DiscordError(400, 40004, "Interaction response type not valid for this interaction")
            if "message" in record.payload:
                message = self.messages[int(record.payload["message"]["id"])]
                if rtype == 7:
                    self._edit_message(message, data, files)
        elif rtype == 8:
            if record.type != 4:
                raise DiscordError(400, 40004, "Interaction response type not valid for this interaction")
            errors = v.validate_autocomplete(data)
            if errors:
                raise _form_error({"data": errors})
        elif rtype == 9:
            errors = v.validate_modal(data)
            if errors:
                raise _form_error({"data": errors})
        else:
            raise _form_error({"type": {"_errors": [{"code": "BASE_TYPE_CHOICES", "message": "Value must be one of"
                                                                                               " {4, 5, 6, 7, 8, 9}."}]}})
        record.acknowledged_with = rtype
        record.callback = body
        if message is not None:
            record.original_message_id = int(message["id"])
        ephemeral = bool(message and message["flags"] & EPHEMERAL)
        record.responses.append(InteractionResponse("callback", rtype, data, ephemeral, message))
        if "with_response" not in request.query:
            return web.Response(status=204)
        out: dict[str, Any] = {"interaction": {
            "id": str(record.id), "type": record.type, "response_message_loading": rtype == 5,
            "response_message_ephemeral": ephemeral}, "resource": {"type": rtype}}
        if message is not None:
            out["interaction"]["response_message_id"] = message["id"]
            out["resource"]["message"] = message
        return _json(out)

    def _interaction_metadata(self, record: Interaction) -> dict[str, Any]:
        user = record.member.user.to_dict() if record.member else None
        return {"application_id": str(self.application_id), "webhook_id": str(self.application_id),
                "interaction_metadata": {"id": str(record.id), "type": record.type, "user": user,
                                         "authorizing_integration_owners": {}}}

    def _webhook_record(self, request: web.Request) -> Interaction:
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        record = self._interaction_by_token(request.match_info["token"])
        if time.monotonic() - record.created_at > self.followup_window:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        if record.acknowledged_with is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        return record

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        payload = self._validate_message(request[JSON_KEY], request[FILES_KEY])
        message = self._create_message(record.channel, payload, author=self.bot_user, files=request[FILES_KEY],
                                       extra=self._interaction_metadata(record))
        record.followup_ids.append(int(message["id"]))
        record.responses.append(InteractionResponse("followup", None, payload,
                                                    bool(message["flags"] & EPHEMERAL), message))
        if request.query.get("wait") in ("true", "1", "True"):
            return _json(message)
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.StreamResponse:
        record = self._webhook_record(request)
        mid = request.match_info["mid"]
        if mid == "@original":
            if record.original_message_id is None:
                raise DiscordError(404, 10008, "Unknown Message")
            message_id = record.original_message_id
        else:
            message_id = int(mid)
            if message_id not in record.followup_ids and message_id != record.original_message_id:
                raise DiscordError(404, 10008, "Unknown Message")
        msg = self.messages.get(message_id)
        if msg is None:
            raise DiscordError(404, 10008, "Unknown Message")
        if request.method == "GET":
            return _json(msg)
        if request.method == "PATCH":
            payload = request[JSON_KEY] or {}
            self._edit_message(msg, payload, request[FILES_KEY])
            if message_id == record.original_message_id:
                record.edited = True
            record.responses.append(InteractionResponse("edit", None, payload, bool(msg["flags"] & EPHEMERAL), msg))
            return _json(msg)
        if request.method == "DELETE":
            self.messages.pop(message_id, None)
            channel = self.channels.get(int(msg["channel_id"]))
            if channel is not None:
                channel.messages.pop(message_id, None)
            record.responses.append(InteractionResponse("delete", None, {}, bool(msg["flags"] & EPHEMERAL), msg))
            return web.Response(status=204)
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])
