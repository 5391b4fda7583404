"""What operators watch: the bot's metrics (`metrics`), its health verdict (`health`) and the HTTP endpoint
serving both (`http`: `/healthz`, `/metrics`).  Discord-free: `bot.app` feeds them what the client knows."""
