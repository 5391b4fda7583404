"""A second story in the library (`aar-bot import --story`) stays out of every server until a server
chooses it: servers read the first story, whole, and nothing of the second — not a chapter, not a search
hit — even once the first story is all released.  The real bot, both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SHIPPED_THREAD, Settings
from bot.storage import stories
from bot.storage.connection import open_storage
from bot.story.importer import import_file
from tests.e2e.test_search import search
from tests.fakediscord import FakeDiscord, GuildSetup
from tests.helpers import SEED_CHAPTERS, final_answer, release_chapters

pytestmark = [pytest.mark.timeout(90), pytest.mark.both_backends]

OTHER_WORD = "Zanzibarque"  # in the second story only; the first says "Rokossovsky" where it says this


@pytest.fixture
async def two_stories(seeded: Settings, tmp_path: Path) -> Settings:
    other = tmp_path / "red-star.txt"
    other.write_text(SHIPPED_THREAD.read_text(encoding="utf-8-sig").replace("Rokossovsky", OTHER_WORD)
                     + "\n", encoding="utf-8")
    conn = await open_storage(seeded.db_path, seeded.database_url)
    try:
        red = await stories.create_story(conn, "red-star", "Red Star")
        await import_file(conn, other, story_id=red.id)
    finally:
        await conn.close()
    return seeded


async def test_servers_read_the_first_story_and_nothing_of_the_second(
        two_stories: Settings, bot_factory, fake_discord: FakeDiscord, guild_setup: GuildSetup) -> None:
    await bot_factory()
    await release_chapters(fake_discord, guild_setup, SEED_CHAPTERS)  # the first story, whole
    record = await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                                       member=guild_setup.moderator)
    answer = (await final_answer(record))["content"]
    assert "all" in answer.lower() and f"{SEED_CHAPTERS}" in answer  # nothing more to release: not story 2's
    posted = "\n".join(str(m) for m in fake_discord.history(guild_setup.story))
    assert OTHER_WORD not in posted and "Rokossovsky" in posted

    nothing = await search(fake_discord, guild_setup, OTHER_WORD)
    assert nothing["content"] == f"No passage in the chapters released here matches “{OTHER_WORD}”."
    found = await search(fake_discord, guild_setup, "Rokossovsky")
    assert found.get("embeds") and OTHER_WORD not in str(found)
