"""Dashboard access: server-side sessions, CSRF, the login limit and the coordinator name check."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.cli import main
from bot.dashboard import create_app
from ground.clock import FixedClock
from ground.config import Config, ConfigError, load_config
from ground.storage.database import Database
from tests.conftest import EXAMPLE_CONFIG, example_config_text
from tests.stats import dataset
from tests.stats.test_surfaces import database, stats_config, with_csrf

pytestmark = pytest.mark.db
__all__ = ["database", "stats_config"]  # the fixtures, used by name

RIGHT = {"name": "anna", "password": "correct horse battery"}
WRONG = {"name": "anna", "password": "tr0ub4dor"}


def app_client(config: Config, database: Database, address: str = "203.0.113.7") -> TestClient:
    app = create_app(config, database, FixedClock(dataset.NOW))
    return TestClient(app, client=(address, 50000))


def logged_in(config: Config, database: Database) -> tuple[TestClient, str]:
    """A logged-in client and its session cookie, as an attacker could copy it."""
    client = app_client(config, database)
    assert client.post("/login", data=with_csrf(client, RIGHT)).status_code == 200
    assert client.get("/").status_code == 200
    return client, str(client.cookies["rrm_dashboard"])


def with_cookie(config: Config, database: Database, cookie: str) -> int:
    """The overview's status for another client that replays ``cookie``."""
    replay = app_client(config, database, "198.51.100.9")
    replay.cookies.set("rrm_dashboard", cookie)
    return replay.get("/").status_code


def test_logout_ends_the_session_on_the_server(stats_config: Config, database: Database) -> None:
    client, cookie = logged_in(stats_config, database)
    assert with_cookie(stats_config, database, cookie) == 200
    assert client.post("/logout", data=with_csrf(client, {})).status_code == 200
    assert with_cookie(stats_config, database, cookie) == 401


def test_a_new_password_ends_the_sessions(
    stats_config: Config, database: Database, database_url: str, monkeypatch: Any, capsys: Any
) -> None:
    """The password changed as the README says, with `rrm coordinator add anna` again."""
    _, cookie = logged_in(stats_config, database)
    monkeypatch.setenv("RRM_DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new passphrase\n"))
    assert main(["--config", str(EXAMPLE_CONFIG), "coordinator", "add", "anna"]) == 0
    assert "anna" in capsys.readouterr().out
    assert with_cookie(stats_config, database, cookie) == 401
    client = app_client(stats_config, database)
    assert client.post("/login", data=with_csrf(client, RIGHT)).status_code == 401
    new = {"name": "anna", "password": "a brand new passphrase"}
    assert client.post("/login", data=with_csrf(client, new)).status_code == 200


def test_coordinator_remove_ends_the_sessions(
    stats_config: Config, database: Database, database_url: str, monkeypatch: Any, capsys: Any
) -> None:
    _, cookie = logged_in(stats_config, database)
    monkeypatch.setenv("RRM_DATABASE_URL", database_url)
    argv = ["--config", str(EXAMPLE_CONFIG), "coordinator", "remove", "anna"]
    assert main(argv) == 0
    assert "account anna removed" in capsys.readouterr().out
    assert with_cookie(stats_config, database, cookie) == 401
    client = app_client(stats_config, database)
    assert client.post("/login", data=with_csrf(client, RIGHT)).status_code == 401
    assert main(argv) == 1
    assert "there is no account 'anna'" in capsys.readouterr().err


def test_forms_without_the_csrf_token_are_refused(stats_config: Config, database: Database) -> None:
    client = app_client(stats_config, database)
    client.get("/login")
    assert client.post("/login", data=RIGHT).status_code == 403
    assert client.post("/login", data={**RIGHT, "csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 401
    client, cookie = logged_in(stats_config, database)
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert with_cookie(stats_config, database, cookie) == 200  # still logged in


def test_parallel_wrong_passwords_cannot_outrun_the_limit(
    stats_config: Config, database: Database
) -> None:
    clients = [app_client(stats_config, database) for _ in range(60)]
    forms = [with_csrf(client, WRONG) for client in clients]
    start = threading.Barrier(len(clients))

    def attempt(index: int) -> int:
        start.wait()
        return clients[index].post("/login", data=forms[index]).status_code

    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        statuses = list(pool.map(attempt, range(len(clients))))
    assert statuses.count(401) <= 5 and statuses.count(429) >= 55, statuses
    locked = app_client(stats_config, database)
    assert locked.post("/login", data=with_csrf(locked, RIGHT)).status_code == 429


def test_a_forged_forwarded_header_does_not_reset_the_limit(
    stats_config: Config, database: Database
) -> None:
    client = app_client(stats_config, database)
    for _ in range(5):
        assert client.post("/login", data=with_csrf(client, WRONG)).status_code == 401
    for hop in ["10.1.1.1", "10.1.1.2", "192.0.2.1, 10.1.1.3"]:
        headers = {"X-Forwarded-For": hop}
        response = client.post("/login", data=with_csrf(client, RIGHT), headers=headers)
        assert response.status_code == 429, hop
    # Behind a proxy listed as trusted, the address it forwards is the client's.
    dashboard = dataclasses.replace(stats_config.dashboard, trusted_proxies=("203.0.113.7",))
    behind = app_client(dataclasses.replace(stats_config, dashboard=dashboard), database)
    headers = {"X-Forwarded-For": "192.0.2.44"}
    response = behind.post("/login", data=with_csrf(behind, RIGHT), headers=headers)
    assert response.status_code == 200


def test_secure_cookie_option(stats_config: Config, database: Database) -> None:
    dashboard = dataclasses.replace(stats_config.dashboard, secure_cookie=True)
    client = app_client(dataclasses.replace(stats_config, dashboard=dashboard), database)
    assert "secure" in client.get("/login").headers["set-cookie"].lower()
    plain = app_client(stats_config, database)
    assert "secure" not in plain.get("/login").headers["set-cookie"].lower()


def test_coordinator_add_warns_for_a_name_not_in_the_config(
    database_url: str, monkeypatch: Any, capsys: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("RRM_DATABASE_URL", database_url)
    config_path = tmp_path / "config.toml"
    config_path.write_text(example_config_text(), "utf-8")
    argv = ["--config", str(config_path), "coordinator", "add", "bob"]
    monkeypatch.setattr("sys.stdin", io.StringIO("a long secret phrase\n"))
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert "'bob' is not a coordinator in the config" in error and "--force" in error
    monkeypatch.setattr("sys.stdin", io.StringIO("a long secret phrase\n"))
    assert main([*argv, "--force"]) == 0
    captured = capsys.readouterr()
    assert "account bob created" in captured.out
    assert "warning: bob is not a coordinator" in captured.err


def test_trusted_proxies_must_be_addresses(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = example_config_text().replace("trusted_proxies = []", 'trusted_proxies = ["proxy"]')
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=r"dashboard.trusted_proxies: 'proxy' is not an IP"):
        load_config(path, environ={})
