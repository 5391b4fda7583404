-- PostgreSQL form of migrations/V11__channel_kinds.sql.
ALTER TABLE guild_settings ADD COLUMN forum_tag TEXT;
ALTER TABLE guild_settings ADD COLUMN author_webhook INTEGER NOT NULL DEFAULT 0;
ALTER TABLE guild_settings ADD COLUMN author_name TEXT;
ALTER TABLE guild_settings ADD COLUMN author_avatar_url TEXT;

ALTER TABLE releases ADD COLUMN delivery TEXT;

ALTER TABLE release_parts ADD COLUMN publish TEXT CHECK (publish IN ('pending', 'done', 'dropped'));
CREATE INDEX release_parts_to_publish ON release_parts(guild_id, chapter_number, part_index)
    WHERE publish = 'pending';
