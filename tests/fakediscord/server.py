"""A fake Discord on 127.0.0.1: REST under /api/v10, a gateway WebSocket, and a test API to act as members.

`FakeDiscord` composes the parts, each in its own module on top of the shared world (`state.World`):

- `gateway`: the WebSocket (IDENTIFY, READY, heartbeats, RESUME) and `dispatch`;
- `rest`, `faults`, `ratelimit`: REST plumbing (auth, recording, Discord's error shapes), injected faults,
  and Discord's rate limits (global 50/s on by default; per-channel buckets and latency on demand);
- `rest_application`, `rest_channels`, `rest_webhooks`: the REST endpoints the bot calls;
- `interactions`: the interaction callback and webhook endpoints (what the bot answers);
- `driver`, `reactions`: acting as members (commands, autocomplete, clicks, reactions).

This module adds starting and stopping, the URL routes, and waiting.  Everything that waits does so on
`self._cond` (an asyncio.Condition notified on every change) with a timeout; nothing sleeps.
"""

# The test API's waits take `timeout=` by design (`await fake.wait_for(..., timeout=5)`).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .cdn import CDN_PATH, MEDIA_PATH
from .driver import Driver
from .gateway import Gateway
from .interactions import Interactions
from .records import RecordedRequest
from .rest import API, Rest
from .rest_application import RestApplication
from .rest_channels import RestChannels
from .rest_webhooks import RestWebhooks


class FakeDiscord(Driver, RestWebhooks, Interactions, RestChannels, RestApplication, Rest, Gateway):
    """Fake Discord API + gateway.  `await start()`, point the bot at `api_base` / `gateway_url`."""

    # --- lifecycle -------------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"{self.url}{API}"

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

    def _add_routes(self, r: web.UrlDispatcher) -> None:
        a = API
        r.add_get("/gateway-ws/", self._gateway)
        r.add_get(CDN_PATH + "/{aid}/{filename}", self._cdn_get)
        r.add_get(MEDIA_PATH + "/{aid}/{filename}", self._cdn_get)
        r.add_get(a + "/gateway", self._get_gateway)
        r.add_get(a + "/gateway/bot", self._get_gateway_bot)
        r.add_get(a + "/users/@me", self._get_me)
        r.add_post(a + "/users/@me/channels", self._open_dm)
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
        r.add_post(a + "/channels/{cid}/messages/{mid}/crosspost", self._crosspost)
        r.add_route("*", a + "/channels/{cid}/webhooks", self._channel_webhooks)
        r.add_get(a + "/guilds/{gid}/threads/active", self._active_threads)
        r.add_get(a + "/guilds/{gid}", self._get_guild)
        r.add_get(a + "/guilds/{gid}/members/{uid}", self._get_member)
        r.add_route("PUT", a + "/guilds/{gid}/members/{uid}/roles/{rid}", self._member_role)
        r.add_route("DELETE", a + "/guilds/{gid}/members/{uid}/roles/{rid}", self._member_role)

    # --- waiting ---------------------------------------------------------------------------------

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
