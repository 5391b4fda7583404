"""The command line with `AAR_DATABASE_URL` set: PostgreSQL storage is announced, not half-used."""

from __future__ import annotations

import pytest

from bot.__main__ import EXIT_USAGE, main


@pytest.mark.parametrize("argv", [["run"], ["chapters"], ["import", "thread.txt"]])
def test_commands_refuse_to_use_sqlite_when_postgres_is_asked_for(argv, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("AAR_DATABASE_URL", "postgresql://aar:hunter2@127.0.0.1:1/aar")
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    assert main([*argv, "--db", str(tmp_path / "aar.db")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PostgreSQL storage is not available yet" in err
    assert "hunter2" not in err
    assert not (tmp_path / "aar.db").exists()  # nothing was written to SQLite either


def test_a_url_of_another_database_is_a_configuration_error(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AAR_DATABASE_URL", "sqlite:///data/aar.db")
    assert main(["chapters"]) == EXIT_USAGE
    assert "configuration error: AAR_DATABASE_URL must be a postgresql://" in capsys.readouterr().err
