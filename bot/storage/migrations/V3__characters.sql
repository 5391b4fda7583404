-- The cast (from data/cast.toml) and which chapters name whom. Derived data: rebuilt whole at every
-- import and at start when the cast file or the story changed (character_index_state says from what).
CREATE TABLE characters (
    key        TEXT PRIMARY KEY,                 -- the cast file's stable key, e.g. 'rokossovsky'
    position   INTEGER NOT NULL UNIQUE,          -- order in the cast file
    name       TEXT NOT NULL,                    -- display name
    side       TEXT NOT NULL,
    side_rank  INTEGER NOT NULL                  -- order of the side in the cast file's `sides`
);

CREATE TABLE character_aliases (
    character_key  TEXT NOT NULL REFERENCES characters(key),
    position       INTEGER NOT NULL,             -- 0 = the display name, then the aliases in file order
    text           TEXT NOT NULL,
    case_sensitive INTEGER NOT NULL DEFAULT 0,
    since          INTEGER,                      -- chapter from which a spelling the text never uses is shown
    PRIMARY KEY (character_key, position)
);

CREATE TABLE character_notes (
    character_key  TEXT NOT NULL REFERENCES characters(key),
    chapter_number INTEGER NOT NULL,             -- what the story tells of them in this chapter
    note           TEXT NOT NULL,
    PRIMARY KEY (character_key, chapter_number)
);

CREATE TABLE character_mentions (
    character_key  TEXT NOT NULL REFERENCES characters(key),
    chapter_number INTEGER NOT NULL REFERENCES chapters(number),
    alias_position INTEGER NOT NULL,             -- which spelling the text used
    count          INTEGER NOT NULL CHECK (count > 0),
    PRIMARY KEY (character_key, chapter_number, alias_position)
);
CREATE INDEX character_mentions_by_chapter ON character_mentions(chapter_number, character_key);

CREATE TABLE character_index_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    cast_sha256  TEXT NOT NULL,                  -- the cast file the index was built from
    story_sha256 TEXT NOT NULL,                  -- digest of the chapters' text it was built from
    built_at     TEXT NOT NULL
);
