"""What is wrong with a database file, said in one line that names the file.

SQLite's own messages name no file, and several causes share one message: "unable to open database
file" is what a directory in the file's place, a missing folder and a permission problem all say, and
"attempt to write a readonly database" does not say whether the file or its folder is the read-only one.
The command line promises one line per failure (see `bot.__main__`), so `explain` gives each cause its
own sentence, decided from SQLite's extended result code (Python 3.11+ puts it on the exception as
`sqlite_errorname`) and from a look at the path itself.  SQLite's or the OS's words stay in parentheses
at the end, so nothing it said is hidden.

The refusals `open_database` makes itself (a schema newer than this code, an upgrade a read-only file
cannot take) are `DatabaseProblem`s whose message is already that one line.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path


class DatabaseProblem(Exception):
    """The database can't be used as asked; the message says why in one line naming the file."""


class NewerSchema(DatabaseProblem):
    """Written by a newer AAR Bot: this code doesn't know its tables, so it must not write to it."""

    def __init__(self, where: str, found: int, newest: int) -> None:
        super().__init__(f"{where} was written by a newer AAR Bot (schema version {found}; this version "
                         f"knows up to {newest}): upgrade AAR Bot to use it")
        self.found, self.newest = found, newest


class UpgradeNeeded(DatabaseProblem):
    """Older than this code, and read-only, so it can't be upgraded in place."""

    def __init__(self, where: str, found: int, newest: int, why: str) -> None:
        super().__init__(f"{where} has schema version {found} and this AAR Bot needs {newest}; upgrading it "
                         f"writes to it, and it can't be written ({why})")
        self.found, self.newest = found, newest


_RETRY = "retrying is safe"


def explain(exc: sqlite3.Error | OSError, path: Path) -> str:
    """One line saying what `exc`, raised while using the database at `path`, means for the user."""
    if isinstance(exc, OSError):
        return _explain_os_error(exc, path)
    name = getattr(exc, "sqlite_errorname", None) or ""
    said = f"({exc})"
    if name == "SQLITE_NOTADB":
        return f"{path} is not an AAR Bot database {said}"
    if name.startswith("SQLITE_CORRUPT"):
        return f"{path} is damaged {said}: restore it from a backup"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"{path} is locked by another process {said}; nothing was changed, {_RETRY}"
    if name == "SQLITE_FULL":
        return f"{path}: disk full {said}; nothing was changed, free some space and retry"
    if name == "SQLITE_READONLY_DIRECTORY":
        return (f"{path}: its folder {path.parent} is read-only, and SQLite must create files beside "
                f"the database to write to it {said}")
    if name.startswith("SQLITE_READONLY"):
        return f"{path} is read-only {said}; this command writes to it"
    if name.startswith("SQLITE_CANTOPEN"):
        return f"{path}: {_why_cannot_open(path)} {said}"
    if name.startswith("SQLITE_IOERR"):
        return f"{path}: the disk failed to read or write {said}; is it full or failing?"
    return f"{path}: database error {said}"


def _explain_os_error(exc: OSError, path: Path) -> str:
    """An OSError from preparing the file (creating its folder, say)."""
    said = f"({exc.strerror or exc})"
    culprit = Path(exc.filename) if exc.filename else None
    if isinstance(exc, FileExistsError | NotADirectoryError):
        blocker = _first_non_folder(path.parent)
        if blocker is not None:
            return f"{path}: cannot create its folder, {blocker} is a file, not a folder {said}"
    if isinstance(exc, PermissionError):
        where = culprit.parent if culprit is not None and not culprit.exists() else culprit
        return f"{path}: permission denied on {where or path} {said}"
    if exc.errno == errno.ENOSPC:
        return f"{path}: disk full {said}; nothing was changed, free some space and retry"
    return f"{path}: {culprit or path}: {exc.strerror or exc}"


def _why_cannot_open(path: Path) -> str:
    """SQLite couldn't open `path`; look at the path to say why (its message is the same for all)."""
    if path.is_dir():
        return "is a directory, not a database file"
    blocker = _first_non_folder(path.parent)
    if blocker is not None:
        return f"{blocker} is a file, not a folder"
    if not path.parent.exists():
        return f"its folder {path.parent} does not exist"
    if path.exists():
        if not os.access(path, os.R_OK):
            return "cannot be read: permission denied"
        return "cannot be opened"
    if not os.access(path.parent, os.W_OK):
        return f"cannot create it: its folder {path.parent} is not writable"
    return "cannot be created"


def _first_non_folder(folder: Path) -> Path | None:
    """The first of `folder` and its ancestors that exists but is not a directory, if any."""
    for candidate in reversed([folder, *folder.parents]):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None

