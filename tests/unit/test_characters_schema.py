"""The shipped cast file is valid and complete; the validator names every kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.characters.schema import SHIPPED_CAST, CastError, load_cast, parse_cast
from bot.characters.text import search_key
from tests.helpers import SEED_CHAPTERS

# The people issue 5 names; every one must be in the cast.
REQUIRED = {
    "trotsky", "stalin", "rokossovsky", "tukhachevsky", "khrushchev", "molotov", "voroshilov", "zhukov",
    "blyukher", "kuznetsov", "franco", "sanjurjo", "diaz", "largo-caballero", "azana", "alcala-zamora",
    "primo-de-rivera", "alfonso-xiii", "lister", "swierczewski", "stern", "ginesta", "orwell", "mussolini",
    "hitler", "goring", "guderian", "dietrich", "chamberlain", "daladier", "mao", "chiang", "diego-rivera",
    "kahlo", "chen-duxiu", "cannon",
}

MINIMAL = """
sides = ["Reds", "Whites"]

[[character]]
key = "a"
name = "Anna Alpha"
side = "Reds"
aliases = ["Alpha"]
[character.notes]
1 = "First seen."
"""


def problems(text: str) -> str:
    with pytest.raises(CastError) as caught:
        parse_cast(text)
    return str(caught.value)


def test_shipped_cast_is_valid_and_covers_the_issue_list() -> None:
    cast = load_cast()
    keys = {m.key for m in cast.members}
    assert len(cast.members) >= 35
    assert REQUIRED <= keys, f"missing: {sorted(REQUIRED - keys)}"
    assert len(cast.sha256) == 64
    for member in cast.members:
        assert member.side in cast.sides
        assert member.notes, f"{member.key} has no notes"
        assert set(member.notes) <= set(range(1, SEED_CHAPTERS + 1)), member.key


def test_shipped_cast_has_the_spellings_the_text_uses() -> None:
    cast = load_cast()
    spellings = {m.key: {search_key(a.text) for a in m.spellings} for m in cast.members}
    # typos and aliases straight from the chapters ("Azanã" folds to the same key as "Azaña")
    for key, spelling in [("azana", "Azanã"), ("swierczewski", "Świerczewsk"), ("swierczewski", "Walter"),
                          ("stern", "Kleber"), ("rokossovsky", "Rokossovky"), ("guderian", "Guderiand"),
                          ("franco", "Caudillo"), ("franco", "Generalísimo"), ("khrushchev", "Khrushchyov"),
                          ("dobbs", "Farrell Hobbs"), ("primo-de-rivera", "de Rivera"),
                          ("trotsky", "permament revolutionary")]:
        assert search_key(spelling) in spellings[key], (key, spelling)
    # ordinary words are only matched with their capital
    sensitive = {a.text for m in cast.members for a in m.aliases if a.case_sensitive}
    assert {"Stern", "Marina", "Mao", "Cannon", "Franco", "Walter", "Chamberlain"} <= sensitive


def test_a_minimal_file_parses_and_normalises_notes() -> None:
    cast = parse_cast(MINIMAL.replace('"First seen."', '"First   seen,\\n  twice."'))
    member = cast.member("a")
    assert member.spellings[0].text == "Anna Alpha" and member.aliases[0].text == "Alpha"
    assert member.notes == {1: "First seen, twice."}


@pytest.mark.parametrize(("mutation", "expected"), [
    (lambda t: t.replace('sides = ["Reds", "Whites"]', ""), "`sides` must be a non-empty list"),
    (lambda t: t.replace('side = "Reds"', 'side = "Greens"'),
     "side 'Greens' is not one of the file's `sides`"),
    (lambda t: t.replace('key = "a"', 'key = "Has Spaces"'), "`key` must be lowercase letters"),
    (lambda t: t.replace('name = "Anna Alpha"', 'name = ""'), "`name` must be a string"),
    (lambda t: t.replace('name = "Anna Alpha"', f'name = "{"x" * 101}"'), "at most 100"),
    (lambda t: t.replace('aliases = ["Alpha"]', 'aliases = "Alpha"'), "`aliases` must be a list"),
    (lambda t: t.replace('aliases = ["Alpha"]', 'aliases = [{ text = "Alpha", since = 0 }]'),
     "`since` must be"),
    (lambda t: t.replace('aliases = ["Alpha"]', 'aliases = [{ text = "Alpha", case_sensitive = "yes" }]'),
     "`case_sensitive` must be true or false"),
    (lambda t: t.replace('aliases = ["Alpha"]', 'aliases = [{ txt = "Alpha" }]'), "unknown key 'txt'"),
    (lambda t: t.replace('aliases = ["Alpha"]', 'aliases = ["Alpha", "ALPHA"]'),
     "repeats another of its spellings"),
    (lambda t: t.replace('aliases = ["Alpha"]', 'aliases = ["Alpha"]\nnickname = "Al"'),
     "unknown key 'nickname'"),
    (lambda t: t.replace('aliases = ["Alpha"]', 'aliases = ["Alpha"]\nnot_matching = ["Beta Street"]'),
     "contains none of the character's names"),
    (lambda t: t.replace('1 = "First seen."', 'one = "First seen."'),
     "note key 'one' is not a chapter number"),
    (lambda t: t.replace('1 = "First seen."', '1 = "   "'), "must be non-empty text"),
    (lambda t: t.replace('1 = "First seen."', f'1 = "{"x" * 901}"'), "at most 900"),
    (lambda t: "extra = 1\n" + t, "unknown top-level key 'extra'"),
    (lambda t: t.replace("[[character]]", "[[characters]]"), "no [[character]] tables"),
    (lambda t: t + '\n[[character]]\nkey = "a"\nname = "Other"\nside = "Whites"\n', "key 'a' is used twice"),
    (lambda t: t + '\n[[character]]\nkey = "b"\nname = "Bob"\nside = "Whites"\naliases = ["álpha"]\n',
     "'álpha' is already a spelling of 'a'"),
    (lambda t: t + "\n[[character", "not valid TOML"),
])
def test_each_mistake_is_named(mutation, expected: str) -> None:
    assert expected in problems(mutation(MINIMAL))


def test_every_problem_is_listed_at_once() -> None:
    text = MINIMAL.replace('side = "Reds"', 'side = "Greens"').replace("1 = ", "x = ")
    message = problems(text)
    assert "2 problem(s)" in message and "Greens" in message and "'x'" in message


def test_unreadable_files_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CastError, match="cannot read the cast file"):
        load_cast(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CastError, match="not UTF-8"):
        load_cast(binary)


def test_the_shipped_path_is_the_data_directory() -> None:
    assert SHIPPED_CAST.name == "cast.toml" and SHIPPED_CAST.parent.name == "data" and SHIPPED_CAST.is_file()
