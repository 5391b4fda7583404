"""Benchmark: 100,000 reaction events through the likes ingest vs. a raw aiosqlite `executemany`.

Both run in this process on fresh databases in a temp dir (same schema, same pragmas), so the ratio is
what to read, not the absolute figures.  The ingest is driven as the gateway would: events are
submitted one by one (yielding to the event loop every `--chunk` events, like frames arriving), and
timed until the last one is committed.  The baseline inserts the very same rows with one `executemany`
in one transaction.  Afterwards every stored row is compared with the expected set: nothing lost.
Two workloads: adds only (the headline; exit status 1 if its ratio is under 0.5), and adds with 15%
removes of earlier adds (the baseline then also runs one executemany of the deletes).

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
            await conn.execute("INSERT INTO releases(guild_id, chapter_number, channel_id, status,"
                               " parts_total, started_at, completed_at)"
                               " VALUES (?, ?, 1, 'done', ?, 't', 't')",
                               (guild, number, PARTS))
            for part in range(PARTS):
                message_id = 10**15 + guild * 10_000 + number * 100 + part
                where[message_id] = (guild, number)
                await conn.execute("INSERT INTO release_parts(guild_id, chapter_number, part_index, nonce,"
                                   " message_id, channel_id) VALUES (?, ?, ?, ?, ?, 1)",
                                   (guild, number, part, str(message_id), message_id))
    await conn.execute("COMMIT")
    return conn, where


Event = tuple[bool, int, int, str]  # (is_add, message, user, emoji)


def make_events(count: int, messages: list[int], removes: float, seed: int = 7) -> list[Event]:
    """`count` events, shuffled like a burst from many members: distinct adds, and a share of removes,
    each taking back an add made earlier in the stream."""
    rng = random.Random(seed)
    n_removes = int(count * removes)
    keys: set[tuple[int, int, str]] = set()
    while len(keys) < count - n_removes:
        keys.add((rng.choice(messages), 10**17 + rng.randrange(count // 2), rng.choice(EMOJIS)))
    adds = sorted(keys)
    rng.shuffle(adds)
    events: list[Event] = [(True, *key) for key in adds]
    for index in sorted(rng.sample(range(len(adds)), n_removes), reverse=True):
        position = rng.randrange(index + 1, len(events) + 1)  # somewhere after its add
        events.insert(position, (False, *adds[index]))
    return events


async def stored(conn: aiosqlite.Connection) -> set[ReactionRow]:
    async with conn.execute("SELECT guild_id, chapter_number, emoji, user_id, message_id"
                            " FROM reactions") as cur:
        return {tuple(r) for r in await cur.fetchall()}  # type: ignore[misc]


async def run_raw(path: Path, rows: list[ReactionRow], removed: list[ReactionRow],
                  final: set[ReactionRow]) -> float:
    """The same rows, pre-computed, with one executemany (and one for the removes) in one transaction."""
    conn, _ = await prepared_db(path)
    try:
        start = time.perf_counter()
        await conn.execute("BEGIN")
        await conn.executemany("INSERT OR IGNORE INTO reactions(guild_id, chapter_number, emoji, user_id,"
                               " message_id) VALUES (?, ?, ?, ?, ?)", rows)
        if removed:
            await conn.executemany("DELETE FROM reactions WHERE guild_id = ? AND chapter_number = ?"
                                   " AND emoji = ? AND user_id = ? AND message_id = ?", removed)
        await conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        assert await stored(conn) == final, "raw executemany lost rows"
        return elapsed
    finally:
        await conn.close()


async def run_ingest(path: Path, events: list[Event], final: set[ReactionRow],
                     chunk: int) -> tuple[float, ReactionIngest]:
    conn, _ = await prepared_db(path)
    ingest = await ReactionIngest.open(conn)
    try:
        add, remove = ingest.add, ingest.remove
        start = time.perf_counter()
        for index, (is_add, message_id, user_id, emoji) in enumerate(events, start=1):
            (add if is_add else remove)(message_id, user_id, emoji)
            if index % chunk == 0:
                await asyncio.sleep(0)  # let the writer run, as between gateway frames
        await ingest.flush()
        elapsed = time.perf_counter() - start
        await ingest.close()
        assert ingest.stats.applied == len(events) and ingest.stats.dropped == 0 and ingest.stats.ignored == 0
        assert await stored(conn) == final, "the ingest lost or invented rows"
        return elapsed, ingest
    finally:
        await conn.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate runs of each; the best of each is kept")
    parser.add_argument("--chunk", type=int, default=100, help="events submitted between yields to the loop")
    args = parser.parse_args(argv)

    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-likes-") as tmp:
        probe, where = await prepared_db(Path(tmp) / "probe.db")
        await probe.close()
        print(f"{args.events:,} reaction events over {len(where)} release messages in {len(GUILDS)} guilds, "
              f"best of {args.rounds} alternating runs each; every stored row checked afterwards")
        for label, share, headline in (("adds only", 0.0, True), ("adds + 15% removes", 0.15, False)):
            events = make_events(args.events, sorted(where), share)
            row_of = {(m, u, e): (*where[m], e, u, m) for _, m, u, e in events}
            rows = [row_of[(m, u, e)] for is_add, m, u, e in events if is_add]
            removed = [row_of[(m, u, e)] for is_add, m, u, e in events if not is_add]
            final = set(rows) - set(removed)
            raw_times, ingest_times = [], []
            last: ReactionIngest | None = None
            for round_ in range(args.rounds):
                raw_times.append(await run_raw(Path(tmp) / f"raw-{share}-{round_}.db", rows, removed, final))
                elapsed, last = await run_ingest(Path(tmp) / f"ingest-{share}-{round_}.db", events, final,
                                                 args.chunk)
                ingest_times.append(elapsed)
            assert last is not None
            raw_rate = len(events) / min(raw_times)
            ingest_rate = len(events) / min(ingest_times)
            ratio = ingest_rate / raw_rate
            print(f"[{label}]")
            print(f"  raw aiosqlite executemany, 1 transaction: {raw_rate:10,.0f} rows/s"
                  f"   ({min(raw_times):.3f} s)")
            print(f"  likes ingest, batched single writer     : {ingest_rate:10,.0f} events/s"
                  f" ({min(ingest_times):.3f} s, {last.stats.batches} batches,"
                  f" largest {last.stats.largest_batch})")
            print(f"  ratio ingest/raw: {ratio:.2f} (target >= {TARGET_RATIO});"
                  f" lost: 0 of {len(events):,} events ({len(final):,} rows stored as expected)")
            ok = ok and (ratio >= TARGET_RATIO or not headline)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
