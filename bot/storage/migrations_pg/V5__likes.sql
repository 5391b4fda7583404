-- PostgreSQL form of migrations/V5__likes.sql (PostgreSQL tables have no rowid: no WITHOUT ROWID needed).
CREATE TABLE reactions (
    guild_id       BIGINT NOT NULL,
    chapter_number INTEGER NOT NULL,
    emoji          TEXT NOT NULL,
    user_id        BIGINT NOT NULL,
    message_id     BIGINT NOT NULL,
    PRIMARY KEY (guild_id, chapter_number, emoji, user_id, message_id)
);

CREATE TABLE reaction_emojis (
    emoji    TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    animated INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE hall_of_fame_posts (
    guild_id       BIGINT NOT NULL,
    chapter_number INTEGER NOT NULL,
    channel_id     BIGINT NOT NULL,
    message_id     BIGINT,
    shown_total    INTEGER NOT NULL,
    shown_discord  INTEGER NOT NULL,
    posted_at      TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (guild_id, chapter_number)
);
