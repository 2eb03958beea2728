"""`rrm kb calibrate`: stored labels change the model, and a worse model is refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import cli_calibrate
from bot.assembly import build_triage, open_database
from bot.cli import main
from bot.cli_calibrate import label_example
from ground.clock import FixedClock
from ground.config import load_config
from ground.storage.labels_repo import add_fit, record_label
from ground.storage.models import AnswerabilityFit, AnswerLabel, Question
from ground.vocabulary import LabelSource, Verdict
from routing.answerability import AnswerabilityModel
from routing.calibration import Example, fit, load_base
from tests.conftest import SAMPLE_FICHES, example_config_text
from tests.fakes.app import console_bot
from tests.fakes.rows import add_asker, question_row
from tests.handlers.test_console_loop import APPRENTICE_QUESTION

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def features(best: float, agreement: float, specific: float = 0.0) -> dict[str, float]:
    return {
        "best": best,
        "margin": best / 5,
        "topic_agreement": agreement,
        "topic_confidence": agreement,
        "topical": 0.075 * agreement,
        "term_cover": best,
        "word_cover": 0.0,
        "word_cover_squared": 0.0,
        "specific": specific,
        "gist": best,
        "margin_elsewhere": 0.0,  # these synthetic questions say nothing of it
        "lead_share": 0.5,  # nor of this
    }


def synthetic_base(path: Path) -> Path:
    """60 questions: two in three answered by their best fiche, the rest by none.

    In this base no question names a law (``specific`` is always 0), so a model fitted on
    it alone cannot know that such questions go to experts.
    """
    rows = []
    for i in range(60):
        spread = (i * 37 % 60) / 60
        if i % 3:
            rows.append(
                {
                    "group": f"fiche-{i % 8}",
                    "answerable": True,
                    "positive": True,
                    "features": features(0.30 + 0.12 * spread, 0.7 + 0.3 * spread),
                }
            )
        else:
            rows.append(
                {
                    "group": f"uncovered-{i % 4}",
                    "answerable": False,
                    "positive": False,
                    "features": features(0.16 + 0.12 * spread, 0.2 + 0.5 * spread),
                }
            )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def config_file(folder: Path, database_url: str) -> Path:
    path = folder / "config.toml"
    text = example_config_text().replace('url = "sqlite:///rrm.db"', f'url = "{database_url}"', 1)
    path.write_text(text.replace("import_on_start = true", "import_on_start = false"), "utf-8")
    return path


def store_labels(config_path: Path, labelled: list[tuple[dict[str, float], Verdict]]) -> None:
    """One asker question a label, each judged on the fiche ranked first."""
    database = open_database(load_config(config_path, environ={}))
    with database.sessions.begin() as session:
        asker = add_asker(session, NOW)
        for number, (values, verdict) in enumerate(labelled):
            question = question_row(
                asker, f"question {number}", NOW, status="offered", decision="answer"
            )
            session.add(question)
            session.flush()
            fiche = f"fiche-{number % 5}"
            source = (
                LabelSource.ASKER_HELPED
                if verdict == Verdict.POSITIVE
                else LabelSource.ASKER_EXPERT
            )
            record_label(
                session, question, fiche, verdict, source, NOW, features=values, shown_fiche=fiche
            )
    database.dispose()


def calibrate(config_path: Path, base: Path, capsys, *extra: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    status = main(["--config", str(config_path), "kb", "calibrate", "--base", str(base), *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def fits(config_path: Path) -> list[AnswerabilityFit]:
    database = open_database(load_config(config_path, environ={}))
    with database.sessions() as session:
        rows = list(session.scalars(select(AnswerabilityFit).order_by(AnswerabilityFit.id)))
        session.expunge_all()
    database.dispose()
    return rows


def test_stored_labels_change_the_model(tmp_path, database_url, capsys, embedder) -> None:  # type: ignore[no-untyped-def]
    base = synthetic_base(tmp_path / "base.jsonl")
    config_path = config_file(tmp_path, database_url)
    # Askers asked for an expert under strong matches of questions naming a law.
    law = features(0.38, 0.9, specific=2.0)
    store_labels(
        config_path,
        [(features(0.36 + 0.02 * (i % 4), 0.9, 2.0), Verdict.NEGATIVE) for i in range(15)],
    )
    status, out, err = calibrate(config_path, base, capsys)
    assert status == 0, err
    assert "60 base examples and 15 of 15 stored labels (15 new since the model in use)" in out
    assert "model in use (shipped)" in out and "refitted with every label" in out
    [stored] = fits(config_path)
    assert stored.labels == 15 and stored.figures["after"]["wrong"] == 0
    assert stored.figures["before"]["wrong"] > 0  # the base alone answered them
    model = AnswerabilityModel.from_dict(stored.model)
    # Fitted on the base alone, such a question gets an instant answer; now it goes on.
    assert fit(load_base(base)).confidence(law) >= 0.8
    assert model.confidence(law) < 0.3
    assert model.weights["specific"] < 0
    # The bot reads the stored model.
    database = open_database(load_config(config_path, environ={}))
    assert build_triage(load_config(config_path, environ={}), database, embedder).model == model
    database.dispose()

    # Nothing new to learn from: the model in use stays, nothing is stored.
    status, out, _ = calibrate(config_path, base, capsys)
    assert status == 0 and "no new labels: the model in use stays" in out
    assert "model in use (#1)" in out
    assert len(fits(config_path)) == 1


def test_a_label_judged_again_after_the_fit_is_new(  # type: ignore[no-untyped-def]
    tmp_path, database_url, capsys, monkeypatch
) -> None:
    base = synthetic_base(tmp_path / "base.jsonl")
    config_path = config_file(tmp_path, database_url)
    store_labels(
        config_path,
        [(features(0.36 + 0.02 * (i % 4), 0.9, 2.0), Verdict.NEGATIVE) for i in range(15)],
    )
    monkeypatch.setattr(cli_calibrate, "CLOCK", FixedClock(NOW + dt.timedelta(hours=1)))
    status, out, err = calibrate(config_path, base, capsys)
    assert status == 0, err
    [first_fit] = fits(config_path)
    # The same judge changes their mind on one of them after the fit: the label keeps its
    # id (below the fit's last_label_id) but says something the model in use never learnt.
    database = open_database(load_config(config_path, environ={}))
    with database.sessions.begin() as session:
        label = session.scalars(select(AnswerLabel).order_by(AnswerLabel.id)).first()
        assert label is not None and label.id <= first_fit.last_label_id
        question = session.get(Question, label.question_id)
        assert question is not None
        again = record_label(
            session,
            question,
            label.fiche_id,
            Verdict.POSITIVE,
            LabelSource(label.source),
            NOW + dt.timedelta(hours=2),
            features=label.features,
            shown_fiche=label.shown_fiche,
        )
        assert again.id == label.id
    database.dispose()
    status, out, err = calibrate(config_path, base, capsys, "--dry-run")
    assert "15 of 15 stored labels (1 new since the model in use" in out, (out, err)
    assert "no new labels" not in out


def test_a_worse_model_is_refused(tmp_path, database_url, capsys) -> None:  # type: ignore[no-untyped-def]
    base = synthetic_base(tmp_path / "base.jsonl")
    config_path = config_file(tmp_path, database_url)
    # Askers said weak, off-topic matches answered them, just where the base's questions
    # that no fiche answers lie: learning from that answers those too.
    uncovered = [e.features for e in load_base(base) if not e.answerable]
    store_labels(config_path, [(values, Verdict.POSITIVE) for values in uncovered * 2])
    status, out, err = calibrate(config_path, base, capsys)
    assert status == 1
    assert "the refitted model does worse than the one in use" in err
    assert "the model in use stays" in err
    assert "refitted with every label" in out
    assert fits(config_path) == []


def test_a_bad_base_file_is_named(tmp_path, database_url, capsys) -> None:  # type: ignore[no-untyped-def]
    config_path = config_file(tmp_path, database_url)
    (tmp_path / "base.jsonl").write_text('{"group": "x"}\n', "utf-8")
    status, _, err = calibrate(config_path, tmp_path / "base.jsonl", capsys)
    assert status == 1 and "cannot read the base set" in err and "base.jsonl" in err


def test_a_base_set_measured_before_the_gist_is_refused_clearly(  # type: ignore[no-untyped-def]
    tmp_path, database_url, capsys
) -> None:
    base = synthetic_base(tmp_path / "base.jsonl")
    rows = [json.loads(line) for line in base.read_text("utf-8").splitlines()]
    for row in rows:
        del row["features"]["gist"]
    base.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    status, _, err = calibrate(config_file(tmp_path, database_url), base, capsys)
    assert status == 1
    assert "example 1 has no gist" in err and "bench/fit_answerability.py --write" in err


def test_a_model_stored_before_the_gist_is_set_aside_then_refitted(  # type: ignore[no-untyped-def]
    tmp_path, database_url, capsys, caplog, embedder
) -> None:
    base = synthetic_base(tmp_path / "base.jsonl")
    config_path = config_file(tmp_path, database_url)
    old = AnswerabilityModel.load().as_dict()
    for part in ("means", "scales", "weights"):
        del old[part]["gist"]
    database = open_database(load_config(config_path, environ={}))
    with database.sessions.begin() as session:
        add_fit(session, old, {}, 0, 0, NOW)
    triage = build_triage(load_config(config_path, environ={}), database, embedder)
    database.dispose()
    assert triage.model == AnswerabilityModel.load()  # the shipped one, not a crash
    assert "calibrated model #1 is unusable (no weight for gist)" in caplog.text
    store_labels(config_path, [(e.features, Verdict.POSITIVE) for e in load_base(base)[1::3]])
    status, out, _ = calibrate(config_path, base, capsys)
    assert status == 0 and "stored as model #2" in out
    assert "gist" in fits(config_path)[-1].model["weights"]


async def test_a_label_stored_without_features_is_measured_again(
    tmp_path, config, embedder, capsys
) -> None:  # type: ignore[no-untyped-def]
    # An expert named a fiche for a routed question shown no fiches: no features were kept.
    async with console_bot(config, embedder) as bot:  # imports the sample fiches
        with bot.app.database.sessions.begin() as session:
            question = question_row(add_asker(session, NOW), APPRENTICE_QUESTION, NOW)
            session.add(question)
            session.flush()
            record_label(
                session,
                question,
                "employer-pool-apprenticeships-mayo",
                Verdict.POSITIVE,
                LabelSource.EXPERT_FICHE,
                NOW,
            )
            assert session.scalar(select(AnswerLabel.features)) is None
    config_path = config_file(tmp_path, config.database.url)
    text = config_path.read_text("utf-8").replace('"fiches"', f'"{SAMPLE_FICHES}"')
    config_path.write_text(text, "utf-8")
    base = synthetic_base(tmp_path / "base.jsonl")
    status, out, err = calibrate(config_path, base, capsys, "--dry-run")
    # Measured again on the stored fiches, the label is one example more.
    assert "60 base examples and 1 of 1 stored labels (1 new" in out, (out, err)
    assert status in (0, 1)  # whether one label helps is not the point here
    database = open_database(config)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AnswerabilityFit)) == 0
    database.dispose()


def _label(features_: dict[str, float] | None, shown: str | None, fiche: str, verdict: Verdict):  # type: ignore[no-untyped-def]
    return AnswerLabel(
        id=1,
        text="q",
        language="en",
        fiche_id=fiche,
        shown_fiche=shown,
        features=features_,
        verdict=verdict,
        source=LabelSource.EXPERT_VERDICT,
    )


def test_what_each_label_teaches() -> None:
    seen = features(0.3, 0.8)
    positive_first = label_example(_label(seen, "a", "a", Verdict.POSITIVE), None, known=False)
    assert positive_first == Example(seen, True, True, "label:a", known=False)
    # An expert named another fiche: the one ranked first was a wrong answer.
    other = label_example(_label(seen, "a", "b", Verdict.POSITIVE), None, known=True)
    assert other is not None and (other.positive, other.answerable) == (False, True)
    # The fiche ranked first does not answer: a question for an expert.
    negative = label_example(_label(seen, "a", "a", Verdict.NEGATIVE), None, known=True)
    assert negative is not None and (negative.positive, negative.answerable) == (False, False)
    # A fiche further down does not answer: nothing said of the first.
    assert label_example(_label(seen, "a", "b", Verdict.NEGATIVE), None, known=True) is None
    # No features kept: the measured ones count, or nothing when it could not be measured.
    unmeasured = _label(None, None, "a", Verdict.POSITIVE)
    assert label_example(unmeasured, None, known=True) is None
    measured = label_example(unmeasured, (seen, "a"), known=True)
    assert measured is not None and measured.positive
