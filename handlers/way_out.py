"""The asker's way out of an instant answer: other fiches, or an expert, in the same question."""

from __future__ import annotations

from ground.storage import repo
from ground.storage.models import Question
from ground.vocabulary import FicheFeedback, LabelSource, QuestionStatus, Verdict
from handlers.asking import ANALYSED_CHARS, show_fiches
from handlers.context import Turn
from handlers.outcomes import label_fiche_answer
from handlers.referral import refer
from routing.answerability import features

__all__ = ["MAX_FICHE_ANSWERS", "not_what_i_asked"]

# One more try with other fiches; after that the question goes to an expert. A third list of
# weaker fiches would spend the asker's patience, which an expert's answer does not.
MAX_FICHE_ANSWERS = 2


def not_what_i_asked(turn: Turn, question: Question) -> None:
    """The fiche shown does not answer: show the next plausible fiches, or ask an expert."""
    if question.status != QuestionStatus.OFFERED:
        turn.reply(turn.t("Question #{number} is already with the experts.", number=question.id))
        return
    answers = repo.fiche_answers_of(turn.session, question.id)
    for answer in answers:
        if answer.feedback is None:
            answer.feedback, answer.feedback_at = FicheFeedback.NOT_ASKED, turn.now
            label_fiche_answer(
                turn, question, answer, Verdict.NEGATIVE, LabelSource.ASKER_NOT_ASKED
            )
    # The fiches that led an answer were refused; those only listed by title were not.
    refused = [answer.fiches[0]["id"] for answer in answers if answer.fiches]
    repo.log_event(
        turn.session,
        "not_asked",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        fiches=refused,
    )
    if len(answers) < MAX_FICHE_ANSWERS:
        text = question.text[:ANALYSED_CHARS]
        triage = turn.services.triage
        # The question's own language decides again, whatever the asker wrote since.
        analysis = triage.analyse(text, preferred=question.language)
        others = triage.alternatives(text, analysis, refused)
        if others:
            show_fiches(
                turn,
                question,
                others,
                heading=turn.t("Here are other fiches that may answer it:"),
                # Weighed as if it came first: the very view alternatives() judged it by.
                features=features(text, analysis.language, analysis.topic, others),
            )
            return
    refer(turn, question)
