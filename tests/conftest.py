"""Fixtures: a fake Discord on 127.0.0.1 and the real bot connected to it, in-process.

    async def test_status(running_bot, fake_discord, guild_setup):
        record = await fake_discord.invoke("aar status", member=guild_setup.member)
        response = await record.wait_response()
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.app import AARBot
from bot.config import SHIPPED_THREAD, Settings
from bot.storage.connection import open_storage
from bot.story.importer import import_file
from tests.fakediscord import FakeDiscord, GuildSetup
from tests.postgres import PostgresServer, postgres_server, postgres_url  # noqa: F401  (fixtures)

BotFactory = Callable[..., Awaitable[AARBot]]


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord (random port on 127.0.0.1), stopped after the test."""
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def guild_setup(fake_discord: FakeDiscord) -> GuildSetup:
    """A guild with #general and #story, a Moderator role (Manage Server), `moderator` and plain `member`."""
    return await fake_discord.add_standard_guild()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_backends: run the module's bot tests on SQLite and PostgreSQL")
    config.addinivalue_line("markers", "sqlite_only(why): tests what only SQLite has")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """In a `both_backends` module, each test of the real bot runs on SQLite and on PostgreSQL (a fresh
    database of the session's throwaway server: `AAR_DATABASE_URL`, as an operator sets it)."""
    if ("bot_settings" in metafunc.fixturenames and "db" not in metafunc.fixturenames
            and metafunc.definition.get_closest_marker("both_backends")
            and not metafunc.definition.get_closest_marker("sqlite_only")):
        metafunc.parametrize("bot_settings", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
async def bot_settings(request: pytest.FixtureRequest, fake_discord: FakeDiscord,
                       tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings pointing at the fake, with a fresh database: a SQLite file under tmp_path, or (when
    parametrized "postgresql") a PostgreSQL database at this code's schema, dropped afterwards."""
    settings = Settings(token=fake_discord.token, db_path=tmp_path / "aar.db", log_level="DEBUG",
                        api_base_url=fake_discord.api_base, gateway_url=fake_discord.gateway_url)
    if getattr(request, "param", "sqlite") == "sqlite":
        yield settings
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = await server.new_migrated_database()
    try:
        yield dataclasses.replace(settings, database_url=url)
    finally:
        await server.drop_database(url)


@pytest.fixture
async def seeded(bot_settings: Settings) -> Settings:
    """The bot's database with the shipped AAR imported (and so indexed) before the bot starts."""
    conn = await open_storage(bot_settings.db_path, bot_settings.database_url)
    try:
        await import_file(conn, SHIPPED_THREAD)
    finally:
        await conn.close()
    return bot_settings


@pytest.fixture
async def bot_factory(fake_discord: FakeDiscord, bot_settings: Settings,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotFactory]:
    """`await bot_factory(clock=..., **settings_overrides)`: an AARBot connected to the fake and ready.

    Every bot it made is closed after the test (and must stop cleanly).
    """
    # AARBot points these process-wide class attributes at the fake; put Discord's back afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    started: list[tuple[AARBot, asyncio.Task[None]]] = []

    async def make(*, clock: Callable[[], Any] | None = None, ready_timeout: float = 10.0,
                   **overrides: Any) -> AARBot:
        settings = dataclasses.replace(bot_settings, **overrides)
        kwargs: dict[str, Any] = {"guild_ready_timeout": 0.05}
        if clock is not None:
            kwargs["clock"] = clock
        bot = AARBot(settings, **kwargs)
        ready = asyncio.Event()

        async def on_ready() -> None:
            ready.set()

        bot.add_listener(on_ready, "on_ready")
        task = asyncio.create_task(bot.start(settings.token or ""), name="aar-bot")
        started.append((bot, task))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({task, waiter}, timeout=ready_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            if task in done:
                task.result()  # raises the start-up error
                raise RuntimeError("the bot stopped before it was ready")
            raise TimeoutError(f"the bot was not ready within {ready_timeout}s")
        return bot

    yield make
    for bot, task in started:
        await bot.close()
        try:
            await asyncio.wait_for(task, 5)
        except (discord.ConnectionClosed, discord.HTTPException):
            pass


@pytest.fixture
async def running_bot(bot_factory: BotFactory, guild_setup: GuildSetup) -> AARBot:
    """The bot, ready, in the standard guild (`guild_setup`)."""
    return await bot_factory()
