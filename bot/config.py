"""Settings from the environment and `.env`.

Everything the bot needs to know about its deployment comes from here, so the rest of the code never
reads `os.environ` itself.  The token is kept out of `repr()` so a logged settings object never leaks it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = Path("data/aar.db")


def _shipped_data_dir() -> Path:
    """Where the shipped AAR, cast and quiz live: `data/` beside the source (a checkout or an editable
    install), else where a regular `pip install .` puts them (`<prefix>/share/aar-bot/data`)."""
    beside_source = PROJECT_ROOT / "data"
    if (beside_source / "aar-thread.txt").is_file():
        return beside_source
    return Path(sys.prefix) / "share" / "aar-bot" / "data"


DATA_DIR = _shipped_data_dir()
SHIPPED_THREAD = DATA_DIR / "aar-thread.txt"
SHIPPED_CAST = DATA_DIR / "cast.toml"
SHIPPED_QUIZ = DATA_DIR / "quiz.toml"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """The validated deployment settings."""

    token: str | None = field(default=None, repr=False)
    db_path: Path = DEFAULT_DB_PATH
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    api_base_url: str | None = None
    gateway_url: str | None = None
    health_file: Path | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Read settings from `env` (default: the process environment, after loading `.env`).

        The `.env` is the working directory's, as the README says, and only that one: python-dotenv's
        default search starts from this source file and walks up, which would read the checkout's `.env`
        from anywhere, and ignore the operator's when the bot is run from another folder.  Variables
        already in the environment win over the file.
        """
        if env is None:
            if dotenv:
                load_dotenv(Path.cwd() / ".env", override=False)
            env = dict(os.environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")

        guild = get("DEV_GUILD_ID")
        if guild is not None and not guild.isdigit():
            raise ConfigError(f"DEV_GUILD_ID must be a numeric Discord server id, not {guild!r}")

        api_base = get("DISCORD_API_BASE_URL")
        if api_base is not None and not api_base.startswith(("http://", "https://")):
            raise ConfigError("DISCORD_API_BASE_URL must start with http:// or https://")
        gateway = get("DISCORD_GATEWAY_URL")
        if gateway is not None and not gateway.startswith(("ws://", "wss://")):
            raise ConfigError("DISCORD_GATEWAY_URL must start with ws:// or wss://")

        health = get("AAR_HEALTH_FILE")
        return cls(
            token=get("DISCORD_TOKEN"),
            db_path=Path(get("AAR_DB_PATH") or DEFAULT_DB_PATH),
            log_level=log_level,
            dev_guild_id=int(guild) if guild else None,
            api_base_url=api_base.rstrip("/") if api_base else None,
            gateway_url=gateway,
            health_file=Path(health) if health else None,
        )
