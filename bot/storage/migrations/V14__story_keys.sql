-- aar: rebuilds tables
-- Stories: every chapter belongs to one, and so does everything keyed by a chapter (its blocks, likes,
-- releases, the cast that reads it, quiz scores, reading progress).  The story a database held until now
-- becomes story 1, every row kept; its chapter numbers stay 1..N, now counted within story 1.
--
-- SQLite can't change a primary key in place: each table whose key gains `story_id` is rebuilt (create
-- the new table, copy every row, drop the old one, rename the new one), with foreign keys checked after
-- (see bot/storage/migrations.py).  Tables whose key doesn't change only gain the column.  Triggers and
-- indexes of a rebuilt table are dropped with it and created again here.

CREATE TABLE stories (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,          -- how the CLI and the moderators' commands name it
    title       TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
INSERT INTO stories(id, slug, title) VALUES (1, 'default', 'The story');

-- The story itself -------------------------------------------------------------------------------------

CREATE TABLE new_chapters (
    number       INTEGER NOT NULL,               -- 1-based reading order within the story
    threadmark   TEXT NOT NULL,
    title        TEXT NOT NULL,
    forum_likes  INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL,
    imported_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    story_id     INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id),
    PRIMARY KEY (story_id, number),
    UNIQUE (story_id, threadmark, title)
);
INSERT INTO new_chapters(story_id, number, threadmark, title, forum_likes, content_hash, imported_at)
    SELECT 1, number, threadmark, title, forum_likes, content_hash, imported_at FROM chapters;
DROP TABLE chapters;
ALTER TABLE new_chapters RENAME TO chapters;

CREATE TABLE new_blocks (
    chapter_number INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('heading', 'paragraph', 'picture', 'note')),
    text           TEXT NOT NULL DEFAULT '',
    image_name     TEXT,
    image_url      TEXT,
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (story_id, chapter_number, position),
    FOREIGN KEY (story_id, chapter_number) REFERENCES chapters(story_id, number)
);
INSERT INTO new_blocks(story_id, chapter_number, position, kind, text, image_name, image_url)
    SELECT 1, chapter_number, position, kind, text, image_name, image_url FROM blocks;
DROP TABLE blocks;
ALTER TABLE new_blocks RENAME TO blocks;

-- The search index follows `blocks` as V9 set it up, its key now (story - 1) * 2^48 + chapter * 2^32 +
-- position: story 1's rows keep their keys, and each story's blocks are a key range of their own.
CREATE TRIGGER story_search_block_added AFTER INSERT ON blocks BEGIN
    INSERT INTO story_search(rowid, text)
        VALUES ((new.story_id - 1) * 281474976710656 + new.chapter_number * 4294967296 + new.position, new.text);
END;
CREATE TRIGGER story_search_block_removed AFTER DELETE ON blocks BEGIN
    INSERT INTO story_search(story_search, rowid, text)
        VALUES ('delete', (old.story_id - 1) * 281474976710656 + old.chapter_number * 4294967296 + old.position,
                old.text);
END;
CREATE TRIGGER story_search_block_changed AFTER UPDATE ON blocks BEGIN
    INSERT INTO story_search(story_search, rowid, text)
        VALUES ('delete', (old.story_id - 1) * 281474976710656 + old.chapter_number * 4294967296 + old.position,
                old.text);
    INSERT INTO story_search(rowid, text)
        VALUES ((new.story_id - 1) * 281474976710656 + new.chapter_number * 4294967296 + new.position, new.text);
END;

CREATE TABLE new_forum_reactions (
    chapter_number INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    count          INTEGER NOT NULL CHECK (count >= 0),
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (story_id, chapter_number, kind),
    FOREIGN KEY (story_id, chapter_number) REFERENCES chapters(story_id, number)
);
INSERT INTO new_forum_reactions(story_id, chapter_number, kind, count)
    SELECT 1, chapter_number, kind, count FROM forum_reactions;
DROP TABLE forum_reactions;
ALTER TABLE new_forum_reactions RENAME TO forum_reactions;

CREATE TABLE new_comments (
    id             INTEGER PRIMARY KEY,
    seq            INTEGER NOT NULL,              -- order of first appearance across the story's imports
    chapter_number INTEGER,                       -- NULL: before the first chapter of the export
    quote          TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    story_id       INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id),
    UNIQUE (story_id, seq),
    UNIQUE (story_id, fingerprint),
    FOREIGN KEY (story_id, chapter_number) REFERENCES chapters(story_id, number)
);
INSERT INTO new_comments(id, story_id, seq, chapter_number, quote, body, fingerprint)
    SELECT id, 1, seq, chapter_number, quote, body, fingerprint FROM comments;
DROP TABLE comments;
ALTER TABLE new_comments RENAME TO comments;
CREATE INDEX comments_by_chapter ON comments(story_id, chapter_number, seq);

ALTER TABLE imports ADD COLUMN story_id INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id);

-- Each server reads one story at a time; 1 until a moderator chooses another.
ALTER TABLE guild_settings ADD COLUMN story_id INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id);

-- Renders and releases --------------------------------------------------------------------------------

CREATE TABLE new_rendered_chapters (
    id               INTEGER PRIMARY KEY,
    chapter_number   INTEGER NOT NULL,
    renderer_version INTEGER NOT NULL,
    content_hash     TEXT NOT NULL,
    planned          INTEGER NOT NULL DEFAULT 0 CHECK (planned IN (0, 1)),
    payloads         TEXT NOT NULL,
    story_id         INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id),
    UNIQUE (story_id, chapter_number, renderer_version, content_hash)
);
INSERT INTO new_rendered_chapters(id, story_id, chapter_number, renderer_version, content_hash, planned,
                                  payloads)
    SELECT id, 1, chapter_number, renderer_version, content_hash, planned, payloads FROM rendered_chapters;
DROP TABLE rendered_chapters;
ALTER TABLE new_rendered_chapters RENAME TO rendered_chapters;

CREATE TABLE new_releases (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('in_progress', 'done')),
    parts_total    INTEGER NOT NULL,
    thread_id      INTEGER,
    started_at     TEXT NOT NULL,
    completed_at   TEXT,
    payloads       TEXT,
    thread_name    TEXT,
    schedule_id    INTEGER,
    schedule_slot  TEXT,
    delivery       TEXT,
    rendered_id    INTEGER REFERENCES rendered_chapters(id),
    alert_role_id  INTEGER,
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (guild_id, story_id, chapter_number),
    FOREIGN KEY (story_id, chapter_number) REFERENCES chapters(story_id, number)
);
INSERT INTO new_releases(guild_id, story_id, chapter_number, channel_id, status, parts_total, thread_id,
                         started_at, completed_at, payloads, thread_name, schedule_id, schedule_slot, delivery,
                         rendered_id, alert_role_id)
    SELECT guild_id, 1, chapter_number, channel_id, status, parts_total, thread_id, started_at, completed_at,
           payloads, thread_name, schedule_id, schedule_slot, delivery, rendered_id, alert_role_id
      FROM releases;
DROP TABLE releases;
ALTER TABLE new_releases RENAME TO releases;
CREATE UNIQUE INDEX releases_by_schedule_slot ON releases(schedule_id, schedule_slot) WHERE schedule_id IS NOT NULL;
CREATE INDEX releases_by_rendered ON releases(rendered_id) WHERE rendered_id IS NOT NULL;

CREATE TABLE new_release_parts (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    part_index     INTEGER NOT NULL,
    nonce          TEXT NOT NULL,
    message_id     INTEGER,                        -- NULL until Discord confirmed the part
    channel_id     INTEGER NOT NULL,
    sent_at        TEXT,
    publish        TEXT CHECK (publish IN ('pending', 'done', 'dropped')),
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (guild_id, story_id, chapter_number, part_index),
    FOREIGN KEY (guild_id, story_id, chapter_number) REFERENCES releases(guild_id, story_id, chapter_number)
);
INSERT INTO new_release_parts(guild_id, story_id, chapter_number, part_index, nonce, message_id, channel_id,
                              sent_at, publish)
    SELECT guild_id, 1, chapter_number, part_index, nonce, message_id, channel_id, sent_at, publish
      FROM release_parts;
DROP TABLE release_parts;
ALTER TABLE new_release_parts RENAME TO release_parts;
CREATE UNIQUE INDEX release_parts_by_message ON release_parts(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX release_parts_to_publish ON release_parts(guild_id, story_id, chapter_number, part_index)
    WHERE publish = 'pending';

-- A schedule releases the story the server read when it was made.
ALTER TABLE schedules ADD COLUMN story_id INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id);

-- The cast ---------------------------------------------------------------------------------------------

CREATE TABLE new_characters (
    key        TEXT NOT NULL,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    side       TEXT NOT NULL,
    side_rank  INTEGER NOT NULL,
    story_id   INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id),
    PRIMARY KEY (story_id, key),
    UNIQUE (story_id, position)
);
INSERT INTO new_characters(story_id, key, position, name, side, side_rank)
    SELECT 1, key, position, name, side, side_rank FROM characters;
DROP TABLE characters;
ALTER TABLE new_characters RENAME TO characters;

CREATE TABLE new_character_aliases (
    character_key  TEXT NOT NULL,
    position       INTEGER NOT NULL,
    text           TEXT NOT NULL,
    case_sensitive INTEGER NOT NULL DEFAULT 0,
    since          INTEGER,
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (story_id, character_key, position),
    FOREIGN KEY (story_id, character_key) REFERENCES characters(story_id, key)
);
INSERT INTO new_character_aliases(story_id, character_key, position, text, case_sensitive, since)
    SELECT 1, character_key, position, text, case_sensitive, since FROM character_aliases;
DROP TABLE character_aliases;
ALTER TABLE new_character_aliases RENAME TO character_aliases;

CREATE TABLE new_character_notes (
    character_key  TEXT NOT NULL,
    chapter_number INTEGER NOT NULL,
    note           TEXT NOT NULL,
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (story_id, character_key, chapter_number),
    FOREIGN KEY (story_id, character_key) REFERENCES characters(story_id, key)
);
INSERT INTO new_character_notes(story_id, character_key, chapter_number, note)
    SELECT 1, character_key, chapter_number, note FROM character_notes;
DROP TABLE character_notes;
ALTER TABLE new_character_notes RENAME TO character_notes;

CREATE TABLE new_character_mentions (
    character_key  TEXT NOT NULL,
    chapter_number INTEGER NOT NULL,
    alias_position INTEGER NOT NULL,
    count          INTEGER NOT NULL CHECK (count > 0),
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (story_id, character_key, chapter_number, alias_position),
    FOREIGN KEY (story_id, character_key) REFERENCES characters(story_id, key),
    FOREIGN KEY (story_id, chapter_number) REFERENCES chapters(story_id, number)
);
INSERT INTO new_character_mentions(story_id, character_key, chapter_number, alias_position, count)
    SELECT 1, character_key, chapter_number, alias_position, count FROM character_mentions;
DROP TABLE character_mentions;
ALTER TABLE new_character_mentions RENAME TO character_mentions;
CREATE INDEX character_mentions_by_chapter ON character_mentions(story_id, chapter_number, character_key);

CREATE TABLE new_character_index_state (
    story_id     INTEGER PRIMARY KEY REFERENCES stories(id),
    cast_sha256  TEXT NOT NULL,
    story_sha256 TEXT NOT NULL,
    built_at     TEXT NOT NULL
);
INSERT INTO new_character_index_state(story_id, cast_sha256, story_sha256, built_at)
    SELECT 1, cast_sha256, story_sha256, built_at FROM character_index_state;
DROP TABLE character_index_state;
ALTER TABLE new_character_index_state RENAME TO character_index_state;

-- Readers: per server and per story --------------------------------------------------------------------

ALTER TABLE quiz_games ADD COLUMN story_id INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id);

DROP TRIGGER quiz_answer_scores;  -- before its table is rebuilt; made again below for the new key

CREATE TABLE new_quiz_scores (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    score    INTEGER NOT NULL DEFAULT 0,
    answers  INTEGER NOT NULL DEFAULT 0,
    correct  INTEGER NOT NULL DEFAULT 0,
    games    INTEGER NOT NULL DEFAULT 0,          -- games in which the member answered at least once
    story_id INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id),
    PRIMARY KEY (guild_id, story_id, user_id)
);
INSERT INTO new_quiz_scores(guild_id, story_id, user_id, score, answers, correct, games)
    SELECT guild_id, 1, user_id, score, answers, correct, games FROM quiz_scores;
DROP TABLE quiz_scores;
ALTER TABLE new_quiz_scores RENAME TO quiz_scores;
CREATE INDEX quiz_scores_ranking ON quiz_scores(guild_id, story_id, score DESC);

-- An answer scores in the story of its game.
CREATE TRIGGER quiz_answer_scores AFTER INSERT ON quiz_answers
BEGIN
    INSERT OR IGNORE INTO quiz_scores(guild_id, story_id, user_id)
        VALUES (NEW.guild_id, (SELECT story_id FROM quiz_games WHERE id = NEW.game_id), NEW.user_id);
    UPDATE quiz_scores
       SET score = score + NEW.points,
           answers = answers + 1,
           correct = correct + NEW.correct,
           games = games + (SELECT COUNT(*) = 1 FROM quiz_answers WHERE game_id = NEW.game_id AND user_id = NEW.user_id)
     WHERE guild_id = NEW.guild_id AND user_id = NEW.user_id
       AND story_id = (SELECT story_id FROM quiz_games WHERE id = NEW.game_id);
END;

CREATE TABLE new_reactions (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    emoji          TEXT NOT NULL,      -- a unicode emoji as Discord sends it, or 'custom:<id>'
    user_id        INTEGER NOT NULL,
    message_id     INTEGER NOT NULL,
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (guild_id, story_id, chapter_number, emoji, user_id, message_id)
) WITHOUT ROWID;
INSERT INTO new_reactions(guild_id, story_id, chapter_number, emoji, user_id, message_id)
    SELECT guild_id, 1, chapter_number, emoji, user_id, message_id FROM reactions;
DROP TABLE reactions;
ALTER TABLE new_reactions RENAME TO reactions;

CREATE TABLE new_hall_of_fame_posts (
    guild_id       INTEGER NOT NULL,
    chapter_number INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    message_id     INTEGER,            -- NULL once the post was deleted in Discord: never posted again
    shown_total    INTEGER NOT NULL,
    shown_discord  INTEGER NOT NULL,
    posted_at      TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    story_id       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (guild_id, story_id, chapter_number)
);
INSERT INTO new_hall_of_fame_posts(guild_id, story_id, chapter_number, channel_id, message_id, shown_total,
                                   shown_discord, posted_at, updated_at)
    SELECT guild_id, 1, chapter_number, channel_id, message_id, shown_total, shown_discord, posted_at, updated_at
      FROM hall_of_fame_posts;
DROP TABLE hall_of_fame_posts;
ALTER TABLE new_hall_of_fame_posts RENAME TO hall_of_fame_posts;

CREATE TABLE new_reading_progress (
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    chapter_number  INTEGER NOT NULL,
    pages_seen      INTEGER NOT NULL,
    finished        INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    story_id        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (guild_id, story_id, user_id, chapter_number)
);
INSERT INTO new_reading_progress(guild_id, story_id, user_id, chapter_number, pages_seen, finished, updated_at)
    SELECT guild_id, 1, user_id, chapter_number, pages_seen, finished, updated_at FROM reading_progress;
DROP TABLE reading_progress;
ALTER TABLE new_reading_progress RENAME TO reading_progress;

-- The journal of updates to released chapters (V13): an update belongs to the story of its chapter.
ALTER TABLE chapter_edit_syncs ADD COLUMN story_id INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id);
ALTER TABLE chapter_edit_ops ADD COLUMN story_id INTEGER NOT NULL DEFAULT 1 REFERENCES stories(id);
DROP INDEX chapter_edit_syncs_running;
CREATE UNIQUE INDEX chapter_edit_syncs_running ON chapter_edit_syncs(guild_id, story_id, chapter_number)
    WHERE status = 'in_progress';
DROP INDEX chapter_edit_syncs_by_chapter;
CREATE INDEX chapter_edit_syncs_by_chapter ON chapter_edit_syncs(guild_id, story_id, chapter_number, id);
DROP INDEX chapter_edit_ops_by_chapter;
CREATE INDEX chapter_edit_ops_by_chapter ON chapter_edit_ops(guild_id, story_id, chapter_number);
