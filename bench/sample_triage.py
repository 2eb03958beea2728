"""The bench's triage over the sample's fiches alone, on a throw-away SQLite database."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bot.assembly import build_triage, embedder_for, import_fiches, open_database
from ground.config import DatabaseConfig, load_config
from routing.triage import Triage

__all__ = ["sample_triage"]


@contextlib.contextmanager
def sample_triage(config_path: Path, sample: Path) -> Iterator[Triage]:
    """The bot's triage with the config at ``config_path`` and only ``sample``'s fiches."""
    config = load_config(config_path)
    with tempfile.TemporaryDirectory() as folder:
        config = dataclasses.replace(
            config,
            database=DatabaseConfig(url=f"sqlite:///{folder}/sample.db"),
            knowledge=dataclasses.replace(config.knowledge, import_on_start=False),
        )
        database = open_database(config)
        try:
            embedder = embedder_for(config)
            import_fiches(config, database, embedder, sample / "fiches")
            yield build_triage(config, database, embedder)
        finally:
            database.dispose()
