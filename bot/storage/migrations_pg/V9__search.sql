-- PostgreSQL form of migrations/V9__search.sql.  SQLite's FTS5 table becomes a table of tsvectors with a
-- GIN index, kept in step with `blocks` by triggers, the same way and in the same transaction:
--   * `rowid` is the key SQLite's FTS5 rowid is (chapter_number * 2^32 + position), so a search is still
--     limited to a server's released chapters by a key range;
--   * `text` holds the block's words (a tsvector), not the text: like the contentless FTS5 table, the
--     text stays in `blocks` only;
--   * the `aar_story` text search configuration is FTS5's `unicode61 remove_diacritics 2`: no stemming
--     (`simple`), diacritics folded (`unaccent`, a trusted extension shipped with PostgreSQL's contrib);
--   * prefix queries (`rev:*` in a tsquery) use the GIN index, as FTS5's prefix indexes serve "rev*".
-- Ranking is ts_rank's, not bm25: the order of equally good hits may differ between the backends.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION aar_story (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION aar_story
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, simple;

CREATE TABLE story_search (
    rowid BIGINT PRIMARY KEY,
    text  TSVECTOR NOT NULL
);
CREATE INDEX story_search_words ON story_search USING GIN (text);

CREATE FUNCTION story_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM story_search WHERE rowid = OLD.chapter_number * 4294967296 + OLD.position;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO story_search(rowid, text)
            VALUES (NEW.chapter_number * 4294967296 + NEW.position, to_tsvector('aar_story', NEW.text));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER story_search_block_added AFTER INSERT ON blocks
    FOR EACH ROW EXECUTE FUNCTION story_search_sync();
CREATE TRIGGER story_search_block_removed AFTER DELETE ON blocks
    FOR EACH ROW EXECUTE FUNCTION story_search_sync();
CREATE TRIGGER story_search_block_changed AFTER UPDATE ON blocks
    FOR EACH ROW EXECUTE FUNCTION story_search_sync();

INSERT INTO story_search(rowid, text)
    SELECT chapter_number * 4294967296 + position, to_tsvector('aar_story', text) FROM blocks;

CREATE TABLE search_queries (
    id          INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 999999),
    guild_id    BIGINT NOT NULL,
    query       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX search_queries_by_text ON search_queries(guild_id, query);
CREATE INDEX search_queries_by_age ON search_queries(created_at);
