-- A chapter's rendered messages are stored once, not once per server (14.6 KB per server and chapter made
-- up most of the database at 1,000 servers).  A release refers to its render and keeps only the small
-- plan inputs frozen when it was claimed (the alert role), from which the publisher rebuilds the planned
-- messages deterministically (bot.chapters.plan.stored_plan), so a resumed release still sends exactly
-- what it started with, also after a re-import or a renderer change: those make a new row, old releases
-- keep theirs.  Room for a story: a later issue adds a story column to the key.
-- rendered_chapters.renderer_version: bot.chapters.render.RENDERER_VERSION; 0 for plans moved here below.
-- rendered_chapters.content_hash: sha256 of `payloads` as stored; 'v6:<first release's rowid>' for moved
--   plans, which are deduplicated by their whole text (SQL has no sha256).
-- rendered_chapters.planned: 1 when `payloads` is a whole release plan (mention and buttons included, as
--   V6..V11 stored it per release): sent as it is.
CREATE TABLE rendered_chapters (
    id               INTEGER PRIMARY KEY,
    chapter_number   INTEGER NOT NULL,
    renderer_version INTEGER NOT NULL,
    content_hash     TEXT NOT NULL,
    planned          INTEGER NOT NULL DEFAULT 0 CHECK (planned IN (0, 1)),
    payloads         TEXT NOT NULL,
    UNIQUE (chapter_number, renderer_version, content_hash)
);

-- releases.rendered_id: the release's render (NULL: a release from before V6, which kept no plan).
-- releases.alert_role_id: the alert role the plan mentions, as the server had it when the release began.
ALTER TABLE releases ADD COLUMN rendered_id INTEGER REFERENCES rendered_chapters(id);
ALTER TABLE releases ADD COLUMN alert_role_id INTEGER;
CREATE INDEX releases_by_rendered ON releases(rendered_id) WHERE rendered_id IS NOT NULL;

-- Plans stored per release before V12 move to the shared table, one row per distinct plan; the release
-- refers to it and its own copy is cleared only once the reference is in place (one transaction).
INSERT INTO rendered_chapters(chapter_number, renderer_version, content_hash, planned, payloads)
SELECT chapter_number, 0, 'v6:' || MIN(rowid), 1, payloads
  FROM releases WHERE payloads IS NOT NULL
 GROUP BY chapter_number, payloads;
UPDATE releases SET rendered_id = (
    SELECT r.id FROM rendered_chapters r
     WHERE r.renderer_version = 0 AND r.planned = 1 AND r.chapter_number = releases.chapter_number
       AND r.payloads = releases.payloads)
 WHERE payloads IS NOT NULL;
UPDATE releases SET payloads = NULL WHERE rendered_id IS NOT NULL;

-- The offline reactions reconciliation walks servers round-robin across starts: where it stopped.
-- One row (id 1); last_guild_id is the server it read last (the next round begins after it).
CREATE TABLE likes_reconcile_cursor (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    last_guild_id  INTEGER NOT NULL,
    updated_at     TEXT NOT NULL
);
