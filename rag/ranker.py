"""A learned sentence ranker: a conditional logistic regression (a softmax over one question's
candidate sentences) on the signals the extractive synthesizer computes per sentence.

Its weights live in `rag/ranker.json`, trained on the gold set's dev split only by
`scripts/train_ranker.py` (label: the sentence holds a key fact of the question and comes from
one of its supporting documents). Without that file the hand-set `SENTENCE_WEIGHTS` rank.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from index.parsing import sentence_spans
from index.terms import FUNCTION_WORDS
from index.text import fold

RANKER_PATH = Path(__file__).with_name("ranker.json")
RUNNER_UP_PATH = Path(__file__).with_name("runner_up.json")

# "Comment s'appelle…", "what is the name of…", "hoe heet…": a person's name unless what is
# named is a thing ("comment s'appelle le logiciel", "what is the name of the software").
NAMING = (
    r"(?:comment s['’]appellen?t?|quel est le nom|quels sont les noms|what(?: i|['’])s the name"
    r"|names? of|noms? d(?:es|u|e)|hoe heten|hoe heet|wat is de naam|wat zijn de namen"
    r"|namen van)"
)
THING_NAMED = (
    r"\s+(?:(?:du|de la|de l['’]|des|de|d['’]|of|van)\s*)?"
    r"(?:(?:le|la|les|l['’]|ce|cet|cette|the|this|that|de|het|die|dat|deze)\s*)?"
    r"(?:(?!(?:du|de|des|of|van|der)\s)[\w-]+\s+){0,2}"  # "le logiciel", "the Israeli software"
    r"\w*(?:logiciel|programme|application|appli|app|outil|entreprise|société"
    r"|firme|service|unité|organe|organisme|média|journal|site|fichier|base|plateforme"
    r"|dispositif|système|opération|taskforce|groupe|rapport|loi|ville|département|pays"
    r"|software|program|programme|tool|company|firm|unit|body|agency|outlet|newspaper|website"
    r"|file|database|platform|system|operation|group|report|law|city|town|country|bedrijf"
    r"|programma|applicatie|eenheid|dienst|orgaan|krant|bestand|databank|systeem|wet|stad"
    r"|land)\w*"
)
# Questions that ask for a person by name or by role ("comment s'appelle", "quel magistrat",
# "which judge"): the answer must name someone.
_ASKS_NAMED_PERSON = re.compile(
    rf"\b({NAMING}(?!{THING_NAMED})"
    # "the director's name", "the officers' names"
    r"|(?:person|minister|deputy|deputies|mp|senator|politician|member|judge|prosecutor"
    r"|journalist|reporter|commissioner|director|head|chief|lawyer|founder|spokes(?:person|man"
    r"|woman)|inspector|investigator|officer|author)s?['’]s? (?:full )?names?"
    r"|quel(?:le)?s? (?:magistrat|parlementaire|député|ministre|élu|personne|auteure?|juge"
    r"|procureur|journaliste|commissaire|directeur|directrice|avocat|fondateur|porte-parole"
    r"|inspecteur|enquêteur|policier|gendarme)s?"
    r"|which (?:[\w-]+ ){0,3}(?:person|minister|deputy|deputies|magistrate|mp|senator"
    r"|politician|member|judge|prosecutor|journalist|reporter|commissioner|director|lawyer"
    r"|founder|spokes(?:person|man|woman)|inspector|investigator|officer)s?"
    r"|welke? (?:[\w-]+ ){0,2}(?:\w+-)?(?:minister|persoon|politicus|parlementariër|magistraat"
    r"|afgevaardigde|kamerl(?:id|eden)|parlementsl(?:id|eden)|rechter|onderzoeksrechter"
    r"|procureur|journalist|commissaris|directeur|advocaat|oprichter|woordvoerder|inspecteur"
    r"|agent|speurder)\w*)\b",
    re.IGNORECASE,
)
# Questions that want a person's name, not a body's ("qui", "quel magistrat", "who").
# "qui" / "who" / "wie" ask only where a question or its part opens ("Qui a…", "…, et à qui
# revient…"), not as a relative pronoun ("les policiers qui disposaient…").
ASKS_WHO = (
    r"(?:^|[,;:]\s*|\b(?:et|and|en)\s+)"
    r"(?:(?:à|de|par|pour|avec|chez|to|by|for|from|with|aan|door|voor|met|van)\s+)?"
    r"(?:qui|who|whom|wie)\b"
)
_ASKS_PERSON = re.compile(rf"{ASKS_WHO}|{_ASKS_NAMED_PERSON.pattern}", re.IGNORECASE)
# Questions answered by yes or no (no question word): the answer is often a negation
# ("n'a pas donné de résultat positif").
_QUESTION_WORD = re.compile(
    r"\b(qui|que|qu|quoi|quel|quelle|quels|quelles|combien|quand|où|comment|pourquoi|lequel"
    r"|laquelle|who|whom|whose|what|which|when|where|how|why|wie|wat|welk|welke|wanneer|waar"
    r"|hoe|waarom|hoeveel|waar\w*)\b",
    re.IGNORECASE,
)
# A person's name: two capitalised words (a first name and a surname), not an article, a
# pronoun or a word that opens a clause ("La Haye", "Selon Le Soir" are not people), nor a
# unit's name in guillemets or after a slash ("service «Child Abuse»", "DJSOC/Child Abuse").
_LOWER = "a-zéèêëàâîïôöûüç"
_PERSON = re.compile(
    r"(?<![\w’'/«])(?<!« )(?<!\b[Ll]a )(?<!\b[Ll]e )(?<!\b[Ll]es )"
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
    "negation_yes_no",
    "negation",
    "is_question",
    "section_question",
    "section_answer",
    "neighbour_cosine",
    "neighbour_gain",
    "relative_position",
    "opens_document",
    "rarest_match",
    "translated_coverage",
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
            asks_yes_no(question),
        )


def asks_yes_no(question: str) -> bool:
    """A question answered by yes or no: "est-ce que…", or one with no question word."""
    return question.lower().lstrip().startswith("est-ce") or not _QUESTION_WORD.search(question)


def asks_person(question: str) -> bool:
    return bool(_ASKS_PERSON.search(question))


def asks_named_person(question: str) -> bool:
    return bool(_ASKS_NAMED_PERSON.search(question))


# The roles a question may ask for by name, each with its words in French, English and Dutch
# (folded): "quel magistrat" is answered by a "procureur général", "welke minister" by a
# "ministre".
_ROLES = (
    re.compile(r"\bminist(?:re|er)s?\b"),
    re.compile(
        r"\b(?:magistra\w*|juges?|procureurs?|judges?|prosecutors?|rechters?|onderzoeksrechters?)\b"
    ),
    re.compile(
        r"\b(?:deputes?|deput(?:y|ies)|parlementaires?|elus?|mps?|senat\w*|kamerl\w*"
        r"|parlementsl\w*|parlementarier\w*|volksvertegenwoordig\w*)\b"
    ),
    re.compile(r"\b(?:journalistes?|journalists?|reporters?|verslaggevers?)\b"),
    re.compile(r"\b(?:commissaires?|commissioners?|commissaris\w*)\b"),
    re.compile(
        r"\b(?:directeurs?|directrices?|directors?|patronn?e?s?|heads?|chefs?|hoofd"
        r"|presidente?s?|presidents?|voorzitters?)\b"
    ),
    re.compile(
        r"\b(?:policiers?|enqueteurs?|gendarmes?|inspecteurs?|officers?|investigators?|cops?|flics?"
        r"|inspectors?|(?:politie)?agent(?:s|en)?|politiemensen|speurders?)\b"
    ),
    re.compile(r"\b(?:porte-paroles?|spokes(?:person|man|woman|people)s?|woordvoerders?)\b"),
)
# A role named after "comment s'appellent / the name of / qui est" ("les deux policiers",
# "the commissioner-general"): the seven words that follow.
_ROLE_NAMED_AFTER = re.compile(
    rf"\b(?:{NAMING}|qui (?:est|sont|était|étaient)|who (?:is|are|was|were)"
    r"|wie (?:is|zijn|was|waren))\s+((?:[\w'’-]+\s+){0,6}[\w'’-]+)",
    re.IGNORECASE,
)


def asked_role(question: str) -> re.Pattern[str] | None:
    """The words of the role a question asks a person by ("quel magistrat", "which minister",
    "comment s'appellent les deux policiers", "who is the commissioner-general"), or None
    when it asks for no role."""
    asked = _ASKS_NAMED_PERSON.search(question)
    named = _ROLE_NAMED_AFTER.search(question)
    if asked is None and named is None:
        return None
    words = fold(" ".join(m.group(0) for m in (asked, named) if m is not None))
    return next((role for role in _ROLES if role.search(words)), None)


# Verbs of saying that come just before their speaker ("explique Franck Schuermans").
_SAYING_VERBS = (
    r"explique|souligne|ajoute|indique|déclare|affirme|estime|précise|a réagi|a répondu"
    r"|écrivait|écrit|said|says|told|zei|zegt|verklaarde"
)
# What marks a capitalised pair as a person's name where it appears: a role, a title or a
# verb of saying before it ("la ministre de l'Intérieur, Annelies Verlinden", "explique Franck
# Schuermans"), or after it a description, a handle, a party or a quotation ("Hadrien Clouet,
# l'un des députés", "(@HadrienClouet)", "Els Ampe (Open Vld)", "Hadrien Clouet : « …").
# French first, the corpus's language; English and Dutch for a user's own documents.
_PERSON_CUE_BEFORE = re.compile(
    r"(?:\b(?:ministres?|député(?:e|s|es)?|élu(?:e|s|es)?|sénat(?:eur|rice)s?|commissaire"
    r"|procureure?|juge|magistrat|patronne?|présidente?|directeur|directrice|porte-parole"
    r"|avocate?|maire|M\.|Mme|Monsieur|Madame|minister|senator|judge|prosecutor|commissioner"
    r"|director|president|spokes(?:wo)?man|spokesperson|mayor|Mr|Mrs|Ms|Dr|rechter"
    r"|burgemeester|woordvoerder|voorzitter|commissaris|dhr|mevrouw)\b[^.!?\n]{0,60}"
    # a verb of saying just before the speaker ("explique aujourd'hui Franck Schuermans")
    rf"|\b(?:{_SAYING_VERBS}|interrogée?)(?:\s+\S+)?\s+)$",
    re.IGNORECASE,
)
_PERSON_CUE_AFTER = re.compile(
    r"^\s*(?:,\s*(?:l['’]une? des|ancien(?:ne)?)\b|\(@|\([A-Z]|:\s*[\"«“])"
)
_LIST_JOIN = re.compile(r"\s*(?:,|et|and|en)\s*")


@dataclass(frozen=True)
class People:
    """Which capitalised pairs are people's names. `known` holds them folded; None takes every
    pair for one (the guess when there is no corpus to learn from)."""

    known: frozenset[str] | None
    # Words the texts only ever write capitalised, and somewhere not opening a sentence
    # ("Briefcam", "Disclose"): names even where they open one ("Briefcam est un logiciel…").
    proper: frozenset[str] = frozenset()
    # The roles (indices in _ROLES) the texts give each person somewhere: "Hadrien Clouet,
    # l'un des députés" signs a post elsewhere with no role said, and is still no director.
    roles: Mapping[str, frozenset[int]] = field(default_factory=dict, compare=False)
    # The first five letters of the texts' words: a role's complement is compared in them.
    words: frozenset[str] = frozenset()

    @classmethod
    def of_texts(cls, texts: Iterable[str]) -> People:
        """The pairs the texts mark as people at least once (see the cues above), and those
        listed beside one ("Bernard Cazeneuve, Bruno Le Roux, Matthias Fekl…"). Unit and
        organisation names ("Child Focus", "Data News") come with no such cue."""
        texts = list(texts)
        known: set[str] = set()
        listed: list[tuple[str, str]] = []  # (pair, the pair listed just before it)
        for text in texts:
            previous: re.Match[str] | None = None
            for match in _PERSON.finditer(text):
                name = fold(match.group(0))
                # The cue before must be this name's, not the previous name's.
                since = max(match.start() - 80, previous.end() if previous else 0)
                if _PERSON_CUE_BEFORE.search(
                    text[since : match.start()]
                ) or _PERSON_CUE_AFTER.match(text[match.end() : match.end() + 30]):
                    known.add(name)
                elif previous is not None and _LIST_JOIN.fullmatch(
                    text[previous.end() : match.start()]
                ):
                    listed.append((name, fold(previous.group(0))))
                previous = match
        proper = _proper_words(texts)
        grown = True
        while grown:
            grown = False
            for name, before in listed:
                if before in known and name not in known:
                    known.add(name)
                    grown = True
        people = cls(frozenset(known), proper)
        roles: dict[str, set[int]] = {}
        sentences = (text[start:end] for text in texts for start, end in sentence_spans(text))
        for sentence in sentences:
            for match, near, after in _role_words_around(sentence, people):
                held = {i for i, r in enumerate(_ROLES) if r.search(near) or r.search(after)}
                roles.setdefault(fold(match.group(0)), set()).update(held)
        words = frozenset(w[:5] for text in texts for w in re.findall(r"[\w-]{4,}", fold(text)))
        return cls(
            people.known, proper, {name: frozenset(r) for name, r in roles.items() if r}, words
        )

    def name_matches(self, sentence: str) -> list[re.Match[str]]:
        """Where the sentence names people."""
        return [
            m
            for m in _PERSON.finditer(sentence)
            if self.known is None or fold(m.group(0)) in self.known
        ]

    def named_in(self, sentence: str) -> list[str]:
        """The people the sentence names, folded."""
        return [fold(m.group(0)) for m in self.name_matches(sentence)]


EVERY_PAIR = People(None)

_UPPER = "A-ZÀ-ÖØ-ÞŒ"
# A capitalised word after a word, a comma or a colon: not opening a sentence.
_CAPITALISED_INSIDE = re.compile(rf"(?<=[\w,;:’'] )([{_UPPER}][\w-]{{2,}})")
_LOWERCASE_WORD = re.compile(rf"(?<![\w-])([^\W\d_{_UPPER}][\w-]*)")


def _proper_words(texts: list[str]) -> frozenset[str]:
    # findall and set updates run in C: about 2 s over 40 MB of text.
    capitalised: set[str] = set()
    lowercase: set[str] = set()
    for text in texts:
        capitalised.update(_CAPITALISED_INSIDE.findall(text))
        lowercase.update(_LOWERCASE_WORD.findall(text))
    folded_lowercase = {fold(word) for word in lowercase}
    return frozenset(
        folded
        for folded in (fold(word) for word in capitalised if not word.isupper())
        if folded not in folded_lowercase
    )


def _role_words_around(sentence: str, people: People) -> Iterator[tuple[re.Match[str], str, str]]:
    """Each person named in the sentence, with the folded words that may give their role:
    those just before the name, since the previous name, unless a preposition makes the name
    an object ("le député écrit à Rémy Heitz"), and those just after it, to the sentence's
    end."""
    previous_end, near = 0, ""
    for match in people.name_matches(sentence):
        before = sentence[max(match.start() - 80, previous_end) : match.start()]
        if not (previous_end and _LIST_JOIN.fullmatch(before)):
            # in a list ("les ministres Bernard Cazeneuve, Bruno Le Roux et …") the words
            # before the first name are every name's
            near = "" if _OBJECT_OF.search(before) else fold(before)
        yield match, near, fold(sentence[match.end() : match.end() + 40].split(".")[0])
        previous_end = match.end()


def names_in_role(sentence: str, role: re.Pattern[str], people: People = EVERY_PAIR) -> bool:
    """The sentence names a person in the role (see `asked_role`): its words just before the
    name ("le procureur général près la Cour de cassation, Rémy Heitz", "l'élu LFI Aurélien
    Saintoul"), or just after it ("Hadrien Clouet, l'un des députés"). A role word elsewhere
    in the sentence may be someone else's."""
    return any(
        role.search(near) or role.search(after)
        for _, near, after in _role_words_around(sentence, people)
    )


def names_someone_for_role(
    sentence: str, role: re.Pattern[str], question: str, people: People = EVERY_PAIR
) -> bool:
    """The sentence names someone who may hold the asked role: named in it, or named with no
    other role and not merely as a quotation's speaker unless the question asks who said
    something ("le ministre Gérald Darmanin" is no journalist, "a réagi Aurélien Saintoul" no
    judge)."""
    speakers = _asks_who_said(question)
    asked_of = _office_asked(fold(question), role, people)
    for match, near, after in _role_words_around(sentence, people):
        held = _office_held(sentence, role, match, near, after)
        if held is not None:
            if _other_office(asked_of, held):
                continue  # "patron de la Direction territoriale de police judiciaire"
            return True
        other = any(r.search(near) or r.search(after) for r in _ROLES if r is not role)
        elsewhere = people.roles.get(fold(match.group(0)))
        if elsewhere and _ROLES.index(role) not in elsewhere:
            continue  # given another role elsewhere in the texts
        if not other and (speakers or not speaks_only(sentence, match)):
            return True
    # "@ChristopheBex": a person, no role said; not "Hadrien Clouet (@HadrienClouet)", the
    # handle of someone named and weighed above.
    return _HANDLE.search(_OWN_HANDLE.sub(" ", sentence)) is not None


def names_another_office(sentence: str, question: str, people: People = EVERY_PAIR) -> bool:
    """The question names someone by a role of some office ("the head of public security in
    Haute-Garonne") and the sentence gives the same kind of role of another office, to the
    person it names ("le commissaire Patrick Léonard, patron de la direction territoriale de
    la police judiciaire"): what that person did is not what the one asked did."""
    folded = fold(question)
    for role in _ROLES:
        if role.search(folded) is None:
            continue
        asked_of = _office_asked(folded, role, people)
        for match, near, after in _role_words_around(sentence, people):
            held = _office_held(sentence, role, match, near, after)
            if held is not None and _other_office(asked_of, held):
                return True
    return False


def _office_asked(folded_question: str, role: re.Pattern[str], people: People) -> set[str]:
    """What the role the question asks is of ("de la sécurité publique"), in words the texts
    use; empty when the question names no such role."""
    asked = role.search(folded_question)
    if asked is None:
        return set()
    return _role_complement(folded_question[asked.end() :]) & people.words


def _office_held(
    sentence: str, role: re.Pattern[str], match: re.Match[str], near: str, after: str
) -> set[str] | None:
    """What the role given to the person at `match` is of, or None when that person is not
    given the role. It runs on past `after`'s 40 characters, which begin the rest."""
    in_near = [*role.finditer(near)]
    if in_near:
        return _role_complement(near[in_near[-1].end() :])
    in_after = role.search(after)
    if in_after is None:
        return None
    return _role_complement(fold(sentence[match.end() :])[in_after.end() :])


# What a role is of ("directeur départemental de la sécurité publique"): the words after the
# role's word, up to a comma or a word outside the complement.
_COMPLEMENT_LINKS = {
    "de", "du", "des", "d", "la", "le", "les", "l", "of", "the", "van", "het", "der",
}  # fmt: skip
_COMPLEMENT_END = re.compile(r"[,;:.()«»\"“”]")


def _role_complement(words: str) -> set[str]:
    """The (folded) words' first five letters, up to a word that is not one of the role's
    complement ("magistrat a classé…" has none)."""
    found: set[str] = set()
    for word in re.findall(r"[\w-]+", _COMPLEMENT_END.split(words, maxsplit=1)[0])[:8]:
        if word in _COMPLEMENT_LINKS:
            continue
        if word in FUNCTION_WORDS or len(word) < 4:
            break
        found.add(word[:5])
    return found


def _other_office(asked: set[str], held: set[str]) -> bool:
    """Both roles say what they are of, in two words or more, and share none: two offices
    ("de la sécurité publique" / "de la Direction territoriale de police judiciaire"). An
    acronym ("patron du COC") or a bare role may be the same office. Compared on four
    letters: the question may be Dutch or English ("politie" / "police")."""
    return len(asked) >= 2 and len(held) >= 2 and not {w[:4] for w in asked} & {w[:4] for w in held}


# A preposition just before a name makes it an object, not the role's holder.
_OBJECT_OF = re.compile(
    r"\b(?:de|du|d['’]|à|auprès de|par|pour|avec|chez|contre|to|by|with|for|from|against"
    r"|van|door|aan|met|voor|tegen)\s*$",
    re.IGNORECASE,
)


def names_a_person(sentence: str, question: str, people: People = EVERY_PAIR) -> bool:
    """The sentence names a person the question does not name."""
    asked = fold(question)
    return any(name not in asked for name in people.named_in(sentence))


_HANDLE = re.compile(r"@\w{3,}")
_OWN_HANDLE = re.compile(r"\(\s*@\w{3,}\s*\)")


# A speaker: named just after a verb of saying ("a réagi auprès de l'AFP Aurélien Saintoul")
# or "selon", or just before a colon and a quotation. A speaker answers "who said…", rarely
# "who decided…".
_SPEAKER_BEFORE = re.compile(
    rf"(?:\b(?:{_SAYING_VERBS}|insistait)\b[^.!?\n«“\"]{{0,40}}"
    # "selon le journal Le Soir", not "d'après des renseignements de Child Focus"
    r"|\b(?:selon|d['’]après|according to|volgens)(?:\s+(?!(?:de|du|des|of|van)\b)[\w'’-]+){0,3}"
    r"(?:\s+|(?<=['’])))$",
    re.IGNORECASE,
)
_SPEAKER_AFTER = re.compile(r"^\s*(?:\([^)]*\)\s*)?:\s*[\"«“]")
_ASKS_SAYING = re.compile(
    r"\b(?:dit|dire|declar\w*|affirm\w*|expliqu\w*|estim\w*|reagi\w*|repondu|souligne\w*"
    r"|soutenu|soutient|assur\w*|pretend\w*|insist\w*|critiqu\w*|denonc\w*|ecri\w*"
    r"|said|say|says|state[sd]?|told|claim\w*|maintain\w*|react\w*|wr[io]te|writes"
    r"|written|zei|zegt|verklaar\w*|beweer\w*|reageer\w*|reageerde|schr[ie]\w*)\b"
)
SPEAKER_DISCOUNT = 0.5


def _speaker_cue_before(sentence: str, start: int) -> bool:
    """A verb of saying or "selon" comes just before `start` in the sentence."""
    return _SPEAKER_BEFORE.search(sentence[max(0, start - 80) : start]) is not None


def speaks_only(sentence: str, match: re.Match[str]) -> bool:
    """The person named at `match` is there as the speaker of a quotation or claim."""
    after = sentence[match.end() : match.end() + 40]
    return _speaker_cue_before(sentence, match.start()) or bool(_SPEAKER_AFTER.match(after))


def attributes_to(sentence: str, source: set[str]) -> bool:
    """The sentence gives something as said by one of `source` (folded name words): "Selon le
    media Disclose, Briefcam permet…", "a réagi auprès de l'AFP Aurélien Saintoul"."""
    return any(
        fold(word.group(0)) in source and _speaker_cue_before(sentence, word.start())
        for word in re.finditer(r"\w+", sentence)
    )


@lru_cache(maxsize=512)  # asked of the same question for every candidate sentence
def _asks_who_said(question: str) -> bool:
    return _ASKS_SAYING.search(fold(question)) is not None


def people_named(sentence: str, question: str, people: People = EVERY_PAIR) -> float:
    """How many people the sentence names that the question does not: names and social-media
    handles, one person's name and handle counted once ("Hadrien Clouet (@HadrienClouet)"),
    a mere speaker counting half unless the question asks who said or wrote something."""
    asked = fold(question).replace(" ", "")
    discount = 1.0 if _asks_who_said(question) else SPEAKER_DISCOUNT
    weights: dict[str, float] = {}
    for m in people.name_matches(sentence):
        name = fold(m.group(0)).replace(" ", "")
        weight = discount if speaks_only(sentence, m) else 1.0
        weights[name] = max(weights.get(name, 0.0), weight)
    for m in _HANDLE.finditer(sentence):
        handle = fold(m.group(0)[1:])
        weights[handle] = max(weights.get(handle, 0.0), 1.0)
    return sum(w for person, w in weights.items() if person not in asked)


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
    rarest_match: float
    translated_coverage: float


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
        float(s.negation and profile.asks_yes_no),
        float(s.negation),
        float(s.is_question),
        float(s.section == "question"),
        float(s.section == "answer"),
        s.neighbour_cosine,
        s.neighbour_cosine - s.cosine,
        s.position / max(1, s.sentences_in_document - 1),
        float(s.position == 0),
        s.rarest_match,
        s.translated_coverage,
    ]


@dataclass(frozen=True)
class Tree:
    """One regression tree: node arrays, children by index; a sample goes left when its
    feature is at most the threshold."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]
    leaf: tuple[bool, ...]

    FIELDS: ClassVar[tuple[str, ...]] = ("feature", "threshold", "left", "right", "value", "leaf")

    @classmethod
    def of(
        cls,
        feature: Iterable[Any],
        threshold: Iterable[Any],
        left: Iterable[Any],
        right: Iterable[Any],
        value: Iterable[Any],
        leaf: Iterable[Any],
    ) -> Tree:
        """A tree from any sequences (numpy arrays, JSON lists), as plain Python numbers."""
        return cls(
            tuple(int(v) for v in feature),
            tuple(float(v) for v in threshold),
            tuple(int(v) for v in left),
            tuple(int(v) for v in right),
            tuple(float(v) for v in value),
            tuple(bool(v) for v in leaf),
        )

    def predict(self, x: list[float]) -> float:
        node = 0
        while not self.leaf[node]:
            node = (
                self.left[node]
                if x[self.feature[node]] <= self.threshold[node]
                else self.right[node]
            )
        return self.value[node]


@dataclass(frozen=True)
class TreeEnsemble:
    """Gradient-boosted trees on some of the features (scikit-learn's
    HistGradientBoostingClassifier, exported by scripts/train_ranker.py, evaluated here with
    no scikit-learn): the log-odds that a sentence holds what is asked, mapped onto the
    hand-set score's scale by `scale` and `offset`."""

    features: tuple[int, ...]  # indices into FEATURES, the trees' columns
    baseline: float
    trees: tuple[Tree, ...]
    scale: float
    offset: float

    def log_odds(self, vector: list[float]) -> float:
        x = [vector[i] for i in self.features]
        return self.baseline + sum(tree.predict(x) for tree in self.trees)

    def score(self, vector: list[float]) -> float:
        return self.offset + self.scale * self.log_odds(vector)

    @classmethod
    def from_sklearn(
        cls, model: Any, features: tuple[int, ...], scale: float = 1.0, offset: float = 0.0
    ) -> TreeEnsemble:
        """A fitted binary HistGradientBoostingClassifier's trees (numerical features, no
        missing values); its leaf values already hold the learning rate."""
        fields = ("feature_idx", "num_threshold", "left", "right", "value", "is_leaf")
        trees = tuple(
            Tree.of(*(predictors[0].nodes[name] for name in fields))
            for predictors in model._predictors
        )
        baseline = float(model._baseline_prediction.ravel()[0])
        return cls(features, baseline, trees, scale, offset)

    def rescaled(self, scale: float, offset: float) -> TreeEnsemble:
        return TreeEnsemble(self.features, self.baseline, self.trees, scale, offset)

    def to_json(self, names: tuple[str, ...] = FEATURES) -> dict[str, object]:
        return {
            "features": [names[i] for i in self.features],
            "baseline": self.baseline,
            "scale": self.scale,
            "offset": self.offset,
            "trees": [{name: getattr(t, name) for name in Tree.FIELDS} for t in self.trees],
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, object], names: tuple[str, ...] = FEATURES
    ) -> TreeEnsemble:
        trees = data["trees"]
        assert isinstance(trees, list)
        return cls(
            tuple(names.index(str(name)) for name in data["features"]),  # type: ignore[attr-defined]
            float(data["baseline"]),  # type: ignore[arg-type]
            tuple(Tree.of(*(t[name] for name in Tree.FIELDS)) for t in trees),
            float(data["scale"]),  # type: ignore[arg-type]
            float(data["offset"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class LearnedRanker:
    """A linear score, averaged (by `tree_share`) with a tree ensemble's when there is one:
    the linear part is smooth across questions unlike any seen, the trees catch what only
    holds together ("a negation answers a yes/no question when it is also close to it")."""

    weights: tuple[float, ...]
    intercept: float
    trees: TreeEnsemble | None = None
    tree_share: float = 0.0

    def linear(self, vector: list[float]) -> float:
        return self.intercept + sum(w * x for w, x in zip(self.weights, vector, strict=True))

    def score(self, vector: list[float]) -> float:
        if self.trees is None or not self.tree_share:
            return self.linear(vector)
        share = self.tree_share
        return (1 - share) * self.linear(vector) + share * self.trees.score(vector)

    @classmethod
    def load(cls, path: Path = RANKER_PATH) -> LearnedRanker | None:
        """The saved ranker, or None when there is none."""
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        trees = data.get("trees")
        known = set(FEATURES)
        saved = list(data.get("features", ()))
        if not set(saved) <= known or (trees is not None and not set(trees["features"]) <= known):
            raise ValueError(
                f"{path} was trained on other features; retrain: python scripts/train_ranker.py"
            )
        # A linear part saved before a feature was added gives that feature no weight.
        weights = dict(zip(saved, data["weights"], strict=True))
        return cls(
            tuple(float(weights.get(name, 0.0)) for name in FEATURES),
            float(data["intercept"]),
            TreeEnsemble.from_json(trees) if trees is not None else None,
            float(data.get("tree_share", 0.0)),
        )


# What the runner-up model reads of a candidate sentence beside the best one: the two scores,
# where the candidate stands, what it gives, its length, the question's shape, and the
# ranker's own features of the candidate and their difference from the best sentence's.
RUNNER_UP_FEATURES = (
    "score",
    "best_score",
    "score_gap",
    "rank",
    "sentences_apart",
    "answer_type",
    "best_answer_type",
    "overlap_with_best",
    "characters",
    "best_characters",
    "question_parts",
    "question_words",
    "question_commas",
    "reason_asked",
    "french",
    *FEATURES,
    *(f"{name}_vs_best" for name in FEATURES),
)


@dataclass(frozen=True)
class RunnerUpModel:
    """Whether a runner-up sentence holds a key fact that the best sentence lacks: gradient-
    boosted trees trained by scripts/train_runner_up.py on the dev split. The answer quotes the
    likeliest runner-up when its probability reaches `threshold` and the answer stays within
    `max_chars`."""

    trees: TreeEnsemble
    threshold: float
    max_chars: int
    candidates: int  # how far down the ranking runners-up are read

    def probability(self, vector: list[float]) -> float:
        return 1.0 / (1.0 + math.exp(-self.trees.log_odds(vector)))

    def to_json(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "max_chars": self.max_chars,
            "candidates": self.candidates,
            "trees": self.trees.to_json(RUNNER_UP_FEATURES),
        }

    @classmethod
    def load(cls, path: Path = RUNNER_UP_PATH) -> RunnerUpModel | None:
        """The saved model, or None when there is none."""
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if not set(data["trees"]["features"]) <= set(RUNNER_UP_FEATURES):
            raise ValueError(
                f"{path} was trained on other features; retrain: python scripts/train_runner_up.py"
            )
        return cls(
            TreeEnsemble.from_json(data["trees"], RUNNER_UP_FEATURES),
            float(data["threshold"]),
            int(data["max_chars"]),
            int(data["candidates"]),
        )
