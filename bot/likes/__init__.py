"""Likes: reactions on released chapters counted per guild, plus the forum's likes; rankings; hall of fame.

No Discord here: `cogs/likes.py` feeds reaction events into `ReactionIngest` and shows what `tally`,
`hall_of_fame` and `render` produce.  `chapter_likes(conn, guild_id)` is the entry point for other
features (e.g. `/chapter list`) that want to show likes.
"""

from bot.likes.tally import LikeCount, chapter_likes

__all__ = ["LikeCount", "chapter_likes"]
