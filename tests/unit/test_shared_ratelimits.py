"""discord.py's rate-limit buckets under `amortize_bucket_cleanup`: idle ones still go, but only when the
buckets have doubled since the last scan, not on every new bucket (a real discord.py `HTTPClient`)."""

from __future__ import annotations

import asyncio

import discord

from cogs.shared.ratelimits import FIRST_SCAN_AT, amortize_bucket_cleanup


def make_idle(http: discord.http.HTTPClient) -> None:
    """Every bucket as discord.py sees one unused for over 5 minutes."""
    for bucket in http._buckets.values():
        bucket._last_request -= 301


async def test_idle_buckets_go_when_the_buckets_doubled_not_on_every_new_one() -> None:
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    amortize_bucket_cleanup(http)
    for i in range(FIRST_SCAN_AT - 1):
        http.get_ratelimit(f"POST /channels/{{channel_id}}/messages:{i}")
    make_idle(http)
    http.get_ratelimit("new:0")  # the 256th: discord.py's scan, all the idle ones go
    assert list(http._buckets) == ["new:0"]

    for i in range(1, 300):
        http.get_ratelimit(f"new:{i}")  # a scan at 256 found none idle: the next is at 512
    make_idle(http)
    http.get_ratelimit("after:0")
    assert len(http._buckets) == 301  # unpatched discord.py would have scanned here and kept 1
    assert http.get_ratelimit("new:5") is http.get_ratelimit("new:5")  # a known key: its own bucket

    for i in range(1, 211):
        http.get_ratelimit(f"after:{i}")
    assert len(http._buckets) == 511
    http.get_ratelimit("after:211")  # the 512th bucket: the scan, the 300 idle ones go
    assert set(http._buckets) == {f"after:{i}" for i in range(212)}


async def test_without_many_buckets_none_is_dropped() -> None:
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    amortize_bucket_cleanup(http)
    for i in range(FIRST_SCAN_AT - 1):
        http.get_ratelimit(f"k:{i}")
    make_idle(http)
    assert len(http._buckets) == FIRST_SCAN_AT - 1
