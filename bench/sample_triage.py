"""The bench's triage over the sample's fiches alone, on a throw-away SQLite database.

With ``topics`` (written by ``bench/fit_topics.py --out-of-fold``), the questions listed there
are read with their out-of-fold topic likelihoods instead of the stored topic model's, which
learnt from them; any other question is read by the stored model as in use.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from scipy import sparse

from bot.assembly import build_triage, embedder_for, import_fiches, open_database
from ground.config import DatabaseConfig, load_config
from knowledge.index import FicheHit
from routing.topics import TopicClassifier, TopicGuess
from routing.triage import Triage

__all__ = [
    "BLIND",
    "OutOfFoldTopics",
    "add_fitting_arguments",
    "examples",
    "require_topics_to_write",
    "sample_triage",
    "show_topics",
]

DATA = Path(__file__).resolve().parent / "data"
# Questions written by authors who read only the product brief and the sample's fiches.
BLIND = [DATA / f"answerability_fresh{n}.jsonl" for n in range(3, 11)]


def examples(files: Sequence[Path], weight: float) -> list[dict[str, object]]:
    """The labelled questions of ``files``, each marked with its weight and its file."""
    return [
        json.loads(line) | {"weight": weight, "file": path.name}
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


class OutOfFoldTopics(TopicClassifier):
    """The stored classifier, except for questions whose likelihoods were read out of fold."""

    def __init__(self, classifier: TopicClassifier, path: Path) -> None:
        # The stored classifier's state as it is; nothing is embedded again.
        self.__dict__.update(classifier.__dict__)
        self.guesses: dict[str, TopicGuess] = {}
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                scores = tuple((str(t), float(p)) for t, p in row["scores"])
                best, confidence = scores[0]
                topic = best if confidence >= self.min_confidence else None
                self.guesses[row["q"]] = TopicGuess(topic, confidence, scores)
        self.read = 0  # questions read out of fold so far

    def classify(
        self, text: str, vector: sparse.csr_matrix, hits: Sequence[FicheHit]
    ) -> TopicGuess:
        """The out-of-fold reading of ``text`` if there is one, else the stored model's."""
        guess = self.guesses.get(text)
        if guess is None:
            return super().classify(text, vector, hits)
        self.read += 1
        return guess


@contextlib.contextmanager
def sample_triage(config_path: Path, sample: Path, topics: Path | None = None) -> Iterator[Triage]:
    """The bot's triage with the config at ``config_path`` and only ``sample``'s fiches."""
    if not (sample / "fiches").is_dir():
        raise SystemExit(f"{sample}: no fiches folder here; give the sample with --sample PATH")
    config = load_config(config_path)
    with tempfile.TemporaryDirectory() as folder:
        config = dataclasses.replace(
            config,
            database=DatabaseConfig(url=f"sqlite:///{folder}/sample.db"),
            knowledge=dataclasses.replace(config.knowledge, import_on_start=False),
        )
        database = open_database(config)
        try:
            embedder = embedder_for(config)
            import_fiches(config, database, embedder, sample / "fiches")
            triage = build_triage(config, database, embedder)
            if topics is not None:
                triage.classifier = OutOfFoldTopics(triage.classifier, topics)
            yield triage
        finally:
            database.dispose()


def show_topics(classifier: TopicClassifier, count: int) -> None:
    """Print whose topic likelihoods the ``count`` questions just read were."""
    if isinstance(classifier, OutOfFoldTopics):
        print(
            f"topic likelihoods: {classifier.read} of {count} questions out of fold, "
            "the rest by the stored model (which never saw them)"
        )
    else:
        print("topic likelihoods: the stored model's (in-sample on the questions it learnt from)")


def add_fitting_arguments(parser: argparse.ArgumentParser, fitted: str, scored: str) -> None:
    """The options the re-ranker's and the answerability model's fitting share.

    ``fitted`` names what is fitted ("models", "re-rankers"), ``scored`` what the out-of-fold
    readings then do ("scored on", "ranking").
    """
    parser.add_argument(
        "--examples",
        type=Path,
        nargs="+",
        default=[
            DATA / "answerability_examples.jsonl",
            DATA / "answerability_fresh.jsonl",
            DATA / "answerability_fresh2.jsonl",
        ],
        help="our own labelled questions fitted on beside the sample's (default: w001-w440)",
    )
    parser.add_argument(
        "--blind",
        type=Path,
        nargs="*",
        default=BLIND,
        help="questions written blind, fitted on at full weight (default: fresh3-fresh10)",
    )
    parser.add_argument(
        "--topics",
        type=Path,
        help="out-of-fold topic likelihoods (bench/fit_topics.py --out-of-fold FILE) to read "
        "the questions listed there with",
    )
    parser.add_argument(
        "--compare-in-sample",
        action="store_true",
        help=f"with --topics: also cross-validate {fitted} fitted on the stored topic model's "
        f"readings (in-sample, as before), {scored} the out-of-fold ones",
    )


def require_topics_to_write(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse ``--write`` without ``--topics``: the stored topic model learnt these questions.

    Fitted on its in-sample readings, a model would learn topic signals sharper than a new
    question's (the fault found on 2026-12-07).
    """
    if args.write and not args.topics:
        parser.error(
            "--write needs --topics FILE: the topic model in use learnt these questions; "
            "write their readings without them first (bench/fit_topics.py --out-of-fold FILE)"
        )
