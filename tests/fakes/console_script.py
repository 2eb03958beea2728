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


def set_line(text: str, pattern: str, line: str) -> str:
    """``text`` with the first match of ``pattern`` replaced; a pattern matching nothing fails."""
    changed, found = re.subn(pattern, line, text, count=1)
    if not found:
        raise AssertionError(f"nothing matches {pattern!r}: the example config changed")
    return changed


def switch_channel(text: str, section: str, values: dict[str, str]) -> str:
    """The config ``text`` with the console off and ``[section]`` on, its keys set to ``values``."""
    text = set_line(text, r"(?m)^(\[console\]\n)enabled = true$", r"\1enabled = false")
    head, _, tail = text.partition(f"[{section}]\n")
    for key, value in {"enabled": "true", **values}.items():
        tail = set_line(tail, rf"(?m)^{key} = .*$", f"{key} = {value}")
    return f"{head}[{section}]\n{tail}"


def telegram_section(text: str, base_url: str, token: str, group: int) -> str:
    """The config ``text`` with the console off and Telegram on the fake at ``base_url``."""
    values = {
        "token": f'"{token}"',
        "base_url": f'"{base_url}"',
        "experts_chat_id": str(group),
        "poll_timeout": "1",
        "rate_per_second": "0",
        "group_rate_per_minute": "0",
    }
    return switch_channel(text, "telegram", values)


def write_config(folder: Path, database_url: str, fiches: int = 3, **access: object) -> Path:
    """The example config on ``database_url``, a few sample fiches, every question routed."""
    collection = folder / "fiches"
    for fiche in sorted(p for p in SAMPLE_FICHES.iterdir() if p.is_dir())[:fiches]:
        shutil.copytree(fiche, collection / fiche.name)
    text = example_config_text()
    text = set_line(text, r'(?m)^url = ".*"$', f'url = "{database_url}"')
    text = set_line(text, r'(?m)^collection = ".*"$', f'collection = "{collection}"')
    # Nothing reaches a confidence of 1: every question is routed, no fiche shown.
    text = set_line(text, r"(?m)^answer_confidence = .*$", "answer_confidence = 1.0")
    text = set_line(text, r"(?m)^suggest_confidence = .*$", "suggest_confidence = 1.0")
    for key, value in access.items():
        text = set_line(text, rf"(?m)^{key} = .*$", f"{key} = {value}")
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path
