"""The Matrix tests' homeserver (one per session) and accounts, shared by their modules."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_FICHES
from tests.fakes.synapse import Synapse

# A few fiches are enough here, and embedding them all would make this file slow on its own.
FICHES = ("employer-pool-apprenticeships-mayo", "vet-dashboard-twente", "shared-vle-lapland-vet")
# petra shares no room with the bot before her test: a room the bot opens for her is new.
PEOPLE = (
    "bot",
    "claire",
    "jonas",
    "anna",
    "sofia",
    "tomas",
    "mallory",
    "ratebot",
    "herald",
    "petra",
)
BOT = "@bot:localhost"


def password(localpart: str) -> str:
    return f"pw-{localpart}-secret"


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


@pytest.fixture(scope="session")
def few_fiches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fiches")
    for name in FICHES:
        shutil.copytree(SAMPLE_FICHES / name, folder / name)
    return folder
