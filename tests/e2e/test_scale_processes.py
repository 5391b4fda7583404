"""The bot as operators scale it out: real `aar-bot run` processes on one PostgreSQL database.

A process killed with SIGKILL in the middle of a release (no shutdown, no cleanup: a crashed machine) is
restarted, and the release it left half-sent is finished from the database's journal with every part posted
exactly once.  Two processes running shards 0 and 1 of 2 each answer only their own shard's server, and each
server's release goes out once; SIGTERM stops a PostgreSQL-backed process cleanly (exit code 0).
The fake Discord runs in the test; the bot runs as its own OS process, as in production.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chapters import schedules
from bot.config import SHIPPED_THREAD
from bot.storage.connection import open_postgres_database
from bot.storage.guilds import update_guild_settings
from bot.storage.releases import released_through
from bot.storage.sql import fetch_all
from bot.story.importer import import_file
from tests.e2e.test_chapters import posted
from tests.e2e.test_shards import guilds_on_both_shards
from tests.fakediscord import FakeDiscord, GuildSetup
from tests.helpers import final_answer
from tests.postgres import PostgresServer

pytestmark = pytest.mark.timeout(120)


class BotProcess:
    """`python -m bot run` against the fake Discord and a PostgreSQL database, started and awaited ready."""

    def __init__(self, fake: FakeDiscord, database_url: str, cwd: Path,
                 shards: tuple[int, int] | None = None) -> None:
        """`shards`: (this process's shard id, shard count), else one process for every server."""
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))} | {
            "DISCORD_TOKEN": fake.token, "DISCORD_API_BASE_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url, "AAR_DATABASE_URL": database_url,
            "AAR_DB_PATH": str(cwd / "unused.db"), "PYTHONUNBUFFERED": "1",
        }
        if shards is not None:
            self.env |= {"AAR_SHARD_IDS": str(shards[0]), "AAR_SHARD_COUNT": str(shards[1])}
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr: list[str] = []
        self._said = asyncio.Condition()

    async def start(self) -> None:
        self.stderr = []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.cwd, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        assert self.proc.stderr is not None

        async def ready() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            while line := await self.proc.stderr.readline():
                self.stderr.append(line.decode(errors="replace"))
                if "Ready as" in self.stderr[-1]:
                    return
            raise AssertionError("the bot stopped before it was ready:\n" + "".join(self.stderr))

        await asyncio.wait_for(ready(), 30)
        self._reader = asyncio.get_running_loop().create_task(self._read())  # the pipe must not fill up

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            async with self._said:
                self.stderr.append(line.decode(errors="replace"))
                self._said.notify_all()

    async def said(self, text: str, timeout: float) -> str:
        """The first line of the process's log (since its start) containing `text`, awaited."""
        def found() -> str | None:
            return next((line for line in self.stderr if text in line), None)
        async with self._said:
            line = await asyncio.wait_for(self._said.wait_for(found), timeout)
        assert line is not None
        return line

    async def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def terminate(self, timeout: float) -> int:
        """SIGTERM (what `docker stop` sends), then the exit code, awaited at most `timeout` seconds."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def database_url(postgres_server: PostgresServer) -> str:
    """A PostgreSQL database at this code's schema holding the shipped story."""
    url = await postgres_server.new_migrated_database()
    conn = await open_postgres_database(url)
    try:
        await import_file(conn, SHIPPED_THREAD)
    finally:
        await conn.close()
    return url


async def test_a_process_killed_mid_release_is_finished_by_its_restart_with_nothing_doubled(
        database_url: str, fake_discord: FakeDiscord, guild_setup: GuildSetup, tmp_path: Path) -> None:
    reference = await fake_discord.add_standard_guild("reference")
    conn = await open_postgres_database(database_url)
    try:
        for setup in (guild_setup, reference):
            await update_guild_settings(conn, setup.guild.id, story_channel_id=setup.story.id)
    finally:
        await conn.close()
    bot = BotProcess(fake_discord, database_url, tmp_path)
    try:
        await bot.start()
        # The release's second part is held in Discord; the process dies while it waits.
        held = fake_discord.hold(method="POST", path=rf"^/channels/{guild_setup.story.id}/messages$", after=1)
        await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                                  member=guild_setup.moderator)
        await fake_discord.wait_for(lambda: held.waiting, timeout=20)
        await bot.kill()
        held.release()
        assert len(fake_discord.history(guild_setup.story)) in (1, 2)  # the held one may have landed

        await bot.start()  # the restart resumes the journaled release
        resumed = await bot.said("Resumed the release of chapter 1", timeout=30)
        assert f"in guild {guild_setup.guild.id}: released" in resumed
        record = await fake_discord.invoke("chapter next", guild=reference.guild, channel=reference.story,
                                           member=reference.moderator)
        assert "Released chapter 1" in (await final_answer(record, timeout=30))["content"]
        expected = posted(fake_discord, reference.story)
        await fake_discord.wait_for(lambda: posted(fake_discord, guild_setup.story) == expected, timeout=30)
        history = fake_discord.history(guild_setup.story)
        assert len({m["nonce"] for m in history}) == len(history) == len(expected)  # each part once
    finally:
        await bot.stop()
    conn = await open_postgres_database(database_url)
    try:
        assert await released_through(conn, guild_setup.guild.id) == 1
        assert await released_through(conn, reference.guild.id) == 1
    finally:
        await conn.close()


async def test_two_processes_on_shards_0_and_1_each_answer_only_their_shards_server_and_release_it_once(
        database_url: str, fake_discord: FakeDiscord, tmp_path: Path) -> None:
    zero, one = await guilds_on_both_shards(fake_discord)
    conn = await open_postgres_database(database_url)
    try:
        for setup in (zero, one):
            await update_guild_settings(conn, setup.guild.id, story_channel_id=setup.story.id)
    finally:
        await conn.close()
    first = BotProcess(fake_discord, database_url, tmp_path, shards=(0, 2))
    second = BotProcess(fake_discord, database_url, tmp_path, shards=(1, 2))
    try:
        await first.start()
        await second.start()
        for setup in (zero, one):
            record = await fake_discord.invoke("chapter next", guild=setup.guild, channel=setup.story,
                                               member=setup.moderator)
            assert "Released chapter 1" in (await final_answer(record, timeout=30))["content"]
        assert posted(fake_discord, zero.story) == posted(fake_discord, one.story)  # each part once, each
        # Shard 1's process gone, its server goes unanswered while shard 0's process still answers its own.
        await second.kill()
        orphan = await fake_discord.invoke("aar status", guild=one.guild, channel=one.story,
                                           member=one.moderator)
        served = await fake_discord.invoke("aar status", guild=zero.guild, channel=zero.story,
                                           member=zero.moderator)
        await served.wait_response(timeout=20)
        assert orphan.acknowledged_with is None
    finally:
        await first.stop()
        await second.stop()
    conn = await open_postgres_database(database_url)
    try:
        assert await released_through(conn, zero.guild.id) == 1
        assert await released_through(conn, one.guild.id) == 1
    finally:
        await conn.close()


async def test_sigterm_stops_a_postgresql_backed_process_with_exit_code_0_within_seconds(
        database_url: str, fake_discord: FakeDiscord, tmp_path: Path) -> None:
    bot = BotProcess(fake_discord, database_url, tmp_path)
    try:
        await bot.start()
        assert await bot.terminate(timeout=10) == 0, "".join(bot.stderr)
    finally:
        await bot.stop()


async def test_two_processes_both_claiming_shard_0_release_a_due_chapter_once(
        database_url: str, fake_discord: FakeDiscord, guild_setup: GuildSetup, tmp_path: Path) -> None:
    """Misconfigured: both processes hold shard 0 of 1, so both find the server's schedule due as they
    start, at about the same moment.  The release's claim in the database lets one of them release it.  The
    other may find that release in progress as it starts and take it for one a crash interrupted (its log:
    "Resumed the release"): in a text channel the parts' nonces still keep every part single."""
    conn = await open_postgres_database(database_url)
    try:
        await update_guild_settings(conn, guild_setup.guild.id, story_channel_id=guild_setup.story.id)
        await schedules.add_schedule(conn, guild_id=guild_setup.guild.id, when_text="2026-03-01 18:00",
                                     zone="UTC", created_by=guild_setup.moderator.id,
                                     channel_id=guild_setup.story.id,
                                     now=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))  # long due by now
    finally:
        await conn.close()
    bots = [BotProcess(fake_discord, database_url, tmp_path, shards=(0, 1)) for _ in range(2)]
    try:
        await asyncio.gather(*(bot.start() for bot in bots))
        said = [asyncio.ensure_future(bot.said("released chapter 1", timeout=30)) for bot in bots]
        done, pending = await asyncio.wait(said, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        assert f"guild {guild_setup.guild.id}" in next(iter(done)).result()
        for bot in bots:  # a stop lets a release in flight finish or leave it to be resumed: never doubled
            assert await bot.terminate(timeout=10) == 0, "".join(bot.stderr)
    finally:
        for bot in bots:
            await bot.stop()
    assert sum("released chapter 1" in line for bot in bots for line in bot.stderr) == 1
    conn = await open_postgres_database(database_url)
    try:
        rows = await fetch_all(conn, "SELECT chapter_number, status, parts_total FROM releases"
                                     " WHERE guild_id = ?", (guild_setup.guild.id,))
        assert [tuple(r)[:2] for r in rows] == [(1, "done")]
        assert await schedules.next_due_at(conn) is None
    finally:
        await conn.close()
    history = fake_discord.history(guild_setup.story)
    assert len(history) == rows[0]["parts_total"] > 1  # every part once, none twice
    assert len({m["nonce"] for m in history}) == len(history)
