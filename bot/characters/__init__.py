"""The AAR's cast: a curated file, a per-chapter mention index, and a spoiler-safe look-up.

`schema` validates `data/cast.toml`; `index` finds who each chapter names and stores it; `lookup`
answers readers from what their guild has released; `card` lays answers out within Discord's limits.
No module here imports discord: the cog translates.
"""

from bot.characters.schema import SHIPPED_CAST, Cast, CastError, load_cast

__all__ = ["SHIPPED_CAST", "Cast", "CastError", "load_cast"]
