"""`bot.config`: where `.env` is read from, and what the settings accept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings

CONFIG_SOURCE = Path(__file__).resolve().parents[2] / "bot" / "config.py"

# A script (as `aar-bot` is: python-dotenv treats `python -c` as interactive and searches differently) that
# loads a copy of bot/config.py from a project folder of the test's own, so a `.env` can be put beside it
# without touching the checkout, and prints the setting the `.env` files disagree on.
PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("probe_config", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module  # dataclasses look their module up
spec.loader.exec_module(module)
print(module.Settings.from_env().dev_guild_id)
"""


def dev_guild_seen(config: Path, cwd: Path) -> str:
    """What `Settings.from_env()` in a fresh process, started in `cwd`, reads as DEV_GUILD_ID."""
    env = {k: v for k, v in os.environ.items() if k != "DEV_GUILD_ID"}
    script = config.parent.parent / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(config)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding bot/config.py and a `.env` of its own (DEV_GUILD_ID=111)."""
    (tmp_path / "project" / "bot").mkdir(parents=True)
    shutil.copy(CONFIG_SOURCE, tmp_path / "project" / "bot" / "config.py")
    (tmp_path / "project" / ".env").write_text("DEV_GUILD_ID=111\n", encoding="utf-8")
    return tmp_path / "project"


def test_dotenv_is_read_from_the_working_directory(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".env").write_text("DEV_GUILD_ID=222\n", encoding="utf-8")
    assert dev_guild_seen(project / "bot" / "config.py", elsewhere) == "222"


def test_dotenv_beside_the_package_is_ignored_when_run_from_elsewhere(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert dev_guild_seen(project / "bot" / "config.py", elsewhere) == "None"


def test_dotenv_in_a_parent_of_the_working_directory_is_ignored(project: Path) -> None:
    """"The `.env` of the working directory": not one found by searching upward from it."""
    below = project / "sub"
    below.mkdir()
    assert dev_guild_seen(project / "bot" / "config.py", below) == "None"


def test_the_process_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=DEBUG\nDEV_GUILD_ID=333\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("DEV_GUILD_ID", "444")  # set, so that monkeypatch restores it after load_dotenv
    settings = Settings.from_env()
    assert (settings.log_level, settings.dev_guild_id) == ("WARNING", 444)


def test_explicit_environment_skips_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=LOUD\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"LOG_LEVEL": "error"}).log_level == "ERROR"
    with pytest.raises(ConfigError, match="DEV_GUILD_ID must be a numeric"):
        Settings.from_env({"DEV_GUILD_ID": "my-server"})


def test_shards_default_to_discords_recommendation_and_all_shards() -> None:
    settings = Settings.from_env({})
    assert (settings.shard_count, settings.shard_ids) == (None, None)
    settings = Settings.from_env({"AAR_SHARD_COUNT": "4", "AAR_SHARD_IDS": "0-1, 3"})
    assert (settings.shard_count, settings.shard_ids) == (4, (0, 1, 3))


@pytest.mark.parametrize(("env", "problem"), [
    ({"AAR_SHARD_COUNT": "2", "AAR_SHARD_IDS": "5"}, "shard 5 does not exist with AAR_SHARD_COUNT=2"),
    ({"AAR_SHARD_COUNT": "2", "AAR_SHARD_IDS": "zero"}, "AAR_SHARD_IDS must be shard ids like 0-3 or 0,2"),
    ({"AAR_SHARD_IDS": "0"}, "AAR_SHARD_IDS needs AAR_SHARD_COUNT too"),
    ({"AAR_SHARD_COUNT": "0"}, "AAR_SHARD_COUNT must be a whole number of shards, 1 or more"),
    ({"AAR_SHARD_COUNT": "many"}, "AAR_SHARD_COUNT must be a whole number"),
    ({"AAR_HTTP_PORT": "http"}, "AAR_HTTP_PORT must be a TCP port number"),
    ({"AAR_HTTP_PORT": "70000"}, "AAR_HTTP_PORT must be a TCP port number"),
    ({"AAR_DATABASE_URL": "data/aar.db"}, "AAR_DATABASE_URL must be a postgresql://"),
    ({"AAR_DATABASE_URL": "mysql://u:pw@db/aar"}, "unset, the bot uses the SQLite file AAR_DB_PATH"),
])
def test_bad_shard_and_http_settings_are_one_clear_line(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_http_endpoint_is_off_by_default_and_on_loopback() -> None:
    assert Settings.from_env({}).http_port is None
    settings = Settings.from_env({"AAR_HTTP_PORT": "9100"})
    assert (settings.http_port, settings.http_host) == (9100, "127.0.0.1")
    assert Settings.from_env({"AAR_HTTP_PORT": "9100", "AAR_HTTP_HOST": "0.0.0.0"}).http_host == "0.0.0.0"


def test_database_url_is_postgresql_and_kept_out_of_repr() -> None:
    assert Settings.from_env({}).database_url is None
    settings = Settings.from_env({"AAR_DATABASE_URL": "postgresql://aar:hunter2@db:5432/aar"})
    assert settings.database_url == "postgresql://aar:hunter2@db:5432/aar"
    assert "hunter2" not in repr(settings)
    assert Settings.from_env({"AAR_DATABASE_URL": "postgres://db/aar"}).database_url == "postgres://db/aar"
