"""Which of French, English or Dutch a question is written in, and the answer's own words in it."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["fr", "en", "nl"]

_MARKERS: dict[Language, set[str]] = {
    "fr": {
        "le",
        "la",
        "les",
        "des",
        "du",
        "un",
        "une",
        "est",
        "sont",
        "qui",
        "que",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "combien",
        "quand",
        "pourquoi",
        "comment",
        "où",
        "a-t-il",
        "a-t-elle",
        "ont-ils",
        "été",
        "fois",
        "dans",
        "pour",
        "par",
        "sur",
        "avec",
        "ce",
        "cette",
        "il",
        "elle",
        "ils",
        "au",
        "aux",
        "et",
        "l",
        "d",
        "qu",
        "n",
        "s",
        "ne",
        "pas",
        "y",
        "en",
        "lors",
        "selon",
        "quoi",
        "dont",
        "se",
        "sa",
        "son",
        "ses",
        "leur",
    },
    "en": {
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "were",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "how",
        "many",
        "much",
        "did",
        "does",
        "do",
        "of",
        "in",
        "on",
        "for",
        "by",
        "with",
        "to",
        "and",
        "it",
        "its",
        "has",
        "have",
        "had",
        "been",
        "times",
        "used",
        "use",
        "according",
        "there",
        "this",
        "that",
        "from",
        "at",
        "after",
        "before",
        "be",
    },
    "nl": {
        "de",
        "het",
        "een",
        "is",
        "zijn",
        "was",
        "waren",
        "wat",
        "welke",
        "welk",
        "wie",
        "wanneer",
        "waar",
        "waarom",
        "hoe",
        "hoeveel",
        "keer",
        "van",
        "in",
        "op",
        "voor",
        "door",
        "met",
        "te",
        "en",
        "heeft",
        "hebben",
        "had",
        "werd",
        "werden",
        "gebruikt",
        "gebruikte",
        "politie",
        "volgens",
        "er",
        "dit",
        "dat",
        "die",
        "naar",
        "bij",
        "om",
        "aan",
        "ook",
        "niet",
        "geen",
        "hun",
        "haar",
        "wordt",
        "worden",
        "nog",
    },
}
_TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)


def detect_language(text: str) -> Language:
    """The most likely of fr/en/nl by function words; French when nothing tells them apart."""
    tokens = [t.lower() for t in _TOKEN.findall(text.replace("’", "'").replace("'", " "))]
    scores = {lang: sum(t in words for t in tokens) for lang, words in _MARKERS.items()}
    if re.search(r"[éèêàçùâîôû]", text.lower()):
        scores["fr"] += 1
    best = max(scores.values())
    if best == 0:
        return "fr"
    for lang in ("fr", "en", "nl"):
        if scores[lang] == best:
            return lang  # type: ignore[return-value]
    return "fr"


MESSAGES: dict[str, dict[Language, str]] = {
    "abstain": {
        "fr": "Les documents ne répondent pas à cette question.",
        "en": "The documents don't say.",
        "nl": "De documenten zeggen hier niets over.",
    },
    "abstain_figure": {
        "fr": "Les documents ne donnent pas ce chiffre.",
        "en": "The documents don't give that figure.",
        "nl": "De documenten geven dat aantal niet.",
    },
    "abstain_amount": {
        "fr": "Les documents ne donnent pas ce montant.",
        "en": "The documents don't give that amount.",
        "nl": "De documenten noemen dat bedrag niet.",
    },
    "abstain_day": {
        "fr": "Les documents ne donnent pas cette date.",
        "en": "The documents don't give that date.",
        "nl": "De documenten geven die datum niet.",
    },
    "abstain_outcome": {
        "fr": "Les documents ne disent pas si cela a eu lieu.",
        "en": "The documents don't say whether that happened.",
        "nl": "De documenten zeggen niet of dat gebeurd is.",
    },
    "abstain_name": {
        "fr": "Les documents ne donnent pas ce nom.",
        "en": "The documents don't give that name.",
        "nl": "De documenten noemen die naam niet.",
    },
    "nearest": {
        "fr": "Passages les plus proches :",
        "en": "Nearest passages:",
        "nl": "Dichtstbijzijnde passages:",
    },
    "quoted": {
        "fr": "",
        "en": "The documents say (quoted in French):",
        "nl": "De documenten zeggen (citaat in het Frans):",
    },
    "conflict": {
        "fr": "Les sources divergent :",
        "en": "The sources disagree:",
        "nl": "De bronnen spreken elkaar tegen:",
    },
    "conflict_other": {
        "fr": "tandis que selon une autre source :",
        "en": "whereas another source says:",
        "nl": "terwijl een andere bron zegt:",
    },
    "besides": {
        "fr": "Par ailleurs :",
        "en": "Besides:",
        "nl": "Verder:",
    },
}


def message(key: str, language: Language) -> str:
    return MESSAGES[key][language]


def in_quotes(text: str) -> str:
    """A verbatim quotation in guillemets, or in “ ” when it holds guillemets itself."""
    return f"“{text}”" if "«" in text or "»" in text else f"« {text} »"
