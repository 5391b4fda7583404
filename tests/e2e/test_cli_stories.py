"""`aar-bot import FILE --story SLUG`, `aar-bot stories`, and `--story` on `chapters` and `preview`: the
library from the command line.  (main() runs its own event loop: these tests are synchronous.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import EXIT_ERROR, EXIT_OK, main
from bot.config import SHIPPED_THREAD
from tests.helpers import SEED_CHAPTERS


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("AAR_DATABASE_URL", "AAR_DB_PATH"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "aar.db"

    def run(*argv: str) -> int:
        return main([*argv, "--db", str(db)])
    return run


def test_a_second_story_is_imported_listed_and_read_by_slug(cli, tmp_path: Path, capsys) -> None:
    other = tmp_path / "red-star.txt"
    other.write_text(SHIPPED_THREAD.read_text(encoding="utf-8-sig").replace("Rokossovsky", "Zanzibarque"),
                     encoding="utf-8")
    assert cli("import", str(SHIPPED_THREAD)) == EXIT_OK
    assert cli("import", str(other), "--story", "red-star", "--title", "Red Star") == EXIT_OK
    out = capsys.readouterr().out
    assert f"Imported {other} (story red-star): {SEED_CHAPTERS} chapters" in out

    assert cli("stories") == EXIT_OK
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith(f"default  The story — {SEED_CHAPTERS} chapters")
    assert listed[1].startswith(f"red-star  Red Star — {SEED_CHAPTERS} chapters")

    assert cli("chapters", "--json", "--story", "red-star") == EXIT_OK
    assert [c["number"] for c in json.loads(capsys.readouterr().out)] == list(range(1, SEED_CHAPTERS + 1))
    for story, present in ((None, False), ("red-star", True)):
        found = []
        for number in range(1, SEED_CHAPTERS + 1):
            assert cli("preview", str(number), "--json", *(["--story", story] if story else [])) == EXIT_OK
            found.append("Zanzibarque" in capsys.readouterr().out)
        assert any(found) is present


def test_a_story_that_is_not_there_or_a_bad_slug_is_one_line(cli, tmp_path: Path, capsys) -> None:
    assert cli("import", str(SHIPPED_THREAD)) == EXIT_OK
    capsys.readouterr()
    assert cli("chapters", "--story", "nope") == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no story 'nope' (the library has: default" in err
    assert cli("import", str(SHIPPED_THREAD), "--story", "Red Star") == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a story slug" in err
    broken = tmp_path / "broken.txt"
    broken.write_text("no chapters here\n", encoding="utf-8")
    assert cli("import", str(broken), "--story", "broken") == EXIT_ERROR
    assert "no chapters found" in capsys.readouterr().err
    assert cli("stories") == EXIT_OK
    assert "broken" not in capsys.readouterr().out  # the story added for the failed import went with it
