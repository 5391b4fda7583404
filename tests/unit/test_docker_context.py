"""`.dockerignore`: local databases and `.env` files stay out of the build context at any depth.

Docker does not match like git: `*.db` excludes only a `*.db` at the context's root, so each rule that
must hold everywhere is written `**/...`.  `excluded` below follows Docker's rules (moby/patternmatcher):
patterns are relative to the context root, `**` spans any number of folders (none included), `*` and `?`
stay within one path segment, a `!` line re-includes, the last matching line wins, and a folder that is
excluded takes everything below it along.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCKERIGNORE = Path(__file__).resolve().parents[2] / ".dockerignore"


def rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(re-include?, compiled pattern) per rule, in file order."""
    parsed = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        parsed.append((negate, re.compile(translate(pattern))))
    return parsed


def translate(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return f"^{out}$"


def excluded(path: str, text: str) -> bool:
    """Whether Docker leaves `path` (relative to the context root) out of the build context."""
    parts = path.split("/")
    verdict = False
    for negate, pattern in rules(text):
        # A rule matching the path or one of its parent folders applies to it.
        if any(pattern.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            verdict = not negate
    return verdict


@pytest.fixture(scope="module")
def dockerignore() -> str:
    return DOCKERIGNORE.read_text(encoding="utf-8")


@pytest.mark.parametrize("pattern", ["**/*.db", "**/*.db-wal", "**/*.db-shm", "**/.env"])
def test_the_any_depth_patterns_are_there(dockerignore: str, pattern: str) -> None:
    assert pattern in [line.strip() for line in dockerignore.splitlines()]


@pytest.mark.parametrize("path", [
    "aar.db", "data/aar.db", "sub/dir/x.db", "sub/dir/x.db-wal", "backups/2026/aar.db-shm", "data/aar.db-wal",
    ".env", "deploy/.env", "deploy/staging/.env", "deploy/.env.production",
])
def test_databases_and_env_files_are_excluded_at_any_depth(dockerignore: str, path: str) -> None:
    assert excluded(path, dockerignore), path


@pytest.mark.parametrize("path", [
    "bot/config.py", "bot/storage/migrations/V1__story.sql", "cogs/admin.py", "data/aar-thread.txt",
    "data/cast.toml", "pyproject.toml", "README.md", "LICENSE",
])
def test_what_the_image_needs_is_kept(dockerignore: str, path: str) -> None:
    assert not excluded(path, dockerignore), path


def test_the_matcher_follows_dockers_rules() -> None:
    """The matcher itself: root-only without `**`, re-includes, folders taking their contents along."""
    assert excluded("x.db", "*.db") and not excluded("a/x.db", "*.db")
    assert excluded("a/b/x.db", "**/*.db") and excluded("x.db", "**/*.db")
    assert not excluded(".env.example", ".env*\n!.env.example")
    assert excluded("tests/unit/test_x.py", "tests")
