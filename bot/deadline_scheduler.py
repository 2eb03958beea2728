"""APScheduler drives the question clocks: a job at the next due instant and a periodic sweep."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ground.clock import Clock
from handlers.deadlines import DeadlineKeeper

__all__ = ["DeadlineScheduler"]

log = logging.getLogger(__name__)
NEXT_JOB = "deadline-next"
SWEEP_JOB = "deadline-sweep"
MIN_DELAY_SECONDS = 0.5


class DeadlineScheduler:
    """Runs sweeps of the deadline steps; the database, not the scheduler, holds what is due.

    The scheduler runs on real time while "now" comes from the injected clock: the one-shot
    job is set at the real instant when the clock will reach the next due step, and the
    periodic sweep catches anything else (a step planned by another process, a moved clock).
    """

    def __init__(
        self,
        keeper: DeadlineKeeper,
        clock: Clock,
        sweep_seconds: float,
        on_fired: Callable[[], None] = lambda: None,
    ) -> None:
        self.keeper = keeper
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.on_fired = on_fired
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        # One sweep at a time in this process; other processes are kept apart by the database.
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Fire whatever fell due while the bot was stopped, then start the jobs."""
        self.scheduler.add_job(
            self._job,
            "interval",
            seconds=self.sweep_seconds,
            id=SWEEP_JOB,
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.start()
        await self.sweep()

    async def stop(self) -> None:
        """Stop the jobs once a sweep under way has finished its transaction."""
        async with self._lock:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)

    async def _job(self) -> None:
        try:
            await self.sweep()
        except asyncio.CancelledError:
            # Cancelled by stop() while waiting for the lock: nothing had started.
            log.debug("deadline sweep cancelled by shutdown")

    async def sweep(self) -> int:
        """Fire every due step, then set the one-shot job at the next due instant."""
        async with self._lock:
            try:
                fired = await asyncio.to_thread(self.keeper.fire_due)
            except Exception:
                # No one-shot job now, or a lasting fault would loop; the periodic sweep retries.
                log.exception("deadline sweep failed; the next periodic sweep tries again")
                return 0
            if fired:
                self.on_fired()
            await self.reschedule()
            return fired

    async def reschedule(self) -> None:
        """Set the one-shot job at the next due step (after new questions or a replan)."""
        try:
            next_due = await asyncio.to_thread(self.keeper.next_due)
        except Exception as error:
            # The database may be away; the periodic sweep finds the step when it is back.
            log.warning("deadline reschedule skipped (%s): the next sweep catches up", error)
            return
        if next_due is None or not self.scheduler.running:
            return
        # A step still due after a sweep is held by another process: look again shortly.
        delay = max((next_due - self.clock.now()).total_seconds(), MIN_DELAY_SECONDS)
        run_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
        self.scheduler.add_job(
            self._job,
            "date",
            run_date=run_at,
            id=NEXT_JOB,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def next_run(self) -> dt.datetime | None:
        """When the one-shot job runs next (real time), if one is set."""
        job = self.scheduler.get_job(NEXT_JOB)
        return job.next_run_time if job is not None else None
