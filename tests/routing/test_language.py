"""Language detection: the text decides long messages; hints only break ties in short ones."""

from __future__ import annotations

import pytest

from routing.language import LanguageDetector

LANGUAGES = ("en", "fr", "it", "es", "pt", "de", "el", "ro", "bg", "pl")
LONG = {
    "en": "We would like to know how other towns organise apprenticeships in small firms.",
    "fr": "Nous aimerions savoir comment d'autres villes organisent l'apprentissage.",
    "it": "Vorremmo sapere come altri comuni organizzano l'apprendistato nelle piccole imprese.",
    "es": "Queremos saber cómo organizan otros municipios la formación dual en las pymes.",
    "pt": "Gostaríamos de saber como outros municípios organizam a aprendizagem nas empresas.",
    "de": "Wir möchten wissen, wie andere Gemeinden die Ausbildung in kleinen Betrieben regeln.",
    "el": "Θα θέλαμε να μάθουμε πώς οργανώνουν άλλοι δήμοι τη μαθητεία στις μικρές επιχειρήσεις.",
    "ro": "Am dori să știm cum organizează alte primării ucenicia în firmele mici din județ.",
    "bg": "Бихме искали да знаем как други общини организират чиракуването в малките фирми.",
    "pl": "Chcielibyśmy wiedzieć, jak inne gminy organizują praktyki zawodowe w małych firmach.",
}


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_long_texts(detector: LanguageDetector, language: str) -> None:
    detection = detector.detect(LONG[language])
    assert (detection.language, detection.source) == (language, "text")


def test_long_text_ignores_hint_and_preference(detector: LanguageDetector) -> None:
    detection = detector.detect(LONG["it"], preferred="de", hint="de")
    assert detection.language == "it"


def test_deterministic(detector: LanguageDetector) -> None:
    results = {detector.detect("formation professionnelle").language for _ in range(20)}
    assert len(results) == 1


def test_short_text_tie_breakers(detector: LanguageDetector) -> None:
    text = "turismo rural"  # es 0.64, ro 0.22, it 0.14: a close call between Romance languages
    candidates = [c for c, p in detector.probabilities(text) if p >= 0.02]
    assert candidates[:2] == ["es", "ro"]
    assert detector.detect(text).language == "es"
    # A hint alone does not beat a clear lead; the sender's language and the hint together do.
    assert detector.detect(text, hint="ro").language == "es"
    detection = detector.detect(text, preferred="ro", hint="ro")
    assert (detection.language, detection.source) == ("ro", "tie-break")


def test_hint_never_invents_a_language(detector: LanguageDetector) -> None:
    text = "Ausbildung Betrieb"
    assert detector.detect(text).language == "de"
    assert detector.detect(text, preferred="el", hint="el").language == "de"


def test_known_words_decide_short_texts() -> None:
    detector = LanguageDetector(LANGUAGES)
    assert detector.detect("platforma online scoli profesionale").language != "ro"
    detector.learn_words({"ro": ["școli", "profesionale", "platforma"], "it": ["scuole"]})
    assert detector.detect("platforma online scoli profesionale").language == "ro"


def test_no_letters_falls_back(detector: LanguageDetector) -> None:
    assert detector.detect("🙂 2026 ?!").language == "en"
    detection = detector.detect("🙂", preferred="pl")
    assert (detection.language, detection.source) == ("pl", "fallback")
