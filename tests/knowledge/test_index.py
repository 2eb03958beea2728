"""The fiche index on its own: best version per fiche, and BM25 for names and acronyms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from knowledge.index import FicheIndex, IndexedVersion
from knowledge.text import tokenize

TEXTS = {
    "twente": "The TVDB dashboard shows dropout by municipality in Twente.",
    "mayo": "A shared employer hires apprentices for small firms in County Mayo.",
    "langhe": "Dual apprenticeships in the agri-food firms of the Langhe hills.",
}


def index(lexical_weight: float) -> FicheIndex:
    versions = [
        IndexedVersion(fiche, "en", fiche.title(), text, ("work-based-learning",))
        for fiche, text in TEXTS.items()
    ]
    # Every version equally near the query in meaning: only the lexical part can differ.
    vectors = sparse.csr_matrix(np.ones((len(versions), 4), dtype=np.float32) / 2)
    tokens = [tokenize(text, "en") for text in TEXTS.values()]
    return FicheIndex(versions, vectors, lexical_weight, tokens)


def query_vector() -> sparse.csr_matrix:
    return sparse.csr_matrix(np.ones((1, 4), dtype=np.float32) / 2)


def test_a_rare_acronym_lifts_the_fiche_that_names_it() -> None:
    hits = index(0.2).search("What is TVDB?", "en", query_vector())
    assert hits[0].fiche_id == "twente"
    assert hits[0].lexical > 0 and hits[1].lexical == 0
    assert hits[0].score > hits[1].score


def test_at_weight_zero_only_meaning_counts() -> None:
    hits = index(0.0).search("What is TVDB?", "en", query_vector())
    assert {h.lexical for h in hits} == {0.0}
    assert len({round(h.score, 6) for h in hits}) == 1


def test_a_lexical_weight_without_tokens_is_refused() -> None:
    versions = [IndexedVersion("a", "en", "A", "", ())]
    with pytest.raises(ValueError, match="needs the tokens"):
        FicheIndex(versions, sparse.csr_matrix(np.ones((1, 2), dtype=np.float32)), 0.2)


def test_a_fiche_scores_by_its_best_version_and_is_shown_in_the_readers_language() -> None:
    versions = [
        IndexedVersion("mayo", "en", "Mayo", "", ("work-based-learning",)),
        IndexedVersion("mayo", "it", "Mayo (it)", "", ("work-based-learning",)),
        IndexedVersion("langhe", "it", "Langhe", "", ("work-based-learning",)),
    ]
    vectors = sparse.csr_matrix(np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32))
    found = FicheIndex(versions, vectors, 0.0).search(
        "q", "en", sparse.csr_matrix(np.array([[0, 1]], dtype=np.float32)), preferred=["en"]
    )
    assert [h.fiche_id for h in found] == ["mayo", "langhe"]
    assert found[0].score == 1.0 and found[0].language == "en"  # best version is Italian
    assert found[1].language == "it"  # no English version: shown in the one it has
