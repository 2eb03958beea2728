"""``rrm kb calibrate``: refit the answerability model from stored labels plus the base set."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from bot.command_database import command_database
from bot.command_error import CommandError
from ground.clock import Clock, SystemClock
from ground.config import Config
from ground.storage.labels_repo import add_fit, labels, latest_fit
from ground.vocabulary import Verdict
from routing.answerability import FEATURES
from routing.calibration import (
    BASE_PATH,
    Example,
    Figures,
    cross_validated,
    figures,
    fit,
    load_base,
    no_worse,
    wrong_weight,
)

if TYPE_CHECKING:
    from ground.storage.database import Database
    from ground.storage.models import AnswerabilityFit, AnswerLabel
    from routing.triage import Triage

__all__ = ["CLOCK", "add_calibrate_command", "label_example", "learnt_by"]

# What "now" is for this command; tests put a fixed clock here.
CLOCK: Clock = SystemClock()


def add_calibrate_command(kb: Any) -> None:
    """Register ``kb calibrate`` on the ``kb`` subparsers."""
    calibrate = kb.add_parser(
        "calibrate",
        help="refit the answer-or-route model from the stored labels plus the base set",
    )
    calibrate.add_argument(
        "--dry-run", action="store_true", help="print the figures, store nothing"
    )
    calibrate.add_argument(
        "--base",
        type=Path,
        default=BASE_PATH,
        help="the base set (JSON lines; default: the shipped routing/answerability_base.jsonl)",
    )
    calibrate.set_defaults(action=cmd_kb_calibrate)


def label_example(
    label: AnswerLabel, measured: tuple[dict[str, float], str | None] | None, known: bool
) -> Example | None:
    """What a label teaches the model, or None when it says nothing of the best fiche.

    ``measured`` is the features and best fiche measured again, for a label stored without
    (complete) features. A positive verdict on the fiche ranked first is a right answer; on
    another fiche, a wrong one (the first was not the answer). A negative verdict on the
    fiche ranked first is a question the fiches did not answer; on another fiche it says
    nothing of the first.
    """
    features, first = (label.features, label.shown_fiche)
    if not _complete(features):
        if measured is None:
            return None
        features, first = measured
    positive = label.verdict == Verdict.POSITIVE
    if not positive and first != label.fiche_id:
        return None
    return Example(
        {name: float(features[name]) for name in FEATURES},
        positive=positive and first == label.fiche_id,
        answerable=positive,
        group=f"label:{label.fiche_id}",
        known=known,
    )


def _complete(features: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    """Whether stored features hold every input the model weighs."""
    return features is not None and all(name in features for name in FEATURES)


def learnt_by(label: AnswerLabel, current: AnswerabilityFit | None) -> bool:
    """Whether the model in use learnt from ``label`` as it stands.

    A fit learnt every label up to its ``last_label_id`` as judged when it was stored; a
    label judged again since (the same judge's later verdict on the same question and fiche
    keeps its id) is new to it.
    """
    if current is None:
        return False
    return label.id <= current.last_label_id and label.created_at <= current.created_at


def _examples(
    config: Config,
    database: Database,
    stored: list[AnswerLabel],
    current: AnswerabilityFit | None,
) -> tuple[list[Example], int]:
    """The stored labels as examples (measuring again those stored without features)."""
    triage: Triage | None = None
    examples, skipped = [], 0
    for label in stored:
        measured = None
        if not _complete(label.features) and label.text.strip():
            if triage is None:
                from bot.assembly import build_triage

                triage = build_triage(config, database)
            analysis = triage.analyse(label.text, preferred=label.language)
            if analysis.hits:
                measured = (dict(analysis.features), analysis.hits[0].fiche_id)
        example = label_example(label, measured, known=learnt_by(label, current))
        if example is None:
            skipped += 1
        else:
            examples.append(example)
    return examples, skipped


def _row(name: str, f: Figures, answer_at: float) -> str:
    return (
        f"  {name:28} precision {f.precision:.3f}  coverage {f.coverage:.3f}  "
        f"expert reach {f.expert_reach:.3f}  ({f.answers} instant answers, {f.wrong} wrong; "
        f"cost {f.cost(answer_at):g})"
    )


def cmd_kb_calibrate(config: Config, args: argparse.Namespace) -> int:
    """Refit, compare with the model in use on the same folds, and store it if no worse."""
    try:
        base = load_base(args.base)
    except (OSError, ValueError, KeyError) as error:
        raise CommandError(f"kb calibrate: cannot read the base set {args.base}: {error}") from None
    answer_at = config.knowledge.answer_confidence
    with command_database(config) as database:
        with database.sessions() as session:
            stored = labels(session)
            current = latest_fit(session)
            session.expunge_all()
        learnt, skipped = _examples(config, database, stored, current)
        examples = base + learnt
        new_labels = sum(not e.known for e in learnt)
        print(
            f"{len(base)} base examples and {len(learnt)} of {len(stored)} stored labels "
            f"({new_labels} new since the model in use"
            + (f"; {skipped} say nothing of the best fiche" if skipped else "")
            + ")"
        )
        before = figures(examples, cross_validated(examples, lambda e: e.known), answer_at)
        after = figures(examples, cross_validated(examples), answer_at)
        print(f"grouped {len(examples)}-example cross-validation at answer_confidence {answer_at}:")
        in_use = "model in use" + (f" (#{current.id})" if current else " (shipped)")
        print(_row(in_use, before, answer_at))
        print(_row("refitted with every label", after, answer_at))
        if not new_labels:
            print("no new labels: the model in use stays")
            return 0
        if not no_worse(after, before, answer_at):
            raise CommandError(
                f"kb calibrate: the refitted model does worse than the one in use on the same "
                f"questions (cost {after.cost(answer_at):g} against {before.cost(answer_at):g}: "
                f"a wrong instant answer counts {wrong_weight(answer_at):g} times a question "
                "an expert could have been spared); the model in use stays"
            )
        if args.dry_run:
            print("dry run: nothing stored")
            return 0
        model = fit(examples)
        with database.sessions.begin() as session:
            stored_fit = add_fit(
                session,
                model.as_dict(),
                {"before": before.as_dict(), "after": after.as_dict(), "answer_at": answer_at},
                max((label.id for label in stored), default=0),
                len(learnt),
                CLOCK.now(),
            )
            number = stored_fit.id
    every = config.knowledge.reload_seconds
    if every > 0:
        print(f"stored as model #{number}; a running bot uses it within {every:g} seconds")
    else:
        print(f"stored as model #{number}; a running bot uses it once restarted (reload_seconds 0)")
    return 0
