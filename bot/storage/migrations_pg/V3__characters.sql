-- PostgreSQL form of migrations/V3__characters.sql.
CREATE TABLE characters (
    key        TEXT PRIMARY KEY,
    position   INTEGER NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    side       TEXT NOT NULL,
    side_rank  INTEGER NOT NULL
);

CREATE TABLE character_aliases (
    character_key  TEXT NOT NULL REFERENCES characters(key),
    position       INTEGER NOT NULL,
    text           TEXT NOT NULL,
    case_sensitive INTEGER NOT NULL DEFAULT 0,
    since          INTEGER,
    PRIMARY KEY (character_key, position)
);

CREATE TABLE character_notes (
    character_key  TEXT NOT NULL REFERENCES characters(key),
    chapter_number INTEGER NOT NULL,
    note           TEXT NOT NULL,
    PRIMARY KEY (character_key, chapter_number)
);

CREATE TABLE character_mentions (
    character_key  TEXT NOT NULL REFERENCES characters(key),
    chapter_number INTEGER NOT NULL REFERENCES chapters(number),
    alias_position INTEGER NOT NULL,
    count          INTEGER NOT NULL CHECK (count > 0),
    PRIMARY KEY (character_key, chapter_number, alias_position)
);
CREATE INDEX character_mentions_by_chapter ON character_mentions(chapter_number, character_key);

CREATE TABLE character_index_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    cast_sha256  TEXT NOT NULL,
    story_sha256 TEXT NOT NULL,
    built_at     TEXT NOT NULL
);
