-- The imported AAR: chapters as ordered blocks, the forum's reactions, reader comments.
CREATE TABLE chapters (
    number       INTEGER PRIMARY KEY,            -- 1-based reading order, stable across re-imports
    threadmark   TEXT NOT NULL,
    title        TEXT NOT NULL,
    forum_likes  INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL,
    imported_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (threadmark, title)
);

CREATE TABLE blocks (
    chapter_number INTEGER NOT NULL REFERENCES chapters(number),
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('heading', 'paragraph', 'picture', 'note')),
    text           TEXT NOT NULL DEFAULT '',     -- heading/paragraph/note text, or a picture's caption
    image_name     TEXT,
    image_url      TEXT,
    PRIMARY KEY (chapter_number, position)
);

CREATE TABLE forum_reactions (
    chapter_number INTEGER NOT NULL REFERENCES chapters(number),
    kind           TEXT NOT NULL,
    count          INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (chapter_number, kind)
);

CREATE TABLE comments (
    id             INTEGER PRIMARY KEY,
    seq            INTEGER NOT NULL UNIQUE,       -- order of first appearance across imports
    chapter_number INTEGER REFERENCES chapters(number),  -- NULL: before the first chapter of the export
    quote          TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL,
    fingerprint    TEXT NOT NULL UNIQUE
);
CREATE INDEX comments_by_chapter ON comments(chapter_number, seq);

CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    source          TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    chapters_added  INTEGER NOT NULL,
    pictures_added  INTEGER NOT NULL,
    comments_added  INTEGER NOT NULL,
    imported_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
