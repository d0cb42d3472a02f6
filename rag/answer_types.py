"""What a "how many" question counts, and whether a sentence counts the same thing.

"Combien de caméras…?" is not answered by "10 militaires formés", however close the sentence
is to the question: the extractive answerer must then say that the documents don't say. The
counted noun is matched across languages ("bewakingscamera's" ~ "caméras") with the embedding
model itself, both words in a "number of …" template, scored against a fixed list of common
counted things: a match stands out from that list, an unrelated noun does not.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.terms import FUNCTION_WORDS, stem
from index.text import fold, number_spans

MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre"
    "|décembre|decembre|january|february|march|april|may|june|july|august|september|october"
    "|november|december|januari|februari|maart|mei|juni|juli|augustus|oktober"
)
_NOT_COUNTED = FUNCTION_WORDS | set(fold(MONTHS).split("|"))
# Words that qualify what is counted without saying what it is ("d'autres territoires").
_QUALIFIERS = (
    "autres", "other", "andere", "nouveaux", "nouvelles", "premiers", "premieres", "premières",
    "derniers", "dernieres", "dernières",
)  # fmt: skip
# Between a number and what it counts: "8 millions de personnes", "quatre autres départements".
_COUNTED_NOUN = re.compile(
    r"\s*(?:(?:millions?|milliards?|milliers?|miljoen|miljard|thousand|duizend)\s+)?"
    r"(?:(?:de|des|of|van)\s+|d['’]\s*)?"
    rf"(?:(?:{'|'.join(_QUALIFIERS)})\s+)?"
    r"([^\W\d_][\w’'-]*)",
    re.IGNORECASE,
)
_NOT_A_COUNT_BEFORE = re.compile(r"(?:[/\-]|\bn°\s*|\bnos?\.?\s*|\bnr\.?\s*)$", re.IGNORECASE)
_NOT_A_COUNT_AFTER = re.compile(
    rf"^(?:[/\-]\d|[^\W\d_]|\s*h\d|\s*(?:er\s+)?(?:{MONTHS})\b)", re.IGNORECASE
)
_LIST_MARKER = re.compile(r"^\s*\d{1,2}\)")

# "Combien de temps / how long / hoe lang" asks a duration, not a count of "temps".
ASKS_DURATION = re.compile(
    r"\b(?:depuis\s+)?combien\s+de\s+temps\b|\bhow\s+long\b|\bhoe\s*lang\b", re.IGNORECASE
)
_ASKED_UNIT = re.compile(
    r"\b(?:combien\s+(?:de\s+|d['’]\s*)|nombre\s+(?:de\s+|d['’]\s*)|how\s+many\s+"
    r"|number\s+of\s+|hoeveel\s+|aantal\s+)",
    re.IGNORECASE,
)
# "Combien Montpellier compte-t-elle de caméras ?": the noun comes later.
_ASKED_UNIT_LATER = re.compile(r"\bcombien\b[^?]*?\s(?:de\s+|d['’]\s*)(?=[^\W\d_])", re.IGNORECASE)
# Determiners between "how many" and what it counts.
_PARTITIVE = {
    "of", "the", "its", "their", "these", "those", "his", "her", "van", "de", "het", "zijn",
    "haar", "hun", "deze", "die", "ses", "ces", "leurs", "nos", "vos", "ce", "cette",
}  # fmt: skip
# Auxiliaries end the counted noun ("how many times did…"); the stop lists lack some.
_AUXILIARIES = {
    "did", "do", "does", "have", "has", "had", "can", "could", "would", "should", "will",
    "is", "are", "was", "were", "been", "them", "werden", "worden", "zijn", "waren",
}  # fmt: skip
# "How often", "hoe vaak": occurrences are counted, as with "combien de fois".
_ASKS_HOW_OFTEN = re.compile(r"\b(?:how often|hoe vaak)\b", re.IGNORECASE)
# "What is the population of…": a count of inhabitants, asked without "how many".
ASKS_POPULATION = re.compile(
    r"\b(?:what|quelle|wat)\s+(?:is|was|est|était|zijn)\s+(?:the|la|de|het)\s+"
    r"(?:population|bevolking|inwonertal|aantal inwoners)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w’'-]*")
_OCCURRENCE_UNITS = {"fois", "reprises", "times", "keer", "maal"}
_OCCURRENCE_NOUNS = re.compile(
    r"^(fois|reprises|utilisations?|usages?|consultations?|exploitations?|recherches?)$"
)
_ASKS_MONEY = re.compile(
    r"\b(pay|paid|cost|costs|price|amount|fine|spen[dt]|budget|pay[ée]e?s?|payer|co[uû]t\w*"
    r"|prix|montant|amende|sanction financière|dépens\w*|betaald|betalen|kost\w*|prijs|bedrag"
    r"|boete|uitgegeven|gekost|débours\w*|debours\w*)\b",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"\d[\d\s.,]*\s*(?:millions?\s+|milliards?\s+|miljoen\s+)?(?:d['’]\s*)?(?:€|euros?|dollars?"
    r"|\$|eur\b|usd\b)|[€$]\s*\d",
    re.IGNORECASE,
)
_ASKS_DAY = re.compile(
    r"\b(quelle date|à quelle date|quel jour|(?:what|which) (?:exact |precise |specific )?date"
    r"|(?:which|what) (?:exact |precise |specific )?day"
    r"|welke datum|welke dag|op welke datum)\b",
    re.IGNORECASE,
)
NUMERIC_DATE = r"\b\d{1,2}/\d{1,2}/(?:19|20)\d\d(?!\d)"  # 7/7/2022, a day
_DAY = re.compile(
    rf"{NUMERIC_DATE}|\b\d{{1,2}}(?:er)?\s+(?:{MONTHS})\b|\b(?:{MONTHS})\s+\d{{1,2}}\b",
    re.IGNORECASE,
)

# Common things that get counted, the background a real match must stand out from.
REFERENCE_NOUNS = (
    "personnes", "fois", "euros", "pays", "années", "jours", "mois", "caméras", "policiers",
    "documents", "pages", "cas", "utilisations", "villes", "départements", "députés",
    "entreprises", "photos", "images", "dossiers", "licences", "logiciels", "enquêtes",
    "agents", "habitants", "victimes", "plaintes", "heures", "minutes", "kilomètres",
    "recherches", "membres", "services", "questions", "articles", "communes", "écoles",
    "voitures", "ordinateurs", "comptes",
)  # fmt: skip
# A counted noun this far above the background (in standard deviations) is a translation.
STANDS_FAR_OUT = 2.5
# How well a count answers when its noun only resembles what is asked.
COUNT_MATCHED = 0.75
_TEMPLATES = {"fr": "nombre de {}", "en": "number of {}", "nl": "aantal {}"}


# "un cas unique", "une seule fois", "a single case": the number one, which "un" alone is not.
_SINGLE = re.compile(
    r"\b(?:une?\s+(?:seule?\s+(?P<after>[^\W\d_][\w’'-]*)|(?P<before>[^\W\d_][\w’'-]*)"
    r"\s+(?:unique|seule?)\b)|a\s+single\s+(?P<english>[^\W\d_][\w’'-]*))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Count:
    value: int
    noun: str | None  # folded; None when no noun follows the number


def counts_with_nouns(text: str) -> list[Count]:
    """The counts in `text` with what each counts ("78 utilisations", "quatre députés"): not
    years, days of a month, dates, numbers of a list item or of a document ("n° 7-1649")."""
    body = _LIST_MARKER.sub(lambda m: " " * len(m.group(0)), text)
    found = []
    for start, end, value in number_spans(body):
        if end - start == 4 and 1900 <= value <= 2099:
            continue
        if start and body[start - 1].isalpha():
            continue  # inside a word or an identifier ("5UMtR", "iGidO5")
        if _NOT_A_COUNT_BEFORE.search(body[max(0, start - 4) : start]):
            continue
        if _NOT_A_COUNT_AFTER.match(body[end : end + 16]):
            continue
        noun = _COUNTED_NOUN.match(body, end)
        word = fold(noun.group(1)).strip("-'’") if noun else None
        found.append(Count(value, word if word and word not in _NOT_COUNTED else None))
    for single in _SINGLE.finditer(body):
        noun = single.group("after") or single.group("before") or single.group("english")
        found.append(Count(1, fold(noun)))
    return found


def count_values(text: str) -> set[int]:
    """The values of the counts in `text` (see counts_with_nouns)."""
    return {count.value for count in counts_with_nouns(text)}


# "Plus d'une centaine de fois ?", "more than 100 cameras?", "meer dan honderd keer?": a figure
# checked, the unit after it.
_CHECKED_FIGURE = re.compile(
    r"\b(?:(?:plus|moins)\s+d(?:e\s+|['’]\s*)(?:une?\s+)?|(?:more|less|fewer)\s+than\s+(?:an?\s+)?"
    r"|(?:meer|minder)\s+dan\s+(?:een\s+)?)",
    re.IGNORECASE,
)
_FIGURE_WORD = re.compile(
    r"(?:centaines?|dizaines?|vingtaines?|cinquantaines?|milliers?|hundreds?|dozens?|thousands?"
    r"|honderd(?:en)?|tiental(?:len)?|duizend(?:en)?)\b(?:\s+(?:de|d['’]|of)\b\s*)?",
    re.IGNORECASE,
)


def checked_figure_end(question: str) -> int | None:
    """Where the figure a question checks ends ("plus d'une centaine de| fois"), or None."""
    for match in _CHECKED_FIGURE.finditer(question):
        word = _FIGURE_WORD.match(question, match.end())
        if word:
            return word.end()
        spans = number_spans(question[match.end() : match.end() + 40])
        if spans and spans[0][0] == 0:
            return match.end() + spans[0][1]
    return None


@lru_cache(maxsize=512)  # asked of the same question for every candidate sentence
def asked_unit(question: str) -> str | None:
    """What a "how many" question counts: "combien de fois" -> "fois", "how many surveillance
    cameras" -> "surveillance cameras" (English and Dutch put adjectives first, so up to two
    words, up to the first function word)."""
    if _ASKS_HOW_OFTEN.search(question):
        return "times"
    if ASKS_POPULATION.search(question):
        return "habitants"
    question = ASKS_DURATION.sub(" ", question)
    trigger = _ASKED_UNIT.search(question) or _ASKED_UNIT_LATER.search(question)
    if trigger:
        start = trigger.end()
        most = 1 if fold(trigger.group(0)).startswith(("combien", "nombre")) else 2
    else:
        checked = checked_figure_end(question)  # "… plus d'une centaine de fois ?"
        if checked is None:
            return None
        start, most = checked, 1
    words: list[str] = []
    for match in _WORD.finditer(question, start):
        word = fold(match.group(0))
        if not words and word in _PARTITIVE:
            continue  # "how many of its officers", "combien de ses militaires"
        if word in FUNCTION_WORDS or word in _AUXILIARIES or len(words) == most:
            break
        if word not in _QUALIFIERS:
            words.append(word)
    return " ".join(words) or None


@lru_cache(maxsize=512)
def asks_money(question: str) -> bool:
    return bool(_ASKS_MONEY.search(question))


def has_money(sentence: str) -> bool:
    return bool(_MONEY.search(sentence))


def asks_day(question: str) -> bool:
    return bool(_ASKS_DAY.search(question))


def has_day(sentence: str) -> bool:
    return bool(_DAY.search(sentence))


def days_in(text: str) -> set[str]:
    """Dates precise to the day ("19 novembre", "November 20", "7/7/2022"), folded."""
    return {fold(m.group(0)) for m in _DAY.finditer(text)}


class UnitMatcher:
    """Whether a counted noun of a sentence is what the question counts. The same word (by its
    French stem), an occurrence for "how many times", or, given an embedding function, a noun
    whose similarity to the asked unit stands `threshold` standard deviations above the
    unit's similarity to REFERENCE_NOUNS."""

    def __init__(self, embed: Callable[[str], list[float]] | None, threshold: float) -> None:
        self.embed = embed
        self.threshold = threshold
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._background: np.ndarray | None = None
        if embed is not None:  # at start-up, not on the first "how many" question
            self._background = np.array([self._vector(f"nombre de {n}") for n in REFERENCE_NOUNS])

    def matches(self, unit: str, language: str, nouns: Iterable[str]) -> bool:
        return self.strength(unit, language, nouns) >= COUNT_MATCHED

    def strength(self, unit: str, language: str, nouns: Iterable[str]) -> float:
        """1 for the same word (or a translation standing far out), COUNT_MATCHED for a noun
        standing out by `threshold`, else 0: "2 membres" answers "how many people" less well
        than "8 millions de personnes"."""
        unit = fold(unit)
        nouns = [fold(n) for n in nouns if n]
        if not nouns:
            return 0.0
        head = unit.split()[-1]
        if head in _OCCURRENCE_UNITS or _OCCURRENCE_NOUNS.match(head):
            return float(any(_OCCURRENCE_NOUNS.match(n) for n in nouns))
        if any(stem(n) == stem(head) for n in nouns):
            return 1.0
        if self.embed is None:
            return 0.0
        asked = self._vector(_TEMPLATES.get(language, _TEMPLATES["en"]).format(unit))
        assert self._background is not None
        background = self._background @ asked
        mean, spread = float(background.mean()), float(background.std()) or 1.0
        best = max((float(self._vector(f"nombre de {n}") @ asked) - mean) / spread for n in nouns)
        if best >= max(self.threshold, STANDS_FAR_OUT):
            return 1.0
        return COUNT_MATCHED if best >= self.threshold else 0.0

    def _vector(self, text: str) -> np.ndarray:
        vector = self._vectors.get(text)
        if vector is None:
            assert self.embed is not None
            vector = np.asarray(self.embed(text), dtype=np.float32)
            with self._lock:
                if len(self._vectors) > 4096:
                    self._vectors.clear()  # questions may bring endless units; REFERENCE_NOUNS
                    # live on in self._background
                self._vectors[text] = vector
        return vector


# "Quels pays / which countries / welke landen": a list of countries is asked, answered only by
# a passage naming countries other than those the question names ("Outre la Belgique…").
_ASKS_COUNTRIES = re.compile(
    r"\b(?:quels pays|quels autres pays|which (?:other )?countries|what (?:other )?countries"
    r"|quels (?:étaient|sont|furent) les (?:autres )?pays|(?:what|which) (?:were|are) the"
    r" (?:other )?countries|welke (?:andere )?landen)\b",
    re.IGNORECASE,
)


def asks_countries(question: str) -> bool:
    return bool(_ASKS_COUNTRIES.search(question))


@lru_cache(maxsize=1)
def _country_names() -> tuple[re.Pattern[str], dict[str, str]]:
    """Every country's name in English, French and Dutch (pycountry's ISO 3166 data and its
    translations), folded: one pattern, and each name's ISO code. Built on the first question
    asking countries: importing pycountry costs every start-up some 35 ms otherwise."""
    import gettext

    import pycountry

    codes: dict[str, str] = {}
    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        for language in ("fr", "nl")
    ]
    for country in pycountry.countries:
        for name in {country.name, getattr(country, "common_name", country.name)}:
            for spelling in (name, *(t.gettext(name) for t in translations)):
                if len(spelling) > 3 and "," not in spelling:
                    codes[fold(spelling)] = country.alpha_2
    return _any_of(codes), codes


def _any_of(names: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    """One pattern matching any of the names as whole words, the longest first."""
    ordered = sorted(set(names), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(name) for name in ordered) + r")\b", flags)


def countries_named(text: str) -> set[str]:
    """The ISO codes of the countries the text names ("aux Pays-Bas" -> {"NL"})."""
    pattern, codes = _country_names()
    return {codes[name] for name in pattern.findall(fold(text))}


# "Quels départements / which departments / welke departementen": French departments are
# asked, answered only by a passage naming departments other than those the question names.
_ASKS_DEPARTMENTS = re.compile(
    r"\b(?:quel(?:le)?s?|which|what|welke?)(?:\s+[\w'’-]+){0,4}?"
    r"\s+(?<!police )(?:départements?|departments?|departement(?:en)?)\b",
    re.IGNORECASE,
)


def asks_departments(question: str) -> bool:
    return bool(_ASKS_DEPARTMENTS.search(question))


@lru_cache(maxsize=1)
def _department_names() -> re.Pattern[str]:
    """France's departments (pycountry's ISO 3166-2 data), as one pattern that ignores case
    (the texts write "Val-D'Oise")."""
    import pycountry

    names = (
        division.name.replace("’", "'")
        for division in pycountry.subdivisions.get(country_code="FR")
        if "department" in division.type.lower() or division.name == "Paris"
    )
    return _any_of(names, re.IGNORECASE)


def departments_named(text: str) -> set[str]:
    """The French departments the text names, folded ("dans le Val-D’Oise" -> {"val-d'oise"});
    a name counts only written with a capital ("Nord", not "du nord")."""
    return {
        fold(m.group(0))
        for m in _department_names().finditer(text.replace("’", "'"))
        if m.group(0)[0].isupper()
    }


# Outcomes a question may ask about ("la Cnil a-t-elle infligé une amende", "did they win their
# appeal", "zijn ze gestraft"): a sanction, a complaint, a case won or appealed, a court's
# ruling, compensation, someone being told. Each is answered only by a passage that reports
# such an outcome, in the French of the texts; a passage that only sets the scene ("un recours
# juridique collectif") is not one.
@dataclass(frozen=True)
class Outcome:
    asked: re.Pattern[str]
    told: re.Pattern[str]


_OUTCOMES = (
    Outcome(  # a sanction or a fine
        re.compile(
            r"\b(?:sanction\w*|amendes?|puni\w*|pénalis\w*|condamn\w*|fined?|fines|penali[sz]\w*"
            r"|penalt\w*|punish\w*|convicted|boetes?|beboet|sancties?|gesanctioneerd|gestraft"
            r"|bestraft|straffen|straf|tucht\w*|disciplin\w*|veroordeeld)\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:sanction\w*|amendes?|puni\w*|punition|pénalis\w*|condamn\w*|disciplin\w*"
            r"|poursuites?)\b",
            re.IGNORECASE,
        ),
    ),
    Outcome(  # a complaint lodged
        # lodging one, not "la plainte des députés" that the texts tell of
        re.compile(
            r"\b(?:port(?:é|er|ent)\s+plainte|déposé\s+(?:une\s+)?plainte"
            r"|(?:file|filed|lodge|lodged)\s+(?:a\s+)?complaint|complained"
            r"|klacht(?:en)?\s+(?:ingediend|indienen)|aangifte\s+(?:gedaan|doen))\b",
            re.IGNORECASE,
        ),
        re.compile(r"\b(?:plaintes?|signalements?|saisi\w*|recours)\b", re.IGNORECASE),
    ),
    Outcome(  # a case won or lost, an appeal
        re.compile(
            r"\b(?:gagn\w*|remport\w*|gain de cause|perdu|won|win|lost|gewonnen|verloren"
            r"|fait appel(?! à)|interjeté appel|appeal\w*|in (?:hoger )?beroep)\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:gagn\w*|remport\w*|gain de cause|perdu|rejet\w*|débout\w*|annul\w*"
            r"|tribunal|jugement|appel|interjet\w*)\b",
            re.IGNORECASE,
        ),
    ),
    Outcome(  # what a court or the prosecution decided
        re.compile(
            r"\b(?:verdict|jugement|ruling|ruled|uitspraak|vonnis"
            r"|qu['’]\s*(?:a|ont)\s+(?:décidé|tranché|statué)\s+"
            r"(?:la justice|le tribunal|les? juges?)"
            r"|quelle décision (?:la justice|le tribunal|les? juges?)"
            r"|what did the (?:court|judges?) (?:decide|rule)"
            r"|wat (?:heeft|hebben) de rechters? (?:beslist|besloten|geoordeeld))\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:jugement|tribunal|rejet\w*|débout\w*|annul\w*|gagn\w*|perdu|gain de cause"
            r"|classement|classée?s? sans suite|non-lieu|irrecevable)\b",
            re.IGNORECASE,
        ),
    ),
    Outcome(  # compensation
        re.compile(
            r"\b(?:indemnis\w*|dédommag\w*|compensat\w*|schadevergoeding\w*|vergoed\w*)\b",
            re.IGNORECASE,
        ),
        re.compile(r"\b(?:indemni\w*|dédommag\w*|réparation|compens\w*)\b", re.IGNORECASE),
    ),
    Outcome(  # someone told or warned
        re.compile(
            r"\b(?:prévenu\w*|averti\w*|notifi\w*|warned|ingelicht|verwittigd|gewaarschuwd)\b",
            re.IGNORECASE,
        ),
        re.compile(r"\b(?:inform\w*|prévenu\w*|averti\w*|notifi\w*|au courant)\b", re.IGNORECASE),
    ),
)


def outcomes_asked(question: str) -> list[Outcome]:
    """The outcomes the question asks about."""
    return [outcome for outcome in _OUTCOMES if outcome.asked.search(question)]


# "Quelle sanction…", "what penalty…", "welke straf…": the outcome itself is asked, not whether
# there was one.
_WHICH = re.compile(r"\b(?:quel(?:le)?s?|what|which|welke?)\s+(?:[\w-]+\s+){0,2}$", re.IGNORECASE)
# An outcome told only as possible or still to come ("il n'est pas encore établi que les deux
# policiers seront sanctionnés"): it says whether, not which.
_PENDING = re.compile(
    r"\b(?:pas encore|reste à|sera|seront|pourra|pourront|pourrai\w*|éventuel\w*)\b", re.IGNORECASE
)


def asks_which_outcome(question: str, outcome: Outcome) -> bool:
    """The question asks what the outcome was ("quelle sanction"), not whether there was one."""
    return any(_WHICH.search(question[: m.start()]) for m in outcome.asked.finditer(question))


def tells_outcome(sentence: str, outcome: Outcome, which: bool = False) -> bool:
    """The sentence reports the outcome; with `which`, as settled, not as possible."""
    return bool(outcome.told.search(sentence)) and not (which and _PENDING.search(sentence))
