"""The mention index (matching rules, counts pinned on the seed, rebuilds) and the look-up's spoiler
safety."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.characters.index import MentionMatcher, ensure_mention_index, rebuild_mention_index
from bot.characters.lookup import CastView, CharacterService, Directory
from bot.characters.schema import SHIPPED_CAST, Cast, CastMember, load_cast, parse_cast
from bot.characters.text import search_key
from bot.config import SHIPPED_THREAD
from bot.storage import characters as store
from bot.storage import open_database
from bot.storage.database import Database
from bot.storage.sql import fetch_all, fetch_value
from bot.storage.transaction import transaction
from bot.story.importer import import_file
from tests.helpers import SEED_CHAPTERS, mark_released

pytestmark = pytest.mark.both_backends

# Counted by reading the seed chapters (title, text, captions and notes), whole words only.
PINNED = {
    # Ch. 6: 18 "Stalin" + 2 "gravedigger of the revolution".
    "stalin": {1: 7, 2: 2, 3: 31, 4: 4, 5: 4, 6: 20},
    "rokossovsky": {1: 2, 2: 12, 3: 4, 4: 6, 5: 1, 6: 3},  # ch. 6 includes the typo "Rokossovky"
    "franco": {1: 5, 2: 7, 4: 6, 6: 1},  # ch. 2 includes "Generalísimo" and "Caudillo"
    # Never "Trotskyist(s)"; ch. 3 includes "the permament revolutionary".
    "trotsky": {1: 2, 3: 6, 4: 1, 6: 2},
    "tukhachevsky": {1: 1, 3: 3, 6: 4},  # ch. 3 "Marshl Tukhachevsky", ch. 6 lowercase "tukhachevsky"
    "hitler": {6: 4},  # not "Hitler-Jugend" (ch. 3) nor the "Leibstandarte Adolf Hitler" (twice in ch. 6)
    "mussolini": {1: 1, 4: 1, 6: 5},
    "mao": {3: 3},
    "stern": {2: 2},  # "Stern" and "Kleber"
    "swierczewski": {2: 2},  # "Świerczewsk" and "Walter"
    "azana": {1: 2},  # spelled "Azanã"
    "primo-de-rivera": {1: 3},  # "General de Rivera", "De Rivera", "son of de Rivera"
    "diego-rivera": {3: 1},
    "diaz": {1: 1, 4: 2},  # ch. 4: "José getting to work." and "José Díaz"
    "ginesta": {2: 2},
    "zhukov": {5: 6},
    "khrushchev": {3: 8},
    "guderian": {6: 3},  # includes the typo "Guderiand"
}


@pytest.fixture(scope="module")
def cast() -> Cast:
    return load_cast()


@pytest.fixture
async def seeded(db: Database) -> Database:
    await import_file(db, SHIPPED_THREAD)
    return db


async def counts_by_chapter(conn: Database, key: str) -> dict[int, int]:
    cur_rows = await fetch_all(conn, "SELECT chapter_number, SUM(count) FROM character_mentions"
                            " WHERE character_key = ? GROUP BY chapter_number ORDER BY chapter_number",
                            (key,))
    return {row[0]: row[1] for row in cur_rows}


async def index_rows(conn: Database) -> list[tuple]:
    rows = []
    for table in ("characters", "character_aliases", "character_notes", "character_mentions"):
        cur_rows = await fetch_all(conn, f"SELECT * FROM {table} ORDER BY 1, 2, 3")
        rows += [(table, *r) for r in cur_rows]
    return rows


# --- matching rules ------------------------------------------------------------------------------

SMALL = """
sides = ["A"]
[[character]]
key = "stern"
name = "Manfred Stern"
side = "A"
aliases = [{ text = "Stern", case_sensitive = true }, "Kleber"]
[[character]]
key = "mao"
name = "Mao Zedong"
side = "A"
aliases = [{ text = "Mao", case_sensitive = true }]
[[character]]
key = "stalin"
name = "Joseph Stalin"
side = "A"
aliases = ["Stalin"]
[[character]]
key = "hitler"
name = "Adolf Hitler"
side = "A"
aliases = ["Hitler"]
not_matching = ["Hitler-Jugend", "Leibstandarte Adolf Hitler"]
[[character]]
key = "azana"
name = "Manuel Azaña"
side = "A"
aliases = ["Azaña"]
[[character]]
key = "primo"
name = "Miguel Primo de Rivera"
side = "A"
aliases = ["de Rivera"]
[[character]]
key = "diego"
name = "Diego Rivera"
side = "A"
[[character]]
key = "ginesta"
name = "Marina Ginestà"
side = "A"
aliases = [{ text = "Marina", case_sensitive = true }]
[[character]]
key = "cannon"
name = "James P. Cannon"
side = "A"
aliases = [{ text = "Cannon", case_sensitive = true }]
"""


def counted(text: str) -> dict[str, int]:
    matcher = MentionMatcher(parse_cast(SMALL))
    totals: dict[str, int] = {}
    for (key, _), n in matcher.count(text).items():
        totals[key] = totals.get(key, 0) + n
    return totals


@pytest.mark.parametrize(("text", "expected"), [
    ("The stern of the ship. A stern look.", {}),
    ("Stern's brigade held; Kleber too. KLEBER!", {"stern": 3}),
    ("Maoists, Maori and Maoism; a mao jacket.", {}),
    ("today they take Mao, tomorrow Mao's army", {"mao": 2}),
    ("Stalinist purges and anti-Stalinism", {}),
    ("STALIN, stalin and Stalin's", {"stalin": 3}),
    ("the Hitler-Jugend and the Leibstandarte Adolf Hitler; Hitler decided", {"hitler": 1}),
    ("AZAÑA, azana, Azanã and Manuel Azanã", {"azana": 4}),
    ("General de Rivera died; the painter Diego Rivera lived", {"primo": 1, "diego": 1}),
    ("a marina for boats; MARINA GINESTÀ; Marina smiled", {"ginesta": 2}),
    ("cannon fire, a Cannon-ball; James P.\nCannon wrote", {"cannon": 2}),
    ("", {}),
])
def test_matching_rules(text: str, expected: dict[str, int]) -> None:
    assert counted(text) == expected


def test_the_matcher_records_which_spelling_was_used() -> None:
    cast = parse_cast(SMALL)
    found = MentionMatcher(cast).count("Kleber met Manfred Stern; Stern left.")
    stern = cast.member("stern")
    assert {stern.spellings[pos].text: n for (key, pos), n in found.items()} == \
        {"Kleber": 1, "Manfred Stern": 1, "Stern": 1}


# --- the seed's index ----------------------------------------------------------------------------

async def test_seed_mentions_are_pinned_per_chapter(seeded: Database) -> None:
    for key, expected in PINNED.items():
        assert await counts_by_chapter(seeded, key) == expected, key


async def test_every_seed_note_belongs_to_a_chapter_that_names_them(seeded: Database,
                                                                   cast: Cast) -> None:
    for member in cast.members:
        assert set(member.notes) == set(await counts_by_chapter(seeded, member.key)), member.key


async def test_rebuilding_is_idempotent_and_reimport_changes_nothing(seeded: Database) -> None:
    before = await index_rows(seeded)
    assert before
    async with transaction(seeded):
        summary = await rebuild_mention_index(seeded)
    assert summary.chapters == SEED_CHAPTERS
    assert summary.mentions == await fetch_value(seeded, "SELECT SUM(count) FROM character_mentions")
    assert await index_rows(seeded) == before
    await import_file(seeded, SHIPPED_THREAD)
    assert await index_rows(seeded) == before


async def test_start_rebuilds_only_when_the_cast_or_story_changed(seeded: Database,
                                                                  tmp_path: Path) -> None:
    assert await ensure_mention_index(seeded) is None  # the import just built it
    changed = tmp_path / "cast.toml"
    changed.write_text(SHIPPED_CAST.read_text(encoding="utf-8") + """
[[character]]
key = "marianne"
name = "Marianne"
side = "France"
""", encoding="utf-8")
    summary = await ensure_mention_index(seeded, changed)
    assert summary is not None and summary.cast_sha256 == load_cast(changed).sha256
    assert await counts_by_chapter(seeded, "marianne") == {1: 1}  # "Marianne is that you?"
    assert await ensure_mention_index(seeded, changed) is None
    # the story changed behind the index's back (an edit without the importer): rebuilt at start
    await seeded.execute("UPDATE blocks SET text = text || ' Marianne again.'"
                         " WHERE chapter_number = 2 AND position = 1")
    assert await ensure_mention_index(seeded, changed) is not None
    assert await counts_by_chapter(seeded, "marianne") == {1: 1, 2: 1}


async def test_a_failed_import_leaves_the_index_as_it_was(seeded: Database,
                                                          tmp_path: Path) -> None:
    before = await index_rows(seeded)
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\x01binary")
    with pytest.raises(ValueError):
        await import_file(seeded, broken)
    assert await index_rows(seeded) == before


# --- spoiler safety of the look-up ---------------------------------------------------------------

def all_spellings(cast: Cast) -> list[str]:
    return [a.text for m in cast.members for a in m.spellings] + ["Rokosovsky", "Vasily", "rivera", "st", "",
                                                                   "Generalissimo", "the Caudillo", "jose"]


async def revealed_by_text(conn: Database, cast: Cast, released: int) -> dict[str, set[str]]:
    """Per character, the spellings a guild at `released` may see: used by a released chapter, declared
    `since` a released chapter, or a plain spelling the text never uses (shown with the character)."""
    cur_rows = await fetch_all(conn, "SELECT character_key, alias_position, MIN(chapter_number)"
                            " FROM character_mentions GROUP BY character_key, alias_position")
    first_use = {(r[0], r[1]): r[2] for r in cur_rows}
    allowed = {}
    for member in cast.members:
        allowed[member.key] = {
            a.text for pos, a in enumerate(member.spellings)
            if pos == 0 or min(x for x in (first_use.get((member.key, pos)), a.since, 10**9) if x) <= released
            or ((member.key, pos) not in first_use and a.since is None)
        }
    return allowed


async def test_nothing_shown_comes_from_an_unreleased_chapter(seeded: Database,
                                                              cast: Cast) -> None:
    service = CharacterService(seeded)
    firsts = {m.key: min((await counts_by_chapter(seeded, m.key)) or {99: 0}) for m in cast.members}
    by_name = {m.name: m for m in cast.members}
    for released in range(SEED_CHAPTERS + 1):
        guild = 500 + released
        await mark_released(seeded, guild, released)
        visible = {m.name for m in cast.members if firsts[m.key] <= released}
        allowed = await revealed_by_text(seeded, cast, released)
        for query in all_spellings(cast):
            for suggestion in await service.suggest(guild, query):
                member = by_name[suggestion.value]
                assert suggestion.value in visible, (released, query, suggestion)
                if suggestion.label != suggestion.value:
                    assert suggestion.label[len(member.name) + 2:-1] in allowed[member.key]
            result = await service.look_up(guild, query)
            if result.kind == "not_found":
                assert set(result.closest) <= visible, (released, query)
            elif result.kind == "found":
                card = result.card
                member = by_name[card.name]
                assert card.name in visible and set(card.aliases) <= allowed[member.key], (released, query)
                assert card.first_appearance.number <= released
                assert all(ref.number <= released for ref, _ in card.notes + card.mentions)
                assert card.first_appearance.url is not None


@pytest.mark.sqlite_only
async def test_an_unreleased_character_is_answered_exactly_like_one_that_does_not_exist(
        seeded: Database, cast: Cast, tmp_path: Path) -> None:
    """For each release level, the answers equal those of a cast that lacks everyone not met yet."""
    firsts = {m.key: min((await counts_by_chapter(seeded, m.key)) or {99: 0}) for m in cast.members}
    queries = all_spellings(cast)
    for released in range(SEED_CHAPTERS + 1):
        # plus one person the story never names: a cast with nobody in it is a story with no cast (NoCast)
        smaller = dataclasses.replace(cast, members=(
            *(m for m in cast.members if firsts[m.key] <= released),
            CastMember("nobody", "Qwxzyv Nobody", cast.sides[0])))
        other = await open_database(tmp_path / f"without-{released}.db")
        try:
            await import_file(other, SHIPPED_THREAD)
            await other.execute("BEGIN")
            await rebuild_mention_index(other, smaller)
            await other.execute("COMMIT")
            await mark_released(seeded, 700, released)
            await mark_released(other, 700, released)
            full, reduced = CharacterService(seeded), CharacterService(other)
            for query in queries:
                assert await full.look_up(700, query) == await reduced.look_up(700, query), (released, query)
                assert await full.suggest(700, query) == await reduced.suggest(700, query), (released, query)
        finally:
            await other.close()
        await seeded.execute("DELETE FROM release_parts WHERE guild_id = 700")
        await seeded.execute("DELETE FROM releases WHERE guild_id = 700")


async def test_aliases_revealed_later_are_hidden_and_unsearchable_until_then(
        seeded: Database) -> None:
    service = CharacterService(seeded)
    await mark_released(seeded, 1, 1)
    await mark_released(seeded, 2, 2)
    for alias in ("Caudillo", "Generalísimo", "Generalissimo"):
        assert (await service.look_up(1, alias)).kind == "not_found"
        found = await service.look_up(2, alias)
        assert found.kind == "found" and found.card.name == "Francisco Franco"
    franco_1 = (await service.look_up(1, "Franco")).card
    franco_2 = (await service.look_up(2, "Franco")).card
    assert franco_1.aliases == () and "Caudillo" in franco_2.aliases and "Generalissimo" in franco_2.aliases
    assert [ref.number for ref, _ in franco_1.notes] == [1] and franco_1.total_mentions == 5
    assert [ref.number for ref, _ in franco_2.notes] == [1, 2] and franco_2.total_mentions == 12


async def test_the_service_notices_a_rebuild(seeded: Database) -> None:
    service = CharacterService(seeded)
    await mark_released(seeded, 9, SEED_CHAPTERS)
    assert (await service.look_up(9, "Marianne")).kind == "not_found"
    cast = load_cast()
    extra = parse_cast(SHIPPED_CAST.read_text(encoding="utf-8") + '\n[[character]]\nkey = "marianne"\n'
                       'name = "Marianne"\nside = "France"\n')
    assert len(extra.members) == len(cast.members) + 1
    async with transaction(seeded):
        await rebuild_mention_index(seeded, extra)
    assert (await service.look_up(9, "Marianne")).kind == "found"


async def test_views_rank_prefixes_first_and_cap_at_25(seeded: Database) -> None:
    directory = Directory.from_snapshot(await store.load_snapshot(seeded))
    view: CastView = directory.view(SEED_CHAPTERS)
    assert len(view.rank("")) == 25 and view.rank("")[0].character.key == "stalin"  # most mentioned first
    assert view.rank("roko")[0].character.key == "rokossovsky"
    assert [s.character.key for s in view.rank("vasily")][:2] == ["blyukher", "kuznetsov"]
    assert view.rank("swierczewski")[0].character.key == "swierczewski"
    assert all(search_key(s.spelling) for s in view.rank("a"))
    assert directory.view(SEED_CHAPTERS) is view  # cached per release level


# --- answers stay within Discord's limits ----------------------------------------------------------

def test_a_huge_card_and_roster_fit_discord_limits() -> None:
    from bot.characters.card import embed_size, fit, roster_embed
    from bot.characters.lookup import ChapterRef, CharacterCard, Roster, RosterEntry

    def escape(text: str) -> str:
        return text.replace("*", "\\*").replace("_", "\\_")

    refs = [ChapterRef(n, f"Title [{n}] " + "*" * 100, f"https://discord.com/channels/1/2/{n}")
            for n in range(1, 501)]
    card = CharacterCard("N" * 300, "S" * 2000, tuple(f"alias_{i}" for i in range(400)),
                         tuple((r, "note " + "_" * 800) for r in refs), refs[0], tuple((r, 7) for r in refs),
                         500)
    from bot.characters.card import character_embed
    embed = character_embed(card, escape)
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
    assert all(len(f["value"]) <= 1024 and len(f["name"]) <= 256 for f in embed["fields"])
    assert embed_size(embed) <= 6000 and "more chapters" in embed["description"]
    assert "… and" in embed["fields"][3]["value"] and embed["fields"][3]["name"] == "Mentioned 3500 times"
    assert not fit("a*b*c" * 10, 20, escape).endswith("\\…")  # never cut inside an escape
    roster = Roster(500, tuple(RosterEntry("Name_" * 20, f"Side {i // 7}", 1, i) for i in range(2000)))
    page, shown, pages = roster_embed(roster, 999, escape)
    assert (shown, pages) == (pages - 1, 167) and embed_size(page) <= 6000
    assert all(len(f["value"]) <= 1024 for f in page["fields"])


async def test_a_story_with_no_cast_answers_no_cast_whatever_is_typed(seeded: Database) -> None:
    """An empty cast is not "no character by that name": the card says the story has none yet."""
    from bot.characters.card import NO_CAST, NoSuchCharacter, answer, roster_embed
    from bot.characters.lookup import NoCast

    async with seeded.transaction():
        await store.replace_index(seeded, characters=[], aliases=[], notes=[], mentions=[], cast_sha256="",
                                  story_sha256="")
    await mark_released(seeded, 700, SEED_CHAPTERS)
    service = CharacterService(seeded)
    for typed in ("Stalin", "", "x" * 500):
        assert await service.look_up(700, typed) == NoCast()
        with pytest.raises(NoSuchCharacter) as refused:
            answer(await service.look_up(700, typed))
        assert refused.value.message == NO_CAST
    assert await service.suggest(700, "Sta") == []
    roster = await service.roster(700)
    assert not roster.has_cast and not roster.entries
    assert roster_embed(roster, 0)[0]["description"] == NO_CAST
