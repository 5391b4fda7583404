"""Properties of the importer on any bytes: it imports, or refuses in one line leaving the database as it was.

Each example imports into a fresh copy of a database already holding the shipped thread, so a refusal
has something to lose; "as it was" is checked twice: every row (`iterdump`) and, once the connection is
closed, the file's bytes. The inputs are raw bytes and exports assembled from the pieces the parser
cares about (separators, tallies, threadmarks, pictures, author blocks) with damage spliced in.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import SHIPPED_THREAD
from bot.storage import open_database
from bot.story.importer import StoryImportError, import_file

SEED = SHIPPED_THREAD.read_text(encoding="utf-8")
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FRAGMENTS = [
    "\u00a0", " \u00a0 ", "", "  • 1Like", "  • 2Love", "Reactions:", "  • 99999999999999999999Like",
    "  • " + "9" * 5000 + "Like", "  • 1,000,001Like", "• 1Like", "Chapter 1", "Chapter 1: The Long Winter.",
    "Interlude", "Interlude: Madrid Burns.", "Border War", "The Border War.",
    "The winter offensive ground on through the snow while the commissars argued over maps. " * 5,
    "8a0ixvo.jpg", "latest", "375px-Republique-allegorie.jpg", "Marianne is that you?", "---", "*A footnote.",
    "Last edited: Mar 5, 2019", "Click to expand...", "Stalin's Ghost", "Field Marshal", "27 Badges",
    "Joined Mar 3, 2014", "Messages 1,234", "Reaction score 5,678", "  • Hearts of Iron IV", "\ufeff",
    "Great update!", "Spanish Civil War 1.", "The Spanish Civil War: Further Beyond.",
]
DAMAGE = [b"\x00", b"\xff", b"\xc3", b"\r", b"\x01\x02\x03", b"\xef\xbb\xbf", "\u00a0".encode(), b"\n" * 3]


@st.composite
def assembled_exports(draw: st.DrawFn) -> bytes:
    """An export built from the parser's pieces (or cut from the shipped one), with bytes spliced in."""
    pieces = draw(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=30), max_size=60))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(pieces)
    if draw(st.booleans()):
        start = draw(st.integers(0, len(SEED)))
        text = SEED[start:start + draw(st.integers(0, 20_000))] + newline + text
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(DAMAGE) | st.binary(max_size=8)) + data[at:]
    return data


@dataclass(frozen=True)
class Template:
    """A database file holding the shipped thread, closed (its WAL folded in), with what it holds."""

    path: Path
    digest: str = field(repr=False)
    rows: list[str] = field(repr=False)  # a failing example's report would print every row


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("template") / "aar.db"

    async def build() -> list[str]:
        conn = await open_database(path)
        try:
            await import_file(conn, SHIPPED_THREAD)
            return [line async for line in conn.iterdump()]
        finally:
            await conn.close()

    rows = asyncio.run(build())
    return Template(path, _digest(path), rows)


def check_import(template: Template, data: bytes) -> None:
    """Import `data` into a copy of the template: success, or one line and not a byte changed."""
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "aar.db"
        shutil.copyfile(template.path, db_path)
        export = Path(folder) / "export.txt"
        export.write_bytes(data)

        async def attempt() -> tuple[StoryImportError | None, bool, list[str]]:
            conn = await open_database(db_path)
            try:
                try:
                    await import_file(conn, export)
                except StoryImportError as exc:
                    return exc, conn.in_transaction, [line async for line in conn.iterdump()]
                return None, False, []
            finally:
                await conn.close()

        error, left_open, rows = asyncio.run(attempt())
        if error is None:
            return
        message = str(error)
        assert message.startswith(f"{export}: ") and "\n" not in message and len(message.splitlines()) == 1
        assert not left_open and rows == template.rows
        assert _digest(db_path) == template.digest


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
    check_import(template, b"\x00")  # refused before any write
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "aar.db"
        shutil.copyfile(template.path, copy)

        async def touch() -> None:
            conn = await open_database(copy)
            await conn.close()

        asyncio.run(touch())
        assert _digest(copy) == template.digest
