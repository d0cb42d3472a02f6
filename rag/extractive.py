"""The default answerer: picks the corpus's own sentences that answer, each cited, no LLM.

It is a LlamaIndex response synthesizer, so `RetrieverQueryEngine` drives it and a generative
synthesizer can take its place behind the same seam.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import MockLLM
from llama_index.core.response_synthesizers import BaseSynthesizer
from llama_index.core.schema import NodeWithScore, QueryBundle, QueryType, TextNode

from index.embeddings import cached_passages
from index.reader import LoadedIndex, SentenceInfo
from index.store import IndexLayout
from index.terms import stem, stemmed_terms
from index.text import fold
from rag.answer_types import (
    ASKS_DURATION,
    ASKS_POPULATION,
    COUNT_MATCHED,
    MONTHS,
    NUMERIC_DATE,
    UnitMatcher,
    asked_unit,
    asks_countries,
    asks_day,
    asks_departments,
    asks_money,
    asks_which_outcome,
    checked_figure_end,
    count_values,
    countries_named,
    counts_with_nouns,
    days_in,
    departments_named,
    has_day,
    has_money,
    outcomes_asked,
    tells_outcome,
)
from rag.hubness import query_embedder, sentence_hubness
from rag.language import Language, detect_language, in_quotes, message
from rag.models import AbstainReason
from rag.ranker import (
    ASKS_WHO,
    EVERY_PAIR,
    NAMING,
    THING_NAMED,
    LearnedRanker,
    People,
    QuestionProfile,
    RunnerUpModel,
    Signals,
    asked_role,
    asks_named_person,
    asks_person,
    asks_yes_no,
    attributes_to,
    features,
    has_negation,
    names_a_person,
    names_another_office,
    names_in_role,
    names_someone_for_role,
    people_named,
)
from rag.settings import RagSettings
from rag.translation import WordTranslations

_TOKEN = re.compile(r"\w+", re.UNICODE)
_DATE = re.compile(
    rf"{NUMERIC_DATE}|(?:\b\d{{1,2}}(?:er)?\s+)?\b(?:{MONTHS})\s+(?:19|20)\d\d\b"
    rf"|\b(?:{MONTHS})\s+\d{{1,2}},?\s+(?:19|20)\d\d\b|\b(?:19|20)\d\d\b",
    re.IGNORECASE,
)
# "Qui / who / wie" opening a question or its part: someone is asked, a person or a body.
# (A person asked by name or role is `asks_named_person`; a body by kind, `_ASKS_BODY`.)
_ASKS_WHO = re.compile(ASKS_WHO, re.IGNORECASE)
# "Quelle entreprise…", "which company…", "welk bedrijf…": a body's name is asked.
_ASKS_COMPANY = re.compile(
    r"\b(?:quel(?:le)?s? (?:entreprises?|sociétés?|firmes?|éditeurs?|fabricants?)"
    r"|which (?:[\w-]+ )?(?:company|companies|firms?|vendors?|manufacturers?|makers?)"
    r"|welke? (?:[\w-]+ )?(?:bedrijf|bedrijven|firma|firma's|fabrikant(?:en)?"
    r"|leverancier(?:s)?))\b",
    re.IGNORECASE,
)
# Questions asking which body, authority or unit did something.
_ASKS_BODY = re.compile(
    r"\b(?:quel(?:le)?s?\s+(?:organe|organisme|instance|autorité|service|institution|unité)"
    r"|which\s+(?:[\w-]+\s+)?(?:body|bodies|authority|agency|organi[sz]ation|unit|service"
    r"|institution)"
    r"|welke?\s+(?:[\w-]+\s+)?(?:instantie|orgaan|autoriteit|dienst|instelling|eenheid))\b",
    re.IGNORECASE,
)
# "Comment s'appelle le logiciel…", "what is the name of the software": a name, not a person.
_ASKS_THING_NAME = re.compile(rf"\b{NAMING}{THING_NAMED}", re.IGNORECASE)
# "Quels ministres…", "which MPs…", "welke parlementsleden…": several people are asked.
_ASKS_SEVERAL = re.compile(
    r"\b(?:quel(?:le)?s|(?:which|welke)\s+(?:[\w-]+\s+){0,2}[\w-]{2,}(?:s|en))\b", re.IGNORECASE
)
NAMES_FOR_A_LIST = 3  # people named who fully answer a question asking for several
# "Quand", "où" and their English and Dutch forms ask only where a question or its part opens
# ("Quand…", "Depuis quand…", "…, et où…"), not as conjunctions ("…quand on l'a interrogée").
_OPENING = (
    r"(?:^|[,;:]\s*|\b(?:et|and|en)\s+)(?:(?:depuis|jusqu['’]à|jusqu|d|par|since|until|till"
    r"|from|sinds|tot|vanaf)['’\s]\s*)?"
)
_ASKS_WHERE = re.compile(
    rf"{_OPENING}(?:où|where|waar)\b|\b(?:dans quelle ville|in which city|in welke stad)\b",
    re.IGNORECASE,
)
_ASKS_COUNT = re.compile(
    r"\b(combien|nombre|how many|how much|how often|hoeveel|hoe vaak|aantal|number of"
    r"|quel(?:le)?s?\s+(?:est\s+le\s+|était\s+le\s+)?chiffres?"
    r"|(?:what|which)\s+(?:was\s+|is\s+)?(?:the\s+)?figures?|what\s+number"
    r"|welke?\s+(?:cijfers?|getal))\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=512)  # asked of the same question for every candidate sentence
def checks_a_date(question: str) -> bool:
    """A yes/no question checking a date ("testé pour la première fois en octobre 2019, c'est
    bien ça ?", "was it in December 2023…?", "…s'est-elle tenue en 2019 ?"): the dates of the
    event answer it, the one checked among them."""
    if _CHECKS_A_YEAR.search(question) and not _OPENS_WITH_QUESTION_WORD.match(question):
        return True  # "…pendant laquelle … s'est-elle bien tenue en 2019 ?"
    return asks_yes_no(question) and bool(_month_dates(question) or _IN_A_YEAR.search(question))


_IN_A_YEAR = re.compile(r"\b(?:en|in)\s+(?:19|20)\d\d\b", re.IGNORECASE)
_CHECKS_A_YEAR = re.compile(r"\b(?:en|in)\s+(?:19|20)\d\d\s*\?\s*$", re.IGNORECASE)


@lru_cache(maxsize=512)
def checks_a_count(question: str) -> bool:
    """A yes/no question checking a figure ("a-t-elle utilisé Clearview plus d'une centaine de
    fois ?", "more than 100 times", "meer dan honderd keer"): the figure answers it."""
    return asks_yes_no(question) and checked_figure_end(question) is not None


_ASKS_AMOUNT = re.compile(
    r"\b(quel(?:le)?s?\s+(?:est\s+le\s+)?(?:montant|prix|somme|coût)|how\s+(?:much|large|big|high)"
    r"|what\s+(?:was\s+|is\s+)?(?:the\s+)?(?:amount|price|sum|cost)|hoe\s+(?:hoog|groot|veel)"
    r"|quel(?:le)?s?\s+amendes?|(?:what|which)\s+fines?"
    r"|welke?\s+(?:bedrag|prijs|boete))\b",
    re.IGNORECASE,
)
_ASKS_DATE = re.compile(
    rf"{_OPENING}(?:quand|when|wanneer)\b"
    r"|\b(?:quelle date|quelle année|quelle période|en quelle|what year|which year"
    r"|(?:what|which) (?:exact |precise |specific )?date"
    r"|what period|which period|welke periode"
    r"|welk jaar|welke datum|quel jour|(?:which|what) (?:exact |precise |specific )?day|welke dag"
    r"|quel moment|what (?:point|time|moment)|welk (?:moment|tijdstip)|quel mois|which month"
    r"|what month|welke maand"
    r"|depuis combien de temps|combien de temps|how long|hoe ?lang)\b",
    re.IGNORECASE,
)

# "Depuis quand / since when / how long": a duration answers as well as a date ("depuis au
# moins six ans", "for eight years", "al zes jaar").
_ASKS_SINCE = re.compile(
    rf"\b(?:depuis quand|since when|sinds wanneer)\b|{ASKS_DURATION.pattern}", re.IGNORECASE
)
# "Jusqu'à quand / until when / tot wanneer", and "when did they stop" ("quand ont-ils cessé
# de…", not "quand a-t-on arrêté le suspect"): the date something ended ("jusqu'au 10 février
# 2020") answers better than any other date.
_ASKS_UNTIL = re.compile(
    r"\b(?:jusqu['’](?:à|a)\s+(?:quand|quelle date)|until (?:when|what date)"
    r"|tot (?:wanneer|welke datum)"
    r"|quand\b[^?]*\b(?:arrêt\w*|cess\w*)\s+(?:de|d['’])|quand\b[^?]*\bstopp\w*"
    r"|when\b[^?]*\b(?:stop(?:ped)?|cease[ds]?|quit)"
    r"|wanneer\b[^?]*\b(?:gestopt|stopte|stopten|opgehouden|hield\w* op))\b",
    re.IGNORECASE,
)
_ENDING = re.compile(
    r"\b(?:jusqu['’](?:au|à|a|en)|until|till|tot)\s+(?:le\s+)?(?:\d{1,2}(?:er)?\s+)?"
    rf"(?:(?:{MONTHS})\s+)?(?:19|20)\d\d\b|\bdernière date\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\b(?:depuis|pendant|durant|for|since|sinds|al|gedurende)\s+"
    r"(?:(?:au moins|plus de|près de|presque|at least|more than|nearly|almost|minstens|meer dan"
    r"|bijna)\s+)?[\w-]+\s+(?:ans|années|mois|semaines|jours|years|months|weeks|days|jaar"
    r"|maanden|weken|dagen)\b",
    re.IGNORECASE,
)
_STARTING = re.compile(
    rf"\b(?:depuis|dès|de|from|since|sinds|vanaf|van)\s+(?:(?:fin|début|mi|late|early|eind|begin)\s+)?"
    rf"(?:(?:le\s+)?\d{{1,2}}\s+)?"
    rf"(?:(?:{MONTHS})\s+)?(?:19|20)\d\d\b",
    re.IGNORECASE,
)
# "Du 14 au 25 octobre 2016", "entre 2021 et 2023": a span of time, which says how long.
_SPAN = re.compile(
    rf"\b(?:du|from|van)\s+\d{{1,2}}(?:er)?\s+(?:(?:{MONTHS})\s+)?(?:au|to|until|tot)\s+\d"
    r"|\b(?:entre|between|tussen)\s+(?:19|20)\d\d\s+(?:et|and|en)\s+(?:19|20)\d\d\b",
    re.IGNORECASE,
)
_WHY = (
    r"(?:pourquoi|pour quelle raison|why|for what reason|how come|waarom|om welke reden"
    r"|hoe komt het)"
)
_ASKS_WHY = re.compile(rf"\b(?:{_WHY}|en quoi)\b", re.IGNORECASE)
# A question opening with it asks a reason whatever it holds ("Pourquoi… combien de fois…").
_WHY_OPENS = re.compile(rf"^\W*{_WHY}\b", re.IGNORECASE)
# Words that give a reason ("car", "faute de", "étant donné"), in the corpus's language and
# the other two, since a user's own documents may be English or Dutch.
_GIVES_REASON = re.compile(
    r"\b(car|parce qu|puisqu|faute d|en raison d|à cause d|du fait d|étant donné|vu que"
    r"|dans la mesure où|c['’]est pourquoi|en effet|because|due to|owing to|as a result of|omdat"
    r"|doordat|vanwege|wegens|namelijk|immers)",
    re.IGNORECASE,
)


# "Qu'a répondu X quand…", "how did X respond": the reply follows the sentence that tells
# the request, which is the one closest to the question.
_ASKS_REPLY = re.compile(
    r"\b(?:qu['’]\s*(?:a|ont)(?:-t-\w+)?\s+(?:\w+\s+){0,4}?(?:répondu|rétorqué|réagi)"
    r"|quelle\s+(?:a\s+été\s+|est\s+|fut\s+)?(?:la\s+)?réponse|comment\s+(?:\w+\s+){0,4}?a-t-\w+\s+"
    r"(?:répondu|réagi)|how\s+did\s+(?:\w+\s+){0,6}?(?:respond|reply|react|answer)"
    r"|what\s+did\s+(?:\w+\s+){0,6}?(?:reply|answer|respond)|what\s+was\s+(?:\w+\s+){0,4}?"
    r"(?:reply|response|answer)|what\s+(?:reply|response|answer)\s+did"
    r"|wat\s+(?:antwoordde|was\s+het\s+antwoord|was\s+de\s+reactie)|welk\s+antwoord"
    r"|hoe\s+reageerde"
    # and whether someone replied: "a-t-il répondu", "did he answer", "heeft hij geantwoord"
    r"|a-t-(?:il|elle)\s+(?:\w+\s+)?répondu|ont-(?:ils|elles)\s+(?:\w+\s+)?répondu"
    r"|(?:did|has|have)\s+(?:[\w'’-]+\s+){1,8}?(?:answer(?:ed)?|repl(?:y|ied)|respond(?:ed)?)"
    r"|(?:heeft|hebben)\s+(?:[\w'’-]+\s+){1,10}?(?:beantwoord|geantwoord|gereageerd))\b",
    re.IGNORECASE,
)
_REPLYING = (
    r"répon\w*|rétorqu\w*|réagi\w*|indiqu\w*|expliqu\w*|déclar\w*|affirm\w*|assur\w*|précis\w*"
)
# A sentence that already tells a reply or a statement ("pour se voir répondre que…").
_TELLS_REPLY = re.compile(rf"[«“\"]|\b(?:{_REPLYING}|selon)\b", re.IGNORECASE)
# The sentence after a request, telling the reply without quoting it ("La société a indiqué
# qu'elle n'était pas en mesure…").
_REPLY_VERB = re.compile(rf"\b(?:{_REPLYING}|refus\w*|accept\w*|pas en mesure)\b", re.IGNORECASE)
# Quotation marks. Sources also close with “ or open and close with ", so where a sentence has
# no ”, its “ (like ") opens and closes in turn.
_QUOTE_MARK = re.compile(r"[“”«»\"]")
# An outcome asked ("a-t-il été sanctionné") must be told this close to the top: lower down,
# "sanctionnés" is another matter's (the officers', not Clearview's).
OUTCOME_DEPTH = 4
QUOTE_CONTINUATION_MAX = 2  # sentences a short quotation may run on for
QUOTE_CONTINUATION_CHARS = 200


def leaves_quote_open(sentence: str) -> bool:
    """The sentence ends inside a quotation: its last mark opens one, with words after it
    ("Briefcam permet “de traquer une personne… pull.")."""
    marks = list(_QUOTE_MARK.finditer(sentence))
    if not marks:
        return False
    last = marks[-1].group()
    if last in "”»" or not re.search(r"\w\W+\w", sentence[marks[-1].end() :]):
        return False
    if last == '"' or (last == "“" and "”" not in sentence):
        return sum(m.group() == last for m in marks) % 2 == 1
    return True


def closes_unopened_quote(sentence: str) -> bool:
    """The sentence starts inside a quotation: its first mark closes one, after words
    ("Il n'est installé sur aucun ordinateur de notre service » a répondu le commissaire")."""
    first = _QUOTE_MARK.search(sentence)
    return (
        first is not None
        and first.group() in "”»"
        and re.search(r"\w", sentence[: first.start()]) is not None
    )


# A sentence that qualifies the one before it ("Cependant, … le matériel est apprécié").
_QUALIFIES = re.compile(
    r"^[\"“«\s]*(?:cependant|toutefois|néanmoins|pourtant|en revanche|par contre|however"
    r"|nevertheless|nonetheless|maar|echter|toch)\b",
    re.IGNORECASE,
)


# How a sentence's score is made: embedding cosine + these times the other signals.
SENTENCE_WEIGHTS = {
    "lexical_fr": 0.35,
    "lexical_other": 0.15,
    "context": 0.1,
    "question_penalty": 0.1,
    "answer_type": 0.1,
    "restates": 0.2,
    "second_margin": 0.12,
    "near_tie": 0.05,
    "near_tie_stretch": 1.5,
    "answer_type_margin": 0.1,
    "part_same_document": 0.1,
}


@dataclass
class Candidate:
    info: SentenceInfo
    text: str
    cosine: float = 0.0
    lexical: float = 0.0
    context: float = 0.0
    answer_type: float = 0.0
    novelty: float = 0.0
    score: float = 0.0
    weighted_score: float = 0.0  # the hand-weighted score, whichever ranker orders
    terms: set[str] = field(default_factory=set)
    features: list[float] = field(default_factory=list)


# Capitalised words not opening the sentence: names of people, places, bodies.
_NAME = re.compile(
    r"(?<![.!?]\s)(?<!^)\b[A-ZÉÈÀÂ][\w’'-]+(?:\s+(?:de\s+|du\s+|Le\s+)?[A-ZÉÈ][\w’'-]+)*"
)


# A country named in the question, as the catalog spells countries (ISO codes).
_COUNTRIES = {
    "FR": re.compile(
        r"\b(?:france|français|française|françaises|french|frankrijk|frans|franse)\b",
        re.IGNORECASE,
    ),
    "BE": re.compile(
        r"\b(?:belgique|belge|belges|belgium|belgian|belgians|belgië|belgisch|belgische|belgen)\b",
        re.IGNORECASE,
    ),
}


# "Combien de photos de Belges", "how many photos of Belgian people", "hoeveel foto's van
# Belgen": what is counted is a people's; a count of every image does not answer it.
_COUNTED_OF = re.compile(
    r"\b(?:combien|how many|hoeveel)\s+(?:de\s+|d['’]\s*)?[\w'’-]+\s+(?:de|d['’]|des|of|van)"
    r"\s*(?:the\s+)?([\w-]+)",
    re.IGNORECASE,
)


# "Combien de pays BuzzFeed a-t-il cités ?", "how many countries did BuzzFeed name?", "hoeveel
# landen noemde BuzzFeed?": a count some source gave, not any count of the thing.
_COUNTED_BY = re.compile(
    r"\b(?P<fr>[A-Z][\w-]+)\s+a-t-(?:il|elle)\s+(?:cité|mentionné|évoqué|signalé|recensé"
    r"|compté|nommé|dénombré|revendiqué|rapporté|affirmé)"
    r"|\bdid\s+(?P<en>[A-Z][\w-]+)\s+(?:report|name|cite|mention|list|count|claim|say|give)"
    r"|\b(?:noemde|meldde|telde|vermeldde|noemt|meldt|telt)\s+(?P<nl>[A-Z][\w-]+)",
)


# A place the count is asked of: "à Montpellier", "in Toulouse", "te Sète".
_COUNTED_AT = re.compile(r"\b(?:à|in|te)\s+([A-Z][\w'’-]+(?:[\s-][A-Z][\w'’-]+)?)")


def counted_at(question: str, documents: Iterable[str]) -> list[str]:
    """The places (folded) the question counts things at, of those the folded documents name
    as written: a city keeps its name across languages, a country does not. Not a country: a
    document about France seldom names it beside each count ("563 utilisations")."""
    return [
        place
        for place in (fold(m.group(1)) for m in _COUNTED_AT.finditer(question))
        if any(_has_word(text, place) for text in documents) and not countries_named(place)
    ]


def counted_by(question: str) -> str | None:
    """The source whose count the question asks (folded), or None."""
    found = _COUNTED_BY.search(question)
    return None if found is None else fold(next(g for g in found.groups() if g))


# A total broken down: "combien par la police et combien par la gendarmerie", "of the 78
# searches, how many…", "parmi les utilisations…, combien en 2023": one count is not the answer.
_ASKS_BREAKDOWN = re.compile(
    r"\b(?:et|and|en)\s+(?:combien|how many|hoeveel)(?:\s+(?:keer|fois|times))?\s+"
    r"(?:par|après|avant|pendant|en|dans|au|à|ont|sont|ensuite|by|after|afterwards|before"
    r"|during|in|at|were|was|later|then|door|daarna|na|tijdens|werden|gebeurden)\b"
    r"|^\W*(?:sur|parmi|of)\s+(?:les|the|all|toutes|tous|des)\b[^?,]*,\s*(?:combien|how many)\b"
    r"|\bhoeveel\s+van\s+de\b",
    re.IGNORECASE,
)


def counted_people(question: str) -> re.Pattern[str] | None:
    """The words of the people whose things the question counts, or None."""
    counted = _COUNTED_OF.search(question)
    if counted is None:
        return None
    return next((words for words in _COUNTRIES.values() if words.fullmatch(counted[1])), None)


def country_asked(question: str) -> str | None:
    """The one country the question is about ("la police française", "Belgian officers"), or
    None when it names none or several."""
    named = [code for code, words in _COUNTRIES.items() if words.search(question)]
    return named[0] if len(named) == 1 else None


def expected_answer(question: str) -> str | None:
    """What kind of thing the question asks for: a person, a place, a count (an amount of
    money among them), a date or a reason."""
    if _WHY_OPENS.search(question):
        return "reason"  # "Pourquoi est-il impossible de savoir combien de fois…"
    if (
        _ASKS_COUNT.search(ASKS_DURATION.sub(" ", question))
        or checks_a_count(question)
        or ASKS_POPULATION.search(question)
        or (_ASKS_AMOUNT.search(question) and asks_money(question))
    ):
        return "count"
    if _ASKS_DATE.search(question) or checks_a_date(question):
        return "date"
    if _ASKS_WHY.search(question):
        return "reason"
    if asks_person(question) or _ASKS_BODY.search(question) or _ASKS_THING_NAME.search(question):
        return "name"
    if _ASKS_WHERE.search(question) or asks_departments(question):
        return "name"
    return None


# "Entre 101 et 500 fois": one count given as a range, not two counts.
_COUNT_RANGE = re.compile(
    r"\b(?:entre|between|tussen)\s+\d+\s+(?:et|and|en)\s+(\d+)", re.IGNORECASE
)


def _counts_apart(sentence: str, question: str) -> int:
    """How many counts the sentence gives that the question does not, a range counting once."""
    asked = _question_counts(question)
    upper_bounds = {int(m.group(1)) for m in _COUNT_RANGE.finditer(sentence)}
    return len({c.value for c in counts_with_nouns(sentence)} - asked - upper_bounds)


@lru_cache(maxsize=512)  # asked of the same question for every candidate sentence
def _question_counts(question: str) -> frozenset[int]:
    return frozenset(count_values(question))


def gives_answer_type(
    kind: str | None,
    sentence: str,
    question: str,
    units: UnitMatcher | None = None,
    language: str = "fr",
    people: People = EVERY_PAIR,
) -> float:
    """How well the sentence holds a thing of the asked kind that the question does not hold
    (0 to 1). A count must count what is asked ("combien de fois" wants uses or times, not
    countries) and an amount asked must be money; a date precise to the month answers "when"
    better than a bare year."""
    if kind == "count":
        if asks_money(question):
            return float(has_money(sentence))
        asked = _question_counts(question)
        counts = [c for c in counts_with_nouns(sentence) if c.value not in asked]
        if not counts:
            return 0.0
        unit = asked_unit(question)
        if unit is None:
            return 0.5  # a count, but of what the question does not say
        matcher = units or _STEM_ONLY
        return matcher.strength(unit, language, (c.noun for c in counts if c.noun))
    if kind == "date":
        if checks_a_date(question):
            return 1.0 if _month_dates(sentence) else 0.5 if _dates(sentence) else 0.0
        if _ASKS_UNTIL.search(question):
            if _ENDING.search(sentence):
                return 1.0
            return 0.5 if _dates(sentence) - _dates(question) else 0.0
        if _ASKS_SINCE.search(question):
            if _DURATION.search(sentence) or _STARTING.search(sentence):
                return 1.0
            return 0.5 if _dates(sentence) - _dates(question) else 0.0
        if _month_dates(sentence) - _month_dates(question):
            return 1.0
        if asks_day(question) and days_in(sentence) - days_in(question):
            return 1.0
        return 0.5 if _dates(sentence) - _dates(question) else 0.0
    if kind == "reason":
        return float(bool(_GIVES_REASON.search(sentence)))
    if kind == "name":
        if asks_departments(question):
            return float(bool(departments_named(sentence) - departments_named(question)))
        asked = fold(question)
        if asks_person(question):
            wanted = NAMES_FOR_A_LIST if _ASKS_SEVERAL.search(question) else 1
            return min(1.0, people_named(sentence, question, people) / wanted)
        if _ASKS_BODY.search(question):
            if any(fold(acronym) not in asked for acronym in _acronyms(sentence)):
                return 1.0  # bodies go by their initials: "le COC", "la Cnil", "DJSOC"
            return 0.5 * _names_what_is_not_asked(sentence, asked, people)
        return float(_names_what_is_not_asked(sentence, asked, people))
    return 0.0


# Initials ("COC", "DJSOC", "PTB/PVDA") or a short name in brackets after a long one ("la
# Commission nationale de l'informatique et des libertés (Cnil)").
_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b|(?<=\()[A-Z][a-z]{2,5}(?=\))")
_CAPITALISED_BEFORE = re.compile(r"[A-Z][a-z]+\s$")


def _acronyms(sentence: str) -> list[str]:
    """The sentence's initials, but not those ending a name ("Clearview AI")."""
    return [
        m.group(0)
        for m in _ACRONYM.finditer(sentence)
        if not _CAPITALISED_BEFORE.search(sentence[max(0, m.start() - 30) : m.start()])
    ]


_STEM_ONLY = UnitMatcher(None, 0.0)


# "Où… et combien…?", "When… and how many…?": a question asking two things, split before the
# second question word (Dutch "en", French "et", English "and").
_WH = (
    r"(?:quel\w*|lequel|laquelle|combien|quand|où|comment|pourquoi|qui|que|quoi|how|what|when"
    r"|where|which|who|whom|whose|why|hoeveel|wanneer|waar\w*|welke?|wie|hoe|waarom|wat)\b"
)
# "Qu'a répondu la police… en 2021 ?", "Combien de fois… en 2022 ?": asks something else.
_OPENS_WITH_QUESTION_WORD = re.compile(rf"^\W*(?:qu['’]|{_WH})", re.IGNORECASE)
# A yes/no second part counts too: "…, et pense-t-il…", "…, and does he…", "…, en denkt hij…";
# so does a second question after a question mark ("…? Si oui, combien…").
_YES_NO_FR = r"(?:est-ce\s+qu|\w+-t-(?:il|elle|ils|elles|on)\b|\w+-(?:il|elle|ils|elles|on)\b)"
_YES_NO_EN = r"(?:does|do|did|is|are|was|were|has|have|had|can|could|will|would|should)\s+\w+"
_YES_NO_NL = (
    r"(?:denkt|vindt|gelooft|is|was|zijn|waren|heeft|hebben|had|kan|kon|wordt|werd|zal|mag|moet)"
    r"\s+(?:hij|zij|ze|het|de|die|dat|er|men)\b"
)
_QUESTION_MARK_BREAK = r"|\s*\?\s+(?=\S)"
_PART_BREAK = {
    "fr": re.compile(
        rf",?\s+et\s+(?=(?:(?:à|a|dans|de|par|pour|en|sur|depuis)\s+|jusqu['’]\s*à\s+)?{_WH}"
        rf"|{_YES_NO_FR}){_QUESTION_MARK_BREAK}",
        re.I,
    ),
    "en": re.compile(
        rf",?\s+and\s+(?=(?:(?:in|on|at|by|for|from|to|of|until|till|since|up to)\s+)?{_WH}"
        rf"|{_YES_NO_EN}){_QUESTION_MARK_BREAK}",
        re.I,
    ),
    "nl": re.compile(
        rf",?\s+en\s+(?=(?:(?:in|op|door|voor|van|bij|met|tot|sinds|vanaf)\s+)?{_WH}"
        rf"|{_YES_NO_NL}){_QUESTION_MARK_BREAK}",
        re.I,
    ),
}
PART_SENTENCES_MAX = 3
PART_MARGIN = 0.03


# A sentence break before a capital ("…à La Haye. Combien de fois…"), not after "M."
_SENTENCE_BREAK = re.compile(r"(?<=[.!:])(?<!\b\w\.)(?<!\bMme\.)\s+(?=[A-ZÀ-Ý«\"“])")


def final_question(question: str) -> str:
    """What a question asks after telling its context ("Quatre députés ont écrit au directeur
    départemental. Comment s'appelle-t-il ?"): its last sentence when that one asks; else all."""
    sentences = _SENTENCE_BREAK.split(question.strip())
    if len(sentences) > 1 and sentences[-1].rstrip().endswith("?"):
        return sentences[-1]
    return question


def question_parts(question: str, language: str) -> list[str]:
    """The questions a question asks: one, or each part of "où… et combien…?"."""
    splitter = _PART_BREAK.get(language)
    if splitter is None:
        return []
    parts = [p.strip(" ,?") for p in splitter.split(question)]
    if len(parts) < 2 or any(len(p.split()) < 3 for p in parts):
        return []  # "Où et dans quelles circonstances…" asks one thing
    return parts


ABSTAIN_MESSAGES: dict[AbstainReason, str] = {
    "weak_evidence": "abstain",
    "not_in_sources": "abstain",
    "figure_not_given": "abstain_figure",
    "amount_not_given": "abstain_amount",
    "day_not_given": "abstain_day",
    "name_not_given": "abstain_name",
    "outcome_not_given": "abstain_outcome",
}


class SentenceScorer:
    """Scores sentences for a question: embedding similarity, idf-weighted term coverage
    (French stemming, numbers as digits), and the fused score of the chunk around them."""

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index
        # Each sentence's terms, stored with the build (computed here for a build without
        # them): the idf below and every query's scoring use them.
        self.sentence_terms = {
            node_id: set(info.terms.split())
            if info.terms is not None
            else self.terms(index.sentence_text(info))
            for node_id, info in index.sentences.items()
        }
        df: Counter[str] = Counter()
        for terms in self.sentence_terms.values():
            df.update(terms)
        total = max(len(index.sentences), 1)
        self.idf = {t: math.log(1 + total / n) for t, n in df.items()}
        self.unknown_idf = math.log(1 + total)

    @staticmethod
    def terms(text: str) -> set[str]:
        return stemmed_terms(text)

    def coverage(self, query_terms: set[str], sentence_terms: set[str]) -> float:
        if not query_terms:
            return 0.0
        # fsum: exact, so the same whatever order the sets iterate in (PYTHONHASHSEED)
        total = math.fsum(self.idf.get(t, self.unknown_idf) for t in query_terms)
        return math.fsum(self.idf.get(t, 0.0) for t in query_terms & sentence_terms) / total

    def rarest_match(self, query_terms: set[str], sentence_terms: set[str]) -> float:
        """The idf of the rarest question term the sentence holds, over the idf of a term
        no sentence holds: 1 when they share a word found in one sentence only."""
        return (
            max((self.idf[t] for t in query_terms & sentence_terms if t in self.idf), default=0.0)
            / self.unknown_idf
        )

    def translated_coverage(
        self, translations: dict[str, frozenset[str]], sentence_terms: set[str]
    ) -> float:
        """Coverage of the question's words where a word is also met by its translations'
        stems (rag/translation.py); each word weighted by its own stem's idf."""
        weights = {word: self.idf.get(stem(fold(word)), self.unknown_idf) for word in translations}
        total = math.fsum(weights.values())
        if not total:
            return 0.0
        met = math.fsum(
            weights[word] for word, stems in translations.items() if stems & sentence_terms
        )
        return met / total


def _dates(text: str) -> set[str]:
    return {fold(m.group(0)) for m in _DATE.finditer(text)}


_MONTH_DATE = re.compile(
    rf"{NUMERIC_DATE}|\b(?:{MONTHS})\s+(?:\d{{1,2}},?\s+)?(?:19|20)\d\d\b", re.IGNORECASE
)


def _month_dates(text: str) -> set[str]:
    """Dates precise to the month ("octobre 2019"): a bare year is too coarse to contradict."""
    return {fold(m.group(0)) for m in _MONTH_DATE.finditer(text)}


class PassageSynthesizer(BaseSynthesizer):
    """A synthesizer over nodes with offsets, not bare text chunks: the LlamaIndex hooks that
    such a synthesizer does not use, written once."""

    def __init__(self) -> None:
        super().__init__(llm=MockLLM())

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts: dict[str, Any]) -> None:
        return None

    def get_response(self, query_str: str, text_chunks: Any, **kwargs: Any) -> str:
        raise NotImplementedError(
            f"{type(self).__name__} quotes nodes with offsets: call synthesize(query, nodes)."
        )

    async def aget_response(self, query_str: str, text_chunks: Any, **kwargs: Any) -> str:
        return self.get_response(query_str, text_chunks)

    @staticmethod
    def asked(query: QueryType, kwargs: dict[str, Any]) -> tuple[QueryBundle, str, Language]:
        """The query as retrieved, and the question as asked with its language: a follow-up
        is retrieved as a standalone question but answered as it was asked."""
        bundle = query if isinstance(query, QueryBundle) else QueryBundle(str(query))
        question = kwargs.get("answer_question") or bundle.query_str
        return bundle, question, detect_language(question)

    async def asynthesize(
        self,
        query: QueryType,
        nodes: list[NodeWithScore],
        additional_source_nodes: Any = None,
        **kwargs: Any,
    ) -> Response:
        return self.synthesize(query, nodes, **kwargs)


class ExtractiveSynthesizer(PassageSynthesizer):
    """Quotes one to three sentences with [n] markers; gives both sides when sources disagree
    on the figure or date asked; abstains, with the nearest passages, when evidence is weak."""

    def __init__(
        self,
        index: LoadedIndex,
        settings: RagSettings,
        embed_model: BaseEmbedding | None = None,
    ) -> None:
        super().__init__()
        self.index = index
        self.settings = settings
        self.embed = embed_model.get_query_embedding if embed_model is not None else None
        # A question's part is embedded once, whether for its confidence or for its answer.
        self._part_vector = lru_cache(maxsize=256)(self._embed_part)
        self.units = UnitMatcher(self.embed, settings.unit_match_threshold)
        self.scorer = SentenceScorer(index)
        self.people = People.of_texts(doc.text for doc in index.documents.values())
        self.hubness = (
            sentence_hubness(
                index,
                query_embedder(embed_model),
                settings.hub_neighbours,
                settings.hub_max_sentences,
                cache=settings.data_dir
                / "hubness"
                / f"{index.manifest.build_id}-{settings.hub_neighbours}.json",
            )
            if embed_model is not None and settings.hub_penalty > 0
            else {}
        )
        self.translations = WordTranslations.of_index(
            index,
            query_embedder(embed_model) if embed_model is not None else None,
            cached_passages(
                embed_model, IndexLayout(settings.data_dir).cache_path, index.manifest.model_id
            )
            if embed_model is not None
            else None,
            settings.translation_max_words,
            cache=settings.data_dir / "translations" / f"{index.manifest.build_id}.npz",
        )
        self.weights = dict(SENTENCE_WEIGHTS)
        self.ranker = LearnedRanker.load() if settings.sentence_ranker == "learned" else None
        self.runner_up = (
            RunnerUpModel.load()
            if self.ranker is not None and settings.runner_up == "learned"
            else None
        )
        self._folded_documents = {d: fold(doc.text) for d, doc in index.documents.items()}
        self._vocabulary = frozenset(
            word for text in self._folded_documents.values() for word in _TOKEN.findall(text)
        )
        self._known_names: dict[str, bool] = {}
        self._positions = {
            s.node_id: (i, len(sentences))
            for sentences in index.sentences_by_doc.values()
            for i, s in enumerate(sentences)
        }

    def synthesize(
        self,
        query: QueryType,
        nodes: list[NodeWithScore],
        additional_source_nodes: Any = None,
        **kwargs: Any,
    ) -> Response:
        bundle, question, language = self.asked(query, kwargs)
        if bundle.embedding is None:
            raise ValueError("the query bundle needs its embedding (the service computes it)")
        return self.compose_for(bundle, question, language, self.rank(bundle, nodes, language))

    def compose_for(
        self, bundle: QueryBundle, question: str, language: Language, ranked: list[Candidate]
    ) -> Response:
        query_vector = np.asarray(bundle.embedding, dtype=np.float32)
        return self.compose(
            question, query_vector, language, ranked, retrieval_question=bundle.query_str
        )

    def abstain(
        self,
        language: Language,
        ranked: list[Candidate],
        confidence: float,
        reason: AbstainReason = "weak_evidence",
    ) -> Response:
        """The honest "the documents don't say" (or which figure, amount or day they don't
        give), with the nearest passages."""
        nearest = ranked[:2]
        markers = " ".join(f"[{i}]" for i in range(1, len(nearest) + 1))
        text = f"{message(ABSTAIN_MESSAGES[reason], language)} {message('nearest', language)}"
        response = self.response_for(
            f"{text} {markers}".strip(),
            nearest,
            abstained=True,
            confidence=confidence,
            conflict=False,
        )
        response.metadata = {**(response.metadata or {}), "abstain_reason": reason}
        return response

    def rank(
        self, bundle: QueryBundle, nodes: list[NodeWithScore], language: Language
    ) -> list[Candidate]:
        query_vector = np.asarray(bundle.embedding, dtype=np.float32)
        candidates: dict[str, Candidate] = {}
        for hit in nodes:
            node = hit.node
            doc_id = node.metadata.get("source_doc", "")
            for info in self.index.sentences_within(
                doc_id, node.start_char_idx or 0, node.end_char_idx or 0
            ):
                if info.boilerplate:
                    continue
                candidate = candidates.setdefault(
                    info.node_id, Candidate(info, self.index.sentence_text(info))
                )
                candidate.context = max(candidate.context, hit.score or 0.0)
        asked = final_question(bundle.query_str)
        kind = expected_answer(asked)
        # A "when" question looks further down the dense sentence search, for sentences that
        # date what is asked: the date is often in a sentence the question shares few words
        # with ("jusqu'au 10 février 2020" for "when did they stop").
        searched = max(
            self.settings.sentence_top_k, self.settings.dated_top_k if kind == "date" else 0
        )
        if searched:
            found = self.index.sentence_collection.query(
                query_embeddings=[query_vector.tolist()],
                n_results=min(searched, len(self.index.sentences)),
                include=[],
            )
            for rank, node_id in enumerate(found["ids"][0]):
                info = self.index.sentences.get(node_id)
                if not info or info.boilerplate or node_id in candidates:
                    continue
                text = self.index.sentence_text(info)
                if rank >= self.settings.sentence_top_k and (
                    gives_answer_type(
                        kind, text, bundle.query_str, self.units, language, self.people
                    )
                    < 1.0
                ):
                    continue  # further down, only a sentence that dates something
                candidates[node_id] = Candidate(info, text)
        in_play = {c.info.doc_id for c in candidates.values()}
        about = self._documents_about(bundle.query_str, in_play)
        if about is not None:
            candidates = {k: c for k, c in candidates.items() if c.info.doc_id in about}
        country = country_asked(bundle.query_str)
        if country is not None:
            # "la police française" is not answered from the Belgian documents; a document
            # the catalog gives no country stays in.
            same = {
                k: c for k, c in candidates.items() if self._of_country(c, country, named=False)
            }
            candidates = same or candidates
        neighbours = {node_id: self._neighbour_ids(c.info) for node_id, c in candidates.items()}
        vectors = self.index.sentence_vectors(
            sorted(set(candidates) | {n for ids in neighbours.values() for n in ids})
        )
        query_terms = self.scorer.terms(bundle.query_str)
        # A person asked by name or role ("the DJSOC officer who searched with Clearview") is
        # named in a document about all the question names, not in one about some of them.
        whose = (
            self._documents_about(bundle.query_str, in_play, every=True)
            if asks_named_person(bundle.query_str)
            else None
        )
        w = self.weights
        lexical_weight = w["lexical_fr"] if language == "fr" else w["lexical_other"]
        for node_id, candidate in candidates.items():
            # A hub sentence, close to most questions, is pushed back (rag/hubness.py).
            candidate.cosine = float(vectors[node_id] @ query_vector) - (
                self.settings.hub_penalty * self.hubness.get(node_id, 0.0)
            )
            candidate.terms = self.scorer.sentence_terms[node_id]
            candidate.lexical = self.scorer.coverage(query_terms, candidate.terms)
            candidate.answer_type = (
                gives_answer_type(kind, candidate.text, asked, self.units, language, self.people)
                if whose is None or candidate.info.doc_id in whose
                else 0.0
            )
            candidate.novelty = (
                len(candidate.terms - query_terms) / len(candidate.terms)
                if candidate.terms
                else 0.0
            )
            candidate.score = (
                candidate.cosine
                + lexical_weight * candidate.lexical
                + w["context"] * candidate.context
                + w["answer_type"] * candidate.answer_type
                - w["restates"] * max(0.0, 0.5 - candidate.novelty)
                - (w["question_penalty"] if candidate.info.is_question else 0.0)
            )
            candidate.weighted_score = candidate.score
        self._learned_scores(
            bundle.query_str,
            query_terms,
            language,
            kind,
            candidates,
            neighbours,
            vectors,
            query_vector,
        )
        return sorted(candidates.values(), key=lambda c: (-c.score, c.info.node_id))

    def _of_country(self, candidate: Candidate, country: str, named: bool = True) -> bool:
        """The candidate comes from a document of `country` (or of none the catalog gives), or,
        with `named`, names that country itself."""
        if self.index.documents[candidate.info.doc_id].country in (None, country):
            return True
        return named and _COUNTRIES[country].search(candidate.text) is not None

    def _neighbour_ids(self, info: SentenceInfo) -> list[str]:
        return [s.node_id for s in self.neighbourhood(info, 1) if s.node_id != info.node_id]

    def neighbourhood(self, info: SentenceInfo, reach: int) -> list[SentenceInfo]:
        """The sentence with up to `reach` sentences either side in its document, in order."""
        position, count = self._positions[info.node_id]
        siblings = self.index.sentences_by_doc[info.doc_id]
        return siblings[max(0, position - reach) : min(count, position + reach + 1)]

    def position(self, info: SentenceInfo) -> int:
        """The sentence's place in its document."""
        return self._positions[info.node_id][0]

    def _learned_scores(
        self,
        question: str,
        query_terms: set[str],
        language: Language,
        kind: str | None,
        candidates: dict[str, Candidate],
        neighbours: dict[str, list[str]],
        vectors: dict[str, np.ndarray],
        query_vector: np.ndarray,
    ) -> None:
        """Each candidate's ranker features; with a learned ranker, its score replaces the
        hand-weighted one."""
        if not candidates:
            return
        profile = QuestionProfile.of(question, language == "fr", kind)
        translations = self.translations.of_question(question)
        best = (
            max(c.cosine for c in candidates.values()),
            max(c.lexical for c in candidates.values()),
            max(c.context for c in candidates.values()),
        )
        for node_id, candidate in candidates.items():
            position, count = self._positions[node_id]
            signals = Signals(
                cosine=candidate.cosine,
                lexical=candidate.lexical,
                context=candidate.context,
                answer_type=candidate.answer_type,
                novelty=candidate.novelty,
                person=names_a_person(candidate.text, question, self.people),
                negation=has_negation(candidate.text),
                is_question=candidate.info.is_question,
                section=candidate.info.section,
                neighbour_cosine=max(
                    (float(vectors[n] @ query_vector) for n in neighbours[node_id]), default=0.0
                ),
                position=position,
                sentences_in_document=count,
                rarest_match=self.scorer.rarest_match(query_terms, candidate.terms),
                translated_coverage=self.scorer.translated_coverage(translations, candidate.terms),
            )
            candidate.features = features(profile, signals, best)
            if self.ranker is not None:
                candidate.score = self.ranker.score(candidate.features)

    def _documents_about(
        self, question: str, among: set[str], every: bool = False
    ) -> set[str] | None:
        """Of the documents `among`, those that mention a name the question asks about
        (Briefcam, Clearview, a person...), or `every` such name, when the corpus knows that
        name at all; None means no constraint."""
        names = {fold(m.group(0)) for m in _NAME.finditer(question)}
        known = [name for name in names if self._corpus_knows(name)]
        if not known:
            return None
        mentions = all if every else any
        return {d for d in among if mentions(name in self._folded_documents[d] for name in known)}

    def _corpus_knows(self, name: str) -> bool:
        """Whether any document mentions `name`: a word the corpus lacks settles it at once,
        else one scan per name, remembered."""
        if not all(word in self._vocabulary for word in _TOKEN.findall(name)):
            return False
        if name not in self._known_names:
            if len(self._known_names) > 4096:
                self._known_names.clear()  # questions may bring endless names
            self._known_names[name] = any(name in t for t in self._folded_documents.values())
        return self._known_names[name]

    def confidence(self, candidates: list[Candidate], language: Language) -> float:
        """How well the leading sentences match the question: similarity and term coverage
        only, not the bonuses that order candidates (a year matching "2022" says nothing).
        The leading five by the hand-weighted score, which the abstain thresholds were
        calibrated with, whichever ranker orders the answer."""
        weight = self.weights["lexical_fr" if language == "fr" else "lexical_other"]
        leading = sorted(candidates, key=lambda c: (-c.weighted_score, c.info.node_id))[:5]
        return max((c.cosine + weight * c.lexical for c in leading), default=0.0)

    def _embed_part(self, part: str) -> np.ndarray:
        assert self.embed is not None
        return np.asarray(self.embed(part), dtype=np.float32)

    def _confidence_of_a_part(
        self, question: str, language: Language, ranked: list[Candidate]
    ) -> float:
        """A question asking two things is close to no single sentence; each part may be
        close to one. The best part's confidence over the candidates, or 0."""
        parts = question_parts(question, language)
        if self.embed is None or not parts:
            return 0.0
        weight = self.weights["lexical_fr" if language == "fr" else "lexical_other"]
        vectors = self.index.sentence_vectors([c.info.node_id for c in ranked])
        best = 0.0
        for part in parts:
            vector = self._part_vector(part)
            terms = self.scorer.terms(part)
            best = max(
                best,
                max(
                    float(vectors[c.info.node_id] @ vector)
                    + weight * self.scorer.coverage(terms, c.terms)
                    for c in ranked
                ),
            )
        return best

    def compose(
        self,
        question: str,
        query_vector: np.ndarray,
        language: Language,
        ranked: list[Candidate],
        retrieval_question: str | None = None,
    ) -> Response:
        confidence = self.confidence(ranked, language)
        threshold = (
            self.settings.abstain_threshold
            if language == "fr"
            else self.settings.abstain_threshold_other
        )
        if ranked and confidence < threshold:
            confidence = max(confidence, self._confidence_of_a_part(question, language, ranked))
        if not ranked or confidence < threshold:
            return self.abstain(language, ranked, confidence)
        asked = final_question(retrieval_question or question)
        missing = self.settings.answer_type_gate and self._lacks_what_is_asked(
            asked, language, ranked
        )
        if missing:
            return self.abstain(language, ranked, confidence, missing)

        ranked = self._answer_type_first(asked, ranked)
        ranked = _attributed_first(question, ranked, self.weights["answer_type_margin"])
        chosen = [ranked[0]]
        conflict = False
        conflicting = self._conflicting(question, language, query_vector, ranked)
        if conflicting is not None:
            chosen.append(conflicting)
            conflict = True
        else:
            neighbour = self._neighbour_with_answer(question, language, ranked[0], ranked)
            if neighbour is not None:
                chosen.append(neighbour)
        if not conflict:
            chosen += self._close_runners_up(asked, language, ranked, chosen)
        # Each part of a two-part question is answered, beside a disagreement too.
        parts = question_parts(asked, language)
        counts_asked = sum(expected_answer(part) == "count" for part in parts)
        for part in parts:
            extra = self._answer_to_part(part, language, ranked, chosen, counts_asked)
            if extra is not None:
                chosen.append(extra)
        if not conflict:
            chosen.sort(key=lambda c: (c.info.doc_id, c.info.start))
        if not conflict:
            chosen = self._with_qualifications(chosen)
        chosen = self._complete_quotations(chosen)
        response = self.response_for(
            self._text(language, chosen, conflict),
            chosen,
            abstained=False,
            confidence=confidence,
            conflict=conflict,
        )
        response.metadata = {**(response.metadata or {}), "related": self._related(ranked, chosen)}
        return response

    def _close_runners_up(
        self, asked: str, language: Language, ranked: list[Candidate], chosen: list[Candidate]
    ) -> list[Candidate]:
        """Runners-up close to the best sentence, from its document, added while the answer
        has room: the ranker's scores seldom tell which of two close sentences answers."""
        if self.runner_up is not None:
            return self._learned_runner_up(asked, language, ranked, chosen)
        budget = self.settings.max_answer_chars
        w = self.weights
        added: list[Candidate] = []
        for candidate in ranked[1:]:
            if len(chosen) + len(added) >= self.settings.max_answer_sentences:
                break
            if candidate.score < ranked[0].score - w["second_margin"]:
                break
            if not self.may_run_up(ranked[0], candidate, chosen + added):
                continue  # another document's runner-up is seldom about the same thing
            if ranked[0].answer_type >= 1 and candidate.answer_type == 0:
                continue  # the best gives what is asked; this one gives nothing of the kind
            # A runner-up all but tied with the best may stretch the budget by half: the
            # ranker cannot tell which of the two answers.
            near_tie = (
                len(chosen) + len(added) == 1 and candidate.score >= ranked[0].score - w["near_tie"]
            )
            length = sum(len(c.text) for c in chosen + added) + len(candidate.text)
            if length > (budget * w["near_tie_stretch"] if near_tie else budget):
                continue
            if any(_overlap(candidate.terms, c.terms) > 0.5 for c in chosen + added):
                continue
            added.append(candidate)
        return added

    def _learned_runner_up(
        self, asked: str, language: Language, ranked: list[Candidate], chosen: list[Candidate]
    ) -> list[Candidate]:
        """The runner-up the model finds likeliest to hold a key fact the best sentence
        lacks, if likely enough and within the answer's room (rag/runner_up.json)."""
        model = self.runner_up
        assert model is not None
        if len(chosen) >= self.settings.max_answer_sentences:
            return []
        room = min(model.max_chars, 2 * self.settings.max_answer_chars) - sum(
            len(c.text) for c in chosen
        )
        shape = question_shape(asked, language)
        likeliest: tuple[float, Candidate] | None = None
        for rank, candidate in enumerate(ranked[1 : 1 + model.candidates], start=1):
            if not self.may_run_up(ranked[0], candidate, chosen) or len(candidate.text) > room:
                continue
            vector = runner_up_features(
                ranked[0], candidate, rank, self._sentences_apart(ranked[0], candidate), shape
            )
            probability = model.probability(vector)
            if probability >= model.threshold and (likeliest is None or probability > likeliest[0]):
                likeliest = (probability, candidate)
        return [] if likeliest is None else [likeliest[1]]

    @staticmethod
    def may_run_up(best: Candidate, candidate: Candidate, chosen: list[Candidate]) -> bool:
        """A runner-up that may join the best sentence: not quoted yet, and from the best
        sentence's document (for the model too: out of fold, allowing other documents' gained
        fewer answers than it cost in citation precision)."""
        return candidate not in chosen and candidate.info.doc_id == best.info.doc_id

    def _sentences_apart(self, best: Candidate, candidate: Candidate) -> int:
        return abs(self.position(best.info) - self.position(candidate.info))

    def _related(self, ranked: list[Candidate], chosen: list[Candidate]) -> list[NodeWithScore]:
        """The next-ranked sentences that the answer does not quote: its "see also"."""
        related: list[Candidate] = []
        for candidate in ranked:
            if len(related) >= self.settings.related_passages:
                break
            if any(c is candidate or _holds(c, candidate) for c in chosen):
                continue
            related.append(candidate)
        return _as_nodes(related)

    def _with_qualifications(self, chosen: list[Candidate]) -> list[Candidate]:
        """A chosen sentence followed by one that qualifies it ("Cependant, …", "However, …")
        is quoted with it: the answer keeps the nuance its source gives."""
        taken = {c.info.node_id for c in chosen}
        result: list[Candidate] = []
        for candidate in chosen:
            result.append(candidate)
            position, count = self._positions[candidate.info.node_id]
            if position + 1 >= count:
                continue
            following = self.index.sentences_by_doc[candidate.info.doc_id][position + 1]
            text = self.index.sentence_text(following)
            if following.boilerplate or following.node_id in taken or not _QUALIFIES.search(text):
                continue
            taken.add(following.node_id)
            result.append(
                Candidate(
                    following,
                    text,
                    score=candidate.score,
                    terms=self.scorer.sentence_terms[following.node_id],
                )
            )
        return result

    def _complete_quotations(self, chosen: list[Candidate]) -> list[Candidate]:
        """A chosen sentence that opens a quotation it does not close is quoted on to the
        sentence that closes it, and one that closes a quotation it does not open is quoted from
        the sentence that opens it (a quotation cut mid-way misquotes), as one citation; chosen
        sentences a citation now holds are dropped. Left as it is when no mark is found near."""
        completed = [self._through_quotation_end(self._from_quotation_start(c)) for c in chosen]
        kept: list[Candidate] = []
        for i, candidate in enumerate(completed):
            if any(
                _holds(other, candidate) and (not _holds(candidate, other) or j < i)
                for j, other in enumerate(completed)
                if j != i
            ):
                continue  # inside another completed quotation (or the same span, quoted earlier)
            kept.append(candidate)
        return kept

    def _from_quotation_start(self, candidate: Candidate) -> Candidate:
        if not closes_unopened_quote(candidate.text):
            return candidate
        position, _ = self._positions[candidate.info.node_id]
        siblings = self.index.sentences_by_doc[candidate.info.doc_id]
        text = self.index.documents[candidate.info.doc_id].text
        for j in range(position - 1, max(position - 1 - QUOTE_CONTINUATION_MAX, -1), -1):
            preceding = siblings[j]
            if preceding.boilerplate or candidate.info.start - preceding.start > (
                QUOTE_CONTINUATION_CHARS
            ):
                break
            if leaves_quote_open(text[preceding.start : preceding.end]):
                info = replace(candidate.info, start=preceding.start)
                return replace(candidate, info=info, text=text[info.start : info.end])
        return candidate

    def _through_quotation_end(self, candidate: Candidate) -> Candidate:
        if not leaves_quote_open(candidate.text):
            return candidate
        position, count = self._positions[candidate.info.node_id]
        siblings = self.index.sentences_by_doc[candidate.info.doc_id]
        text = self.index.documents[candidate.info.doc_id].text
        for j in range(position + 1, min(position + 1 + QUOTE_CONTINUATION_MAX, count)):
            following = siblings[j]
            if following.boilerplate or following.end - candidate.info.end > (
                QUOTE_CONTINUATION_CHARS
            ):
                break
            if _QUOTE_MARK.search(text[following.start : following.end]):
                info = replace(candidate.info, end=following.end)
                return replace(candidate, info=info, text=text[info.start : info.end])
        return candidate

    def _answer_to_part(
        self,
        part: str,
        language: Language,
        ranked: list[Candidate],
        chosen: list[Candidate],
        counts_asked: int = 1,
    ) -> Candidate | None:
        """For one part of a question that asks two things ("où… et combien…"): the sentence
        that best answers that part alone, when none of those chosen answers it about as well.
        Scored like a question of its own: similarity, term coverage, the kind of thing asked,
        and a bonus for the documents already quoted."""
        if self.embed is None or len(chosen) >= PART_SENTENCES_MAX:
            return None
        kind = expected_answer(part)
        if (
            kind == "count"
            and sum(
                gives_answer_type(kind, c.text, part, self.units, language) >= COUNT_MATCHED
                for c in chosen
            )
            >= counts_asked
        ):
            # A count of what this part counts is already quoted; with two counts asked
            # ("combien selon BuzzFeed, et combien la ministre…") one quote answers one.
            return None
        # A date already quoted may be another event's ("en août 2021, BuzzFeed…" for "until
        # when was it used"): the scores below tell whether it answers this part.
        vector = self._part_vector(part)
        pool = {c.info.node_id: c for c in ranked}
        found = self.index.sentence_collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(self.settings.sentence_top_k or 8, len(self.index.sentences)),
            include=[],
        )
        allowed = {c.info.doc_id for c in ranked}
        for node_id in found["ids"][0]:
            info = self.index.sentences.get(node_id)
            if info and not info.boilerplate and info.doc_id in allowed and node_id not in pool:
                pool[node_id] = Candidate(
                    info,
                    self.index.sentence_text(info),
                    terms=self.scorer.sentence_terms[node_id],
                )
        vectors = self.index.sentence_vectors(list(pool))
        terms = self.scorer.terms(part)
        lexical = self.weights["lexical_fr" if language == "fr" else "lexical_other"]

        chosen_docs = {c.info.doc_id for c in chosen}  # both parts are usually told together
        gives = {
            node_id: gives_answer_type(
                kind, candidate.text, part, self.units, language, self.people
            )
            for node_id, candidate in pool.items()
        }
        scores = {
            node_id: float(vectors[node_id] @ vector)
            + lexical * self.scorer.coverage(terms, candidate.terms)
            + self.weights["answer_type"] * gives[node_id]
            + self.weights["part_same_document"] * (candidate.info.doc_id in chosen_docs)
            for node_id, candidate in pool.items()
        }
        # A part asking a figure or a date is answered only by a sentence giving one (a name
        # may be a role's, "au directeur départemental", which the check does not see).
        eligible = [i for i in pool if gives[i] > 0] if kind in ("count", "date") else []
        if kind == "count" and counts_asked > sum(
            gives_answer_type(kind, c.text, part, self.units, language) > 0 for c in chosen
        ):
            # Two counts asked ("combien de fois…, et quel chiffre BuzzFeed…") and one quoted:
            # this part's count is in another sentence, though the quoted one may score best.
            quoted = {c.info.node_id for c in chosen}
            eligible = [i for i in eligible if i not in quoted]
        eligible = eligible or list(pool)
        best = max(eligible, key=lambda node_id: (scores[node_id], node_id))
        chosen_ids = {c.info.node_id for c in chosen}
        if best in chosen_ids:
            return None
        answered = max((scores[i] for i in chosen_ids if i in eligible), default=float("-inf"))
        if answered >= scores[best] - PART_MARGIN:
            return None  # a chosen sentence answers this part about as well
        return pool[best]

    def _lacks_what_is_asked(
        self, question: str, language: Language, ranked: list[Candidate]
    ) -> AbstainReason | None:
        """The question asks how many of something, an amount or a day, and no leading passage
        (nor the best one's neighbour) gives it; or asks when, someone by name or role, which
        countries or what reply, and what would be quoted dates, names or tells none: the
        documents are about the subject but do not say. Other questions are left to the
        confidence threshold."""
        kind = expected_answer(question)
        leading = ranked[: self.settings.answer_type_depth]
        reason: AbstainReason
        country = country_asked(question)
        if country is not None and not any(self._of_country(c, country) for c in ranked):
            # "La police française a-t-elle utilisé Clearview ?": only the Belgian documents
            # tell of Clearview, and none of their passages names France.
            return "not_in_sources"
        if (
            kind is None
            and _ASKS_REPLY.search(question)
            and (
                not (_TELLS_REPLY.search(ranked[0].text) or self._reply_follows(ranked[0]))
                # the reply told is another office's ("patron de la DTPJ" for the head of
                # public security), its speaker often named after the quotation
                or names_another_office(self._with_next(ranked[0].info), question, self.people)
            )
        ):
            # A reply asked follows its request: when neither tells one, none is told.
            return "weak_evidence"
        speaker = _speaker_asked(question)
        if (
            speaker
            and not any(_quotes_speaker(c.text, speaker) for c in leading)
            and not (_ASKS_REPLY.search(question) and self._reply_follows(ranked[0]))
        ):
            # "Qu'a déclaré La Quadrature du Net…": no leading passage gives its words.
            return "weak_evidence"
        for outcome in outcomes_asked(question):
            # "La Cnil a-t-elle infligé une amende…": no leading passage reports a fine; "quelle
            # sanction…": none reports one as settled.
            which = kind == "date" or asks_which_outcome(question, outcome)
            if not any(tells_outcome(c.text, outcome, which) for c in ranked[:OUTCOME_DEPTH]):
                return "outcome_not_given"
        # The passages an answer would quote, in the order it would quote them.
        answer_first = self._answer_type_first(question, ranked)
        if asks_countries(question):
            # "Outre la Belgique, quels pays…": the passages quoted must name other countries.
            asked = countries_named(question)
            if not any(countries_named(c.text) - asked for c in answer_first[:2]):
                return "name_not_given"
        if asks_departments(question):
            # "Quels sont les quatre autres départements…": the same, with French departments.
            asked = departments_named(question)
            if not any(departments_named(c.text) - asked for c in answer_first[:2]):
                return "name_not_given"
        if kind == "count" and _counts_a_span_for_one_year(question, answer_first[0].text):
            # "Combien de fois … en 2022 ?": "20 fois entre 2021 et 2023" does not say.
            return "figure_not_given"
        unit = asked_unit(question)
        if kind == "count" and (asks_money(question) or unit or _ASKS_BREAKDOWN.search(question)):
            places = counted_at(question, self._folded_documents.values())
            if any(self._gives_the_count(c, question, unit is not None, places) for c in leading):
                return None
            reason = "amount_not_given" if asks_money(question) else "figure_not_given"
        elif kind == "date" and asks_day(question):
            # "À quelle date précise…": the sentence quoted gives a day, not one further down.
            if has_day(answer_first[0].text):
                return None
            reason = "day_not_given"
        elif kind == "date":
            # "When…": the sentence quoted must date something ("Du 21 au 24 novembre" too);
            # dates elsewhere among the leading passages are other events'.
            quoted = answer_first[0]
            if _ASKS_UNTIL.search(question):
                # "Jusqu'à quand la loi autorise-t-elle…": an end ("jusqu'au 10 février
                # 2020") or a date to the month, not the year a law was passed.
                ends = _ENDING.search(quoted.text) or _month_dates(quoted.text) - _month_dates(
                    question
                )
                return None if ends else "day_not_given"
            given = gives_answer_type("date", quoted.text, question)
            if ASKS_DURATION.search(question):
                # "How long were the licences valid?": a date alone does not say how long; a
                # duration, a start ("depuis fin 2018") or a span ("du 14 au 25 octobre") does.
                return None if given >= 1 or _SPAN.search(quoted.text) else "weak_evidence"
            return None if has_day(quoted.text) or given > 0 else "day_not_given"
        elif (
            kind == "name"
            and (
                asks_named_person(question)
                or asked_role(question) is not None  # "comment s'appelle ce directeur"
                # "qui / who": not for a two-part question, whose other part may be answered
                or (_ASKS_WHO.search(question) and not question_parts(question, language))
            )
        ) or (kind in (None, "name") and _ASKS_COMPANY.search(question)):
            # The best sentence, and with a role asked the runner-up quoted beside it.
            quoted = answer_first[: 2 if asked_role(question) else 1]
            if any(_gives_name(c.text, question, self.people) for c in quoted):
                return None
            reason = "name_not_given"
        else:
            return None
        neighbour = self._neighbour_with_answer(question, language, ranked[0], ranked)
        if neighbour is None or not _gives(reason, neighbour, question, self.people):
            return reason
        return None

    def _gives_the_count(
        self, candidate: Candidate, question: str, unit_asked: bool, places: list[str]
    ) -> bool:
        """The candidate gives the count asked: of what is asked; of the people whose things
        are counted ("photos de Belges"); beside the source asked ("BuzzFeed a-t-il cités");
        and for a total broken down, two counts, of anything when the parts name no unit
        ("combien par la police et combien par la gendarmerie")."""
        of_the_unit = candidate.answer_type >= COUNT_MATCHED
        if _ASKS_BREAKDOWN.search(question):
            if _counts_apart(candidate.text, question) < 2 or (unit_asked and not of_the_unit):
                return False
        elif not of_the_unit:
            return False
        people, source = counted_people(question), counted_by(question)
        if people is not None and not people.search(candidate.text):
            return False
        window = fold(self._window(candidate.info))
        if not all(_has_word(window, place) for place in places):
            return False  # "combien de personnes identifiées à Montpellier": not elsewhere
        return source is None or _has_word(window, source)

    def _reply_follows(self, request: Candidate) -> bool:
        """The sentence after `request` tells a reply ("La société a indiqué qu'elle…")."""
        position, count = self._positions[request.info.node_id]
        if position + 1 >= count:
            return False
        following = self.index.sentences_by_doc[request.info.doc_id][position + 1]
        return bool(_REPLY_VERB.search(self.index.sentence_text(following)))

    def _answer_type_first(self, question: str, ranked: list[Candidate]) -> list[Candidate]:
        """A question asking for a name, a figure or a date is better answered by a close
        runner-up that holds one than by a best sentence that does not, and a full answer (a
        date to the month, a count of what is asked) beats a partial one (a bare year)."""
        kind = expected_answer(question)
        if kind is None:
            return ranked
        margin = self.weights["answer_type_margin"]
        if ranked[0].answer_type >= 1:
            ranked = _within_asked_years(question, kind, ranked, margin)
            ranked = _of_the_person_asked(question, kind, ranked, margin, self.people)
            return _in_asked_role(question, ranked, margin, self.people)
        if kind in ("date", "reason") and self.ranker is not None:
            # The learned ranker weighs a date or a stated cause against everything else;
            # putting a runner-up that gives one first lost more dates and reasons than it
            # won (docs/answer-rules.md).
            return ranked
        # A person asked by name or role: a runner-up naming someone from another document
        # than the best passage's is likely someone else (the head of the COC for "the name
        # of the DJSOC officer"), and the name gate then abstains.
        same_document = asks_named_person(question)
        # A date is an event's: a runner-up lacking a name of the question that the best
        # sentence holds ("dans le Val-D'Oise") dates another event.
        # Names after "après / after / na" set a reference point, not the event dated.
        names = _name_words(_AFTER_CLAUSE.sub("", question)) if kind == "date" else set()
        best_text = fold(ranked[0].text)
        held = {n for n in names if _has_word(best_text, n)}
        close = [
            (i, c)
            for i, c in enumerate(ranked[1:6], start=1)
            if c.score >= ranked[0].score - margin
            and (not same_document or c.info.doc_id == ranked[0].info.doc_id)
            # (or the sentence before it: "cet outil" is the Briefcam just named)
            and (not held or all(_has_word(fold(self._window(c.info)), n) for n in held))
        ]
        fullest = max((c.answer_type for _, c in close), default=0.0)
        if fullest <= ranked[0].answer_type:
            return ranked
        i = next(i for i, c in close if c.answer_type == fullest)
        return [ranked[i], *ranked[:i], *ranked[i + 1 :]]

    def _neighbour_with_answer(
        self, question: str, language: Language, best: Candidate, ranked: list[Candidate]
    ) -> Candidate | None:
        """When the best sentence matches the question but lacks the kind of thing asked (a
        name, a figure, a date, a reason) or gives only part of it (one name of the several
        asked), the sentence just before or after often holds it."""
        kind = expected_answer(question)
        reply = (
            kind is None
            and bool(_ASKS_REPLY.search(question))
            and not _TELLS_REPLY.search(best.text)
        )
        if (kind is None and not reply) or best.answer_type >= 1:
            return None
        siblings = self.index.sentences_by_doc[best.info.doc_id]
        position = self.position(best.info)
        by_id = {c.info.node_id: c for c in ranked}
        for offset in (1,) if reply else (1, -1):
            j = position + offset
            if not 0 <= j < len(siblings) or siblings[j].boilerplate:
                continue
            info = siblings[j]
            text = self.index.sentence_text(info)
            value = (
                1.0
                if reply
                else gives_answer_type(kind, text, question, self.units, language, self.people)
            )
            if value > best.answer_type:
                return by_id.get(info.node_id) or Candidate(
                    info,
                    text,
                    score=best.score - 0.01,
                    answer_type=value,
                    terms=self.scorer.sentence_terms[info.node_id],
                )
        return None

    def _conflicting(
        self, question: str, language: Language, query_vector: np.ndarray, ranked: list[Candidate]
    ) -> Candidate | None:
        """When the question asks for a figure or a date: a sentence of another document about
        the same thing (close to the best sentence, naming what it names) that gives another
        figure or date. Looked for among the candidates and the best sentence's neighbours."""
        best = ranked[0]
        kind = expected_answer(question)
        extract = (
            count_values
            if _ASKS_COUNT.search(question) or checks_a_count(question)
            else (_month_dates if _ASKS_DATE.search(question) or checks_a_date(question) else None)
        )
        if extract is None:
            return None
        best_values = extract(best.text)
        if not best_values or (kind == "count" and best.answer_type < COUNT_MATCHED):
            return None  # only a count of what is asked can contradict another
        pool = {c.info.node_id: c for c in ranked[1:] if c.info.doc_id != best.info.doc_id}
        best_vector = self.index.sentence_vectors([best.info.node_id])[best.info.node_id]
        # The 16 nearest of other documents are among the 16 + |best document| nearest overall.
        # (A `where` filter excluding one document made Chroma scan every sentence.)
        own = min(len(self.index.sentences_by_doc.get(best.info.doc_id, [])), 200)
        near = self.index.sentence_collection.query(
            query_embeddings=[best_vector.tolist()],
            n_results=min(16 + own, len(self.index.sentences)),
            include=[],
        )
        others = [
            node_id
            for node_id in near["ids"][0]
            if node_id in self.index.sentences
            and self.index.sentences[node_id].doc_id != best.info.doc_id
        ][:16]
        for node_id in others:
            info = self.index.sentences[node_id]
            if not info.boilerplate:
                pool.setdefault(
                    node_id, Candidate(info, self.index.sentence_text(info), score=best.score - 0.1)
                )
        vectors = self.index.sentence_vectors(list(pool))
        names = self._names_to_match(question, best)
        subjects = self._names_of_document(question, best)
        # A count over years the question does not set is only contradicted over those years.
        period = _year_ranges(best.text) - _years(question) if kind == "count" else set()
        sides = []
        for node_id, candidate in pool.items():
            values = extract(candidate.text)
            if not values or values & best_values:
                continue
            if period and not period <= _years(candidate.text):
                continue
            if (
                kind == "count"
                and gives_answer_type(kind, candidate.text, question, self.units, language)
                < COUNT_MATCHED
            ):
                continue
            window = fold(self._window(candidate.info))
            if names and not any(_has_word(window, n) for n in names):
                continue
            document = self._folded_documents[candidate.info.doc_id]
            if not all(_has_word(document, n) for n in subjects):
                continue  # `names`, in the best sentence's window, are among `subjects`
            closeness = float(vectors[node_id] @ best_vector)
            relevance = float(vectors[node_id] @ query_vector)
            same_subject = (
                kind == "count"
                and bool(subjects)
                and any(_has_word(window, n) for n in subjects)
                and _years(candidate.text) <= _years(question)
            )
            if closeness >= 0.8 and (
                same_subject or self._share_a_distinctive_word(best, candidate)
            ):
                sides.append((relevance + closeness / 2, node_id, candidate))
        return max(sides)[2] if sides else None

    def _share_a_distinctive_word(self, best: Candidate, candidate: Candidate) -> bool:
        """Two sentences about the same thing share a word found in under 10% of sentences
        ("révélations", "fédérale", a day number); two that share only common words
        ("utilisé") are about different things, even when their embeddings are close."""
        rare = math.log(1 + 10)  # the idf of a word in 10% of sentences
        terms = self.scorer.sentence_terms
        shared = terms[best.info.node_id] & terms[candidate.info.node_id]
        return any(self.scorer.idf.get(term, 0.0) >= rare for term in shared)

    def _names_to_match(self, question: str, best: Candidate) -> set[str]:
        """The names of the question that the best sentence (or the one before it) carries,
        word by word ("in Montpellier Briefcam" is two names): the other side of a
        disagreement must carry one of them, and its document all of them (a count for
        Montpellier is not contradicted by a national one)."""
        window = fold(self._window(best.info))
        return {n for n in _name_words(question) if _has_word(window, n)}

    def _names_of_document(self, question: str, best: Candidate) -> set[str]:
        """The names of the question that the best sentence's document carries: the other
        side's document must carry them too (Clearview's uses do not contradict Briefcam's)."""
        document = self._folded_documents[best.info.doc_id]
        return {n for n in _name_words(question) if _has_word(document, n)}

    def _with_next(self, info: SentenceInfo) -> str:
        """A sentence with the one after it."""
        siblings = self.index.sentences_by_doc[info.doc_id]
        position = self.position(info)
        end = siblings[position + 1].end if position + 1 < len(siblings) else info.end
        return self.index.documents[info.doc_id].text[info.start : end]

    def _window(self, info: SentenceInfo) -> str:
        """A sentence with the one before it, which often names its subject."""
        siblings = self.index.sentences_by_doc[info.doc_id]
        position = self.position(info)
        start = siblings[position - 1].start if position > 0 else info.start
        return self.index.documents[info.doc_id].text[start : info.end]

    @staticmethod
    def _text(language: Language, chosen: list[Candidate], conflict: bool) -> str:
        quote = (lambda s: s) if language == "fr" else in_quotes
        parts = [f"{quote(c.text)} [{i}]" for i, c in enumerate(chosen, start=1)]
        if conflict and len(parts) > 1:
            # The two sides, then what answers another part of the question.
            body = (
                f"{message('conflict', language)} {parts[0]} "
                f"{message('conflict_other', language)} {' '.join(parts[1:2])}"
            )
            if len(parts) > 2:
                body = f"{body} {message('besides', language)} {' '.join(parts[2:])}"
        else:
            body = " ".join(parts)
        lead = message("quoted", language)
        return f"{lead} {body}".strip() if lead and not conflict else body

    def response_for(
        self,
        text: str,
        chosen: list[Candidate],
        *,
        abstained: bool,
        confidence: float,
        conflict: bool,
    ) -> Response:
        return Response(
            response=text,
            source_nodes=_as_nodes(chosen),
            metadata={"abstained": abstained, "confidence": confidence, "conflict": conflict},
        )


def _as_nodes(candidates: list[Candidate]) -> list[NodeWithScore]:
    """Sentences as LlamaIndex nodes with their document offsets and scores."""
    return [
        NodeWithScore(
            node=TextNode(
                id_=c.info.node_id,
                text=c.text,
                start_char_idx=c.info.start,
                end_char_idx=c.info.end,
                metadata={"source_doc": c.info.doc_id, "section": c.info.section},
            ),
            score=c.score,
        )
        for c in candidates
    ]


# "… après la réunion d'Europol ?", "… after the Europol meeting?": to the question's end.
_AFTER_CLAUSE = re.compile(r"\b(?:après|after|following|na(?:dat)?)\b[^?,;]*", re.IGNORECASE)


def _within_asked_years(
    question: str, kind: str, ranked: list[Candidate], margin: float
) -> list[Candidate]:
    """A count or date question that sets its own years ("between 2015 and 2023") is better
    answered by a close runner-up as full that holds them all than by a best sentence that
    does not (a count over 2021-2023 for one town)."""
    asked = _years(question) if kind in ("count", "date") else set()
    if not asked:
        return ranked
    # The years asked, all found, are strong evidence: a wider margin than for other signals.
    return _close_runner_up_first(ranked, 1.5 * margin, lambda text: asked <= _years(text))


def _in_asked_role(
    question: str, ranked: list[Candidate], margin: float, people: People
) -> list[Candidate]:
    """A question asking for a person by role ("which minister", "quel magistrat") is better
    answered by a close runner-up as full that names someone in that role than by a best
    sentence naming someone else (the head of the COC for "welke minister")."""
    role = asked_role(question)
    if role is None:
        return ranked
    return _close_runner_up_first(ranked, margin, lambda text: names_in_role(text, role, people))


def _of_the_person_asked(
    question: str, kind: str, ranked: list[Candidate], margin: float, people: People
) -> list[Candidate]:
    """A date asked of what someone did ("when did Hadrien Clouet tweet…") is the date of a
    sentence naming them: a close runner-up as full that names them beats a best that does
    not, which dates something else."""
    asked = set(people.named_in(question))
    if kind != "date" or not asked:
        return ranked
    return _close_runner_up_first(
        ranked, margin, lambda text: bool(asked & set(people.named_in(text)))
    )


def question_shape(asked: str, language: Language) -> tuple[float, ...]:
    """What the runner-up model reads of the question (RUNNER_UP_FEATURES): its parts,
    words and commas, whether it asks why, whether it is French."""
    return (
        float(len(question_parts(asked, language))),
        float(len(asked.split())),
        float(asked.count(",")),
        float(expected_answer(asked) == "reason"),
        float(language == "fr"),
    )


def runner_up_features(
    best: Candidate, candidate: Candidate, rank: int, apart: int, shape: tuple[float, ...]
) -> list[float]:
    """The runner-up model's features (RUNNER_UP_FEATURES) of `candidate` beside `best`."""
    return [
        candidate.score,
        best.score,
        best.score - candidate.score,
        float(rank),
        float(apart),
        candidate.answer_type,
        best.answer_type,
        _overlap(candidate.terms, best.terms),
        float(len(candidate.text)),
        float(len(best.text)),
        *shape,
        *candidate.features,
        *(c - b for c, b in zip(candidate.features, best.features, strict=True)),
    ]


def _attributed_first(question: str, ranked: list[Candidate], margin: float) -> list[Candidate]:
    """A question asking what a source says ("according to Disclose", "selon le COC") is better
    answered by a close runner-up as full that gives it as that source's ("Selon le media
    Disclose, Briefcam permet…") than by a best sentence that does not."""
    source = _according_to(question)
    if not source or not ranked:
        return ranked
    return _close_runner_up_first(ranked, margin, lambda text: attributes_to(text, source))


def _close_runner_up_first(
    ranked: list[Candidate], margin: float, fits: Callable[[str], bool]
) -> list[Candidate]:
    """When the best sentence does not fit what the question asks and a runner-up within
    `margin`, as full an answer, does: that runner-up first."""
    if fits(ranked[0].text):
        return ranked
    for i, candidate in enumerate(ranked[1:6], start=1):
        if candidate.score < ranked[0].score - margin:
            break
        if candidate.answer_type >= ranked[0].answer_type and fits(candidate.text):
            return [candidate, *ranked[:i], *ranked[i + 1 :]]
    return ranked


def _holds(outer: Candidate, inner: Candidate) -> bool:
    """`outer`'s span holds `inner`'s (same document)."""
    return (
        outer.info.doc_id == inner.info.doc_id
        and outer.info.start <= inner.info.start
        and inner.info.end <= outer.info.end
    )


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_YEAR_RANGE = re.compile(
    r"\b(?:entre|de|du|from|between|van|tussen)\s+((?:19|20)\d\d)\s+(?:et|à|au|to|and|tot|en)\s+"
    r"((?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def _year_ranges(text: str) -> set[str]:
    """The years that bound a period ("entre 2021 et 2023", "from 2015 to 2023")."""
    return {year for m in _YEAR_RANGE.finditer(text) for year in m.groups()}


def _counts_a_span_for_one_year(question: str, sentence: str) -> bool:
    """The question asks about one year; the sentence's only years bound a longer period that
    holds it, so its figure is the period's, not the year's."""
    asked = _years(question)
    if len(asked) != 1 or _year_ranges(question):
        return False
    (year,) = asked
    spans = [tuple(map(int, m.groups())) for m in _YEAR_RANGE.finditer(sentence)]
    inside = [span for span in spans if span[0] <= int(year) <= span[1] and span[0] < span[1]]
    alone = _years(_YEAR_RANGE.sub("", sentence))
    return bool(inside) and year not in alone


def _years(text: str) -> set[str]:
    return set(_YEAR.findall(text))


def _gives(reason: AbstainReason, candidate: Candidate, question: str, people: People) -> bool:
    """The candidate gives what the gate `reason` found missing."""
    if reason == "day_not_given":
        return has_day(candidate.text)
    if reason == "name_not_given":
        return _gives_name(candidate.text, question, people)
    return candidate.answer_type >= COUNT_MATCHED


def _gives_name(sentence: str, question: str, people: People) -> bool:
    """The sentence gives the name asked: for a role asked, someone who may hold it; a person
    for a person asked by name; for "qui / who", a person or a body or name the question does
    not hold ("Disclose", "le COC")."""
    role = asked_role(question)
    if role is not None:
        return names_someone_for_role(sentence, role, question, people)
    if people_named(sentence, question, people):
        return True
    return not asks_named_person(question) and _names_what_is_not_asked(
        sentence, fold(question), places=False
    )


_FIRST_WORD = re.compile(r"^\W*([^\W\d_][\w-]*)")


# Where a place is named: "à La Haye", "aux Pays-Bas", "in The Hague".
_AT_A_PLACE = re.compile(
    r"\b(?:à|au|aux|en|dans|vers|in|at|near|naar|te)\s+(?:(?:le|la|les|l['’]|the|de|het)\s*)?$",
    re.IGNORECASE,
)


def _names_what_is_not_asked(
    sentence: str, folded_question: str, people: People = EVERY_PAIR, places: bool = True
) -> bool:
    """The sentence holds a capitalised name that the (folded) question does not, also as
    its first word when the corpus only ever writes that word capitalised; with `places`
    false, not a place's name ("à La Haye" answers no "qui")."""
    for m in _NAME.finditer(sentence):
        if fold(m.group(0)) in folded_question:
            continue
        if places or not _AT_A_PLACE.search(sentence[max(0, m.start() - 12) : m.start()]):
            return True
    first = _FIRST_WORD.match(sentence)
    word = fold(first.group(1)) if first else ""
    return word in people.proper and word not in folded_question


_ACCORDING_TO = re.compile(
    r"\b(?:selon|d['’]après|according to|volgens|aldus)\s+((?:\S+\s+){0,3}\S+)", re.IGNORECASE
)


def _according_to(question: str) -> set[str]:
    """The name words of the source a question asks about ("According to Disclose, …" ->
    {"disclose"}, "selon le député LFI" -> {"lfi"}); empty when it names none."""
    found = _ACCORDING_TO.search(question)
    if found is None:
        return set()
    # A leading word, so that the name is not taken for a sentence's capitalised first word.
    return _name_words("… " + found.group(1).split(",")[0])


def _name_words(question: str) -> set[str]:
    """The words of the question's names, folded, of three letters or more."""
    words = {word for m in _NAME.finditer(question) for word in _TOKEN.findall(fold(m[0]))}
    return {word for word in words if len(word) > 2}


def _has_word(folded: str, word: str) -> bool:
    """The folded text holds `word` as a whole word."""
    return re.search(rf"\b{re.escape(word)}\b", folded) is not None


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


# "Qu'a déclaré X", "what did X say", "how did X react", "wat zei X": what someone said asked.
_ASKS_WHAT_SAID = re.compile(
    r"\bqu['’]\s*(?:a|ont)(?:-t-\w+)?\s+(?:dit|déclaré|répondu|pensé|estimé|affirmé|expliqué)"
    r"\s+(?P<fr>[^?,]+)"
    r"|\bcomment\s+(?P<fr2>[^?,]+?)\s+(?:a|ont)-t-\w+\s+(?:réagi|répondu)"
    r"|\bwhat\s+did\s+(?P<en>[^?,]+?)\s+(?:say|think|declare|state|reply|answer)\b"
    r"|\bhow\s+did\s+(?P<en2>[^?,]+?)\s+(?:react|respond|reply)\b"
    r"|\b(?:wat\s+(?:zei|zegt|verklaarde|vond|antwoordde)|hoe\s+reageerde)\s+(?P<nl>[^?,]+)",
    re.IGNORECASE,
)
_SAYING_AFTER_NAME = re.compile(
    r"^[^.!?«“\"]{0,40}?\b(?:dit|declare|repondu|confirme|explique|souligne|indique|affirme"
    r"|estime|precise|reagi|ecrit|assure|said|says|told|stated|zei|zegt|verklaarde)\b"
    r"|^\s*(?:\([^)]*\)\s*)?:",
    re.IGNORECASE,
)


_SPEAKER_ENDS = re.compile(
    r"\s(?:à|au|aux|sur|de|du|des|d['’]|quand|lorsque|après|about|when|to|on|of|over|after"
    r"|aan|over|toen|op|van|na|bij)\s",
    re.IGNORECASE,
)


def _speaker_asked(question: str) -> set[str]:
    """The name words of the one whose words a question asks ("Qu'a déclaré la ministre Annelies
    Verlinden sur…" -> {"annelies", "verlinden"}); empty when it asks none or names no one."""
    found = _ASKS_WHAT_SAID.search(question)
    if found is None:
        return set()
    who = next(g for g in found.groups() if g)
    # The speaker alone, not what is said to whom or of what ("la police fédérale à Data News",
    # "le patron de la police judiciaire de Toulouse").
    who = _SPEAKER_ENDS.split(who, maxsplit=1)[0]
    return _name_words("… " + who)


def _quotes_speaker(sentence: str, speaker: set[str]) -> bool:
    """The sentence gives words as the speaker's: after a verb of saying or "selon" ("explique
    Franck Schuermans"), or with one after the name ("Annelies Verlinden, a confirmé")."""
    folded = fold(sentence)
    for word in re.finditer(r"\w+", folded):
        if word.group(0) not in speaker:
            continue
        if attributes_to(sentence, {word.group(0)}) or _SAYING_AFTER_NAME.search(
            folded[word.end() :]
        ):
            return True
    return False
