"""The real embedder, memoised across tests so each text is embedded once per test session."""

from __future__ import annotations

from scipy import sparse

from knowledge.embedder import Embedder, stack


class MemoEmbedder:
    """Wraps a real embedder; same name and vectors, each text computed once."""

    def __init__(self, real: Embedder) -> None:
        self.real = real
        self.name = real.name
        self.dimension = real.dimension
        self._queries: dict[str, tuple] = {}
        self._passages: dict[str, tuple] = {}
        self.calls = 0

    def queries(self, texts: list[str]) -> sparse.csr_matrix:
        return self._embed(texts, self._queries, self.real.queries)

    def passages(self, texts: list[str]) -> sparse.csr_matrix:
        return self._embed(texts, self._passages, self.real.passages)

    def _embed(self, texts, memo, compute) -> sparse.csr_matrix:  # type: ignore[no-untyped-def]
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if missing:
            self.calls += len(missing)
            fresh = compute(missing)
            for row, text in enumerate(missing):
                start, end = fresh.indptr[row], fresh.indptr[row + 1]
                memo[text] = (fresh.indices[start:end].copy(), fresh.data[start:end].copy())
        return stack([memo[t] for t in texts], self.dimension)
