-- Forum and announcement story channels, and parts posted through a webhook under the author's name.
-- Only additions: a database of V10 keeps every row; its releases are text-channel releases (delivery NULL
-- is decided again when an unfinished one resumes), its parts have nothing to publish (publish NULL).

-- /aar setup forum_tag: the name of the forum tag each chapter's post gets (NULL: none).
ALTER TABLE guild_settings ADD COLUMN forum_tag TEXT;
-- /aar setup author_webhook: post the parts through a channel webhook under the author's name and avatar.
ALTER TABLE guild_settings ADD COLUMN author_webhook INTEGER NOT NULL DEFAULT 0;
ALTER TABLE guild_settings ADD COLUMN author_name TEXT;
ALTER TABLE guild_settings ADD COLUMN author_avatar_url TEXT;

-- How a release is delivered, fixed before its first part so a resumed release delivers the rest the same
-- way: JSON {"kind": "text"|"forum"|"announcement", "post_name", "tag_ids", "author": {username,
-- avatar_url} or null}.  NULL: decided when the release is driven (every release written before V11).
ALTER TABLE releases ADD COLUMN delivery TEXT;

-- Announcement channels: each part is published (crossposted) to the servers following the channel, at
-- Discord's pace, by a background backlog.  NULL: nothing to publish; 'pending': to publish once its
-- message id is known; 'done': published (or Discord says it already was); 'dropped': the message is gone.
ALTER TABLE release_parts ADD COLUMN publish TEXT CHECK (publish IN ('pending', 'done', 'dropped'));
CREATE INDEX release_parts_to_publish ON release_parts(guild_id, chapter_number, part_index)
    WHERE publish = 'pending';
