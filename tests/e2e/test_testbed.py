"""The bot through its real entry point (`python -m bot run`) in a subprocess, against the fake Discord."""

# The test API's waits take `timeout=` by design (`await record.wait_response(timeout=5)`).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest

from bot import __version__
from bot.app import api_base
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
CONFIG_VARS = ("DISCORD_TOKEN", "DISCORD_API_BASE_URL", "DISCORD_GATEWAY_URL", "AAR_DB_PATH",
               "AAR_HEALTH_FILE", "DEV_GUILD_ID", "LOG_LEVEL")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra


class Output:
    """Collects a stream line by line; `wait_for(text)` wakes on the line that contains it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._cond = asyncio.Condition()

    async def pump(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            async with self._cond:
                self.lines.append(line.decode(errors="replace"))
                self._cond.notify_all()

    async def wait_for(self, text: str, timeout: float) -> None:
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: any(text in line for line in self.lines)),
                                   timeout)

    @property
    def text(self) -> str:
        return "".join(self.lines)


async def test_run_status_and_sigterm(fake_discord: FakeDiscord, guild_setup: GuildSetup,
                                      tmp_path: Path) -> None:
    health = tmp_path / "health"
    env = clean_env(DISCORD_TOKEN=fake_discord.token, DISCORD_API_BASE_URL=fake_discord.api_base,
                    DISCORD_GATEWAY_URL=fake_discord.gateway_url, AAR_HEALTH_FILE=str(health),
                    DEV_GUILD_ID=str(guild_setup.guild.id), LOG_LEVEL="DEBUG")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "aar.db"), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = Output(), Output()
    pumps = [asyncio.create_task(out.pump(proc.stdout)), asyncio.create_task(err.pump(proc.stderr))]
    try:
        await fake_discord.wait_identified(timeout=30)
        # commands were synced to the dev guild (before IDENTIFY) and passed the fake's validation
        assert [gid for gid, _ in fake_discord.command_syncs] == [guild_setup.guild.id]
        assert not [r for r in fake_discord.requests_to("PUT", "/commands$") if r.status != 200]
        names = {c["name"] for c in fake_discord.guild_commands[guild_setup.guild.id]}
        assert "aar" in names

        record = await fake_discord.invoke("aar status", member=guild_setup.member)
        response = await record.wait_response(timeout=10)
        assert response["type"] == 4 and response["data"]["flags"] & EPHEMERAL
        fields = {f["name"]: f["value"] for f in response["data"]["embeds"][0]["fields"]}
        assert fields["Version"] == __version__

        await err.wait_for("Ready as", timeout=15)
        assert health.exists()

        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await asyncio.gather(*pumps)
    assert not health.exists()
    with closing(sqlite3.connect(tmp_path / "aar.db")) as db:
        assert fields["Chapters imported"] == str(db.execute("SELECT COUNT(*) FROM chapters").fetchone()[0])
    assert fake_discord.token not in out.text + err.text
    assert fake_discord.intents is not None and fake_discord.intents & (1 << 1 | 1 << 8 | 1 << 15) == 0


async def test_run_without_token(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "aar.db"), cwd=tmp_path, env=clean_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    assert "DISCORD_TOKEN" in stderr.decode()


async def test_status_in_process(running_bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    record = await fake_discord.invoke("aar status", member=guild_setup.member)
    response = await record.wait_response()
    assert response["type"] == 4 and record.ephemeral
    fields = {f["name"]: f["value"] for f in response["data"]["embeds"][0]["fields"]}
    assert fields["Version"] == __version__ and fields["Latency"].endswith("ms")


async def test_health_file_written_and_removed(bot_factory, guild_setup: GuildSetup, tmp_path: Path) -> None:
    health = tmp_path / "hb"
    bot = await bot_factory(health_file=health)
    assert health.read_text().strip()
    assert bot.health_loop.is_running()
    await bot.close()
    assert not health.exists()


def test_api_base_normalised() -> None:
    assert api_base("http://127.0.0.1:1234/api/v10") == "http://127.0.0.1:1234/api/v10"
    assert api_base("http://127.0.0.1:1234/") == "http://127.0.0.1:1234/api/v10"
    assert api_base("https://proxy.example/api") == "https://proxy.example/api/v10"
    with pytest.raises(ValueError):
        api_base("https://proxy.example/api/v9")
