"""Fit the re-ranking of the first fiches found for a question, with grouped CV.

Usage: python bench/fit_reranking.py [--config config.example.toml] [--sample ../shared/eval]
         [--examples FILE ...] [--blind FILE ...] [--topics FILE [--compare-in-sample]]
         [--unseen FILE] [--write]

Every question of the sample, of ``--examples`` (by default w001-w440, written or tuned on
by the models' own authors) and of ``--blind`` (by default fresh3-fresh10, w441-w1240, written
by authors who read only the product brief and the sample's fiches) runs through the bot's
triage with the search's own order (no re-ranking); each set is first printed as ranked by a
re-ranker fitted without it. (Every question counts alike: weighing the authors' own at 0.1,
0.3 or 1 put the same 331 of the blind sets' 360 answerable questions' right fiche first.)
The topic's lift is a signal; with ``--topics FILE`` (``bench/fit_topics.py
--out-of-fold FILE``) every question the topic model learnt from is read with its out-of-fold
topic likelihoods, as a question in use is, instead of the stored model's, which learnt from it.
The re-ranker is a pairwise logistic model: for each answerable question, each labelled fiche
among the first ``DEPTH`` hits against each other hit there. Questions are grouped by their
first labelled fiche (uncovered ones by language) and the figures printed are grouped 5-fold
cross-validated: each question is ranked by a model fitted without its group.
``--compare-in-sample`` (with ``--topics``) also cross-validates, on the same folds, re-rankers
fitted on the stored topic model's in-sample readings (as before 2026-12-07's refit), ranking
the questions as read out of fold.
``--unseen FILE`` then ranks the questions of FILE once with the model fitted on all the
others: a test on questions never fitted on. ``--write`` stores routing/reranking.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sample_triage import (  # noqa: E402
    add_fitting_arguments,
    examples,
    require_topics_to_write,
    sample_triage,
    show_topics,
)
from routing.reranking import RANK_FEATURES, RERANKING_PATH, Reranker, hit_features  # noqa: E402

DEPTH = 5
FOLDS = 5
L2 = 1.0


@dataclass(frozen=True)
class Ranked:
    """One question as the search ordered it, with its labels."""

    features: list[dict[str, float]]  # of every hit, in the search's order
    fiches: list[str]
    gold: list[str]
    group: str
    file: str = ""  # the labelled file it came from


def measure(
    config_path: Path, sample: Path, rows: list[dict[str, object]], topics: Path | None = None
) -> list[Ranked]:
    """Every question through the triage, in the search's own order."""
    with sample_triage(config_path, sample, topics) as triage:
        triage.reranker = None
        measured = []
        for row in rows:
            analysis = triage.analyse(str(row["q"]))
            gold = [str(f) for f in row["fiches"]]  # type: ignore[attr-defined]
            measured.append(
                Ranked(
                    [hit_features(hit, analysis.language.language) for hit in analysis.hits],
                    [hit.fiche_id for hit in analysis.hits],
                    gold,
                    gold[0] if gold else f"uncovered-{row['lang']}",
                    str(row.get("file", "")),
                )
            )
        show_topics(triage.classifier, len(rows))
    return measured


def fit(questions: Sequence[Ranked]) -> Reranker:
    """Pairwise L2-regularised logistic regression: a labelled hit against every other."""
    every = np.array(
        [[f[name] for name in RANK_FEATURES] for q in questions for f in q.features[:DEPTH]]
    )
    means = every.mean(axis=0)
    scales = every.std(axis=0)
    scales[scales == 0] = 1.0
    pairs = []
    for q in questions:
        x = (np.array([[f[n] for n in RANK_FEATURES] for f in q.features[:DEPTH]]) - means) / scales
        right = [i for i, fiche in enumerate(q.fiches[:DEPTH]) if fiche in q.gold]
        wrong = [i for i, fiche in enumerate(q.fiches[:DEPTH]) if fiche not in q.gold]
        pairs.extend(x[r] - x[w] for r in right for w in wrong)
    # Each pair both ways round, so no bias is needed and none is learnt.
    z = np.vstack([np.array(pairs), -np.array(pairs)])
    y = np.concatenate([np.ones(len(pairs)), np.zeros(len(pairs))])
    w = np.zeros(z.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + L2 * w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + L2 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return Reranker(
        dict(zip(RANK_FEATURES, map(float, means), strict=True)),
        dict(zip(RANK_FEATURES, map(float, scales), strict=True)),
        dict(zip(RANK_FEATURES, map(float, w), strict=True)),
        DEPTH,
    )


def order(q: Ranked, reranker: Reranker | None) -> list[int]:
    """The hits' positions in the re-ranker's order (the search's own without one)."""
    positions = list(range(len(q.fiches)))
    if reranker is None:
        return positions
    head = positions[:DEPTH]
    head.sort(key=lambda i: -reranker.value(q.features[i]))
    return head + positions[DEPTH:]


@dataclass(frozen=True)
class Scores:
    """Ranking and topic figures over a set of questions."""

    precision_at_1: float
    mrr: float
    recall_at_3: float


def scores(questions: Sequence[Ranked], rankings: Sequence[list[int]]) -> Scores:
    """P@1, MRR and recall@3 over the answerable questions."""
    answerable = [i for i, q in enumerate(questions) if q.gold]

    def ranks(i: int) -> list[int]:
        fiches = [questions[i].fiches[p] for p in rankings[i]][:10]
        return [r for r, f in enumerate(fiches, 1) if f in questions[i].gold]

    def recall3(i: int) -> float:
        top = {questions[i].fiches[p] for p in rankings[i][:3]}
        return len(top & set(questions[i].gold)) / len(questions[i].gold)

    count = max(len(answerable), 1)
    return Scores(
        sum(1 for i in answerable if ranks(i)[:1] == [1]) / count,
        sum(1 / ranks(i)[0] for i in answerable if ranks(i)) / count,
        sum(recall3(i) for i in answerable) / count,
    )


def cross_validated(
    questions: Sequence[Ranked], fitted_on: Sequence[Ranked] | None = None
) -> list[list[int]]:
    """Each question's order by a re-ranker fitted without its group.

    ``fitted_on``, the same questions measured otherwise, is what it learns from instead.
    """
    groups = sorted({q.group for q in questions})
    fold_of = {group: n % FOLDS for n, group in enumerate(groups)}
    rankings: list[list[int]] = [[] for _ in questions]
    learnt_from = questions if fitted_on is None else fitted_on
    for fold in range(FOLDS):
        reranker = fit([q for q in learnt_from if fold_of[q.group] != fold])
        for i, q in enumerate(questions):
            if fold_of[q.group] == fold:
                rankings[i] = order(q, reranker)
    return rankings


def show_blind(questions: Sequence[Ranked], blind: Sequence[Path]) -> None:
    """Each blind set ranked by a re-ranker fitted without it: set by set, then pooled."""
    print("blind sets, each ranked by a re-ranker fitted without it:")
    pooled: list[Ranked] = []
    rankings: list[list[int]] = []
    for path in blind:
        reranker = fit([q for q in questions if q.file != path.name])
        held = [q for q in questions if q.file == path.name]
        ranked = [order(q, reranker) for q in held]
        show(path.stem.removeprefix("answerability_"), scores(held, ranked))
        pooled += held
        rankings += ranked
    show(f"all {len(pooled)} blind questions", scores(pooled, rankings))
    show("their search's order", scores(pooled, [order(q, None) for q in pooled]))


def show(name: str, s: Scores) -> None:
    """One line of figures."""
    print(f"  {name:28} P@1 {s.precision_at_1:.3f}  MRR {s.mrr:.3f}  recall@3 {s.recall_at_3:.3f}")


def main() -> None:
    """Measure, cross-validate, print, and optionally write routing/reranking.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.example.toml")
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    add_fitting_arguments(parser, "re-rankers", "ranking")
    parser.add_argument("--unseen", type=Path, help="rank these questions once, fitted on the rest")
    parser.add_argument("--write", action="store_true", help=f"write {RERANKING_PATH.name}")
    args = parser.parse_args()
    require_topics_to_write(parser, args)
    if args.compare_in_sample and not args.topics:
        parser.error("--compare-in-sample needs --topics")
    base_rows = examples([args.sample / "questions.jsonl", *args.examples], 1.0)
    base_rows += examples(args.blind, 1.0)
    unseen_rows = examples([args.unseen], 1.0) if args.unseen else []
    measured = measure(args.config, args.sample, base_rows + unseen_rows, args.topics)
    base, unseen = measured[: len(base_rows)], measured[len(base_rows) :]
    print(f"base set: {len(base)} questions, {sum(bool(q.gold) for q in base)} answerable")
    show("search's order", scores(base, [order(q, None) for q in base]))
    if args.blind:
        show_blind(base, args.blind)
    show("re-ranked, grouped 5-fold CV", scores(base, cross_validated(base)))
    if args.compare_in_sample:
        in_sample = measure(args.config, args.sample, base_rows)
        show("fitted on in-sample topics", scores(base, cross_validated(base, in_sample)))
    reranker = fit(base)
    print("fitted on all:" + "".join(f" {k} {v:+.3f}" for k, v in reranker.weights.items()))
    if unseen:
        print(f"unseen: {len(unseen)} questions of {args.unseen.name}, fitted on the base set")
        show("search's order", scores(unseen, [order(q, None) for q in unseen]))
        show("re-ranked", scores(unseen, [order(q, reranker) for q in unseen]))
    if args.write:
        RERANKING_PATH.write_text(json.dumps(reranker.as_dict(), indent=1) + "\n", "utf-8")
        print(f"wrote {RERANKING_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
