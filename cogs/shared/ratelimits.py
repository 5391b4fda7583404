"""discord.py's per-route rate-limit buckets, cleaned up in amortized constant time.

discord.py keeps a `Ratelimit` per bucket key (a route and its major parameter: each channel's message
route, each interaction's webhook token, ...) and forgets the ones idle for 5 minutes.  But it looks
for idle ones by scanning *every* bucket each time it creates one, once there are 256: a bot in 1,000
servers that just released in each holds thousands of buckets, none idle yet, so each new key (every
`/chapter next` answer is one: its webhook token) costs a scan of all of them on the event loop, ~1 ms
at 3,000, while a thousand members wait for their answers.

`amortize_bucket_cleanup(http)` makes discord.py scan only when the buckets have doubled since the last
scan (256 at least): the same cleanup, the same buckets kept while in use, at most twice the live ones
(plus 256) held, and a constant cost per new bucket instead of one that grows with the bot's servers.
"""

from __future__ import annotations

import discord

FIRST_SCAN_AT = 256  # where discord.py starts scanning


def amortize_bucket_cleanup(http: discord.http.HTTPClient) -> None:
    """Replace `http`'s per-new-bucket scan for idle buckets by one each time the buckets doubled."""
    scan = http._try_clear_expired_ratelimits  # discord.py's own scan (it returns below 256 buckets)
    next_scan_at = FIRST_SCAN_AT

    def scan_when_doubled() -> None:
        nonlocal next_scan_at
        if len(http._buckets) < next_scan_at:
            return
        scan()
        next_scan_at = max(FIRST_SCAN_AT, 2 * len(http._buckets))

    # discord.py calls it as `self._try_clear_expired_ratelimits()`: the instance attribute wins.
    setattr(http, "_try_clear_expired_ratelimits", scan_when_doubled)  # noqa: B010
