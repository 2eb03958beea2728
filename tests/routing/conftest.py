"""Shared fixtures of the routing tests: the example config on a collection, imported once."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from bot.assembly import import_fiches, open_database
from ground.config import load_config
from knowledge.embedder import Embedder
from tests.conftest import SAMPLE_FICHES, example_config_text


def imported_config(folder: Path, embedder: Embedder, fiches: Iterable[str] = ()) -> Path:
    """The example config on its own SQLite database in ``folder``, the fiches imported.

    ``fiches`` names sample fiches to copy; none copies the whole sample collection.
    """
    names = list(fiches)
    if names:
        for fiche in names:
            shutil.copytree(SAMPLE_FICHES / fiche, folder / "fiches" / fiche)
    else:
        shutil.copytree(SAMPLE_FICHES, folder / "fiches")
    text = example_config_text().replace(
        'url = "sqlite:///rrm.db"', f'url = "sqlite:///{folder / "rrm.db"}"'
    )
    path = folder / "config.toml"
    path.write_text(text, "utf-8")
    config = load_config(path, environ={})
    database = open_database(config)
    import_fiches(config, database, embedder, folder / "fiches")
    database.dispose()
    return path
