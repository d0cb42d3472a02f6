"""Word translations from the embedding model itself, for term coverage across languages.

An English or Dutch question shares few words with French sentences, so its term coverage
says little ("accounts" never meets "comptes"). The multilingual model places a word near its
translations: each question word is embedded as a query and matched to the corpus's own words,
embedded once as passages, by cross-domain similarity local scaling (CSLS, Conneau et al.,
2018, "Word translation without parallel data"), which lowers the words near everything
("répercussion", "gebruikte"). The few closest corpus words stand for the question word; a
question word counts as covered by a sentence holding one of their stems.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.reader import LoadedIndex
from index.store import save_for_build
from index.terms import STOPWORDS, stem
from index.text import fold

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_]+")
Embed = Callable[[list[str]], list[list[float]]]


def content_words(text: str) -> list[str]:
    """The text's words worth translating: alphabetic, over two letters, not stop words;
    lower-cased, sorted, once each."""
    return sorted(
        {w for w in _WORD.findall(text.lower()) if len(w) > 2 and fold(w) not in STOPWORDS}
    )


class WordTranslations:
    """Each question word's closest corpus words (their stems), by CSLS over the embedding
    model's word vectors. With no vocabulary (too large to embed, or no model), a word
    stands only for its own stem."""

    def __init__(
        self,
        words: list[str],
        vectors: np.ndarray,
        hubness: np.ndarray,
        embed_queries: Embed | None,
        per_word: int = 3,
    ) -> None:
        self.stems = [stem(fold(w)) for w in words]
        self.vectors = vectors
        self.hubness = hubness
        self.per_word = per_word
        self._embed_queries = embed_queries
        self._known: dict[str, frozenset[str]] = {}

    @classmethod
    def of_index(
        cls,
        index: LoadedIndex,
        embed_queries: Embed | None,
        embed_passages: Embed | None,
        max_words: int,
        cache: Path | None = None,
        neighbours: int = 10,
        block: int = 1024,
    ) -> WordTranslations:
        """The corpus's words embedded once, with their hubness: each word's mean CSLS-side
        similarity to its `neighbours` closest other words. Saved to `cache` (a file per
        index build), so only the first start-up pays for it."""
        words = content_words(
            " ".join(index.sentence_text(info) for info in index.sentences.values())
        )
        empty = cls([], np.zeros((0, 0), np.float32), np.zeros(0, np.float32), None)
        if embed_queries is None or embed_passages is None or len(words) <= neighbours:
            return empty
        if len(words) > max_words:
            log.info("translations: %d words, above RAG_TRANSLATION_MAX_WORDS; none", len(words))
            return empty
        if cache is not None and cache.exists():
            try:
                with np.load(cache, allow_pickle=False) as saved:
                    if list(saved["words"]) == words:
                        return cls(words, saved["vectors"], saved["hubness"], embed_queries)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                pass  # unreadable: measured again, and saved over
        vectors = np.asarray(embed_passages(words), dtype=np.float32)
        closest = np.empty(len(words), dtype=np.float32)
        for start in range(0, len(words), block):
            similarity = vectors[start : start + block] @ vectors.T
            rows = np.arange(similarity.shape[0])
            similarity[rows, start + rows] = -np.inf  # a word is not its own neighbour
            top = -np.partition(-similarity, neighbours - 1, axis=1)[:, :neighbours]
            closest[start : start + block] = top.mean(axis=1)
        if cache is not None:
            archive = io.BytesIO()
            np.savez(archive, words=np.array(words), vectors=vectors, hubness=closest)
            save_for_build(cache, archive.getvalue())
        return cls(words, vectors, closest, embed_queries)

    def of_question(self, question: str) -> dict[str, frozenset[str]]:
        """Each content word of the question, and the stems that stand for it: its own and
        its closest corpus words'."""
        words = content_words(question)
        found: dict[str, frozenset[str]] = {}
        for word in words:
            known = self._known.get(word)  # one lookup: another thread may clear it meanwhile
            if known is not None:
                found[word] = known
        missing = [word for word in words if word not in found]
        if missing:
            found.update(self._closest_stems(missing))
            if len(self._known) > 8192:
                self._known.clear()  # questions may bring endless words
            self._known.update(found)
        return found

    def _closest_stems(self, words: list[str]) -> dict[str, frozenset[str]]:
        """The words' stems with their closest corpus words', embedded in one batch."""
        if self._embed_queries is None or not self.stems:
            return {word: frozenset({stem(fold(word))}) for word in words}
        vectors = np.asarray(self._embed_queries(words), dtype=np.float32)
        csls = 2 * (vectors @ self.vectors.T) - self.hubness
        best = np.argpartition(-csls, self.per_word - 1, axis=1)[:, : self.per_word]
        return {
            word: frozenset({stem(fold(word)), *(self.stems[j] for j in row)})
            for word, row in zip(words, best, strict=True)
        }
