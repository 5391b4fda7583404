"""`bot.welcome`: where the welcome goes, and that it pings no one."""

from __future__ import annotations

from bot.welcome import WELCOME, Place, welcome_channel


def test_the_system_channel_when_the_bot_can_post_there() -> None:
    places = [Place(1, 0, True), Place(2, 1, True)]
    assert welcome_channel(places, 2) == 2


def test_else_the_first_channel_it_can_post_in() -> None:
    places = [Place(5, 2, True), Place(1, 0, False), Place(3, 1, True)]
    assert welcome_channel(places, 1) == 3
    assert welcome_channel(places, None) == 3
    assert welcome_channel([Place(9, 0, True), Place(4, 0, True)], None) == 4  # same position: by id


def test_nowhere_when_it_can_post_nowhere() -> None:
    assert welcome_channel([Place(1, 0, False)], 1) is None
    assert welcome_channel([], None) is None


def test_the_welcome_names_the_two_commands_and_pings_no_one() -> None:
    assert "`/aar setup`" in WELCOME and "`/chapter next`" in WELCOME
    assert "@" not in WELCOME and "<" not in WELCOME
