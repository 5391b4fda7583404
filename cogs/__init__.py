"""Discord glue: one extension module per capability, each loaded by `bot.app.AARBot.setup_hook`."""
