"""The importer on the seed thread and on variants of it the tests write."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SHIPPED_THREAD
from bot.storage import open_database
from bot.storage.sql import fetch_all
from bot.storage.story import list_chapters, load_chapter
from bot.story.importer import StoryImportError, import_file
from bot.story.parser import parse_thread
from tests.helpers import mark_released, table_names

pytestmark = pytest.mark.both_backends

SEED = SHIPPED_THREAD.read_text(encoding="utf-8")

EXPECTED = [
    ("Spanish Civil War 1.", "The Spanish Civil War: Further Beyond."),
    ("Spanish Civil War 2", "Spanish Civil War: Madrid shall be Fascism's grave."),
    ("Chapter 2", "Chapter 2: Abolish the Cult of the Individual."),
    ("Spanish Civil War 3", "Spanish Civil War: Workers, to Victory!"),
    ("Border War", "The Border War."),
    ("Chapter 3", "Chapter 3: The Gravedigger of the Revolution."),
]


async def dump(conn) -> list[str]:
    """Every row of every table, to prove a failed import left the database exactly as it was."""
    lines = []
    for table in await table_names(conn):
        cur_rows = await fetch_all(conn, f"SELECT * FROM {table} ORDER BY 1, 2")
        lines.extend(f"{table}: {tuple(r)}" for r in cur_rows)
    return lines


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


async def test_seed_yields_the_six_chapters_in_order(db):
    summary = await import_file(db, SHIPPED_THREAD)
    chapters = await list_chapters(db)
    assert [(c.threadmark, c.title) for c in chapters] == EXPECTED
    assert [c.number for c in chapters] == [1, 2, 3, 4, 5, 6]
    assert summary.chapters_added == 6


async def test_seed_forum_likes_pictures_and_comments(db):
    await import_file(db, SHIPPED_THREAD)
    chapters = await list_chapters(db)
    assert [c.forum_likes for c in chapters] == [0, 1, 1, 1, 1, 1]
    assert [c.pictures for c in chapters] == [11, 8, 16, 16, 10, 18]
    assert sum(c.comments for c in chapters) == 13  # plus one comment before the first chapter
    assert all(c.chars > 5000 for c in chapters)


async def test_pictures_keep_their_captions_in_place(db):
    await import_file(db, SHIPPED_THREAD)
    first = await load_chapter(db, 1)
    kinds = [b.kind for b in first.blocks[:4]]
    assert kinds == ["heading", "picture", "paragraph", "heading"]
    picture = first.blocks[1]
    assert picture.image_name == "375px-Republique-allegorie.jpg"
    assert picture.text == "Marianne is that you?"
    assert picture.image_url == "https://commons.wikimedia.org/wiki/Special:FilePath/Republique-allegorie.jpg"

    second = await load_chapter(db, 2)
    assert second.blocks[0].image_url == "https://i.imgur.com/y4oAUaF.jpg"
    assert second.blocks[0].text == "The initial Soviet-Republican push for Zaragosa."

    border = await load_chapter(db, 5)
    names = {b.image_name: b for b in border.pictures}
    khasan = names["Battle_of_Lake_Khasan-Camouflaged_soviet_tanks.jpg"]
    assert khasan.image_url == (
        "https://commons.wikimedia.org/wiki/Special:FilePath/Battle_of_Lake_Khasan-Camouflaged_soviet_tanks.jpg"
    )
    assert khasan.text == "Concealed Soviet armor."

    last = await load_chapter(db, 6)
    latest = [b for b in last.pictures if b.image_name == "latest"]
    assert [b.text for b in latest] == [
        "German soldiers outside of Pilsen, thinking about how they can soon be bathing in beer.",
        "Troops from the Leibstandarte Adolf Hitler enjoying suburban life in Prague.",
    ]
    assert all(b.image_url is None for b in latest)
    assert last.blocks[-1].image_name == "images" and last.blocks[-1].text == ""


@pytest.mark.sqlite_only
async def test_every_picture_line_of_the_seed_is_a_picture_block(db):
    await import_file(db, SHIPPED_THREAD)
    cur_rows = await fetch_all(db, "SELECT image_name FROM blocks WHERE kind = 'picture'"
                          " ORDER BY chapter_number, position")
    stored = [r[0] for r in cur_rows]
    for name in ("8a0ixvo.jpg", "Khrushchyov%2C_Beria_and_Khanjian.jpg", "cnt.jpg", "phoney+war.jpg",
                 "3347883.jpg"):
        assert name in stored
    cur_rows = await fetch_all(db, "SELECT COUNT(*) FROM blocks WHERE kind != 'picture' AND text GLOB"
                              " '*.jpg'")
    assert cur_rows[0][0] == 0


async def test_authors_notes_are_kept_apart(db):
    await import_file(db, SHIPPED_THREAD)
    first = await load_chapter(db, 1)
    assert [b.text[:20] for b in first.notes] == ["*I made some changes", "**Soviet involvement"]
    assert first.blocks[-2:] == first.notes
    assert all("---" not in b.text for b in first.blocks)
    third = await load_chapter(db, 3)
    assert len(third.notes) == 1 and third.notes[0].text.startswith("Okay so I changed the evetnts")
    assert not any(b.text.startswith("Okay so I changed") for b in third.story_blocks)
    assert third.story_chars == sum(len(b.text) for b in third.story_blocks)


async def test_debris_is_not_story_text(db):
    await import_file(db, SHIPPED_THREAD)
    cur_rows = await fetch_all(db, "SELECT text FROM blocks UNION ALL SELECT body FROM comments"
                          " UNION ALL SELECT quote FROM comments")
    texts = [r[0] for r in cur_rows]
    for debris in ("Last edited:", "Reactions:", "1Like", "Community Code of Conduct", "\u00a0"):
        assert not any(debris in t for t in texts), debris


async def test_comments_follow_their_chapter_and_quotes_are_recognised(db):
    await import_file(db, SHIPPED_THREAD)
    cur_rows = await fetch_all(db, "SELECT chapter_number, quote, body FROM comments ORDER BY seq")
    comments = [tuple(r) for r in cur_rows]
    assert len(comments) == 14
    before = [c for c in comments if c[0] is None]
    assert len(before) == 1  # the export lost the separators: kept whole, as one
    assert before[0][2].startswith("Hehe, no problem.") and "Welcome :)" in before[0][2]
    assert before[0][2].rstrip().endswith("too fast.") or "too slow or too" in before[0][2]
    reply = next(c for c in comments if c[2].startswith("Glad that you liked it"))
    assert reply[0] == 2 and reply[1] == "Lots of lovely detail on the Iberian situation"
    original = [c for c in comments if c[2] == "Lots of lovely detail on the Iberian situation"]
    assert original == [(1, "", "Lots of lovely detail on the Iberian situation")]
    assert not any(c[2].startswith("Internally the Soviet Union") and c[1] for c in comments)
    chained = next(c for c in comments if c[2].startswith("Well I am not an expert"))
    assert chained[1].startswith("Well we all know") and chained[0] == 3
    assert [c[0] for c in comments].count(6) == 1


def test_picture_urls_by_name_style():
    from bot.story.pictures import picture_url

    assert picture_url("workh5v.jpg") == "https://i.imgur.com/workh5v.jpg"
    assert picture_url("Khrushchyov%2C_Beria_and_Khanjian.jpg") == (
        "https://commons.wikimedia.org/wiki/Special:FilePath/Khrushchyov%2C_Beria_and_Khanjian.jpg"
    )
    assert picture_url("Khrushchyov,_Beria_and_Khanjian.jpg") == (
        "https://commons.wikimedia.org/wiki/Special:FilePath/Khrushchyov%2C_Beria_and_Khanjian.jpg"
    )
    assert picture_url("220px-%D0%9A%D0%BE%D0%BB%D1%8C_1936.JPG") == (
        "https://commons.wikimedia.org/wiki/Special:FilePath/%D0%9A%D0%BE%D0%BB%D1%8C_1936.JPG"
    )
    assert picture_url("330px-Bandera_del_bando_nacional_1936-1938.svg.png") == (
        "https://commons.wikimedia.org/wiki/Special:FilePath/Bandera_del_bando_nacional_1936-1938.svg"
    )
    for no_url in ("latest", "images", "cnt.jpg", "april-14-1931.jpg", "phoney+war.jpg",
                   "Asturias-miners.jpg"):
        assert picture_url(no_url) is None, no_url


async def test_importing_twice_changes_nothing(db):
    await import_file(db, SHIPPED_THREAD)
    before = await dump(db)
    summary = await import_file(db, SHIPPED_THREAD)
    assert (summary.chapters_added, summary.pictures_added, summary.comments_added) == (0, 0, 0)
    assert await dump(db) == before


@pytest.mark.sqlite_only
@pytest.mark.parametrize("variant", ["crlf", "bom", "bom+crlf"])
async def test_line_ends_and_bom_parse_the_same(tmp_path, variant):
    text = SEED
    if "crlf" in variant:
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    if "bom" in variant:
        data = b"\xef\xbb\xbf" + data
    assert parse_thread(data.decode("utf-8-sig")) == parse_thread(SEED)
    conn = await open_database(tmp_path / "v.db")
    try:
        await import_file(conn, write(tmp_path, "variant.txt", data))
        assert [(c.threadmark, c.title) for c in await list_chapters(conn)] == EXPECTED
    finally:
        await conn.close()


def test_other_reaction_kinds_and_counts():
    text = SEED.replace("  • 1Like\nReactions:", "  • 3Like\n  • 1Love\n  • 2Haha\nReactions:", 1)
    story = parse_thread(text)
    assert story.chapters[1].reactions == {"Like": 3, "Love": 1, "Haha": 2}
    assert story.chapters[1].forum_likes == 3
    assert [c.forum_likes for c in story.chapters] == [0, 3, 1, 1, 1, 1]


async def test_truncated_then_newer_export_adds_without_touching_releases(db, tmp_path):
    cut = SEED.index("Spanish Civil War 3\nSpanish Civil War: Workers")
    truncated = SEED[:cut + 2000]  # mid-way through the fourth chapter
    first = await import_file(db, write(tmp_path, "old.txt", truncated))
    assert first.chapters_added == 4
    await mark_released(db, guild_id=42, through=2)
    cur_rows = await fetch_all(db, "SELECT * FROM releases ORDER BY chapter_number")
    releases_before = [tuple(r) for r in cur_rows]

    newer = await import_file(db, SHIPPED_THREAD)
    assert newer.chapters_added == 2
    assert newer.chapters_updated == 1  # the fourth chapter is now complete
    assert [(c.threadmark, c.title) for c in await list_chapters(db)] == EXPECTED
    cur_rows = await fetch_all(db, "SELECT * FROM releases ORDER BY chapter_number")
    assert [tuple(r) for r in cur_rows] == releases_before
    cur_rows = await fetch_all(db, "SELECT COUNT(*) FROM comments")
    assert cur_rows[0][0] == 14


async def test_fewer_and_more_posts(db, tmp_path):
    extra = SEED.rstrip("\n") + "\n\u00a0\nEpilogue\nThe Epilogue: After the Storm.\n\n" + \
        ("A long paragraph of story. " * 40) + "\n\u00a0\n  • 2Like\nReactions:\nWhat an ending!\n"
    summary = await import_file(db, write(tmp_path, "more.txt", extra))
    chapters = await list_chapters(db)
    assert summary.chapters_added == 7 and chapters[-1].title == "The Epilogue: After the Storm."
    assert chapters[-1].forum_likes == 2 and chapters[-1].comments == 1


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.txt", b"\n \n", "file is empty"),
        ("binary.bin", bytes(range(256)) * 4, "binary file"),
        ("latin1.txt", "Azaña\n".encode("latin-1") + b"x" * 100, "not UTF-8"),
        ("chapterless.txt", "Just a comment\n\u00a0\nAnother comment\n".encode(), "no chapters found"),
    ],
)
async def test_bad_input_is_refused_and_leaves_the_database_unchanged(db, tmp_path, name, content, problem):
    await import_file(db, SHIPPED_THREAD)
    before = await dump(db)
    with pytest.raises(StoryImportError) as excinfo:
        await import_file(db, write(tmp_path, name, content))
    message = str(excinfo.value)
    assert problem in message and name in message and "\n" not in message
    assert await dump(db) == before


async def test_missing_file_is_refused(db, tmp_path):
    before = await dump(db)
    with pytest.raises(StoryImportError, match="file not found"):
        await import_file(db, tmp_path / "nope.txt")
    assert await dump(db) == before


async def test_a_failure_mid_write_rolls_back(db, monkeypatch):
    from bot.story import importer

    await import_file(db, SHIPPED_THREAD)
    before = await dump(db)

    async def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importer, "_write_comments", explode)
    newer = SEED.rstrip("\n") + "\n\u00a0\nEpilogue\nThe Epilogue.\n\n" + ("Story text goes on. " * 40) + "\n"
    story = parse_thread(newer)
    with pytest.raises(RuntimeError):
        await importer.import_story(db, story, source="x", sha256="0")
    assert await dump(db) == before


# --- hardening: every failure is one line, with the database as it was ------------------------------


async def refused(db, path: Path) -> str:
    """Import `path` into a database holding the seed; the one-line error, having checked nothing changed."""
    if not await list_chapters(db):
        await import_file(db, SHIPPED_THREAD)
    before = await dump(db)
    with pytest.raises(StoryImportError) as excinfo:
        await import_file(db, path)
    assert await dump(db) == before
    message = str(excinfo.value)
    assert "\n" not in message and str(path).replace("\n", " ") in message
    return message


async def test_a_nul_byte_late_in_the_file_makes_it_binary(db, tmp_path):
    cut = SEED.index("Border War\nThe Border War.") + 2000  # well past the first 8 KiB, inside a chapter
    data = (SEED[:cut] + "\x00" + SEED[cut:]).encode("utf-8")
    message = await refused(db, write(tmp_path, "nul.txt", data))
    assert f"binary file (a NUL byte at offset {len(SEED[:cut].encode('utf-8'))})" in message


async def test_an_absurd_reaction_count_names_the_file_and_line(db, tmp_path):
    for count in ("99999999999999999999", "9" * 5000):
        text = SEED.replace("  • 1Like\nReactions:", f"  • {count}Like\nReactions:", 1)
        line = SEED[:SEED.index("  • 1Like\nReactions:")].count("\n") + 1
        message = await refused(db, write(tmp_path, "likes.txt", text))
        assert f"likes.txt: line {line}: reaction count" in message and len(message) < 300


async def test_a_file_over_the_size_limit_is_refused_before_it_is_read(db, tmp_path):
    from bot.story.limits import MAX_FILE_BYTES

    path = tmp_path / "huge.txt"
    with path.open("wb") as file:  # sparse: all NUL bytes, so reading it first would say "binary"
        file.truncate(MAX_FILE_BYTES + 1)
    message = await refused(db, path)
    assert f"file is {MAX_FILE_BYTES + 1:,} bytes" in message and f"limit is {MAX_FILE_BYTES:,}" in message


async def test_a_file_at_the_size_limit_is_read(tmp_path):
    from bot.story.importer import read_export_bytes
    from bot.story.limits import MAX_FILE_BYTES

    path = write(tmp_path, "big.txt", SEED.encode("utf-8").ljust(MAX_FILE_BYTES, b"\n"))
    assert len(read_export_bytes(path)) == MAX_FILE_BYTES


async def test_an_overlong_line_is_refused_naming_it(db, tmp_path):
    from bot.story.limits import MAX_LINE_CHARS

    head = SEED.rstrip("\n") + "\n\u00a0\n"
    message = await refused(db, write(tmp_path, "long.txt", head + "x" * (MAX_LINE_CHARS + 1) + "\n"))
    assert f"long.txt: line {head.count(chr(10)) + 1} is {MAX_LINE_CHARS + 1:,} characters long" in message


async def test_the_chapter_limit_holds_for_the_database_too(db, tmp_path, monkeypatch):
    from bot.story import importer

    monkeypatch.setattr(importer, "MAX_CHAPTERS", 7)
    other = "\n\u00a0\n".join(
        f"Part {n}\nPart {n}: Elsewhere.\n\n" + "Another front, another story. " * 20 for n in (1, 2))
    message = await refused(db, write(tmp_path, "other.txt", other))
    assert "other.txt: the database would hold 8 chapters (the limit is 7)" in message


async def test_the_message_is_one_line_even_for_a_file_name_with_a_line_break(db, tmp_path):
    message = await refused(db, write(tmp_path, "two\nlines.txt", b"\x00binary"))
    assert "two lines.txt: binary file" in message


async def test_a_realistic_export_with_author_blocks_imports_like_the_plain_one(db, tmp_path):
    from tests.unit.test_story_parser import realistic_export

    summary = await import_file(db, write(tmp_path, "xenforo.txt", realistic_export()))
    chapters = await list_chapters(db)
    assert summary.chapters_added == 2 and [c.threadmark for c in chapters] == ["Chapter 1", "Border War"]
    assert [c.forum_likes for c in chapters] == [1, 1] and [c.comments for c in chapters] == [1, 1]
    assert not any("Badges" in b.text for b in (await load_chapter(db, 1)).blocks)
