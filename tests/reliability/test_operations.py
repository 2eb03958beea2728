"""Operations: /healthz and /metrics, JSON logs, rrm doctor and backup, secrets kept out."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import logging
import shutil
import socket
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from bot.assembly import open_database
from bot.cli import main
from bot.metrics import MetricsCollector, metrics_app
from ground.config import Config, load_config
from ground.logs import configure_logging
from ground.storage.database import Database
from tests.fakes.app import console_bot
from tests.fakes.console_script import write_config
from tests.fakes.rows import add_asker, question_row

TOKEN = "123456789:AAsecretTOKENvalue_0123456789"
PASSWORD = "pa55-word-secret"
MATRIX_PASSWORD = "matrix-secret-password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rrm(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.db
async def test_healthz_and_metrics_of_a_running_bot(config: Config, embedder) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    config = dataclasses.replace(
        config, metrics=dataclasses.replace(config.metrics, enabled=True, port=port)
    )
    async with console_bot(config, embedder) as bot:
        await bot.say("Where can a municipality find co-financing for an Erasmus+ partnership?")
        await bot.say("2")  # ask an expert, if a fiche was offered first
        await bot.say("/as claire")
        await bot.say("#1 Look at the regional ESF+ programme first.")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            metrics = (await client.get("/metrics")).text
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "backlog": 0}
    assert 'rrm_questions{outcome="answered"} 1.0' in metrics
    assert "rrm_first_response_seconds_count 1.0" in metrics
    assert 'rrm_first_response_seconds_bucket{le="60"} 1.0' in metrics  # the clock stood still
    assert 'rrm_outbox_backlog{state="pending"} 0.0' in metrics
    assert "rrm_inbound_backlog 0.0" in metrics


async def test_healthz_reports_an_unreachable_database_and_metrics_count_failures(
    tmp_path: Path,
) -> None:
    database = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    failures = collections.Counter({"telegram": 3})
    app = metrics_app(database.sessions, failures, lambda: 2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        answer = await client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unhealthy", "database": "unreachable", "backlog": 2}
    database.dispose()
    working = Database(f"sqlite:///{tmp_path / 'ok.db'}")
    working.upgrade()
    app = metrics_app(working.sessions, failures, lambda: 0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        metrics = (await client.get("/metrics")).text
    working.dispose()
    assert 'rrm_send_failures_total{channel="telegram"} 3.0' in metrics


@pytest.fixture
def root_logging():  # type: ignore[no-untyped-def]
    """Give configure_logging the root logger, and hand it back to pytest afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_logs_one_line_per_event_with_context_and_no_secret(root_logging, capsys) -> None:  # type: ignore[no-untyped-def]
    configure_logging("json", "INFO", secrets=[TOKEN])
    log = logging.getLogger("bot.test")
    log.info("sent outbox message 7", extra={"channel": "telegram", "question_id": 12})
    log.warning("POST https://api.telegram.org/bot%s/sendMessage failed", TOKEN)
    log.debug("not shown at INFO")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["channel"] == "telegram" and first["question_id"] == 12
    assert first["level"] == "INFO" and first["message"] == "sent outbox message 7"
    assert TOKEN not in lines[1] and "bot***/sendMessage" in second["message"]


def secret_config(tmp_path: Path) -> Path:
    """Telegram and Matrix enabled with secrets in the file, servers that do not answer."""
    path = write_config(
        tmp_path, f"postgresql://rrm:{PASSWORD}@127.0.0.1:{free_port()}/rrm", fiches=0
    )
    text = path.read_text("utf-8")
    text = text.replace("enabled = false", "enabled = true", 2)  # [telegram], [matrix]
    closed = f"http://127.0.0.1:{free_port()}"
    for key, value in [
        ("token", TOKEN),
        ("base_url", f"{closed}/bot"),
        ("homeserver", closed),
        ("user_id", "@rrm:example.org"),
        ("password", MATRIX_PASSWORD),
        ("experts_room", "!room:example.org"),
    ]:
        text = text.replace(f'\n{key} = "', f'\n{key} = "{value}', 1)
    text = text.replace("experts_chat_id = 0", "experts_chat_id = -1001234567890")
    path.write_text(text, "utf-8")
    return path


def test_secrets_stay_out_of_output_errors_and_logs(tmp_path: Path, capsys, caplog) -> None:  # type: ignore[no-untyped-def]
    path = secret_config(tmp_path)
    config = load_config(path, environ={})
    assert config.telegram.token == TOKEN and config.matrix.password == MATRIX_PASSWORD
    shown = [repr(config)]
    caplog.set_level(logging.DEBUG)
    for argv in (["doctor"], ["experts"], ["-v", "privacy", "export", "console:ana"]):
        status, out, err = rrm(capsys, "--config", str(path), *argv)
        assert status == 1, (argv, out, err)
        shown += [out, err]
    shown += [record.getMessage() for record in caplog.records]
    everything = "\n".join(shown)
    assert "FAIL database: cannot connect to postgresql://rrm:***@" in everything
    assert "FAIL telegram: cannot reach" in everything
    for secret in (TOKEN, PASSWORD, MATRIX_PASSWORD, TOKEN.split(":")[1]):
        assert secret not in everything


def test_doctor_checks_the_matrix_key_store(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = secret_config(tmp_path)
    store = tmp_path / "matrix-store"  # the default with PostgreSQL: beside the config file
    out = rrm(capsys, "--config", str(path), "doctor")[1]
    assert f"warn matrix keys: none yet in {store}" in out
    store.mkdir(mode=0o755)
    store.chmod(0o755)
    (store / "@rrm:example.org_DEVICE.db").write_bytes(b"")
    out = rrm(capsys, "--config", str(path), "doctor")[1]
    assert f"FAIL matrix keys: {store} is readable by other users" in out
    store.chmod(0o700)
    out = rrm(capsys, "--config", str(path), "doctor")[1]
    assert f"ok   matrix keys: 1 device key file(s) in {store}" in out


@pytest.mark.db
def test_doctor_finds_an_old_schema_then_passes(config: Config, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, config.database.url, fiches=0)
    status, out, _ = rrm(capsys, "--config", str(path), "doctor")
    assert status == 1
    assert "FAIL migrations: database at empty" in out and "rrm db upgrade" in out
    assert rrm(capsys, "--config", str(path), "db", "upgrade")[0] == 0
    status, out, _ = rrm(capsys, "--config", str(path), "doctor")
    assert status == 0, out
    assert "ok   database" in out and "ok   migrations" in out and "warn fiches" in out


def test_backup_copies_a_live_sqlite_database(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'live.db'}"
    path = write_config(tmp_path, url, fiches=0)
    assert rrm(capsys, "--config", str(path), "db", "upgrade")[0] == 0
    database = Database(url)
    with database.engine.begin() as connection:  # an open reader, as a running bot has
        connection.exec_driver_sql(
            "INSERT INTO partners (id, name, country, timezone) VALUES ('p', 'P', 'FR', 'UTC')"
        )
    holder = database.engine.connect()
    # The Matrix key store, by default beside the database file: one SQLite file per device.
    store = tmp_path / "matrix-store"
    store.mkdir()
    keys = sqlite3.connect(store / "@bot:example.org_DEVICE.db")
    with keys:
        keys.execute("CREATE TABLE accounts (pickle TEXT)")
        keys.execute("INSERT INTO accounts VALUES ('the private keys')")
    target = tmp_path / "copy.db"
    status, out, _ = rrm(capsys, "--config", str(path), "backup", str(target))
    holder.close()
    keys.close()
    database.dispose()
    assert status == 0 and "backed up" in out
    assert (tmp_path / "live.db").stat().st_mode & 0o777 == 0o600
    assert target.stat().st_mode & 0o777 == 0o600
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT name FROM partners").fetchall() == [("P",)]
    copy.close()
    keys_copy = tmp_path / "copy.db.matrix-store"
    assert f"backed up the Matrix keys in {store} to {keys_copy}" in out
    assert keys_copy.stat().st_mode & 0o777 == 0o700
    copied = keys_copy / "@bot:example.org_DEVICE.db"
    assert copied.stat().st_mode & 0o777 == 0o600
    copy = sqlite3.connect(copied)
    assert copy.execute("SELECT pickle FROM accounts").fetchall() == [("the private keys",)]
    copy.close()
    status, _, err = rrm(capsys, "--config", str(path), "backup", str(target))
    assert status == 1 and "exists" in err


@pytest.mark.db
def test_backup_dumps_a_live_postgresql_database(tmp_path: Path, capsys, database_url: str) -> None:  # type: ignore[no-untyped-def]
    url = database_url  # a schema of its own on the server under test
    if not url.startswith("postgresql"):
        pytest.skip(
            "a PostgreSQL backup needs RRM_TEST_DATABASE_URL, as .ci/run's second pass sets"
        )
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed (Debian: postgresql-client)")
    path = write_config(tmp_path, url, fiches=0)
    assert rrm(capsys, "--config", str(path), "db", "upgrade")[0] == 0
    database = Database(url)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM partners WHERE id = 'bk'")
        connection.exec_driver_sql(
            "INSERT INTO partners (id, name, country, timezone) VALUES ('bk', 'B', 'FR', 'UTC')"
        )
    # With PostgreSQL the Matrix key store is by default beside the config.
    store = tmp_path / "matrix-store"
    store.mkdir()
    keys = sqlite3.connect(store / "@bot:example.org_DEVICE.db")
    with keys:
        keys.execute("CREATE TABLE accounts (pickle TEXT)")
    keys.close()
    target = tmp_path / "rrm.dump"
    status, out, err = rrm(capsys, "--config", str(path), "backup", str(target))
    database.dispose()
    assert status == 0, err
    assert f"to {target} (pg_restore reads it)" in out and "password" not in out
    assert target.stat().st_mode & 0o777 == 0o600
    listed = subprocess.run(
        ["pg_restore", "--data-only", "--table=partners", "--file=-", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "bk\tB\tFR\tUTC" in listed.stdout
    # The Matrix key store goes beside it, as with SQLite.
    assert (Path(f"{target}.matrix-store") / "@bot:example.org_DEVICE.db").exists()


@pytest.mark.db
def test_first_response_histogram_is_counted_in_the_database(config: Config) -> None:
    database = open_database(config)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    waits = [30.0, 600.0, 2 * 3600.0, 3 * 86400.0, 10 * 86400.0]
    with database.sessions.begin() as session:
        asker = add_asker(session, start, display_name="A", away=False, active=True)
        for wait in [*waits, None]:
            session.add(
                question_row(
                    asker,
                    "q",
                    start,
                    status="answered" if wait is not None else "open",
                    routed_at=start,
                    first_response_at=None if wait is None else start + dt.timedelta(seconds=wait),
                )
            )
    families = {f.name: f for f in MetricsCollector(database.sessions, {}, lambda: 0).collect()}
    samples = {
        (s.name, s.labels.get("le")): s.value
        for s in families["rrm_first_response_seconds"].samples
    }
    database.dispose()
    expected = {"60": 1, "900": 2, "3600": 2, "14400": 3, "86400": 3, "259200": 4, "604800": 4}
    for bound, count in expected.items():
        assert samples[("rrm_first_response_seconds_bucket", bound)] == count, bound
    assert samples[("rrm_first_response_seconds_bucket", "+Inf")] == 5
    assert samples[("rrm_first_response_seconds_count", None)] == 5
    assert abs(samples[("rrm_first_response_seconds_sum", None)] - sum(waits)) < 1e-3 * sum(waits)
