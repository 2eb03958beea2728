"""The refusal rule of ``rrm kb calibrate``: instant-answer figures and what a worse model costs."""

from __future__ import annotations

import json

import pytest

from routing.answerability import FEATURES
from routing.calibration import (
    Example,
    Figures,
    cross_validated,
    figures,
    fit,
    load_base,
    no_worse,
    wrong_weight,
)


def example(positive: bool, answerable: bool) -> Example:
    return Example(dict.fromkeys(FEATURES, 0.0), positive, answerable, "g")


def test_figures_count_right_wrong_and_missed_answers_at_the_band() -> None:
    examples = [
        example(True, True),  # answered right
        example(False, True),  # answered, another fiche answers: wrong
        example(True, True),  # below the band: missed
        example(False, False),  # below the band: reaches an expert
        example(False, False),  # answered though no fiche answers: wrong
    ]
    found = figures(examples, [0.9, 0.85, 0.5, 0.2, 0.8], answer_at=0.8)
    assert (found.answers, found.wrong, found.missed) == (3, 2, 2)
    assert found.precision == pytest.approx(1 / 3)
    assert found.coverage == pytest.approx(1 / 3)
    assert found.expert_reach == pytest.approx(1 / 2)


def test_a_wrong_answer_weighs_the_band_s_break_even() -> None:
    assert wrong_weight(0.8) == pytest.approx(4.0)
    assert wrong_weight(0.5) == pytest.approx(1.0)
    assert wrong_weight(1.0) > 1e5  # answering only when certain: a wrong answer is never worth it
    assert Figures(1.0, 0.5, 1.0, answers=3, wrong=1, missed=2).cost(0.8) == pytest.approx(6.0)


def test_a_model_is_refused_only_when_it_costs_more() -> None:
    old = Figures(0.9, 0.5, 0.9, answers=10, wrong=1, missed=5)  # cost 9 at 0.8
    same = Figures(0.8, 0.6, 0.9, answers=10, wrong=2, missed=1)  # cost 9: kept
    one_wrong_more = Figures(0.8, 0.6, 0.9, answers=10, wrong=2, missed=2)  # cost 10
    fewer_missed_for_a_wrong = Figures(0.8, 0.7, 0.9, answers=10, wrong=2, missed=0)  # cost 8
    assert no_worse(same, old, 0.8)
    assert not no_worse(one_wrong_more, old, 0.8)
    assert no_worse(fewer_missed_for_a_wrong, old, 0.8)
    # At a lower band a wrong answer weighs less: the same trade is then clearly better.
    assert no_worse(one_wrong_more, old, 0.5)


def test_cross_validation_may_learn_from_the_same_questions_measured_otherwise() -> None:
    """``fitted_on`` is learnt from; ``examples`` are scored (bench's --compare-in-sample)."""

    def measured(best: float, positive: bool, group: str) -> Example:
        return Example(dict.fromkeys(FEATURES, 0.0) | {"best": best}, positive, True, group)

    # Ten groups: a high best score goes with a right best fiche.
    scored = [measured(0.2 + 0.6 * (n % 2), n % 2 == 1, f"g{n}") for n in range(10)]
    # The same questions, measured with the sign of the signal turned round.
    reversed_ = [measured(0.8 - 0.6 * (n % 2), n % 2 == 1, f"g{n}") for n in range(10)]
    own = cross_validated(scored)
    other = cross_validated(scored, fitted_on=reversed_)
    assert cross_validated(scored, fitted_on=scored) == own
    assert all((c > 0.5) == e.positive for c, e in zip(own, scored, strict=True))
    assert all((c < 0.5) == e.positive for c, e in zip(other, scored, strict=True))


def test_an_examples_weight_counts_as_that_many_copies_of_it() -> None:
    """Questions the models' authors wrote count less in the fit (bench/fit_answerability.py)."""

    def measured(best: float, positive: bool, weight: float = 1.0) -> Example:
        features = dict.fromkeys(FEATURES, 0.0) | {"best": best}
        return Example(features, positive, True, "g", weight=weight)

    common = [measured(0.2 + 0.1 * n, n >= 3) for n in range(6)]
    doubtful = measured(0.9, False)
    twice = fit([*common, doubtful, doubtful])
    weighed = fit([*common, measured(0.9, False, weight=2.0)])
    assert weighed.confidence(doubtful.features) == pytest.approx(
        twice.confidence(doubtful.features), abs=1e-6
    )
    # Weighed to nothing, it changes nothing; at full weight, it lowers the confidence.
    ignored = fit([*common, measured(0.9, False, weight=0.0)])
    alone = fit(common)
    assert ignored.confidence(doubtful.features) == pytest.approx(
        alone.confidence(doubtful.features), abs=1e-6
    )
    assert twice.confidence(doubtful.features) < alone.confidence(doubtful.features)


def test_the_base_set_keeps_each_examples_weight_and_refuses_a_negative_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def row(weight: object) -> str:
        features = dict.fromkeys(FEATURES, 0.1)
        example = {"group": "g", "answerable": True, "positive": True, "features": features}
        return json.dumps(example | ({} if weight is None else {"weight": weight})) + "\n"

    base = tmp_path / "base.jsonl"
    base.write_text(row(0.1) + row(None), "utf-8")
    assert [e.weight for e in load_base(base)] == [0.1, 1.0]  # unweighed: counts fully
    base.write_text(row(None) + row(-1), "utf-8")
    with pytest.raises(ValueError, match="example 2 has a negative weight"):
        load_base(base)
