"""`aar-bot preview N --json`: exactly the payloads a release of chapter N sends, with no Discord.

Run as a user would: a subprocess in an empty directory, against a database the CLI imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.chapters.plan import release_plan
from bot.chapters.render import render_chapter
from bot.config import SHIPPED_THREAD
from bot.story.parser import parse_thread
from tests.unit.test_chapters_render import limit_problems


def aar_bot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AAR_"))}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An empty working directory and a database with the shipped thread imported by the CLI."""
    cwd = tmp_path_factory.mktemp("preview")
    db = cwd / "aar.db"
    done = aar_bot("import", str(SHIPPED_THREAD), "--db", str(db), cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd, db


def _rendered(payload: dict[str, Any]) -> dict[str, Any]:
    """The rendered message of a planned one: what the renderer's limits are about (buttons aside)."""
    return {k: v for k, v in payload.items() if k != "components"}


def test_preview_json_prints_the_release_payloads(seeded: tuple[Path, Path]) -> None:
    cwd, db = seeded
    done = aar_bot("preview", "3", "--json", "--db", str(db), cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    payloads = json.loads(done.stdout)
    chapters = parse_thread(SHIPPED_THREAD.read_text(encoding="utf-8")).chapters
    # The database round trip changes nothing: the same plan as rendering the parsed chapter directly, with
    # the ✅ Read button on the last message (what a release stores and sends).
    assert payloads == release_plan(render_chapter(chapters[2], number=3, total=len(chapters)), number=3)
    assert payloads[-1]["components"][0]["components"][-1]["custom_id"] == "aar:readmark:3"
    assert payloads[0]["content"].startswith("# Chapter 2: Abolish the Cult of the Individual.\n")
    assert "Chapter 3 of 6" in payloads[0]["content"]
    for payload in payloads:
        assert limit_problems(_rendered(payload)) == []


def test_preview_json_of_every_seed_chapter_is_valid(seeded: tuple[Path, Path]) -> None:
    cwd, db = seeded
    for number in range(1, 7):
        done = aar_bot("preview", str(number), "--json", "--db", str(db), cwd=cwd)
        assert done.returncode == 0, done.stderr
        payloads = json.loads(done.stdout)
        assert payloads and all(limit_problems(_rendered(p)) == [] for p in payloads), number


def test_preview_of_an_unknown_chapter_is_a_one_line_error(seeded: tuple[Path, Path]) -> None:
    cwd, db = seeded
    for number in ("7", "0", "-1"):
        done = aar_bot("preview", number, "--json", "--db", str(db), cwd=cwd)
        assert done.returncode == 1, (number, done.stdout, done.stderr)
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert f"no chapter {number}" in done.stderr and "6" in done.stderr
