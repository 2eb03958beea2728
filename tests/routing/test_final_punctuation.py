"""A question's outcome does not depend on what its asker typed at its end.

The embedding reads a Greek ";", a "?" and nothing as different words: before questions were
read with one final "?", one question in ten changed decision or first fiche with its final
punctuation (the issue's Greek question among them). The language is read without it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from knowledge.text import as_question, without_final_marks
from tests.routing.conftest import imported_config

GREEK = "Πώς μπορούν μικρές επιχειρήσεις του νησιού μας να μοιραστούν έναν μαθητευόμενο"
ITALIAN = "Come possiamo finanziare la formazione in alternanza con fondi europei nel comune"
# A few keywords: a "?" after them alone tipped the language from Spanish to Italian.
KEYWORDS = "observatorio competencias provincia"
ENDINGS = (";", "", "?", " ;", "\u037e", "??", ".", "…", "?!\n")


@pytest.fixture(scope="module")
def config_path(tmp_path_factory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The example config on its own SQLite database with the whole collection, imported once."""
    return imported_config(tmp_path_factory.mktemp("punctuation"), embedder)


def ask_all(config_path: Path, texts: list[str], capsys, monkeypatch) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    lines = "".join(json.dumps({"text": text}) + "\n" for text in texts)
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["--config", str(config_path), "ask", "--json", "-"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("question", [GREEK, ITALIAN, KEYWORDS])
def test_every_ending_gets_the_same_outcome(config_path, capsys, monkeypatch, question) -> None:  # type: ignore[no-untyped-def]
    results = ask_all(config_path, [question + end for end in ENDINGS], capsys, monkeypatch)
    outcomes = {
        (
            r["language"],
            r["topic"],
            r["decision"],
            r["confidence"],
            tuple(f["id"] for f in r["fiches"]),
        )
        for r in results
    }
    assert len(results) == len(ENDINGS)
    assert len(outcomes) == 1, outcomes
    if question == KEYWORDS:
        assert results[0]["language"] == "es"


def test_as_question_keeps_the_words_and_ends_in_one_question_mark() -> None:
    assert without_final_marks("Πώς βοηθάμε τους νέους ;") == "Πώς βοηθάμε τους νέους"
    assert as_question("Πώς βοηθάμε τους νέους;") == "Πώς βοηθάμε τους νέους?"
    assert as_question("¿Cómo lo hacemos?? ") == "¿Cómo lo hacemos?"
    assert as_question("We need a tutor.") == "We need a tutor?"
    assert as_question("Erasmus+") == "Erasmus+?"
    assert as_question("?!") == "?!"  # nothing but marks: left as typed
