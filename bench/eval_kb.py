"""Measure language, topic, retrieval and answer-or-route quality on a labelled sample.

Usage: python bench/eval_kb.py [--config config.example.toml] [--sample ../shared/eval]
         [--predictions out.jsonl]

It imports the sample's fiches (and only them) into a throw-away SQLite database, runs every
question through the same triage the bot uses, with no language hint and no history, and
prints the metrics of the sample's README.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sample_triage import sample_triage  # noqa: E402
from ground.config import load_config  # noqa: E402


def predict(
    config_path: Path, sample: Path, questions: Path | None = None
) -> list[dict[str, object]]:
    """Run every question (the sample's by default) through the triage; one prediction each."""
    with sample_triage(config_path, sample) as triage:
        predictions = []
        source = questions or sample / "questions.jsonl"
        for line in source.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            question = json.loads(line)
            started = time.perf_counter()
            analysis = triage.analyse(question["q"])
            predictions.append(
                {
                    "id": question["id"],
                    "lang": analysis.language.language,
                    "topic": analysis.topic.scores[0][0],
                    "fiches": [hit.fiche_id for hit in analysis.hits],
                    "decision": analysis.decision,
                    "confidence": round(analysis.confidence, 4),
                    "score": round(analysis.hits[0].score, 4) if analysis.hits else None,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            )
    return predictions


def score(
    sample: Path, predictions: list[dict[str, object]], questions: Path | None = None
) -> dict[str, float]:
    """The sample README's metrics, plus the route questions' own accuracy."""
    source = questions or sample / "questions.jsonl"
    gold = {
        q["id"]: q
        for q in map(json.loads, filter(str.strip, source.read_text("utf-8").splitlines()))
    }
    pred = {str(p["id"]): p for p in predictions}
    every = list(gold)
    answerable = [i for i in every if gold[i]["kind"] == "answerable"]
    route = [i for i in every if gold[i]["kind"] == "route"]
    short = [i for i in every if gold[i]["kind"] == "short"]
    decided = answerable + route

    def share(ids: list[str], ok: object) -> float:
        if not ids:
            return float("nan")  # e.g. no short questions in a file of one's own
        return sum(bool(ok(i)) for i in ids) / len(ids)  # type: ignore[operator]

    def recall3(i: str) -> float:
        top = list(pred[i]["fiches"])[:3]  # type: ignore[call-overload]
        return len(set(gold[i]["fiches"]) & set(top)) / len(gold[i]["fiches"])

    def reciprocal_rank(i: str) -> float:
        ranked = list(pred[i]["fiches"])[:10]  # type: ignore[call-overload]
        ranks = [r for r, f in enumerate(ranked, 1) if f in gold[i]["fiches"]]
        return 1 / ranks[0] if ranks else 0.0

    def to_expert(i: str) -> bool:
        return pred[i]["decision"] != "answer"  # suggest and route both reach an expert

    def right_answer(i: str) -> bool:
        return pred[i]["decision"] == "answer" and bool(
            set(list(pred[i]["fiches"])[:1]) & set(gold[i]["fiches"])  # type: ignore[call-overload]
        )

    answered = [i for i in decided + short if pred[i]["decision"] == "answer"]
    return {
        "language": share(every, lambda i: pred[i]["lang"] == gold[i]["lang"]),
        "language_short": share(short, lambda i: pred[i]["lang"] == gold[i]["lang"]),
        "topic": share(every, lambda i: pred[i]["topic"] == gold[i]["topic"]),
        "topic_short": share(short, lambda i: pred[i]["topic"] == gold[i]["topic"]),
        "recall@3": sum(map(recall3, answerable)) / len(answerable),
        "mrr": sum(map(reciprocal_rank, answerable)) / len(answerable),
        "answer_or_route": share(decided, lambda i: to_expert(i) == (gold[i]["kind"] == "route")),
        "precision": share(answered, right_answer) if answered else 1.0,
        "coverage": share(answerable + short, right_answer),
        "expert_reach": share(route, to_expert),
        "answerable_answered": share(answerable, lambda i: pred[i]["decision"] == "answer"),
        "correct_answers": share(
            answerable,
            lambda i: (
                pred[i]["decision"] == "answer"
                and list(pred[i]["fiches"])[:1] == gold[i]["fiches"][:1]
            ),  # type: ignore[call-overload]
        ),
    }


def main() -> None:
    """Run the evaluation and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.example.toml")
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument(
        "--questions",
        type=Path,
        help="score these labelled questions (JSON lines, the sample's format) instead of "
        "the sample's, against the sample's fiches",
    )
    parser.add_argument("--predictions", type=Path, help="also write predictions as JSON lines")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    parser.add_argument(
        "--cv", action="store_true", help="also print the grouped cross-validated estimate"
    )
    args = parser.parse_args()
    predictions = predict(args.config, args.sample, args.questions)
    if args.predictions:
        args.predictions.write_text(
            "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions), "utf-8"
        )
    if args.verbose:
        gold = {
            q["id"]: q
            for q in map(
                json.loads,
                filter(
                    str.strip,
                    (args.questions or args.sample / "questions.jsonl")
                    .read_text("utf-8")
                    .splitlines(),
                ),
            )
        }
        for p in predictions:
            g = gold[str(p["id"])]
            misses = []
            if p["lang"] != g["lang"]:
                misses.append(f"lang {p['lang']}≠{g['lang']}")
            if p["topic"] != g["topic"]:
                misses.append(f"topic {p['topic']}≠{g['topic']}")
            if g["kind"] == "answerable" and (list(p["fiches"])[:1] != g["fiches"][:1]):
                misses.append(f"fiche {list(p['fiches'])[:3]}≠{g['fiches']}")
            if g["kind"] != "short" and (p["decision"] == "answer") != (g["kind"] != "route"):
                misses.append(f"decision {p['decision']} ({g['kind']})")
            if misses:
                print(p["id"], f"score={p['score']}", "; ".join(misses))
    figures = score(args.sample, predictions, args.questions)
    for name, value in figures.items():
        print(f"{name:20} {value:.3f}")
    if args.cv:
        from bench.fit_answerability import examples, measure
        from routing.calibration import cross_validated
        from routing.calibration import figures as cv_figures

        config = load_config(args.config)
        rows = measure(args.config, args.sample, examples(args.sample, []))
        print("grouped 5-fold cross-validated estimate (sample only):")
        estimate = cv_figures(rows, cross_validated(rows), config.knowledge.answer_confidence)
        for name, value in estimate.as_dict().items():
            print(f"  {name:18} {value:.3f}")
    latencies = sorted(float(p["ms"]) for p in predictions)  # type: ignore[arg-type]
    print(f"{'median ms':20} {latencies[len(latencies) // 2]:.1f}")


if __name__ == "__main__":
    main()
