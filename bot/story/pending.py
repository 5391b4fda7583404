"""Import previews waiting for their moderator's Confirm or Cancel, and who may answer them, once.

A preview lives in memory (the parsed story with it) for `LIFETIME`, inside the 15 minutes Discord lets
the bot edit the answer it belongs to.  Answering is decided here, synchronously, so two presses that
arrive together cannot both pass: the first one `answer` lets through settles the preview, and every
later press is refused with the reason (already confirmed, already cancelled, expired, someone else's).
A preview the bot no longer holds (expired long ago, or the bot restarted) is refused as gone.

A moderator holds one open preview per server: a new `/aar import` replaces the previous one, whose
buttons then say it was replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.errors import UserError
from bot.story.model import Story
from bot.story.preview import ImportPreview

LIFETIME = timedelta(minutes=14)
KEPT = 2 * LIFETIME  # a settled preview is remembered this long, so a late press hears why
State = Literal["open", "confirmed", "cancelled", "replaced", "failed"]
Action = Literal["confirm", "cancel"]

GONE = ("This import preview is no longer available (it expired, or the bot restarted): "
        "run `/aar import` again.")
EXPIRED = "This import preview has expired: nothing was imported. Run `/aar import` again."
NOT_YOURS = "Only the moderator who asked for this import can confirm or cancel it."
SETTLED = {
    "confirmed": "This import was already confirmed; it is not imported twice.",
    "cancelled": "This import was cancelled: nothing was imported. Run `/aar import` again.",
    "replaced": "A newer `/aar import` replaced this preview: answer that one instead.",
    "failed": "This import did not go through (nothing was imported): run `/aar import` again.",
}


class PreviewRefused(UserError):
    """A press on a preview's button that must not act, with the reason."""


@dataclass
class PendingImport:
    id: int
    guild_id: int
    user_id: int
    filename: str
    sha256: str
    story: Story
    preview: ImportPreview
    created_at: datetime
    state: State = "open"


class PendingImports:
    """The previews of one bot, by id (the `/aar import` interaction's id, unique)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._previews: dict[int, PendingImport] = {}

    def __len__(self) -> int:
        return len(self._previews)

    def add(self, pending: PendingImport) -> None:
        """Hold `pending` open; the same moderator's open preview in the same server is replaced."""
        self._forget_old()
        for other in self._previews.values():
            if (other.state == "open" and other.guild_id == pending.guild_id
                    and other.user_id == pending.user_id):
                other.state = "replaced"
                other.story = Story([], [])  # the parsed file is no longer needed
        self._previews[pending.id] = pending

    def answer(self, preview_id: int, user_id: int, action: Action) -> PendingImport:
        """Settle the preview as `action` for `user_id`, or raise `PreviewRefused` saying why not."""
        pending = self._previews.get(preview_id)
        if pending is None:
            raise PreviewRefused(GONE)
        if pending.user_id != user_id:
            raise PreviewRefused(NOT_YOURS)
        if pending.state != "open":
            raise PreviewRefused(SETTLED[pending.state])
        if self._clock() - pending.created_at > LIFETIME:
            raise PreviewRefused(EXPIRED)
        pending.state = "confirmed" if action == "confirm" else "cancelled"
        return pending

    def release(self, pending: PendingImport, *, failed: bool = False) -> None:
        """Drop the parsed story of a settled preview (its state stays, for late presses); `failed`: its
        confirmed import did not go through, which a late press is told instead of "already confirmed"."""
        pending.story = Story([], [])
        if failed:
            pending.state = "failed"

    def _forget_old(self) -> None:
        now = self._clock()
        self._previews = {key: p for key, p in self._previews.items() if now - p.created_at <= KEPT}
