"""`/aar import file:` end to end: a forum export uploaded as an attachment option, downloaded by the bot from
the fake's CDN, previewed privately, imported on Confirm only, and refused with one clear line otherwise.

The files are the shipped thread and variants of it written here: a chapter added, a chapter edited.  The
tests marked `both_backends` run the bot on SQLite and on PostgreSQL.
"""

# The fake's waits take `timeout=` by design.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import SHIPPED_THREAD, Settings
from bot.storage.connection import open_storage
from bot.storage.releases import released_through
from bot.storage.sql import fetch_all, fetch_value
from bot.storage.story import list_chapters, load_chapter
from bot.story.importer import import_story, parse_export
from bot.story.upload import MAX_UPLOAD_BYTES
from cogs.shared.checks import NOT_A_MODERATOR
from tests.fakediscord import EPHEMERAL, FakeDiscord, GuildSetup, Upload
from tests.helpers import SEED_CHAPTERS, FakeClock, final_answer, mark_released, schedules_checked

pytestmark = pytest.mark.timeout(60)

SEED = SHIPPED_THREAD.read_text(encoding="utf-8")
EPILOGUE_TITLE = "The Epilogue: After the Storm."
ADDED = (SEED.rstrip("\n") + "\n\u00a0\nEpilogue\n" + EPILOGUE_TITLE + "\n\n"
         + "The guns fell silent over Madrid, and the workers' councils counted their dead. " * 12
         + "\n\u00a0\n  • 2Like\nReactions:\nWhat an ending!\n")
EDITED_CAPTION = "Marianne, is that really you?"
EDITED = SEED.replace("Marianne is that you?", EDITED_CAPTION, 1)
BOTH = ADDED.replace("Marianne is that you?", EDITED_CAPTION, 1)
FIRST_TITLE = "The Spanish Civil War: Further Beyond."


@pytest.fixture
async def released_all(seeded: Settings, guild_setup: GuildSetup) -> Settings:
    """The shipped story imported and all six chapters released in the standard guild."""
    conn = await open_storage(seeded.db_path, seeded.database_url)
    try:
        await mark_released(conn, guild_setup.guild.id, SEED_CHAPTERS, channel_id=guild_setup.story.id)
    finally:
        await conn.close()
    return seeded


@pytest.fixture
async def bot(released_all: Settings, bot_factory, guild_setup: GuildSetup):
    return await bot_factory()


async def dump(conn) -> list[str]:
    """Every row of the story's tables and the imports log, to prove nothing was written."""
    lines = []
    for table in ("chapters", "blocks", "comments", "forum_reactions", "imports"):
        rows = await fetch_all(conn, f"SELECT * FROM {table} ORDER BY 1, 2")
        lines.extend(f"{table}: {tuple(r)}" for r in rows)
    return lines


async def run_import(fake: FakeDiscord, setup: GuildSetup, text: str | bytes, *, member=None,
                     filename: str = "aar-thread.txt") -> Any:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return await fake.invoke("aar import", guild=setup.guild, channel=setup.general,
                             member=member or setup.moderator, options={"file": Upload(filename, data)})


async def preview_of(record) -> dict[str, Any]:
    """The preview message, once the bot has edited its "thinking…" answer into it."""
    message = await final_answer(record)
    assert message["flags"] & EPHEMERAL, "the preview is private"
    assert message["embeds"], message
    return message


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """label → custom_id of the message's buttons."""
    return {c["label"]: c["custom_id"] for row in message.get("components") or []
            for c in row.get("components") or []}


async def press(fake: FakeDiscord, message: dict[str, Any], label: str, member) -> Any:
    return await fake.click(message, buttons(message)[label], member=member)


async def answer_text(click, timeout: float = 10.0) -> str:
    """What a button press ended with: the preview edited in place (the last edit), or a refusal."""
    await click.wait_response(timeout)
    if click.acknowledged_with == 7:
        # Confirm answers "Importing…" at once, then edits in the outcome.
        await click.fake.wait_for(lambda: "Importing" not in click.message["content"], timeout=timeout)
        return click.message["content"]
    assert click.acknowledged_with == 4 and click.callback["data"]["flags"] & EPHEMERAL, click.callback
    return click.callback["data"]["content"]


async def refusal(record, timeout: float = 10.0) -> str:
    """A command's one-line private refusal (at once, or after its "thinking…")."""
    message = await final_answer(record, timeout=timeout)
    assert message["flags"] & EPHEMERAL
    assert not message.get("components"), "a refusal offers no buttons"
    text = message["content"]
    assert text and "\n" not in text, text
    return text


# --- preview, confirm, cancel --------------------------------------------------------------------------


@pytest.mark.both_backends  # the preview's reads and the import's state check
async def test_preview_then_confirm_imports_and_chapter_next_releases_the_new_chapter(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot):
    all_out = await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                                        member=guild_setup.moderator)
    assert f"all {SEED_CHAPTERS}" in (await final_answer(all_out))["content"].lower()

    record = await run_import(fake_discord, guild_setup, BOTH)
    preview = await preview_of(record)
    attachment_id = next(iter(record.payload["data"]["resolved"]["attachments"]))
    assert [r.status for r in fake_discord.downloads(attachment_id)] == [200]
    body = preview["embeds"][0]["description"]
    assert "aar-thread.txt" in preview["embeds"][0]["title"]
    assert "**In this file:** 7 chapters, 79 pictures, 7 forum likes, 15 comments." in body
    assert "add 1 new chapter:" in body and f"7. {EPILOGUE_TITLE}" in body
    assert "update 1 edited chapter" in body and f"1. {FIRST_TITLE}" in body
    assert "add 1 new comment" in body
    assert "leave 5 chapters as they are" in body
    assert "Nothing has changed yet" in preview["embeds"][0]["footer"]["text"]
    assert set(buttons(preview)) == {"Confirm import", "Cancel"}
    assert len(await list_chapters(bot.db)) == SEED_CHAPTERS  # nothing written by the preview

    text = await answer_text(await press(fake_discord, preview, "Confirm import", guild_setup.moderator))
    assert text.startswith("Imported aar-thread.txt: 1 new chapter, 1 chapter updated, 1 new comment."), text
    assert "The story has 7 chapters" in text
    assert not fake_discord.messages[int(preview["id"])]["components"], "the buttons are gone"
    chapters = await list_chapters(bot.db)
    assert [c.title for c in chapters][-1] == EPILOGUE_TITLE and chapters[-1].forum_likes == 2
    first = await load_chapter(bot.db, 1)
    assert first is not None and first.blocks[1].text == EDITED_CAPTION

    released = await fake_discord.invoke("chapter next", guild=guild_setup.guild, channel=guild_setup.story,
                                         member=guild_setup.moderator)
    assert "Released chapter 7 of 7" in (await final_answer(released))["content"]
    assert any(EPILOGUE_TITLE in (m["content"] + str(m["embeds"]))
               for m in fake_discord.history(guild_setup.story))


async def test_a_schedule_that_found_nothing_releases_the_imported_chapter_at_its_next_slot(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, released_all: Settings, bot_factory):
    clock = FakeClock(datetime(2026, 3, 25, 12, 0, tzinfo=UTC))
    bot = await bot_factory(clock=clock)
    added = await fake_discord.invoke("schedule add", guild=guild_setup.guild, channel=guild_setup.story,
                                      member=guild_setup.moderator,
                                      options={"when": "daily 13:00", "timezone": "UTC"})
    assert "Scheduled" in (await added.wait_message())["content"]
    clock.advance(hours=1, minutes=30)
    [fired] = await schedules_checked(bot)
    assert fired.outcome.status == "all_out"

    preview = await preview_of(await run_import(fake_discord, guild_setup, ADDED))
    text = await answer_text(await press(fake_discord, preview, "Confirm import", guild_setup.moderator))
    assert text.startswith("Imported aar-thread.txt: 1 new chapter"), text
    clock.advance(days=1)
    [fired] = await schedules_checked(bot)
    assert (fired.outcome.status, fired.outcome.chapter) == ("released", 7)
    assert await released_through(bot.db, guild_setup.guild.id) == 7


async def test_cancel_writes_nothing(fake_discord: FakeDiscord, guild_setup: GuildSetup, bot):
    before = await dump(bot.db)
    preview = await preview_of(await run_import(fake_discord, guild_setup, ADDED))
    text = await answer_text(await press(fake_discord, preview, "Cancel", guild_setup.moderator))
    assert text == "Cancelled: nothing was imported."
    assert await dump(bot.db) == before


async def test_a_file_that_changes_nothing_offers_no_confirm(fake_discord: FakeDiscord,
                                                             guild_setup: GuildSetup, bot):
    preview = await preview_of(await run_import(fake_discord, guild_setup, SEED))
    assert "Nothing to import" in preview["embeds"][0]["description"]
    assert not preview.get("components")


# --- refusals ------------------------------------------------------------------------------------------


async def test_a_file_over_the_limit_is_refused_before_any_download(fake_discord: FakeDiscord,
                                                                    guild_setup: GuildSetup, bot):
    before = await dump(bot.db)
    big = SEED.encode() + b"x" * (MAX_UPLOAD_BYTES + 1 - len(SEED.encode()))
    record = await run_import(fake_discord, guild_setup, big, filename="huge.txt")
    text = await refusal(record)
    assert "huge.txt is 8.0 MiB, larger than an export uploaded here may be (8.0 MiB)" in text, text
    assert record.acknowledged_with == 4, "refused at once, without a \"thinking…\""
    assert fake_discord.downloads() == [], "nothing was downloaded"
    assert await dump(bot.db) == before


@pytest.mark.parametrize(
    ("filename", "content", "problem"),
    [
        ("latin1.txt", "Azaña y Trotsky\n".encode("latin-1") + b"x" * 200, "not UTF-8 text"),
        ("notes.txt", "Just a comment\n\u00a0\nAnother comment\n".encode(), "no chapters found"),
        ("picture.png", bytes(range(256)) * 8, "binary file"),
        ("empty.txt", b"\n\n", "file is empty"),
    ],
)
async def test_bad_files_are_refused_in_one_line(fake_discord: FakeDiscord, guild_setup: GuildSetup, bot,
                                                 filename: str, content: bytes, problem: str):
    before = await dump(bot.db)
    text = await refusal(await run_import(fake_discord, guild_setup, content, filename=filename))
    assert text.startswith(filename) and problem in text, text
    assert await dump(bot.db) == before


async def test_a_member_who_is_not_a_moderator_is_refused(fake_discord: FakeDiscord,
                                                          guild_setup: GuildSetup, bot):
    record = await run_import(fake_discord, guild_setup, ADDED, member=guild_setup.member)
    assert await refusal(record) == NOT_A_MODERATOR
    assert fake_discord.downloads() == []


async def test_another_moderator_cannot_confirm_the_preview(fake_discord: FakeDiscord,
                                                            guild_setup: GuildSetup, bot):
    other = fake_discord.add_member(guild_setup.guild, "othermod", roles=[guild_setup.moderator_role])
    before = await dump(bot.db)
    preview = await preview_of(await run_import(fake_discord, guild_setup, ADDED))
    for label in ("Confirm import", "Cancel"):
        text = await answer_text(await press(fake_discord, preview, label, other))
        assert text == "Only the moderator who asked for this import can confirm or cancel it."
    reader = await answer_text(await press(fake_discord, preview, "Confirm import", guild_setup.member))
    assert reader == NOT_A_MODERATOR
    assert await dump(bot.db) == before
    # The preview is still its moderator's to answer.
    text = await answer_text(await press(fake_discord, preview, "Confirm import", guild_setup.moderator))
    assert text.startswith("Imported aar-thread.txt: 1 new chapter"), text


@pytest.mark.both_backends  # the preview's reads and the import's state check
async def test_a_second_press_does_not_import_twice(fake_discord: FakeDiscord, guild_setup: GuildSetup, bot):
    preview = await preview_of(await run_import(fake_discord, guild_setup, ADDED))
    # Two presses sent before the bot answered either (a double click): both find the buttons.
    first, second = await asyncio.gather(
        press(fake_discord, preview, "Confirm import", guild_setup.moderator),
        press(fake_discord, preview, "Confirm import", guild_setup.moderator))
    texts = sorted([await answer_text(first), await answer_text(second)])
    assert texts[0].startswith("Imported aar-thread.txt: 1 new chapter"), texts
    assert texts[1] == "This import was already confirmed; it is not imported twice."
    assert await fetch_value(bot.db, "SELECT COUNT(*) FROM imports") == 2  # the seed's and this one


@pytest.mark.both_backends  # the preview's reads and the import's state check
async def test_a_preview_confirmed_after_another_import_landed_is_refused(
        fake_discord: FakeDiscord, guild_setup: GuildSetup, bot):
    preview = await preview_of(await run_import(fake_discord, guild_setup, ADDED))
    # Meanwhile the edited thread is imported (another moderator's preview, or `aar-bot import`).
    await import_story(bot.db, parse_export(EDITED, "edited.txt"), source="edited.txt", sha256="e" * 64)
    after_other = await dump(bot.db)
    text = await answer_text(await press(fake_discord, preview, "Confirm import", guild_setup.moderator))
    assert text == ("The story changed since this preview was made (another import landed): nothing was "
                    "imported. Run `/aar import` again for a fresh preview."), text
    assert await dump(bot.db) == after_other


async def test_a_preview_the_bot_no_longer_holds_is_answered(fake_discord: FakeDiscord,
                                                              guild_setup: GuildSetup, bot):
    """After a restart (or long after), a press on an old preview's button says so instead of failing."""
    button = {"type": 2, "style": 3, "label": "Confirm import", "custom_id": "aar:import:123456789:confirm"}
    old = fake_discord.post_as(guild_setup.moderator, guild_setup.general, "old preview",
                               components=[{"type": 1, "components": [button]}])
    text = await answer_text(await press(fake_discord, old, "Confirm import", guild_setup.moderator))
    assert text.startswith("This import preview is no longer available"), text


async def test_cancelled_preview_cannot_be_confirmed(fake_discord: FakeDiscord, guild_setup: GuildSetup, bot):
    preview = await preview_of(await run_import(fake_discord, guild_setup, ADDED))
    before = await dump(bot.db)
    cancel, confirm = await asyncio.gather(
        press(fake_discord, preview, "Cancel", guild_setup.moderator),
        press(fake_discord, preview, "Confirm import", guild_setup.moderator))
    assert await answer_text(cancel) == "Cancelled: nothing was imported."
    assert await answer_text(confirm) == ("This import was cancelled: nothing was imported. "
                                          "Run `/aar import` again.")
    assert await dump(bot.db) == before
