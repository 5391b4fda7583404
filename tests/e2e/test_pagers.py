"""The one pager (`cogs.shared.ui`): `/chapter read` and `/characters` page buttons look the same, and keep
working after the bot restarts, because each click recomputes its page from the server's releases."""

from __future__ import annotations

from typing import Any

from bot.chapters.render import render_chapter
from bot.storage.story import load_chapter
from tests.fakediscord import FakeDiscord, GuildSetup
from tests.helpers import SEED_CHAPTERS, mark_released


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message["components"] for c in row["components"]]


def by_label(message: dict[str, Any], label: str) -> dict[str, Any]:
    return next(c for c in buttons(message) if c.get("label", "").startswith(label))


async def test_read_pages_turn_after_a_restart(seeded, bot_factory, fake_discord: FakeDiscord,
                                               guild_setup: GuildSetup) -> None:
    first = await bot_factory()
    await mark_released(first.db, guild_setup.guild.id, 3)
    chapter = await load_chapter(first.db, 3)
    assert chapter is not None
    pages = render_chapter(chapter, number=3, total=SEED_CHAPTERS)
    record = await fake_discord.invoke("chapter read", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=guild_setup.member, options={"number": 3})
    message = await record.wait_message()
    await first.close()

    second = await bot_factory()  # a new process: nothing of the first one's views survives
    next_page = by_label(message, "Next")["custom_id"]
    click = await fake_discord.click(message, next_page, member=guild_setup.member)
    await click.wait_response()
    assert record.message is not None and record.message["content"] == pages[1]["content"]
    assert by_label(record.message, "Page")["label"] == f"Page 2 of {len(pages)}"
    assert second.is_ready()


async def test_both_pagers_show_the_same_buttons(seeded, bot_factory, fake_discord: FakeDiscord,
                                                 guild_setup: GuildSetup) -> None:
    bot = await bot_factory()
    await mark_released(bot.db, guild_setup.guild.id, SEED_CHAPTERS)
    read = await fake_discord.invoke("chapter read", guild=guild_setup.guild, channel=guild_setup.general,
                                     member=guild_setup.member, options={"number": 3})
    roster = await fake_discord.invoke("characters", guild=guild_setup.guild, channel=guild_setup.general,
                                       member=guild_setup.member)

    def look(message: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(c.get("label", "").split(" ")[0], c.get("emoji", {}).get("name"), c["style"],
                 c.get("disabled")) for c in buttons(message)]

    assert look(await read.wait_message()) == look(await roster.wait_message()) == [
        ("Previous", "◀️", 2, True), ("Page", None, 2, True), ("Next", "▶️", 1, False)]
