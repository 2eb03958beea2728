"""Take in, while the bot runs, fiches `rrm kb import` and models `rrm kb calibrate` stored."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging

from bot.assembly import build_triage, calibrated_model
from ground.config import Config
from ground.storage.database import Database
from ground.storage.labels_repo import latest_fit_id
from handlers.context import Services
from knowledge.embedder import Embedder
from knowledge.repository import collection_state
from routing.answerability import AnswerabilityModel

__all__ = ["KnowledgeReloader"]

log = logging.getLogger(__name__)

State = tuple[int, dt.datetime | None]


class KnowledgeReloader:
    """Looks now and then whether the stored fiches or model changed, and swaps in the new.

    For fiches it waits until two looks in a row see the same changed collection: an import
    commits large collections in chunks, and the bot should search the finished one, not
    rebuild its index after every chunk. A newly calibrated model is stored in one commit,
    so the first look that sees it swaps it in.
    """

    def __init__(
        self,
        config: Config,
        database: Database,
        embedder: Embedder,
        services: Services,
        loaded: State,
        fit: int | None = None,
    ) -> None:
        self.config = config
        self.database = database
        self.embedder = embedder
        self.services = services
        self._loaded = loaded
        self._seen = loaded
        # The calibrated model in use (its id in answerability_fits; None: the shipped one).
        self._fit = fit
        self._model = services.triage.model

    def state(self) -> tuple[State, int | None]:
        """The stored collection's fingerprint and the newest calibrated model's id, now."""
        with self.database.sessions() as session:
            return collection_state(session, self.embedder.name), latest_fit_id(session)

    def check(self) -> bool:
        """Swap in a rebuilt search or a newer model if there is one; True if it swapped."""
        current, fit = self.state()
        if current != self._loaded and current == self._seen:
            # A change committed while this rebuilds is seen by the next looks. The rebuilt
            # triage reads the newest model too (one at least as new as ``fit``).
            triage = build_triage(self.config, self.database, self.embedder)
            self.services.triage = triage  # one reference swap: a question sees old or new
            self._loaded, self._fit, self._model = current, fit, triage.model
            log.info("knowledge base changed: now searching %d fiche versions", current[0])
            return True
        self._seen = current
        if fit != self._fit:
            with self.database.sessions() as session:
                model = calibrated_model(session)
            self._model, self._fit = model or AnswerabilityModel.load(), fit
            if model is not None:
                log.info("answer-or-route model #%s (rrm kb calibrate) now in use", fit)
            else:
                log.info("the shipped answer-or-route model is in use")
        elif self.services.triage.model is self._model:
            return False
        # A search refreshed meanwhile (an approved draft) may have been built on the triage
        # before the model changed: the model is put back in either case.
        triage = copy.copy(self.services.triage)
        triage.model = self._model
        self.services.triage = triage
        return True

    async def run(self, every_seconds: float) -> None:
        """Check every ``every_seconds`` until cancelled."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await asyncio.to_thread(self.check)
            except Exception:
                log.exception("reloading the knowledge base failed; the next look tries again")
