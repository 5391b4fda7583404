"""The operators' HTTP endpoint of the running bot: /healthz and /metrics, and stopping with the bot."""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sys
from typing import Any

import aiohttp
import pytest

from bot import healthcheck
from bot.app import AARBot
from bot.config import Settings
from tests.fakediscord import FakeDiscord, GuildSetup

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]


async def get(bot: AARBot, path: str) -> tuple[int, Any]:
    assert bot.operator_server is not None
    async with aiohttp.ClientSession() as session, session.get(bot.operator_server.url + path) as response:
        body = await response.json() if path == "/healthz" else await response.text()
        return response.status, body


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, or None when it is not there."""
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name + (f"{{{label_text}}}" if labels else "")) + r" (\S+)$"
    match = re.search(pattern, metrics, re.MULTILINE)
    return float(match[1]) if match else None


async def test_the_endpoint_is_off_unless_a_port_is_set(bot_factory, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    assert bot.operator_server is None


async def test_healthz_is_200_while_connected_and_503_with_a_reason_when_a_shard_is_down(
        bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup,
        caplog: pytest.LogCaptureFixture) -> None:
    bot = await bot_factory(http_port=0)
    caplog.set_level(logging.INFO)
    assert bot.operator_server is not None and bot.operator_server.host == "127.0.0.1"
    status, body = await get(bot, "/healthz")
    assert (status, body) == (200, {"status": "ok", "reasons": [], "shards": {"0": True}})

    fake_discord.gateway_outage = True  # the shard cannot reconnect
    disconnected = asyncio.ensure_future(bot.wait_for("shard_disconnect", timeout=10))
    await fake_discord.drop_gateway()
    await disconnected
    status, body = await get(bot, "/healthz")
    assert status == 503
    assert body["status"] == "unhealthy" and body["shards"] == {"0": False}
    assert body["reasons"] == ["shard 0 is not connected to the gateway"]
    assert "Shard 0 lost its gateway connection" in caplog.messages
    fake_discord.gateway_outage = False


async def test_healthz_is_503_when_the_database_does_not_answer(bot_factory, guild_setup: GuildSetup) -> None:
    bot = await bot_factory(http_port=0)
    await bot.db.close()
    status, body = await get(bot, "/healthz")
    assert status == 503
    assert body["shards"] == {"0": True}
    assert len(body["reasons"]) == 1 and body["reasons"][0].startswith("the database does not answer")


async def test_metrics_count_commands_and_releases_and_show_servers_and_shards(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory(http_port=0)
    _status, before = await get(bot, "/metrics")
    assert sample(before, "aar_commands_total", command="aar status", outcome="ok") is None

    for command, channel in (("aar status", guild_setup.general), ("chapter next", guild_setup.story)):
        finished = asyncio.ensure_future(bot.wait_for(
            "app_command_completion", check=lambda _i, cmd, name=command: cmd.qualified_name == name,
            timeout=20))
        record = await fake_discord.invoke(command, guild=guild_setup.guild, channel=channel,
                                           member=guild_setup.moderator)
        await record.wait_response()
        await finished

    status, metrics = await get(bot, "/metrics")
    assert status == 200
    assert sample(metrics, "aar_commands_total", command="aar status", outcome="ok") == 1.0
    assert sample(metrics, "aar_command_duration_seconds_count", command="aar status") == 1.0
    assert sample(metrics, "aar_command_duration_seconds_count", command="chapter next") == 1.0
    assert sample(metrics, "aar_releases_total", outcome="released") == 1.0
    assert sample(metrics, "aar_guilds") == 1.0
    assert sample(metrics, "aar_shard_connected", shard="0") == 1.0
    assert "# TYPE aar_shard_latency_seconds gauge" in metrics


async def test_a_refused_command_is_counted_as_refused(bot_factory, fake_discord: FakeDiscord,
                                                      guild_setup: GuildSetup) -> None:
    bot = await bot_factory(http_port=0)
    record = await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                                       member=guild_setup.member, bypass_permissions=True)
    await record.wait_response()
    await fake_discord.wait_for(lambda: b'outcome="refused"' in bot.metrics.render(), timeout=10)
    _status, metrics = await get(bot, "/metrics")
    assert sample(metrics, "aar_commands_total", command="chapter next", outcome="refused") == 1.0


async def test_the_endpoint_stops_with_the_bot(bot_factory, guild_setup: GuildSetup) -> None:
    bot = await bot_factory(http_port=0)
    assert bot.operator_server is not None
    url = bot.operator_server.url + "/healthz"
    await asyncio.wait_for(bot.close(), 10)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            await response.read()


async def test_the_docker_probe_asks_healthz_when_the_port_is_set(
        bot_factory, guild_setup: GuildSetup, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    bot = await bot_factory(http_port=0)
    assert bot.operator_server is not None
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("AAR_HEALTH_FILE", raising=False)  # no heartbeat file: only /healthz can say healthy
    monkeypatch.setenv("AAR_HTTP_PORT", str(bot.operator_server.port))
    # The probe is a blocking process of its own in Docker: run it off the loop that serves the endpoint.
    assert await asyncio.to_thread(healthcheck.main, []) == 0
    assert capsys.readouterr().out.startswith("healthy: connected")
    await bot.db.close()
    assert await asyncio.to_thread(healthcheck.main, []) == 1
    assert "answered 503: the database does not answer" in capsys.readouterr().out
    await bot.close()
    assert await asyncio.to_thread(healthcheck.main, []) == 1
    assert "does not answer" in capsys.readouterr().out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_sigterm_stops_the_bot_and_its_endpoint_within_seconds(
        seeded: Settings, fake_discord: FakeDiscord, guild_setup: GuildSetup, tmp_path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))} | {
        "DISCORD_TOKEN": fake_discord.token, "DISCORD_API_BASE_URL": fake_discord.api_base,
        "DISCORD_GATEWAY_URL": fake_discord.gateway_url, "AAR_DB_PATH": str(seeded.db_path),
        "AAR_HTTP_PORT": str(port), "PYTHONUNBUFFERED": "1",
    } | ({"AAR_DATABASE_URL": seeded.database_url} if seeded.database_url else {})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        async def ready() -> None:
            while line := await proc.stderr.readline():
                seen.append(line.decode(errors="replace"))
                if "Ready as" in seen[-1]:
                    return
            raise AssertionError("the bot stopped before it was ready:\n" + "".join(seen))

        await asyncio.wait_for(ready(), 30)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
            proc.send_signal(signal.SIGTERM)
            _out, rest = await asyncio.wait_for(proc.communicate(), 10)
            assert proc.returncode == 0, rest.decode()
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    await response.read()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_429_from_discord_is_counted_as_a_rate_limit_wait(
        bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory(http_port=0)
    fake_discord.inject_fault(429, method="POST", path=r"/callback$", retry_after=0.05)
    record = await fake_discord.invoke("aar status", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=guild_setup.member)
    await record.wait_response()  # discord.py waited, retried, and got through
    _status, metrics = await get(bot, "/metrics")
    assert sample(metrics, "aar_rate_limit_wait_seconds_count") == 1.0
    assert sample(metrics, "aar_rate_limit_wait_seconds_sum") == 0.05
