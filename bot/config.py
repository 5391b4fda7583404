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

from bot.sharding import ShardSpecError, parse_shard_ids
from bot.storage.postgres.url import is_postgres_url

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
DEFAULT_HTTP_HOST = "127.0.0.1"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """The validated deployment settings."""

    token: str | None = field(default=None, repr=False)
    db_path: Path = DEFAULT_DB_PATH
    # AAR_DATABASE_URL: PostgreSQL instead of the SQLite file (None: SQLite).  May hold a password: no repr.
    database_url: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    api_base_url: str | None = None
    gateway_url: str | None = None
    health_file: Path | None = None
    # Sharding: None = Discord's recommended count (GET /gateway/bot), and all shards in this process.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    # The operators' HTTP endpoint (/healthz, /metrics): off unless a port is set; loopback by default.
    http_port: int | None = None
    http_host: str = DEFAULT_HTTP_HOST

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

        database_url = get("AAR_DATABASE_URL")
        if database_url is not None and not is_postgres_url(database_url):
            raise ConfigError("AAR_DATABASE_URL must be a postgresql://user:password@host:port/database URL"
                              " (unset, the bot uses the SQLite file AAR_DB_PATH)")
        health = get("AAR_HEALTH_FILE")
        shard_count, shard_ids = _shards(get("AAR_SHARD_COUNT"), get("AAR_SHARD_IDS"))
        return cls(
            token=get("DISCORD_TOKEN"),
            db_path=Path(get("AAR_DB_PATH") or DEFAULT_DB_PATH),
            database_url=database_url,
            log_level=log_level,
            dev_guild_id=int(guild) if guild else None,
            api_base_url=api_base.rstrip("/") if api_base else None,
            gateway_url=gateway,
            health_file=Path(health) if health else None,
            shard_count=shard_count,
            shard_ids=shard_ids,
            http_port=_port(get("AAR_HTTP_PORT")),
            http_host=get("AAR_HTTP_HOST") or DEFAULT_HTTP_HOST,
        )


def _shards(count_text: str | None, ids_text: str | None) -> tuple[int | None, tuple[int, ...] | None]:
    """AAR_SHARD_COUNT and AAR_SHARD_IDS, checked against each other.

    Shard ids only mean something against a count every process agrees on, so ids need a count: Discord's
    recommendation could differ between two processes started a minute apart.
    """
    count: int | None = None
    if count_text is not None:
        if not count_text.isdigit() or int(count_text) < 1:
            raise ConfigError("AAR_SHARD_COUNT must be a whole number of shards, 1 or more, "
                              f"not {count_text!r}")
        count = int(count_text)
    if ids_text is None:
        return count, None
    if count is None:
        raise ConfigError("AAR_SHARD_IDS needs AAR_SHARD_COUNT too (the same count in every process)")
    try:
        return count, parse_shard_ids(ids_text, count)
    except ShardSpecError as exc:
        raise ConfigError(str(exc)) from None


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(f"AAR_HTTP_PORT must be a TCP port number (1-65535), not {text!r}")
    return int(text)
