-- PostgreSQL form of migrations/V7__timestamps.sql: nothing to do.  SQLite's V7 rewrites instants stored
-- in older formats by releases before it.  A PostgreSQL database never held any: it is created by this
-- release's migrations, empty, and filled only by code that writes the bot.timestamps format, or by
-- `aar-bot migrate-to-postgres` from a SQLite database that its own V7 has already rewritten.
-- The version is kept, so both backends number the same schema the same way.
SELECT 1;
