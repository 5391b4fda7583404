"""A server's set-up: validating what a moderator types into `/aar setup`, and who counts as a moderator.

Discord-free.  Only the options given change; the rest keep their values (`update_guild_settings`
merges).  The like emoji and the hall of fame are stored here for the likes feature, which reads them
from the settings.  The moderator rule lives beside the settings because the moderator role is one of
them; the bot enforces it itself, since Discord's command visibility is only a hint.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.chapters.when import ScheduleError, resolve_zone
from bot.errors import UserError
from bot.likes.emoji import parse_setting

MAX_EMOJI_TEXT = 100
MAX_THRESHOLD = 1000
MAX_TAG_NAME = 20  # Discord's limit on a forum tag's name
MAX_AUTHOR_NAME = 80  # a webhook message's username: 1-80 characters...
FORBIDDEN_AUTHOR_WORDS = ("clyde", "discord")  # ...that Discord refuses to show if they contain these
CLEAR = {"off", "none", "-"}  # typed for `forum_tag` (or the avatar) to remove it


class SetupError(UserError, ValueError):
    """An option value the bot cannot use; the message says which and what works."""


def setup_changes(*, story_channel_id: int | None = None, moderator_role_id: int | None = None,
                  timezone: str | None = None, discussion_threads: bool | None = None,
                  like_emoji: str | None = None, hall_of_fame_channel_id: int | None = None,
                  hall_of_fame_threshold: int | None = None,
                  alert_role_id: int | None = None, forum_tag: str | None = None,
                  author_webhook: bool | None = None, author_name: str | None = None,
                  author_avatar_url: str | None = None,
                  follow_edits: bool | None = None) -> dict[str, object]:
    """The settings columns to change, validated; options left out (None) are not in the result."""
    changes: dict[str, object] = {}
    if story_channel_id is not None:
        changes["story_channel_id"] = story_channel_id
    if moderator_role_id is not None:
        changes["moderator_role_id"] = moderator_role_id
    if timezone is not None:
        try:
            changes["timezone"] = resolve_zone(timezone)
        except ScheduleError as exc:
            raise SetupError(str(exc)) from None
    if discussion_threads is not None:
        changes["discussion_threads"] = int(discussion_threads)
    if like_emoji is not None:
        text = like_emoji.strip()
        if not text or len(text) > MAX_EMOJI_TEXT or any(ch.isspace() for ch in text):
            raise SetupError("The like emoji must be one emoji, e.g. `👍`, `❤️` or a server emoji like "
                             "`<:salute:123456789012345678>`.")
        parse_setting(text)
        changes["like_emoji"] = text
    if hall_of_fame_channel_id is not None:
        changes["hall_of_fame_channel_id"] = hall_of_fame_channel_id
    if hall_of_fame_threshold is not None:
        if not 1 <= hall_of_fame_threshold <= MAX_THRESHOLD:
            raise SetupError(f"The hall of fame threshold must be between 1 and {MAX_THRESHOLD} likes, "
                             "e.g. `5`.")
        changes["hall_of_fame_threshold"] = hall_of_fame_threshold
    if alert_role_id is not None:
        changes["alert_role_id"] = alert_role_id
    if forum_tag is not None:
        changes["forum_tag"] = _forum_tag(forum_tag)
    if author_name is not None:
        changes["author_name"] = author_display_name(author_name)
    if author_avatar_url is not None:
        changes["author_avatar_url"] = _avatar(author_avatar_url)
    if author_webhook is not None:
        changes["author_webhook"] = int(author_webhook)
    if follow_edits is not None:
        changes["follow_edits"] = int(follow_edits)
    return changes


def _forum_tag(text: str) -> str | None:
    name = text.strip()
    if name.lower() in CLEAR:
        return None
    if not 1 <= len(name) <= MAX_TAG_NAME:
        raise SetupError(f"The forum tag is the name of one of the forum's tags (at most {MAX_TAG_NAME} "
                         "characters), e.g. `Chapter`; `off` removes it.")
    return name


def author_display_name(text: str) -> str:
    """The name the parts are posted under through the webhook, as Discord accepts it."""
    name = " ".join(text.split())
    if not 1 <= len(name) <= MAX_AUTHOR_NAME:
        raise SetupError(f"The author's name must be 1 to {MAX_AUTHOR_NAME} characters long.")
    for word in FORBIDDEN_AUTHOR_WORDS:
        if word in name.lower():
            raise SetupError(f"Discord does not let a webhook post under a name containing \"{word}\"; "
                             "choose another author name.")
    return name


def _avatar(text: str) -> str | None:
    url = text.strip()
    if url.lower() in CLEAR:
        return None
    if not url.startswith("https://") or len(url) > 2048 or any(ch.isspace() for ch in url):
        raise SetupError("The author's avatar must be an image link starting with `https://`; `off` "
                         "removes it.")
    return url


def is_moderator(*, manage_guild: bool, administrator: bool, role_ids: Iterable[int],
                 moderator_role_id: int | None) -> bool:
    """Manage Server (or Administrator), or the moderator role set in `/aar setup`."""
    if manage_guild or administrator:
        return True
    return moderator_role_id is not None and moderator_role_id in set(role_ids)
