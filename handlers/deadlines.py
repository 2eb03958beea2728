"""Question clocks: plan each question's reminders and escalations, and fire those that fall due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ground.clock import Clock
from ground.config import Config
from ground.storage import deadline_repo, repo
from ground.storage.deadline_repo import StepContext
from ground.storage.models import Assignment, DeadlineStep, Person, Question
from ground.vocabulary import (
    AssignmentRole,
    EndReason,
    EscalationLevel,
    QuestionStatus,
    StepState,
)
from handlers.assignments import make_primary
from handlers.i18n import Translator, language_name
from handlers.writer import Writer
from routing.deadlines import plan_steps, targets_for

__all__ = ["LEVELS", "DeadlineKeeper", "clocks_changed", "replan_clock", "start_clock"]

LEVELS = tuple(EscalationLevel)
BATCH = 200
# Set in a session's ``info`` when it planned steps: the scheduler's next instant may move.
_PLANNED = "rrm.deadline_steps_planned"


def clocks_changed(session: Session) -> bool:
    """Whether this session planned or moved deadline steps (the next due instant may change)."""
    return bool(session.info.get(_PLANNED))


def _plan(session: Session, config: Config, question: Question, now: dt.datetime) -> None:
    policy = config.deadlines
    targets = targets_for(
        (policy.first_response_hours, policy.resolution_hours),
        {k: (v.first_response_hours, v.resolution_hours) for k, v in policy.by_priority.items()},
        {k: (v.first_response_hours, v.resolution_hours) for k, v in policy.by_topic.items()},
        question.priority,
        question.topic,
    )
    start = question.routed_at or now
    due, planned = plan_steps(
        config.calendar_for(question.partner_id),
        start,
        targets,
        policy.reminders,
        [(step.to, step.after_hours) for step in policy.escalation],
    )
    question.first_response_due, question.resolution_due = due.first_response, due.resolution
    session.info[_PLANNED] = True
    existing = {(s.clock, s.kind, s.step): s for s in deadline_repo.steps_of(session, question.id)}
    for step in planned:
        row = existing.get((step.clock, step.kind, step.step))
        if row is None:
            deadline_repo.add_step(
                session, question.id, step.clock, step.kind, step.step, step.to, step.due_at
            )
        elif row.state == StepState.PENDING:
            row.due_at, row.target = step.due_at, step.to
            if step.kind == "reminder" and step.due_at <= now:
                # A shortened target passed this reminder already: escalations say enough.
                row.state = StepState.CANCELLED


def start_clock(session: Session, config: Config, question: Question, now: dt.datetime) -> None:
    """Set a routed question's deadlines and plan its steps, once.

    A question routed again (a new topic) or reassigned keeps the clock it has.
    """
    if question.first_response_due is not None and deadline_repo.steps_of(session, question.id):
        return
    _plan(session, config, question, now)


def replan_clock(session: Session, config: Config, question: Question, now: dt.datetime) -> None:
    """Recompute the deadlines after a change of priority, from the same start."""
    _plan(session, config, question, now)


@dataclass
class DeadlineKeeper:
    """Fires due steps: each claimed once, its messages written in the same transaction."""

    config: Config
    sessions: sessionmaker[Session]
    clock: Clock
    texts: Translator
    # Channels running in this process, in order of preference for reaching people.
    channels: Sequence[str]
    worker: str = "rrm"

    def fire_due(self, limit: int = BATCH) -> int:
        """Fire every step due now, in batches; return how many this process took."""
        taken = 0
        while True:
            with self.sessions.begin() as session:
                now = self.clock.now()
                ids = deadline_repo.due_step_ids(session, now, limit)
                late_before = now - dt.timedelta(seconds=self.config.deadlines.late_after_seconds)
                steps = deadline_repo.claim_steps(session, ids, self.worker, now, late_before)
                if steps:
                    context = deadline_repo.step_context(session, (s.question_id for s in steps))
                    for step in steps:
                        self._fire(session, context, step, now)
                    deadline_repo.write_outputs(session, context)
                taken += len(steps)
            if len(ids) < limit:
                return taken

    def next_due(self) -> dt.datetime | None:
        """When the next pending step falls due."""
        with self.sessions() as session:
            return deadline_repo.next_due(session)

    def _fire(
        self, session: Session, context: StepContext, step: DeadlineStep, now: dt.datetime
    ) -> None:
        question = context.questions[step.question_id]
        if _settled(step, question):
            step.state = StepState.CANCELLED
            return
        notice = _Notice(self, session, context, question, now)
        level, people = notice.responsible(step.target)
        if step.clock == "resolution":
            notice.resolution_overdue(step)
        elif step.kind == "reminder":
            notice.reminder(step, people)
        else:
            notice.escalation(step, people)
        context.events.append(
            {
                "question_id": question.id,
                "kind": step.kind,
                "actor_id": None,
                "detail": {
                    "step": step.step,
                    "late": step.late,
                    "clock": step.clock,
                    "to": level,
                    "people": [p.config_id for p in people],
                },
                "created_at": now,
            }
        )


def _settled(step: DeadlineStep, question: Question) -> bool:
    if step.clock == "resolution":
        return question.status not in repo.ACTIVE
    return question.status != QuestionStatus.OPEN or question.first_response_at is not None


class _Notice:
    """The messages of one fired step, written to the outbox."""

    def __init__(
        self,
        keeper: DeadlineKeeper,
        session: Session,
        context: StepContext,
        question: Question,
        now: dt.datetime,
    ) -> None:
        self.keeper, self.session, self.context = keeper, session, context
        self.question, self.now = question, now
        self.config = keeper.config
        # Messages are collected and inserted for the whole batch at once.
        self.writer = Writer(
            keeper.config,
            keeper.texts,
            keeper.channels,
            now,
            lambda person_id: context.identities.get(person_id, []),
            context.outbox.append,
        )

    # -- words --------------------------------------------------------------------------
    def t(self, message: str, **values: object) -> str:
        """A message for the experts' space, which works in the network's common language."""
        return self.writer.t_for(None, message, **values)

    def reader(self, person: Person) -> str:
        """The language ``person`` reads."""
        return self.writer.reader(person)

    def t_for(self, person: Person, message: str, **values: object) -> str:
        """A message in ``person``'s language."""
        return self.writer.t_for(person, message, **values)

    def when(self, instant: dt.datetime, person: Person | None = None) -> str:
        """A time in the reader's language and zone (the space's: the default zone)."""
        return self.writer.when(instant, person)

    def late_note(self, step: DeadlineStep, person: Person | None = None) -> str:
        """Say that a step comes late because the bot was not running when it was due."""
        if not step.late:
            return ""
        when = self.when(step.due_at, person)
        # No person: the note is for the experts' space.
        return "\n" + self.writer.t_for(
            person, "(Sent late: this was due at {when}, while the bot was not running.)", when=when
        )

    # -- who ----------------------------------------------------------------------------
    def responsible(self, level: str) -> tuple[str, list[Person]]:
        """Who a step at ``level`` asks; a level with nobody passes to the next one."""
        people = self.context.people
        assignments = self.context.assignments[self.question.id]
        removed = False
        for assignment in list(assignments):
            person = people.get(assignment.person_id)
            if person is None or not person.active:
                # An expert taken out of the config loses the question to the next step.
                assignment.active, assignment.ended_at = False, self.now
                assignment.ended_reason = EndReason.REMOVED
                assignments.remove(assignment)
                removed = removed or assignment.role == AssignmentRole.PRIMARY
        primary = [a.person_id for a in assignments if a.role == AssignmentRole.PRIMARY]
        for name in LEVELS[LEVELS.index(level) :]:
            chosen = self._people(name, assignments, primary)
            if chosen:
                if removed and name in (EscalationLevel.EXPERTS, EscalationLevel.LEAD):
                    self._promote(chosen[0], assignments)
                return name, chosen
        return EscalationLevel.COORDINATORS, []

    def _people(
        self, level: str, assignments: list[Assignment], primary: list[int]
    ) -> list[Person]:
        if level == EscalationLevel.PRIMARY:
            ids = primary
        elif level == EscalationLevel.EXPERTS:
            ids = [a.person_id for a in assignments if a.role != AssignmentRole.PRIMARY]
        elif level == EscalationLevel.LEAD:
            partner = self.config.partner(self.question.partner_id or "")
            lead = (
                self.context.staff(partner.lead_expert) if partner and partner.lead_expert else None
            )
            ids = [lead.id] if lead is not None and lead.id not in primary else []
        else:
            return self.context.coordinators()
        return [self.context.people[i] for i in ids]

    def _promote(self, person: Person, assignments: list[Assignment]) -> None:
        make_primary(
            self.session,
            self.question,
            person,
            self.now,
            assignments,
            "reassigned",
            reason="removed",
        )

    # -- what ---------------------------------------------------------------------------
    def reminder(self, step: DeadlineStep, people: list[Person]) -> None:
        """Remind the assignee in the question's thread."""
        question = self.question
        assert question.first_response_due is not None
        text = self.t(
            "Reminder: question #{number} needs a first answer by {when}.",
            number=question.id,
            when=self.when(question.first_response_due),
        )
        self.post(text + self.late_note(step), mentions=people)

    def escalation(self, step: DeadlineStep, people: list[Person]) -> None:
        """Ask the next people in the thread, tell the coordinators, and the asker once."""
        question = self.question
        assert question.first_response_due is not None
        names = ", ".join(p.display_name for p in people)
        text = self.t(
            "Question #{number} is overdue: its first answer was due {when}. "
            "{people}, please answer it here or /pass it on.",
            number=question.id,
            when=self.when(question.first_response_due),
            people=names,
        )
        self.post(text + self.late_note(step), mentions=people)
        for coordinator in self.context.coordinators():
            self.tell(
                coordinator,
                self.t_for(
                    coordinator,
                    "Escalation: question #{number} ({topic}, {language}) has no answer; "
                    "it was due {when}. Now asked: {people}.",
                    number=question.id,
                    topic=self.config.topic_name(question.topic, self.reader(coordinator)),
                    language=language_name(question.language, self.reader(coordinator)),
                    when=self.when(question.first_response_due, coordinator),
                    people=names,
                )
                + self.late_note(step, coordinator),
            )
        asker = self.context.people.get(question.asker_id)
        if step.step == 0 and asker is not None:
            self.tell(
                asker,
                self.t_for(
                    asker,
                    "We are sorry: the answer to your question #{number} is late (it was due "
                    "{when}). We have asked the experts again and told the network's "
                    "coordinators; you will get the answer here as soon as it is written.",
                    number=question.id,
                    when=self.when(question.first_response_due, asker),
                ),
                channel=question.channel,
            )

    def resolution_overdue(self, step: DeadlineStep) -> None:
        """Tell the thread and the coordinators that a question is still not settled."""
        question = self.question
        assert question.resolution_due is not None
        self.post(
            self.t(
                "Question #{number} is still not resolved: it was due to be settled by {when}.",
                number=question.id,
                when=self.when(question.resolution_due),
            )
            + self.late_note(step)
        )
        for coordinator in self.context.coordinators():
            self.tell(
                coordinator,
                self.t_for(
                    coordinator,
                    "Question #{number} ({topic}, {language}) is not resolved; it was due {when}.",
                    number=question.id,
                    topic=self.config.topic_name(question.topic, self.reader(coordinator)),
                    language=language_name(question.language, self.reader(coordinator)),
                    when=self.when(question.resolution_due, coordinator),
                )
                + self.late_note(step, coordinator),
            )

    # -- where --------------------------------------------------------------------------
    def post(self, text: str, mentions: Sequence[Person] = ()) -> None:
        """Post in the question's thread on every channel where it has one."""
        channels = self.context.threads[self.question.id] or list(self.keeper.channels[:1])
        self.writer.post(self.question.id, text, channels=channels, mentions=mentions)

    def tell(self, person: Person, text: str, channel: str | None = None) -> bool:
        """A private message to ``person`` where they can be reached from this process."""
        return self.writer.tell(person, text, question_id=self.question.id, channel=channel)
