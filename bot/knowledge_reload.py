"""Pick up fiches that `rrm kb import` stored while the bot runs: search the new collection."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.assembly import build_triage
from bot.ground.config import Config
from bot.ground.storage.database import Database
from handlers.context import Services
from knowledge.embedder import Embedder
from knowledge.repository import collection_state

__all__ = ["KnowledgeReloader"]

log = logging.getLogger(__name__)

State = tuple[int, dt.datetime | None]


class KnowledgeReloader:
    """Looks now and then whether the stored fiches changed, and swaps in a rebuilt triage.

    It waits until two looks in a row see the same changed collection: an import commits
    large collections in chunks, and the bot should search the finished one, not rebuild its
    index after every chunk.
    """

    def __init__(
        self,
        config: Config,
        database: Database,
        embedder: Embedder,
        services: Services,
        loaded: State,
    ) -> None:
        self.config = config
        self.database = database
        self.embedder = embedder
        self.services = services
        self._loaded = loaded
        self._seen = loaded

    def state(self) -> State:
        """The stored collection's fingerprint now."""
        with self.database.sessions() as session:
            return collection_state(session, self.embedder.name)

    def check(self) -> bool:
        """Rebuild the search if the collection changed and has settled; True if rebuilt."""
        current = self.state()
        if current == self._loaded or current != self._seen:
            self._seen = current
            return False
        # A change committed while this rebuilds is seen by the next looks.
        triage = build_triage(self.config, self.database, self.embedder)
        self.services.triage = triage  # one reference swap: a question sees old or new
        self._loaded = current
        log.info("knowledge base changed: now searching %d fiche versions", current[0])
        return True

    async def run(self, every_seconds: float) -> None:
        """Check every ``every_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await asyncio.to_thread(self.check)
            except Exception:
                log.exception("reloading the knowledge base failed; the next look tries again")
