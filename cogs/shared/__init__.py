"""Glue the cogs share: the release engine's way out to Discord, the moderator check, pager buttons,
refusals and embeds.  Not an extension (`bot.app.EXTENSIONS` names the cogs); cogs import from here,
never from each other."""
