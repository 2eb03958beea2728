"""The fiche index on its own: best version per fiche, and BM25 for names and acronyms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from knowledge.index import FicheIndex, IndexedVersion, version_words
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


def test_a_hit_says_how_well_it_matches_outside_the_askers_language() -> None:
    versions = [
        IndexedVersion("mayo", "en", "Mayo", "", ("work-based-learning",)),
        IndexedVersion("mayo", "it", "Mayo (it)", "", ("work-based-learning",)),
        IndexedVersion("langhe", "it", "Langhe", "", ("work-based-learning",)),
    ]
    vectors = sparse.csr_matrix(np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32))
    query = sparse.csr_matrix(np.array([[0.6, 0.8]], dtype=np.float32))
    hits = {h.fiche_id: h for h in FicheIndex(versions, vectors, 0.0).search("q", "it", query)}
    # Mayo's Italian version matches best (0.8); outside Italian, its English one (0.6).
    assert abs(hits["mayo"].score - 0.8) < 1e-6 and abs(hits["mayo"].elsewhere - 0.6) < 1e-6
    # Langhe has only the asker's language: its match stands.
    assert abs(hits["langhe"].elsewhere - hits["langhe"].score) < 1e-6


def covering_index() -> FicheIndex:
    versions = [
        IndexedVersion("mayo", "en", "Mayo", TEXTS["mayo"], ("work-based-learning",)),
        IndexedVersion("langhe", "it", "Langhe", "Apprendistato duale nelle Langhe.", ()),
    ]
    # Latent terms: mayo carries terms 0 and 1, langhe only term 2.
    vectors = sparse.csr_matrix(np.array([[0.6, 0.8, 0, 0], [0, 0, 1, 0]], dtype=np.float32))
    words = [version_words(TEXTS["mayo"]), version_words("Apprendistato duale nelle Langhe.")]
    return FicheIndex(versions, vectors, 0.0, words=words)


def test_hits_say_how_much_of_the_question_the_fiche_covers() -> None:
    # Query terms 0, 2 and 3 with squared weights 0.5, 0.25, 0.25.
    query = sparse.csr_matrix(np.array([[0.5**0.5, 0, 0.5, 0.5]], dtype=np.float32))
    hits = {
        hit.fiche_id: hit
        for hit in covering_index().search(
            "Can a shared employer hire apprentices for several small firms?", "en", query
        )
    }
    assert abs(hits["mayo"].term_cover - 0.5) < 1e-6
    assert abs(hits["langhe"].term_cover - 0.25) < 1e-6
    # Content words of five letters or more, by their first five: share, emplo, appre,
    # sever, small, firms; "several" is not in the fiche.
    assert abs(hits["mayo"].word_cover - 5 / 6) < 1e-9
    # No version in the question's language: its words are not compared.
    assert hits["langhe"].word_cover == 0.0


def test_without_words_no_hit_covers_any_word() -> None:
    versions = [IndexedVersion("mayo", "en", "Mayo", TEXTS["mayo"], ())]
    plain = FicheIndex(versions, sparse.csr_matrix(np.ones((1, 2), dtype=np.float32)), 0.0)
    [hit] = plain.search("shared employer apprentices", "en", query_vector()[:, :2])
    assert hit.word_cover == 0.0
    with pytest.raises(ValueError, match="every version or none"):
        FicheIndex(
            versions,
            sparse.csr_matrix(np.ones((1, 2), dtype=np.float32)),
            0.0,
            words=[version_words("a"), version_words("b")],
        )


def test_a_fiche_added_to_the_index_brings_its_words() -> None:
    added = IndexedVersion("twente", "en", "Twente", TEXTS["twente"], ())
    grown = covering_index().with_versions(
        [added],
        sparse.csr_matrix(np.array([[0, 0, 0, 1]], dtype=np.float32)),
        [version_words(TEXTS["twente"])],
    )
    hits = {h.fiche_id: h for h in grown.search("dashboard dropout", "en", query_vector())}
    assert hits["twente"].word_cover == 1.0 and hits["mayo"].word_cover == 0.0


def test_the_first_fiches_added_to_an_empty_index_bring_their_words() -> None:
    # A bot started on an empty database builds an empty index, then adds the imported
    # fiches to it; their words were dropped, so word_cover was 0 until the next restart
    # and the answerability model read every question as covering none of its words.
    empty = FicheIndex([], sparse.csr_matrix((0, 4), dtype=np.float32), 0.0)
    added = IndexedVersion("twente", "en", "Twente", TEXTS["twente"], ())
    grown = empty.with_versions(
        [added],
        sparse.csr_matrix(np.array([[0, 0, 0, 1]], dtype=np.float32)),
        [version_words(TEXTS["twente"])],
    )
    [hit] = grown.search("dashboard dropout", "en", query_vector())
    assert hit.word_cover == 1.0


def gist_index() -> FicheIndex:
    versions = [
        IndexedVersion("mayo", "en", "Mayo", "", ()),
        IndexedVersion("mayo", "it", "Mayo (it)", "", ()),
        IndexedVersion("langhe", "it", "Langhe", "", ()),
    ]
    # The whole texts match the query alike; the gists (title and summary) do not.
    vectors = sparse.csr_matrix(np.ones((3, 2), dtype=np.float32) / 2**0.5)
    gists = sparse.csr_matrix(np.array([[1, 0], [0.6, 0.8], [0.8, 0.6]], dtype=np.float32))
    return FicheIndex(versions, vectors, 0.0, gists=gists)


def test_a_hits_gist_is_its_best_versions_match_with_its_title_and_summary() -> None:
    query = sparse.csr_matrix(np.array([[0, 1]], dtype=np.float32))
    hits = {h.fiche_id: h for h in gist_index().search("q", "en", query)}
    assert abs(hits["mayo"].gist - 0.8) < 1e-6  # its Italian version's gist
    assert abs(hits["langhe"].gist - 0.6) < 1e-6
    assert hits["mayo"].score == hits["langhe"].score  # the gist does not change the match


def test_gists_follow_the_versions_added_and_are_needed_for_every_version() -> None:
    query = sparse.csr_matrix(np.array([[0, 1]], dtype=np.float32))
    grown = gist_index().with_versions(
        [IndexedVersion("langhe", "en", "Langhe", "", ())],
        sparse.csr_matrix(np.array([[1, 0]], dtype=np.float32)),
        gists=sparse.csr_matrix(np.array([[0, 1]], dtype=np.float32)),
    )
    hits = {h.fiche_id: h for h in grown.search("q", "en", query)}
    assert abs(hits["langhe"].gist - 1.0) < 1e-6 and abs(hits["mayo"].gist - 0.8) < 1e-6
    empty = FicheIndex([], sparse.csr_matrix((0, 2), dtype=np.float32), 0.0)
    first = empty.with_versions(
        [IndexedVersion("mayo", "en", "Mayo", "", ())],
        sparse.csr_matrix(np.array([[1, 0]], dtype=np.float32)),
        gists=sparse.csr_matrix(np.array([[0, 1]], dtype=np.float32)),
    )
    assert abs(first.search("q", "en", query)[0].gist - 1.0) < 1e-6
    with pytest.raises(ValueError, match="a gist is needed for every version"):
        FicheIndex(
            gist_index().versions,
            sparse.csr_matrix(np.ones((3, 2), dtype=np.float32)),
            0.0,
            gists=sparse.csr_matrix(np.ones((2, 2), dtype=np.float32)),
        )
