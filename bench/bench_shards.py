"""Benchmark: time for a sharded bot to be ready, IDENTIFYs paced per bucket vs. discord.py's default hook.

Discord allows one IDENTIFY per 5 s in each of `max_concurrency` buckets (`shard_id % max_concurrency`).
discord.py's default `before_identify_hook` ignores buckets and waits the whole interval before every
IDENTIFY but the first, so its start-up grows with the shard count even where Discord would let the shards
in at once.  Both run here against the fake Discord (which refuses an IDENTIFY that breaks the rule), with
the interval scaled down (`--interval`) so the run is short; the start-up ratio is what to read.  Exit
status 1 if the bot's pacing was refused by the fake or is not faster than the baseline when
`max_concurrency` > 1.

    .venv/bin/python -m bench.bench_shards [--shards 8] [--max-concurrency 4] [--interval 0.5]

(run as a module from the checkout: it drives the fake Discord of `tests/`)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import discord

from bot.app import AARBot
from bot.config import Settings
from tests.fakediscord import FakeDiscord


class DefaultPacingBot(AARBot):
    """The baseline: discord.py's own hook (wait the interval before every IDENTIFY but the first)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self.identify_interval)


async def time_to_ready(cls: type[AARBot], shards: int, max_concurrency: int, interval: float,
                        folder: Path) -> tuple[float, int]:
    """Seconds from start to on_ready for a bot of `cls` with `shards` shards; and IDENTIFYs refused."""
    async with FakeDiscord(recommended_shards=shards, max_concurrency=max_concurrency,
                           identify_interval=interval) as fake:
        for number in range(shards * 2):
            await fake.add_guild(f"Guild {number}")
        settings = Settings(token=fake.token, db_path=folder / f"{cls.__name__}.db", log_level="WARNING",
                            api_base_url=fake.api_base, gateway_url=fake.gateway_url)
        cls.identify_interval = interval
        bot = cls(settings, guild_ready_timeout=0.05)
        ready = asyncio.Event()

        async def on_ready() -> None:
            ready.set()

        bot.add_listener(on_ready, "on_ready")
        started = time.perf_counter()
        task: asyncio.Task[Any] = asyncio.create_task(bot.start(fake.token))
        await asyncio.wait_for(ready.wait(), 120)
        elapsed = time.perf_counter() - started
        await bot.close()
        try:
            await asyncio.wait_for(task, 10)
        except (discord.ConnectionClosed, discord.HTTPException):
            pass
        return elapsed, len(fake.identify_refusals)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.5, help="Discord's 5 s, scaled down")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline, base_refused = await time_to_ready(DefaultPacingBot, args.shards, args.max_concurrency,
                                                     args.interval, folder)
        paced, refused = await time_to_ready(AARBot, args.shards, args.max_concurrency, args.interval, folder)
    print(f"{args.shards} shards, max_concurrency {args.max_concurrency}, identify interval {args.interval}s")
    print(f"  discord.py default hook : ready in {baseline:6.2f}s ({base_refused} IDENTIFY refused)")
    print(f"  per-bucket pacer        : ready in {paced:6.2f}s ({refused} IDENTIFY refused)")
    print(f"  speed-up                : {baseline / paced:5.1f}x")
    if refused or (args.max_concurrency > 1 and paced >= baseline):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
