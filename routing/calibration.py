"""Fit the answerability model on labelled examples and judge it on questions it never saw.

An example is the model's features for a question's best fiche and whether that fiche
answers it. Examples are grouped (by the fiche that answers them), and every figure here is
a grouped cross-validated one: each question is scored by a model fitted without its group.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing.answerability import FEATURES, AnswerabilityModel

__all__ = [
    "BASE_PATH",
    "Example",
    "Figures",
    "cross_validated",
    "figures",
    "fit",
    "load_base",
    "no_worse",
    "wrong_weight",
]

BASE_PATH = Path(__file__).with_name("answerability_base.jsonl")
FOLDS = 5
L2 = 1.0


@dataclass(frozen=True)
class Example:
    """One question: the features of its best fiche, and what is known of it."""

    features: dict[str, float]
    positive: bool  # its best fiche answers it
    answerable: bool  # some fiche answers it (otherwise it must reach an expert)
    group: str
    known: bool = True  # the model in use learnt from it
    # How much the fit counts it: questions written by the models' own authors, or that the
    # topic model learnt from, count less (see bench/fit_answerability.py).
    weight: float = 1.0


@dataclass(frozen=True)
class Figures:
    """How instant answers fare at the answer band."""

    precision: float  # share of instant answers whose fiche answers
    coverage: float  # share of answerable questions answered right at once
    expert_reach: float  # share of questions no fiche answers that reach an expert
    answers: int
    wrong: int  # instant answers whose fiche does not answer
    missed: int  # answerable questions not answered right at once (an expert's time)

    def as_dict(self) -> dict[str, float]:
        """The figures, rounded for printing and storing."""
        return {
            "precision": round(self.precision, 4),
            "coverage": round(self.coverage, 4),
            "expert_reach": round(self.expert_reach, 4),
            "answers": self.answers,
            "wrong": self.wrong,
            "missed": self.missed,
        }

    def cost(self, answer_at: float) -> float:
        """Wrong answers and missed ones, weighed as the answer band weighs them.

        Answering from a confidence of ``answer_at`` up says a wrong instant answer costs
        ``answer_at / (1 - answer_at)`` times a question an expert could have been spared
        (4 at 0.8): the break-even of answering at that confidence.
        """
        return self.wrong * wrong_weight(answer_at) + self.missed


def wrong_weight(answer_at: float) -> float:
    """What a wrong instant answer costs, in questions an expert could have been spared."""
    return answer_at / (1 - answer_at) if answer_at < 1 else 1e6


def load_base(path: Path = BASE_PATH) -> list[Example]:
    """The base set: the sample, our own examples and the blind sets, measured once, weighed."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    for number, row in enumerate(rows, 1):
        if float(row.get("weight", 1.0)) < 0:
            raise ValueError(f"example {number} has a negative weight: {row['weight']}")
        missing = [name for name in FEATURES if name not in row.get("features", {})]
        if missing:
            raise ValueError(
                f"example {number} has no {', '.join(missing)}: measured before the model "
                "weighed it; measure the base set again (bench/fit_topics.py --out-of-fold "
                "FILE, then bench/fit_answerability.py --write --topics FILE)"
            )
    return [
        Example(
            {name: float(row["features"][name]) for name in FEATURES},
            bool(row["positive"]),
            bool(row["answerable"]),
            str(row["group"]),
            weight=float(row.get("weight", 1.0)),
        )
        for row in rows
    ]


def _matrix(examples: Sequence[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([[e.features[name] for name in FEATURES] for e in examples], dtype=float)
    y = np.array([float(e.positive) for e in examples])
    weight = np.array([e.weight for e in examples], dtype=float)
    return x.reshape(len(examples), len(FEATURES)), y, weight


def fit(examples: Sequence[Example]) -> AnswerabilityModel:
    """L2-regularised weighted logistic regression on standardised features (Newton steps)."""
    x, y, weight = _matrix(examples)
    means = weight @ x / weight.sum()
    scales = np.sqrt(weight @ (x - means) ** 2 / weight.sum())
    scales[scales == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (weight * (p - y)) + penalty @ w
        hessian = z.T @ (z * (weight * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return AnswerabilityModel(
        dict(zip(FEATURES, map(float, means), strict=True)),
        dict(zip(FEATURES, map(float, scales), strict=True)),
        dict(zip(FEATURES, map(float, w[1:]), strict=True)),
        float(w[0]),
    )


def cross_validated(
    examples: Sequence[Example],
    learns: Callable[[Example], bool] = lambda _: True,
    fitted_on: Sequence[Example] | None = None,
) -> list[float]:
    """Each example's confidence from a model fitted without its group.

    ``learns`` says which examples the model may learn from: with the examples the model in
    use learnt from, the same folds estimate how it does, so two models are compared on the
    very same questions. ``fitted_on``, the same questions measured otherwise (in the same
    order and groups), is what the models learn from instead; ``examples`` are still scored.
    """
    groups = sorted({e.group for e in examples})
    fold_of = {group: n % FOLDS for n, group in enumerate(groups)}
    out = [0.0] * len(examples)
    learnt_from = examples if fitted_on is None else fitted_on
    for fold in range(FOLDS):
        train = [e for e in learnt_from if fold_of[e.group] != fold and learns(e)]
        test = [i for i, e in enumerate(examples) if fold_of[e.group] == fold]
        if not test:
            continue
        model = fit(train)
        for i in test:
            out[i] = model.confidence(examples[i].features)
    return out


def figures(examples: Sequence[Example], confidences: Sequence[float], answer_at: float) -> Figures:
    """Precision of instant answers, coverage of answerable questions, expert reach."""
    answered = [c >= answer_at for c in confidences]
    right = [a and e.positive for a, e in zip(answered, examples, strict=True)]
    answerable = [i for i, e in enumerate(examples) if e.answerable]
    uncovered = [i for i, e in enumerate(examples) if not e.answerable]
    count = sum(answered)
    return Figures(
        precision=sum(right) / count if count else 1.0,
        coverage=sum(right[i] for i in answerable) / len(answerable) if answerable else 0.0,
        expert_reach=(
            sum(not answered[i] for i in uncovered) / len(uncovered) if uncovered else 1.0
        ),
        answers=count,
        wrong=count - sum(right),
        missed=sum(not right[i] for i in answerable),
    )


def no_worse(new: Figures, old: Figures, answer_at: float) -> bool:
    """Whether ``new`` may replace ``old``: it costs no more on the same questions (see cost)."""
    return new.cost(answer_at) <= old.cost(answer_at) + 1e-9
