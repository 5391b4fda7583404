-- Full-text search of the story (/search): one FTS5 row per block (paragraphs, section headings, picture
-- captions, author's notes).  The rowid says where the block is, chapter_number * 2^32 + position, so a
-- search is limited to a server's released chapters by a rowid range (which FTS5 applies inside the
-- index), and a block's row is found again without a scan when the importer deletes or replaces it.
-- Diacritics are folded ("Bukharin" finds "Bukhárin"); the prefix indexes make "rev*" as fast as "rev".
-- Contentless (content=''): the text stays in `blocks` only; the index holds the words, which is all
-- matching and bm25 need.  A contentless row is removed with FTS5's 'delete' command and the old text.
CREATE VIRTUAL TABLE story_search USING fts5(
    text,
    content = '',
    tokenize = "unicode61 remove_diacritics 2",
    prefix = '2 3 4 5'
);

-- Kept in step by triggers, so every import (which writes `blocks` in its one transaction) updates the
-- index in that same transaction, whatever code path wrote the blocks.
CREATE TRIGGER story_search_block_added AFTER INSERT ON blocks BEGIN
    INSERT INTO story_search(rowid, text) VALUES (new.chapter_number * 4294967296 + new.position, new.text);
END;

CREATE TRIGGER story_search_block_removed AFTER DELETE ON blocks BEGIN
    INSERT INTO story_search(story_search, rowid, text)
        VALUES ('delete', old.chapter_number * 4294967296 + old.position, old.text);
END;

CREATE TRIGGER story_search_block_changed AFTER UPDATE ON blocks BEGIN
    INSERT INTO story_search(story_search, rowid, text)
        VALUES ('delete', old.chapter_number * 4294967296 + old.position, old.text);
    INSERT INTO story_search(rowid, text) VALUES (new.chapter_number * 4294967296 + new.position, new.text);
END;

-- A database that already holds a story is indexed here, once.
INSERT INTO story_search(rowid, text) SELECT chapter_number * 4294967296 + position, text FROM blocks;

-- Recent searches, so a page button (whose custom_id has room for a key of up to 6 digits, not the query)
-- still knows what was searched after a restart.  Only the server and the text: no member id.  Keys run
-- 1..999999 (then the least recently searched is reused); expired ones (bot.search.service.QUERY_LIFETIME)
-- go as new ones come.
CREATE TABLE search_queries (
    id          INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 999999),
    guild_id    INTEGER NOT NULL,
    query       TEXT NOT NULL,
    created_at  TEXT NOT NULL           -- UTC, the bot.timestamps format
);
CREATE INDEX search_queries_by_text ON search_queries(guild_id, query);
CREATE INDEX search_queries_by_age ON search_queries(created_at);
