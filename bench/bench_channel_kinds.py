"""Benchmark: what a release costs in each kind of story channel, against the fake Discord on 127.0.0.1.

The real bot (discord.py, the real `DiscordSender`) connects to the fake Discord; the shipped six-chapter
AAR is released whole, `--rounds` times, into fresh guilds whose story channel is: a text channel (the
baseline), a forum (one post per chapter), an announcement channel (every part published; the fake's
hourly publish limit lifted so the figure is the work, not the wait), and a text channel with the author
webhook.  For each it prints the median time per chapter release, the Discord requests per chapter, and
the ratio to the text channel measured in this run: read the ratios, not the absolute times (loopback,
no network).

    .venv/bin/python bench/bench_channel_kinds.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import discord

from bot.app import AARBot
from bot.config import SHIPPED_THREAD, Settings
from bot.storage import open_database
from bot.storage.guilds import update_guild_settings
from bot.story.importer import import_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake Discord lives with the tests
from tests.fakediscord import FakeDiscord  # noqa: E402
from tests.fakediscord.models import MANAGE_WEBHOOKS  # noqa: E402

KINDS = ("text", "forum", "announcement", "author webhook")


async def ready_bot(fake: FakeDiscord, db_path: Path) -> tuple[AARBot, asyncio.Task[None]]:
    conn = await open_database(db_path)
    await import_file(conn, SHIPPED_THREAD)
    await conn.close()
    settings = Settings(token=fake.token, db_path=db_path, log_level="WARNING", api_base_url=fake.api_base,
                        gateway_url=fake.gateway_url)
    bot = AARBot(settings, guild_ready_timeout=0.05)
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready, "on_ready")
    task = asyncio.create_task(bot.start(fake.token))
    await asyncio.wait_for(ready.wait(), 20)
    return bot, task


async def release_all(fake: FakeDiscord, bot: AARBot, kind: str) -> tuple[list[float], int]:
    """Release every chapter into a fresh guild's story channel of `kind`: seconds per release, requests."""
    setup = await fake.add_standard_guild(f"bench {kind}")
    channel = setup.story
    if kind == "forum":
        channel = await fake.add_channel(setup.guild, "chapters", type=15, tags=["Chapter"])
    elif kind == "announcement":
        channel = await fake.add_channel(setup.guild, "news", type=5)
    async with asyncio.timeout(10):  # the gateway is asynchronous: until the bot has seen the channel
        while bot.get_channel(channel.id) is None:  # noqa: ASYNC110 (a bench script, not a test)
            await asyncio.sleep(0.01)
    if kind == "author webhook":
        setup.guild.role("AAR Bot").permissions |= MANAGE_WEBHOOKS
        await update_guild_settings(bot.db, setup.guild.id, author_webhook=1, author_name="The Author")
    if kind == "forum":
        await update_guild_settings(bot.db, setup.guild.id, forum_tag="Chapter")
    before = len(fake.requests)
    times = []
    while True:
        start = time.perf_counter()
        outcome = await bot.publisher.release_next(setup.guild.id, channel.id)
        if outcome.status != "released":
            assert outcome.status == "all_out", outcome
            break
        times.append(time.perf_counter() - start)
    return times, len(fake.requests) - before


async def main(rounds: int) -> None:
    fake = await FakeDiscord().start()
    fake.crosspost_limit = 10**6
    original_base = discord.http.Route.BASE
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bot, task = await ready_bot(fake, Path(tmp) / "aar.db")
            results: dict[str, tuple[list[float], list[int]]] = {k: ([], []) for k in KINDS}
            try:
                for _ in range(rounds):
                    for kind in KINDS:
                        times, requests = await release_all(fake, bot, kind)
                        results[kind][0].extend(times)
                        results[kind][1].append(requests)
            finally:
                await bot.close()
                await asyncio.gather(task, return_exceptions=True)
    finally:
        await fake.stop()
        discord.http.Route.BASE = original_base
    base = statistics.median(results["text"][0])
    per_release = {k: statistics.mean(r) / len(t) * rounds for k, (t, r) in results.items()}
    print(f"{rounds} rounds of 6 chapter releases per kind (fake Discord on loopback)")
    print(f"{'story channel':<16} {'median ms/release':>18} {'vs text':>8} {'requests/release':>17}")
    for kind, (times, _) in results.items():
        median = statistics.median(times)
        print(f"{kind:<16} {median * 1000:>18.1f} {median / base:>7.2f}x {per_release[kind]:>17.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
