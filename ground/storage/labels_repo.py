"""Labelled outcomes (does this fiche answer this question?) and the models refitted from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ground.storage.models import AnswerabilityFit, AnswerLabel, Question
from ground.storage.repo import latest_fiche_answer
from ground.vocabulary import LabelSource, Verdict

__all__ = ["add_fit", "count_labels", "labels", "latest_fit", "latest_fit_id", "record_label"]


def record_label(
    session: Session,
    question: Question,
    fiche_id: str,
    verdict: Verdict,
    source: LabelSource,
    now: dt.datetime,
    *,
    actor_id: int | None = None,
    features: Mapping[str, float] | None = None,
    shown_fiche: str | None = None,
) -> AnswerLabel:
    """Store that ``fiche_id`` does (or does not) answer ``question``, as ``source`` judged.

    Without ``features``, those the model saw for the question's latest fiches shown are
    kept, with the fiche it ranked first; a question never shown fiches keeps none, and
    ``rrm kb calibrate`` measures its text again. The same judge on the same question and
    fiche keeps only their latest verdict.
    """
    if features is None:
        shown = latest_fiche_answer(session, question.id)
        if shown is not None and shown.features and shown.fiches:
            features, shown_fiche = shown.features, shown.fiches[0]["id"]
    label = session.scalar(
        select(AnswerLabel).where(
            AnswerLabel.question_id == question.id,
            AnswerLabel.fiche_id == fiche_id,
            AnswerLabel.source == source,
        )
    )
    if label is None:
        label = AnswerLabel(question_id=question.id, fiche_id=fiche_id, source=source)
        session.add(label)
    label.text = question.text
    label.language = question.language
    label.verdict = verdict
    label.actor_id = actor_id
    label.features = dict(features) if features is not None else None
    label.shown_fiche = shown_fiche if features is not None else None
    label.created_at = now
    session.flush()
    return label


def labels(session: Session) -> list[AnswerLabel]:
    """Every stored label, oldest first."""
    return list(session.scalars(select(AnswerLabel).order_by(AnswerLabel.id)))


def count_labels(session: Session) -> int:
    """How many labels are stored."""
    return int(session.scalar(select(func.count()).select_from(AnswerLabel)) or 0)


def latest_fit(session: Session) -> AnswerabilityFit | None:
    """The model ``rrm kb calibrate`` stored last (the one the bot uses), if any."""
    return session.scalar(select(AnswerabilityFit).order_by(AnswerabilityFit.id.desc()).limit(1))


def latest_fit_id(session: Session) -> int | None:
    """The id of the model ``rrm kb calibrate`` stored last: a cheap look for a newer one."""
    return session.scalar(select(func.max(AnswerabilityFit.id)))


def add_fit(
    session: Session,
    model: dict[str, Any],
    figures: dict[str, Any],
    last_label_id: int,
    label_count: int,
    now: dt.datetime,
) -> AnswerabilityFit:
    """Store a refitted model; from now on it is the one the bot uses."""
    fit = AnswerabilityFit(
        model=model,
        figures=figures,
        last_label_id=last_label_id,
        labels=label_count,
        created_at=now,
    )
    session.add(fit)
    session.flush()
    return fit
