"""What `/chapter next` can refuse at once, before it queues anything: the moderator hears it in the answer.

A release waits its turn in the queue (`bot.chapters.queue`); a moderator should not wait a minute to
learn there was nothing left to release, or that the bot can't post where they are.  These checks read
only the database and the permissions the interaction carried, so the answer still comes within
Discord's 3 seconds.  The release re-checks everything when it runs (the engine is the authority).
"""

from __future__ import annotations

from bot.chapters.publishing import ChannelPermissions, ReleaseOutcome
from bot.storage.database import Database
from bot.storage.releases import release_state


async def refusal(conn: Database, guild_id: int, channel_id: int, *, threads: bool,
                  known: ChannelPermissions | None) -> ReleaseOutcome | None:
    """The outcome to answer with at once (no story, all out, a permission missing), or None to queue.

    An interrupted release is never refused here: finishing it is what the next `/chapter next` does.
    """
    state = await release_state(conn, guild_id)
    if state.unfinished:
        return None
    if state.chapters == 0:
        return ReleaseOutcome("no_story", guild_id)
    number, total = state.last_claimed + 1, state.chapters
    if number > total:
        return ReleaseOutcome("all_out", guild_id, total=total)
    if known is not None and known.channel_id == channel_id:
        missing = known.missing(thread=threads)
        if missing:
            return ReleaseOutcome("forbidden", guild_id, number, None, total, channel_id,
                                  missing_permission=missing[0])
    return None
