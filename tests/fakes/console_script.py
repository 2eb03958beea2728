"""Write a console script of many askers and expert answers, and the config to run it with."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import SAMPLE_FICHES, example_config_text

PLACES = ["Alba", "Braga"]
SUBJECTS = [
    "fund apprenticeships in small craft firms",
    "train in-company tutors for dual VET",
    "monitor young people after vocational school",
    "reach early school leavers in mountain villages",
    "anticipate the skills local employers will need",
]
EXPERT = "claire"


def question(number: int) -> str:
    """The question of asker ``number``: ten texts in turn, so few need embedding."""
    place = PLACES[number % len(PLACES)]
    subject = SUBJECTS[number % len(SUBJECTS)]
    return f"How could {place} {subject}? We ask for our regional plan."


def answer(number: int) -> str:
    """The expert's answer to question ``number`` (it holds the number, to check the relay)."""
    return f"Answer number {number}: start with a shared employer group."


def write_questions(path: Path, count: int) -> None:
    """Askers 1…count each ask one question."""
    lines = []
    for number in range(1, count + 1):
        lines += [f"/as asker{number}", question(number)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_answers(path: Path, questions: dict[int, int]) -> None:
    """The expert answers each asker's question in its thread (``questions``: asker → id).

    Question numbers are known only once asked: PostgreSQL sequences skip the numbers of
    transactions a crash rolled back.
    """
    lines = [f"/as {EXPERT}"]
    for number, question_id in sorted(questions.items()):
        lines.append(f"#{question_id} {answer(number)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_config(folder: Path, database_url: str, fiches: int = 3, **access: object) -> Path:
    """The example config on ``database_url``, a few sample fiches, every question routed."""
    collection = folder / "fiches"
    for fiche in sorted(p for p in SAMPLE_FICHES.iterdir() if p.is_dir())[:fiches]:
        shutil.copytree(fiche, collection / fiche.name)
    text = example_config_text()
    text = re.sub(r'(?m)^url = ".*"$', f'url = "{database_url}"', text, count=1)
    text = re.sub(r'(?m)^collection = ".*"$', f'collection = "{collection}"', text, count=1)
    # Nothing reaches a confidence of 1: every question is routed, no fiche shown.
    text = re.sub(r"(?m)^answer_confidence = .*$", "answer_confidence = 1.0", text, count=1)
    text = re.sub(r"(?m)^suggest_confidence = .*$", "suggest_confidence = 1.0", text, count=1)
    for key, value in access.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path
