"""The in-memory fiche search index: BM25 per language plus embeddings across languages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
from scipy import sparse

from knowledge.text import tokenize, word_starts

__all__ = ["FicheHit", "FicheIndex", "IndexedVersion", "gist_text", "version_words"]

# A question's content words are its words of this many letters or more.
CONTENT_LETTERS = 5


@dataclass(frozen=True)
class IndexedVersion:
    """What the index keeps of one language version of a fiche."""

    fiche_id: str
    language: str
    title: str
    summary: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class FicheHit:
    """A fiche found for a query, shown in ``language``, with how well it matched."""

    fiche_id: str
    language: str
    title: str
    summary: str
    topics: tuple[str, ...]
    score: float
    semantic: float
    lexical: float
    topical: float = 0.0  # added for sharing the question's topic; ranks, never decides
    # Share of the question's latent-term weight (squared) on terms the matched version has.
    term_cover: float = 0.0
    # Share of the question's content words found in the fiche's version in its language.
    word_cover: float = 0.0
    # The question's latent-term match with the fiche's title and summary alone (its best
    # version): what the fiche is about, without the body's side remarks.
    gist: float = 0.0
    # The fiche's best match among its versions in other languages than the question's (its
    # match where it has none): a version in the asker's own language matches on shared
    # words too, so this compares fiches without that lift.
    elsewhere: float = 0.0
    # The re-ranker's value of the hit (routing.reranking): only its gaps to the others' count.
    rerank: float = 0.0

    @property
    def rank_score(self) -> float:
        """What the hits are ordered by: the match score plus the topic's share."""
        return self.score + self.topical


class FicheIndex:
    """Scores every fiche by its best-matching version: cosine similarity plus weighted BM25."""

    def __init__(
        self,
        versions: Sequence[IndexedVersion],
        vectors: sparse.csr_matrix,
        lexical_weight: float,
        tokens: Sequence[Sequence[str]] = (),
        words: Sequence[np.ndarray] = (),
        gists: sparse.csr_matrix | None = None,
    ) -> None:
        """``tokens`` (each version's, for BM25) are needed only when ``lexical_weight`` > 0.

        ``words`` are each version's :func:`version_words`; without them no hit covers any
        of the question's words. ``gists`` are the embeddings of each version's
        :func:`gist_text`, a row each; without them every hit's ``gist`` is 0.
        """
        if vectors.shape[0] != len(versions):
            raise ValueError("one vector per version is needed")
        if lexical_weight > 0 and len(tokens) != len(versions):
            raise ValueError("a lexical weight needs the tokens of every version")
        if words and len(words) != len(versions):
            raise ValueError("words are needed for every version or none")
        if gists is not None and gists.shape[0] != len(versions):
            raise ValueError("a gist is needed for every version or none")
        self.versions = list(versions)
        self._words = list(words)
        self._row = {(v.fiche_id, v.language): i for i, v in enumerate(self.versions)}
        self.lexical_weight = lexical_weight
        self.fiche_ids = sorted({v.fiche_id for v in self.versions})
        position = {fiche_id: i for i, fiche_id in enumerate(self.fiche_ids)}
        self._owner = np.array([position[v.fiche_id] for v in self.versions], dtype=np.int64)
        self._by_fiche: dict[str, list[IndexedVersion]] = {}
        for version in self.versions:
            self._by_fiche.setdefault(version.fiche_id, []).append(version)
        self._bm25: bm25s.BM25 | None = None
        self._vocabulary: dict[str, int] = {}
        # By latent term: a query touches only the columns of its own terms, which on
        # 10,000 versions took 0.2 ms against 10 ms for a row-by-row product.
        self._columns = vectors.tocsc()
        self._gists = gists.tocsc() if gists is not None else None
        if lexical_weight > 0 and self.versions:
            # Token ids are ours: bm25s's own vocabulary handling shifts ids on some inputs.
            documents = [
                [self._vocabulary.setdefault(t, len(self._vocabulary)) for t in version_tokens]
                for version_tokens in tokens
            ]
            self._bm25 = bm25s.BM25()
            self._bm25.index((documents, dict(self._vocabulary)), show_progress=False)

    def __len__(self) -> int:
        return len(self.fiche_ids)

    def with_versions(
        self,
        versions: Sequence[IndexedVersion],
        vectors: sparse.csr_matrix,
        words: Sequence[np.ndarray] = (),
        gists: sparse.csr_matrix | None = None,
    ) -> FicheIndex:
        """A new index holding these versions too, in place of any of the same fiches.

        Only without BM25 (``lexical_weight`` 0): the index keeps no tokens to rebuild it.
        """
        if self.lexical_weight > 0:
            raise ValueError("an index with a lexical weight is rebuilt whole")
        replaced = {v.fiche_id for v in versions}
        keep = [i for i, v in enumerate(self.versions) if v.fiche_id not in replaced]
        rows = self._columns.tocsr()[keep]
        # An empty index has no words or gists yet: the first fiches added bring theirs.
        empty = not self.versions
        both_words = len(words) == len(versions) and (bool(self._words) or empty)
        both_gists = gists is not None and (self._gists is not None or empty)
        kept_gists = (
            self._gists.tocsr()[keep]
            if self._gists is not None
            else sparse.csr_matrix((0, vectors.shape[1]), dtype=np.float32)
        )
        return FicheIndex(
            [self.versions[i] for i in keep] + list(versions),
            sparse.vstack([rows, vectors], format="csr"),
            0.0,
            words=[self._words[i] for i in keep] + list(words) if both_words else (),
            gists=sparse.vstack([kept_gists, gists], format="csr") if both_gists else None,
        )

    def versions_of(self, fiche_id: str) -> list[IndexedVersion]:
        """Every indexed language version of one fiche."""
        return self._by_fiche.get(fiche_id, [])

    def search(
        self,
        query: str,
        language: str,
        vector: sparse.csr_matrix,
        *,
        preferred: Sequence[str] = (),
        limit: int = 10,
    ) -> list[FicheHit]:
        """Return up to ``limit`` fiches, best first, each in the best language for the reader.

        ``preferred`` lists languages the reader reads, best first; a fiche is shown in the
        first of them it has, otherwise in its best-matching version.
        """
        if not self.versions:
            return []
        terms = vector.tocsr()
        touched = self._columns[:, terms.indices]  # each version's weights on the query's terms
        semantic = np.asarray(touched @ terms.data, dtype=np.float32).ravel()
        lexical = np.zeros(len(self.versions), dtype=np.float32)
        ids = []
        if self.lexical_weight > 0:  # at 0 the lexical scores would change nothing
            ids = [self._vocabulary[t] for t in tokenize(query, language) if t in self._vocabulary]
        if ids and self._bm25 is not None:
            raw = np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)
            peak = float(raw.max())
            if peak > 0:
                # Saturating, so one rare shared word cannot outweigh meaning.
                lexical = raw / (raw + 10.0)
        combined = semantic + self.lexical_weight * lexical
        fiche_best = np.full(len(self.fiche_ids), -np.inf, dtype=np.float32)
        np.maximum.at(fiche_best, self._owner, combined)
        count = min(limit, len(self.fiche_ids))
        top = np.argpartition(-fiche_best, count - 1)[:count]
        top = top[np.argsort(-fiche_best[top], kind="stable")]
        # The question's weight on the terms each version carries: one more product.
        mass = terms.data**2
        carried = touched.copy()
        carried.data[:] = 1.0
        term_cover = np.asarray(carried @ (mass / max(float(mass.sum()), 1e-12))).ravel()
        question_words = _hashes(word_starts(query, CONTENT_LETTERS))
        gist = np.zeros(len(self.fiche_ids), dtype=np.float32)
        if self._gists is not None:
            # As the match itself: only the columns of the question's own terms.
            by_version = np.asarray(self._gists[:, terms.indices] @ terms.data).ravel()
            np.maximum.at(gist, self._owner, by_version.astype(np.float32))
        hits = []
        for position in top:
            fiche_id = self.fiche_ids[position]
            rows = np.flatnonzero(self._owner == position)
            best_row = int(rows[np.argmax(combined[rows])])
            other = [row for row in rows if self.versions[row].language != language]
            shown = self._shown_version(fiche_id, preferred) or self.versions[best_row]
            hits.append(
                FicheHit(
                    fiche_id=fiche_id,
                    language=shown.language,
                    title=shown.title,
                    summary=shown.summary,
                    topics=shown.topics,
                    score=float(fiche_best[position]),
                    semantic=float(semantic[best_row]),
                    lexical=float(lexical[best_row]),
                    term_cover=float(term_cover[best_row]),
                    word_cover=self._word_cover(question_words, fiche_id, language),
                    gist=float(gist[position]),
                    elsewhere=float(combined[other].max() if other else fiche_best[position]),
                )
            )
        return hits

    def _word_cover(self, question_words: np.ndarray, fiche_id: str, language: str) -> float:
        row = self._row.get((fiche_id, language))
        if not len(question_words) or row is None or not self._words:
            return 0.0
        words = self._words[row]
        if not len(words):
            return 0.0
        at = np.minimum(np.searchsorted(words, question_words), len(words) - 1)
        return float((words[at] == question_words).mean())

    def _shown_version(self, fiche_id: str, preferred: Sequence[str]) -> IndexedVersion | None:
        versions = {v.language: v for v in self._by_fiche[fiche_id]}
        for language in preferred:
            if language in versions:
                return versions[language]
        return None


def gist_text(title: str, summary: str) -> str:
    """What a version's gist embeds: its title and summary."""
    return f"{title}. {summary}".strip()


def version_words(text: str) -> np.ndarray:
    """What the index keeps of a version's words: their starts, hashed, sorted.

    Hashes in an array take a tenth of the memory of a set of strings; they are compared
    only within one process, so Python's salted string hash does.
    """
    return _hashes(word_starts(text))


def _hashes(words: set[str]) -> np.ndarray:
    return np.unique(np.fromiter((hash(w) for w in words), dtype=np.int64, count=len(words)))
