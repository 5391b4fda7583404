"""Seeing Discord's rate limits from outside discord.py: an aiohttp trace on the bot's HTTP session.

discord.py handles rate limits itself and tells no one (a log line at most).  It does take a public
`http_trace` (an `aiohttp.TraceConfig`) for its session, which sees every response: each 429 is a wait
discord.py now sits out before retrying, for as long as Discord said.  Per bot, unlike its log, which all
bots in a process share.  Waits discord.py takes *before* a request, when it knows a bucket is empty, make
no response and are not seen here: code that paces itself reports its own waits (`Metrics.rate_limit_wait`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping

import aiohttp

# Discord's headers, the exact one first: Retry-After is whole seconds.
_WAIT_HEADERS = ("X-RateLimit-Reset-After", "Retry-After")


def retry_after(headers: Mapping[str, str]) -> float:
    """How long a 429 says to wait, in seconds (0 when it does not say)."""
    for name in _WAIT_HEADERS:
        try:
            return max(0.0, float(headers[name]))
        except (KeyError, ValueError):
            continue
    return 0.0


def rate_limit_trace(on_wait: Callable[[float], None], *,
                     into: aiohttp.TraceConfig | None = None) -> aiohttp.TraceConfig:
    """A trace calling `on_wait(seconds)` for every 429 Discord answers (added to `into` when given:
    discord.py takes one trace per session)."""
    trace = into if into is not None else aiohttp.TraceConfig()

    async def on_request_end(session: aiohttp.ClientSession, context: types.SimpleNamespace,
                             params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 429:
            on_wait(retry_after(params.response.headers))

    trace.on_request_end.append(on_request_end)
    return trace
