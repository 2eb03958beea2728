"""The answerability model: its signals, its bands, and the coefficients in the repository."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.index import FicheHit
from routing.answerability import FEATURES, LEAD_DEPTH, AnswerabilityModel, decide, features
from routing.cues import cue_kinds
from routing.language import Detection
from routing.reranking import Reranker
from routing.topics import TopicGuess

GUESS = TopicGuess("work-based-learning", 0.8, (("work-based-learning", 0.8), ("eu-funding", 0.2)))
EN = Detection("en", "text")


def hit(fiche_id: str, score: float, topic: str, language: str = "en") -> FicheHit:
    topical = 0.075 * dict(GUESS.scores).get(topic, 0.0)
    # A fiche's title and summary match about as well as its whole text.
    return FicheHit(
        fiche_id, language, fiche_id, "", (topic,), score, score, 0.0, topical, gist=score
    )


HITS = (hit("pool", 0.31, "work-based-learning"), hit("desk", 0.22, "eu-funding"))
GENERAL = "How can several small firms share one apprentice between them?"
NAMED_LAW = "What does Article 12 of the 2015 apprenticeship law say about apprentices' pay?"


def test_the_signals_of_the_best_fiche() -> None:
    values = features(GENERAL, EN, GUESS, HITS)
    assert set(values) == set(FEATURES)
    assert values["best"] == 0.31 and abs(values["margin"] - 0.09) < 1e-9
    assert values["topic_agreement"] == 0.8
    assert abs(values["topical"] - 0.06) < 1e-9
    assert values["specific"] == 0.0
    assert features(GENERAL, EN, GUESS, ())["best"] == 0.0


def test_the_lead_outside_the_askers_language() -> None:
    """The best fiche's own-language version leads; elsewhere, the other fiche is as near."""
    own, other = (replace(HITS[0], elsewhere=0.25), replace(HITS[1], elsewhere=0.22))
    values = features(GENERAL, EN, GUESS, (own, other))
    assert abs(values["margin"] - 0.09) < 1e-9
    assert abs(values["margin_elsewhere"] - 0.03) < 1e-9
    assert abs(features(GENERAL, EN, GUESS, (own,))["margin_elsewhere"] - 0.25) < 1e-9


def test_the_share_of_shared_words_is_also_weighed_squared() -> None:
    covered = (replace(HITS[0], word_cover=0.8), HITS[1])
    values = features(GENERAL, EN, GUESS, covered)
    assert values["word_cover"] == 0.8
    assert abs(values["word_cover_squared"] - 0.64) < 1e-9


def test_a_fiche_sharing_most_of_the_askers_words_is_trusted_more_than_one_sharing_few() -> None:
    """A few shared words mostly mark a near miss in the asker's own language; most, an answer.

    With one weight for the share alone, every share counted further against the fiche.
    """
    model = AnswerabilityModel.load()
    few, most = (
        model.confidence(features(GENERAL, EN, GUESS, (replace(HITS[0], word_cover=c), HITS[1])))
        for c in (0.4, 0.95)
    )
    assert most > 3 * few


def test_the_lead_is_weighed_over_the_hits_the_reranker_orders() -> None:
    assert Reranker.load().depth == LEAD_DEPTH


def test_the_first_fiches_share_of_the_rerankers_softmax() -> None:
    """Far ahead of the others it holds nearly all; level with one other, half."""
    ahead = (replace(HITS[0], rerank=8.0), replace(HITS[1], rerank=1.0))
    assert features(GENERAL, EN, GUESS, ahead)["lead_share"] > 0.99
    level = (replace(HITS[0], rerank=5.0), replace(HITS[1], rerank=5.0))
    assert abs(features(GENERAL, EN, GUESS, level)["lead_share"] - 0.5) < 1e-9
    # Only the first five count, as the re-ranker orders only those.
    many = level + tuple(replace(HITS[1], fiche_id=f"h{n}", rerank=5.0) for n in range(6))
    assert abs(features(GENERAL, EN, GUESS, many)["lead_share"] - 0.2) < 1e-9
    assert features(GENERAL, EN, GUESS, HITS[:1])["lead_share"] == 1.0


@pytest.mark.parametrize(
    "text",
    [
        NAMED_LAW,
        "Cosa prevede l'articolo 43 del decreto sull'apprendistato?",
        "¿Cuál es el plazo para interponer un recurso contra la resolución?",
        "Ποια είναι η προθεσμία για ένσταση;",
        "Какъв е срокът за обжалване на решението?",
        "Jaki jest termin odwołania od decyzji kuratorium?",
    ],
)
def test_named_laws_articles_and_deadlines_are_cues_in_many_languages(text: str) -> None:
    assert features(text, EN, GUESS, HITS)["specific"] >= 1.0


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Notre mairie peut-elle rembourser les frais de transport des apprentis ?", "permission"),
        ("Czy gmina może sfinansować dowóz uczniów do szkoły w innym powiecie?", "permission"),
        ("Können Sie uns Fachleute für eine Wirkungsanalyse vermitteln?", "expert"),
        ("Wann endet die Antragsfrist für das Landesprogramm?", "deadline"),
        ("До кога трябва да отчетем проекта по Еразъм+?", "deadline"),
        ("Chi è il dirigente dell'ufficio scolastico provinciale di Cuneo?", "person"),
        ("Quem é o coordenador do Centro Qualifica e qual é o contacto dele?", "person"),
        ("Quanto costa assicurare un tirocinante minorenne?", "cost"),
        ("Is non-recoverable VAT an eligible cost under ESF+?", "legal"),
        ("Que regras de proteção de dados temos de cumprir enquanto município?", "legal"),
        # Asks for an evaluation method, official figures or a procedure's steps: a fiche
        # tells what a place did, not these.
        (
            "Which method would show that our mentoring scheme, not the economy, did it?",
            "evaluation",
        ),
        ("Comment évaluer l'impact de nos bourses sur le décrochage ?", "evaluation"),
        ("Welche Kontrollgruppe nehmen wir für die Studie?", "evaluation"),
        ("Как да измерим ефекта от курсовете?", "evaluation"),
        ("Where can I find the dropout rate for each school in the county?", "data"),
        ("¿Dónde encuentro las cifras oficiales de paro juvenil de la comarca?", "data"),
        ("Πού βρίσκω τα ποσοστά απασχόλησης των αποφοίτων;", "data"),
        ("Gdzie znajdę dane o absolwentach szkół branżowych?", "data"),
        ("Quali documenti servono per accreditare un ente di formazione?", "procedure"),
        ("Quels sont les statuts types d'une association de communes ?", "procedure"),
        ("Ce documente trebuie depuse pentru un centru de formare?", "procedure"),
        ("Какви документи са нужни за лиценз на център за обучение?", "procedure"),
    ],
)
def test_kinds_of_question_a_fiche_rarely_answers(text: str, kind: str) -> None:
    assert kind in cue_kinds(text)
    assert features(text, EN, GUESS, HITS)["specific"] >= 1.0


@pytest.mark.parametrize(
    "text",
    [
        GENERAL,
        "Comment faire travailler ensemble les communes et les entreprises du bassin d'emploi ?",
        "Wie erreichen wir Jugendliche in abgelegenen Bergdörfern?",
        "¿Conocéis algún acompañamiento en recursos humanos pensado para artesanos?",
        "Primăria vrea să ajute școlile să scrie proiecte și să asigure cofinanțarea.",
        # Assessing a person's skills at work is what a validation fiche answers.
        "Comment évaluer les compétences des aides-soignantes sur leur lieu de travail ?",
        "How do other regions assess what care assistants already know on the job?",
    ],
)
def test_words_inside_other_words_and_false_friends_are_not_cues(text: str) -> None:
    # "loi" in "emploi", "lei" in "kleine", "recursos humanos", Romanian "asigura" (ensure).
    assert cue_kinds(text) == []


def test_the_repository_model_trusts_a_general_question_more_than_a_named_law() -> None:
    model = AnswerabilityModel.load()
    general = model.confidence(features(GENERAL, EN, GUESS, HITS))
    legal = model.confidence(features(NAMED_LAW, EN, GUESS, HITS))
    weak = model.confidence(features(GENERAL, EN, GUESS, (hit("pool", 0.15, "eu-funding"),)))
    assert 0.0 < legal < general < 1.0
    assert weak < general


def test_bands_give_three_outcomes() -> None:
    assert decide(0.9, 0.85, 0.3) == "answer"
    assert decide(0.85, 0.85, 0.3) == "answer"
    assert decide(0.5, 0.85, 0.3) == "suggest"
    assert decide(0.1, 0.85, 0.3) == "route"


def test_a_model_file_without_every_weight_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"means": {}, "scales": {}, "weights": {"best": 1}, "bias": 0}))
    with pytest.raises(ValueError, match="no weight for margin"):
        AnswerabilityModel.load(path)
