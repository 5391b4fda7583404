"""The `aar-bot` command line, run as a newcomer would: in a subprocess, in an empty directory."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SHIPPED_THREAD


def aar_bot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env={**base, **(env or {})},
        capture_output=True, text=True, timeout=60,
    )


def table_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return sorted(conn.iterdump())  # a copy may list schema objects in another order
    finally:
        conn.close()


def test_import_prints_a_one_line_summary_and_chapters_json(tmp_path):
    db = tmp_path / "aar.db"
    done = aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().count("\n") == 0
    assert "6 chapters, 79 pictures, 14 comments added" in done.stdout

    listed = aar_bot("chapters", "--json", "--db", str(db), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    chapters = json.loads(listed.stdout)
    assert [c["number"] for c in chapters] == [1, 2, 3, 4, 5, 6]
    assert chapters[4]["threadmark"] == "Border War" and chapters[4]["title"] == "The Border War."
    assert [c["forum_likes"] for c in chapters] == [0, 1, 1, 1, 1, 1]
    assert {"number", "threadmark", "title", "chars", "pictures", "forum_likes",
            "comments"} <= set(chapters[0])

    again = aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=tmp_path)
    assert "0 chapters, 0 pictures, 0 comments added" in again.stdout


def test_db_path_defaults_to_the_environment(tmp_path):
    db = tmp_path / "from-env.db"
    done = aar_bot("import", str(SHIPPED_THREAD), cwd=tmp_path, env={"AAR_DB_PATH": str(db)})
    assert done.returncode == 0, done.stderr
    assert db.exists()


def test_db_path_defaults_to_data_aar_db(tmp_path):
    done = aar_bot("import", str(SHIPPED_THREAD), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "aar.db").exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "file not found"), (b"", "file is empty"), (b"\x00\x01\x02" * 50, "binary file"),
     (b"caf\xe9 " * 50, "not UTF-8"), (b"hello\n\xc2\xa0\nworld\n", "no chapters found")],
)
def test_bad_input_exits_non_zero_with_one_line_and_leaves_the_db(tmp_path, content, problem):
    db = tmp_path / "aar.db"
    assert aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=tmp_path).returncode == 0
    before = table_rows(db)
    bad = tmp_path / "bad.txt"
    if content is not None:
        bad.write_bytes(content)
    done = aar_bot("import", str(bad), "--db", str(db), cwd=tmp_path)
    assert done.returncode == 1
    assert problem in done.stderr and done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stderr
    assert table_rows(db) == before


def test_run_without_a_token_says_how_to_set_it(tmp_path):
    done = aar_bot("run", "--db", str(tmp_path / "aar.db"), cwd=tmp_path)
    assert done.returncode != 0
    assert "DISCORD_TOKEN" in done.stderr and ".env" in done.stderr


def test_bad_setting_is_a_clear_error(tmp_path):
    done = aar_bot("chapters", cwd=tmp_path, env={"LOG_LEVEL": "LOUD"})
    assert done.returncode == 2 and "LOG_LEVEL" in done.stderr


def test_backup_writes_a_consistent_copy(tmp_path):
    db = tmp_path / "aar.db"
    aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=tmp_path)
    target = tmp_path / "copy.db"
    done = aar_bot("backup", str(target), "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert table_rows(target) == table_rows(db)
    refused = aar_bot("backup", str(target), "--db", str(db), cwd=tmp_path)
    assert refused.returncode == 1 and "already exists" in refused.stderr


def test_shipped_data_is_found_beside_the_source():
    from bot.config import DATA_DIR, SHIPPED_CAST, SHIPPED_QUIZ

    assert SHIPPED_THREAD.is_file() and SHIPPED_CAST.is_file() and SHIPPED_QUIZ.is_file()
    assert SHIPPED_THREAD.parent == DATA_DIR


def test_forget_deletes_a_members_reactions_and_says_what(tmp_path):
    db = tmp_path / "aar.db"
    assert aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=tmp_path).returncode == 0
    conn = sqlite3.connect(db)
    try:
        conn.executemany("INSERT INTO reactions(guild_id, chapter_number, emoji, user_id, message_id)"
                         " VALUES (7, 1, ?, ?, 700)", [("👍", 123), ("😂", 123), ("👍", 456)])
        conn.commit()
    finally:
        conn.close()
    done = aar_bot("forget", "123", "--guild", "7", "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Forgot user 123 in server 7: deleted 2 reactions."
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT user_id FROM reactions").fetchall() == [(456,)]
    finally:
        conn.close()
    again = aar_bot("forget", "123", "--db", str(db), cwd=tmp_path)
    assert again.stdout.strip() == "Nothing is stored about user 123 in every server."
    bad = aar_bot("forget", "not-a-number", "--db", str(db), cwd=tmp_path)
    assert bad.returncode == 2 and "invalid int value" in bad.stderr
