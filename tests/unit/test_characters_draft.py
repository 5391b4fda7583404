"""`aar-bot cast draft`'s name finder and its cast file: small texts first, then the shipped story."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.characters.draft import DraftCharacter, draft_cast
from bot.characters.draft_file import draft_file, toml_string
from bot.characters.index import MentionMatcher
from bot.characters.schema import load_cast, parse_cast
from bot.config import SHIPPED_THREAD
from bot.story.parser import parse_thread

CH1 = ("Despite the cold, the people of Madrid waited. In March Leon Trotsky arrived in Madrid, and Trotsky "
       "spoke at once. Following the speech, the Soviet envoys left. The Soviets were angry with Trotskiy.\n"
       "Meanwhile Marshal Tukhachevsky drilled the Army. The army was tired.")
CH2 = ("Then Tukhachevskii wrote to Trotsky. However the Spanish press said nothing. Later Franco "
       "met Trotskiy in Madrid. Nobody saw Orlov.")
CH3 = "After a while Franco, Trotsky and Tukhachevsky met again. Franco laughed."
SMALL = [(1, CH1), (2, CH2), (3, CH3)]


def by_key(characters: list[DraftCharacter]) -> dict[str, DraftCharacter]:
    return {c.key: c for c in characters}


def spellings(character: DraftCharacter) -> list[str]:
    return [character.name, *(a.text for a in character.aliases)]


def test_spelling_variants_are_one_character_named_by_its_fullest_spelling() -> None:
    found = by_key(draft_cast(SMALL))
    assert spellings(found["trotsky"]) == ["Leon Trotsky", "Trotsky", "Trotskiy"]
    assert spellings(found["tukhachevsky"]) == ["Tukhachevsky", "Tukhachevskii"]  # "Marshal" is not kept
    assert found["trotsky"].mentions == 6 and found["trotsky"].chapters == (1, 2, 3)


def test_sentence_starts_stop_words_places_groups_and_one_off_names_are_left_out() -> None:
    found = draft_cast(SMALL)
    assert [c.key for c in found] == ["trotsky", "tukhachevsky", "franco"]
    every = {s for c in found for s in spellings(c)}
    # "Despite", "Following", "March", "Meanwhile": sentence starts and stop words; "Army" is also written
    # "army"; "Soviet" has a capitalised plural; "Spanish" is a demonym; Madrid a place; Orlov named once
    for word in ("Despite", "Following", "March", "Meanwhile", "Army", "Soviet", "Spanish", "Madrid",
                 "Orlov"):
        assert not any(word in s for s in every), word


def test_first_chapter_is_the_first_that_names_them_by_any_spelling() -> None:
    found = by_key(draft_cast(SMALL))
    assert (found["trotsky"].first_chapter, found["tukhachevsky"].first_chapter) == (1, 1)
    assert found["franco"].first_chapter == 2 and found["franco"].chapters == (2, 3)
    # the chapters' order in the input does not matter
    assert by_key(draft_cast(list(reversed(SMALL))))["franco"].first_chapter == 2
    # a sentence-initial use counts once the word is known as a name: here chapter 1 names Franco first
    early = draft_cast([(1, "Franco smiled."), *SMALL[1:]])
    assert by_key(early)["franco"].first_chapter == 1


def test_a_name_must_recur_three_times_or_in_two_chapters() -> None:
    once_each = [(1, "We met Ivan Petrov there."), (2, "Later we saw Petrov again.")]
    assert [c.name for c in draft_cast(once_each)] == ["Ivan Petrov"]
    twice = [(1, "We met Petrov there, and later Petrov again.")]
    assert draft_cast(twice) == []
    assert [c.key for c in draft_cast(twice, min_mentions=2)] == ["petrov"]


def test_short_names_are_not_fuzzily_merged() -> None:
    text = "We met Mao and then Max. Later Mao and Max spoke, and Mao left before Max."
    assert sorted(c.key for c in draft_cast([(1, text)])) == ["mao", "max"]


def test_names_in_any_script_get_valid_keys() -> None:
    texts = [(1, "Вчера пришла Ольга Петрова, и потом Петрова ушла."),
             (2, "Снова пришла Петрова. А также Иван.")]
    found = draft_cast(texts)
    assert [(c.key, c.name, [a.text for a in c.aliases]) for c in found] == \
        [("character", "Ольга Петрова", ["Петрова"])]
    assert parse_cast(draft_file(found)).members[0].key == "character"


def test_the_draft_file_loads_as_a_cast_with_every_spelling() -> None:
    characters = draft_cast(SMALL)
    text = draft_file(characters)
    cast = parse_cast(text, "draft.toml")
    assert cast.sides == ("Unsorted",)
    assert [(m.key, m.name, [a.text for a in m.aliases]) for m in cast.members] == \
        [(c.key, c.name, [a.text for a in c.aliases]) for c in characters]
    assert "# first in chapter 2; named 3 times in chapters 2, 3\n[[character]]\nkey = \"franco\"" in text


def test_toml_strings_survive_quotes_backslashes_and_control_characters() -> None:
    import tomllib

    for value in ['Say "hi"', "back\\slash", "tab\tand\nnewline", "del\x7f", "Azaña"]:
        assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value


@pytest.fixture(scope="module")
def shipped() -> list[tuple[int, str]]:
    story = parse_thread(Path(SHIPPED_THREAD).read_text(encoding="utf-8"))
    return [(number, "\n".join([chapter.title, *(b.text for b in chapter.blocks)]))
            for number, chapter in enumerate(story.chapters, 1)]


def test_the_shipped_story_drafts_its_main_characters_and_few_non_names(shipped) -> None:
    found = by_key(draft_cast(shipped))
    for key in ("stalin", "rokossovsky", "franco", "trotsky", "tukhachevsky", "mussolini", "khrushchev",
                "hitler", "mao", "zhukov", "sanjurjo", "diaz"):
        assert key in found, key
    assert spellings(found["rokossovsky"]) == ["Konstantin Rokossovsky", "Rokossovsky", "Rokossovky"]
    assert spellings(found["franco"]) == ["Francisco Franco", "Franco"]
    every = {s for c in found.values() for s in spellings(c)}
    for word in ("Spain", "Soviet", "Soviets", "Japanese", "USSR", "Army", "Republic", "Germany", "Madrid",
                 "Nationalists", "Trotskyist", "December", "International"):
        assert word not in every, word
    assert len(found) <= 25  # a list an editor can go through, not every proper noun


def test_shipped_first_chapters_are_where_the_mention_index_first_finds_them(shipped) -> None:
    characters = draft_cast(shipped)
    by_hand = {"stalin": 1, "rokossovsky": 1, "franco": 1, "trotsky": 1, "tukhachevsky": 1, "khrushchev": 3,
               "mao": 3, "zhukov": 5}
    assert {c.key: c.first_chapter for c in characters if c.key in by_hand} == by_hand
    # the draft, loaded, is indexed exactly as it says: each person first found in their first_chapter
    cast = parse_cast(draft_file(characters))
    matcher = MentionMatcher(cast)
    first: dict[str, int] = {}
    for number, text in shipped:
        for key, _ in matcher.count(text):
            first.setdefault(key, number)
    assert first == {c.key: c.first_chapter for c in characters}
    # and agrees with the curated cast wherever both name the person
    curated = MentionMatcher(load_cast())
    curated_first: dict[str, int] = {}
    for number, text in shipped:
        for key, _ in curated.count(text):
            curated_first.setdefault(key, number)
    assert all(curated_first[key] == by_hand[key] for key in by_hand)
