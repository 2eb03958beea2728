"""Fit the topic classifier's weights and learnt terms; judge them by grouped cross-validation.

Usage: python bench/fit_topics.py [--config config.example.toml] [--sample ../shared/eval]
         [--blind FILE ...] [--unseen FILE ...] [--compare-without FILE ...]
         [--out-of-fold FILE] [--write]

The labelled questions are the public sample's, those of bench/data/answerability_examples.jsonl
that carry a topic, the two fresh sets answerability_fresh.jsonl and answerability_fresh2.jsonl
(w241-w440, written by two other authors: once held out, in this default set since 2026-12-07;
the routing/topic_model.json in use was fitted before that, without them), and
bench/data/topic_train.jsonl (written for the topics: a need in ten
languages, one practice-like and one specific question no fiche covers, per topic; t401-t460
added for the pairs most often confused in cross-validation: rural youth inclusion against
work-based learning and territorial cooperation, trainer competences against work-based
learning, skills anticipation against territorial cooperation), and the ``--blind`` sets
(default fresh3-fresh10, w441-w1240: written by authors who read only the product brief and
the sample's fiches; learnt from since 2026-12-08: each read by models fitted without it,
topic accuracy 0.887 -> 0.919 over the 800).
Every question runs through the bot's own language detection, embedding and fiche search
(against the sample's fiches), then the classifier's signals are read.

Two models are fitted: a multinomial logistic regression over the question's latent terms
(the "learnt" signal), and a conditional logit weighing the signals (example nearness,
fiche topics, keywords and, where the taxonomy is the one fitted on, the learnt one, with a
prior per topic: without it the shared weights over-read some topics, such as territorial
cooperation whenever a question names its council; grouped CV 0.827 -> 0.847 on 660).
Figures are grouped 5-fold cross-validated: questions are grouped by their answering fiche,
or their need (the same need in several languages is one group), and each is classified by
models fitted without its group; the learnt signal's weight is fitted on out-of-fold
log-odds (folds inside the folds). ``--unseen FILE`` scores the questions of FILE with the
models fitted on all the rest (measured once: never tune on them). ``--write`` stores the
models fitted on everything in routing/topic_model.json. ``--compare-without FILE ...`` adds
a column: the same folds, with the questions of those base files left out of every training
fold (still classified): what they add, question for question.

The weights are stored divided by a softening factor, so that the likelihoods are on average
as sharp (cross-validated) as those of the hand-set weights before (the ranking's
`topic_weight` was set on that scale). The factor changes no topic's rank.

Each blind set is also read by models fitted on everything but that set, and the accuracy
printed set by set: a new question meets models that know the other questions on its fiche,
which grouped cross-validation never gives.

``--out-of-fold FILE`` writes every labelled question's topic likelihoods as the
cross-validation read them (models fitted without its group, a blind set's questions without
their set, softened by the same factor):
bench/fit_reranking.py and bench/fit_answerability.py read them with ``--topics FILE``, so
their topic signals on a question are those of a topic model that never saw it, as on a
question asked in use (the bot still runs the one model fitted on everything). Since the
topic model learns from the blind sets, the re-ranker and the answerability model in use are
fitted on these readings (in-sample ones would make the blind sets' topic signals sharper
than a new question's, the fault found in the answerability model on 2026-12-07).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sample_triage import BLIND, sample_triage  # noqa: E402
from bot.assembly import embedder_for  # noqa: E402
from ground.config import load_config  # noqa: E402
from routing.topic_model import LEARNT, SIGNALS, TOPIC_MODEL_PATH, TopicModel  # noqa: E402

FOLDS = 5
TERMS_L2 = 0.003  # chosen by grouped CV from 0.003, 0.03 and 0.3
WEIGHTS_L2 = 0.01
# The hand-set weights before this model (example, fiche share, keyword): the scale to keep.
BEFORE = {"example": 3.0, "fiche": 6.0, "keyword": 1.2}
DATA = ROOT / "bench" / "data"


@dataclasses.dataclass
class Measured:
    """The labelled questions' signals, vectors, topics, groups and origins."""

    signals: dict[str, np.ndarray]  # name -> questions × topics
    vectors: sparse.csr_matrix
    topics: np.ndarray  # index of the gold topic
    groups: list[str]
    rows: list[dict[str, str]]


def labelled(paths: list[Path]) -> list[dict[str, str]]:
    """The questions of ``paths`` that carry a topic, each with its file's name and a group."""
    rows = []
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if not row.get("topic"):
                continue
            fiches = row.get("fiches") or []
            row["source"] = path.name
            row["group"] = row.get("group") or (fiches[0] if fiches else row["id"])
            rows.append(row)
    return rows


def measure(config_path: Path, sample: Path, rows: list[dict[str, str]]) -> Measured:
    """Each question's classifier signals, as the triage computes them before it classifies."""
    with sample_triage(config_path, sample) as triage:
        classifier = triage.classifier  # read after: it keeps no database
    values: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    vectors = []
    for row in rows:
        text = row["q"]
        detection = triage.detector.detect(text)
        vector = triage.embedder.queries([text])
        readable = [detection.language, triage.common_language]
        hits = triage.index.search(
            text, detection.language, vector, preferred=readable, limit=triage.max_results
        )
        for name, value in classifier.signals(text, vector, hits).items():
            values[name].append(value)
        vectors.append(vector)
    topic_ids = classifier.topic_ids
    return Measured(
        {name: np.array(values[name], dtype=np.float64) for name in SIGNALS},
        sparse.vstack(vectors).tocsr(),
        np.array([topic_ids.index(row["topic"]) for row in rows]),
        [row["group"] for row in rows],
        rows,
    )


def fit_terms(
    vectors: sparse.csr_matrix, topics: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L2-regularised multinomial logistic regression on the terms seen: terms, weights, bias."""
    terms = np.unique(vectors.indices)
    x = vectors[:, terms].tocsr()
    n, d = x.shape
    y = np.eye(count)[topics]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = w[: d * count].reshape(d, count), w[d * count :]
        z = x @ weights + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.log(p[np.arange(n), topics] + 1e-12).sum() + TERMS_L2 / 2 * (weights**2).sum()
        gradient = np.asarray(x.T @ (p - y)) + TERMS_L2 * weights
        return value, np.concatenate([gradient.ravel(), (p - y).sum(axis=0)])

    start = np.zeros(d * count + count)
    w = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    return terms, w[: d * count].reshape(d, count), w[d * count :]


def log_odds(
    model: tuple[np.ndarray, np.ndarray, np.ndarray], vectors: sparse.csr_matrix
) -> np.ndarray:
    terms, weights, bias = model
    return np.asarray(vectors[:, terms] @ weights) + bias


def fit_weights(features: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """A conditional logit: one weight per signal, shared by every topic.

    ``features`` is questions × topics × signals.
    """
    n = len(topics)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = features @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.log(p[np.arange(n), topics] + 1e-12).sum() + WEIGHTS_L2 / 2 * w @ w
        gradient = np.einsum("nk,nkm->m", p, features) - features[np.arange(n), topics].sum(0)
        return value, gradient + WEIGHTS_L2 * w

    return optimize.minimize(loss, np.zeros(features.shape[2]), jac=True, method="L-BFGS-B").x


def folds_of(groups: list[str], seed: int) -> np.ndarray:
    names = sorted(set(groups))
    order = np.random.RandomState(seed).permutation(len(names))
    fold = {names[i]: n % FOLDS for n, i in enumerate(order)}
    return np.array([fold[g] for g in groups])


def out_of_fold_log_odds(data: Measured, rows: np.ndarray, count: int) -> np.ndarray:
    """The learnt signal of ``rows``, each from a model fitted without its group."""
    out = np.zeros((len(rows), count))
    fold = folds_of([data.groups[i] for i in rows], seed=1)
    for f in range(FOLDS):
        train, test = rows[fold != f], rows[fold == f]
        if len(test):
            model = fit_terms(data.vectors[train], data.topics[train], count)
            out[fold == f] = log_odds(model, data.vectors[test])
    return out


def stacked(
    data: Measured, rows: np.ndarray, learnt: np.ndarray | None, priors: bool = True
) -> np.ndarray:
    """Questions × topics × features: the signals, then the learnt log-odds when given.

    With the learnt log-odds come, unless ``priors`` is False, one indicator per topic
    (its weight is the topic's prior).
    """
    parts = [data.signals[name][rows] for name in SIGNALS]
    if learnt is None:
        return np.stack(parts, axis=-1)
    stack = np.stack([*parts, learnt], axis=-1)
    if not priors:
        return stack
    count = stack.shape[1]
    return np.concatenate([stack, np.broadcast_to(np.eye(count), (len(rows), count, count))], -1)


def fit_all(data: Measured, rows: np.ndarray, count: int) -> tuple[tuple, np.ndarray, np.ndarray]:
    """The learnt terms, the weights with them and the priors (fitted out of fold), without them.

    Also the weights with the terms and no priors (the model before them), for comparison.
    """
    terms = fit_terms(data.vectors[rows], data.topics[rows], count)
    inner = out_of_fold_log_odds(data, rows, count)
    with_terms = fit_weights(stacked(data, rows, inner), data.topics[rows])
    no_prior = fit_weights(stacked(data, rows, inner, priors=False), data.topics[rows])
    without = fit_weights(stacked(data, rows, None), data.topics[rows])
    return terms, with_terms, without, no_prior


def before(data: Measured, rows: np.ndarray) -> np.ndarray:
    """The hand-set classifier's sums: the fiche signal was each topic's share of it."""
    fiche = data.signals["fiche"][rows]
    total = fiche.sum(axis=1, keepdims=True)
    share = np.divide(fiche, total, out=np.zeros_like(fiche), where=total > 0)
    return (
        BEFORE["example"] * data.signals["example"][rows]
        + BEFORE["fiche"] * share
        + BEFORE["keyword"] * data.signals["keyword"][rows]
    )


def sharpness(totals: np.ndarray, factor: float = 1.0) -> float:
    """The mean likelihood of the top topic when the sums are divided by ``factor``."""
    z = totals / factor
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return float((p.max(axis=1) / p.sum(axis=1)).mean())


def softening(totals: np.ndarray, target: float) -> float:
    """The factor that makes ``totals`` as sharp as ``target`` (bisection on its log)."""
    low, high = -3.0, 3.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if sharpness(totals, np.exp(middle)) > target else (low, middle)
    return float(np.exp((low + high) / 2))


def report(name: str, data: Measured, predicted: dict[str, np.ndarray], rows: np.ndarray) -> None:
    """Accuracy overall and by source, kind of question and language."""
    print(f"{name} ({len(rows)} questions)")
    buckets: dict[str, list[int]] = collections.defaultdict(list)
    for n, i in enumerate(rows):
        row = data.rows[i]
        covered = row.get("kind") == "answerable" or row.get("need") == "practice"
        uncovered = row.get("kind") == "route" or row.get("need") == "specific"
        buckets["all"].append(n)
        buckets[f"source {row['source']}"].append(n)
        if covered or uncovered:
            buckets["answerable / practice" if covered else "uncovered / specific"].append(n)
        buckets[f"language {row['lang']}"].append(n)
    print(f"  {'':40}" + "".join(f"{label:>16}" for label in predicted))
    for bucket, members in buckets.items():
        figures = "".join(
            f"{np.mean(guess[members] == data.topics[rows][members]):>16.3f}"
            for guess in predicted.values()
        )
        print(f"  {bucket:40}{figures}   n={len(members)}")


def confusions(
    data: Measured, guess: np.ndarray, rows: np.ndarray, topic_ids: list[str], shown: int = 8
) -> None:
    """The most frequent wrong readings: gold topic -> topic chosen."""
    gold = data.topics[rows]
    pairs = collections.Counter(
        (topic_ids[g], topic_ids[p]) for g, p in zip(gold, guess, strict=True) if g != p
    )
    print(f"  most frequent confusions ({sum(pairs.values())} wrong):")
    for (truth, chosen), n in pairs.most_common(shown):
        print(f"    {n:3d}  {truth} -> {chosen}")


def blind_readings(
    data: Measured, base_rows: np.ndarray, readings: np.ndarray, blind: list[Path], count: int
) -> np.ndarray:
    """``readings`` with each blind set's questions read by models fitted without that set.

    Grouped cross-validation leaves out every question on a fiche, which no question asked in
    use meets: a new question comes with the others on its fiche known. Its set left out
    instead, a blind question is read as a new one is. The accuracy of these readings, set
    by set, is printed: the estimate to quote.
    """
    readings = readings.copy()
    position = {row: n for n, row in enumerate(base_rows)}
    right = total = 0
    print("blind sets, each read by models fitted without it:")
    for path in blind:
        held = np.array([i for i in base_rows if data.rows[i]["source"] == path.name])
        rest = np.array([i for i in base_rows if data.rows[i]["source"] != path.name])
        terms, with_terms, _, _ = fit_all(data, rest, count)
        totals = stacked(data, held, log_odds(terms, data.vectors[held])) @ with_terms
        readings[[position[i] for i in held]] = totals
        hits = int((totals.argmax(1) == data.topics[held]).sum())
        print(f"  {path.stem.removeprefix('answerability_'):10} {hits / len(held):.3f}")
        right, total = right + hits, total + len(held)
    print(f"  all {total:<6} {right / max(total, 1):.3f}")
    return readings


def write_out_of_fold(
    path: Path, rows: list[dict[str, str]], totals: np.ndarray, topic_ids: list[str]
) -> None:
    """Each question's text and every topic's likelihood, most likely first, as JSON lines."""
    texts = [row["q"] for row in rows]
    if len(set(texts)) != len(texts):
        raise SystemExit("two labelled questions share a text: their likelihoods would mix")
    p = np.exp(totals - totals.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    with path.open("w", encoding="utf-8") as out:
        for row, likelihood in zip(rows, p, strict=True):
            order = np.argsort(-likelihood, kind="stable")
            scores = [[topic_ids[i], round(float(likelihood[i]), 6)] for i in order]
            out.write(json.dumps({"id": row["id"], "q": row["q"], "scores": scores}) + "\n")
    print(f"wrote {len(rows)} questions' out-of-fold topic likelihoods to {path}")


def main() -> None:
    """Measure, cross-validate, score unseen files and optionally store the models."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.example.toml")
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument(
        "--blind",
        type=Path,
        nargs="*",
        default=BLIND,
        help="questions written blind, learnt from too (default: fresh3-fresh10)",
    )
    parser.add_argument("--unseen", type=Path, nargs="*", default=[])
    parser.add_argument(
        "--compare-without",
        type=Path,
        nargs="*",
        default=[],
        help="also cross-validate, on the same folds, models fitted without these base files",
    )
    parser.add_argument(
        "--out-of-fold",
        type=Path,
        help="write the cross-validated topic likelihoods of every labelled question (JSON lines)",
    )
    parser.add_argument("--write", action="store_true", help="store routing/topic_model.json")
    args = parser.parse_args()
    base = [
        args.sample / "questions.jsonl",
        DATA / "answerability_examples.jsonl",
        DATA / "answerability_fresh.jsonl",
        DATA / "answerability_fresh2.jsonl",
        DATA / "topic_train.jsonl",
        *args.blind,
    ]
    rows = labelled(base + list(args.unseen))
    data = measure(args.config, args.sample, rows)
    config = load_config(args.config)
    topic_ids = [t.id for t in config.topics]
    count = len(topic_ids)
    is_base = np.array([row["source"] in {p.name for p in base} for row in rows])
    base_rows = np.where(is_base)[0]

    # Grouped cross-validation on the base set.
    fold = folds_of([data.groups[i] for i in base_rows], seed=0)
    names = ("signals", "terms, no prior", "with terms")
    totals = {name: np.zeros((len(base_rows), count)) for name in names}
    left_out = {path.name for path in args.compare_without}
    kept = np.array([data.rows[i]["source"] not in left_out for i in base_rows])
    fewer = np.zeros((len(base_rows), count))
    for f in range(FOLDS):
        train, test = base_rows[fold != f], base_rows[fold == f]
        terms, with_terms, without, no_prior = fit_all(data, train, count)
        outer = log_odds(terms, data.vectors[test])
        totals["with terms"][fold == f] = stacked(data, test, outer) @ with_terms
        totals["terms, no prior"][fold == f] = stacked(data, test, outer, False) @ no_prior
        totals["signals"][fold == f] = stacked(data, test, None) @ without
        print(f"fold {f}: weights {np.round(with_terms, 2)}, signals only {np.round(without, 2)}")
        if left_out:
            fitted = fit_all(data, base_rows[(fold != f) & kept], count)
            learnt = log_odds(fitted[0], data.vectors[test])
            fewer[fold == f] = stacked(data, test, learnt) @ fitted[1]
    hand_set = before(data, base_rows)
    guesses = {"before": hand_set.argmax(1)} | {k: v.argmax(1) for k, v in totals.items()}
    if left_out:
        guesses["without them"] = fewer.argmax(1)
    report(
        "grouped 5-fold cross-validation ('before': hand-set, not fitted)", data, guesses, base_rows
    )
    confusions(data, guesses["with terms"], base_rows, topic_ids)
    target = sharpness(hand_set)
    soften = {name: softening(value, target) for name, value in totals.items()}
    print(
        f"mean top likelihood: before {target:.3f}, fitted "
        + ", ".join(
            f"{k} {sharpness(v):.3f} (softened by {soften[k]:.2f})" for k, v in totals.items()
        )
    )

    readings = totals["with terms"]
    if args.blind:
        readings = blind_readings(data, base_rows, readings, args.blind, count)
    if args.out_of_fold:
        write_out_of_fold(
            args.out_of_fold,
            [data.rows[i] for i in base_rows],
            readings / soften["with terms"],
            topic_ids,
        )

    terms, with_terms, without, no_prior = fit_all(data, base_rows, count)
    for path in args.unseen:
        unseen = np.array([i for i, row in enumerate(rows) if row["source"] == path.name])
        learnt = log_odds(terms, data.vectors[unseen])
        report(
            f"unseen {path.name}, fitted on the base set",
            data,
            {
                "before": before(data, unseen).argmax(1),
                "signals": (stacked(data, unseen, None) @ without).argmax(1),
                "terms, no prior": (stacked(data, unseen, learnt, False) @ no_prior).argmax(1),
                "with terms": (stacked(data, unseen, learnt) @ with_terms).argmax(1),
            },
            unseen,
        )
    if args.write:
        model = TopicModel(
            dict(zip((*SIGNALS, LEARNT), with_terms[:4] / soften["with terms"], strict=True)),
            dict(zip(SIGNALS, without / soften["signals"], strict=True)),
            tuple(topic_ids),
            embedder_for(config).name,
            terms[0],
            terms[1].astype(np.float32),
            terms[2].astype(np.float32),
            (with_terms[4:] / soften["with terms"]).astype(np.float32),
        )
        TOPIC_MODEL_PATH.write_text(json.dumps(model.as_dict()) + "\n", "utf-8")
        print(f"wrote {TOPIC_MODEL_PATH.relative_to(ROOT)}: {len(terms[0])} terms")


if __name__ == "__main__":
    main()
