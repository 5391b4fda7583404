-- PostgreSQL form of migrations/V10__alerts_progress.sql.
CREATE TABLE reading_progress (
    guild_id        BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,
    chapter_number  INTEGER NOT NULL,
    pages_seen      INTEGER NOT NULL,
    finished        INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id, chapter_number)
);

ALTER TABLE guild_settings ADD COLUMN alert_role_id BIGINT;

CREATE TABLE alert_dms (
    guild_id      BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    last_chapter  INTEGER NOT NULL DEFAULT 0,
    since         TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
