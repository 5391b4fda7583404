"""`/aar setup`'s channel-kind options as `bot.guild_setup` validates them: the forum tag, the author's
name (Discord's webhook naming rules) and avatar, and turning the author webhook on or off."""

from __future__ import annotations

import pytest

from bot.guild_setup import SetupError, setup_changes


def test_forum_tag_is_a_tag_name_and_off_removes_it() -> None:
    assert setup_changes(forum_tag="  Chapter ") == {"forum_tag": "Chapter"}
    assert setup_changes(forum_tag="off") == {"forum_tag": None}
    with pytest.raises(SetupError, match="at most 20"):
        setup_changes(forum_tag="x" * 21)
    with pytest.raises(SetupError):
        setup_changes(forum_tag="   ")


@pytest.mark.parametrize("name", ["", " ", "x" * 81, "Clyde", "the DISCORD author"])
def test_author_names_discord_refuses_are_refused_with_the_reason(name: str) -> None:
    with pytest.raises(SetupError) as refused:
        setup_changes(author_name=name)
    assert "80 characters" in str(refused.value) or "does not let a webhook" in str(refused.value)


def test_author_name_avatar_and_switch() -> None:
    assert setup_changes(author_name="  Kurt   the  Author ", author_webhook=True,
                         author_avatar_url="https://example.invalid/a.png") == {
        "author_name": "Kurt the Author", "author_webhook": 1,
        "author_avatar_url": "https://example.invalid/a.png"}
    assert setup_changes(author_webhook=False, author_avatar_url="off") == {"author_webhook": 0,
                                                                             "author_avatar_url": None}
    with pytest.raises(SetupError, match="https://"):
        setup_changes(author_avatar_url="http://example.invalid/a.png")
