"""Shards: the real discord.py client against the fake's sharded gateway.

Guilds are routed to shards by `(guild_id >> 22) % shard_count`; two processes (two bots here) each run
some shards, see only their guilds and own only their per-server work; IDENTIFYs are paced per
`max_concurrency` bucket as the fake enforces; a bot in too many guilds for its shards is refused with
4011 and exits with one clear line.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.app import AARBot
from bot.chapters import schedules
from bot.config import Settings
from bot.storage import quiz as quiz_store
from bot.storage.connection import open_storage
from bot.storage.sql import fetch_all
from tests.fakediscord import FakeDiscord, GuildSetup
from tests.helpers import FakeClock, schedules_checked

pytestmark = [pytest.mark.timeout(90), pytest.mark.both_backends]


async def guilds_on_both_shards(fake: FakeDiscord) -> tuple[GuildSetup, GuildSetup]:
    """A standard guild on shard 0 and one on shard 1 (of 2), built before the bot connects."""
    zero, one = await fake.add_standard_guild("Shard Zero"), await fake.add_standard_guild("Shard One")
    fake.move_guild_to_shard(zero.guild, 0, 2)
    fake.move_guild_to_shard(one.guild, 1, 2)
    return zero, one


async def test_two_processes_each_see_and_own_only_their_shards_guilds(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord) -> None:
    zero, one = await guilds_on_both_shards(fake_discord)
    first = await bot_factory(shard_count=2, shard_ids=(0,))
    second = await bot_factory(shard_count=2, shard_ids=(1,))

    assert sorted(fake_discord.identified_shards) == [(0, 2), (1, 2)]
    assert [g.id for g in first.guilds] == [zero.guild.id]
    assert [g.id for g in second.guilds] == [one.guild.id]
    assert (first.owns_guild(zero.guild.id), first.owns_guild(one.guild.id)) == (True, False)
    assert (second.owns_guild(zero.guild.id), second.owns_guild(one.guild.id)) == (False, True)

    # A command in shard 1's guild reaches only the process running shard 1.
    done = asyncio.ensure_future(second.wait_for("app_command_completion", timeout=10))
    record = await fake_discord.invoke("aar status", guild=one.guild, channel=one.general, member=one.member)
    await record.wait_response()
    await done
    assert b'aar_commands_total{command="aar status",outcome="ok"} 1.0' in second.metrics.render()
    assert b'aar_commands_total{command="aar status"' not in first.metrics.render()


async def test_quiz_recovery_at_start_ends_only_the_games_of_this_process_shards(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord) -> None:
    zero, one = await guilds_on_both_shards(fake_discord)
    # A previous process left a game running in each guild.
    conn = await open_storage(seeded.db_path, seeded.database_url)
    try:
        games = {}
        for setup in (zero, one):
            games[setup.guild.id] = await quiz_store.create_game(
                conn, guild_id=setup.guild.id, channel_id=setup.general.id, starter_id=setup.member.id,
                mode="channel", questions=[("bank:1", 1, 0)], chapters="1", now=datetime.now(UTC))
    finally:
        await conn.close()

    bot = await bot_factory(shard_count=2, shard_ids=(1,))

    rows = await fetch_all(bot.db, "SELECT guild_id, status FROM quiz_games ORDER BY id")
    status = {guild_id: state for guild_id, state in rows}
    assert status == {zero.guild.id: "running", one.guild.id: "interrupted"}  # shard 0's is not ours


@pytest.mark.parametrize("max_concurrency", [1, 2])
async def test_one_process_runs_discords_recommended_shards_pacing_identifies_per_bucket(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, max_concurrency: int) -> None:
    zero, one = await guilds_on_both_shards(fake_discord)
    fake_discord.recommended_shards = 2
    fake_discord.max_concurrency = max_concurrency
    # Discord allows one IDENTIFY per bucket per 5 s; the fake refuses a faster one with op 9.  Short here,
    # and the same on both sides: with one bucket the bot must wait it out between its two shards.
    fake_discord.identify_interval = 0.3
    monkeypatch.setattr(AARBot, "identify_interval", 0.3)
    caplog.set_level(logging.INFO)

    bot = await bot_factory()  # no AAR_SHARD_COUNT: Discord's recommendation

    assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
    assert fake_discord.identify_refusals == []
    assert sorted(fake_discord.identified_shards) == [(0, 2), (1, 2)]
    assert {g.id for g in bot.guilds} == {zero.guild.id, one.guild.id}
    assert bot.owns_guild(zero.guild.id) and bot.owns_guild(one.guild.id)
    assert bot.identify_pacer.max_concurrency == max_concurrency
    assert all(fake_discord.shard_connected(shard) for shard in (0, 1))
    for shard in (0, 1):
        assert any(r.getMessage() == f"Shard {shard} ready in 1 guild(s)" for r in caplog.records)

    # Each shard's events go to its own session: a command in each guild is answered.
    for setup in (zero, one):
        record = await fake_discord.invoke("aar status", guild=setup.guild, channel=setup.general,
                                           member=setup.member)
        await record.wait_response()


async def test_the_fake_refuses_an_impossible_shard_with_4010(fake_discord: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(fake_discord.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        await ws.send_json({"op": 2, "d": {"token": fake_discord.token, "intents": 1, "shard": [2, 2],
                                           "properties": {}}})
        closed = await ws.receive()
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4010
    assert fake_discord.identify_refusals == [(-1, "invalid shard [2, 2]")]


async def test_too_many_guilds_for_one_shard_is_refused_with_4011_and_the_bot_exits_with_one_line(
        seeded: Settings, fake_discord: FakeDiscord, tmp_path: Path) -> None:
    for number in range(2501):
        await fake_discord.add_guild(f"Guild {number}", channels=())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))} | {
        "DISCORD_TOKEN": fake_discord.token, "DISCORD_API_BASE_URL": fake_discord.api_base,
        "DISCORD_GATEWAY_URL": fake_discord.gateway_url, "AAR_DB_PATH": str(seeded.db_path),
        "AAR_SHARD_COUNT": "1",  # the operator forces one shard: Discord says no
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    stderr = err.decode()

    assert process.returncode == 1, stderr
    assert fake_discord.identify_refusals == [(0, "sharding required (2501 guilds)")]
    errors = [line for line in stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "AAR_SHARD_COUNT to 3 or more" in errors[0] and "4011" in errors[0], stderr
    assert "Traceback" not in stderr
    assert fake_discord.token not in stderr


@pytest.mark.parametrize(("env", "problem"), [
    ({"AAR_SHARD_COUNT": "2", "AAR_SHARD_IDS": "5"}, "shard 5 does not exist with AAR_SHARD_COUNT=2"),
    ({"AAR_SHARD_COUNT": "2", "AAR_SHARD_IDS": "one"}, "AAR_SHARD_IDS must be shard ids like 0-3 or 0,2"),
])
def test_bad_shard_settings_stop_run_with_one_line(tmp_path: Path, env: dict[str, str], problem: str) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))}
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "aar.db")],
                          cwd=tmp_path, env=base | {"DISCORD_TOKEN": "x"} | env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and problem in done.stderr, done.stderr


async def test_a_schedule_due_in_each_servers_fires_exactly_once_in_the_process_holding_its_shard(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord) -> None:
    """Two processes on one database, each checking every schedule: each fires only its own servers' ones,
    so each server gets its chapter once, from the process that holds its shard."""
    zero, one = await guilds_on_both_shards(fake_discord)
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    conn = await open_storage(seeded.db_path, seeded.database_url)
    try:
        for setup in (zero, one):
            await schedules.add_schedule(conn, guild_id=setup.guild.id, when_text="2026-03-01 18:00",
                                         zone="UTC", created_by=setup.moderator.id,
                                         channel_id=setup.story.id, now=clock())
    finally:
        await conn.close()
    first = await bot_factory(shard_count=2, shard_ids=(0,), clock=clock)
    second = await bot_factory(shard_count=2, shard_ids=(1,), clock=clock)

    for bot in (first, second):  # each loop's first look (nothing due yet) is over before the clock moves
        assert await schedules_checked(bot) == []
    fired: dict[AARBot, list[schedules.Fired]] = {first: [], second: []}
    for bot in (first, second):  # every check from now on, whoever wakes the loop
        async def note(_now: datetime, done: list[schedules.Fired], bot: AARBot = bot) -> None:
            fired[bot].extend(done)
        bot.add_listener(note, "on_schedules_checked")

    clock.now = datetime(2026, 3, 1, 18, 1, tzinfo=UTC)
    for bot in (first, second):
        await schedules_checked(bot)
        assert await schedules_checked(bot) == []  # a second look: nothing more

    assert [(f.guild_id, f.outcome.status if f.outcome else None) for f in fired[first]] == [
        (zero.guild.id, "released")]
    assert [(f.guild_id, f.outcome.status if f.outcome else None) for f in fired[second]] == [
        (one.guild.id, "released")]
    for setup in (zero, one):
        posted = [m for m in fake_discord.history(setup.story)
                  if m["author"]["id"] == str(fake_discord.bot_user.id)]
        assert posted and len({m["id"] for m in posted}) == len(posted)
        rows = await fetch_all(first.db, "SELECT chapter_number, status FROM releases WHERE guild_id = ?",
                               (setup.guild.id,))
        assert [tuple(r) for r in rows] == [(1, "done")]
    assert await schedules.next_due_at(first.db, first.owns_guild) is None
    assert await schedules.next_due_at(second.db, second.owns_guild) is None


async def test_two_processes_misconfigured_with_the_same_shard_release_a_due_chapter_once(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    """Both processes believe they hold the server (shard 0 of 1 each) and both see its schedule due: the
    database's claim on the release lets one of them release it; the other finds it taken."""
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    conn = await open_storage(seeded.db_path, seeded.database_url)
    try:
        await schedules.add_schedule(conn, guild_id=guild_setup.guild.id, when_text="2026-03-01 18:00",
                                     zone="UTC", created_by=guild_setup.moderator.id,
                                     channel_id=guild_setup.story.id, now=clock())
    finally:
        await conn.close()
    first = await bot_factory(shard_count=1, shard_ids=(0,), clock=clock)
    second = await bot_factory(shard_count=1, shard_ids=(0,), clock=clock)
    assert first.owns_guild(guild_setup.guild.id) and second.owns_guild(guild_setup.guild.id)
    for bot in (first, second):
        assert await schedules_checked(bot) == []

    clock.now = datetime(2026, 3, 1, 18, 1, tzinfo=UTC)
    fired = await asyncio.gather(schedules_checked(first), schedules_checked(second))  # at the same time
    released = [f for done in fired for f in done if f.outcome and f.outcome.status == "released"]
    assert len(released) == 1, fired
    posted = [m for m in fake_discord.history(guild_setup.story)
              if m["author"]["id"] == str(fake_discord.bot_user.id)]
    rows = await fetch_all(first.db, "SELECT chapter_number, status, parts_total FROM releases"
                                     " WHERE guild_id = ?", (guild_setup.guild.id,))
    assert [tuple(r)[:2] for r in rows] == [(1, "done")]
    assert len(posted) == rows[0]["parts_total"] > 1  # every part once, none twice
    assert len({m["nonce"] for m in posted}) == len(posted)
