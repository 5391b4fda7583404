"""The fake Discord's rate limits (tests/fakediscord/ratelimit.py): Discord's answers, headers and exemptions,
and the real discord.py client pacing itself by them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.fakediscord import FakeDiscord, GuildSetup
from tests.fakediscord.ratelimit import MESSAGE_BUCKET

pytestmark = pytest.mark.timeout(30)


async def rest(fake: FakeDiscord, method: str, path: str, body: Any = None,
               ) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session, session.request(
            method, fake.api_base + path, json=body, headers=headers) as resp:
        data = await resp.json() if resp.headers.get("Content-Type") == "application/json" else None
        return resp.status, dict(resp.headers), data


async def test_defaults_keep_the_global_limit_on_and_the_others_off() -> None:
    fake = FakeDiscord()
    assert fake.global_limit == 50 and not fake.channel_limits and fake.latency == 0


async def test_one_over_the_global_limit_is_a_global_429_and_recorded(guild_setup: GuildSetup) -> None:
    async with FakeDiscord(global_limit=5) as fake:
        answers = [await rest(fake, "GET", "/users/@me") for _ in range(6)]
        assert [status for status, _, _ in answers] == [200] * 5 + [429]
        _, headers, body = answers[-1]
        assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
        assert body["global"] is True and 0 < body["retry_after"] <= 1.0
        assert body["message"] == "You are being rate limited."
        [hit] = fake.rate_limit_hits
        assert (hit.method, hit.path, hit.scope) == ("GET", "/users/@me", "global")
        assert fake.limited_requests == 6


async def test_interaction_callbacks_and_webhooks_are_exempt_from_the_global_limit() -> None:
    async with FakeDiscord(global_limit=1) as fake:
        setup = await fake.add_standard_guild()
        record = await fake._create_interaction(2, {"name": "x"}, setup.guild, setup.general,
                                                setup.member, dispatch=False)
        assert (await rest(fake, "GET", "/users/@me"))[0] == 200  # the one request the limit allows
        status, _, _ = await rest(fake, "POST", f"/interactions/{record.id}/{record.token}/callback",
                                  {"type": 4, "data": {"content": "hi"}})
        assert status == 204
        for _ in range(3):
            status, _, _ = await rest(fake, "PATCH",
                                      f"/webhooks/{fake.application_id}/{record.token}/messages/@original",
                                      {"content": "edited"})
            assert status == 200
        assert fake.rate_limit_hits == [] and fake.limited_requests == 1
        assert (await rest(fake, "GET", "/users/@me"))[0] == 429  # counted routes are still limited


async def test_message_creation_bucket_per_channel_headers_then_429() -> None:
    async with FakeDiscord(channel_limits=True) as fake:
        setup = await fake.add_standard_guild()
        path = f"/channels/{setup.general.id}/messages"
        answers = [await rest(fake, "POST", path, {"content": f"m{i}"}) for i in range(6)]
        assert [status for status, _, _ in answers] == [200] * 5 + [429]
        for i, (_, headers, _) in enumerate(answers[:5]):
            assert headers["X-RateLimit-Limit"] == "5"
            assert headers["X-RateLimit-Remaining"] == str(4 - i)
            assert headers["X-RateLimit-Bucket"] == MESSAGE_BUCKET
            assert 0 < float(headers["X-RateLimit-Reset-After"]) <= 5
            assert float(headers["X-RateLimit-Reset"]) > 1_000_000_000  # epoch seconds
        _, headers, body = answers[-1]
        assert headers["X-RateLimit-Scope"] == "user" and "X-RateLimit-Global" not in headers
        assert headers["X-RateLimit-Remaining"] == "0" and body["global"] is False and body["retry_after"] > 0
        assert len(fake.history(setup.general)) == 5  # the refused one was not posted
        assert [h.scope for h in fake.rate_limit_hits] == ["user"]
        # Another channel has its own bucket.
        assert (await rest(fake, "POST", f"/channels/{setup.story.id}/messages", {"content": "x"}))[0] == 200


async def test_discord_py_paces_itself_by_the_bucket_headers(running_bot, fake_discord: FakeDiscord,
                                                             guild_setup: GuildSetup) -> None:
    fake_discord.channel_limits = True
    fake_discord.channel_window = 0.5  # Discord's 5 s, shortened so the test stays fast
    channel = running_bot.get_channel(guild_setup.general.id)
    for i in range(12):
        await channel.send(f"m{i}")
    assert len(fake_discord.history(guild_setup.general)) == 12
    assert fake_discord.rate_limit_hits == []


async def test_the_bots_request_budget_keeps_it_under_the_global_limit(
        running_bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    channels = [running_bot.get_channel(c.id) for c in (guild_setup.general, guild_setup.story)]
    sent = await asyncio.gather(*(channels[i % 2].send(f"m{i}") for i in range(110)))
    assert len(sent) == 110 and fake_discord.rate_limit_hits == []
    assert fake_discord.limited_requests >= 110
