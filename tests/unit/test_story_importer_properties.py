"""Properties of the importer on any bytes: it imports, or refuses in one line leaving the database as it was.

Each example imports into a fresh copy of a database already holding the shipped thread, so a refusal
has something to lose; "as it was" means no transaction left open and, once the connection is closed
(the WAL folded back in), the file's bytes unchanged. A row dump per example would double the run time
and prove nothing more: a committed change shows in the bytes. The seed-level tests of the importer
compare every row instead. The inputs are raw bytes and exports assembled from the pieces the parser
cares about (separators, tallies, threadmarks, pictures, author blocks) with damage spliced in.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.config import SHIPPED_THREAD
from bot.storage import open_database
from bot.story.importer import StoryImportError, import_file
from bot.story.limits import MAX_LINE_CHARS

SEED = SHIPPED_THREAD.read_text(encoding="utf-8")
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FRAGMENTS = [
    "\u00a0", " \u00a0 ", "", "  • 1Like", "  • 2Love", "Reactions:", "  • 99999999999999999999Like",
    "  • " + "9" * 5000 + "Like", "  • " + "0" * 5000 + "1Like", "  • 1,000,001Like", "• 1Like",
    "Chapter 1", "Chapter 1: The Long Winter.",
    "Interlude", "Interlude: Madrid Burns.", "Border War", "The Border War.",
    "The winter offensive ground on through the snow while the commissars argued over maps. " * 5,
    "8a0ixvo.jpg", "latest", "375px-Republique-allegorie.jpg", "Marianne is that you?", "---", "*A footnote.",
    "Last edited: Mar 5, 2019", "Click to expand...", "Stalin's Ghost", "Field Marshal", "27 Badges",
    "Joined Mar 3, 2014", "Messages 1,234", "Reaction score 5,678", "  • Hearts of Iron IV", "\ufeff",
    "Great update!", "Spanish Civil War 1.", "The Spanish Civil War: Further Beyond.",
    # whole groups, which pieces placed one by one seldom form
    "  • 99999999999999999999Like\nReactions:", "  • " + "9" * 5000 + "Love\nReactions:",
    "  • 3Like\n  • 1Haha\nReactions:", "Interlude\nInterlude: Madrid Burns.\nmadrid.jpg\nThe city burns.",
    "x" * (MAX_LINE_CHARS + 1),
]
DAMAGE = [b"\x00", b"\xff", b"\xc3", b"\r", b"\x01\x02\x03", b"\xef\xbb\xbf", "\u00a0".encode(), b"\n" * 3]


@st.composite
def assembled_exports(draw: st.DrawFn) -> bytes:
    """The shipped export (or nothing) with the parser's pieces put in, lines cut out and bytes spliced in."""
    lines = SEED.split("\n") if draw(st.booleans()) else []
    if lines and draw(st.booleans()):
        start = draw(st.integers(0, len(lines)))
        del lines[start:start + draw(st.integers(0, 200))]
    for piece in draw(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=30), max_size=40)):
        lines.insert(draw(st.integers(0, len(lines))), piece)
    data = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines).encode("utf-8", "surrogatepass")
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(DAMAGE) | st.binary(max_size=8)) + data[at:]
    return data


@dataclass(frozen=True)
class Template:
    """A database file holding the shipped thread, closed (its WAL folded in), and its digest."""

    path: Path
    digest: str = field(repr=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("template") / "aar.db"

    async def build() -> None:
        conn = await open_database(path)
        try:
            await import_file(conn, SHIPPED_THREAD)
        finally:
            await conn.close()

    asyncio.run(build())
    return Template(path, _digest(path))


def check_import(template: Template, data: bytes) -> None:
    """Import `data` into a copy of the template: success, or one line and not a byte changed."""
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "aar.db"
        shutil.copyfile(template.path, db_path)
        export = Path(folder) / "export.txt"
        export.write_bytes(data)

        async def attempt() -> tuple[StoryImportError | None, bool]:
            conn = await open_database(db_path)
            try:
                try:
                    await import_file(conn, export)
                except StoryImportError as exc:
                    return exc, conn.raw.in_transaction
                return None, False
            finally:
                await conn.close()

        error, left_open = asyncio.run(attempt())
        event(_kind(error, export))
        if error is None:
            return
        message = str(error)
        assert message.startswith(f"{export}: ") and "\n" not in message and len(message.splitlines()) == 1
        assert not left_open
        assert _digest(db_path) == template.digest


def _kind(error: StoryImportError | None, export: Path) -> str:
    """What happened, for `--hypothesis-show-statistics`: imported, or the error without its details."""
    if error is None:
        return "imported"
    return re.sub(r"\s*\(.*", "", re.sub(r"\d[\d,]*", "N", str(error).removeprefix(f"{export}: ")))[:50]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=2048))
def test_any_bytes_import_or_fail_in_one_line_leaving_the_database_unchanged(template: Template, data: bytes):
    check_import(template, data)


@PROPERTY_SETTINGS
@given(data=assembled_exports())
def test_damaged_exports_import_or_fail_in_one_line_leaving_the_database_unchanged(template: Template,
                                                                                 data: bytes):
    check_import(template, data)


def test_opening_and_closing_the_template_changes_no_byte(template: Template):
    """The byte comparison above means something only if a connection alone leaves the file as it was."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "aar.db"
        shutil.copyfile(template.path, copy)

        async def touch() -> None:
            conn = await open_database(copy)
            await conn.close()

        asyncio.run(touch())
        assert _digest(copy) == template.digest
