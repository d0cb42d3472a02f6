"""A learned sentence ranker: a conditional logistic regression (a softmax over one question's
candidate sentences) on the signals the extractive synthesizer computes per sentence.

Its weights live in `rag/ranker.json`, trained on the gold set's dev split only by
`scripts/train_ranker.py` (label: the sentence holds a key fact of the question and comes from
one of its supporting documents). Without that file the hand-set `SENTENCE_WEIGHTS` rank.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from index.text import fold

RANKER_PATH = Path(__file__).with_name("ranker.json")

# Questions that want a person's name, not a body's ("qui", "quel magistrat", "who").
_ASKS_PERSON = re.compile(
    r"\b(qui|who|whom|wie|comment s['’]appelle|what is the name|hoe heet"
    r"|quel(?:le)?s? (?:magistrat|parlementaire|député|ministre|élu|personne|auteure?)s?"
    r"|which (?:[\w-]+ ){0,2}(?:person|minister|deputy|deputies|magistrate|mp|senator"
    r"|politician|member)s?"
    r"|welke (?:[\w-]+ ){0,2}(?:minister|persoon|politicus|parlementariër|magistraat"
    r"|afgevaardigde|kamerlid|parlementsleden)\w*)\b",
    re.IGNORECASE,
)
# Questions answered by yes or no (no question word): the answer is often a negation
# ("n'a pas donné de résultat positif").
_QUESTION_WORD = re.compile(
    r"\b(qui|que|qu|quoi|quel|quelle|quels|quelles|combien|quand|où|comment|pourquoi|lequel"
    r"|laquelle|who|whom|whose|what|which|when|where|how|why|wie|wat|welk|welke|wanneer|waar"
    r"|hoe|waarom|hoeveel|waar\w*)\b",
    re.IGNORECASE,
)
# A person's name: two capitalised words (a first name and a surname), not an article, a
# pronoun or a word that opens a clause ("La Haye", "Selon Le Soir" are not people).
_LOWER = "a-zéèêëàâîïôöûüç"
_PERSON = re.compile(
    r"(?<![\w’'])(?<!\b[Ll]a )(?<!\b[Ll]e )(?<!\b[Ll]es )"
    r"(?!(?:Le|La|Les|L|Un|Une|Des|Du|De|En|Au|Aux|Selon|Après|Pour|Dans|Lors|Plus"
    r"|Il|Elle|Nous|Ce|Cette|C|Et|Sur|The)\b)"
    rf"[A-ZÉÈ][{_LOWER}]+(?:-[A-ZÉÈ][{_LOWER}]+)?\s+(?:(?:de|du|Le|van|der)\s+)?[A-ZÉÈ][{_LOWER}]{{2,}}"
)
_NEGATION = re.compile(r"(?<!\w)(?:ne|n['’]|pas|jamais|aucune?|non)(?!\w)", re.IGNORECASE)

FEATURES = (
    "cosine",
    "cosine_gap",
    "lexical_fr",
    "lexical_other",
    "lexical_gap",
    "context",
    "context_gap",
    "restates",
    "count_asked",
    "date_asked",
    "name_asked",
    "person_asked",
    "person",
    "negation_yes_no",
    "negation",
    "is_question",
    "section_question",
    "section_answer",
    "neighbour_cosine",
    "neighbour_gain",
    "relative_position",
    "opens_document",
)


@dataclass(frozen=True)
class QuestionProfile:
    """What the question asks, as the ranker's features need it."""

    text: str
    french: bool
    kind: str | None  # "count", "date", "name", "reason" or None (rag.extractive.expected_answer)
    asks_person: bool
    asks_yes_no: bool

    @classmethod
    def of(cls, question: str, french: bool, kind: str | None) -> QuestionProfile:
        return cls(
            question,
            french,
            kind,
            asks_person(question),
            question.lower().lstrip().startswith("est-ce") or not _QUESTION_WORD.search(question),
        )


def asks_person(question: str) -> bool:
    return bool(_ASKS_PERSON.search(question))


def names_a_person(sentence: str, question: str) -> bool:
    """The sentence names a person the question does not name."""
    asked = fold(question)
    return any(fold(m.group(0)) not in asked for m in _PERSON.finditer(sentence))


_HANDLE = re.compile(r"@\w{3,}")


def people_named(sentence: str, question: str) -> int:
    """How many people the sentence names that the question does not: names and social-media
    handles, one person's name and handle counted once ("Hadrien Clouet (@HadrienClouet)")."""
    asked = fold(question).replace(" ", "")
    people = {fold(m.group(0)).replace(" ", "") for m in _PERSON.finditer(sentence)}
    people |= {fold(m.group(0)[1:]) for m in _HANDLE.finditer(sentence)}
    return sum(person not in asked for person in people)


def has_negation(sentence: str) -> bool:
    return bool(_NEGATION.search(sentence))


@dataclass(frozen=True)
class Signals:
    """One candidate sentence's raw signals."""

    cosine: float
    lexical: float
    context: float
    answer_type: float
    novelty: float
    person: bool
    negation: bool
    is_question: bool
    section: str
    neighbour_cosine: float
    position: int
    sentences_in_document: int


def features(
    profile: QuestionProfile, signals: Signals, best: tuple[float, float, float]
) -> list[float]:
    """The feature vector, in FEATURES' order; `best` is the highest cosine, lexical coverage
    and context among the question's candidates (the gaps say how far this one is behind)."""
    s = signals
    return [
        s.cosine,
        s.cosine - best[0],
        s.lexical if profile.french else 0.0,
        0.0 if profile.french else s.lexical,
        s.lexical - best[1],
        s.context,
        s.context - best[2],
        max(0.0, 0.5 - s.novelty),
        s.answer_type if profile.kind == "count" else 0.0,
        s.answer_type if profile.kind == "date" else 0.0,
        s.answer_type if profile.kind == "name" else 0.0,
        float(s.person and profile.asks_person),
        float(s.person),
        float(s.negation and profile.asks_yes_no),
        float(s.negation),
        float(s.is_question),
        float(s.section == "question"),
        float(s.section == "answer"),
        s.neighbour_cosine,
        s.neighbour_cosine - s.cosine,
        s.position / max(1, s.sentences_in_document - 1),
        float(s.position == 0),
    ]


@dataclass(frozen=True)
class LearnedRanker:
    weights: tuple[float, ...]
    intercept: float

    def score(self, vector: list[float]) -> float:
        return self.intercept + sum(w * x for w, x in zip(self.weights, vector, strict=True))

    @classmethod
    def load(cls, path: Path = RANKER_PATH) -> LearnedRanker | None:
        """The saved ranker, or None when there is none."""
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data.get("features", ())) != FEATURES:
            raise ValueError(
                f"{path} was trained on other features; retrain: python scripts/train_ranker.py"
            )
        return cls(tuple(float(w) for w in data["weights"]), float(data["intercept"]))
