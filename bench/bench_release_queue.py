"""Benchmark: many servers releasing at once, through the release queue, against a rate-limited fake Discord.

The real bot (discord.py and all) runs in this process; the fake Discord runs in a process of its own
(`bench/fake_process.py`), with Discord's global limit (50 requests/s per bot, rolling), the per-channel
message limit (5 per 5 s) and a 50 ms round trip per request, so the fake's CPU is not counted as the
bot's.  Two workloads, on `--guilds` servers (default 1,000), each with the shipped AAR imported:

(a) every server has a schedule due in the same minute: from the clock reaching the slot to the last
    release done (the `schedules_checked` event);
(b) every server's moderator runs `/chapter next` at the same moment: from the first command to the last
    answer edited into its jump link; each answer's latency (command to first answer) is measured too;
(c) a restart after a crash that left every server of (a) with its next release claimed and nothing of it
    posted: from ready to the last release resumed (the start-up resume, through the queue).

Printed for each: wall time, counted requests (the ones Discord's global limit counts), requests/s, the
ratio of the wall time to the physical limit (requests / 50 s), 429s the bot caused, releases lost
(not done) and doubled (a channel with more messages or threads than one release makes), and for (b)
the answer latency p50/p99/max.  The baseline, in the same run: the old path (every due schedule
released one after another, `run_due` without the queue) on `--baseline-guilds` other servers, its time
per release extrapolated to `--guilds`; and the physical limit itself.  Exit status 1 when a target
is missed: (a) within 1.15x the physical limit; both 0 rate-limit answers, 0 lost, 0 doubled; (b) every
`/chapter next` released and answered within 3 s.

    .venv/bin/python bench/bench_release_queue.py [--guilds 1000] [--baseline-guilds 40] [--only abc]
        [--same-process]

(b)'s answer latency is what a member waits: from the fake sending the INTERACTION_CREATE to the fake
receiving the callback, both timed by the fake.  `--same-process` runs the fake in this event loop
instead (the old measurement, where its work delayed the bot's); "CPU in the bench process" is then
the bot's and the fake's together, else the bot's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake Discord lives in tests/

from bench.fake_process import LocalFake, Place, RemoteFake
from bench.looplag import LoopLag
from bot.app import AARBot
from bot.chapters import schedules as service
from bot.chapters.publishing import Publisher, PublishError
from bot.config import SHIPPED_THREAD, Settings
from bot.storage import open_database
from bot.storage import schedules as store
from bot.storage.story import load_chapter
from bot.story.importer import import_file
from tests.fakediscord.ratelimit import GLOBAL_LIMIT
from tests.helpers import FakeClock

TARGET_RATIO = 1.15
ANSWER_WITHIN = 3.0
SLOT = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
Fake = LocalFake | RemoteFake


class Counter:
    """What the fake saw from a moment on: counted requests and the 429s its limits gave."""

    def __init__(self, fake: Fake, start: dict[str, int]) -> None:
        self.fake, self.start = fake, start
        self.requests = self.hits = 0
        self.cpu = time.process_time()  # this process's CPU: the bot's alone when the fake has its own
        self.lag = LoopLag()
        self.lag_text = ""

    @classmethod
    async def now(cls, fake: Fake) -> Counter:
        return cls(fake, await fake.call("counter"))

    async def stop(self) -> Counter:
        end = await self.fake.call("counter")
        self.requests = end["requests"] - self.start["requests"]
        self.hits = end["hits"] - self.start["hits"]
        self.cpu = time.process_time() - self.cpu
        self.lag_text = self.lag.stop()
        return self

    def counted(self) -> int:
        return self.requests

    def rate_limited(self) -> int:
        return self.hits


async def checked(fake: Fake, group: str, parts: int, threads: int = 1) -> tuple[int, int]:
    """(lost, doubled): servers whose story channel lacks a release's messages / has some twice."""
    result = await fake.call("checked", group=group, parts=parts, threads=threads)
    return result["lost"], result["doubled"]


async def add_guilds(fake: Fake, group: str, count: int) -> list[Place]:
    return [Place(**p) for p in await fake.call("guilds", group=group, count=count)] if count else []


class Interrupted:
    """A `Sender` that fails every post: a release claimed and cut off before its first message."""

    async def missing_permissions(self, channel_id: int, *, thread: bool) -> list[str]:
        return []

    async def send(self, channel_id: int, payload: Any, *, nonce: str) -> int:
        raise PublishError("bench: the process died here")

    async def find_sent(self, channel_id: int, payload: Any, *, nonce: str, after: int | None) -> int | None:
        return None

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        raise PublishError("bench: the process died here")


async def interrupt(db: Path, setups: list[Place], clock: FakeClock) -> None:
    """Claim each server's next release (the durable intent) and stop before anything is posted."""
    logging.getLogger("bot.chapters.publishing").setLevel(logging.ERROR)  # "interrupted", a thousand times
    conn = await open_database(db)
    try:
        publisher = Publisher(conn, Interrupted(), clock=clock)  # type: ignore[arg-type]
        for setup in setups:
            outcome = await publisher.release_next(setup.guild_id, setup.story_id, precheck=False)
            assert outcome.status == "failed", outcome
    finally:
        await conn.close()


def report(name: str, wall: float, counter: Counter, lost: int, doubled: int) -> tuple[float, bool]:
    """Print the figures; returns (ratio to the physical limit, no 429 and nothing lost or doubled)."""
    requests = counter.counted()
    physical = requests / GLOBAL_LIMIT
    ratio = wall / physical if physical else float("inf")
    print(f"{name}: {wall:.1f} s wall, {requests} requests, {requests / wall:.1f} requests/s, "
          f"{ratio:.2f}x the physical limit ({physical:.1f} s), {counter.rate_limited()} rate-limit answers, "
          f"{lost} lost, {doubled} doubled; {counter.cpu:.1f} s CPU in the bench process")
    print(f"    {counter.lag_text}")
    return ratio, counter.rate_limited() == 0 and lost == 0 and doubled == 0


async def start_bot(fake: Fake, db: Path, clock: FakeClock) -> AARBot:
    settings = Settings(token=fake.token, db_path=db, log_level="WARNING", api_base_url=fake.api_base,
                        gateway_url=fake.gateway_url)
    bot = AARBot(settings, clock=clock, guild_ready_timeout=0.5)
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready, "on_ready")
    bot.bench_task = asyncio.create_task(bot.start(fake.token))  # type: ignore[attr-defined]
    await asyncio.wait_for(ready.wait(), 120)
    return bot


async def add_schedules(bot: AARBot, setups: list[Place]) -> None:
    for setup in setups:
        await store.add_schedule(bot.db, guild_id=setup.guild_id, spec=SLOT.strftime("%Y-%m-%d %H:%M"),
                                 timezone="UTC", next_run_at=SLOT, created_by=setup.moderator_id,
                                 channel_id=setup.story_id, now=SLOT - timedelta(days=1))


async def scheduled(bot: AARBot, fake: Fake, group: str, setups: list[Place], clock: FakeClock,
                    parts: int, *, queue: bool) -> tuple[float, Counter, int, int]:
    """Every server in `setups` due at SLOT; returns (wall, counter, lost, doubled)."""
    await add_schedules(bot, setups)
    counter = await Counter.now(fake)
    clock.now = SLOT + timedelta(seconds=5)
    started = time.perf_counter()
    if queue:
        waiter = asyncio.ensure_future(bot.wait_for("schedules_checked",
                                                    check=lambda _at, fired: len(fired) > 0, timeout=900))
        bot.get_cog("Schedule").wake()  # type: ignore[union-attr]
        _at, fired = await waiter
    else:
        fired = await service.run_due(bot.db, bot.publisher, clock.now)  # the old one-after-another path
    wall = time.perf_counter() - started
    assert len(fired) == len(setups), (len(fired), len(setups))
    await counter.stop()
    lost, doubled = await checked(fake, group, parts)
    return wall, counter, lost, doubled


async def manual(fake: Fake, group: str, guilds: int, parts: int
                 ) -> tuple[float, Counter, int, int, tuple[list[float], list[float]], int]:
    """Every server's moderator runs `/chapter next` at once (the fake sends them and measures); returns
    also the answer latencies and how many final answers say "Released"."""
    counter = await Counter.now(fake)
    result = await fake.call("chapter_next", group=group, give_up_after=60 + guilds * 4 / GLOBAL_LIMIT * 2)
    await counter.stop()
    if result["never_edited"]:
        print(f"    {result['never_edited']} answers never edited")
    latencies = [float("inf") if x is None else x for x in result["answered"]]
    told = [float("inf") if x is None else x for x in result["told"]]  # "going out now" / "queued: ..."
    lost, doubled = await checked(fake, group, parts)
    print(f"    the fake Discord's {result['fake_lag']}")
    if result["rate_limited_at"]:
        print(f"    429s at (s after the first command): {result['rate_limited_at']}")
    misses = result["misses"]
    if misses:
        print(f"    estimates: {len(misses)} answers said \"queued: about N s\"; actual minus N: median "
              f"{statistics.median(misses):+.1f} s, min {min(misses):+.1f} s, max {max(misses):+.1f} s")
    return result["wall"], counter, lost, doubled, (latencies, told), result["released"]


async def run(guilds: int, baseline_guilds: int, only: str, same_process: bool) -> int:
    logging.basicConfig(level=logging.WARNING)
    fake: Fake = (LocalFake if same_process else RemoteFake)(latency=0.05, channel_limits=True)
    await fake.start()
    ok = True
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "aar.db"
            conn = await open_database(db)
            await import_file(conn, SHIPPED_THREAD)
            chapter = await load_chapter(conn, 1)
            await conn.close()
            assert chapter is not None
            base = await add_guilds(fake, "Baseline", baseline_guilds if "a" in only else 0)
            due = await add_guilds(fake, "Scheduled", guilds if "a" in only else 0)
            asked = await add_guilds(fake, "Manual", guilds if "b" in only else 0)
            clock = FakeClock(SLOT - timedelta(hours=1))
            discord.http.Route.BASE = fake.api_base
            bot = await start_bot(fake, db, clock)
            try:
                parts = await _plan_parts(bot)
                print(f"{guilds} servers, chapter 1 = {parts} messages + a thread; fake Discord "
                      f"({'in this process' if same_process else 'in its own process'}): global limit "
                      f"{GLOBAL_LIMIT}/s, 5 messages per 5 s per channel, 50 ms round trip; bot budget "
                      f"{bot.pacing.requests_per_second:g}/s, {bot.pacing.release_workers} release workers")
                if "a" in only:
                    ok &= await schedules_and_baseline(bot, fake, base, due, clock, parts)
                if "b" in only:
                    ok &= await everyone_at_once(fake, len(asked), parts)
                if "c" in only and "a" in only:
                    await bot.close()
                    ok &= await restart(fake, db, due, clock, parts)
            finally:
                await bot.close()
    finally:
        await fake.stop()
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


async def schedules_and_baseline(bot: AARBot, fake: Fake, base: list[Place], due: list[Place],
                                 clock: FakeClock, parts: int) -> bool:
    """The baseline (the old path, on a few servers, extrapolated), the physical limit, then (a)."""
    guilds, baseline_guilds = len(due), len(base)
    wall, counter, lost, doubled = await scheduled(bot, fake, "Baseline", base, clock, parts, queue=False)
    per = wall / baseline_guilds
    requests = counter.counted() / baseline_guilds * guilds
    print(f"baseline (old path, one server after another, {baseline_guilds} servers): {wall:.1f} s, "
          f"{per:.3f} s per release -> {per * guilds:.1f} s for {guilds} "
          f"({per * guilds / (requests / GLOBAL_LIMIT):.2f}x the physical limit), "
          f"{counter.rate_limited()} rate-limit answers, {lost} lost, {doubled} doubled")
    print(f"physical limit: {requests:.0f} requests / {GLOBAL_LIMIT} per s = "
          f"{requests / GLOBAL_LIMIT:.1f} s")
    # (a) schedules.
    clock.now = SLOT - timedelta(hours=1)
    wall, counter, lost, doubled = await scheduled(bot, fake, "Scheduled", due, clock, parts, queue=True)
    ratio, passed = report(f"(a) {guilds} schedules due in the same minute", wall, counter, lost,
                           doubled)
    return passed and ratio <= TARGET_RATIO


async def everyone_at_once(fake: Fake, guilds: int, parts: int) -> bool:
    """(b) `/chapter next` everywhere at once."""
    wall, counter, lost, doubled, (latencies, told), released = await manual(fake, "Manual", guilds, parts)
    _ratio, passed = report(f"(b) {guilds} simultaneous /chapter next", wall, counter, lost, doubled)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    late = sum(1 for x in ordered if x > ANSWER_WITHIN)
    print(f"    answers: {released}/{guilds} released; answer latency p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms, {late} after {ANSWER_WITHIN:g} s")
    said = sorted(told)
    p99_said = said[min(len(said) - 1, int(len(said) * 0.99))]
    print(f"    'going out now' / 'queued: about N s' after: p50 {statistics.median(said) * 1000:.0f} ms, "
          f"p99 {p99_said * 1000:.0f} ms, max {said[-1] * 1000:.0f} ms")
    return passed and released == guilds and ordered[-1] <= ANSWER_WITHIN


async def restart(fake: Fake, db: Path, due: list[Place], clock: FakeClock, parts: int) -> bool:
    """(c) the start after a crash that left every scheduled server's chapter 2 claimed, nothing posted."""
    guilds = len(due)
    await interrupt(db, due, clock)
    bot = await start_bot(fake, db, clock)
    counter, started = await Counter.now(fake), time.perf_counter()
    resume = bot.get_cog("Chapters").startup_resume  # type: ignore[union-attr]
    assert resume is not None
    await resume
    wall = time.perf_counter() - started
    await counter.stop()
    parts2 = await _plan_parts(bot, 2)
    lost, doubled = await checked(fake, "Scheduled", parts + parts2, threads=2)
    _ratio, passed = report(f"(c) {guilds} interrupted releases resumed at start", wall, counter,
                            lost, doubled)
    await bot.close()
    return passed


async def _plan_parts(bot: AARBot, number: int = 1) -> int:
    """How many messages a release of the chapter sends."""
    chapter = await load_chapter(bot.db, number)
    assert chapter is not None
    return bot.publisher._render(chapter, number, 6, None)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--baseline-guilds", type=int, default=40)
    parser.add_argument("--only", default="abc", help="the workloads to run, e.g. b (c needs a)")
    parser.add_argument("--same-process", action="store_true",
                        help="run the fake Discord in this process and event loop (the old measurement)")
    args = parser.parse_args()
    return asyncio.run(run(args.guilds, args.baseline_guilds, args.only, args.same_process))


if __name__ == "__main__":
    sys.exit(main())
