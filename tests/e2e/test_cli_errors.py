"""The CLI's one-line contract when the database itself is the problem.

Each failure (a damaged file, a directory or a file where a folder should be, no permission, read-only,
locked, a full disk, a newer release's database) must exit non-zero with exactly one line on stderr that
starts `aar-bot: ` and says what is wrong with which file: no traceback, not even a second one from a
worker thread.  Commands that only read (`chapters`, `preview`, `backup`) must work on a database they
may not write.

Run as a user would: the real CLI in a subprocess.  Root ignores file permissions, so when the tests run
as root the permission cases run the CLI without the two capabilities that let it (`setpriv`): the
kernel then checks the mode bits for it as for anyone else.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import SHIPPED_THREAD
from bot.storage.migrations import newest_version
from tests.fixtures.schemas import generate

NO_DAC = ["--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]
READ_COMMANDS = [("chapters",), ("preview", "1"), ("backup", "copy.db"), ("cast", "draft")]
# `run` with a token, pointed at a closed port: if it got as far as starting the bot, it would fail there.
RUN_ENV = {"DISCORD_TOKEN": "t", "DISCORD_API_BASE_URL": "http://127.0.0.1:9"}


def aar_bot(*args: str, cwd: Path, env: dict[str, str] | None = None,
            prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))}
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "bot", *args], cwd=cwd, env={**base, **(env or {})},
        capture_output=True, text=True, timeout=60,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error line, after checking the contract: non-zero exit, one line, `aar-bot: `, no traceback."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Event loop is closed" not in done.stderr, done.stderr
    assert done.stderr.startswith("aar-bot: ") and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.endswith("\n")
    return done.stderr.strip()


def chapter_numbers(db: Path) -> list[int]:
    conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT number FROM chapters ORDER BY number")]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the shipped thread imported by the CLI, closed cleanly (no -wal beside it)."""
    db = tmp_path_factory.mktemp("imported") / "aar.db"
    done = aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=db.parent)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture(scope="module")
def unprivileged() -> list[str]:
    """The command prefix under which the kernel checks file permissions for the CLI, root or not."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None or subprocess.run([setpriv, *NO_DAC, "true"]).returncode != 0:
        pytest.skip("running as root without setpriv able to drop CAP_DAC_OVERRIDE: permissions can't bite")
    return [setpriv, *NO_DAC]


@pytest.fixture
def restore_modes(tmp_path: Path) -> Iterator[None]:
    """Make everything under tmp_path writable again afterwards, so pytest can delete it."""
    yield
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_damaged_file_is_not_an_aar_bot_database(tmp_path):
    db = tmp_path / "aar.db"
    db.write_bytes(b"this is not SQLite at all\n" * 200)
    for command in [("import", str(SHIPPED_THREAD)), ("run",), *READ_COMMANDS]:
        line = one_line_error(aar_bot(*command, "--db", str(db), cwd=tmp_path, env=RUN_ENV))
        assert line == f"aar-bot: {db} is not an AAR Bot database (file is not a database)", command
    assert db.read_bytes() == b"this is not SQLite at all\n" * 200
    assert not (tmp_path / "copy.db").exists()


def test_a_directory_in_place_of_the_file(tmp_path):
    (tmp_path / "aar.db").mkdir()
    for command in [("import", str(SHIPPED_THREAD)), ("chapters",)]:
        line = one_line_error(aar_bot(*command, "--db", "aar.db", cwd=tmp_path))
        assert line.startswith("aar-bot: aar.db: is a directory, not a database file"), line


def test_a_file_where_its_folder_should_be(tmp_path):
    (tmp_path / "data").write_text("a file, not a folder")
    for db in ("data/aar.db", "data/deeper/aar.db"):
        line = one_line_error(aar_bot("import", str(SHIPPED_THREAD), "--db", db, cwd=tmp_path))
        assert line.startswith(f"aar-bot: {db}: cannot create its folder, data is a file, not a folder"), line


def test_a_folder_that_cannot_be_written(tmp_path, unprivileged, restore_modes):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    done = aar_bot("import", str(SHIPPED_THREAD), "--db", "locked/aar.db", cwd=tmp_path, prefix=unprivileged)
    line = one_line_error(done)
    assert line.startswith("aar-bot: locked/aar.db: cannot create it: its folder locked is not writable")
    done = aar_bot("chapters", "--db", "locked/new/aar.db", cwd=tmp_path, prefix=unprivileged)
    line = one_line_error(done)
    assert line == "aar-bot: locked/new/aar.db: permission denied on locked (Permission denied)"
    assert list(locked.iterdir()) == []


def test_a_read_only_database_file_can_be_read_but_not_written(tmp_path, imported, unprivileged,
                                                              restore_modes):
    db = tmp_path / "aar.db"
    shutil.copy(imported, db)
    db.chmod(0o444)
    for command in READ_COMMANDS:
        done = aar_bot(*command, "--db", str(db), cwd=tmp_path, prefix=unprivileged)
        assert done.returncode == 0 and done.stderr == "", (command, done.stderr)
    assert chapter_numbers(tmp_path / "copy.db") == [1, 2, 3, 4, 5, 6]
    for command in [("import", str(SHIPPED_THREAD)), ("run",)]:
        done = aar_bot(*command, "--db", str(db), cwd=tmp_path, env=RUN_ENV, prefix=unprivileged)
        assert one_line_error(done) == (f"aar-bot: {db} is read-only (attempt to write a readonly database); "
                                        "this command writes to it"), command


def test_a_read_only_folder_can_be_read_but_not_written(tmp_path, imported, unprivileged, restore_modes):
    folder = tmp_path / "shelf"
    folder.mkdir()
    db = folder / "aar.db"
    shutil.copy(imported, db)
    folder.chmod(0o555)
    for command in READ_COMMANDS:
        done = aar_bot(*command, "--db", str(db), cwd=tmp_path, prefix=unprivileged)
        assert done.returncode == 0 and done.stderr == "", (command, done.stderr)
    listed = aar_bot("chapters", "--db", str(db), cwd=tmp_path, prefix=unprivileged)
    assert listed.stdout.count("\n") == 6
    assert chapter_numbers(tmp_path / "copy.db") == [1, 2, 3, 4, 5, 6]
    for command in [("import", str(SHIPPED_THREAD)), ("run",)]:
        done = aar_bot(*command, "--db", str(db), cwd=tmp_path, env=RUN_ENV, prefix=unprivileged)
        line = one_line_error(done)
        assert line.startswith(f"aar-bot: {db}: its folder {folder} is read-only"), (command, line)
    assert sorted(p.name for p in folder.iterdir()) == ["aar.db"]


def test_an_older_database_is_upgraded_by_a_reading_command_unless_it_is_read_only(tmp_path, unprivileged,
                                                                                  restore_modes):
    db = tmp_path / "aar.db"
    conn = sqlite3.connect(db)
    conn.executescript(generate.fixture_path(1).read_text(encoding="utf-8"))
    conn.close()
    db.chmod(0o444)
    done = aar_bot("chapters", "--db", str(db), cwd=tmp_path, prefix=unprivileged)
    assert one_line_error(done) == (
        f"aar-bot: {db} has schema version 1 and this AAR Bot needs {newest_version()}; upgrading it "
        "writes to it, and it can't be written (attempt to write a readonly database)")
    db.chmod(0o644)
    done = aar_bot("chapters", "--json", "--db", str(db), cwd=tmp_path, prefix=unprivileged)
    assert done.returncode == 0, done.stderr
    assert '"title": "Two"' in done.stdout


def test_a_database_locked_past_the_busy_timeout_says_retrying_is_safe(tmp_path, imported):
    db = tmp_path / "aar.db"
    shutil.copy(imported, db)
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's write lock
        done = aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), "--busy-timeout", "0.1", cwd=tmp_path)
        assert one_line_error(done) == (f"aar-bot: {db} is locked by another process (database is locked); "
                                        "nothing was changed, retrying is safe")
    finally:
        holder.close()
    again = aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def _private_mounts() -> list[str] | None:
    """A command prefix giving a private mount namespace where a tmpfs may be mounted, if there is one.

    Root gets one directly; another user through a user namespace, where the kernel allows those.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "--mount"] if os.geteuid() == 0 else [unshare, "--map-root-user", "--mount"]
    probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return prefix if probe.returncode == 0 else None


PRIVATE_MOUNTS = _private_mounts()


@pytest.mark.skipif(PRIVATE_MOUNTS is None, reason="needs a private mount namespace to mount a small tmpfs")
def test_a_full_disk_is_reported_and_nothing_is_kept(tmp_path):
    """A real full disk: a tmpfs with room for the empty database and little more, in a mount namespace."""
    empty = tmp_path / "empty.db"
    assert aar_bot("chapters", "--db", str(empty), cwd=tmp_path).returncode == 0
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    size_kb = empty.stat().st_size // 1024 + 32 + 48  # the file, its 32 KiB -shm, 48 KiB to spare
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))}
    script = (f'mount -t tmpfs -o size={size_kb}k tmpfs "{disk}" && cp "{empty}" "{disk}/aar.db" && '
              f'"{sys.executable}" -m bot import "{SHIPPED_THREAD}" --db "{disk}/aar.db"; status=$?; '
              f'cp "{disk}"/aar.db* "{out}/"; exit $status')
    assert PRIVATE_MOUNTS is not None
    done = subprocess.run([*PRIVATE_MOUNTS, "sh", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert one_line_error(done) == (f"aar-bot: {disk}/aar.db: disk full (database or disk is full); "
                                    "nothing was changed, free some space and retry")
    assert chapter_numbers(out / "aar.db") == []


def test_a_database_from_a_newer_release_is_refused_by_every_command_untouched(tmp_path, imported):
    db = tmp_path / "aar.db"
    shutil.copy(imported, db)
    newer = newest_version() + 1
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO schema_migrations(version, name) VALUES (?, 'from_the_future')", (newer,))
    conn.close()
    written = db.read_bytes()
    for command in [("run",), ("import", str(SHIPPED_THREAD)), *READ_COMMANDS]:
        line = one_line_error(aar_bot(*command, "--db", str(db), cwd=tmp_path, env=RUN_ENV))
        assert line == (f"aar-bot: {db} was written by a newer AAR Bot (schema version {newer}; this version "
                        f"knows up to {newest_version()}): upgrade AAR Bot to use it"), command
    assert db.read_bytes() == written
    assert not (tmp_path / "copy.db").exists()
    wal = tmp_path / "aar.db-wal"  # a reader may leave SQLite's WAL file beside it, with nothing in it
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_busy_timeout_must_be_a_number_of_seconds(tmp_path):
    done = aar_bot("chapters", "--busy-timeout", "-1", cwd=tmp_path)
    assert done.returncode == 2 and "'-1' is not a number of seconds" in done.stderr


def test_the_database_options_work_before_the_command_too(tmp_path, imported):
    done = aar_bot("--db", str(imported), "--busy-timeout", "1", "chapters", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"number": 6' in done.stdout
    assert not (tmp_path / "data").exists()  # not the default database
