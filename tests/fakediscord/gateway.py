"""The gateway: where it is (GET /gateway), and the WebSocket the bot connects to.

HELLO, IDENTIFY -> READY + a GUILD_CREATE per guild, heartbeats, RESUME with replay of the events the bot
missed, and `dispatch` for everything else the fake tells the bot (filtered by the bot's intents).
"""

from __future__ import annotations

import json
import uuid
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


class Gateway(World):
    """FakeDiscord's part that speaks the gateway protocol to the bot."""

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/gateway-ws/"

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

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
