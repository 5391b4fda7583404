"""`aar-bot cast draft` run as an operator would: in a subprocess, against a database holding the story."""

from __future__ import annotations

from pathlib import Path

from bot.characters.schema import load_cast, parse_cast
from bot.config import SHIPPED_THREAD
from tests.e2e.test_cli import aar_bot


def test_cast_draft_prints_a_cast_file_the_cast_loader_accepts(tmp_path: Path) -> None:
    db = tmp_path / "aar.db"
    assert aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=tmp_path).returncode == 0
    done = aar_bot("cast", "draft", "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    cast = parse_cast(done.stdout, "stdout")
    keys = [m.key for m in cast.members]
    assert {"stalin", "rokossovsky", "franco", "trotsky", "zhukov"} <= set(keys)
    assert keys.index("stalin") < keys.index("khrushchev") < keys.index("zhukov")  # first-appearance order
    assert "# first in chapter 5; named 6 times in chapter 5\n[[character]]\nkey = \"zhukov\"" in done.stdout

    out = tmp_path / "cast-draft.toml"
    written = aar_bot("cast", "draft", "--out", str(out), "--db", str(db), cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert written.stdout == f"Wrote a draft cast of {len(keys)} characters to {out}.\n"
    assert load_cast(out).members == cast.members  # the loader the bot uses, from the file

    again = aar_bot("cast", "draft", "--out", str(out), "--db", str(db), cwd=tmp_path)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == f"aar-bot: error: {out}: already exists; choose a new file name\n"


def test_cast_draft_without_a_story_is_a_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    done = aar_bot("cast", "draft", "--db", str(db), cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "aar-bot: error: the database holds no story: import one first with " \
                          "`aar-bot import FILE`\n"
