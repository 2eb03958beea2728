"""Dashboard accounts: hashed passwords, `rrm coordinator add`, and the [dashboard] config."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.assembly import open_database
from bot.cli import main
from ground.config import ConfigError, load_config
from ground.storage.dashboard_accounts import check_login, hash_password, verify_password
from ground.storage.models import DashboardAccount
from tests.conftest import EXAMPLE_CONFIG, example_config_text


def test_password_hashes_are_salted_and_verified() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second and first.startswith("scrypt$")
    assert "correct horse" not in first
    assert verify_password("correct horse battery", first)
    assert not verify_password("correct horse batterY", first)
    assert not verify_password("anything", "not-a-hash")


@pytest.mark.db
def test_coordinator_add_reads_the_password_from_stdin(
    database_url: str, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("RRM_DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long secret phrase\n"))
    assert main(["--config", str(EXAMPLE_CONFIG), "coordinator", "add", "anna"]) == 0
    assert "account anna created" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--config", str(EXAMPLE_CONFIG), "coordinator", "add", "anna"]) == 1
    assert "at least 10 characters; nothing changed" in capsys.readouterr().err
    database = open_database(
        load_config(EXAMPLE_CONFIG, environ={"RRM_DATABASE_URL": database_url})
    )
    with database.sessions() as session:
        stored = session.scalars(select(DashboardAccount.password_hash)).one()
        assert "a long secret phrase" not in stored
        assert check_login(session, "anna", "a long secret phrase")
        assert not check_login(session, "anna", "short")
        assert not check_login(session, "bob", "a long secret phrase")
    database.dispose()


def test_stats_refuses_a_bad_period(capsys: Any) -> None:
    assert main(["--config", str(EXAMPLE_CONFIG), "stats", "--from", "March"]) == 1
    assert "--from 'March' is not a date like 2026-03-01" in capsys.readouterr().err


def test_dashboard_without_a_secret_names_the_file_and_key(capsys: Any) -> None:
    """The example config leaves the secret empty: one line names the file and the key."""
    assert main(["--config", str(EXAMPLE_CONFIG), "dashboard"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"rrm: {EXAMPLE_CONFIG}: dashboard.secret: set at least 16")


def test_dashboard_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = example_config_text()
    path.write_text(text.replace("[dashboard]\nenabled = false", "[dashboard]\nenabled = true"))
    with pytest.raises(ConfigError, match=r"dashboard.secret: required when the dashboard"):
        load_config(path, environ={})
    config = load_config(path, environ={"RRM_DASHBOARD_SECRET": "from-the-environment-1"})
    assert config.dashboard.secret == "from-the-environment-1"
    assert "from-the-environment" not in repr(config)
    assert config.dashboard.url == "http://127.0.0.1:8088"
    path.write_text(text.replace("port = 8088", "port = 0"))
    with pytest.raises(ConfigError, match=r"dashboard.port: must be a port number"):
        load_config(path, environ={})
    path.write_text(text.replace('public_url = ""', 'public_url = "rrm.example.org"'))
    with pytest.raises(ConfigError, match=r"dashboard.public_url: must be an http"):
        load_config(path, environ={})
