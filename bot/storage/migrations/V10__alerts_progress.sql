-- Reading progress: how far each member has read through the bot, per server and chapter.  Written by
-- the pager of `/chapter read` (every page shown), `/chapter continue` and the release's ✅ Read button;
-- read by `/chapter continue` and `/chapter list`.  A member's own rows: `/aar forget-me` deletes them.
CREATE TABLE reading_progress (
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    chapter_number  INTEGER NOT NULL,
    pages_seen      INTEGER NOT NULL,            -- pages 1..pages_seen were shown (the furthest page reached)
    finished        INTEGER NOT NULL DEFAULT 0,  -- 1: the last page was reached, or ✅ Read was pressed
    updated_at      TEXT NOT NULL,               -- UTC, the bot.timestamps format
    PRIMARY KEY (guild_id, user_id, chapter_number)
);

-- Release alerts.  The role a release mentions (NULL: releases ping no one); who holds it is Discord's
-- to know (members add and remove it themselves through the bot), so only the role's id is stored.
ALTER TABLE guild_settings ADD COLUMN alert_role_id INTEGER;

-- Members who asked for a direct message per release instead.  `last_chapter` is the newest chapter
-- whose DM went out (or was due when they opted in), so the DMs of a release resume after a restart
-- without sending one twice.
CREATE TABLE alert_dms (
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    last_chapter  INTEGER NOT NULL DEFAULT 0,
    since         TEXT NOT NULL,                 -- UTC, the bot.timestamps format
    PRIMARY KEY (guild_id, user_id)
);
