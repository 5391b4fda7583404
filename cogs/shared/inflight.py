"""Counting a button click among the interactions in flight, so a shutdown waits for its answer.

discord.py runs each interaction in a task of its own and forgets it; `AARBot.close()` waits (briefly)
for the tasks registered in the bot's `in_flight` before closing the HTTP session under them.  Commands
are registered by the bot's command tree; the dynamic buttons register themselves with `track` in their
`interaction_check`, which runs in the click's task.
"""

from __future__ import annotations

from typing import Protocol

import discord


class Tracker(Protocol):
    def add_current(self) -> None: ...


def track(interaction: discord.Interaction) -> None:
    """Count the task handling `interaction` as in flight, when the client keeps count (`AARBot` does)."""
    in_flight: Tracker | None = getattr(interaction.client, "in_flight", None)
    if in_flight is not None:
        in_flight.add_current()


class TrackedClick:
    """Mixin for a persistent button (`DynamicItem`): its click counts as in flight until answered.

    Put it first in the bases, so its `interaction_check` (which runs in the click's own task) is the one
    discord.py calls.
    """

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        track(interaction)  # a shutdown waits for this click's answer
        return True
