"""`bot.ops.health`: healthy only with every shard of this process connected and the database answering."""

from __future__ import annotations

import asyncio

from bot.ops.health import check_health
from bot.ops.metrics import ShardStatus


async def answers() -> None:
    return None


async def closed() -> None:
    raise ValueError("no active connection")


async def hangs() -> None:
    await asyncio.Event().wait()


async def test_healthy_when_every_shard_is_connected_and_the_database_answers() -> None:
    report = await check_health([0, 1], [ShardStatus(0, True, 0.1), ShardStatus(1, True, None)], answers)
    assert report.healthy
    assert report.to_json() == {"status": "ok", "reasons": [], "shards": {"0": True, "1": True}}


async def test_every_reason_is_listed() -> None:
    report = await check_health([0, 1, 2], [ShardStatus(0, True, 0.1), ShardStatus(1, False, None)], closed)
    assert not report.healthy
    assert report.reasons == ["shard 1 is not connected to the gateway",
                              "shard 2 is not connected to the gateway",
                              "the database does not answer: ValueError: no active connection"]
    assert report.to_json()["shards"] == {"0": True, "1": False, "2": False}


async def test_a_database_that_hangs_is_unhealthy_after_the_timeout() -> None:
    report = await check_health([0], [ShardStatus(0, True, 0.1)], hangs, database_timeout=0.01)
    assert report.reasons == ["the database did not answer within 0.01s"]


async def test_before_any_shard_is_planned_it_is_not_healthy() -> None:
    report = await check_health([], [], answers)
    assert report.reasons == ["no shard has been started yet"]
