"""The fake's attachment options: the interaction carries the attachment as Discord sends it, the file is
served from a signed URL on the fake's own server (as Discord's CDN, nothing else), and the client's
upload limit holds."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from bot.config import Settings
from tests.fakediscord import FakeDiscord, GuildSetup, TestApiError, Upload

pytestmark = pytest.mark.timeout(30)


async def get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.read()


async def test_a_signed_url_serves_the_bytes_and_nothing_else_does(fake_discord: FakeDiscord):
    attachment = fake_discord.upload_attachment(Upload("thread.txt", b"hello"))
    assert attachment["size"] == 5 and attachment["ephemeral"] is True
    assert attachment["content_type"] == "text/plain; charset=utf-8"
    assert attachment["url"].startswith(fake_discord.url + "/ephemeral-attachments/")
    assert await get(attachment["url"]) == (200, b"hello")
    assert (await get(attachment["proxy_url"]))[0] == 200
    unsigned = attachment["url"].split("?")[0]
    tampered = attachment["url"].replace("hm=", "hm=0")
    for url in (unsigned, tampered):
        status, body = await get(url)
        assert (status, body) == (404, b"This content is no longer available.")
    assert [r.status for r in fake_discord.downloads(attachment["id"])] == [200, 200, 404, 404]


async def test_the_client_refuses_a_file_over_the_upload_limit(fake_discord: FakeDiscord):
    fake_discord.upload_attachment(Upload("limit.txt", b"x" * fake_discord.attachment_size_limit))
    with pytest.raises(TestApiError, match="refuses files over"):
        fake_discord.upload_attachment(Upload("over.txt", b"x" * (fake_discord.attachment_size_limit + 1)))


async def test_the_bot_receives_a_discord_attachment_it_can_read(fake_discord: FakeDiscord, seeded: Settings,
                                                                  guild_setup: GuildSetup, bot_factory):
    bot = await bot_factory()
    seen: list[discord.Attachment] = []
    flow = bot.get_cog("Admin").import_flow

    async def capture(interaction: discord.Interaction, file: discord.Attachment) -> None:
        seen.append(file)
        await interaction.response.send_message(f"{len(await file.read())} bytes", ephemeral=True)

    flow.start = capture
    record = await fake_discord.invoke("aar import", guild=guild_setup.guild, member=guild_setup.moderator,
                                       options={"file": Upload("a b.txt", b"12345")})
    data = record.payload["data"]
    option = data["options"][0]["options"][0]
    assert option["type"] == 11 and option["value"] in data["resolved"]["attachments"]
    assert (await record.wait_message())["content"] == "5 bytes"
    (file,) = seen
    assert (file.filename, file.size, file.ephemeral) == ("a b.txt", 5, True)
