"""Commands everyone may use: /start, /help, /language, /status, /resolve, /new, and buttons."""

from __future__ import annotations

from ground.storage import conversation_repo, repo
from ground.storage.models import FicheAnswer, FicheVersion, Question
from ground.vocabulary import EndReason, FicheFeedback, LabelSource, QuestionStatus, Verdict
from handlers.asking import answer_choices, status_label
from handlers.commands import help_text, show_help
from handlers.context import Turn
from handlers.deadline_commands import DEADLINE_ASKER_COMMANDS
from handlers.events import Button
from handlers.i18n import language_name
from handlers.outcomes import label_fiche_answer
from handlers.referral import refer
from handlers.way_out import not_what_i_asked
from knowledge.repository import get_version

__all__ = ["ASKER_COMMANDS", "fiche_heading", "press", "shortened"]


def start(turn: Turn, _args: list[str]) -> None:
    """Greet a newcomer and say how the bot works."""
    turn.reply(
        turn.t(
            "Hello! I am the Rapid Response Mechanism of the education and training network. "
            "Ask me a question about education or training policy, in your own language. I answer "
            "at once from the network's best-practice fiches when I can, and otherwise pass your "
            "question to a partner expert and tell you when to expect an answer."
        )
        + "\n\n"
        + help_text(turn)
    )


def set_language(turn: Turn, args: list[str]) -> None:
    """Set the language the bot writes to the sender in."""
    supported = turn.config.languages.supported
    code = args[0].lower() if args else ""
    if code not in supported:
        turn.reply(
            turn.t("Please give one of these language codes: {codes}", codes=", ".join(supported))
        )
        return
    turn.person.language = code
    turn.person.language_explicit = True
    turn.reply(
        turn.t("From now on I will write to you in {language}.", language=language_name(code, code))
    )


def status(turn: Turn, _args: list[str]) -> None:
    """List the sender's latest questions."""
    questions = repo.questions_of(turn.session, turn.person.id)
    if not questions:
        turn.reply(turn.t("You have not asked any question yet."))
        return
    lines = [turn.t("Your questions:")]
    for question in questions:
        summary = " ".join(question.text.split())
        summary = summary if len(summary) <= 60 else summary[:59] + "…"
        number = turn.t("#{number}", number=question.id)
        line = f"{number} — {status_label(turn, question.status)} — {summary}"
        if question.status == QuestionStatus.OPEN and question.first_response_due:
            line += " — " + turn.t(
                "answer due by {when}", when=turn.when(question.first_response_due)
            )
        lines.append(line)
    turn.reply("\n".join(lines))


def resolve(turn: Turn, args: list[str]) -> None:
    """Mark one of the sender's questions as settled, and ask whether the answer helped."""
    question = _own_question(turn, args)
    if question is None:
        return
    if question.status == QuestionStatus.RESOLVED:
        turn.reply(turn.t("Question #{number} is already resolved.", number=question.id))
        return
    close(turn, question, by_asker=True)


def close(turn: Turn, question: Question, *, by_asker: bool) -> None:
    """Resolve a question, tell its asker and thread, and ask the asker for a rating."""
    question.status = QuestionStatus.RESOLVED
    question.resolved_at = turn.now
    repo.end_assignments(turn.session, question.id, turn.now, EndReason.RESOLVED)
    repo.log_event(
        turn.session,
        "resolved",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        by="asker" if by_asker else turn.person.role,
    )
    asker = conversation_repo.get_person(turn.session, question.asker_id)
    assert asker is not None
    if asker.focus_question_id == question.id:
        asker.focus_question_id = None
    turn.post_in_thread(
        question,
        turn.t_space("Question #{number} is resolved.", number=question.id),
        channels=turn.thread_channels(question),
    )
    text = turn.t_for(
        asker, "Question #{number} is resolved. Did the answer help you?", number=question.id
    )
    buttons = [
        Button(turn.t_for(asker, "Yes, it helped"), f"rate:{question.id}:1"),
        Button(turn.t_for(asker, "No"), f"rate:{question.id}:0"),
    ]
    if by_asker:
        turn.reply(text, buttons=buttons, question=question)
    else:
        turn.tell(asker, text, buttons=buttons, question=question, channel=question.channel)


def new(turn: Turn, _args: list[str]) -> None:
    """Make the next message a new question rather than a follow-up."""
    turn.person.focus_question_id = None
    turn.reply(turn.t("OK: your next message will be a new question."))


def _own_question(turn: Turn, args: list[str]) -> Question | None:
    if args:
        number = args[0].lstrip("#")
        question = (
            conversation_repo.get_question(turn.session, int(number))
            if number.isdecimal()
            else None
        )
    else:
        focus = turn.person.focus_question_id
        question = conversation_repo.get_question(turn.session, focus) if focus else None
    if question is None or question.asker_id != turn.person.id:
        turn.reply(
            turn.t(
                "I found no question of yours with that number. Send /status to see your questions."
            )
        )
        return None
    return question


ASKER_COMMANDS = {
    "start": start,
    "help": show_help,
    "language": set_language,
    "status": status,
    "resolve": resolve,
    "new": new,
    **DEADLINE_ASKER_COMMANDS,
}


def press(turn: Turn, action: str) -> None:
    """A button pressed under one of the bot's messages."""
    kind, _, rest = action.partition(":")
    number, _, value = rest.partition(":")
    question = (
        conversation_repo.get_question(turn.session, int(number)) if number.isdecimal() else None
    )
    if question is None or question.asker_id != turn.person.id:
        turn.reply(turn.t("This button is no longer valid."))
        return
    answer = repo.latest_fiche_answer(turn.session, question.id)
    if kind == "helped" and (answer is not None or question.decision == "similar"):
        _helped(turn, question, answer)
    elif kind == "expert":
        if question.status != QuestionStatus.OFFERED:
            turn.reply(
                turn.t("Question #{number} is already with the experts.", number=question.id)
            )
            return
        if answer is not None:
            answer.feedback, answer.feedback_at = FicheFeedback.EXPERT, turn.now
            label_fiche_answer(turn, question, answer, Verdict.NEGATIVE, LabelSource.ASKER_EXPERT)
        refer(turn, question)
    elif kind == "other":
        not_what_i_asked(turn, question)
    elif (
        kind == "fiche" and answer is not None and (rank := _shown_rank(value, answer)) is not None
    ):
        _full_fiche(turn, question, answer, rank)
    elif kind == "rate" and value in ("0", "1"):
        question.helpful = value == "1"
        repo.log_event(
            turn.session,
            "rated",
            turn.now,
            question_id=question.id,
            actor_id=turn.person.id,
            helpful=question.helpful,
        )
        turn.reply(turn.t("Thank you for your feedback."))
    else:
        turn.reply(turn.t("This button is no longer valid."))


def _helped(turn: Turn, question: Question, answer: FicheAnswer | None) -> None:
    if question.status != QuestionStatus.OFFERED:
        turn.reply(turn.t("Question #{number} is already with the experts.", number=question.id))
        return
    if answer is not None:  # None: an earlier question's answer was offered, not fiches
        answer.feedback, answer.feedback_at = FicheFeedback.HELPED, turn.now
        label_fiche_answer(turn, question, answer, Verdict.POSITIVE, LabelSource.ASKER_HELPED)
    question.status, question.resolved_at = QuestionStatus.RESOLVED, turn.now
    question.helpful = True
    repo.log_event(
        turn.session,
        "resolved",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        by="similar" if question.decision == "similar" else "fiche",
    )
    turn.reply(turn.t("Glad it helped! Ask me anything else at any time."))


def _shown_rank(value: str, answer: FicheAnswer) -> int | None:
    """Which of the shown fiches a button opens (the first when it does not say)."""
    rank = int(value) if value.isdecimal() else 0 if not value else -1
    return rank if 0 <= rank < len(answer.fiches or []) else None


# A fiche is a sheet of a page or two. A longer body is cut where a paragraph ends, so a phone
# gets a few messages, not hundreds (a file may hold up to knowledge.max_file_bytes).
FULL_FICHE_CHARS = 8000


def shortened(body: str, limit: int = FULL_FICHE_CHARS) -> tuple[str, bool]:
    """``body`` cut to about ``limit`` characters at a paragraph's (or word's) end; if cut."""
    if len(body) <= limit:
        return body, False
    cut = body.rfind("\n\n", 0, limit)
    if cut < limit // 2:
        cut = body.rfind(" ", 0, limit)
    return body[: cut if cut > 0 else limit].rstrip(), True


def fiche_heading(version: FicheVersion) -> str:
    """A fiche's title, over its partner and place when it names a partner."""
    if not version.partner:
        return version.title
    place = ", ".join(x for x in (version.region, version.country) if x)
    return f"{version.title}\n{version.partner}" + (f" — {place}" if place else "")


def _full_fiche(turn: Turn, question: Question, answer: FicheAnswer, rank: int = 0) -> None:
    shown = answer.fiches[rank]
    version = None
    for language in (turn.language, "en", shown["language"]):
        version = get_version(turn.session, shown["id"], language)
        if version is not None:
            break
    if version is None:
        turn.reply(turn.t("This fiche is no longer in the knowledge base."))
        return
    header = fiche_heading(version)
    # A question already with the experts (a suggestion) has nothing left to choose.
    offered = question.status == QuestionStatus.OFFERED
    body, cut = shortened(version.body)
    if cut:
        body += "\n\n" + turn.t(
            "This is the beginning of a long fiche. For the rest, please ask an expert."
        )
    turn.reply(
        f"{header}\n\n{body}",
        question=question,
        buttons=answer_choices(turn, question, full_fiche=False) if offered else [],
    )
