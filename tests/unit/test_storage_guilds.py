"""Guild settings storage: a change is all or nothing."""

from __future__ import annotations

import sqlite3

import pytest

from bot.storage.guilds import get_guild_settings, update_guild_settings
from bot.storage.sql import execute, fetch_all

pytestmark = pytest.mark.both_backends


@pytest.mark.sqlite_only
async def test_a_first_change_that_fails_leaves_no_row_behind(db):
    # The second statement (the UPDATE) fails: the first (the INSERT of the guild's row) must be undone.
    await execute(db, "CREATE TEMP TRIGGER refuse BEFORE UPDATE ON guild_settings"
                     " BEGIN SELECT RAISE(ABORT, 'settings refused'); END")
    with pytest.raises(sqlite3.IntegrityError, match="settings refused"):
        await update_guild_settings(db, 7, timezone="Europe/Paris")
    cur_rows = await fetch_all(db, "SELECT COUNT(*) FROM guild_settings")
    assert cur_rows[0][0] == 0
    await execute(db, "DROP TRIGGER temp.refuse")
    settings = await update_guild_settings(db, 7, timezone="Europe/Paris")
    assert settings.timezone == "Europe/Paris" and await get_guild_settings(db, 7) == settings
