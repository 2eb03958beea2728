"""Detect the language of a message: langdetect on the network's languages, with tie-breakers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from knowledge.text import fold_accents

__all__ = ["Detection", "LanguageDetector"]

LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Below this probability a language is not a candidate at all, so a hint cannot invent one.
CANDIDATE_FLOOR = 0.02
LEXICON_FACTOR = 8.0


@dataclass(frozen=True)
class Detection:
    """The language chosen, and why.

    ``text``: a long text; ``short``: a short text, taken as detected; ``tie-break``: a short
    text decided by the tie-breakers; ``fallback``: no letters to go by.
    """

    language: str
    source: str
    probabilities: tuple[tuple[str, float], ...] = ()


class LanguageDetector:
    """Seeded langdetect restricted to the configured languages.

    Long messages are decided by the text alone. For short ones, where n-gram statistics are
    often confidently wrong, langdetect's candidates are re-weighted by three tie-breakers:
    words known from the network's own texts in each language (fiches, topic keywords), the
    sender's stored language, and the channel's hint. None of them can pick a language that
    langdetect gave no chance at all.
    """

    def __init__(
        self,
        languages: Iterable[str],
        *,
        default: str = "en",
        short_words: int = 6,
        seed: int = 0,
    ) -> None:
        self.languages = tuple(languages)
        self.default = default
        self.short_words = short_words
        self._factory = DetectorFactory()
        self._factory.seed = seed
        profiles = []
        for code in self.languages:
            with open(os.path.join(PROFILES_DIRECTORY, code), encoding="utf-8") as handle:
                profiles.append(handle.read())
        if len(profiles) == 1:
            self._single = self.languages[0]
        else:
            self._single = ""
            self._factory.load_json_profile(profiles)
        self._lexicon: dict[str, set[str]] = {code: set() for code in self.languages}

    def learn_words(self, words_by_language: Mapping[str, Iterable[str]]) -> None:
        """Add words known to be of each language (from fiches and keywords) as tie-breakers."""
        counts: dict[str, int] = {}
        for code, words in words_by_language.items():
            if code in self._lexicon:
                for word in words:
                    for token in WORD.findall(fold_accents(word.lower())):
                        if len(token) >= 3:
                            self._lexicon[code].add(token)
        # A word known in several languages ("online", "digital") tells nothing.
        for words in self._lexicon.values():
            for word in words:
                counts[word] = counts.get(word, 0) + 1
        for code in self._lexicon:
            self._lexicon[code] = {w for w in self._lexicon[code] if counts[w] == 1}

    def probabilities(self, text: str) -> list[tuple[str, float]]:
        """Every configured language with langdetect's probability, best first."""
        if self._single:
            return [(self._single, 1.0)]
        detector = self._factory.create()
        detector.append(text)
        try:
            detector.get_probabilities()
        except LangDetectException:
            return []
        pairs = zip(detector.langlist, detector.langprob or [], strict=True)
        return sorted(((code, float(p)) for code, p in pairs), key=lambda pair: -pair[1])

    def detect(
        self, text: str, *, preferred: str | None = None, hint: str | None = None
    ) -> Detection:
        """Choose the language of ``text``; ``preferred`` and ``hint`` only break ties."""
        fallback = next(
            (code for code in (preferred, hint, self.default) if code in self.languages),
            self.languages[0],
        )
        if not LETTER.search(text):
            return Detection(fallback, "fallback")
        scores = self.probabilities(text)
        if not scores:
            return Detection(fallback, "fallback")
        words = WORD.findall(text)
        if len(words) > self.short_words:
            return Detection(scores[0][0], "text", tuple(scores[:3]))
        folded = {fold_accents(w.lower()) for w in words}
        weighted = []
        for code, probability in scores:
            hits = len(folded & self._lexicon.get(code, set()))
            if probability < CANDIDATE_FLOOR and not hits:
                continue
            # Each word found only in this language's own texts is strong evidence.
            weight = (probability + CANDIDATE_FLOOR) * LEXICON_FACTOR**hits
            if code == preferred:
                weight *= 2.0
            if code == hint:
                weight *= 1.5
            weighted.append((weight, code))
        if not weighted:
            return Detection(scores[0][0], "text", tuple(scores[:3]))
        weighted.sort(reverse=True)
        chosen = weighted[0][1]
        source = "short" if chosen == scores[0][0] else "tie-break"
        return Detection(chosen, source, tuple(scores[:3]))
