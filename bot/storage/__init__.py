"""SQLite storage: one connection per process, numbered migrations, one module per table group.

All SQL lives in this package, and this package imports no feature: only `bot.storage.*`,
`bot.story.model` (plain data classes) and `bot.timestamps`.  Features call these functions and get
plain data back.

The connection rule.  The bot shares one connection (`open_database`), opened in autocommit mode: each
statement commits by itself, and most writes are one statement, so they need nothing more.  Only code
inside `transaction(conn)` may BEGIN on the shared connection (BEGIN, COMMIT and ROLLBACK are written
nowhere else), for a write of several statements that must land together or not at all.  Why so strict:
a connection has one transaction at a time, shared by every coroutine using it, so a second BEGIN fails
and a stray ROLLBACK would undo other features' writes.  While a transaction is open, the other tasks'
statements (sent through `bot.storage.sql`, as every storage module does) wait for it to end, so none of
them slips into it; hence the body of a transaction awaits nothing but its own statements (never
Discord), and stays short.  A long-running or batched writer (the likes ingest, the character index
rebuilt at start) opens its own connection instead: it then holds SQLite's write lock, not the whole
bot's database, and WAL lets everyone keep reading meanwhile.

Stored instants are text in the one format of `bot.timestamps` (migration V7 rewrote older rows), so
they compare in SQL as they do in time.
"""

from bot.storage.connection import open_database
from bot.storage.transaction import transaction

__all__ = ["open_database", "transaction"]
