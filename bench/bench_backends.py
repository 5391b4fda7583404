"""Benchmark: PostgreSQL against SQLite (issue 15), in the same run, on the same workloads.

The real bot (discord.py and all) runs in this process, once on a SQLite file and once on a PostgreSQL
database (a throwaway server started here with the machine's `initdb`/`pg_ctl`, as the tests do); the
fake Discord runs in a process of its own (`bench/fake_process.py`) with Discord's global limit, the
per-channel message limit and a 50 ms round trip per request.  For each backend:

(a) command latency: `/chapter read` (the released chapter's first page: reads the chapter, the
    server's releases, records reading progress) and `/aar status` (the server's settings and release
    state), each run by every one of `--servers` members one after another, `--rounds` times; and the same
    `/chapter read` by every member at once.  Latency: the fake's, from sending the INTERACTION_CREATE to
    receiving the answer.
(b) release throughput: every one of `--servers` servers has a schedule due in the same minute; from
    the clock reaching it to the last release done, through the release queue; releases lost or doubled.

SQLite is the baseline.  Both backends meet the same request budget (45 requests/s under Discord's 50):
with a 50 ms round trip, release throughput is bound by that budget, not by the database, so equal
figures there are the expected outcome; the latencies show what each backend adds to a command.

    .venv/bin/python bench/bench_backends.py [--servers 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import discord

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake Discord lives in tests/

from bench.bench_release_queue import SLOT, _plan_parts, add_guilds, scheduled  # noqa: E402
from bench.fake_process import Place, RemoteFake  # noqa: E402
from bot.app import AARBot  # noqa: E402
from bot.config import SHIPPED_THREAD, Settings  # noqa: E402
from bot.storage.connection import open_storage  # noqa: E402
from bot.story.importer import import_file  # noqa: E402
from tests.helpers import FakeClock, mark_released  # noqa: E402
from tests.postgres import NoPostgres, throwaway_server  # noqa: E402


@dataclasses.dataclass
class Figures:
    backend: str
    read: list[float] = dataclasses.field(default_factory=list)
    status: list[float] = dataclasses.field(default_factory=list)
    read_at_once: list[float] = dataclasses.field(default_factory=list)
    releases: int = 0
    release_wall: float = 0.0
    lost: int = 0
    doubled: int = 0


def percentiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"{cuts[49] * 1000:6.1f} {cuts[94] * 1000:6.1f} {cuts[98] * 1000:6.1f}"


async def start_bot(fake: RemoteFake, settings: Settings, clock: FakeClock) -> AARBot:
    bot = AARBot(settings, clock=clock, guild_ready_timeout=0.5)
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready, "on_ready")
    bot.bench_task = asyncio.create_task(bot.start(fake.token))  # type: ignore[attr-defined]
    await asyncio.wait_for(ready.wait(), 120)
    return bot


async def measure(backend: str, settings: Settings, fake: RemoteFake, servers: int, rounds: int) -> Figures:
    figures = Figures(backend)
    conn = await open_storage(settings.db_path, settings.database_url)
    try:
        await import_file(conn, SHIPPED_THREAD)
    finally:
        await conn.close()
    readers: list[Place] = await add_guilds(fake, f"{backend} readers", servers)
    due: list[Place] = await add_guilds(fake, f"{backend} releases", servers)
    clock = FakeClock(SLOT - timedelta(hours=1))
    bot = await start_bot(fake, settings, clock)
    try:
        for i, place in enumerate(readers):  # chapter 1 out in every reader's server (message ids apart)
            await mark_released(bot.db, place.guild_id, 1, channel_id=place.story_id,
                                first_message_id=10**15 + i * 1000)
        group = f"{backend} readers"
        figures.read = await fake.call("commands", group=group, command="chapter read", options={"number": 1},
                                       rounds=rounds)
        figures.status = await fake.call("commands", group=group, command="aar status", options={},
                                         rounds=rounds)
        figures.read_at_once = await fake.call("commands", group=group, command="chapter read",
                                               options={"number": 1}, rounds=1, concurrent=True)
        parts = await _plan_parts(bot)
        wall, _counter, lost, doubled = await scheduled(bot, fake, f"{backend} releases", due, clock, parts,
                                                        queue=True)
        figures.releases, figures.release_wall, figures.lost, figures.doubled = len(due), wall, lost, doubled
    finally:
        await bot.close()
    for name in ("read", "status", "read_at_once"):
        values = getattr(figures, name)
        if any(v is None for v in values):
            raise SystemExit(f"{backend}: {sum(v is None for v in values)} /{name} commands never answered")
    return figures


async def run(servers: int, rounds: int) -> int:
    logging.basicConfig(level=logging.WARNING)
    fake = RemoteFake(latency=0.05, channel_limits=True)
    await fake.start()
    discord.http.Route.BASE = fake.api_base
    results: list[Figures] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Settings(token=fake.token, db_path=Path(tmp) / "aar.db", log_level="WARNING",
                            api_base_url=fake.api_base, gateway_url=fake.gateway_url)
            started = time.perf_counter()
            results.append(await measure("sqlite", base, fake, servers, rounds))
            try:
                with throwaway_server() as server:
                    url = await server.new_database()
                    results.append(await measure("postgresql", dataclasses.replace(base, database_url=url),
                                                 fake, servers, rounds))
            except NoPostgres as exc:
                print(f"PostgreSQL skipped: {exc}")
            took = time.perf_counter() - started
    finally:
        await fake.stop()
    print(f"{servers} servers per workload, {rounds} rounds of commands one after another; fake Discord in"
          f" its own process, 50 ms round trip; {took:.0f} s in all")
    print("latency ms (p50 p95 p99)   /chapter read         /aar status           /chapter read x"
          f"{servers} at once   releases/s  lost doubled")
    for f in results:
        rate = f.releases / f.release_wall
        print(f"{f.backend:<26} {percentiles(f.read)}   {percentiles(f.status)}   "
              f"{percentiles(f.read_at_once)}        {rate:8.2f}  {f.lost:4d} {f.doubled:7d}")
    if len(results) == 2:
        sqlite, postgres = results
        print("PostgreSQL / SQLite (median latency): "
              f"/chapter read {statistics.median(postgres.read) / statistics.median(sqlite.read):.2f}x, "
              f"/aar status {statistics.median(postgres.status) / statistics.median(sqlite.status):.2f}x; "
              "release throughput "
              f"{(postgres.releases / postgres.release_wall) / (sqlite.releases / sqlite.release_wall):.2f}x")
    bad = [f.backend for f in results if f.lost or f.doubled]
    if bad:
        print(f"RELEASES LOST OR DOUBLED on {', '.join(bad)}")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    return asyncio.run(run(args.servers, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
