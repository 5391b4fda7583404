"""The charts of `/likes top` and `/quiz stats`, end to end: the real bot uploads a PNG to the fake Discord
with its interaction response, in a server that has released 2 of the story's 6 chapters.

Also the fake's side of uploads: Discord's limits (10 files, 25 MiB a request, 1,024 characters of alt
text) answered with Discord's errors, and `attachment://` in an embed resolved to the upload.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from typing import Any

import discord
import pytest

from bot.config import Settings
from bot.storage import quiz as store
from bot.storage.sql import fetch_all
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.helpers import final_answer, mark_released
from tests.unit.test_charts import png_size

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

RELEASED = 2
LIKE = "👍"
T0 = datetime(2026, 5, 1, 18, 0, tzinfo=UTC)


def the_chart(fake: FakeDiscord, message: dict[str, Any], filename: str) -> bytes:
    """The message's one attachment, shown as its embed's image; checked to be a sensible PNG."""
    [attachment] = message["attachments"]
    assert attachment["filename"] == filename and attachment["content_type"] == "image/png"
    data = fake.attachment_bytes(attachment)
    assert attachment["size"] == len(data) < 200_000
    width, height = png_size(data)
    assert 600 <= width <= 1600 and 300 <= height <= 1200
    [embed] = message["embeds"]
    assert embed["image"]["url"] == attachment["url"]
    return data


def chapters_named(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"(?:Ch\. |chapters? )(\d+)", text)}


async def answered_quiz(db: Any, guild_id: int, user_id: int) -> None:
    """A member's answers: chapter 1 twice (one right), chapter 2 once (right), and chapter 4 once, as
    if from a story since re-imported: the server has not released chapter 4, so it must not show."""
    questions = [("bank:1", 1, 0), ("bank:2", 1, 0), ("bank:3", 2, 0), ("bank:4", 4, 0)]
    game = await store.create_game(db, guild_id=guild_id, channel_id=1, starter_id=user_id, mode="solo",
                                   chapters="1-4", now=T0, questions=questions)
    for position, correct in enumerate((True, False, True, True)):
        await store.record_answer(db, game_id=game, position=position, guild_id=guild_id, user_id=user_id,
                                  option=0, correct=correct, points=100 * correct, now=T0)
    await store.end_game(db, game, "finished", T0)


async def test_likes_top_attaches_a_chart_of_the_released_chapters_only(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    await asyncio.wait_for(bot.get_cog("Likes").reconciliations.wait_for(1), 5)
    for _ in range(RELEASED):  # released for real, so there are chapter messages to like
        record = await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                                           member=guild_setup.moderator)
        await final_answer(record)
    cursor_rows = await fetch_all(bot.db, "SELECT message_id FROM release_parts WHERE guild_id = ?"
                                          " AND part_index = 0 ORDER BY chapter_number",
                                  (guild_setup.guild.id,))
    first = cursor_rows[0][0]
    await fake_discord.add_reaction(guild_setup.member, first, LIKE)
    await asyncio.wait_for(bot.get_cog("Likes").settle(1), 5)

    pictures = []
    for asker in (guild_setup.member, guild_setup.moderator):
        record = await fake_discord.invoke("likes top", guild=guild_setup.guild, channel=guild_setup.general,
                                           member=asker)
        message = await record.wait_message()
        assert record.callback["type"] == 4 and not message["flags"] & EPHEMERAL
        pictures.append(the_chart(fake_discord, message, "likes-per-chapter.png"))
        [embed] = message["embeds"]
        per_chapter = {f["name"]: f["value"] for f in embed["fields"]}["Per chapter (the chart)"]
        assert per_chapter.splitlines() == ["Ch. 1: 1 (0 + 1)", "Ch. 2: 1 (1 + 0)"]
        [meta] = record.callback["data"]["attachments"]
        assert meta["description"].startswith("Bar chart of likes per released chapter, chapters 1 to 2")
        assert chapters_named(meta["description"]) <= {1, 2}
        assert record.callback["data"]["allowed_mentions"] == {"parse": []}
    assert pictures[0] == pictures[1]  # the same numbers for everyone: the same picture


async def test_likes_top_before_any_release_has_no_chart(seeded: Settings, bot_factory,
                                                         fake_discord: FakeDiscord,
                                                         guild_setup: GuildSetup) -> None:
    await bot_factory()
    record = await fake_discord.invoke("likes top", guild=guild_setup.guild, member=guild_setup.member)
    message = await record.wait_message()
    assert message["attachments"] == [] and "image" not in message["embeds"][0]


async def test_quiz_stats_attaches_a_members_accuracy_per_released_chapter(
        seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    await mark_released(bot.db, guild_setup.guild.id, RELEASED)
    await answered_quiz(bot.db, guild_setup.guild.id, guild_setup.member.id)

    for asker in (guild_setup.member, guild_setup.moderator):
        record = await fake_discord.invoke("quiz stats", guild=guild_setup.guild, member=asker,
                                           options={"member": guild_setup.member})
        message = await record.wait_message()
        assert message["flags"] & EPHEMERAL
        the_chart(fake_discord, message, "quiz-accuracy.png")
        description = message["embeds"][0]["description"]
        assert description.splitlines()[-2:] == ["Ch. 1: 50% (1 of 2)", "Ch. 2: 100% (1 of 1)"]
        assert chapters_named(description) == {1, 2}
        [meta] = record.callback["data"]["attachments"]
        assert meta["description"] == ("Bar chart of the share of right quiz answers per chapter, "
                                       "for chapters 1, 2.")

    # Someone who never answered: the record says so, and there is nothing to draw.
    record = await fake_discord.invoke("quiz stats", guild=guild_setup.guild, member=guild_setup.moderator)
    message = await record.wait_message()
    assert message["attachments"] == [] and "has not answered" in message["embeds"][0]["description"]


# --- the fake's uploads ------------------------------------------------------------------------------------

async def test_the_fake_keeps_discords_upload_limits(bot_factory, fake_discord: FakeDiscord,
                                                     guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    channel = bot.get_partial_messageable(guild_setup.general.id, guild_id=guild_setup.guild.id)

    def files(count: int, size: int = 10, description: str | None = None) -> list[discord.File]:
        return [discord.File(io.BytesIO(b"x" * size), filename=f"f{i}.txt", description=description)
                for i in range(count)]

    sent = await channel.send(files=files(10, description="ten of them"))
    assert [a.filename for a in sent.attachments] == [f"f{i}.txt" for i in range(10)]
    assert sent.attachments[0].description == "ten of them"
    assert sent.attachments[0].content_type == "text/plain" and sent.attachments[0].size == 10

    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(files=files(11))
    assert caught.value.status == 400 and caught.value.code == 50035

    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(files=files(1, description="d" * 1025))
    assert caught.value.status == 400 and caught.value.code == 50035

    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(files=files(2, size=13 * 1024 * 1024))
    assert caught.value.status == 413 and caught.value.code == 40005
    assert len(fake_discord.history(guild_setup.general)) == 1  # only the first message was posted


async def test_an_embed_image_names_an_upload_by_attachment_url(bot_factory, fake_discord: FakeDiscord,
                                                                guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    channel = bot.get_partial_messageable(guild_setup.general.id, guild_id=guild_setup.guild.id)
    embed = discord.Embed(title="t").set_image(url="attachment://p.png")
    sent = await channel.send(embed=embed, file=discord.File(io.BytesIO(b"\x89PNG"), filename="p.png"))
    [attachment] = sent.attachments
    assert sent.embeds[0].image.url == attachment.url and attachment.content_type == "image/png"
    assert fake_discord.attachment_bytes(fake_discord.messages[sent.id]["attachments"][0]) == b"\x89PNG"
