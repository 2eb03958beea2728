"""Fit the answerability model on labelled questions, and estimate it on questions unseen.

Usage: python bench/fit_answerability.py [--config config.example.toml] [--sample ../shared/eval]
         [--examples FILE ...] [--blind FILE ...] [--topics FILE [--compare-in-sample]]
         [--refit-reranker] [--hold-out FIRST:LAST] [--unseen FILE] [--write]

A question is a positive example when its best fiche (as the triage ranks them) is one of its
labelled fiches, negative otherwise (questions no fiche covers are always negative).

Two kinds of labelled questions are fitted on. ``--blind`` sets (default fresh3-fresh10,
w441-w1240) were written by authors who read only the product brief and the sample's fiches,
never the models, cues or other questions: they are asked as a new user would ask. The sample
and ``--examples`` (default w001-w440) were written or tuned on by the models' own authors,
and the topic model learnt from many of them, so their topic signals are sharper than on a
new question; they count ``OWN_WEIGHT`` each. (Fitted on them at full weight, the model was
right on 0.93 of its instant answers on blind sets against 0.99 in their own
cross-validation.)

Printed: each blind set scored by a model fitted without it (the estimate to quote; with
``--refit-reranker`` its hits are ordered by a re-ranker fitted without it too, as the one in
use learnt from every blind set), and
grouped 5-fold cross-validation over everything (questions grouped by their first labelled
fiche, uncovered ones by language). ``--hold-out w141:w240`` keeps the examples of those ids
out of the fitting and scores them. ``--topics FILE`` (``bench/fit_topics.py --out-of-fold
FILE``) reads the questions listed there with their out-of-fold topic likelihoods;
``--compare-in-sample`` also cross-validates models fitted on the stored model's readings.
``--unseen FILE`` scores the questions of FILE (a held-out set to measure once) with the
model fitted on everything. ``--write`` stores that model in routing/answerability.json, and
the measured examples with their weights in routing/answerability_base.jsonl: the base set
`rrm kb calibrate` adds the stored labels to.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fit_reranking import fit as fit_reranker  # noqa: E402
from bench.fit_reranking import measure as measure_order  # noqa: E402
from bench.sample_triage import (  # noqa: E402
    add_fitting_arguments,
    examples,
    require_topics_to_write,
    sample_triage,
    show_topics,
)
from ground.config import load_config  # noqa: E402
from routing.answerability import FEATURES, MODEL_PATH  # noqa: E402
from routing.calibration import (  # noqa: E402
    BASE_PATH,
    Example,
    Figures,
    cross_validated,
    figures,
    fit,
)
from routing.reranking import Reranker  # noqa: E402

# What a question written or tuned on by the models' authors counts, against one written blind:
# chosen by scoring each of fresh3-fresh5 with models fitted on the rest (0, 0.1, 0.2, 1 tried).
OWN_WEIGHT = 0.1


def measure(
    config_path: Path,
    sample: Path,
    rows: list[dict[str, object]],
    topics: Path | None = None,
    reranker: Reranker | None = None,
) -> list[Example]:
    """Features, label and group of every question, run through the bot's triage.

    ``reranker`` orders the hits instead of the one in use.
    """
    with sample_triage(config_path, sample, topics) as triage:
        if reranker is not None:
            triage.reranker = reranker
        measured = []
        for row in rows:
            analysis = triage.analyse(str(row["q"]))
            gold = list(row["fiches"])  # type: ignore[call-overload]
            top = analysis.hits[0].fiche_id if analysis.hits else None
            measured.append(
                Example(
                    dict(analysis.features) or dict.fromkeys(FEATURES, 0.0),
                    positive=top is not None and top in gold,
                    answerable=row["kind"] != "route",
                    group=gold[0] if gold else f"uncovered-{row['lang']}",
                    weight=float(row.get("weight", 1.0)),  # type: ignore[arg-type]
                )
            )
        show_topics(triage.classifier, len(rows))
    return measured


def show_held_out(name: str, rows: list[Example], unseen: list[Example]) -> None:
    """The figures on ``unseen`` of the model fitted on ``rows``, across answer bands."""
    model = fit(rows)
    confidence = [model.confidence(r.features) for r in unseen]
    print(f"{name}, fitted on the other {len(rows)}:")
    print_sweep(unseen, confidence, (0.7, 0.8, 0.85, 0.9, 0.95))


def show_blind(
    labelled: list[dict[str, object]],
    rows_without: Callable[[Path], list[Example]],
    blind: list[Path],
    answer_at: float,
) -> None:
    """Each blind set scored by a model fitted on everything else: set by set, then pooled.

    ``rows_without(path)`` is every question as measured for that set's turn.
    """
    scored: list[Example] = []
    confidence: list[float] = []
    print(f"blind sets, each scored by a model fitted without it, at answer {answer_at}:")
    for path in blind:
        rows = rows_without(path)
        out = [row["file"] == path.name for row in labelled]
        model = fit([r for r, o in zip(rows, out, strict=True) if not o])
        held = [r for r, o in zip(rows, out, strict=True) if o]
        readings = [model.confidence(r.features) for r in held]
        name = path.stem.removeprefix("answerability_")
        print(figures_line(f"{name:8}", figures(held, readings, answer_at)))
        scored += held
        confidence += readings
    print(f"all {len(scored)} blind questions:")
    print_sweep(scored, confidence, (0.75, 0.8, 0.85, 0.9, 0.95))


def refitted_reranker(
    args: argparse.Namespace, labelled: list[dict[str, object]]
) -> Callable[[Path], list[Example]]:
    """Every question measured with the hits ordered by a re-ranker fitted without ``path``.

    The re-ranker in use learnt from every blind set, the one scored included: this takes
    that out of the estimate, for one measure of every question per set.
    """
    in_search_order = measure_order(args.config, args.sample, labelled, args.topics)

    def rows_without(path: Path) -> list[Example]:
        reranker = fit_reranker([q for q in in_search_order if q.file != path.name])
        return measure(args.config, args.sample, labelled, args.topics, reranker)

    return rows_without


def print_sweep(
    rows: list[Example],
    confidence: list[float],
    bands: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95),
) -> None:
    """Precision, coverage, reach and the answers given, at each answer band."""
    for band in bands:
        print(figures_line(f"{band:.2f}", figures(rows, confidence, band)))


def figures_line(label: str, f: Figures) -> str:
    """One printed line of figures: precision, coverage, reach and the answers given."""
    return (
        f"  {label} precision {f.precision:.3f} coverage {f.coverage:.3f}"
        f" reach {f.expert_reach:.3f} answers {f.answers} wrong {f.wrong}"
    )


def main() -> None:
    """Measure, cross-validate, print, and optionally write the model and the base set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.example.toml")
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    add_fitting_arguments(parser, "models", "scored on")
    parser.add_argument(
        "--refit-reranker",
        action="store_true",
        help="score each blind set with the re-ranker fitted without it too (a measure per set)",
    )
    parser.add_argument(
        "--hold-out",
        metavar="FIRST:LAST",
        help="fit without the examples of these ids (inclusive) and score them: a held-out test",
    )
    parser.add_argument(
        "--unseen", type=Path, help="score these questions with the model fitted on the base set"
    )
    parser.add_argument(
        "--write", action="store_true", help=f"write {MODEL_PATH.name} and {BASE_PATH.name}"
    )
    args = parser.parse_args()
    require_topics_to_write(parser, args)
    if args.write and args.hold_out:
        parser.error("--write fits on every example: leave out --hold-out")
    if args.compare_in_sample and (args.hold_out or not args.topics):
        parser.error("--compare-in-sample needs --topics and every example (no --hold-out)")
    config = load_config(args.config)
    labelled = examples([args.sample / "questions.jsonl", *args.examples], OWN_WEIGHT)
    labelled += examples(args.blind, 1.0)
    fresh = examples([args.unseen], 1.0) if args.unseen else []
    measured = measure(args.config, args.sample, labelled + fresh, args.topics)
    rows, unseen = measured[: len(labelled)], measured[len(labelled) :]
    if unseen:
        show_held_out(f"unseen: {len(unseen)} questions of {args.unseen.name}", rows, unseen)
    if args.hold_out:
        first, last = args.hold_out.split(":")
        held = [first <= str(row["id"]) <= last for row in labelled]
        rows, held_out = (
            [r for r, out in zip(rows, held, strict=True) if not out],
            [r for r, out in zip(rows, held, strict=True) if out],
        )
        show_held_out(f"held out: {len(held_out)} questions", rows, held_out)
    print(f"{len(rows)} questions, {sum(r.positive for r in rows)} with a right best fiche")
    if args.blind and not args.hold_out:
        rows_without = refitted_reranker(args, labelled) if args.refit_reranker else None
        show_blind(
            labelled,
            rows_without or (lambda _: rows),
            args.blind,
            config.knowledge.answer_confidence,
        )
    cv = cross_validated(rows)
    model = fit(rows)
    fitted = [model.confidence(r.features) for r in rows]
    answer_at = config.knowledge.answer_confidence
    for name, confidence in (("cross-validated", cv), ("fitted (optimistic)", fitted)):
        print(f"{name} at answer {answer_at}:")
        for key, value in figures(rows, confidence, answer_at).as_dict().items():
            print(f"  {key:14} {value:.3f}")
    print("cross-validated sweep of answer_confidence:")
    print_sweep(rows, cv)
    if args.compare_in_sample:
        in_sample = measure(args.config, args.sample, labelled)
        before = cross_validated(rows, fitted_on=in_sample)
        print("fitted on in-sample topic readings, scored on out-of-fold ones (same folds):")
        print_sweep(rows, before)
    if args.write:
        MODEL_PATH.write_text(json.dumps(model.as_dict(), indent=1) + "\n", encoding="utf-8")
        BASE_PATH.write_text(
            "".join(
                json.dumps(
                    {
                        "group": r.group,
                        "answerable": r.answerable,
                        "positive": r.positive,
                        "weight": r.weight,
                        "features": {k: round(v, 6) for k, v in r.features.items()},
                    }
                )
                + "\n"
                for r in rows
            ),
            encoding="utf-8",
        )
        print(f"wrote {MODEL_PATH.relative_to(ROOT)} and {BASE_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
