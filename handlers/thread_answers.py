"""Answers by reference in a thread: a fiche (/fiche ID) or an earlier answer (/similar N)."""

from __future__ import annotations

import difflib

from ground.storage import conversation_repo, repo
from ground.storage.answers_repo import answer_of
from ground.storage.labels_repo import record_label
from ground.storage.models import Person, Question
from ground.vocabulary import LabelSource, Verdict
from handlers.asker_commands import fiche_heading, shortened
from handlers.context import Turn
from handlers.copilot import answered_by
from handlers.expert_commands import open_thread_question
from handlers.i18n import format_day, language_name
from handlers.relay import answer_footer, author_label, send_answer
from knowledge.repository import fiche_languages, get_version

__all__ = ["THREAD_ANSWER_COMMANDS", "send_fiche", "send_similar"]


def _open_question(turn: Turn) -> tuple[Question, Person] | None:
    """The thread's question and its asker, if it can still be answered."""
    question = open_thread_question(turn)
    if question is None:
        return None
    asker = conversation_repo.get_person(turn.session, question.asker_id)
    assert asker is not None
    return question, asker


def send_fiche(turn: Turn, args: list[str]) -> None:
    """Answer the asker with a fiche, in their language when it has it: ``/fiche ID``."""
    if len(args) != 1:
        turn.reply(turn.t("Usage: /fiche FICHE-ID, with an id this thread lists."))
        return
    found = _open_question(turn)
    if found is None:
        return
    question, asker = found
    fiche_id = args[0].strip().lower()
    languages = fiche_languages(turn.session, fiche_id)
    if not languages:
        closest = difflib.get_close_matches(fiche_id, turn.services.triage.index.fiche_ids, n=1)
        if closest:
            turn.reply(
                turn.t(
                    "There is no fiche {fiche}. Did you mean {suggestion}?",
                    fiche=fiche_id,
                    suggestion=closest[0],
                ),
                question=question,
            )
        else:
            turn.reply(turn.t("There is no fiche {fiche}.", fiche=fiche_id), question=question)
        return
    reader = turn.writer.reader(asker)
    language = next((code for code in (reader, "en") if code in languages), languages[0])
    version = get_version(turn.session, fiche_id, language)
    assert version is not None
    heading = turn.t_for(
        asker,
        "{author} answers your question #{number} with this fiche:",
        author=author_label(turn),
        number=question.id,
    )
    header = fiche_heading(version)
    body, cut = shortened(version.body)
    parts = [heading, header, body]
    if cut:
        parts.append(
            turn.t_for(
                asker, "This is the beginning of a long fiche. For the rest, please ask an expert."
            )
        )
    if language != reader:
        parts.append(
            turn.t_for(
                asker,
                "(This fiche is available in {language}.)",
                language=language_name(language, reader),
            )
        )
    parts.append(answer_footer(turn, asker, question))
    send_answer(turn, question, "\n\n".join(parts), record=f"{header}\n\n{body}")
    # The expert confirms this fiche answers the question: a label for the answerability model.
    repo.log_event(
        turn.session,
        "fiche_sent",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        fiche=fiche_id,
        language=language,
    )
    record_label(
        turn.session,
        question,
        fiche_id,
        Verdict.POSITIVE,
        LabelSource.EXPERT_FICHE,
        turn.now,
        actor_id=turn.person.id,
    )
    # The thread's record of what the asker received: for everyone, in the space's language.
    turn.reply(
        turn.t_space(
            "Fiche {fiche} went to the asker of question #{number} ({language}).",
            fiche=fiche_id,
            number=question.id,
            language=language_name(language, turn.space_language),
        ),
        question=question,
    )


def send_similar(turn: Turn, args: list[str]) -> None:
    """Send the asker the answer an earlier question got: ``/similar N``."""
    number = args[0].lstrip("#") if len(args) == 1 else ""
    if not number.isdecimal():
        turn.reply(
            turn.t("Usage: /similar QUESTION-NUMBER, with an earlier question this thread lists.")
        )
        return
    found = _open_question(turn)
    if found is None:
        return
    question, asker = found
    earlier = conversation_repo.get_question(turn.session, int(number))
    if earlier is not None and earlier.id == question.id:
        turn.reply(
            turn.t("Question #{number} is this thread's own question.", number=earlier.id),
            question=question,
        )
        return
    answer = answer_of(turn.session, earlier.id) if earlier is not None else None
    if answer is None:
        turn.reply(
            turn.t("Question #{number} has no answer to send.", number=int(number)),
            question=question,
        )
        return
    _, partner = answered_by(turn, answer)
    reader = turn.writer.reader(asker)
    heading = turn.t_for(
        asker,
        "{author} answers your question #{number} with the answer {partner} gave to a "
        "similar question on {date}:",
        author=author_label(turn),
        number=question.id,
        partner=partner,
        date=format_day(answer.answered_at, reader, turn.services.timezone_of(asker)),
    )
    parts = [heading, answer.text]
    written_in = turn.services.triage.detector.detect(answer.text, preferred=reader).language
    if written_in != reader:
        parts.append(
            turn.t_for(
                asker,
                "(This answer is in {language}.)",
                language=language_name(written_in, reader),
            )
        )
    parts.append(answer_footer(turn, asker, question))
    send_answer(turn, question, "\n\n".join(parts), record=answer.text)
    repo.log_event(
        turn.session,
        "similar_sent",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        similar=answer.question_id,
    )
    turn.reply(
        turn.t_space(
            "The answer to question #{similar} went to the asker of question #{number}.",
            similar=answer.question_id,
            number=question.id,
        ),
        question=question,
    )


THREAD_ANSWER_COMMANDS = {"fiche": send_fiche, "similar": send_similar}
