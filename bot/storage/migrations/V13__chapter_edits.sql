-- The author's edits (issue 14): when a re-import changes a chapter a server has released, the posted
-- messages are brought in step with it, exactly once and resumably, journaled as releases are.
-- guild_settings.follow_edits: 1 when the bot updates posted chapters by itself after an import.
ALTER TABLE guild_settings ADD COLUMN follow_edits INTEGER NOT NULL DEFAULT 0;

-- One row per update of a released chapter: the render (shared with releases, V12) it brings the posted
-- messages to, with the alert role frozen from the release.  At most one update per chapter and server
-- runs at a time; the latest done one is what the posted messages show.
CREATE TABLE chapter_edit_syncs (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    rendered_id    INTEGER NOT NULL REFERENCES rendered_chapters(id),
    alert_role_id  INTEGER,
    status         TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
    started_at     TEXT NOT NULL,
    completed_at   TEXT
);
CREATE UNIQUE INDEX chapter_edit_syncs_running ON chapter_edit_syncs(guild_id, chapter_number)
    WHERE status = 'in_progress';
CREATE INDEX chapter_edit_syncs_by_chapter ON chapter_edit_syncs(guild_id, chapter_number, id);
CREATE INDEX chapter_edit_syncs_by_rendered ON chapter_edit_syncs(rendered_id);

-- The update's operations, planned whole when it starts: edit message X in place ('edit'), edit a spare
-- message to "(moved up)" ('moved_up'), post the note or an extra part in the discussion ('note',
-- 'extra', each with its nonce; message_id is NULL until Discord's answer is recorded).
-- slot: the message's place in the chapter's reading order (posted parts, then extras); NULL for the note.
CREATE TABLE chapter_edit_ops (
    sync_id        INTEGER NOT NULL REFERENCES chapter_edit_syncs(id),
    op_index       INTEGER NOT NULL,
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('edit', 'moved_up', 'note', 'extra')),
    slot           INTEGER,
    channel_id     INTEGER NOT NULL,
    message_id     INTEGER,
    nonce          TEXT,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'attempted', 'done')),
    done_at        TEXT,
    PRIMARY KEY (sync_id, op_index)
);
CREATE INDEX chapter_edit_ops_by_chapter ON chapter_edit_ops(guild_id, chapter_number);
