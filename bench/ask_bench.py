"""Benchmark `rrm ask` on a large knowledge base: import time, latency, throughput, memory.

Usage: python bench/ask_bench.py [--fiches 10000] [--questions 1000] [--out bench/out]

1. Builds a synthetic collection of ``--fiches`` fiche versions from the sample fiches
   (each a distinct text: sentences recombined, places and figures changed) and imports it
   with the real importer, timing it (kept in --out, so later runs reuse it).
2. Feeds ``--questions`` questions (the public sample's texts, repeated) to `rrm ask --json -`
   in one process, and reads each line's elapsed_ms, the wall time and the peak memory.
3. Measures, in the same run, the two floors of one question: one langdetect call and one
   query embedding, and reports the pipeline's cost against their sum.
4. Times what a running bot does once `rrm kb import` changed its collection: build the
   triage again (index, language lexicon, topic classifier) beside the one in use, and the
   memory that second copy takes at its peak (traced by tracemalloc, in a second build).

Wall times depend on what else the machine is doing; CPU seconds (user + system, every
thread) are reported beside them because they depend much less on it.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.assembly import build_triage, embedder_for, open_database  # noqa: E402
from ground.config import load_config  # noqa: E402
from knowledge.collection import read_collection  # noqa: E402
from routing.language import LanguageDetector  # noqa: E402

PLACES = [
    "Alba",
    "Braga",
    "Cluj",
    "Drama",
    "Évora",
    "Fermo",
    "Gniezno",
    "Haskovo",
    "Ioannina",
    "Jaén",
    "Kassel",
    "Lleida",
    "Mantova",
    "Nitra",
    "Ourense",
    "Pleven",
    "Rzeszów",
    "Sibiu",
    "Trento",
    "Uppsala",
    "Viseu",
    "Xanthi",
    "Zamora",
]


# Runs `rrm ask` and reports its own peak memory, apart from the importer's.
ASK_WITH_PEAK = (
    "import resource, sys\n"
    "from bot.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print(f'peak_rss_kb={peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def build_collection(target: Path, count: int) -> None:
    """Write ``count`` distinct fiche versions derived from the sample collection."""
    config = load_config(ROOT / "config.example.toml")
    sample = read_collection(
        ROOT / "fiches", config.languages.supported, {t.id for t in config.topics}
    )
    rng = random.Random(7)
    target.mkdir(parents=True)
    for i in range(count):
        base = sample.versions[i % len(sample.versions)]
        place = PLACES[i % len(PLACES)] + f" {i // len(PLACES)}"
        sentences = re.split(r"(?<=[.!?])\s+", base.body)
        rng.shuffle(sentences)
        body = " ".join(sentences)
        body = re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), body)
        folder = target / f"syn-{i:05d}-{base.fiche_id}"[:120]
        folder.mkdir()
        tags = ", ".join(json.dumps(t, ensure_ascii=False) for t in base.tags)
        topics = ", ".join(json.dumps(t) for t in base.topics)
        (folder / f"{base.language}.md").write_text(
            "+++\n"
            f"title = {json.dumps(base.title + ' — ' + place, ensure_ascii=False)}\n"
            f"topics = [{topics}]\n"
            f"summary = {json.dumps(base.summary, ensure_ascii=False)}\n"
            f"country = {json.dumps(base.country)}\n"
            f"tags = [{tags}]\n"
            "+++\n" + body + "\n",
            "utf-8",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fiches", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=1_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    args = parser.parse_args()
    work = args.out / f"ask-{args.fiches}"
    config_path = work / "config.toml"
    if not (work / "fiches").exists():
        # Built aside and moved in whole; an import that was interrupted resumes on the same
        # files and database, embedding only what it had not committed yet.
        shutil.rmtree(work, ignore_errors=True)
        build_collection(work / "fiches.partial", args.fiches)
        (work / "fiches.partial").rename(work / "fiches")
    # Written on every run, so a kept import follows the current configuration's keys.
    text = (ROOT / "config.example.toml").read_text("utf-8")
    text = text.replace('taxonomy = "topics"', f'taxonomy = "{ROOT / "topics"}"')
    text = text.replace('url = "sqlite:///rrm.db"', f'url = "sqlite:///{work / "rrm.db"}"')
    text = text.replace('collection = "fiches"', f'collection = "{work / "fiches"}"')
    config_path.write_text(text, "utf-8")
    if not (work / "imported").exists():
        started, cpu = time.perf_counter(), child_cpu_seconds()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "--config",
                str(config_path),
                "kb",
                "import",
                str(work / "fiches"),
            ],
            check=True,
            cwd=ROOT,
        )
        seconds, cpu = time.perf_counter() - started, child_cpu_seconds() - cpu
        (work / "imported").write_text(f"{seconds:.1f} {cpu:.1f}\n")
    import_seconds, import_cpu = map(float, (work / "imported").read_text().split())

    questions = [
        json.loads(line)["q"]
        for line in (args.sample / "questions.jsonl").read_text("utf-8").splitlines()
    ]
    batch = [questions[i % len(questions)] for i in range(args.questions)]
    payload = "".join(json.dumps({"text": q}, ensure_ascii=False) + "\n" for q in batch)
    # One warm-up line loads the index; then the timed run.
    started, cpu = time.perf_counter(), child_cpu_seconds()
    result = subprocess.run(
        [sys.executable, "-c", ASK_WITH_PEAK, "--config", str(config_path), "ask", "--json", "-"],
        input=payload,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall, ask_cpu = time.perf_counter() - started, child_cpu_seconds() - cpu
    if result.returncode != 0:
        sys.exit(f"rrm ask failed ({result.returncode}): {result.stderr[-2000:]}")
    peak_kb = int(re.findall(r"peak_rss_kb=(\d+)", result.stderr)[-1])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    elapsed = [float(line["elapsed_ms"]) for line in lines if "elapsed_ms" in line]

    config = load_config(config_path)
    detector = LanguageDetector(config.languages.supported)
    embedder = embedder_for(config)
    detect_ms, embed_ms = [], []
    floors_started, floors_cpu = time.perf_counter(), time.process_time()
    for question in batch:
        t0 = time.perf_counter()
        detector.detect(question)
        t1 = time.perf_counter()
        embedder.queries([question])
        t2 = time.perf_counter()
        detect_ms.append((t1 - t0) * 1000)
        embed_ms.append((t2 - t1) * 1000)
    floors_wall = time.perf_counter() - floors_started
    floors_cpu = time.process_time() - floors_cpu
    floor = statistics.median(detect_ms) + statistics.median(embed_ms)
    database = open_database(config)
    reload_started, reload_cpu = time.perf_counter(), time.process_time()
    build_triage(config, database, embedder)
    reload_wall = time.perf_counter() - reload_started
    reload_cpu = time.process_time() - reload_cpu
    tracemalloc.start()
    build_triage(config, database, embedder)
    reload_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    database.dispose()
    report = {
        "fiche_versions": args.fiches,
        "import_seconds": round(import_seconds, 1),
        "import_cpu_seconds": round(import_cpu, 1),
        "import_cpu_ms_per_version": round(1000 * import_cpu / args.fiches, 1),
        "questions": len(elapsed),
        "ask_wall_seconds": round(wall, 2),
        "ask_questions_per_second": round(len(elapsed) / wall, 2),
        "ask_median_ms": round(statistics.median(elapsed), 2),
        "ask_p90_ms": round(percentile(elapsed, 0.9), 2),
        "ask_cpu_seconds": round(ask_cpu, 2),
        "ask_peak_rss_mb": round(peak_kb / 1024, 1),
        "floor_langdetect_median_ms": round(statistics.median(detect_ms), 2),
        "floor_embedding_median_ms": round(statistics.median(embed_ms), 2),
        "pipeline_over_floors": round(statistics.median(elapsed) / floor, 3),
        "floors_cpu_seconds": round(floors_cpu, 2),
        "floors_wall_seconds": round(floors_wall, 2),
        "reload_seconds": round(reload_wall, 2),
        "reload_cpu_seconds": round(reload_cpu, 2),
        "reload_peak_mb": round(reload_peak / 2**20, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
