"""The dashboard's question list (searched, filtered, sorted and paged in SQL) and one question."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from ground.storage import repo
from ground.storage.deadline_repo import past_due
from ground.storage.gaps_repo import unanswered_by_fiches
from ground.storage.models import (
    MAX_ID,
    Assignment,
    DeadlineStep,
    Event,
    FicheAnswer,
    Person,
    Question,
    RelayedMessage,
    UTCDateTime,
)

__all__ = [
    "QuestionFilter",
    "QuestionPage",
    "QuestionRow",
    "QuestionStory",
    "ThreadEntry",
    "list_questions",
    "question_story",
]

# SQLite's word index of the questions' text (migration 0015), outside the models.
SEARCH = table("questions_search", column("rowid"), column("questions_search"))
# PostgreSQL's stored words of each question's text (migration 0016), outside the models too.
WORDS_STORED: ColumnElement[Any] = literal_column("questions.search_words")
# A word of a search: letters and digits; anything else separates words, as in both indexes.
WORD = re.compile(r"[^\W_]+")
COUNTED = 10_000
# Up to this many questions holding the searched text, the page is read from the index's list.
FEW = COUNTED

# The next deadline; migration 0013 indexes it for the active questions.
DUE = func.coalesce(Question.first_response_due, Question.resolution_due)
# Each order is an index's very expressions, so that a page walks the index and stops when
# full: ix_questions_created_at, and for the next deadline ix_questions_due_order (0017).
SORTS = {
    "newest": (Question.created_at.desc(), Question.id.desc()),
    "oldest": (Question.created_at.asc(), Question.id.asc()),
    "due": (DUE.is_(None), DUE, Question.id),
}
# An overdue question always has a deadline: its list walks the index of 0013 in order.
OVERDUE_BY_DUE = (DUE, Question.id)
# The statuses as literals, not bound values: SQLite uses the partial index of migration
# 0013 only for a query holding its very condition.
ACTIVE_LITERALS: list[ColumnElement[Any]] = [
    literal_column(f"'{status}'") for status in repo.ACTIVE
]


@dataclass(frozen=True)
class QuestionFilter:
    """What a coordinator searches for; empty fields do not filter."""

    search: str = ""  # words of the text, a question number, or the asker's organisation
    status: str = ""
    topic: str = ""
    language: str = ""
    partner: str = ""
    expert: str = ""  # an expert's config id, among those assigned at any time
    overdue: bool = False
    gap: bool = False  # only questions no fiche answered (see gaps_repo)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    sort: str = "newest"
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class QuestionRow:
    """One line of the list."""

    id: int
    asked_at: dt.datetime
    text: str
    language: str
    topic: str
    status: str
    partner: str
    organisation: str
    experts: tuple[str, ...]
    overdue: bool


@dataclass(frozen=True)
class QuestionPage:
    """A page of the list and how many questions match in all."""

    rows: list[QuestionRow]
    total: int
    page: int
    pages: int
    more: bool = False  # more than ``total`` match: the count stopped there


def _overdue(now: dt.datetime) -> Any:
    return and_(Question.status.in_(ACTIVE_LITERALS), past_due(now))


def _among(session: Session, ids: list[int], number: Any = Question.id) -> ColumnElement[bool]:
    """``number`` (a question's id unless told) is one of ``ids``, sent as one value.

    Thousands of bound numbers (an IN list) cost both planners more than the search itself
    (0.45 s for 6,689 on PostgreSQL); a JSON array on SQLite, an array on PostgreSQL do not.
    """
    if session.get_bind().dialect.name == "sqlite":
        each = func.json_each(json.dumps(ids)).table_valued("value")
        return number.in_(select(each.c.value))
    return number == any_(literal(ids, ARRAY(Integer)))


def _search(
    session: Session, words: str, filters: list[Any], numbers: tuple[int, int] | None
) -> tuple[list[ColumnElement[bool]], list[int] | None]:
    """The questions matching ``filters`` and ``words``: listed, or the conditions of a walk.

    A question matches ``words`` if it holds every word of them (each the start of a word of
    its text, in any order, case and accents folded) or its asker's organisation contains them.
    The word index of migrations 0015 and 0016 (an FTS5 table on SQLite, a GIN index of the
    stored words on PostgreSQL) lists the matching questions, once. Up to FEW of them, the
    page reads those; past FEW, it walks its own order testing each question, where a page
    fills within the first few hundred rows (the index would list them all, and the
    planners, misjudging how many, would read and sort them: 0.6 s for a common word). So
    this returns either no conditions and the (sorted) ids listed, at most FEW, or the
    conditions of the walk and None: more than FEW match, and the count stopped.
    ``numbers``, when known, bound the numbers of the questions the filters can match.
    """
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # The askers first (people are few): when none matches, as for most searches, the
    # questions are not walked looking for theirs (0.3 s for a search and a status).
    askers = session.scalars(
        select(Person.id).where(func.lower(Person.organisation).like(f"%{escaped}%", escape="\\"))
    ).all()
    theirs = _among(session, sorted(askers), Question.asker_id) if askers else false()
    ids: set[int] = set()
    if askers:
        ids.update(session.scalars(select(Question.id).where(theirs, *filters).limit(FEW + 1)))
    listed = _listed(session, words, filters, numbers)
    if listed is not None:
        ids.update(session.scalars(listed.limit(FEW + 1)))
    if len(ids) <= FEW:
        return [], sorted(ids)
    return [or_(_walked(session, words), theirs), *filters], None


def _listed(
    session: Session, words: str, filters: list[Any], numbers: tuple[int, int] | None = None
) -> Select[Any] | None:
    """The ids of the questions holding ``words`` and matching ``filters``, from the index.

    None when ``words`` has no word at all: only the organisation can match. SQLite reads only
    the index's entries within ``numbers`` (lowest, highest), when given.
    """
    if not WORD.search(words):
        return None
    if session.get_bind().dialect.name == "sqlite":
        # Each word quoted (FTS5 syntax is not the coordinator's) and taken as a prefix.
        wanted = " AND ".join(f'"{word}"*' for word in WORD.findall(words))
        listed = select(SEARCH.c.rowid).where(SEARCH.c.questions_search.op("MATCH")(wanted))
        if numbers is not None:
            # FTS5 starts at the lowest number: for the last 30 days of a common word it read
            # and looked up the 250,000 older matches first (0.2-0.5 s).
            listed = listed.where(SEARCH.c.rowid.between(*numbers))
        # Read straight from the index when nothing else filters (0.07 s, against 0.2 s
        # through the questions, for 10,000 of a common word).
        return select(Question.id).where(Question.id.in_(listed), *filters) if filters else listed
    held = WORDS_STORED.op("@@")(func.rrm_search_query(words))
    return select(Question.id).where(held, *filters)


def _walked(session: Session, words: str) -> ColumnElement[bool]:
    """Whether a question holds ``words``, tested question by question in a walk."""
    if not WORD.search(words):
        return false()
    listed = _listed(session, words, [])
    assert listed is not None
    if session.get_bind().dialect.name == "sqlite":
        # Not the index's `id` but `id + 0`, on purpose: SQLite, expecting few matches, would
        # read and sort every match instead of walking the page's order.
        return (Question.id + 0).in_(listed)
    # The stored words themselves, which PostgreSQL has statistics on: on a bare expression it
    # guessed a handful of matches and sorted every match of three common words (6.8 s).
    return WORDS_STORED.op("@@")(func.rrm_search_query(words))


# A walk in the page's order on PostgreSQL: no sort of every match (it must read an index in
# that order), and neither parallel workers nor JIT, whose start costs more than the walk.
WALK_SETTINGS = ("enable_sort = off", "max_parallel_workers_per_gather = 0", "jit = off")
# The next-deadline order within a period of at most PERIOD_SORTED questions, on PostgreSQL:
# the period's questions read (through the index of created_at, as a bitmap) and sorted.
PERIOD_SORTED = 100_000
SORT_SETTINGS = ("enable_indexscan = off", "max_parallel_workers_per_gather = 0", "jit = off")


@contextmanager
def _planned(session: Session, settings: tuple[str, ...]) -> Iterator[None]:
    """PostgreSQL plans the page query with ``settings`` (SET LOCAL, reset right after).

    Walks (WALK_SETTINGS), for a query of more than FEW found questions: its estimate of a
    prefix search is a fixed 2 % of the rows (272,683 of a million found "apprenticeship", 3
    rows for three common words found in 20,346): for page 100 of a word it listed and sorted
    every match (0.6 s) rather than walk 5,000 in order (0.03 s), and for three words it read
    the whole table (0.6 s) rather than the first 2,400 rows (1 ms).

    Sorts (SORT_SETTINGS) a short period in next-deadline order: taking each question's time
    as independent of its deadline, it walked the deadline index, where the last 30 days of a
    year come after 614,000 older deadlines (0.26 s; the 82,000 sorted take 0.1 s).
    """
    if not settings or session.get_bind().dialect.name != "postgresql":
        yield
        return
    for setting in settings:
        session.execute(text(f"SET LOCAL {setting}"))
    try:
        yield
    finally:
        for setting in settings:
            session.execute(text(f"RESET {setting.split()[0]}"))


def _period(wanted: QuestionFilter, asked: Any = Question.created_at) -> list[ColumnElement[bool]]:
    """The conditions of the period asked for, if any, on ``asked`` (the time asked unless told)."""
    period = []
    if wanted.start is not None:
        period.append(asked >= wanted.start)
    if wanted.end is not None:
        period.append(asked < wanted.end)
    return period


# The time asked, which SQLite cannot look up in an index (a unary plus): a long period in
# next-deadline order then walks the deadline index instead of reading and sorting the period
# (830,000 questions for ten months of a million: 0.4 s, with a common word 0.7 s).
UNINDEXED_ASKED = type_coerce(literal_column("+questions.created_at"), UTCDateTime)


def _numbers_within(session: Session, period: list[ColumnElement[bool]]) -> tuple[int, int]:
    """The lowest and highest number of the questions asked in ``period`` ((1, 0) if none)."""
    low, high = session.execute(
        select(func.min(Question.id), func.max(Question.id)).where(*period)
    ).one()
    return (1, 0) if low is None else (int(low), int(high))


def _short(session: Session, period: list[ColumnElement[bool]]) -> bool:
    """Whether at most PERIOD_SORTED questions were asked in ``period``."""
    asked = select(Question.id).where(*period).limit(PERIOD_SORTED + 1)
    return int(session.scalar(select(func.count()).select_from(asked.subquery())) or 0) <= (
        PERIOD_SORTED
    )


def list_questions(session: Session, wanted: QuestionFilter, now: dt.datetime) -> QuestionPage:
    """The questions matching ``wanted``, one page of them, in the order it asks for."""
    asker = Person
    conditions: list[Any] = []
    for field_, value in [
        (Question.status, wanted.status),
        (Question.topic, wanted.topic),
        (Question.language, wanted.language),
        (Question.partner_id, wanted.partner),
    ]:
        if value:
            conditions.append(field_ == value)
    if wanted.expert:
        expert = select(Person.id).where(Person.config_id == wanted.expert).scalar_subquery()
        conditions.append(
            exists().where(Assignment.question_id == Question.id, Assignment.person_id == expert)
        )
    if wanted.overdue:
        conditions.append(_overdue(now))
    if wanted.gap:
        conditions.append(unanswered_by_fiches())
    sqlite = session.get_bind().dialect.name == "sqlite"
    search = wanted.search.strip()
    number = search.lstrip("#")
    worded = bool(search) and not number.isdecimal()
    period = _period(wanted)
    by_deadline = wanted.sort == "due" and not wanted.overdue
    # How long the period is matters to the next-deadline order and to SQLite's word index.
    short = bool(period) and (by_deadline or (sqlite and worded)) and _short(session, period)
    if period and by_deadline and not short and sqlite:
        period = _period(wanted, UNINDEXED_ASKED)
    conditions += period
    if number.isdecimal():
        # Past the database's integers a number names no question (it would raise there).
        conditions.append(Question.id == int(number) if int(number) <= MAX_ID else false())
    listed: list[int] | None = None  # the questions the word index listed, all of them
    walked = False  # or the page walks its order, testing each question
    if worded:
        numbers = _numbers_within(session, period) if short and sqlite else None
        conditions, listed = _search(session, search, conditions, numbers)
        walked = listed is None
        total = COUNTED + 1 if listed is None else len(listed)
    else:
        # Counting stops past COUNTED: an exact count of a million rows costs more than the page.
        base = select(Question.id).where(*conditions).limit(COUNTED + 1)
        total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    per_page = max(1, min(wanted.per_page, 200))
    more = total > COUNTED
    pages = max(1, -(-total // per_page))
    page = max(1, min(wanted.page, pages)) if not more else max(1, wanted.page)
    order = SORTS.get(wanted.sort, SORTS["newest"])
    if wanted.sort == "due" and wanted.overdue:
        order = OVERDUE_BY_DUE
    if listed is not None:
        conditions = [Question.id.in_(_page_of(session, listed, order, page, per_page))]
    query = (
        select(Question, asker.organisation, _overdue(now))
        .join(asker, asker.id == Question.asker_id)
        .where(*conditions)
        .order_by(*order)
    )
    if listed is None:
        query = query.offset((page - 1) * per_page).limit(per_page)
    settings = WALK_SETTINGS if walked else ()
    if by_deadline and short and listed is None:
        # A short period in next-deadline order: its questions sorted (SQLite chooses that
        # itself); a longer one walks the deadline index (PostgreSQL chooses that itself).
        settings = SORT_SETTINGS
    with _planned(session, settings):
        found = session.execute(query).all()
    experts = _experts(session, [question.id for question, _, _ in found])
    rows = [
        QuestionRow(
            id=question.id,
            asked_at=question.created_at,
            text=question.text,
            language=question.language,
            topic=question.topic or "",
            status=question.status,
            partner=question.partner_id or "",
            organisation=organisation or "",
            experts=tuple(experts.get(question.id, [])),
            overdue=bool(late),
        )
        for question, organisation, late in found
    ]
    return QuestionPage(rows=rows, total=min(total, COUNTED), page=page, pages=pages, more=more)


def _page_of(
    session: Session, listed: list[int], order: Any, page: int, per_page: int
) -> list[int]:
    """The numbers of one page of the ``listed`` questions, sorted by their order's keys alone.

    Looking up each listed question and sorting only its keys costs about the same for any
    page (0.02-0.05 s for 10,000 on a million questions); walking the order instead, testing
    each question, reached the last page of 4,201 after the whole table (0.4-0.9 s).
    """
    if not listed:
        return []
    numbers = (
        select(Question.id)
        .where(_among(session, listed))
        .order_by(*order)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(session.scalars(numbers))


def _experts(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """The names of the experts assigned now to each question, primary first."""
    if not ids:
        return {}
    query = (
        select(Assignment.question_id, Person.display_name, Person.config_id)
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.question_id.in_(ids), Assignment.active.is_(True))
        .order_by(Assignment.question_id, Assignment.role.desc(), Person.display_name)
    )
    names: dict[int, list[str]] = {}
    for question_id, name, config_id in session.execute(query):
        names.setdefault(question_id, []).append(name or config_id or "?")
    return names


@dataclass(frozen=True)
class ThreadEntry:
    """One message of a question's thread: relayed either way, or an internal note."""

    at: dt.datetime
    author: str
    kind: str  # to_asker | to_experts | note
    text: str


@dataclass
class QuestionStory:
    """Everything the database keeps about one question, for its page."""

    question: Question
    asker: Person
    assignments: list[tuple[Assignment, Person]] = field(default_factory=list)
    fiche_answers: list[FicheAnswer] = field(default_factory=list)
    messages: list[tuple[RelayedMessage, Person]] = field(default_factory=list)
    thread: list[ThreadEntry] = field(default_factory=list)
    timeline: list[tuple[dt.datetime, str, str]] = field(default_factory=list)
    # Why each expert (by config id) holds the question, from the latest event that says so.
    why: dict[str, str] = field(default_factory=dict)


def question_story(session: Session, question_id: int) -> QuestionStory | None:
    """The question ``question_id`` with its route, fiches, thread and timeline; None if none."""
    question = session.get(Question, question_id)
    if question is None:
        return None
    asker = session.get(Person, question.asker_id)
    assert asker is not None
    story = QuestionStory(question=question, asker=asker)
    story.assignments = [
        (assignment, person)
        for assignment, person in session.execute(
            select(Assignment, Person)
            .join(Person, Person.id == Assignment.person_id)
            .where(Assignment.question_id == question_id)
            .order_by(Assignment.created_at, Assignment.id)
        )
    ]
    story.fiche_answers = list(
        session.scalars(
            select(FicheAnswer)
            .where(FicheAnswer.question_id == question_id)
            .order_by(FicheAnswer.created_at)
        )
    )
    story.messages = [
        (message, person)
        for message, person in session.execute(
            select(RelayedMessage, Person)
            .join(Person, Person.id == RelayedMessage.author_id)
            .where(RelayedMessage.question_id == question_id)
            .order_by(RelayedMessage.created_at, RelayedMessage.id)
        )
    ]
    thread = [
        ThreadEntry(message.created_at, _name(author), message.direction, message.text)
        for message, author in story.messages
    ]
    timeline: list[tuple[dt.datetime, str, str]] = []
    for event, actor in session.execute(
        select(Event, Person)
        .outerjoin(Person, Person.id == Event.actor_id)
        .where(Event.question_id == question_id)
        .order_by(Event.created_at, Event.id)
    ):
        if event.kind == "note":
            # Internal notes belong to the thread (marked), not among the timeline's events.
            text = str((event.detail or {}).get("text", ""))
            thread.append(ThreadEntry(event.created_at, _name(actor), "note", text))
            continue
        details = event.detail or {}
        _note_why(story.why, event.kind, details, actor)
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(details.items()) if k != "reasons")
        timeline.append((event.created_at, event.kind.replace("_", " "), detail))
    for step in session.scalars(
        select(DeadlineStep).where(DeadlineStep.question_id == question_id)
    ):
        what = f"{step.kind} {step.step} ({step.clock.replace('_', ' ')}) to {step.target}"
        when = step.fired_at or step.due_at
        timeline.append((when, what, step.state + (", late" if step.late else "")))
    for due, what in [
        (question.first_response_due, "first response due"),
        (question.resolution_due, "resolution due"),
    ]:
        if due is not None:
            timeline.append((due, what, ""))
    story.timeline = sorted(timeline, key=lambda entry: entry[0])
    story.thread = sorted(thread, key=lambda entry: entry.at)
    return story


def _note_why(why: dict[str, str], kind: str, detail: dict[str, Any], actor: Person | None) -> None:
    """Record in ``why`` why an event made someone an assignee.

    Routing's reasons, a claim, or a reassignment (by whom, or the deadline step's reason).
    """
    for expert, reason in dict(detail.get("reasons") or {}).items():
        why[str(expert)] = f"routed: {reason}"
    assignee = detail.get("assignee")
    if assignee and kind in ("claimed", "reassigned"):
        by = f" by {_name(actor)}" if actor is not None else ""
        because = f" ({detail['reason']})" if detail.get("reason") else ""
        why[str(assignee)] = f"{kind}{by}{because}"


def _name(person: Person | None) -> str:
    if person is None:
        return "?"
    return person.display_name or person.config_id or "?"
