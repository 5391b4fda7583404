"""Who counts as a moderator: the bot enforces this itself, Discord's command visibility is only a hint."""

from __future__ import annotations

from collections.abc import Iterable


def is_moderator(*, manage_guild: bool, administrator: bool, role_ids: Iterable[int],
                 moderator_role_id: int | None) -> bool:
    """Manage Server (or Administrator), or the moderator role set in `/aar setup`."""
    if manage_guild or administrator:
        return True
    return moderator_role_id is not None and moderator_role_id in set(role_ids)
