"""An expert's verdict on the fiches the asker was shown: ``/verdict right|wrong [FICHE]``.

A verdict is a labelled example for the answerability model (``rrm kb calibrate``), kept
with the model's view of the fiche answer that showed the fiche. Without a fiche id it
judges the fiche the thread lists first: the one the bot led with.
"""

from __future__ import annotations

from ground.storage import repo
from ground.storage.labels_repo import record_label
from ground.storage.models import FicheAnswer
from ground.vocabulary import LabelSource, Verdict
from handlers.context import Turn
from handlers.expert_commands import thread_question

__all__ = ["VERDICT_COMMANDS", "verdict"]

# The words an expert may write; the registry and docs name only "right" and "wrong".
WORDS = {
    "right": Verdict.POSITIVE,
    "ok": Verdict.POSITIVE,
    "yes": Verdict.POSITIVE,
    "+": Verdict.POSITIVE,
    "wrong": Verdict.NEGATIVE,
    "no": Verdict.NEGATIVE,
    "-": Verdict.NEGATIVE,
}


def verdict(turn: Turn, args: list[str]) -> None:
    """Say whether the fiche the asker was shown answers the thread's question."""
    judged = WORDS.get(args[0].lower()) if args else None
    if judged is None or len(args) > 2:
        turn.reply(
            turn.t(
                "Usage: /verdict right or /verdict wrong, then a fiche id if the asker was "
                "shown several."
            )
        )
        return
    question = thread_question(turn)
    if question is None:
        return
    answers = [a for a in repo.fiche_answers_of(turn.session, question.id) if a.fiches]
    shown = list(dict.fromkeys(f["id"] for a in answers for f in a.fiches))
    if not shown:
        turn.reply(
            turn.t(
                "The asker of question #{number} was shown no fiche: there is nothing to "
                "judge. To answer with a fiche, use /fiche ID.",
                number=question.id,
            ),
            question=question,
        )
        return
    fiche = args[1].strip().lower() if len(args) == 2 else shown[0]
    if fiche not in shown:
        turn.reply(
            turn.t(
                "Fiche {fiche} is not among the fiches the asker of question #{number} was "
                "shown: {fiches}.",
                fiche=fiche,
                number=question.id,
                fiches=", ".join(shown),
            ),
            question=question,
        )
        return
    answer = _showing(answers, fiche)
    record_label(
        turn.session,
        question,
        fiche,
        judged,
        LabelSource.EXPERT_VERDICT,
        turn.now,
        actor_id=turn.person.id,
        features=answer.features,
        shown_fiche=answer.fiches[0]["id"] if answer.features else None,
    )
    repo.log_event(
        turn.session,
        "verdict",
        turn.now,
        question_id=question.id,
        actor_id=turn.person.id,
        fiche=fiche,
        verdict=str(judged),
    )
    if judged == Verdict.POSITIVE:
        text = turn.t(
            "Thank you: fiche {fiche} is recorded as a right answer to question #{number}; "
            "the bot learns from it.",
            fiche=fiche,
            number=question.id,
        )
    else:
        text = turn.t(
            "Thank you: fiche {fiche} is recorded as not answering question #{number}; "
            "the bot learns from it.",
            fiche=fiche,
            number=question.id,
        )
    turn.reply(text, question=question)


def _showing(answers: list[FicheAnswer], fiche: str) -> FicheAnswer:
    """The fiche answer that showed ``fiche``: the first that led with it, else the first."""
    led = [a for a in answers if a.fiches[0]["id"] == fiche]
    return (led or [a for a in answers if any(f["id"] == fiche for f in a.fiches)])[0]


VERDICT_COMMANDS = {"verdict": verdict}
