"""Discord's rate limits and a network round trip, as the fake applies them to the bot's REST requests.

- **Global**: 50 requests per second per bot token, over a rolling second.  Interaction callbacks
  (`/interactions/{id}/{token}/callback`) and webhook requests (`/webhooks/...`, which carry interaction
  follow-ups and edits) are exempt, as Discord documents.  Over the limit: 429 with `X-RateLimit-Global:
  true`, `X-RateLimit-Scope: global` and a JSON body with `global: true` and `retry_after`.
- **Per channel, message creation** (`POST /channels/{id}/messages`): 5 per 5 s per channel, Discord's
  documented limit, with `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket` on every answer so
  discord.py paces itself; one over: 429 with `X-RateLimit-Scope: user`.
- **Round trip**: each request waits `latency` seconds in all (half before it is handled, half after).

Defaults, chosen so the rest of the suite stays fast and unchanged: the global limit is ON (50/s; the bot
must never exceed it by itself, in any test), per-channel limits and latency are OFF (`channel_limits=True`,
`latency=0.05` in the tests that exercise them and in `bench/bench_release_queue.py`).  A request refused
with 429 does not count against the limit.  Every 429 the limits give is recorded in `rate_limit_hits`
(injected faults, `inject_fault(429)`, are the test's own doing and are not).
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import json_response
from .state import World

GLOBAL_LIMIT = 50  # requests per second per bot token
GLOBAL_WINDOW = 1.0
CHANNEL_MESSAGE_LIMIT = 5  # message creations per channel ...
CHANNEL_MESSAGE_WINDOW = 5.0  # ... per 5 seconds
MESSAGE_BUCKET = "b5f1a7e3c0d24e8f9a6b7c8d9e0f1a2b"  # an opaque hash, as Discord's are
EXEMPT = re.compile(r"^/interactions/\d+/[^/]+/callback$|^/webhooks/")
CREATE_MESSAGE = re.compile(r"^/channels/(\d+)/messages$")


@dataclass(frozen=True)
class RateLimitHit:
    """One 429 the limits gave: which request, which scope ("global" or "user"), when (monotonic)."""

    method: str
    path: str
    scope: str
    at: float
    retry_after: float


@dataclass
class _Window:
    """A per-channel bucket's current window: Discord resets the count when the window ends."""

    resets_at: float
    used: int = 0


class RateLimits(World):
    """FakeDiscord's part that applies the global and per-channel limits and the round trip."""

    def __init__(self, *, global_limit: int | None = GLOBAL_LIMIT, channel_limits: bool = False,
                 latency: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.global_limit = global_limit  # None: no global limit
        self.channel_limits = channel_limits
        self.channel_window = CHANNEL_MESSAGE_WINDOW  # a test may shorten it, to see discord.py wait it out
        self.latency = latency
        self.rate_limit_hits: list[RateLimitHit] = []
        self.limited_requests = 0  # requests that counted against the global limit (answered or not)
        self._recent: collections.deque[float] = collections.deque()
        self._channel_windows: dict[int, _Window] = {}

    def global_exempt(self, path: str) -> bool:
        """Routes Discord leaves out of the global limit (path relative to /api/v10)."""
        return EXEMPT.search(path) is not None

    async def _travel(self) -> None:
        """Half the round trip (one direction); nothing when latency is off."""
        if self.latency > 0:
            await asyncio.sleep(self.latency / 2)

    def _check_global(self, method: str, path: str) -> web.Response | None:
        """A global 429 if this request is one over the rolling second's limit, else count it."""
        if self.global_limit is None or self.global_exempt(path):
            return None
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - GLOBAL_WINDOW:
            self._recent.popleft()
        self.limited_requests += 1
        if len(self._recent) < self.global_limit:
            self._recent.append(now)
            return None
        retry_after = round(max(self._recent[0] + GLOBAL_WINDOW - now, 0.001), 3)
        self.rate_limit_hits.append(RateLimitHit(method, path, "global", now, retry_after))
        headers = {"Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Global": "true",
                   "X-RateLimit-Scope": "global", "Via": "1.1 google"}
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": True}
        return json_response(body, status=429, headers=headers)

    def _check_channel(self, method: str, path: str) -> tuple[web.Response | None, dict[str, str]]:
        """(a 429 if this message creation is one over its channel's bucket, the bucket's headers)."""
        match = CREATE_MESSAGE.match(path)
        if not self.channel_limits or method != "POST" or match is None:
            return None, {}
        now = time.monotonic()
        channel_id = int(match[1])
        window = self._channel_windows.get(channel_id)
        if window is None or window.resets_at <= now:
            window = self._channel_windows[channel_id] = _Window(resets_at=now + self.channel_window)
        reset_after = round(window.resets_at - now, 3)
        over = window.used >= CHANNEL_MESSAGE_LIMIT
        if not over:
            window.used += 1
        headers = {"X-RateLimit-Limit": str(CHANNEL_MESSAGE_LIMIT),
                   "X-RateLimit-Remaining": str(CHANNEL_MESSAGE_LIMIT - window.used),
                   "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                   "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                   "X-RateLimit-Bucket": MESSAGE_BUCKET}
        if not over:
            return None, headers
        self.rate_limit_hits.append(RateLimitHit(method, path, "user", now, reset_after))
        headers |= {"X-RateLimit-Scope": "user", "Retry-After": str(max(1, round(reset_after)))}
        body = {"message": "You are being rate limited.", "retry_after": reset_after, "global": False}
        return json_response(body, status=429, headers=headers), headers
