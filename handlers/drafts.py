"""Answers that become fiches: /tofiche drafts one, coordinators review, edit, approve it.

An approved draft is stored as a fiche at once and the running search learns it as soon as
the approval is committed; `rrm kb drafts export` later writes it into the collection folder.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from ground.config import Config
from ground.storage import repo
from ground.storage.answers_repo import answer_of
from ground.storage.drafts_repo import (
    add_draft,
    draft_of_question,
    fiche_id_taken,
    get_draft,
    waiting_drafts,
)
from ground.storage.models import FicheDraft, Person
from ground.vocabulary import DraftStatus, QuestionStatus
from handlers.clean_text import clean_text
from handlers.context import Turn
from handlers.expert_commands import thread_question
from handlers.fiche_search import refresh_search
from handlers.i18n import language_name
from knowledge.drafts import draft_version, fiche_file_text, free_fiche_id, publish
from knowledge.embedder import Embedder
from knowledge.fiche import FicheVersionText

__all__ = [
    "DRAFT_COMMANDS",
    "FIELDS",
    "TOFICHE_COMMANDS",
    "approval_problem",
    "approve_draft",
    "change_field",
    "make_draft",
]

REVIEWED = "Draft fiche #{draft} is already reviewed."
ID_TAKEN = (
    "The fiche id {fiche} is taken; give the draft another one with /draft {draft} id NEW-ID."
)
INVALID = "Draft fiche #{draft} cannot be approved: {problem}"
ID_IN_USE = "the fiche id {fiche} is taken."
TITLE_CHARS = 120
SUMMARY_CHARS = 300
FIELDS = ("title", "summary", "topics", "country", "region", "partner", "body", "id")
SENTENCE = re.compile(r"^(.+?[.!?;。])(\s|$)", re.DOTALL)
# "/draft 3 title A new title": the field's text keeps its line breaks.
EDIT = re.compile(r"^/\w+(?:@\S+)?\s+#?(\d+)\s+(\w+)\s+(.+)$", re.DOTALL)


def _first_sentence(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    found = SENTENCE.match(flat)
    sentence = found.group(1) if found else flat
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def make_draft(turn: Turn, args: list[str]) -> None:
    """Draft a fiche from the answer of this thread's resolved question: ``/tofiche [TITLE]``."""
    question = thread_question(turn)
    if question is None:
        return
    session = turn.session
    if question.status != QuestionStatus.RESOLVED:
        turn.reply(
            turn.t(
                "Question #{number} is not resolved yet: a draft fiche is made from the answer "
                "of a resolved question.",
                number=question.id,
            ),
            question=question,
        )
        return
    existing = draft_of_question(session, question.id)
    if existing is not None:
        turn.reply(
            turn.t(
                "Question #{number} already has the draft fiche #{draft}.",
                number=question.id,
                draft=existing.id,
            ),
            question=question,
        )
        return
    answer = answer_of(session, question.id)
    if answer is None:
        turn.reply(
            turn.t(
                "Question #{number} has no expert answer to make a fiche from.", number=question.id
            ),
            question=question,
        )
        return
    author = answer.author
    partner = turn.config.partner(author.partner_id or "")
    language = turn.services.triage.detector.detect(answer.text).language
    title = " ".join(args)[:TITLE_CHARS] if args else _first_sentence(question.text, TITLE_CHARS)
    topics = [question.topic] if question.topic else list(_expert_topics(turn, author))[:1]
    quoted = "\n".join(f"> {line}" if line else ">" for line in question.text.strip().splitlines())
    draft = add_draft(
        session,
        FicheDraft(
            question_id=question.id,
            fiche_id=free_fiche_id(session, title, question.id),
            language=language,
            title=title,
            topics=topics,
            summary=_first_sentence(answer.text, SUMMARY_CHARS),
            body=f"{quoted}\n\n{answer.text.strip()}",
            country=partner.country if partner else "",
            region="",
            partner=partner.name if partner else "",
            status=DraftStatus.DRAFT,
            author_id=turn.person.id,
            created_at=turn.now,
        ),
    )
    repo.log_event(
        session,
        "draft_made",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        draft=draft.id,
    )
    turn.reply(
        turn.t(
            "Made draft fiche #{draft} from question #{number}, in {language}. A coordinator "
            "reviews it (/drafts).",
            draft=draft.id,
            number=question.id,
            language=language_name(language, turn.language),
        ),
        question=question,
    )


def _expert_topics(turn: Turn, person: Person) -> list[str]:
    expert = next((e for e in turn.config.experts if e.id == person.config_id), None)
    return list(expert.topics) if expert else []


def list_drafts(turn: Turn, _args: list[str]) -> None:
    """List the drafts waiting for review."""
    drafts = waiting_drafts(turn.session)
    if not drafts:
        turn.reply(turn.t("No draft fiches are waiting for review."))
        return
    lines = [turn.t("Draft fiches waiting for review (/draft N shows one):")]
    for d in drafts:
        draft, question = (turn.t("#{number}", number=n) for n in (d.id, d.question_id))
        lines.append(f"{draft} · {d.fiche_id} · {d.language.upper()} · {d.title} ({question})")
    turn.reply("\n".join(lines))


def _draft_argument(turn: Turn, args: list[str], usage: str) -> FicheDraft | None:
    number = args[0].lstrip("#") if args else ""
    if not number.isdecimal():
        turn.reply(usage)
        return None
    draft = get_draft(turn.session, int(number))
    if draft is None:
        turn.reply(turn.t("There is no draft fiche #{draft}.", draft=int(number)))
    return draft


def show_or_edit(turn: Turn, args: list[str]) -> None:
    """Show draft N (``/draft N``) or change one field (``/draft N FIELD TEXT``)."""
    usage = turn.t(
        "Usage: /draft DRAFT-NUMBER, or /draft DRAFT-NUMBER FIELD TEXT to change a field "
        "({fields}).",
        fields=", ".join(FIELDS),
    )
    draft = _draft_argument(turn, args, usage)
    if draft is None:
        return
    if len(args) == 1:
        turn.reply(_shown(turn, draft))
        return
    edit = EDIT.match(clean_text(turn.event.text).strip())
    field = args[1].lower()
    if edit is None or field not in FIELDS:
        turn.reply(usage)
        return
    if draft.status != DraftStatus.DRAFT:
        turn.reply(turn.t(REVIEWED, draft=draft.id))
        return
    value = edit.group(3).strip()
    problem = _change(turn, draft, field, value)
    if problem:
        turn.reply(
            turn.t("Draft fiche #{draft} is unchanged: {problem}", draft=draft.id, problem=problem)
        )
        return
    repo.log_event(
        turn.session,
        "draft_edited",
        turn.now,
        question_id=draft.question_id,
        actor_id=turn.person.id,
        draft=draft.id,
        field=field,
    )
    turn.reply(
        turn.t("Changed draft fiche #{draft}.", draft=draft.id) + "\n\n" + _shown(turn, draft)
    )


def _change(turn: Turn, draft: FicheDraft, field: str, value: str) -> str | None:
    problem = change_field(turn.session, turn.config, draft, field, value, turn.t)
    if problem is None:
        return None
    message, values = problem
    return turn.t(message, **values)


def _english(message: str, **values: object) -> str:
    return message.format(**values)


def change_field(
    session: Session,
    config: Config,
    draft: FicheDraft,
    field: str,
    value: str,
    t: Callable[..., str] = _english,
) -> tuple[str, dict[str, object]] | None:
    """Set one field of a draft (a name of ``FIELDS``); undone if the file would be invalid.

    Returns why it was refused (a message and its values), or None; the file checker's
    words in it are translated by ``t`` (the reader's, in chat).
    """
    attribute = "fiche_id" if field == "id" else field
    before = getattr(draft, attribute)
    if field == "topics":
        setattr(draft, attribute, [t for t in re.split(r"[\s,]+", value) if t])
    else:
        setattr(draft, attribute, value.lower() if field == "id" else value)
    if field == "id" and fiche_id_taken(session, draft.fiche_id, draft_id=draft.id):
        setattr(draft, attribute, before)
        return ID_IN_USE, {"fiche": value.lower()}
    checked = _checked(config, draft, t)
    if isinstance(checked, str):
        setattr(draft, attribute, before)
        return "{problem}", {"problem": checked}
    return None


def _checked(
    config: Config, draft: FicheDraft, t: Callable[..., str] = _english
) -> FicheVersionText | str:
    """The version the draft's file reads as, or what is wrong with it.

    The problems are the file checker's words, as `rrm kb import` prints them, translated by
    ``t``: the checker's messages are msgids of the catalogs.
    """
    version = draft_version(draft, config.languages.supported, {p.id for p in config.topics})
    if not isinstance(version, list):
        return version
    return "; ".join(t(e.template, **dict(e.values)) if e.template else e.problem for e in version)


def _shown(turn: Turn, draft: FicheDraft) -> str:
    """A draft as its file reads, under a line saying which it is and where it stands."""
    status = {
        DraftStatus.DRAFT: turn.t("waiting for review"),
        DraftStatus.APPROVED: turn.t("approved"),
        DraftStatus.REJECTED: turn.t("rejected"),
    }.get(DraftStatus(draft.status), draft.status)
    number, question = (turn.t("#{number}", number=n) for n in (draft.id, draft.question_id))
    return (
        f"{number} · {status} · {draft.fiche_id}/{draft.language}.md · {question}"
        f"\n\n{fiche_file_text(draft)}"
    )


def approve(turn: Turn, args: list[str]) -> None:
    """Make draft N a fiche the bot answers from: ``/approve N``."""
    draft = _draft_argument(turn, args, turn.t("Usage: /approve DRAFT-NUMBER"))
    if draft is None:
        return
    problem = approval_problem(turn.session, turn.config, draft, turn.t)
    if problem is not None:
        message, values = problem
        turn.reply(turn.t(message, **values))
        return
    approve_draft(
        turn.session,
        turn.config,
        turn.services.triage.embedder,
        draft,
        turn.person.display_name,
        turn.now,
    )
    repo.log_event(
        turn.session,
        "draft_approved",
        turn.now,
        question_id=draft.question_id,
        actor_id=turn.person.id,
        draft=draft.id,
        fiche=draft.fiche_id,
    )
    fiche_id, services = draft.fiche_id, turn.services
    turn.after_commit.append(lambda: refresh_search(services, [fiche_id]))
    turn.reply(
        turn.t(
            "Draft fiche #{draft} is now the fiche {fiche}: the bot answers from it at once.",
            draft=draft.id,
            fiche=draft.fiche_id,
        )
    )


def approval_problem(
    session: Session, config: Config, draft: FicheDraft, t: Callable[..., str] = _english
) -> tuple[str, dict[str, object]] | None:
    """Why ``draft`` cannot be approved (a message and its values), or None if it can.

    The file checker's words in it are translated by ``t``.
    """
    if draft.status != DraftStatus.DRAFT:
        return REVIEWED, {"draft": draft.id}
    if fiche_id_taken(session, draft.fiche_id, draft_id=draft.id):
        return ID_TAKEN, {"fiche": draft.fiche_id, "draft": draft.id}
    version = _checked(config, draft, t)
    if isinstance(version, str):
        return INVALID, {"draft": draft.id, "problem": version}
    return None


def approve_draft(
    session: Session,
    config: Config,
    embedder: Embedder,
    draft: FicheDraft,
    reviewer: str,
    now: dt.datetime,
) -> None:
    """Store and embed a draft :func:`approval_problem` passed as a fiche; mark it approved."""
    version = _checked(config, draft)
    assert not isinstance(version, str), "check approval_problem first"
    publish(session, embedder, version, now)
    draft.status = DraftStatus.APPROVED
    draft.reviewed_by, draft.reviewed_at = reviewer, now


def reject_draft(draft: FicheDraft, reviewer: str, now: dt.datetime) -> None:
    """Mark ``draft`` rejected by ``reviewer``: it is never a fiche, and its id is free again."""
    draft.status = DraftStatus.REJECTED
    draft.reviewed_by, draft.reviewed_at = reviewer, now


def reject(turn: Turn, args: list[str]) -> None:
    """Reject draft N: ``/reject N``."""
    draft = _draft_argument(turn, args, turn.t("Usage: /reject DRAFT-NUMBER"))
    if draft is None:
        return
    if draft.status != DraftStatus.DRAFT:
        turn.reply(turn.t(REVIEWED, draft=draft.id))
        return
    reject_draft(draft, turn.person.display_name, turn.now)
    repo.log_event(
        turn.session,
        "draft_rejected",
        turn.now,
        question_id=draft.question_id,
        actor_id=turn.person.id,
        draft=draft.id,
    )
    turn.reply(turn.t("Rejected draft fiche #{draft}.", draft=draft.id))


TOFICHE_COMMANDS = {"tofiche": make_draft}
DRAFT_COMMANDS = {
    "drafts": list_drafts,
    "draft": show_or_edit,
    "approve": approve,
    "reject": reject,
}
