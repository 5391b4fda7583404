"""Emoji identity: what makes two reactions "the same emoji".

A unicode emoji is its string as Discord sends it; a custom emoji is its id (`custom:<id>`), because its
name can be changed by the server's moderators and must not split or merge counts.  The guild's like
emoji comes from `/aar setup` as typed by a moderator, so it is parsed leniently (`<:name:id>`,
`name:id`, a bare id, or a unicode emoji with or without the emoji variation selector).
"""

from __future__ import annotations

import re

CUSTOM_PREFIX = "custom:"
VARIATION_SELECTOR = "\ufe0f"

_CUSTOM_MENTION = re.compile(r"^<(a?):([A-Za-z0-9_~]+):(\d{15,22})>$")
_CUSTOM_NAME_ID = re.compile(r"^:?([A-Za-z0-9_~]+):(\d{15,22})$")
_BARE_ID = re.compile(r"^\d{15,22}$")


def emoji_key(name: str | None, custom_id: int | None) -> str:
    """The stored identity of a reaction's emoji: `custom:<id>` for a custom emoji, else the unicode
    string."""
    if custom_id is not None:
        return f"{CUSTOM_PREFIX}{custom_id}"
    if not name:
        raise ValueError("a reaction emoji has neither an id nor a name")
    return name


def is_custom(key: str) -> bool:
    return key.startswith(CUSTOM_PREFIX)


def custom_id(key: str) -> int | None:
    """The custom emoji id in a key, or None for a unicode emoji."""
    return int(key[len(CUSTOM_PREFIX):]) if is_custom(key) else None


def parse_setting(value: str) -> str:
    """The key of a like emoji as stored by `/aar setup` (see the module docstring for accepted forms)."""
    text = value.strip()
    if not text:
        raise ValueError("the like emoji is empty")
    for pattern, group in ((_CUSTOM_MENTION, 3), (_CUSTOM_NAME_ID, 2)):
        match = pattern.match(text)
        if match:
            return f"{CUSTOM_PREFIX}{match.group(group)}"
    if _BARE_ID.match(text):
        return f"{CUSTOM_PREFIX}{text}"
    return text


def like_keys(setting: str) -> tuple[str, ...]:
    """Every stored key that counts as the guild's like emoji.

    Discord sends some unicode emoji with the variation selector U+FE0F and a moderator may type it with
    or without; both spellings count, and COUNT(DISTINCT user) keeps a member from counting twice.
    """
    key = parse_setting(setting)
    if is_custom(key):
        return (key,)
    bare = key.replace(VARIATION_SELECTOR, "")
    variants = [key, bare]
    if VARIATION_SELECTOR not in key:
        variants.append(key + VARIATION_SELECTOR)
    return tuple(dict.fromkeys(variants))


def display(key: str, names: dict[str, tuple[str, bool]] | None = None) -> str:
    """How to show an emoji in a message: the unicode itself, or `<:name:id>` with the latest known name.

    A custom emoji whose name was never seen is shown as `<:emoji:id>` (Discord renders it by id anyway).
    """
    cid = custom_id(key)
    if cid is None:
        return key
    name, animated = (names or {}).get(key, ("emoji", False))
    return f"<{'a' if animated else ''}:{name}:{cid}>"
