"""Fit the answerability model on the public sample plus our own examples, with grouped CV.

Usage: python bench/fit_answerability.py [--config config.example.toml] [--sample ../shared/eval]
         [--examples bench/data/answerability_examples.jsonl] [--write]

A question is a positive example when its best fiche (as the triage ranks them) is one of its
labelled fiches, negative otherwise (questions no fiche covers are always negative). Questions
are grouped by their first labelled fiche (uncovered ones by language), and the figures printed
are those of models that never saw the question's group: grouped 5-fold cross-validation.
``--write`` stores the model fitted on everything in routing/answerability.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.assembly import build_triage, embedder_for, import_fiches, open_database  # noqa: E402
from bot.ground.config import DatabaseConfig, load_config  # noqa: E402
from routing.answerability import FEATURES, MODEL_PATH, features  # noqa: E402

FOLDS = 5
L2 = 1.0


def examples(sample: Path, extra: Path | None) -> list[dict[str, object]]:
    """The labelled questions of the sample and of ``extra``."""
    files = [sample / "questions.jsonl"] + ([extra] if extra else [])
    return [
        json.loads(line)
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def measure(config_path: Path, sample: Path, rows: list[dict[str, object]]) -> list[dict]:
    """Features, label and group of every question, run through the bot's triage."""
    config = load_config(config_path)
    with tempfile.TemporaryDirectory() as folder:
        config = dataclasses.replace(
            config,
            database=DatabaseConfig(url=f"sqlite:///{folder}/fit.db"),
            knowledge=dataclasses.replace(config.knowledge, import_on_start=False),
        )
        database = open_database(config)
        embedder = embedder_for(config)
        import_fiches(config, database, embedder, sample / "fiches")
        triage = build_triage(config, database, embedder)
        measured = []
        for row in rows:
            text = str(row["q"])
            analysis = triage.analyse(text)
            gold = list(row["fiches"])  # type: ignore[call-overload]
            top = analysis.hits[0].fiche_id if analysis.hits else None
            measured.append(
                {
                    "id": row["id"],
                    "kind": "route" if row["kind"] == "route" else "answerable",
                    "x": features(text, analysis.language, analysis.topic, analysis.hits),
                    "y": int(top is not None and top in gold),
                    "group": gold[0] if gold else f"uncovered-{row['lang']}",
                }
            )
        database.dispose()
    return measured


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """L2-regularised logistic regression on standardised features (Newton steps)."""
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian, gradient)
    return means, scales, w[1:], float(w[0])


def predict(model: tuple[np.ndarray, np.ndarray, np.ndarray, float], x: np.ndarray) -> np.ndarray:
    """Probabilities of ``x`` under ``model``."""
    means, scales, weights, bias = model
    return 1 / (1 + np.exp(-(bias + ((x - means) / scales) @ weights)))


def figures(
    rows: list[dict], confidence: np.ndarray, answer_at: float, suggest_at: float
) -> dict[str, float]:
    """Precision of instant answers, coverage of answerable questions, expert reach."""
    answered = confidence >= answer_at
    y = np.array([r["y"] for r in rows])
    answerable = np.array([r["kind"] == "answerable" for r in rows])
    route = ~answerable
    return {
        "precision": float(y[answered].mean()) if answered.any() else 1.0,
        "coverage": float((answered & (y == 1))[answerable].mean()),
        "expert_reach": float((~answered)[route].mean()),
        "suggested": float(((confidence >= suggest_at) & ~answered).mean()),
        "answers": int(answered.sum()),
    }


def cross_validated(rows: list[dict]) -> np.ndarray:
    """Every question's probability from a model fitted without its group."""
    x = np.array([[r["x"][name] for name in FEATURES] for r in rows])
    y = np.array([r["y"] for r in rows], dtype=float)
    groups = sorted({r["group"] for r in rows})
    fold_of = {group: n % FOLDS for n, group in enumerate(groups)}
    folds = np.array([fold_of[r["group"]] for r in rows])
    out = np.zeros(len(rows))
    for fold in range(FOLDS):
        test = folds == fold
        out[test] = predict(fit(x[~test], y[~test]), x[test])
    return out


def main() -> None:
    """Measure, cross-validate, print, and optionally write the model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.example.toml")
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument(
        "--examples", type=Path, default=ROOT / "bench" / "data" / "answerability_examples.jsonl"
    )
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH.name}")
    args = parser.parse_args()
    config = load_config(args.config)
    rows = measure(args.config, args.sample, examples(args.sample, args.examples))
    print(f"{len(rows)} questions, {sum(r['y'] for r in rows)} with a right best fiche")
    cv = cross_validated(rows)
    x = np.array([[r["x"][name] for name in FEATURES] for r in rows])
    model = fit(x, np.array([r["y"] for r in rows], dtype=float))
    fitted = predict(model, x)
    bands = (config.knowledge.answer_confidence, config.knowledge.suggest_confidence)
    for name, confidence in (("cross-validated", cv), ("fitted (optimistic)", fitted)):
        print(f"{name} at answer {bands[0]} / suggest {bands[1]}:")
        for key, value in figures(rows, confidence, *bands).items():
            print(f"  {key:14} {value:.3f}")
    print("cross-validated sweep of answer_confidence:")
    for answer_at in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95):
        f = figures(rows, cv, answer_at, bands[1])
        print(
            f"  {answer_at:.2f} precision {f['precision']:.3f} coverage {f['coverage']:.3f}"
            f" reach {f['expert_reach']:.3f} answers {f['answers']}"
        )
    if args.write:
        means, scales, weights, bias = model
        data = {
            "means": dict(zip(FEATURES, map(float, means), strict=True)),
            "scales": dict(zip(FEATURES, map(float, scales), strict=True)),
            "weights": dict(zip(FEATURES, map(float, weights), strict=True)),
            "bias": bias,
        }
        MODEL_PATH.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
