"""Benchmark: 100,000 reaction events through the likes ingest vs. a raw aiosqlite `executemany`.

Both run in this process on fresh databases in a temp dir (same schema, same pragmas), so the ratio is
what to read, not the absolute figures.  The ingest is driven as the gateway would: events are
submitted one by one (yielding to the event loop every `--chunk` events, like frames arriving), and
timed until the last one is committed.  The baseline inserts the very same rows with one `executemany`
in one transaction.  Afterwards every stored row is compared with the expected set: nothing lost.

    .venv/bin/python bench/bench_likes.py [--events 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import aiosqlite

from bot.likes.ingest import ReactionIngest
from bot.storage import open_database
from bot.storage.likes import ReactionRow

GUILDS = (101, 202, 303)
CHAPTERS = 6
PARTS = 4
EMOJIS = ("👍", "❤️", "😂", "🔥", "custom:123456789012345678")
TARGET_RATIO = 0.5


async def prepared_db(path: Path) -> tuple[aiosqlite.Connection, dict[int, tuple[int, int]]]:
    """A migrated db with chapters and releases for every guild; returns it and message → (guild, chapter)."""
    conn = await open_database(path)
    where: dict[int, tuple[int, int]] = {}
    await conn.execute("BEGIN")
    for number in range(1, CHAPTERS + 1):
        await conn.execute("INSERT INTO chapters(number, threadmark, title, forum_likes, content_hash)"
                           " VALUES (?, ?, ?, 1, 'x')", (number, f"T{number}", f"Chapter {number}"))
    for guild in GUILDS:
        for number in range(1, CHAPTERS + 1):
            await conn.execute("INSERT INTO releases(guild_id, chapter_number, channel_id, status, parts_total,"
                               " started_at, completed_at) VALUES (?, ?, 1, 'done', ?, 't', 't')",
                               (guild, number, PARTS))
            for part in range(PARTS):
                message_id = 10**15 + guild * 10_000 + number * 100 + part
                where[message_id] = (guild, number)
                await conn.execute("INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce, message_id,"
                                   " channel_id) VALUES (?, ?, ?, ?, ?, 1)",
                                   (guild, number, part, str(message_id), message_id))
    await conn.execute("COMMIT")
    return conn, where


def make_events(count: int, messages: list[int], seed: int = 7) -> list[tuple[int, int, str]]:
    """`count` distinct (message, user, emoji) add events, shuffled like a burst from many members."""
    rng = random.Random(seed)
    events: set[tuple[int, int, str]] = set()
    while len(events) < count:
        events.add((rng.choice(messages), 10**17 + rng.randrange(count // 2), rng.choice(EMOJIS)))
    ordered = sorted(events)
    rng.shuffle(ordered)
    return ordered


async def stored(conn: aiosqlite.Connection) -> set[ReactionRow]:
    async with conn.execute("SELECT guild_id, chapter_number, emoji, user_id, message_id FROM reactions") as cur:
        return {tuple(r) for r in await cur.fetchall()}  # type: ignore[misc]


async def run_raw(path: Path, rows: list[ReactionRow]) -> float:
    conn, _ = await prepared_db(path)
    try:
        start = time.perf_counter()
        await conn.execute("BEGIN")
        await conn.executemany("INSERT OR IGNORE INTO reactions(guild_id, chapter_number, emoji, user_id, message_id)"
                               " VALUES (?, ?, ?, ?, ?)", rows)
        await conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        assert await stored(conn) == set(rows), "raw executemany lost rows"
        return elapsed
    finally:
        await conn.close()


async def run_ingest(path: Path, events: list[tuple[int, int, str]], rows: list[ReactionRow],
                     chunk: int) -> tuple[float, ReactionIngest]:
    conn, _ = await prepared_db(path)
    ingest = await ReactionIngest.open(conn)
    try:
        add = ingest.add
        start = time.perf_counter()
        for index, (message_id, user_id, emoji) in enumerate(events, start=1):
            add(message_id, user_id, emoji)
            if index % chunk == 0:
                await asyncio.sleep(0)  # let the writer run, as between gateway frames
        await ingest.flush()
        elapsed = time.perf_counter() - start
        await ingest.close()
        assert ingest.stats.applied == len(events) and ingest.stats.dropped == 0 and ingest.stats.ignored == 0
        assert await stored(conn) == set(rows), "the ingest lost or invented rows"
        return elapsed, ingest
    finally:
        await conn.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternate runs of each; the best of each is kept")
    parser.add_argument("--chunk", type=int, default=100, help="events submitted between yields to the loop")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-likes-") as tmp:
        probe, where = await prepared_db(Path(tmp) / "probe.db")
        await probe.close()
        events = make_events(args.events, sorted(where))
        rows: list[ReactionRow] = [(*where[m], e, u, m) for m, u, e in events]
        raw_times, ingest_times = [], []
        last: ReactionIngest | None = None
        for round_ in range(args.rounds):
            raw_times.append(await run_raw(Path(tmp) / f"raw{round_}.db", rows))
            elapsed, last = await run_ingest(Path(tmp) / f"ingest{round_}.db", events, rows, args.chunk)
            ingest_times.append(elapsed)

    raw_rate = len(rows) / min(raw_times)
    ingest_rate = len(events) / min(ingest_times)
    ratio = ingest_rate / raw_rate
    assert last is not None
    print(f"events: {len(events):,} reaction adds over {len(where)} release messages, {len(GUILDS)} guilds "
          f"(best of {args.rounds})")
    print(f"raw aiosqlite executemany (1 transaction): {raw_rate:12,.0f} rows/s  ({min(raw_times):.3f} s)")
    print(f"likes ingest (batched writer)            : {ingest_rate:12,.0f} events/s ({min(ingest_times):.3f} s, "
          f"{last.stats.batches} batches, largest {last.stats.largest_batch})")
    print(f"ratio ingest/raw: {ratio:.2f} (target ≥ {TARGET_RATIO}); events lost: 0 (every stored row checked)")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
