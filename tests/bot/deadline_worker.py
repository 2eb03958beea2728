"""One bot process's deadline sweeps, for the exactly-once race test: ``python -m`` this."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys

from ground.clock import FixedClock
from ground.config import DatabaseConfig, load_config
from ground.storage.database import Database
from handlers.deadlines import DeadlineKeeper
from handlers.i18n import Translator
from tests.conftest import EXAMPLE_CONFIG


def main() -> None:
    url, now, batch = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2]), int(sys.argv[3])
    config = dataclasses.replace(
        load_config(EXAMPLE_CONFIG, environ={}), database=DatabaseConfig(url=url)
    )
    database = Database(url)
    keeper = DeadlineKeeper(
        config=config,
        sessions=database.sessions,
        clock=FixedClock(now),
        texts=Translator(config.languages.supported),
        channels=("console",),
        worker=f"worker-{os.getpid()}",
    )
    print("ready", flush=True)
    sys.stdin.readline()  # every process starts sweeping at the same moment
    taken = 0
    while True:
        taken += keeper.fire_due(limit=batch)
        upcoming = keeper.next_due()
        if upcoming is None or upcoming > now:
            break
    database.dispose()
    print(f"taken {taken}", flush=True)


if __name__ == "__main__":
    main()
