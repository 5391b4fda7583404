-- Per-guild state: settings, releases (one row per released chapter, parts recorded as sent), schedules.
CREATE TABLE guild_settings (
    guild_id                 INTEGER PRIMARY KEY,
    story_channel_id         INTEGER,
    moderator_role_id        INTEGER,
    timezone                 TEXT NOT NULL DEFAULT 'UTC',
    discussion_threads       INTEGER NOT NULL DEFAULT 1,
    like_emoji               TEXT NOT NULL DEFAULT '👍',
    hall_of_fame_channel_id  INTEGER,
    hall_of_fame_threshold   INTEGER
);

CREATE TABLE releases (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL REFERENCES chapters(number),
    channel_id     INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
    parts_total    INTEGER NOT NULL,
    thread_id      INTEGER,
    started_at     TEXT NOT NULL,
    completed_at   TEXT,
    PRIMARY KEY (guild_id, chapter_number)
);

CREATE TABLE release_parts (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    part_index     INTEGER NOT NULL,
    nonce          TEXT NOT NULL,
    message_id     INTEGER,                        -- NULL until Discord confirmed the part
    channel_id     INTEGER NOT NULL,
    sent_at        TEXT,
    PRIMARY KEY (guild_id, chapter_number, part_index),
    FOREIGN KEY (guild_id, chapter_number) REFERENCES releases(guild_id, chapter_number)
);
CREATE UNIQUE INDEX release_parts_by_message ON release_parts(message_id) WHERE message_id IS NOT NULL;

CREATE TABLE schedules (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    spec          TEXT NOT NULL,                   -- as the moderator wrote it, e.g. 'every monday 18:00'
    timezone      TEXT NOT NULL,
    next_run_at   TEXT,                            -- UTC ISO-8601; NULL once a one-off has fired
    paused        INTEGER NOT NULL DEFAULT 0,
    created_by    INTEGER,
    created_at    TEXT NOT NULL,
    cancelled_at  TEXT
);
CREATE INDEX schedules_due ON schedules(next_run_at) WHERE cancelled_at IS NULL;
