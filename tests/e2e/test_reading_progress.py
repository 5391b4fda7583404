"""Pick up where you stopped, end to end: the pager's page turns and the ✅ Read button under a release
remember how far each member read; `/chapter continue`, `/chapter read` without a number and
`/chapter list` use it.  A server with 2 of 6 chapters released, a plain member and a moderator.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

from typing import Any

import pytest

from bot.chapters.render import render_chapter
from bot.config import Settings
from bot.storage.story import load_chapter
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup
from tests.fakediscord.models import Member
from tests.helpers import SEED_CHAPTERS, release_chapters

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

RELEASED = 2


@pytest.fixture
async def bot(seeded: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup):
    made = await bot_factory()
    await release_chapters(fake_discord, guild_setup, RELEASED)
    return made


async def pages_of(bot, number: int) -> list[dict[str, Any]]:
    chapter = await load_chapter(bot.db, number)
    assert chapter is not None
    return render_chapter(chapter, number=number, total=SEED_CHAPTERS)


async def run(fake: FakeDiscord, setup: GuildSetup, command: str, member: Member, **options: Any):
    record = await fake.invoke(command, guild=setup.guild, channel=setup.general, member=member,
                               options=options)
    message = await record.wait_message()
    assert message["flags"] & EPHEMERAL
    return record, message


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    for row in message.get("components") or []:
        for component in row["components"]:
            if component.get("label", "").startswith(label):
                return component
    raise AssertionError(f"no {label!r} button in {message.get('components')}")


def release_messages(fake: FakeDiscord, setup: GuildSetup, number: int) -> list[dict[str, Any]]:
    """The story channel's messages of chapter `number`'s release (its parts, in order)."""
    history = fake.history(setup.story)
    starts = [i for i, m in enumerate(history) if f"Chapter {number} of {SEED_CHAPTERS}" in m["content"]]
    nexts = [i for i, m in enumerate(history) if f"Chapter {number + 1} of {SEED_CHAPTERS}" in m["content"]]
    return history[starts[0]:nexts[0] if nexts else None]


async def press_read(fake: FakeDiscord, setup: GuildSetup, number: int, member: Member) -> str:
    last = release_messages(fake, setup, number)[-1]
    read = button(last, "Read")
    assert read["custom_id"] == f"aar:readmark:{number}" and read["emoji"]["name"] == "✅"
    click = await fake.click(last, read["custom_id"], member=member)
    response = await click.wait_response()
    assert response["type"] == 4 and response["data"]["flags"] & EPHEMERAL
    return str(response["data"]["content"])


async def test_continue_opens_the_first_page_not_read_and_the_read_button_finishes_a_chapter(
        bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    member, moderator = guild_setup.member, guild_setup.moderator
    one, two = await pages_of(bot, 1), await pages_of(bot, 2)
    assert len(one) >= 3

    # Nothing read yet: continue opens chapter 1 at its first page, privately, with the pager.
    record, message = await run(fake_discord, guild_setup, "chapter continue", member)
    assert message["content"] == one[0]["content"]
    assert button(message, "Page")["label"] == f"Page 1 of {len(one)}"
    click = await fake_discord.click(message, button(message, "Next")["custom_id"], member=member)
    await click.wait_response()
    assert record.message is not None and record.message["content"] == one[1]["content"]

    # Page 2 was the furthest: continue opens page 3; turning back does not unread anything.
    _, message = await run(fake_discord, guild_setup, "chapter continue", member)
    assert message["content"] == one[2]["content"]
    assert button(message, "Page")["label"] == f"Page 3 of {len(one)}"

    # The moderator's progress is their own.
    _, message = await run(fake_discord, guild_setup, "chapter continue", moderator)
    assert button(message, "Page")["label"] == f"Page 1 of {len(one)}"

    # ✅ Read under chapter 1's last release message: chapter 1 is read; the message is unchanged.
    before = release_messages(fake_discord, guild_setup, 1)[-1]
    assert "Marked chapter 1 as read" in await press_read(fake_discord, guild_setup, 1, member)
    assert fake_discord.messages[int(before["id"])] == before
    _, message = await run(fake_discord, guild_setup, "chapter list", member)
    lines = message["embeds"][0]["description"].splitlines()
    assert lines[0].startswith("**1.**") and lines[0].endswith("✅ read")
    assert lines[1].startswith("**2.**") and "✅" not in lines[1]
    _, message = await run(fake_discord, guild_setup, "chapter list", moderator)
    assert "✅" not in message["embeds"][0]["description"]

    # `/chapter read` without a number: the next unread chapter, from its start.
    _, message = await run(fake_discord, guild_setup, "chapter read", member)
    assert message["content"] == two[0]["content"]
    _, message = await run(fake_discord, guild_setup, "chapter continue", member)
    assert message["content"] == (two[1] if len(two) > 1 else two[0])["content"]

    # Everything released read: continue and read say so, and name no later chapter.
    assert "Marked chapter 2 as read" in await press_read(fake_discord, guild_setup, 2, member)
    for command in ("chapter continue", "chapter read"):
        _, message = await run(fake_discord, guild_setup, command, member)
        assert "read every released chapter here (2 chapters)" in message["content"]
        assert "No release is scheduled yet" in message["content"]
        assert not message.get("embeds")


async def test_all_read_names_the_next_scheduled_release(bot, fake_discord: FakeDiscord,
                                                         guild_setup: GuildSetup) -> None:
    for number in range(1, RELEASED + 1):
        await press_read(fake_discord, guild_setup, number, guild_setup.member)
    record = await fake_discord.invoke("schedule add", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=guild_setup.moderator, options={"when": "2099-01-01 12:00"})
    await record.wait_message()
    _, message = await run(fake_discord, guild_setup, "chapter continue", guild_setup.member)
    assert "The next one is scheduled for <t:4070952000:F>" in message["content"]


async def test_reading_to_the_last_page_finishes_a_chapter(bot, fake_discord: FakeDiscord,
                                                           guild_setup: GuildSetup) -> None:
    member = guild_setup.member
    record, message = await run(fake_discord, guild_setup, "chapter read", member, number=1)
    while not button(record.message, "Next")["disabled"]:
        click = await fake_discord.click(record.message, button(record.message, "Next")["custom_id"],
                                         member=member)
        await click.wait_response()
    _, message = await run(fake_discord, guild_setup, "chapter continue", member)
    assert message["content"] == (await pages_of(bot, 2))[0]["content"]


async def test_the_read_button_works_after_a_restart(seeded: Settings, bot, bot_factory,
                                                     fake_discord: FakeDiscord,
                                                     guild_setup: GuildSetup) -> None:
    await bot.close()
    bot = await bot_factory()
    assert "Marked chapter 1 as read" in await press_read(fake_discord, guild_setup, 1, guild_setup.member)
    _, message = await run(fake_discord, guild_setup, "chapter continue", guild_setup.member)
    assert message["content"] == (await pages_of(bot, 2))[0]["content"]


async def test_the_read_button_of_a_chapter_this_server_has_not_released_refuses(
        bot, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    """A forged custom_id (the button of another server's release) marks nothing and names no title."""
    last = release_messages(fake_discord, guild_setup, 2)[-1]
    forged = dict(last, components=[{"type": 1, "components": [
        {"type": 2, "style": 3, "label": "Read", "custom_id": "aar:readmark:5"}]}])
    fake_discord.messages[int(last["id"])] = forged
    click = await fake_discord.click(forged, "aar:readmark:5", member=guild_setup.member)
    response = await click.wait_response()
    assert response["data"]["content"] == "Chapter 5 is not out yet in this server (2 chapters have been " \
                                          "released so far)."
    _, message = await run(fake_discord, guild_setup, "chapter list", guild_setup.member)
    assert "✅" not in message["embeds"][0]["description"]
