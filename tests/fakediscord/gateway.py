"""The gateway: where it is (GET /gateway, /gateway/bot), and the WebSocket(s) the bot connects to.

HELLO, IDENTIFY -> READY + a GUILD_CREATE per guild, heartbeats, RESUME with replay of the events the bot
missed, and `dispatch` for everything else the fake tells the bot (filtered by the bot's intents).

Shards, as Discord does them: each IDENTIFY names `shard: [id, count]` (none means `[0, 1]`) and opens a
session of its own; a guild's events go to the session of shard `(guild_id >> 22) % count`, events of no
guild (DMs) to shard 0.  Refused as Discord refuses them: a malformed or impossible shard closes with 4010
(Invalid shard), a shard that would hold more than 2,500 guilds with 4011 (Sharding required), and an
IDENTIFY sooner than `identify_interval` after the previous one of its bucket
(`shard_id % max_concurrency`) is answered with op 9 Invalid Session (`identify_refusals` counts them).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .errors import json_response
from .models import Guild
from .state import World

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)
_EVENT_INTENTS = {
    "GUILD_CREATE": INTENT_GUILDS, "GUILD_DELETE": INTENT_GUILDS, "CHANNEL_CREATE": INTENT_GUILDS,
    "THREAD_CREATE": INTENT_GUILDS, "THREAD_UPDATE": INTENT_GUILDS, "THREAD_DELETE": INTENT_GUILDS,
    "MESSAGE_REACTION_ADD": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": INTENT_GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_EMOJI": INTENT_GUILD_MESSAGE_REACTIONS,
}


# Discord's limits: at most this many guilds per shard (else close 4011); it recommends a shard per 1,000.
MAX_GUILDS_PER_SHARD = 2500
GUILDS_PER_RECOMMENDED_SHARD = 1000
CLOSE_INVALID_SHARD, CLOSE_SHARDING_REQUIRED = 4010, 4011
# Events that name their guild in `id` rather than `guild_id`.
_GUILD_EVENTS = {"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"}


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's sharding formula (kept apart from the bot's own, so a slip in either shows)."""
    return (guild_id >> 22) % shard_count


@dataclass
class Session:
    """One shard's gateway session: its socket (None while disconnected), sequence and replay log."""

    shard_id: int
    shard_count: int
    session_id: str
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    event_log: list[dict[str, Any]] = field(default_factory=list)

    def routes(self, guild_id: int | None) -> bool:
        """Does an event of `guild_id` (None: of no guild) go to this session?"""
        if guild_id is None:
            return self.shard_id == 0
        return shard_of(guild_id, self.shard_count) == self.shard_id

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed


def event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to (what Discord routes it to a shard by), or None."""
    raw = data.get("id") if event in _GUILD_EVENTS else data.get("guild_id")
    return int(raw) if raw else None


class Gateway(World):
    """FakeDiscord's part that speaks the gateway protocol to the bot.

    `recommended_shards` (None: one per 1,000 guilds, as Discord), `max_concurrency` and
    `identify_interval` (Discord's is 5 s; 0, the default, turns the pacing check off so tests that restart
    a bot need not wait) are what `/gateway/bot` answers and the gateway enforces; set them before the bot
    connects.
    """

    def __init__(self, *, recommended_shards: int | None = None, max_concurrency: int = 1,
                 identify_interval: float = 0.0, **options: Any) -> None:
        super().__init__(**options)
        self.recommended_shards = recommended_shards
        self.max_concurrency = max_concurrency
        self.identify_interval = identify_interval
        self.sessions: dict[int, Session] = {}  # by shard id
        self.identify_refusals: list[tuple[int, str]] = []  # (shard id, why) of every IDENTIFY refused
        self.identified_shards: list[tuple[int, int]] = []  # (shard id, count) of every accepted IDENTIFY
        self._last_identify: dict[int, float] = {}  # bucket -> monotonic time of its last IDENTIFY
        # An outage: while set, the gateway refuses new WebSocket connections (HTTP 503), as Discord's
        # edge does when the gateway is down; a dropped shard then stays down.
        self.gateway_outage = False

    def shard_connected(self, shard_id: int) -> bool:
        session = self.sessions.get(shard_id)
        return session is not None and session.connected

    def guilds_of_shard(self, shard_id: int, shard_count: int) -> list[Guild]:
        return [g for g in self.guilds.values() if shard_of(g.id, shard_count) == shard_id]

    def move_guild_to_shard(self, guild: Guild, shard_id: int, shard_count: int) -> Guild:
        """Give `guild` a new id (its creation time moved by under `shard_count` ms) on `shard_id`.

        Test set-up only, before the bot connects: snowflakes made in the same millisecond share a shard,
        so a test that needs guilds on each shard builds them and moves them.
        """
        if self.sessions:
            raise RuntimeError("move guilds before the bot connects (it already knows their ids)")
        timestamp = guild.id >> 22
        moved = (timestamp - timestamp % shard_count + shard_id) << 22 | (guild.id & 0x3FFFFF)
        self.guilds.pop(guild.id, None)
        guild.id = moved
        guild.everyone.id = moved  # @everyone's id is the guild's
        self.guilds[moved] = guild
        return guild

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/gateway-ws/"

    @property
    def connected(self) -> bool:
        """Some shard of the bot is connected (with one shard: the bot is)."""
        return any(session.connected for session in self.sessions.values())

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        shards = self.recommended_shards or max(1, math.ceil(len(self.guilds) / GUILDS_PER_RECOMMENDED_SHARD))
        return json_response({"url": self.gateway_url, "shards": shards, "session_start_limit": {
            "total": 1000, "remaining": max(0, 1000 - self.identify_count), "reset_after": 0,
            "max_concurrency": self.max_concurrency}})

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
        """Send a DISPATCH to the shard holding its guild (if the bot's intents ask for it); kept there for
        replay on RESUME."""
        needed = _EVENT_INTENTS.get(event)
        if needed is not None and self.intents is not None and not self.intents & needed:
            return
        guild_id = event_guild(event, data)
        for session in list(self.sessions.values()):
            if session.routes(guild_id):
                await self._dispatch_to(session, event, data)
        await self._notify()

    async def _dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.event_log.append(payload)
        if session.ws is not None:
            await self._send(session.ws, payload)

    async def remove_bot_from_guild(self, guild: Guild) -> None:
        """The bot is kicked from `guild` (or the guild is deleted): GUILD_DELETE without `unavailable`,
        which Discord documents as "the user was removed from the guild" (with `unavailable: true` it
        would be an outage).  The guild leaves the bot's world: a new session no longer lists it."""
        self.guilds.pop(guild.id, None)
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    async def invite_bot_to_guild(self, guild: Guild) -> None:
        """The bot is added to `guild` (again): GUILD_CREATE without `unavailable`, as Discord sends for a
        join (discord.py's `on_guild_join`; `unavailable: false` would mean a guild back from an outage)."""
        self.guilds[guild.id] = guild
        data = guild.to_dict()
        data.pop("unavailable", None)
        await self.dispatch("GUILD_CREATE", data)

    async def drop_gateway(self, code: int = 4000, *, shard_id: int | None = None) -> None:
        """Close the bot's gateway connection (of one shard, or all) with a resumable close code by
        default; it must RESUME."""
        for session in list(self.sessions.values()):
            if shard_id is None or session.shard_id == shard_id:
                ws, session.ws = session.ws, None
                if ws is not None:
                    await ws.close(code=code)
        await self._notify()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.gateway_outage:
            return web.Response(status=503, text="upstream connect error")
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
            for session in self.sessions.values():
                if session.ws is ws:
                    session.ws = None
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
        shard = d.get("shard", [0, 1])
        if (not isinstance(shard, list) or len(shard) != 2 or not all(type(n) is int for n in shard)
                or not 0 <= shard[0] < shard[1]):
            self.identify_refusals.append((-1, f"invalid shard {shard!r}"))
            await ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
            return
        shard_id, shard_count = shard
        held = len(self.guilds_of_shard(shard_id, shard_count))
        if held > MAX_GUILDS_PER_SHARD:
            self.identify_refusals.append((shard_id, f"sharding required ({held} guilds)"))
            await ws.close(code=CLOSE_SHARDING_REQUIRED, message=b"Sharding required.")
            return
        bucket = shard_id % max(1, self.max_concurrency)
        now = time.monotonic()
        last = self._last_identify.get(bucket)
        if self.identify_interval > 0 and last is not None and now - last < self.identify_interval:
            self.identify_refusals.append((shard_id, f"bucket {bucket} identified {now - last:.2f}s ago"))
            await self._send(ws, {"op": 9, "s": None, "t": None, "d": False})
            return
        self._last_identify[bucket] = now
        self.intents = intents
        self.identify_count += 1
        self.identified_shards.append((shard_id, shard_count))
        session = Session(shard_id, shard_count, uuid.uuid4().hex, ws)
        self.sessions[shard_id] = session
        self._session_id = session.session_id  # the world's "the bot is connected" (state.World)
        guilds = self.guilds_of_shard(shard_id, shard_count)
        await self._dispatch_to(session, "READY", {
            "v": 10, "user": self.bot_user.to_dict() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id, "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0}, "private_channels": [],
            "relationships": [], "presences": [], "guild_join_requests": [], "geo_ordered_rtc_regions": [],
            "shard": [shard_id, shard_count],
        })
        for guild in guilds:
            await self._dispatch_to(session, "GUILD_CREATE", guild.to_dict())

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        session = next((x for x in self.sessions.values() if x.session_id == d.get("session_id")), None)
        if session is None:
            await self._send(ws, {"op": 9, "s": None, "t": None, "d": False})
            return
        session.ws = ws
        seq = d.get("seq") or 0
        for payload in [p for p in session.event_log if p["s"] > seq]:
            await self._send(ws, payload)
        self.resume_count += 1
        await self._dispatch_to(session, "RESUMED", {})
