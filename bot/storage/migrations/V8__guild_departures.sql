-- Servers the bot was removed from, and when.  A server's data is kept for a grace period after the bot
-- leaves (bot.privacy.GRACE_PERIOD: a re-invite within it finds everything as it was, and deletes the row),
-- then the bot purges it.  Stored rather than kept in memory, so a restart neither forgets a departure nor
-- restarts its clock.
CREATE TABLE guild_departures (
    guild_id  INTEGER PRIMARY KEY,
    left_at   TEXT NOT NULL          -- UTC, the bot.timestamps format: compared as text with a cutoff
);
