"""The stemmed terms of a text, for idf-weighted term coverage: French stemming, accents and
case folded, number words as digits, stop words of the three languages dropped. Computed for
every sentence when a build is written, and for each question when it is asked."""

from __future__ import annotations

import re
import threading

import Stemmer
from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN, STOPWORDS_FRENCH

from index.text import fold, with_number_digits

# The stop words of the three languages, folded.
FUNCTION_WORDS = {fold(w) for w in (*STOPWORDS_FRENCH, *STOPWORDS_EN, *STOPWORDS_DUTCH)}
# For term coverage, also the question words and counting words every question shares.
STOPWORDS = FUNCTION_WORDS | {
    "combien", "quand", "quel", "quelle", "quels", "quelles", "pourquoi", "comment", "fois",
    "hoeveel", "wanneer", "welke", "waarom", "how", "many", "much", "when", "which", "what",
    "who", "qui", "wie", "wat", "t", "selon", "according", "volgens", "keer", "times",
}  # fmt: skip
_TOKEN = re.compile(r"\w+", re.UNICODE)
_local = threading.local()  # a Stemmer object is not to be shared between threads


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("french")
    return stemmer


class ThreadLocalStemmer:
    """The French stemmer as bm25s calls it (`stemWords`), one PyStemmer object per thread:
    the HTTP server retrieves from many threads at once."""

    def stemWords(self, words: list[str]) -> list[str]:  # the name bm25s calls
        return _stemmer().stemWords(words)


def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def stemmed_terms(text: str) -> set[str]:
    tokens = _TOKEN.findall(fold(with_number_digits(text)))  # fold once, not per token
    kept = [t for t in tokens if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]
    return set(_stemmer().stemWords(kept))


def joined(terms: set[str]) -> str:
    """Terms as stored in a sentence's metadata."""
    return " ".join(sorted(terms))
