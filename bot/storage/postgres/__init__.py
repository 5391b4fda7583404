"""PostgreSQL storage (`AAR_DATABASE_URL=postgresql://...`): the ground the storage functions will stand on.

What is here: opening a database through asyncpg (`connection.open_postgres`) and the migration runner
(`migrations`), which applies `bot/storage/migrations_pg/`: the SQLite migrations, version for version and
name for name, in PostgreSQL's dialect, so a database of either backend at version N has the same tables
and columns (a test compares them).  The translation keeps the code one:

* Discord ids (snowflakes, 64 bits) are BIGINT; SQLite's self-numbering `INTEGER PRIMARY KEY` is an
  identity column; flags stay INTEGER 0/1, as SQLite stores them.
* Instants stay TEXT in the one `bot.timestamps` format (UTC, milliseconds, `Z`), so they compare as text
  the same way on both backends; schema defaults write that format with `to_char`.
* Triggers are PL/pgSQL functions doing what SQLite's trigger bodies do; the FTS5 search index is a
  tsvector table with a GIN index (V9 says how the two differ).

The storage functions themselves (`bot.storage.*`) are still SQLite's: the bot refuses to run on
PostgreSQL until they have a PostgreSQL implementation too.
"""
