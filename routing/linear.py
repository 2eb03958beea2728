"""The stored form shared by the routing's linear models: standardised features, one weight each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["load_model", "require_weights", "weighted_sum"]

T = TypeVar("T")


def load_model(path: Path, build: Callable[[dict[str, Any]], T]) -> T:
    """A model built from its stored form in ``path``; a broken or incomplete file names itself."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("a model is a JSON object")
        return build(data)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: {error}") from None


def require_weights(data: Mapping[str, Any], features: Iterable[str]) -> None:
    """Refuse a stored model that lacks a weight for one of ``features``."""
    missing = [name for name in features if name not in data.get("weights", {})]
    if missing:
        raise ValueError(f"no weight for {', '.join(missing)}")


def weighted_sum(
    values: Mapping[str, float],
    features: Iterable[str],
    means: Mapping[str, float],
    scales: Mapping[str, float],
    weights: Mapping[str, float],
) -> float:
    """The sum of each feature's weight times its value standardised by its mean and scale."""
    return sum(
        weights[name] * (values[name] - means.get(name, 0.0)) / (scales.get(name, 1.0) or 1.0)
        for name in features
    )
