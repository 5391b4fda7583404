-- Likes: members' reactions on released chapter messages, custom emoji names, hall-of-fame posts.
-- One row per (guild, chapter, emoji, member, message): a member reacting on several parts of a chapter
-- has several rows, and counts use COUNT(DISTINCT user_id), so removing one part's reaction keeps the
-- like while another part still has it.  The key leads with (guild, chapter, emoji) so the counts read
-- one contiguous range and inserts of a busy chapter stay local; no secondary index (write-heavy table).
CREATE TABLE reactions (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    emoji          TEXT NOT NULL,      -- a unicode emoji as Discord sends it, or 'custom:<id>'
    user_id        INTEGER NOT NULL,
    message_id     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, chapter_number, emoji, user_id, message_id)
) WITHOUT ROWID;

-- The latest name seen for each custom emoji (a custom emoji is identified by id; its name may change).
CREATE TABLE reaction_emojis (
    emoji    TEXT PRIMARY KEY,         -- 'custom:<id>'
    name     TEXT NOT NULL,
    animated INTEGER NOT NULL DEFAULT 0
);

-- At most one hall-of-fame post per guild and chapter; edited as the chapter's likes change.
CREATE TABLE hall_of_fame_posts (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    message_id     INTEGER,            -- NULL once the post was deleted in Discord: never posted again
    shown_total    INTEGER NOT NULL,   -- the total the post currently shows, to skip needless edits
    shown_discord  INTEGER NOT NULL,
    posted_at      TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (guild_id, chapter_number)
);
