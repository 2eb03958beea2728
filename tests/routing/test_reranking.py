"""The re-ranking of the first fiches: its stored coefficients, its order, and `rrm ask`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.assembly import build_triage, open_database
from bot.cli import main
from ground.config import load_config
from knowledge.index import FicheHit
from routing.reranking import RANK_FEATURES, RERANKING_PATH, Reranker, hit_features
from tests.routing.conftest import imported_config

# Trainers of apprentices: a German question, a fiche with a German version that is about
# peer coaching, and the English-only fiche about the regional certificate it asks for.
CERTIFICATE = "in-company-mentor-certificate-savinjska"
NEIGHBOUR = "peer-coaching-circles-in-company-trainers"
FICHES = [CERTIFICATE, NEIGHBOUR, "tutor-training-istria-hospitality", "vet-dashboard-twente"]
QUESTION = (
    "Hat eine Region ein gemeinsames Zertifikat für Lehrlingsbetreuer in Betrieben eingeführt?"
)


def hit(
    fiche_id: str, score: float, language: str, topical: float = 0.0, gist: float | None = None
) -> FicheHit:
    # Unless said otherwise, the title and summary match about as well as the whole text.
    return FicheHit(
        fiche_id,
        language,
        fiche_id,
        "",
        ("work-based-learning",),
        score,
        score,
        0.0,
        topical,
        gist=score if gist is None else gist,
    )


def test_the_shipped_coefficients_weigh_every_signal() -> None:
    reranker = Reranker.load()
    assert set(reranker.weights) == set(RANK_FEATURES)
    assert reranker.depth >= 2
    # A better match and a topic's lift raise a fiche; a version in the asker's language,
    # whose shared words inflate its match, lowers it.
    assert reranker.weights["score"] > 0 and reranker.weights["topical"] > 0
    assert reranker.weights["own_language"] < 0
    assert reranker.weights["gist"] > 0  # what the title and summary say the fiche is about
    assert Reranker.from_dict(reranker.as_dict()) == reranker


def test_a_fiche_whose_gist_matches_overtakes_one_that_matches_by_its_body() -> None:
    # Two fiches in the asker's language: the first leads by its whole text, the second's
    # title and summary match the question far better.
    reranker = Reranker.load()
    body = hit("body", 0.25, "en", gist=0.15)
    gist = hit("gist", 0.23, "en", gist=0.26)
    assert hit_features(gist, "en")["gist"] == 0.26
    assert [h.fiche_id for h in reranker.rerank((body, gist), "en")] == ["gist", "body"]
    # Without the gist (every hit's 0, as from an index without gists) the order stays.
    flat = (hit("body", 0.25, "en", gist=0.0), hit("gist", 0.23, "en", gist=0.0))
    assert [h.fiche_id for h in reranker.rerank(flat, "en")] == ["body", "gist"]


def test_a_stored_form_without_a_weight_is_refused(tmp_path: Path) -> None:
    data = json.loads(RERANKING_PATH.read_text("utf-8"))
    del data["weights"]["own_language"]
    path = tmp_path / "reranking.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(ValueError, match="own_language"):
        Reranker.load(path)


def test_a_fiche_in_another_language_overtakes_one_that_leads_by_shared_words() -> None:
    reranker = Reranker.load()
    own = hit("own", 0.212, "de")
    other = hit("other", 0.207, "en")
    assert hit_features(own, "de")["own_language"] == 1.0
    assert [h.fiche_id for h in reranker.rerank((own, other), "de")] == ["other", "own"]
    # Far behind, it stays behind: the language's pull is worth a few hundredths of score.
    assert reranker.rerank((own, hit("far", 0.15, "en")), "de")[0].fiche_id == "own"


def test_only_the_first_hits_are_reordered() -> None:
    weights = {"score": 0.0, "topical": 0.0, "own_language": -1.0, "gist": 0.0}
    reranker = Reranker({}, {}, weights, depth=2)
    hits = (hit("a", 0.3, "fr"), hit("b", 0.2, "en"), hit("c", 0.1, "en"))
    assert [h.fiche_id for h in reranker.rerank(hits, "fr")] == ["b", "a", "c"]


def test_every_hit_carries_its_rerankers_value() -> None:
    weights = {"score": 10.0, "topical": 0.0, "own_language": -1.0, "gist": 0.0}
    reranker = Reranker({}, {}, weights, depth=2)
    hits = (hit("a", 0.3, "fr"), hit("b", 0.2, "en"), hit("c", 0.1, "en"))
    values = {h.fiche_id: h.rerank for h in reranker.rerank(hits, "fr")}
    # The one beyond the depth too: the answerability model weighs the first's lead.
    assert values == pytest.approx({"a": 2.0, "b": 2.0, "c": 1.0})


@pytest.fixture(scope="module")
def config_path(tmp_path_factory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The example config on its own SQLite database with four fiches, embedded once."""
    return imported_config(tmp_path_factory.mktemp("rerank"), embedder, FICHES)


def test_the_search_alone_leads_with_the_neighbour(config_path, embedder) -> None:  # type: ignore[no-untyped-def]
    config = load_config(config_path, environ={})
    database = open_database(config)
    triage = build_triage(config, database, embedder)
    database.dispose()
    triage.reranker = None
    assert [h.fiche_id for h in triage.analyse(QUESTION).hits][:2] == [NEIGHBOUR, CERTIFICATE]


def test_rrm_ask_leads_with_the_fiche_that_answers(config_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"text": QUESTION}) + "\n"))
    status = main(["--config", str(config_path), "ask", "--json", "-"])
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert result["language"] == "de"
    assert [f["id"] for f in result["fiches"]][:1] == [CERTIFICATE]
    # Shown in English, the only version it has; the neighbour is still offered, lower.
    assert result["fiches"][0]["language"] == "en"
    assert NEIGHBOUR in [f["id"] for f in result["fiches"]]
