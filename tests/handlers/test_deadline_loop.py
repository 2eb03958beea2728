"""Reminders and escalations end to end through the console channel, with a moved clock."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from bot.channels.console import ConsoleChannel
from ground.clock import FixedClock
from ground.config import Config
from ground.storage.models import (
    Assignment,
    DeadlineStep,
    Event,
    OutboxMessage,
    Person,
    Question,
)
from handlers.events import Delivery, Sent
from tests.conftest import START
from tests.fakes.app import ConsoleSession, console_bot

pytestmark = pytest.mark.db

QUESTION = (
    "How should a company tutor organise the in-company training of an apprentice in a dual "
    "VET apprenticeship?"
)
UTC = dt.UTC
# START is Monday 2 March 2026, 09:00 UTC = 10:00 in Paris, where Claire's partner works
# 09:00-17:00. Her question's clock, 24 working hours:
REMINDER_0 = dt.datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 12 h: Tuesday 14:00 Paris
REMINDER_1 = dt.datetime(2026, 3, 4, 14, 36, tzinfo=UTC)  # 21.6 h: Wednesday 15:36 Paris
DUE = dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # 24 h: Thursday 10:00 Paris
ESCALATE_1 = dt.datetime(2026, 3, 5, 13, 0, tzinfo=UTC)  # +4 h: Thursday 14:00
ESCALATE_2 = dt.datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # +8 h: Friday 10:00
ESCALATE_3 = dt.datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # +16 h: Monday 10:00
RESOLUTION = dt.datetime(2026, 3, 13, 9, 0, tzinfo=UTC)  # 72 h: Friday a week later


@pytest.fixture
def quick(config: Config) -> Config:
    """No fiches (questions go straight to experts); Marco is the Paris partner's lead."""
    partners = tuple(
        dataclasses.replace(p, lead_expert="marco") if p.id == "cm-lot" else p
        for p in config.partners
    )
    return dataclasses.replace(
        config,
        partners=partners,
        knowledge=dataclasses.replace(config.knowledge, import_on_start=False),
    )


async def at(bot: ConsoleSession, instant: dt.datetime) -> str:
    """Move the clock, let the deadline sweep run, send what it wrote; return what printed."""
    bot.clock.set(instant)
    await bot.app.deadlines.sweep()  # type: ignore[union-attr]
    await bot.app.flush()
    return bot.out.new()


def events(bot: ConsoleSession, *kinds: str) -> list[Event]:
    with bot.app.database.sessions() as session:  # type: ignore[union-attr]
        return list(session.scalars(select(Event).where(Event.kind.in_(kinds)).order_by(Event.id)))


def steps(bot: ConsoleSession) -> list[DeadlineStep]:
    with bot.app.database.sessions() as session:  # type: ignore[union-attr]
        return list(session.scalars(select(DeadlineStep).order_by(DeadlineStep.due_at)))


async def ask(bot: ConsoleSession) -> None:
    shown = await bot.say(QUESTION)
    assert "experts' space · thread #1 · Work-based learning · EN · @claire @jonas" in shown
    assert "Expect a first answer by Thu 5 Mar 2026, 09:00" in shown  # Dublin, for "en"


async def test_each_reminder_and_escalation_step(quick: Config, embedder) -> None:
    async with console_bot(quick, embedder) as bot:
        await ask(bot)
        assert [(s.kind, s.step, s.due_at) for s in steps(bot)] == [
            ("reminder", 0, REMINDER_0),
            ("reminder", 1, REMINDER_1),
            ("escalation", 0, DUE),
            ("escalation", 1, ESCALATE_1),
            ("escalation", 2, ESCALATE_2),
            ("escalation", 3, ESCALATE_3),
            ("escalation", 0, RESOLUTION),
        ]
        assert await at(bot, REMINDER_0 - dt.timedelta(seconds=1)) == ""

        shown = await at(bot, REMINDER_0)
        assert "experts' space · thread #1 · @claire" in shown
        assert "Reminder: question #1 needs a first answer by Thu 5 Mar 2026, 10:00 +0100" in shown
        assert "Sent late" not in shown
        assert await at(bot, REMINDER_0 + dt.timedelta(minutes=1)) == ""  # fired once

        shown = await at(bot, REMINDER_1)
        assert shown.count("Reminder: question #1") == 1

        shown = await at(bot, DUE)
        assert "experts' space · thread #1 · @claire" in shown
        assert "Question #1 is overdue" in shown and "Claire Dubois, please answer it" in shown
        assert "── to anna ──" in shown
        assert "Escalation: question #1 (Work-based learning, English) has no answer" in shown
        assert "── to you ──" in shown and "the answer to your question #1 is late" in shown

        shown = await at(bot, ESCALATE_1)
        assert "thread #1 · @jonas" in shown and "Jonas Weber, please answer" in shown
        assert "── to you ──" not in shown  # the asker is told once
        shown = await at(bot, ESCALATE_2)
        assert "thread #1 · @marco" in shown and "Marco Bianchi, please answer" in shown
        await bot.say("/as anna")
        shown = await bot.say("/overdue")
        assert "Late questions (1):" in shown
        assert (
            "#1 · normal · Work-based learning · English · Claire Dubois · first answer was due"
            in shown
        )
        assert "escalations: 3" in shown
        shown = await at(bot, ESCALATE_3)
        assert "thread #1 · @anna" in shown and "Anna Schmidt, please answer" in shown

        await bot.say("/as claire")
        await bot.say("#1 Sorry for the delay: a shared employer group hires the apprentice.")
        shown = await at(bot, RESOLUTION)
        assert "Question #1 is still not resolved" in shown
        assert "Question #1 (Work-based learning, English) is not resolved" in shown

        fired = [
            (e.kind, e.detail["step"], e.detail["late"], e.detail["to"])
            for e in events(bot, "reminder", "escalation")
        ]
        assert fired == [
            ("reminder", 0, False, "primary"),
            ("reminder", 1, False, "primary"),
            ("escalation", 0, False, "primary"),
            ("escalation", 1, False, "experts"),
            ("escalation", 2, False, "lead"),
            ("escalation", 3, False, "coordinators"),
            ("escalation", 0, False, "coordinators"),
        ]
        assert {s.state for s in steps(bot)} == {"fired"}


async def test_answer_a_second_before_the_deadline_stops_escalation(quick, embedder) -> None:
    async with console_bot(quick, embedder) as bot:
        await ask(bot)
        await bot.say("/as anna")
        shown = await bot.say("/reassign 1 jonas")
        assert "now assigned to Jonas Weber" in shown
        # Reassigned mid-clock: the same deadlines, the same steps.
        assert [s.due_at for s in steps(bot)][2] == DUE
        with bot.app.database.sessions() as session:  # type: ignore[union-attr]
            assert session.get(Question, 1).first_response_due == DUE
        await at(bot, REMINDER_0)
        assert len(events(bot, "reminder")) == 1
        bot.clock.set(DUE - dt.timedelta(seconds=1))
        await bot.say("/as jonas")
        shown = await bot.say("#1 A shared employer group hires the apprentice.")
        assert "Jonas Weber (Bildungswerk Bayern) answers your question #1" in shown
        shown = await at(bot, ESCALATE_3 + dt.timedelta(days=1))
        assert "overdue" not in shown
        assert events(bot, "escalation") == []
        states = {(s.kind, s.step, s.clock): s.state for s in steps(bot)}
        assert states[("escalation", 0, "first_response")] == "cancelled"
        assert states[("reminder", 1, "first_response")] == "cancelled"
        assert states[("escalation", 0, "resolution")] == "pending"


async def test_urgent_and_priority_recompute_the_clock(quick, embedder) -> None:
    async with console_bot(quick, embedder) as bot:
        await ask(bot)
        bot.clock.advance(dt.timedelta(hours=1))
        shown = await bot.say("/urgent 1")
        # 4 working hours from routing (Monday 10:00 Paris): 14:00 Paris, 13:00 in Dublin.
        assert "Question #1 is now urgent. Expect a first answer by Mon 2 Mar 2026, 13:00" in shown
        assert "thread #1" in shown and "now has priority urgent" in shown
        assert "already urgent" in await bot.say("/urgent")
        assert "no question of yours" in await bot.say("/urgent 7")
        pending = {(s.kind, s.step): s.due_at for s in steps(bot) if s.clock == "first_response"}
        assert pending[("escalation", 0)] == dt.datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
        assert pending[("reminder", 0)] == dt.datetime(2026, 3, 2, 11, 0, tzinfo=UTC)

        await bot.say("/as anna")
        assert "Usage: /priority" in await bot.say("/priority 1 asap")
        assert "No open question #9." in await bot.say("/priority 9 high")
        assert "No question is late." in await bot.say("/overdue")
        shown = await bot.say("/priority 1 normal")
        assert "Question #1 now has priority normal; first answer due Thu 5 Mar 2026" in shown
        with bot.app.database.sessions() as session:  # type: ignore[union-attr]
            question = session.get(Question, 1)
            assert question.priority == "normal" and question.first_response_due == DUE
        kinds = [(e.detail["previous"], e.detail["priority"]) for e in events(bot, "priority")]
        assert kinds == [("normal", "urgent"), ("urgent", "normal")]
        # The asker's commands are not a coordinator's: /priority is unknown to askers.
        await bot.say("/as you")
        assert "I do not know the command /priority" in await bot.say("/priority 1 low")


async def test_restart_fires_missed_steps_once_and_late(quick, embedder, tmp_path) -> None:
    async with console_bot(quick, embedder) as bot:
        await ask(bot)
    # Down from Monday to Thursday afternoon: two reminders and two escalations were missed.
    clock = FixedClock(ESCALATE_1 + dt.timedelta(hours=1))
    async with console_bot(quick, embedder, clock=clock) as bot:
        await bot.app.flush()
        fired = events(bot, "reminder", "escalation")
        assert [(e.kind, e.detail["step"], e.detail["late"]) for e in fired] == [
            ("reminder", 0, True),
            ("reminder", 1, True),
            ("escalation", 0, True),
            ("escalation", 1, True),
        ]
        with bot.app.database.sessions() as session:  # type: ignore[union-attr]
            texts = list(
                session.scalars(
                    select(OutboxMessage.text).where(OutboxMessage.text.contains("Sent late"))
                )
            )
            unsent = session.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent"))
            assert list(unsent) == []
        assert any("this was due at Tue 3 Mar 2026, 14:00 +0100" in t for t in texts)
    async with console_bot(quick, embedder, clock=clock) as bot:
        await bot.app.flush()
        assert len(events(bot, "reminder", "escalation")) == 4  # nothing fires twice


async def test_removed_expert_loses_the_question_to_the_next_step(quick, embedder) -> None:
    async with console_bot(quick, embedder) as bot:
        await ask(bot)
    without_claire = dataclasses.replace(
        quick, experts=tuple(e for e in quick.experts if e.id != "claire")
    )
    async with console_bot(without_claire, embedder, clock=FixedClock(REMINDER_0)) as bot:
        await bot.app.flush()
        [reminder] = events(bot, "reminder")
        assert reminder.detail["to"] == "experts" and reminder.detail["people"] == ["jonas"]
        with bot.app.database.sessions() as session:  # type: ignore[union-attr]
            primary = session.scalars(
                select(Person.config_id)
                .join(Assignment, Assignment.person_id == Person.id)
                .where(Assignment.active.is_(True), Assignment.role == "primary")
            )
            assert list(primary) == ["jonas"]
            reminder_text = session.scalar(
                select(OutboxMessage).where(OutboxMessage.text.startswith("Reminder"))
            )
            assert reminder_text.mentions == [["jonas", "Jonas Weber"]]


class FlakyConsole(ConsoleChannel):
    """A console whose first attempt to send a reminder fails, as a network fault would."""

    failed = 0

    async def send(self, delivery: Delivery) -> Sent:
        if delivery.text.startswith("Reminder") and not self.failed:
            FlakyConsole.failed += 1
            raise ConnectionError("network down")
        return await super().send(delivery)


async def test_failed_reminder_is_retried_not_doubled(quick, embedder) -> None:
    FlakyConsole.failed = 0
    async with console_bot(quick, embedder, console_type=FlakyConsole) as bot:
        await ask(bot)
        shown = await at(bot, REMINDER_0)
        assert "Reminder" not in shown and FlakyConsole.failed == 1
        shown = await at(bot, REMINDER_0 + dt.timedelta(seconds=5))  # after the outbox back-off
        assert shown.count("Reminder: question #1") == 1
        assert await at(bot, REMINDER_0 + dt.timedelta(minutes=5)) == ""
        assert len(events(bot, "reminder")) == 1
        with bot.app.database.sessions() as session:  # type: ignore[union-attr]
            row = session.scalar(
                select(OutboxMessage).where(OutboxMessage.text.startswith("Reminder"))
            )
            assert row.status == "sent" and row.attempts == 2


async def test_apscheduler_fires_the_next_step_on_its_own(quick, embedder) -> None:
    slow_sweep = dataclasses.replace(
        quick, deadlines=dataclasses.replace(quick.deadlines, sweep_seconds=3600)
    )
    async with console_bot(slow_sweep, embedder) as bot:
        await ask(bot)
        scheduler = bot.app.deadlines
        assert scheduler is not None
        wait = scheduler.next_run() - dt.datetime.now(UTC)  # type: ignore[operator]
        # The one-shot job waits (in real time) as long as the clock has to go to reminder 0.
        assert dt.timedelta(hours=27) < wait <= REMINDER_0 - START
        bot.clock.set(REMINDER_0)
        await scheduler.reschedule()  # the job is now due at once; APScheduler runs it
        for _ in range(100):
            if events(bot, "reminder"):
                break
            await asyncio.sleep(0.05)
        assert [e.detail["step"] for e in events(bot, "reminder")] == [0]


async def test_only_events_that_plan_steps_move_the_one_shot_job(quick, embedder) -> None:
    slow_sweep = dataclasses.replace(
        quick, deadlines=dataclasses.replace(quick.deadlines, sweep_seconds=3600)
    )
    async with console_bot(slow_sweep, embedder) as bot:
        scheduler = bot.app.deadlines
        assert scheduler is not None
        looked = 0
        next_due = scheduler.keeper.next_due

        def counting() -> dt.datetime | None:
            nonlocal looked
            looked += 1
            return next_due()

        scheduler.keeper.next_due = counting  # type: ignore[method-assign]
        await bot.say("/status")
        await bot.say("/help")
        assert looked == 0 and scheduler.next_run() is None  # nothing asked the database
        await ask(bot)  # routed: its steps are planned, so the job is set at the first one
        assert looked == 1
        wait = scheduler.next_run() - dt.datetime.now(UTC)  # type: ignore[operator]
        assert dt.timedelta(hours=27) < wait <= REMINDER_0 - START
        await bot.say("/status")
        assert looked == 1
