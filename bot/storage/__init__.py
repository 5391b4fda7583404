"""SQLite storage: one connection per process, numbered migrations, one module per table group."""

from bot.storage.connection import open_database

__all__ = ["open_database"]
