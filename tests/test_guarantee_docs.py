"""The per-channel delivery guarantee reads the same in the README and in every guide."""

from __future__ import annotations

import re

from tests.conftest import ROOT

PLACES = ("README.md", "docs/telegram.md", "docs/matrix.md", "docs/operations.md")
START = "**What is guaranteed, per channel.**"


def guarantee(path: str) -> str:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert text.count(START) == 1, f"{path}: the guarantee paragraph is missing or doubled"
    start = text.index(START)
    end = re.search(r"ever sent twice\.", text[start:])
    assert end is not None, f"{path}: the guarantee paragraph is cut"
    return " ".join(text[start : start + end.end()].split())


def test_every_guide_states_the_same_guarantee() -> None:
    statements = {path: guarantee(path) for path in PLACES}
    assert len(set(statements.values())) == 1, statements
