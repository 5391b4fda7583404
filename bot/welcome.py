"""The one message the bot posts when it joins a server: where, and what it says.

Said once, on a real join (not at every start), where the bot may speak: the server's system channel if
the bot can post there, else the first text channel (in the server's order) it can.  It pings no one and
only tells a moderator the two commands that start the story.  Discord-free: the cog passes each
channel's id, position and whether the bot may view and send there (from its cached permissions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WELCOME = ("👋 Hello! I'm **AAR Bot**: I serve an After Action Report, a forum story, to this server "
           "chapter by chapter.\n"
           "To start, a moderator runs `/aar setup` (the story channel, a moderator role, the time zone), "
           "then `/chapter next` to release the first chapter. `/aar help` lists everything I can do.")


@dataclass(frozen=True)
class Place:
    """A text channel the welcome could go to."""

    channel_id: int
    position: int
    can_post: bool  # the bot has View Channel and Send Messages there


def welcome_channel(places: Sequence[Place], system_channel_id: int | None) -> int | None:
    """The system channel if the bot can post there, else the first channel it can post in; None when
    it can post nowhere (then it says nothing)."""
    postable = [p for p in places if p.can_post]
    if system_channel_id is not None and any(p.channel_id == system_channel_id for p in postable):
        return system_channel_id
    first = min(postable, key=lambda p: (p.position, p.channel_id), default=None)
    return first.channel_id if first else None
