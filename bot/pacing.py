"""The bot's one request budget: every REST request it makes passes one bucket below Discord's global limit.

Discord allows a bot 50 requests per second in all (interaction callbacks and webhooks, i.e. answers to
members, are exempt), and bans the IP of a bot that keeps getting 429s.  discord.py paces each route by
the bucket headers Discord sends, but it has no global pacing: it only backs off *after* a global 429.
So 1,000 releases at once would make the bot cause its own 429s; with this budget it cannot.

Why `aiolimiter` (a leaky bucket) and not a hand-written bucket: it is small, well kept, wakes waiters
in order with one timer (no polling), and a leaky bucket of capacity `burst` draining at `rate` never
lets more than `burst + rate * T` requests through in any span of T seconds, whatever the event loop's
hiccups.  With the defaults (45/s, burst 2) that is at most 47 in any second: 3 under Discord's 50, which
absorbs requests bunching on the way (a request leaves here tens of milliseconds before Discord counts
it, give or take the event loop's lag: up to ~65 ms of difference stays under 50).  Burst 2, not 1: a
timer that fires late (a busy event loop) would otherwise lose that time for good; with room for two,
the next request catches up.

The hook is aiohttp's own tracing (`request_trace`), which discord.py takes as `http_trace`: its
`on_request_start` runs before every HTTP attempt on discord.py's session, retries included, so there is
exactly one place every request passes.  Discord-free: it knows URLs, not discord.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter

DEFAULT_REQUESTS_PER_SECOND = 45.0
DEFAULT_RELEASE_WORKERS = 16
DEFAULT_BURST = 2
DISCORD_GLOBAL_LIMIT = 50.0

# Paths (after the /api/vN prefix) Discord leaves out of the global limit: a member's answer never waits.
_EXEMPT = re.compile(r"^/interactions/\d+/[^/]+/callback$|^/webhooks/")
_API = re.compile(r"/api/v\d+(/.*)$")


def counts_against_global_limit(url_path: str) -> bool:
    """True for a REST request Discord counts in the bot's global limit (not the gateway, not the CDN)."""
    match = _API.search(url_path)
    return match is not None and _EXEMPT.search(match[1]) is None


@dataclass(frozen=True)
class PacingSettings:
    """How fast the bot may talk to Discord, and how many releases run at once.

    `AAR_REQUESTS_PER_SECOND` (default 45, at most Discord's 50) and `AAR_RELEASE_WORKERS` (default 16:
    enough releases in flight to keep the budget busy with a 50-100 ms round trip per request).
    """

    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    release_workers: int = DEFAULT_RELEASE_WORKERS

    def __post_init__(self) -> None:
        if not 0 < self.requests_per_second <= DISCORD_GLOBAL_LIMIT:
            raise ValueError(f"AAR_REQUESTS_PER_SECOND must be above 0 and at most {DISCORD_GLOBAL_LIMIT:g} "
                             f"(Discord's global limit): {self.requests_per_second:g}")
        if self.release_workers < 1:
            raise ValueError(f"AAR_RELEASE_WORKERS must be at least 1: {self.release_workers}")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> PacingSettings:
        env = dict(os.environ) if env is None else env
        rate = env.get("AAR_REQUESTS_PER_SECOND", "").strip()
        workers = env.get("AAR_RELEASE_WORKERS", "").strip()
        try:
            return cls(float(rate) if rate else DEFAULT_REQUESTS_PER_SECOND,
                       int(workers) if workers else DEFAULT_RELEASE_WORKERS)
        except ValueError as exc:
            raise ValueError(f"invalid pacing setting: {exc}") from None


class RequestBudget:
    """One bucket for every counted request: `await budget.take(path)` before each one goes out."""

    def __init__(self, requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND, *,
                 burst: int = DEFAULT_BURST) -> None:
        self.requests_per_second = requests_per_second
        self._limiter = AsyncLimiter(burst, burst / requests_per_second)
        self.granted = 0  # requests let through so far (the release queue's estimate learns from it)

    async def take(self, url_path: str) -> None:
        """Wait for the budget if this request counts against the global limit."""
        if counts_against_global_limit(url_path):
            await self._limiter.acquire()
            self.granted += 1


def request_trace(budget: RequestBudget) -> aiohttp.TraceConfig:
    """An aiohttp trace that makes every request on its session wait for `budget` before it starts."""

    async def on_request_start(_session: aiohttp.ClientSession, _context: SimpleNamespace,
                               params: Any) -> None:
        await budget.take(params.url.path)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    return trace
