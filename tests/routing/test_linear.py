"""The linear models' stored form: a broken file is refused with its path, never half-read."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.answerability import AnswerabilityModel
from routing.reranking import Reranker


@pytest.mark.parametrize("model", [AnswerabilityModel, Reranker])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "Expecting property name"),
        ("[1, 2]", "a model is a JSON object"),
        ('{"weights": {}}', "no weight for"),
        ('{"weights": {"score": 1}, "means": {}}', "no weight for"),
    ],
)
def test_a_broken_model_file_is_refused_with_its_path(
    tmp_path: Path, model: type[AnswerabilityModel] | type[Reranker], text: str, reason: str
) -> None:
    path = tmp_path / "model.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as refused:
        model.load(path)
    assert str(refused.value).startswith(f"{path}: ")


def test_the_shipped_models_load() -> None:
    assert AnswerabilityModel.load().weights
    assert Reranker.load().depth > 0
