"""`bot.sharding`: shard ids from settings, which process owns a server, and IDENTIFY pacing."""

from __future__ import annotations

import asyncio

import pytest

from bot.sharding import IdentifyPacer, ShardPlan, ShardSpecError, parse_shard_ids, shard_of


def guild_on(shard: int, count: int, *, base: int = 1_234_567) -> int:
    """A guild id (timestamp part `base + k`) that Discord routes to `shard` of `count`."""
    timestamp = base + (shard - base) % count
    return timestamp << 22 | 42


@pytest.mark.parametrize(("text", "ids"), [
    ("0-3", (0, 1, 2, 3)), ("0,2", (0, 2)), ("3", (3,)), (" 4 - 5 , 1 ", (1, 4, 5)), ("1,1,0-1", (0, 1)),
])
def test_shard_ids_parse(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(("text", "count", "problem"), [
    ("", None, "must be shard ids like 0-3 or 0,2, not ''"),
    ("0,,2", None, "must be shard ids like 0-3 or 0,2, not '0,,2'"),
    ("a-b", None, "'a-b' is not"),
    ("-1", None, "'-1' is not"),
    ("0-", None, "'0-' is not"),
    ("3-1", None, "the range '3-1' runs backwards (write 1-3)"),
    ("5", 2, "shard 5 does not exist with AAR_SHARD_COUNT=2 (shard ids run from 0 to 1)"),
    ("0-7", 4, "shard 4 does not exist"),
])
def test_bad_shard_ids_are_one_clear_line(text: str, count: int | None, problem: str) -> None:
    with pytest.raises(ShardSpecError) as caught:
        parse_shard_ids(text, count)
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_shard_of_is_discords_formula() -> None:
    assert shard_of(guild_on(1, 2), 2) == 1
    assert shard_of(guild_on(0, 2), 2) == 0
    assert shard_of(81384788765712384, 1) == 0
    assert shard_of(81384788765712384, 16) == (81384788765712384 >> 22) % 16


def test_each_process_owns_exactly_its_shards_guilds() -> None:
    count = 4
    first, second = ShardPlan.of(count, [0, 1]), ShardPlan.of(count, [2, 3])
    guilds = [guild_on(shard, count, base=base) for shard in range(count) for base in (10, 999_999)]
    for guild in guilds:
        assert first.owns_guild(guild) != second.owns_guild(guild)  # one process, never two, never none
    assert [first.owns_guild(guild_on(s, count)) for s in range(count)] == [True, True, False, False]
    assert all(ShardPlan.of(count).owns_guild(g) for g in guilds)  # one process for all shards
    owns = first.owns_guild  # usable as a plain Callable[[int], bool]
    assert [g for g in guilds if owns(g)] == [g for g in guilds if shard_of(g, count) < 2]


def test_plan_refuses_impossible_shards() -> None:
    with pytest.raises(ShardSpecError):
        ShardPlan.of(0)
    with pytest.raises(ShardSpecError):
        ShardPlan.of(2, [2])
    with pytest.raises(ShardSpecError):
        ShardPlan.of(2, [])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_spaces_identifies_per_bucket() -> None:
    clock = Clock()
    pacer = IdentifyPacer(max_concurrency=2, interval=5.0, clock=clock)
    assert [pacer.bucket(s) for s in range(4)] == [0, 1, 0, 1]
    asyncio.run(pacer.wait_turn(0))
    assert pacer.delay(1) == 0.0  # another bucket: free at once
    assert pacer.delay(2) == 5.0  # same bucket as shard 0: wait the interval
    clock.now += 3
    assert pacer.delay(2) == pytest.approx(2.0)
    clock.now += 2
    assert pacer.delay(2) == 0.0


async def test_pacer_takes_the_slot_and_lets_other_buckets_go_at_once() -> None:
    clock = Clock()
    pacer = IdentifyPacer(max_concurrency=2, interval=60.0, clock=clock)
    assert await pacer.wait_turn(0) == 0.0
    assert await pacer.wait_turn(1) == 0.0  # bucket 1 is free although bucket 0 is busy for a minute
    assert pacer.delay(2) == pacer.delay(3) == 60.0
