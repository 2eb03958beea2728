"""Who would receive each sample question: the top-topic rule against expertise as a whole.

Usage: python bench/routing_bench.py [--config config.example.toml] [--sample ../shared/eval]

Every question of the sample goes through the bot's triage (its fiches imported into a
throw-away SQLite database), then to two routings over the config's experts, all free and
with no load: the former rule (experts of the top topic who read the language, else of the
top topic who read English) and routing.matching with every topic's probability, the asker's
country and locality. It prints, for each, how often the assignee reads the question's
language and how often the sample's gold topic is among the assignee's topics.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sample_triage import sample_triage  # noqa: E402
from ground.config import Config, load_config  # noqa: E402
from handlers.directory import asker_country  # noqa: E402
from routing.locality import is_local  # noqa: E402
from routing.matching import Candidate, Need, RouteDecision, match  # noqa: E402


def directory(config: Config) -> list[Candidate]:
    """The config's experts, all free."""
    people = []
    for number, expert in enumerate(config.experts, 1):
        partner = config.partner(expert.partner)
        people.append(
            Candidate(
                number,
                expert.id,
                expert.name,
                expert.partner,
                expert.languages,
                expert.topics,
                expert.capacity,
                False,
                0,
                partner.country if partner else "",
            )
        )
    return people


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.example.toml")
    parser.add_argument("--sample", type=Path, default=ROOT.parent / "shared" / "eval")
    args = parser.parse_args()
    config = load_config(args.config)
    experts = directory(config)
    tallies: dict[str, Counter[str]] = {"top topic only": Counter(), "expertise": Counter()}
    with sample_triage(args.config, args.sample) as triage:
        for line in (args.sample / "questions.jsonl").read_text(encoding="utf-8").splitlines():
            question = json.loads(line)
            analysis = triage.analyse(question["q"])
            topic, language = analysis.topic.topic, analysis.language.language
            needs = {
                "top topic only": Need(topic, language),
                "expertise": Need(
                    topic,
                    language,
                    dict(analysis.topic.scores),
                    asker_country(config, language),
                    is_local(question["q"]),
                ),
            }
            for name, need in needs.items():
                decision: RouteDecision = match(need, experts, [], mention_others=0)
                tally = tallies[name]
                tally["questions"] += 1
                tally[f"fallback {decision.fallback}"] += 1
                primary = decision.primary
                if primary is not None and question["lang"] in primary.languages:
                    tally["assignee reads the question's language"] += 1
                if primary is not None and question.get("topic") in primary.topics:
                    tally["gold topic among the assignee's topics"] += 1
    for name, tally in tallies.items():
        total = tally.pop("questions")
        print(f"{name} ({total} questions)")
        for key, value in sorted(tally.items()):
            print(f"  {key:45} {value:3}  {value / total:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
